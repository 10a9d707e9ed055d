"""The array-module seam: op code asks here for NumPy (or, later, CuPy).

Like DeZero's ``get_array_module``: ops call ``xp = get_array_module(x)`` and
use ``xp.exp`` etc., so a CuPy array would flow through the same code.  The
default floating dtype also lives here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lang import tr

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
        raise KisonetValueError(tr("set_default_dtype: {0!r} is not a dtype", dtype)) from e
    if d not in _FLOAT_DTYPES:
        raise KisonetValueError(tr("set_default_dtype: expected float32 or float64, got {0}", d))
    _DEFAULT_DTYPE = d


# ----------------------------------------------------------------------------
# y += a x in one pass (optimizer updates)

_AXPY: dict[np.dtype, Any] = {}
_AXPY_BLAS: list[Any] = []  # threadpoolctl's handle on the BLAS that SciPy's axpy runs in


def load_blas() -> None:
    """Import SciPy's BLAS for :func:`axpy` now (scipy.linalg takes ~0.3 s the first time);
    optimizers call this when they are built, so that no training step pays for it."""
    _blas_axpy(np.dtype(np.float32))


def _blas_axpy(dtype: np.dtype) -> Any:
    """SciPy's BLAS ``saxpy``/``daxpy`` (imported on first use)."""
    if not _AXPY:
        from scipy.linalg import blas
        from threadpoolctl import ThreadpoolController

        _AXPY[np.dtype(np.float32)], _AXPY[np.dtype(np.float64)] = blas.saxpy, blas.daxpy
        _AXPY_BLAS.extend(
            c for c in ThreadpoolController().select(user_api="blas").lib_controllers if "scipy.libs" in c.filepath
        )
    return _AXPY.get(dtype)


# Elements up to which axpy skips holding SciPy's BLAS at one thread: OpenBLAS runs ?axpy of
# n <= 10,000 on the calling thread, and the check (a threadpoolctl call per array per step)
# cost a small network more than its arithmetic (docs/performance.md, the playground).
SMALL_AXPY = 10000


def axpy(a: float, x: Any, y: Any) -> Any:
    """``y += a * x`` in place (``y`` is returned): an optimizer's ``w <- w - lr g``.

    NumPy has no fused multiply-add, so ``y -= a * x`` streams through memory twice (a
    temporary ``a * x``, then the subtraction).  BLAS ``?axpy`` reads ``x`` and ``y`` and
    writes ``y`` once: measured on the MLP 784-512-512-10's 669k float32 parameters, 1
    thread, 454 vs 830 us with cold caches (as after a backward pass), 76 vs 180 us warm.

    The BLAS path takes NumPy float32/float64 arrays of one shape and dtype with ``y``
    contiguous; ``x`` is read in ``y``'s memory order (copied first only if its layout
    differs), so the result does not depend on either layout.  Anything else (CuPy,
    strided ``y``, mixed dtypes) takes the two-pass form.  SciPy's BLAS is a second
    OpenBLAS with threads of its own: it is held at one thread, because its idle workers
    spin after each call and would take the cores from NumPy's BLAS in the next product
    (measured: a 6 ms MLP step became 24 ms), and axpy is memory-bound anyway.
    """
    if (
        type(x) is np.ndarray
        and type(y) is np.ndarray
        and x.shape == y.shape
        and x.dtype == y.dtype
        and y.flags.writeable
        and (y.flags.c_contiguous or y.flags.f_contiguous)
    ):
        f = _AXPY.get(y.dtype) or _blas_axpy(y.dtype)
        if f is not None and y.size:
            if y.size > SMALL_AXPY:  # OpenBLAS runs ?axpy of at most 10,000 elements on one thread anyway
                for c in _AXPY_BLAS:
                    if c.num_threads != 1:
                        c.set_num_threads(1)
            order = "C" if y.flags.c_contiguous else "F"
            flat = y.ravel(order)  # a view: y is contiguous in this order
            out = f(x.ravel(order), flat, a=a)
            if out is not flat:  # pragma: no cover - f2py made a copy
                flat[...] = out
            return y
    y += a * x
    return y
