"""BLAS thread control (through threadpoolctl)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_limiter = None
# threadpoolctl's handles on the BLAS libraries loaded by NumPy, found once (that search
# costs ~0.3 ms), then asked directly for their thread count (a few microseconds).
_controllers: list[Any] | None = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the BLAS library behind NumPy (matrix products, im2col GEMMs)."""
    global _limiter
    from .validation import check_int  # not at import: `import kisonet` stays lean

    n = check_int("set_num_threads", "n", n)
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=n, user_api="blas")


def _blas_controllers() -> list[Any]:
    global _controllers
    if _controllers is None:
        import numpy  # noqa: F401  (load NumPy's BLAS before looking for it)
        from threadpoolctl import ThreadpoolController

        _controllers = ThreadpoolController().select(user_api="blas").lib_controllers
    return _controllers


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads, then restore the previous counts (a few
    microseconds each way: cheap enough around one operation)."""
    ctls = _blas_controllers()
    before = [c.num_threads for c in ctls]
    for c in ctls:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, k in zip(ctls, before, strict=True):
            c.set_num_threads(k)


def get_num_threads() -> int:
    """The number of BLAS threads NumPy uses now (the largest over loaded BLAS libraries).

    Cheap enough to call per operation (conv2d picks its memory layout with it) and
    always current: it also sees limits set with ``threadpoolctl`` directly.
    """
    counts = [c.num_threads for c in _blas_controllers()]
    return max(counts) if counts else 1
