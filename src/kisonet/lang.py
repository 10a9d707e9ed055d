"""The language in force and the catalog lookup: the bottom of kisonet's messages.

This module imports nothing of kisonet (and nothing heavy: gettext is read on the first message
shown in Japanese), so every module, :mod:`kisonet.errors` included, can write its messages with
:func:`tr` (``from ..lang import tr``) at no start-up cost. :mod:`kisonet.i18n` re-exports these
names beside the catalog tools (``set_language``, ``compile_catalog``, help translation).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "chosen_language",
    "get_language",
    "gettext",
    "tr",
    "use_language",
]

#: The languages kisonet speaks: code -> name (as written in that language).
LANGUAGES: dict[str, str] = {"en": "English", "ja": "日本語"}
DOMAIN = "kisonet"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_chosen: str | None = None


def normalise_language(lang: str) -> str | None:
    """'ja', 'ja_JP.UTF-8', 'JA-jp' -> 'ja'; None when no language of ours matches."""
    code = str(lang).strip().lower().replace("-", "_").split(".")[0].split("@")[0].split("_")[0]
    return code if code in LANGUAGES else None


def use_language(code: str | None) -> None:
    """Record ``code`` (already one of :data:`LANGUAGES`) or None (the environment decides).
    Users call :func:`kisonet.i18n.set_language`, which checks the name first."""
    global _chosen
    _chosen = code


def chosen_language() -> str | None:
    """The language set by :func:`kisonet.i18n.set_language`, or None when the environment decides."""
    return _chosen


def get_language() -> str:
    """The language in force: 'en' or 'ja' (see :mod:`kisonet.i18n` for the order)."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get("KISONET_LANG")
    if env:
        return normalise_language(env) or "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:  # the first one set decides, as in POSIX
            return normalise_language(value) or "en"
    return "en"


@cache
def catalog(lang: str) -> Any:
    """The gettext translations of ``lang``, read once, on the first message shown in it."""
    import gettext as _gettext  # only when a message is shown in a language other than English

    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def gettext(message: str) -> str:
    """``message`` in the language in force (itself when there is no translation)."""
    lang = get_language()
    if lang == "en":
        return message
    return catalog(lang).gettext(message)


def tr(template: str, *args: Any, **kwargs: Any) -> str:
    """A user-facing message in the language in force: ``gettext(template).format(*args, **kwargs)``.

    Every message kisonet raises or warns is written this way, so it can be shown in Japanese::

        raise ShapeError(tr("{0}: expected {1} features, got input of shape {2}", name, n, x.shape))

    * ``template`` is a plain string literal (never an f-string or a variable): it is the
      catalog's msgid, collected by ``python tools/i18n_codemod.py --extract``.
    * Placeholders are numbered (``{0}``, ``{1!r}``, ``{2:.3g}``) so a translation may put the
      values in another order; literal braces are doubled (``{{``).
    * In English the result is exactly ``template.format(...)``, the same text as the f-string
      it replaced. Option names, keys and values stay in the arguments, not in the template's words.
    * Then add the Japanese entry to ``src/kisonet/locale/ja/LC_MESSAGES/kisonet.po`` and run
      ``python -m kisonet.i18n``; a test fails on a template with no translation (docs/i18n.md).
    """
    return gettext(template).format(*args, **kwargs)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """``message`` unchanged: marks a literal as a catalog entry (collected by the extraction)
    that is translated later, where it is shown (``gettext(message)``), e.g. in a table built
    at import time, before the language is known."""
    return message
