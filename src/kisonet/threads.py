"""BLAS thread control (through threadpoolctl)."""

from __future__ import annotations

from .errors import KisonetValueError

_limiter = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the BLAS library behind NumPy (matrix products, im2col GEMMs)."""
    global _limiter
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise KisonetValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of BLAS threads NumPy uses now (the largest over loaded BLAS libraries)."""
    from threadpoolctl import threadpool_info

    counts = [info.get("num_threads", 1) for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else 1
