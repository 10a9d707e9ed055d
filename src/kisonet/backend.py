"""The array-module seam: op code asks here for NumPy (or, later, CuPy).

Like DeZero's ``get_array_module``: ops call ``xp = get_array_module(x)`` and
use ``xp.exp`` etc., so a CuPy array would flow through the same code.  The
default floating dtype also lives here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # CuPy is optional and never required; kisonet runs on NumPy.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - CuPy is absent on CPU machines
    _cupy = None

_DEFAULT_DTYPE = np.dtype(np.float32)
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(getattr(a, "data", a), _cupy.ndarray):
                return _cupy
    return np


def get_default_dtype() -> np.dtype:
    """The dtype that float data becomes in :func:`kisonet.tensor` (float32 by default)."""
    return _DEFAULT_DTYPE


def set_default_dtype(dtype: Any) -> None:
    """Set the default floating dtype: ``np.float32`` (fast) or ``np.float64`` (exact, slower)."""
    global _DEFAULT_DTYPE
    from .errors import KisonetValueError

    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise KisonetValueError(f"set_default_dtype: {dtype!r} is not a dtype") from e
    if d not in _FLOAT_DTYPES:
        raise KisonetValueError(f"set_default_dtype: expected float32 or float64, got {d}")
    _DEFAULT_DTYPE = d
