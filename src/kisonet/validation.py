"""Shared input validators (infrastructure: no engine, no layers).

Two shapes, one message style:

* option parsers ``parse(value, where) -> normalised value`` for command-line flags, config-file
  keys and :class:`kisonet.train.RunConfig` fields: :func:`choice`, :func:`number`, :func:`text`,
  :func:`boolean`, and :func:`from_check` around a library check.  ``where`` is how the user wrote
  the option (``--lr`` or ``config.toml: lr``); a bad value raises :class:`~kisonet.errors.ConfigError`
  ``"<where>: expected a number in (0, inf), got 'x'"``.
* argument checks ``check_*(owner, name, value) -> normalised value`` for Python APIs: a bad value
  raises :class:`~kisonet.errors.KisonetValueError` ``"<owner>: <name> must be ..., got ..."``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ConfigError, KisonetValueError, closest
from .lang import gettext, tr

__all__ = [
    "Parser",
    "boolean",
    "check_float",
    "check_int",
    "choice",
    "fail",
    "from_check",
    "number",
    "text",
]

#: ``parse(value, where) -> normalised value``
Parser = Callable[[Any, str], Any]


def fail(where: str, msg: str) -> ConfigError:
    """The error for a bad option value: ``"<where>: <msg>"``."""
    return ConfigError(f"{where}: {msg}")


def choice(choices: Sequence[str], kind: str) -> Parser:
    """A parser that accepts one of ``choices`` (case-insensitive, '_' == '-')."""
    choices = tuple(choices)

    def parse(value: Any, where: str) -> str:
        v = str(value).strip().lower().replace("_", "-")
        if v in choices:
            return v
        raise fail(
            where,
            tr(
                "unknown {0} {1!r}{2}; choose from: {3}",
                gettext(kind),  # the kind is a catalog entry too (extracted from the choice() calls)
                str(value),
                closest(v, choices),
                ", ".join(choices),
            ),
        )

    parse.choices = choices  # type: ignore[attr-defined]
    return parse


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    lo_b, hi_b = "(" if low_open else "[", ")" if high_open else "]"
    return f"{lo_b}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_b}"


def _outside(v: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    return (low is not None and (v <= low if low_open else v < low)) or (
        high is not None and (v >= high if high_open else v > high)
    )


def number(
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Parser:
    """A parser for an int or float within ``[low, high]`` (``low_open``: ``(low, ...``);
    ``allow_none``: None, ``'none'``, ``'auto'`` and ``'default'`` give None."""
    rng = _range(low, high, low_open, high_open)

    def expected(value: Any, where: str) -> ConfigError:
        what = tr("an integer") if kind is int else tr("a number")  # in the language in force now
        return fail(where, tr("expected {0} in {1}, got {2!r}", what, rng, value))

    def parse(value: Any, where: str) -> Any:
        if allow_none and (value is None or str(value).lower() in ("none", "auto", "default")):
            return None
        if isinstance(value, bool):
            raise expected(value, where)
        try:
            if kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(value) if not isinstance(value, str) else int(value.strip())
            else:
                v = float(value)
        except (TypeError, ValueError):
            raise expected(value, where) from None
        if kind is float and not math.isfinite(v):
            raise fail(where, tr("expected a finite number in {0}, got {1!r}", rng, value))
        if _outside(v, low, high, low_open, high_open):
            raise expected(value, where)
        return v

    return parse


def text(allow_none: bool = True) -> Parser:
    """A parser for a string or path; empty is None (``allow_none``) or an error."""

    def parse(value: Any, where: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise fail(where, tr("expected a string, got {0!r}", value))
        s = os.fspath(value)
        if not s.strip():
            if allow_none:
                return None
            raise fail(where, tr("expected a non-empty string"))
        return s

    return parse


def boolean(value: Any, where: str) -> bool:
    """A parser for true/false (also 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise fail(where, tr("expected true or false, got {0!r}", value))


def from_check(check: Callable[[Any], Any]) -> Parser:
    """A parser from a library check that raises KisonetValueError (``models.parse_spec``,
    ``lr_scheduler.parse_spec``...): its message, prefixed with the option's name."""

    def parse(value: Any, where: str) -> Any:
        try:
            return check(value)
        except KisonetValueError as e:
            raise fail(where, str(e)) from None

    return parse


# --- argument checks for Python APIs -------------------------------------------------------


def check_int(owner: str, name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int >= ``low`` (bools refused); else ``"<owner>: <name> must be an int >= low"``."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise KisonetValueError(tr("{0}: {1} must be an int >= {2}, got {3!r}", owner, name, low, value))
    return int(value)


def check_float(
    owner: str, name: str, value: Any, low: float, high: float | None = None, low_open: bool = True
) -> float:
    """``value`` as a finite float in ``(low, high]`` (``[low, ...`` when not ``low_open``)."""
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or _outside(float(value), low, high, low_open, False):
        rng = f"{'(' if low_open else '['}{low}, {'inf' if high is None else high}]"
        raise KisonetValueError(tr("{0}: {1} must be a number in {2}, got {3!r}", owner, name, rng, value))
    return float(value)
