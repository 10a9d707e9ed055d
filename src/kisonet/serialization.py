"""``kn.save`` / ``kn.load``: nested state in one non-executable ``.npz`` file.

The file is an ordinary NumPy ``.npz`` (a zip of ``.npy`` arrays), read with
``allow_pickle=False``, so loading never runs code.  It holds

* one array per array leaf of the saved object, keyed by its dotted path
  (``model.fc1.weight``, ``optimizer.state.0.exp_avg``), and
* ``__meta__``: a JSON string with the format version, the kisonet version,
  the ``kind`` of content (given by the caller: ``'state'``, ``'checkpoint'``,
  ...), a SHA-256 checksum and the structure that rebuilds the object exactly:
  the nesting of dicts (string or int keys), lists and tuples, and the
  non-array leaves (int, float, str, bool, None) stored inline.

The checksum (format version 2) covers the arrays (names, dtypes, shapes and
bytes) *and* the rest of ``__meta__`` (kind, structure and inline values such as a
model's activation), so editing either is detected.  Files of format version 1
(kisonet before the checksum covered the metadata) still load; their checksum
covers the arrays only.  Only stored or deflated zip entries are read, and no
entry may inflate beyond its declared size: a file of a few kilobytes never
allocates gigabytes.

Saving goes through :func:`kisonet.io.atomic_write`, so an interrupted save
leaves the previous file intact.  A missing, truncated, corrupted or foreign
file raises :class:`~kisonet.errors.CheckpointError` with the path and the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import sys
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._version import __version__
from .errors import CheckpointError, KisonetTypeError
from .io import atomic_write
from .lang import tr
from .validation import check_type

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "read_meta", "save"]

FORMAT = "kisonet"
FORMAT_VERSION = 2
_META = "__meta__"


def _checksum(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of the arrays and (format version 2 on) of the metadata other than the checksum."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode("utf-8") + b"\0" + a.dtype.str.encode() + b"\0" + repr(a.shape).encode() + b"\0")
        h.update(a.tobytes())
    if meta is not None:
        rest = {k: v for k, v in meta.items() if k != "checksum"}
        h.update(b"\0meta\0" + json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return h.hexdigest()


# Array entries are named by their dotted path when that is a plain name; anything else
# (slashes, spaces, non-ASCII, a name too long for a zip entry) gets a generated name, so
# every key the structure can hold round-trips through the zip file.
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.#+-]{1,200}")


def _text(s: str, path: str) -> str:
    """``s`` if it survives the UTF-8 JSON round trip; lone surrogates (from bytes decoded with
    ``surrogateescape``) do not, so they are refused here rather than at load."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise KisonetTypeError(
            tr(
                "save: the string {0!r} at {1} is not valid Unicode (a lone surrogate); it would not load back",
                s[:40],
                path or "top level",
            )
        ) from None
    return s


