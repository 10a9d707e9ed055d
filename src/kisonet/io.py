"""Atomic file writing: a file is either the old one or the complete new one.

    with atomic_write("run/best.npz") as f:
        f.write(data)

writes to a temporary file in the same directory, flushes and fsyncs it, then
``os.replace``s it over the target (atomic on POSIX and Windows).  If the block
raises, the temporary file is removed and the old file is left untouched, so
an interrupted checkpoint never leaves a truncated file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import KisonetIOError, KisonetValueError

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Context manager yielding a file object; on success the file replaces ``path``.

    ``mode`` is ``'wb'`` (bytes) or ``'w'`` (text, ``encoding`` default UTF-8).
    The parent directory must exist.
    """
    if mode not in ("w", "wb"):
        raise KisonetValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KisonetIOError(f"atomic_write: directory {str(directory)!r} does not exist (writing {str(path)!r})")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions a normal open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        # fsync the directory so the rename itself survives a power cut
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
