"""Shared input validators (infrastructure: no engine, no layers).

Two shapes, one message style:

* option parsers ``parse(value, where) -> normalised value`` for command-line flags, config-file
  keys and :class:`kisonet.train.RunConfig` fields: :func:`choice`, :func:`number`, :func:`text`,
  :func:`boolean`, and :func:`from_check` around a library check.  ``where`` is how the user wrote
  the option (``--lr`` or ``config.toml: lr``); a bad value raises :class:`~kisonet.errors.ConfigError`
  ``"<where>: expected a number in (0, inf), got 'x'"``.
* argument checks ``check_*(owner, name, value, ...) -> normalised value`` for Python APIs, in one
  message style ``"<owner>: <name> must be <what>, got <value>"`` (``owner`` is the class or
  function the user called, ``name`` the argument as spelled in its signature):

  - :func:`check_int`, :func:`check_float`, :func:`check_positive`, :func:`check_probability`
    (numbers, with open or closed ranges; numpy scalars accepted, bools refused, NaN/Inf refused);
  - :func:`check_choice` (a name out of a fixed set, naming the closest valid one);
  - :func:`check_bool`, :func:`check_type` (an object of a given class: a Module, a Tensor...),
    :func:`check_callable`;
  - :func:`check_pair`, :func:`check_sequence`, :func:`check_interval`, :func:`check_per_channel`
    (kernel sizes, betas, ``(low, high)`` ranges, per-channel fill values);
  - :func:`check_array` (an array-like -> ndarray of a float dtype, float32 by default).

  A value of the right type but outside the range raises :class:`~kisonet.errors.KisonetValueError`;
  a value of the wrong type raises :class:`~kisonet.errors.ArgumentTypeError` (a TypeError and a
  ValueError); :func:`check_type` raises :class:`~kisonet.errors.KisonetTypeError`; an array of
  the wrong number of axes :class:`~kisonet.errors.ShapeError`.

This module is infrastructure (tier 0): it imports only :mod:`kisonet.errors`, the standard library
and NumPy, so every tier can use it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .errors import (
    ArgumentTypeError,
    ConfigError,
    KisonetError,
    KisonetTypeError,
    KisonetValueError,
    ShapeError,
    closest,
)
from .lang import N_, gettext, tr

__all__ = [
    "Parser",
    "boolean",
    "check_array",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_float",
    "check_int",
    "check_interval",
    "check_pair",
    "check_per_channel",
    "check_positive",
    "check_probability",
    "check_sequence",
    "check_type",
    "choice",
    "describe_range",
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


_INT64 = 2**63


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
        if kind is int and not -_INT64 <= v < _INT64:  # every count and seed is stored as an int64
            raise fail(where, tr("expected an integer in {0} that fits in 64 bits, got {1!r}", rng, value))
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


def _bad(owner: str, name: str, what: str, value: Any, cls: type[KisonetError] = KisonetValueError) -> KisonetError:
    """The one message of a refused argument; ``what`` is shown in the language in force (the
    phrases built here are templates; a caller's own ``what=`` is looked up in the catalog)."""
    return cls(tr("{0}: {1} must be {2}, got {3}", owner, name, gettext(what), value))


def _got(value: Any) -> str:
    """How a message shows the value it refuses: the repr of a plain value, the type of an object."""
    if value is None or isinstance(value, (bool, numbers.Number, str, bytes, tuple, list)):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= 80 else text[:77] + "..."
    if isinstance(value, np.ndarray):
        return tr("an array of shape {0} and dtype {1}", value.shape, value.dtype)
    return type(value).__name__


def _fmt(x: float) -> str:
    return str(x) if isinstance(x, int) or (isinstance(x, float) and math.isinf(x)) else f"{x:g}"


def describe_range(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    """``'>= 0'``, ``'> 0'``, ``'< 1'``, ``'in [0, 1)'`` or ``''`` (no bound)."""
    if low is not None and high is not None:
        return tr("in {0}", f"{'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if high_open else ']'}")
    if low is not None:
        return f"{'>' if low_open else '>='} {_fmt(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_fmt(high)}"
    return ""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(
    owner: str,
    name: str,
    value: Any,
    low: int | None = 1,
    high: int | None = None,
    *,
    allow_none: bool = False,
) -> int | None:
    """``value`` as a Python int in ``[low, high]`` (numpy ints accepted; bools and floats refused);
    ``allow_none``: None passes through.  Else ``"<owner>: <name> must be an int >= 1, got 0"``."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        rng = describe_range(low, high)
        what = tr("an int {0}", rng).rstrip() if rng else tr("an int")
        what = tr("{0} or None", what) if allow_none else what
        raise _bad(owner, name, what, _got(value), KisonetValueError if _is_int(value) else ArgumentTypeError)
    return int(value)


def check_float(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = True,
    high_open: bool = False,
    *,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> float | None:
    """``value`` as a Python float within the bounds: ``(low, high]`` by default (``low_open``,
    ``high_open`` say which ends are excluded; None: no bound).  NaN is always refused, +-Inf unless
    ``allow_inf``; ints and numpy scalars are accepted, bools and strings refused.
    Else ``"<owner>: <name> must be a number > 0, got -1"``."""
    if value is None and allow_none:
        return None
    rng = describe_range(low, high, low_open, high_open)
    real = _is_real(value)
    v = float(value) if real else math.nan
    if not real or math.isnan(v) or (math.isinf(v) and not allow_inf) or _outside(v, low, high, low_open, high_open):
        finite = real and math.isinf(v)
        if rng:
            what = tr("a finite number {0}", rng) if finite else tr("a number {0}", rng)
        else:
            what = tr("a finite number") if finite else tr("a number")
        what = tr("{0} or None", what) if allow_none else what
        raise _bad(owner, name, what, _got(value), KisonetValueError if real else ArgumentTypeError)
    return v


def check_positive(owner: str, name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (``>= 0`` with ``allow_zero``)."""
    return check_float(owner, name, value, 0.0, low_open=not allow_zero)  # type: ignore[return-value]


def check_probability(owner: str, name: str, value: Any, *, high_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (``[0, 1)`` with ``high_open``, e.g. a drop rate: p = 1 keeps nothing).
    Else ``"<owner>: <name> must be a probability in [0, 1], got 1.5"``."""
    if (
        _is_real(value)
        and not math.isnan(float(value))
        and 0.0 <= float(value)
        and (float(value) < 1.0 if high_open else float(value) <= 1.0)
    ):
        return float(value)
    what = tr("a probability {0}", describe_range(0, 1, False, high_open))
    raise _bad(owner, name, what, _got(value), KisonetValueError if _is_real(value) else ArgumentTypeError)


def check_choice(
    owner: str,
    name: str,
    value: Any,
    choices: Iterable[str],
    *,
    normalise: Callable[[str], str] | None = None,
) -> str:
    """``value`` if it is one of ``choices`` (after ``normalise``, e.g. ``str.lower``), else
    ``"<owner>: unknown <name> 'x' (did you mean 'y'?); choose from: a, b"``."""
    choices = tuple(choices)
    if isinstance(value, str):
        v = normalise(value) if normalise else value
        if v in choices:
            return v
    cls = KisonetValueError if isinstance(value, str) else ArgumentTypeError
    hint = closest(str(value), choices)
    raise cls(tr("{0}: unknown {1} {2}{3}; choose from: {4}", owner, name, _got(value), hint, ", ".join(choices)))


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool (numpy bools accepted; 0/1 and strings refused: ``'false'`` is truthy)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise _bad(owner, name, tr("True or False"), _got(value), ArgumentTypeError)


def check_type(owner: str, name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """``value`` itself if it is an instance of ``types``, else
    ``"<owner>: <name> must be <what>, got <type>"`` (a KisonetTypeError)."""
    if isinstance(value, types):
        return value
    raise _bad(owner, name, what, type(value).__name__, KisonetTypeError)


def check_callable(owner: str, name: str, value: Any, what: str = N_("callable")) -> Any:
    """``value`` itself if it can be called (a function, a Module, a transform), else
    ``"<owner>: <name> must be callable, got <type>"`` (a KisonetTypeError)."""
    if callable(value):
        return value
    raise _bad(owner, name, what, type(value).__name__, KisonetTypeError)


def check_sequence(
    owner: str,
    name: str,
    value: Any,
    item: Callable[[str, str, Any], Any],
    *,
    length: int | None = None,
    min_length: int = 0,
    what: str | None = None,
) -> tuple:
    """``value`` (a list, tuple or 1-D array) as a tuple of ``item(owner, f"{name}[i]", v)``; its
    length ``length`` (or at least ``min_length``).  Items are checked one by one, so a message
    names the bad one: ``"Adam: betas[1] must be a number in [0, 1), got 1.0"``."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if what is None:
        if length == 2:
            what = tr("a pair")
        else:
            what = tr("a sequence of values") if length is None else tr("a sequence of {0} values", length)
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length) or len(value) < min_length:
        typed = isinstance(value, (list, tuple))
        raise _bad(owner, name, what, _got(value), KisonetValueError if typed else ArgumentTypeError)
    return tuple(item(owner, f"{name}[{i}]", v) for i, v in enumerate(value))


def check_pair(
    owner: str,
    name: str,
    value: Any,
    item: Callable[[str, str, Any], Any] | None = None,
    *,
    low: int = 1,
    what: str = N_("an int or a pair of ints"),
) -> tuple:
    """A kernel size, stride or image size: one value ``v`` -> ``(v, v)``, or a pair, each part
    checked by ``item`` (default: an int >= ``low``).  Else
    ``"<owner>: <name> must be an int or a pair of ints, got ..."`` (the bad part named)."""
    if item is None:

        def item(owner: str, name: str, v: Any) -> int:
            return check_int(owner, name, v, low)  # type: ignore[return-value]

    if not isinstance(value, (list, tuple, np.ndarray)):
        try:
            v = item(owner, name, value)
        except ArgumentTypeError:
            raise _bad(owner, name, what, _got(value), ArgumentTypeError) from None
        return (v, v)
    return check_sequence(owner, name, value, item, length=2, what=what)


def check_interval(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> tuple[float, float]:
    """A range ``(a, b)`` of finite numbers with ``a <= b``, within ``low``/``high`` when given
    (``low_open``: ``low < a``).  Else
    ``"<owner>: <name> must be a pair (low, high) with 0 <= low <= high <= 1, got (0.5, 0.1)"``."""
    lo = "" if low is None else f"{_fmt(low)} {'<' if low_open else '<='} "
    hi = "" if high is None else f" <= {_fmt(high)}"
    what = tr("a pair (low, high) with {0}low <= high{1}", lo, hi)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_real(v) for v in value):
        raise _bad(owner, name, what, _got(value), ArgumentTypeError)
    a, b = float(value[0]), float(value[1])
    if not (math.isfinite(a) and math.isfinite(b)) or a > b or _outside(a, low, None, low_open, False):
        raise _bad(owner, name, what, _got(value))
    if high is not None and b > high:
        raise _bad(owner, name, what, _got(value))
    return a, b


def check_per_channel(
    owner: str, name: str, value: Any, item: Callable[[str, str, Any], Any] = check_float
) -> float | tuple:
    """One number for every channel or one per channel (a fill value, a mean): a float, or a tuple
    of ``item``-checked numbers.  Else ``"<owner>: <name> must be a number or one number per
    channel, got ..."``."""
    what = tr("a number or one number per channel")
    if isinstance(value, (list, tuple, np.ndarray)):
        return check_sequence(owner, name, value, item, min_length=1, what=what)
    try:
        return item(owner, name, value)
    except ArgumentTypeError:
        raise _bad(owner, name, what, _got(value), ArgumentTypeError) from None


def check_array(
    owner: str,
    name: str,
    value: Any,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int = 0,
    dtype: Any = np.float32,
    finite: bool = True,
    nonempty: bool = False,
    what: str | None = None,
) -> np.ndarray:
    """``value`` (array-like) as an ndarray: of ``dtype`` (float32 by default; a float64 input is
    converted too; None keeps the input's dtype), with ``ndim`` axes (one of them if a tuple) or at
    least ``min_ndim``, finite (no NaN/Inf) unless ``finite=False``, non-empty if ``nonempty``;
    ``what`` describes the expected layout in the message (``"(n_samples, n_features)"``).
    Non-numeric data raises ArgumentTypeError, a wrong number of axes ShapeError, NaN/Inf or an
    empty array KisonetValueError."""
    try:
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            raise TypeError
        if dtype is not None:
            a = a.astype(dtype, copy=False)
    except (TypeError, ValueError):
        raise _bad(owner, name, tr("an array of numbers"), _got(value), ArgumentTypeError) from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if (dims is not None and a.ndim not in dims) or a.ndim < min_ndim:
        if what:
            want = what
        elif dims is not None:
            want = tr("a {0} array", " or ".join(f"{d}-D" for d in dims))
        else:
            want = tr("an array of at least {0} dimension(s)", min_ndim)
        raise _bad(owner, name, want, tr("shape {0}", a.shape), ShapeError)
    if nonempty and a.size == 0:
        raise _bad(owner, name, tr("a non-empty array"), tr("shape {0}", a.shape))
    if finite and a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise _bad(owner, name, tr("finite (no NaN or Inf)"), tr("{0} non-finite value(s)", bad))
    return a
