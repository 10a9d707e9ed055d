"""Keep freed memory in the process for the next training step (glibc malloc settings).

Why: every training step allocates its activations and gradients afresh (megabytes
each for a CNN) and frees them when backward is done.  glibc's malloc serves large
requests with ``mmap`` and gives freed memory at the top of its heap back to the
operating system once more than a threshold is free, so the next step gets fresh pages
again, and the first write to each page is a page fault.  Measured on the LeNet+BN
benchmark step (batch 128 of 3x32x32): ~7,200 page faults and ~15 ms of kernel time
per step, a 79 ms step became 49 ms without them (1 thread); SimpleCNN 33 -> 19 ms.

:func:`keep_freed_memory` (applied by :func:`apply_default` when the first optimizer is built,
so importing kisonet changes nothing) raises two glibc limits
with ``mallopt``: requests up to ``mmap_threshold_mb`` come from the heap, and up to
``trim_threshold_mb`` of free memory stays mapped in the process instead of going
back to the OS.  The resident size then stays at the peak of one step (it never grows
from step to step; benchmarks/bench_memory.py checks), which is what a caching
allocator such as PyTorch's does for GPU memory.  Arrays larger than the mmap threshold
(a dataset, the largest im2col buffers, which conv2d caches itself) are not affected.

Opt out with the environment variable ``KISONET_MALLOC=default`` (read then), or
call ``keep_freed_memory(trim_threshold_mb=0)`` to return free memory eagerly again.
Only glibc (Linux) has these settings; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform

from .lang import tr

__all__ = ["apply_default", "keep_freed_memory", "settings"]

# glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc refuses an mmap threshold above 32 MiB on 64-bit systems (HEAP_MAX_SIZE / 2).
_MMAP_MAX_MB = 32

_settings: dict[str, int] = {}


def _libc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") else None
    except OSError:  # pragma: no cover - no C library handle
        return None


def keep_freed_memory(trim_threshold_mb: int = 128, mmap_threshold_mb: int = 32) -> bool:
    """Let glibc keep up to ``trim_threshold_mb`` MB of freed memory and serve requests up
    to ``mmap_threshold_mb`` MB (at most 32) from its heap.  Returns whether it applied
    (False off glibc).  See the module docstring for why and what it costs."""
    from .errors import KisonetValueError
    from .validation import check_int

    check_int("keep_freed_memory", "trim_threshold_mb", trim_threshold_mb, low=0)
    check_int("keep_freed_memory", "mmap_threshold_mb", mmap_threshold_mb, low=0)
    if mmap_threshold_mb > _MMAP_MAX_MB:
        raise KisonetValueError(
            tr(
                "keep_freed_memory: mmap_threshold_mb must be <= {0} (glibc's limit), got {1}",
                _MMAP_MAX_MB,
                mmap_threshold_mb,
            )
        )
    libc = _libc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold_mb << 20) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold_mb << 20) == 1 and ok
    if ok:
        _settings.update(trim_threshold_mb=trim_threshold_mb, mmap_threshold_mb=mmap_threshold_mb)
    return ok


def settings() -> dict[str, int]:
    """The limits set by :func:`keep_freed_memory` (empty if glibc's defaults are in force)."""
    return dict(_settings)


_applied = False


def apply_default() -> None:
    """Keep freed memory (the defaults of :func:`keep_freed_memory`) unless the environment
    says ``KISONET_MALLOC=default``; once per process. Training calls it when an optimizer is
    built (the start of every training loop), so a process that only imports kisonet, or only
    runs inference, keeps glibc's defaults."""
    global _applied
    if _applied:
        return
    _applied = True
    if os.environ.get("KISONET_MALLOC", "").lower() != "default":
        keep_freed_memory()
