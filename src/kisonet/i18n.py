"""Messages in English or Japanese, through gettext catalogs shipped in the package.

English is the default and the source language: a message is written in English in the code,
wrapped in :func:`gettext` (imported as ``_``) or, for a message with values in it, in
:func:`tr` (``tr("{0}: expected {1} features, got {2}", name, n, shape)``: every error and warning
kisonet raises is written so), and looked up in ``kisonet/locale/<lang>/LC_MESSAGES/kisonet.mo``.
A message with no translation stays English.

The language is, in this order: :func:`set_language` (the CLI's ``--lang ja``), the environment
variable ``KISONET_LANG``, then the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ja_JP.UTF-8``
gives Japanese). ``KISONET_LANG=en`` keeps English under a Japanese locale.

The catalogs' sources are the ``.po`` files beside the ``.mo`` files; after editing one, run
``python -m kisonet.i18n`` to compile it (a test checks that every ``.mo`` matches its ``.po``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from .errors import unknown_name
from .lang import (
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    catalog,
    chosen_language,
    get_language,
    gettext,
    normalise_language,
    tr,
    use_language,
)

__all__ = [
    "LANGUAGES",
    "N_",
    "chosen_language",
    "compile_catalog",
    "get_language",
    "gettext",
    "ljust",
    "wrap",
    "normalise_language",
    "read_po",
    "rjust",
    "set_language",
    "text_width",
    "translate_help",
    "tr",
    "translate_message",
]


def set_language(lang: str | None) -> str:
    """Use ``lang`` ('en', 'ja', or a locale name such as 'ja_JP.UTF-8') from now on;
    None goes back to the environment's choice. Returns the language in force."""
    if lang is None:
        use_language(None)
    else:
        code = normalise_language(lang)
        if code is None:
            raise unknown_name(tr("language"), str(lang), LANGUAGES)
        use_language(code)
    return get_language()


_ = gettext


_HELP_TAIL = re.compile(r"^(.*?)((?:\s\([^()]*\))*)$", re.S)
_DEFAULT = re.compile(r"^default(?::| (?=\S+$)) ?(.*)$", re.S)


def translate_help(text: str) -> str:
    """A help line ``phrase (choices) (default: X)`` in the language in force: the phrase and
    the parenthesised notes from the catalog, choice lists and values as they are."""
    if not text or get_language() == "en":
        return text
    whole = gettext(text)
    if whole != text:
        return whole
    lead, tail = _HELP_TAIL.match(text).groups()  # type: ignore[union-attr]
    out = gettext(lead)
    for group in re.findall(r"\s\(([^()]*)\)", tail):
        note = gettext(group)
        m = _DEFAULT.match(group) if note == group else None
        if m:
            note = f"{gettext('default')}: {gettext(m.group(1))}"
        out += f"（{note}）"
    return out


def translate_message(message: str) -> str:
    """A one-line error in the language in force. kisonet's messages are translated where they
    are raised (:func:`tr`); this translates the whole-line messages of the catalog (such as
    ``interrupted``) and leaves any other text as it is."""
    if get_language() == "en":
        return message
    return gettext(message)


# -- text that lines up in a terminal ------------------------------------------------------


def text_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: kana and kanji (East Asian wide) count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# Japanese line breaking (kinsoku): no line starts with a closing mark, none ends with an opening one
_NO_LINE_START = set("、。，．,.)]}）」』】〕〉》｝ー・：；:;！？!?ぁぃぅぇぉっゃゅょァィゥェォッャュョ％%")
_NO_LINE_END = set("([{（「『【〔〈《｛")


def _wrap_units(text: str) -> list[str]:
    """The pieces a line may break between: a run of spaces, a word of narrow characters, or
    one wide character; a closing mark is glued to what precedes it, an opening one to what follows."""
    atoms: list[list[str]] = []  # [kind, text]
    for ch in text:
        kind = "space" if ch == " " else "wide" if text_width(ch) == 2 else "narrow"
        if atoms and kind != "wide" and atoms[-1][0] == kind:
            atoms[-1][1] += ch
        else:
            atoms.append([kind, ch])
    units: list[str] = []
    for kind, piece in atoms:
        after_text = bool(units) and not units[-1].endswith(" ") and kind != "space"
        if after_text and (piece[0] in _NO_LINE_START or units[-1][-1] in _NO_LINE_END):
            units[-1] += piece
        else:
            units.append(piece)
    return units


