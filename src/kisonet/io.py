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
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import KisonetIOError, KisonetValueError
from .lang import N_, gettext, tr

__all__ = ["atomic_write", "check_regular_file", "describe_os_error"]


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None, durable: bool = True
) -> Iterator[IO[Any]]:
    """Context manager yielding a file object; on success the file replaces ``path``.

    ``durable=False`` skips the fsyncs: the replacement is still atomic for readers (they see
    the old file or the new one, never a part), but a power cut may lose it; for a file
    rewritten often and derived from others (the live ``curves.png``).

    ``mode`` is ``'wb'`` (bytes) or ``'w'`` (text, ``encoding`` default UTF-8).
    The parent directory must exist.
    """
    if mode not in ("w", "wb"):
        raise KisonetValueError(tr("atomic_write: mode must be 'w' or 'wb', got {0!r}", mode))
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KisonetIOError(
            tr("atomic_write: directory {0!r} does not exist (writing {1!r})", str(directory), str(path))
        )
    if path.is_dir() and not path.is_symlink():
        raise KisonetIOError(tr("{0!r} is a folder; name a file to write", str(path)))
    if path.exists() and not path.is_file():  # a FIFO, a device: never replaced by a file
        kind = _special_kind(path.stat().st_mode)
        raise KisonetIOError(tr("{0!r} is {1}, not a regular file; name a file to write", str(path), kind))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            if durable:
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
    if durable and hasattr(os, "O_DIRECTORY"):
        # fsync the directory so the rename itself survives a power cut
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def check_regular_file(path: str | os.PathLike[str], what: str = N_("file")) -> Path:
    """``path`` if it names a regular file; otherwise a :class:`KisonetIOError` saying what it is.

    Called before any ``open``: opening a FIFO blocks until a writer appears, and a
    device or socket is never the array file the caller means.  ``stat`` itself never blocks.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise KisonetIOError(tr("{0} {1!r} not found", gettext(what), str(path))) from None
    except OSError as e:
        raise KisonetIOError(f"{what} {str(path)!r}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise KisonetIOError(tr("{0} {1!r} is a folder, not a file", gettext(what), str(path)))
    if not stat.S_ISREG(st.st_mode):
        kind = _special_kind(st.st_mode)
        raise KisonetIOError(
            tr("{0} {1!r} is {2}, not a regular file; kisonet reads only regular files", gettext(what), str(path), kind)
        )
    return path


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return tr("a FIFO (named pipe)")
    if stat.S_ISSOCK(mode):
        return tr("a socket")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return tr("a device")
    return tr("a special file")


def describe_os_error(e: OSError) -> str:
    """One line for an OSError from the file system, with the file and what to do."""
    name = os.fsdecode(e.filename) if isinstance(getattr(e, "filename", None), (str, bytes)) else ""
    name = name if len(name) <= 100 else f"{name[:48]}...{name[-48:]}"
    where = f" {name!r}" if name else ""
    hints = {
        errno.ENOSPC: tr("the disk is full; free space and try again"),
        errno.EDQUOT: tr("the disk quota is exceeded; free space and try again"),
        errno.EROFS: tr("the file system is read-only; choose another folder"),
        errno.EACCES: tr("permission denied; choose a folder you can write to"),
        errno.EPERM: tr("operation not permitted"),
        errno.ENAMETOOLONG: tr("the name is too long for the file system; choose a shorter one"),
        errno.EISDIR: tr("it is a folder, not a file"),
        errno.ENOTDIR: tr("a part of the path is a file, not a folder"),
        errno.ENOENT: tr("no such file or folder"),
        errno.EEXIST: tr("it already exists and is not a folder")
        if name and os.path.lexists(name) and not os.path.isdir(name)
        else tr("it already exists"),
        errno.ELOOP: tr("too many symbolic links"),
    }
    hint = hints.get(e.errno) or (e.strerror or str(e))
    return f"{hint}{' (' + where.strip() + ')' if where else ''}"
