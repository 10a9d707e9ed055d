"""The affine (fully connected) layer as one fused function."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.tensor import as_tensor
from ...errors import ShapeError
from ...lang import tr

__all__ = ["linear"]


class Linear(Function):
    """y = x W^T + b  for x of shape (..., in), W (out, in), b (out,).

    Backward, with X and G the inputs and output gradients flattened to rows::

        dL/dW = G^T X,    dL/db = sum_rows G,    dL/dx = G W

    dL/dx is computed only when the input needs it (never for the first layer,
    whose input is data: a third of that layer's backward FLOPs saved).
    """

    def forward(self, x, w, b=None):
        y = np.matmul(x, w.T)
        if b is not None:
            y += b
        if self.requires_grad:
            self.x, self.w = x, w
        return y

    def backward(self, gy):
        x, w = self.x, self.w
        need = self.needs_input_grad
        gx = gw = gb = None
        if need[0]:
            gx = np.matmul(gy, w)
        out, inp = w.shape
        g2 = gy.reshape(-1, out)
        if need[1]:
            gw = np.matmul(g2.T, x.reshape(-1, inp))
        if len(need) > 2 and need[2]:
            gb = g2.sum(axis=0)
        return (gx, gw, gb) if len(need) > 2 else (gx, gw)


def linear(x: Any, weight: Any, bias: Any | None = None) -> Tensor:
    """y = x W^T + b (PyTorch's ``F.linear``): x (..., in), weight (out, in), bias (out,)."""
    x = x if isinstance(x, Tensor) else as_tensor(x, like=(weight,))
    w = weight if isinstance(weight, Tensor) else as_tensor(weight)
    if w.ndim != 2:
        raise ShapeError(tr("linear: weight must be 2-D (out, in), got shape {0}", w.shape))
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(
            tr("linear({0}->{1}) got input of shape {2} (last axis must be {0})", w.shape[1], w.shape[0], x.shape)
        )
    if bias is None:
        return Linear.apply(x, w)
    b = bias if isinstance(bias, Tensor) else as_tensor(bias, like=(w,))
    if b.shape != (w.shape[0],):
        raise ShapeError(tr("linear: bias of shape {0} does not match weight of shape {1}", b.shape, w.shape))
    return Linear.apply(x, w, b)