def wrap(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` terminal columns (:func:`text_width`): English
    breaks at spaces, Japanese between any two characters except before a closing mark (、。）)
    or after an opening one (（「), as textwrap does by character count for English alone.
    A word longer than a line is cut."""
    lines: list[str] = []
    line = ""
    for unit in _wrap_units(" ".join(text.split())):
        if text_width(line) + text_width(unit) <= width:
            line += unit
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = unit.lstrip(" ")
        while text_width(line) > width:  # a word wider than a whole line
            cut = 0
            while text_width(line[: cut + 1]) <= width:
                cut += 1
            while 1 < cut < len(line) and line[cut] in _NO_LINE_START:
                cut -= 1  # a closing mark goes down with the character before it
            cut = max(cut, 1)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def ljust(text: str, width: int) -> str:
    """``text`` padded on the right to ``width`` terminal columns."""
    return text + " " * max(0, width - text_width(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded on the left to ``width`` terminal columns."""
    return " " * max(0, width - text_width(text)) + text


def align(rows: list[tuple[str, ...]], left: tuple[int, ...] = (0,), rule: bool = False) -> list[str]:
    """Rows of cells as lines whose columns line up in a terminal (wide characters counted
    twice): the columns in ``left`` padded on the right, the others (numbers) on the left;
    ``rule`` puts a line of dashes under the first row (the heading)."""
    widths = [max(text_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(ljust(c, w) if i in left else rjust(c, w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


# -- catalogs: .po (source) -> .mo (what gettext reads) -------------------------------------


def read_po(path: str | os.PathLike) -> dict[str, str]:
    """The translated entries of a .po file, {msgid: msgstr} (untranslated and fuzzy entries
    left out, as msgfmt does). Handles the subset kisonet's catalogs use: msgctxt-free
    entries, continued strings, comments."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None and msgstr is not None:
            key, value = "".join(msgid), "".join(msgstr)
            if value and not fuzzy:
                entries[key] = value
        msgid = msgstr = None
        fuzzy = False

    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            flush()
            fuzzy = True
        elif not line or line.startswith("#"):
            continue
        elif line.startswith("msgid "):
            if msgstr is not None:
                flush()
            msgid, current = [_po_string(line[6:], path, n)], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [_po_string(line[7:], path, n)]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_po_string(line, path, n))
        else:
            raise ValueError(tr("{0}:{1}: cannot read {2!r}", path, n, raw))
    flush()
    return entries


def _po_string(token: str, path: str | os.PathLike, line: int) -> str:
    token = token.strip()
    if not (token.startswith('"') and token.endswith('"')):
        raise ValueError(tr("{0}:{1}: expected a quoted string, got {2!r}", path, line, token))
    import ast

    return ast.literal_eval(token)


def compile_catalog(po: str | os.PathLike, mo: str | os.PathLike | None = None) -> Path:
    """Write the GNU .mo file of ``po`` (beside it by default) and return its path."""
    import struct

    po = Path(po)
    mo = po.with_suffix(".mo") if mo is None else Path(mo)
    entries = read_po(po)
    entries.setdefault("", "Content-Type: text/plain; charset=UTF-8\n")
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    key_start = 7 * 4 + 16 * n
    value_start = key_start + sum(len(b) + 1 for b in ids)
    offsets: list[int] = []
    pos = key_start
    for b in ids:
        offsets += [len(b), pos]
        pos += len(b) + 1
    pos = value_start
    for b in strs:
        offsets += [len(b), pos]
        pos += len(b) + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    table = struct.pack(f"<{4 * n}I", *offsets)
    body = b"".join(b + b"\0" for b in ids) + b"".join(b + b"\0" for b in strs)
    mo.write_bytes(header + table + body)
    catalog.cache_clear()
    return mo


def catalogs() -> list[Path]:
    """The .po sources of the shipped catalogs."""
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


if __name__ == "__main__":
    for po in catalogs():
        print(f"compiled {compile_catalog(po)} ({len(read_po(po))} messages)")
