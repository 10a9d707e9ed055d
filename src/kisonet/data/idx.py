"""Strict reader and writer of the IDX format (MNIST, Fashion-MNIST), gzipped or not.

Layout (big-endian)::

    0x00 0x00 <type code> <ndim>    magic number
    ndim x uint32                   dimension sizes
    prod(dims) x <type>             data, C order

Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
Anything that does not fit (bad magic, size mismatch, truncated gzip) raises
:class:`~kisonet.errors.DataError` naming the file and the numbers.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..lang import N_, gettext, tr

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike, what: str = N_("file")) -> bytes:
    """The bytes of ``path``, transparently gunzipped; corrupt or truncated gzip -> DataError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(tr("cannot read {0} {1}: {2}", gettext(what), path, e.strerror or e)) from e
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            tr(
                "{0} {1} is a corrupted or truncated gzip file ({2}); delete it and fetch it again",
                gettext(what),
                path,
                e,
            )
        ) from e


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array of native byte order (validated strictly)."""
    if len(data) < 4:
        raise DataError(tr("IDX {0}: {1} bytes is too short for the 4-byte magic number", source, len(data)))
    zero1, zero2, code, ndim = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0 or code not in IDX_TYPES:
        raise DataError(
            tr(
                "IDX {0}: bad magic number 0x{1} (expected 0x0000 + type code in {{{2}}} + ndim); not an IDX file",
                source,
                data[:4].hex(),
                ", ".join(f"0x{c:02x}" for c in IDX_TYPES),
            )
        )
    if ndim == 0:
        raise DataError(tr("IDX {0}: magic number declares 0 dimensions", source))
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            tr("IDX {0}: truncated header ({1} bytes, {2} needed for {3} dimensions)", source, len(data), header, ndim)
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a crafted header cannot overflow int64
    got = len(data) - header
    if got != expected:
        kind = "truncated" if got < expected else "has trailing bytes"
        raise DataError(
            tr(
                "IDX {0}: {1}: dims {2} of {3}-byte items need {4} data bytes, found {5}",
                source,
                kind,
                dims,
                dtype.itemsize,
                expected,
                got,
            )
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # a writable native-endian copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw; detected from the content, not the name)."""
    return parse_idx(read_bytes(path, N_("IDX file")), str(path))


def write_idx(path: str | os.PathLike, array: Any, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX (gzipped when ``compress`` or when the name ends in ``.gz``)."""
    a = np.asarray(array)
    code = _CODES.get(a.dtype.newbyteorder("=").str)
    if code is None or a.ndim == 0 or a.ndim > 255:
        raise DataError(tr("write_idx: cannot store dtype {0} with {1} dims as IDX", a.dtype, a.ndim))
    body = struct.pack(f">BBBB{a.ndim}I", 0, 0, code, a.ndim, *a.shape) + a.astype(IDX_TYPES[code]).tobytes()
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(body) if compress else body)
    return path


def load_idx_pair(images: str | os.PathLike, labels: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 1, H, W)`` float32 in [0, 1] and labels int64 from an IDX pair."""
    X = read_idx(images)
    y = read_idx(labels)
    if X.ndim != 3 or X.dtype != np.uint8:
        raise DataError(
            tr("IDX images {0}: expected uint8 data of 3 dims (N, H, W), got {1} {2}", images, X.dtype, X.shape)
        )
    if y.ndim != 1:
        raise DataError(tr("IDX labels {0}: expected 1 dim (N,), got shape {1}", labels, y.shape))
    if X.shape[0] != y.shape[0]:
        raise DataError(tr("IDX pair {0} / {1}: {2} images but {3} labels", images, labels, X.shape[0], y.shape[0]))
    # one multiply in float32 (1/255 is exact enough for [0, 1] pixels)
    Xf = X.reshape(X.shape[0], 1, X.shape[1], X.shape[2]).astype(np.float32)
    Xf *= np.float32(1.0 / 255.0)
    return Xf, y.astype(np.int64)
