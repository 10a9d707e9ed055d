"""Activation functions, forward beside backward.

``sigmoid``, ``tanh`` and ``relu`` are the engine's ops (one concept, one home:
:mod:`kisonet.autograd.ops`); this module adds the rest.  Every function is
numerically stable for inputs of +-1000 (no overflow, no NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.ops import normalize_axis, relu, sigmoid, tanh
from ...autograd.tensor import as_tensor
from ...errors import KisonetValueError
from ...lang import tr

__all__ = ["identity", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "tanh"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _one_axis(name: str, x: Tensor, axis: Any, dim: Any) -> int:
    axes = normalize_axis(name, axis if dim is None else None, x.ndim, dim)
    if axes is None or len(axes) != 1:
        raise KisonetValueError(tr("{0}: needs exactly one axis, got axis={1!r}, dim={2!r}", name, axis, dim))
    return axes[0]


class LeakyReLU(Function):
    """y = x if x > 0 else a*x;   dL/dx = gy * (1 if x > 0 else a)."""

    negative_slope: float

    def forward(self, x):
        pos = x > 0
        if self.requires_grad:
            self.pos = pos
        return np.where(pos, x, x * x.dtype.type(self.negative_slope))

    def backward(self, gy):
        return np.where(self.pos, gy, gy * gy.dtype.type(self.negative_slope))


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (the shift keeps exp <= 1);
    dL/dx = y * (gy - sum_j gy_j y_j)."""

    axis: int

    def forward(self, x):
        e = x - x.max(axis=self.axis, keepdims=True)
        np.exp(e, out=e)
        e /= e.sum(axis=self.axis, keepdims=True)
        if self.requires_grad:
            self.y = e
        return e

    def backward(self, gy):
        y = self.y
        g = gy * y
        g -= y * g.sum(axis=self.axis, keepdims=True)
        return g


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j exp(x_j - m), m = max_j x_j;
    dL/dx = gy - softmax(x) * sum_j gy_j."""

    axis: int

    def forward(self, x):
        s = x - x.max(axis=self.axis, keepdims=True)
        lse = np.log(np.exp(s).sum(axis=self.axis, keepdims=True))
        s -= lse
        if self.requires_grad:
            self.y = s
        return s

    def backward(self, gy):
        return gy - np.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def identity(x: Any) -> Tensor:
    """y = x (the output activation of a regression network)."""
    return _tensor(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """y = max(x, 0) + negative_slope * min(x, 0)."""
    return LeakyReLU.apply(_tensor(x), negative_slope=float(negative_slope))


def softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """softmax along ``axis`` (PyTorch's ``dim``; default the last axis):
    exp(x_i) / sum_j exp(x_j), computed with the max shift so +-1000 is fine."""
    x = _tensor(x)
    if axis is None and dim is None:
        axis = -1
    return Softmax.apply(x, axis=_one_axis("softmax", x, axis, dim))


def log_softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """log(softmax(x)) along ``axis`` (default the last), as x - logsumexp(x):
    exact where log(softmax) would give log(0) = -inf."""
    x = _tensor(x)
    if axis is None and dim is None:
        axis = -1
    return LogSoftmax.apply(x, axis=_one_axis("log_softmax", x, axis, dim))


# the engine's ops, re-exported as the functional API
sigmoid = sigmoid
tanh = tanh
relu = relu
