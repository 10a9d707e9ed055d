"""Flat contiguous buffers over a list of parameters (one message instead of one per tensor).

``FlatBuffer(params)`` lays the parameters end to end in one float32 array; it
copies gradients in (``pack_grads``), hands out per-parameter views of the
buffer (``views``), and splits the buffer into buckets of at most
``bucket_bytes`` for large models, so each collective moves a bounded slice
while the next bucket's reduction is already in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import get_default_dtype
from ..errors import KisonetTypeError
from ..lang import tr

__all__ = ["FlatBuffer", "DEFAULT_BUCKET_BYTES"]

DEFAULT_BUCKET_BYTES = 25 * 2**20  # PyTorch DDP's default bucket_cap_mb=25


class FlatBuffer:
    """One contiguous array holding every parameter (or gradient) of ``params``.

    Args:
        params: the tensors, in a fixed order that every rank shares.
        bucket_bytes: maximum bytes per bucket (collectives run per bucket).
        dtype: buffer dtype; the parameters' dtype (float32 by default).
    """

    def __init__(self, params: Sequence[Any], bucket_bytes: int = DEFAULT_BUCKET_BYTES, dtype: Any = None) -> None:
        self.params = list(params)
        dts = {p._data.dtype for p in self.params}
        if dtype is None:
            dtype = dts.pop() if len(dts) == 1 else get_default_dtype()
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise KisonetTypeError(tr("FlatBuffer: parameters must be floating point, got {0}", self.dtype))
        sizes = [int(p._data.size) for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.numel = int(self.offsets[-1])
        self.buffer = np.zeros(self.numel, dtype=self.dtype)
        self.views = [
            self.buffer[self.offsets[i] : self.offsets[i + 1]].reshape(p._data.shape) for i, p in enumerate(self.params)
        ]
        per = max(1, int(bucket_bytes) // self.dtype.itemsize)
        self.buckets = [self.buffer[i : i + per] for i in range(0, max(self.numel, 1), per)] if self.numel else []

    @property
    def nbytes(self) -> int:
        return int(self.buffer.nbytes)

    def pack_grads(self) -> np.ndarray:
        """Copy every ``p.grad`` into the buffer (zeros where a parameter got no gradient)."""
        for p, v in zip(self.params, self.views, strict=True):
            if p.grad is None:
                v.fill(0)
            else:
                np.copyto(v, p.grad, casting="same_kind")
        return self.buffer

    def unpack_grads(self) -> None:
        """Make each ``p.grad`` a view of the (reduced) buffer: no copy back."""
        for p, v in zip(self.params, self.views, strict=True):
            p.grad = v

    def pack_params(self) -> np.ndarray:
        for p, v in zip(self.params, self.views, strict=True):
            np.copyto(v, p._data, casting="same_kind")
        return self.buffer

    def unpack_params(self, source: np.ndarray | None = None) -> None:
        """Write the buffer (or ``source``, a flat array of the same layout) into the parameters in place."""
        src = self.buffer if source is None else source
        for i, p in enumerate(self.params):
            np.copyto(p._data, src[self.offsets[i] : self.offsets[i + 1]].reshape(p._data.shape), casting="same_kind")
            p._vc[0] += 1  # in-place change: graphs that saved the old values must notice