class _Flattener:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _key(self, path: str) -> str:
        key = path or "_"
        if not _SAFE_KEY.fullmatch(key) or key.startswith("."):
            key = f"_{len(self.arrays)}"
        # Different paths may flatten to the same dotted name ({"a.b": x} vs {"a": {"b": y}}).
        n, base = 1, key
        while key in self.arrays or key == _META:
            key = f"{base}#{n}"
            n += 1
        return key

    def node(self, obj: Any, path: str) -> dict[str, Any]:
        # A Tensor (or any array-like that carries a gradient flag) is saved as its data; duck
        # typing keeps this file-format module below the engine.
        if hasattr(obj, "requires_grad") and hasattr(obj, "__array__"):
            obj = np.asarray(obj)
        if isinstance(obj, (np.ndarray, np.generic)):
            arr = np.asarray(obj)
            if arr.dtype.kind == "V" or arr.dtype.hasobject or arr.dtype.names is not None:
                raise KisonetTypeError(
                    tr(
                        "save: {0} is an array of Python objects; only numeric/string arrays are saved",
                        path or "the object",
                    )
                )
            key = self._key(path)
            self.arrays[key] = arr
            return {"t": "array" if isinstance(obj, np.ndarray) else "npscalar", "k": key}
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            # JSON has no NaN/Inf; store those as their names
            return {"t": "float", "v": obj if math.isfinite(obj) else repr(obj)}
        if isinstance(obj, str):
            return {"t": "str", "v": _text(obj, path)}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise KisonetTypeError(
                        tr(
                            (
                                "save: dict keys must be str or int, got {0} {1!r} at {2} (it would not load "
                                "back as the same key)"
                            ),
                            type(k).__name__,
                            k,
                            path or "top level",
                        )
                    )
                if isinstance(k, str):
                    _text(k, path)
                sub = f"{path}.{k}" if path else str(k)
                items.append([k, self.node(v, sub)])
            return {"t": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {
                "t": "list" if isinstance(obj, list) else "tuple",
                "items": [self.node(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(obj)],
            }
        hint = " (save model.state_dict(), not the model)" if hasattr(obj, "state_dict") else ""
        raise KisonetTypeError(
            tr(
                (
                    "save: cannot store {0} at {1}{2}; allowed: dicts, lists, tuples, "
                    "arrays/tensors, int, float, str, bool, None"
                ),
                type(obj).__name__,
                path or "top level",
                hint,
            )
        )


def save(obj: Any, path: str | os.PathLike[str], kind: str = "state") -> None:
    """Save a nested state (dicts/lists/tuples of arrays, tensors, numbers, strings,
    bools, None) to ``path`` atomically.  ``kind`` labels the content (checked by
    ``load(path, kind=...)``).  Tensors are stored as their arrays."""
    check_type("save", "kind", kind, str, "a str")
    flat = _Flattener()
    try:
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kisonet_version": __version__,
            "kind": kind,
            "structure": flat.node(obj, ""),
        }
        meta["checksum"] = "sha256:" + _checksum(flat.arrays, meta)
        meta_arr = np.array(json.dumps(meta, separators=(",", ":")))
    except RecursionError:
        raise KisonetTypeError(
            tr("save: the object is nested too deeply to save (Python's limit: {0} levels)", sys.getrecursionlimit())
        ) from None
    with atomic_write(path, "wb") as f:
        np.savez(f, **{_META: meta_arr}, **flat.arrays)


def _fail(path: Any, reason: str) -> CheckpointError:
    return CheckpointError(tr("cannot load {0!r}: {1}", os.fspath(path), reason))


# Deflate expands at most ~1032x; a larger declared ratio is a forged entry (a zip bomb).
_MAX_INFLATE = 1100


def _check_entries(path: Any) -> None:
    """Before NumPy allocates anything: every ``.npy`` entry's declared shape must match the
    bytes the entry holds.  A forged header could otherwise make ``np.load`` allocate
    gigabytes for a file of a few hundred bytes; with this check memory stays bounded
    by the file's own size."""
    from numpy.lib import format as npy

    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _fail(
                    path,
                    tr(
                        "entry {0!r} uses zip compression method {1}; kisonet reads only stored or "
                        "deflated entries (what NumPy writes)",
                        name,
                        info.compress_type,
                    ),
                )
            if info.flag_bits & 0x1:
                raise _fail(path, tr("entry {0!r} is encrypted", name))
            if not info.filename.endswith(".npy"):
                continue
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise _fail(
                    path,
                    tr("entry {0!r} is corrupted (stored size {1} != {2})", name, info.compress_size, info.file_size),
                )
            if info.file_size > _MAX_INFLATE * info.compress_size + 4096:
                raise _fail(
                    path,
                    tr("entry {0!r} declares {1} bytes from {2}: forged", name, info.file_size, info.compress_size),
                )
            with zf.open(info) as f:
                version = npy.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = npy.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = npy.read_array_header_2_0(f)
                else:
                    raise _fail(
                        path, tr("entry {0!r} uses .npy format {1}, which kisonet does not write", name, version)
                    )
                header = f.tell()
            if dtype.hasobject:
                continue  # refused by np.load(allow_pickle=False) with the pickle message
            need = math.prod(shape) * dtype.itemsize
            if need != info.file_size - header:
                raise _fail(
                    path,
                    tr(
                        "array {0!r} declares shape {1} of {2} ({3} bytes) but its entry holds {4} "
                        "bytes: truncated or corrupted",
                        name,
                        tuple(shape),
                        dtype,
                        need,
                        info.file_size - header,
                    ),
                )


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail(path, tr("no such file")) from None
    except (OSError, ValueError) as e:
        raise _fail(path, tr("unreadable ({0})", getattr(e, "strerror", None) or e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(path, tr("it is a directory"))
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block open() for ever
        raise _fail(path, tr("it is not a regular file (a FIFO, socket or device); kisonet reads only regular files"))
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise _fail(path, tr("unreadable ({0})", e.strerror or e)) from None
    if magic.startswith(b"\x93NUMPY"):
        raise _fail(path, tr("not a kisonet file (a single .npy array, not an .npz archive)"))
    if magic[:1] == b"\x80":
        raise _fail(path, tr("it is a pickle, which kisonet never loads (it could run code)"))
    if not magic.startswith(b"PK"):
        raise _fail(path, tr("not a kisonet file (not an .npz/zip archive)") if magic else tr("the file is empty"))
    try:
        _check_entries(path)
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if _META not in names:
                raise _fail(path, tr("not a kisonet file (no __meta__ entry; an .npz saved by other code?)"))
            meta_text = str(z[_META][()])
            arrays = {k: z[k] for k in names if k != _META}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError) as e:
        raise _fail(path, tr("corrupted or truncated archive ({0})", e)) from None
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise _fail(path, tr("it holds pickled objects, which kisonet never loads (they could run code)")) from None
        raise _fail(path, tr("not a kisonet .npz file ({0})", e)) from None
    except Exception as e:  # any NumPy/zip/OS failure reading a foreign or damaged file
        raise _fail(path, tr("unreadable ({0}: {1})", type(e).__name__, e)) from None
    try:
        meta = json.loads(meta_text)
    except (ValueError, RecursionError):
        raise _fail(path, tr("the __meta__ entry is not valid JSON (corrupted)")) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(path, tr("the __meta__ entry is not kisonet's"))
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version < 1:
        raise _fail(path, tr("format version {0!r} is not one kisonet ever wrote", version))
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _fail(
            path,
            tr(
                "format version {0!r} is newer than this kisonet understands ({1}); it was written by kisonet {2}",
                version,
                FORMAT_VERSION,
                meta.get("kisonet_version"),
            ),
        )
    return meta, arrays


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's metadata (format and kisonet versions, kind, checksum) without rebuilding."""
    meta, _ = _read(path)
    return {k: v for k, v in meta.items() if k != "structure"}


def _rebuild(node: Any, arrays: dict[str, np.ndarray], path: Any) -> Any:
    if not isinstance(node, dict) or "t" not in node:
        raise _fail(path, tr("the structure in __meta__ is malformed"))
    t = node["t"]
    if t in ("array", "npscalar"):
        key = node.get("k")
        if key not in arrays:
            raise _fail(path, tr("array {0!r} listed in __meta__ is missing from the archive", key))
        a = arrays[key]
        return a if t == "array" else a[()]
    if t == "none":
        return None
    if t in ("bool", "int", "str"):
        return node["v"]
    if t == "float":
        return float(node["v"])
    if t == "dict":
        return {k: _rebuild(v, arrays, path) for k, v in node["items"]}
    if t == "list":
        return [_rebuild(v, arrays, path) for v in node["items"]]
    if t == "tuple":
        return tuple(_rebuild(v, arrays, path) for v in node["items"])
    raise _fail(path, tr("unknown entry type {0!r} in __meta__", t))


def load(path: str | os.PathLike[str], kind: str | None = None) -> Any:
    """Load what :func:`save` wrote, exactly (arrays come back as ndarrays).

    Verifies the checksum; with ``kind`` given, also that the file holds that
    kind.  Never runs code from the file.  Raises
    :class:`~kisonet.errors.CheckpointError` for a missing, truncated,
    corrupted or foreign file.
    """
    meta, arrays = _read(path)
    if kind is not None and meta.get("kind") != kind:
        raise _fail(path, tr("it holds {0!r}, expected {1!r}", meta.get("kind"), kind))
    expected = str(meta.get("checksum", ""))
    if meta.get("format_version") == 1:  # written before the checksum covered the metadata
        if expected != "sha256:" + _checksum(arrays):
            raise _fail(path, tr("checksum mismatch: the arrays were altered or corrupted after saving"))
    elif expected != "sha256:" + _checksum(arrays, meta):
        raise _fail(path, tr("checksum mismatch: the arrays or the metadata were altered or corrupted after saving"))
    try:
        return _rebuild(meta.get("structure"), arrays, path)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise _fail(path, tr("the structure in __meta__ is malformed ({0}: {1})", type(e).__name__, e)) from None
