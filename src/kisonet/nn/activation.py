"""Activation modules: thin wrappers over :mod:`kisonet.nn.functional.activation`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor
from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..registry import Registry
from ..validation import check_float
from .functional import activation as A  # noqa: N812
from .module import Module

__all__ = [
    "ACTIVATIONS",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def forward(self, x: Any) -> Tensor:
        return A.sigmoid(x)


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x: Any) -> Tensor:
        return A.tanh(x)


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return A.relu(x)


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_float("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Any) -> Tensor:
        return A.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    """y = x (a placeholder, e.g. to switch a layer off; extra arguments are ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Tensor:
        return A.identity(x)


class _AlongDim(Module):
    """A normalising activation along ``dim``: ``_fn(x, dim=dim)``."""

    _fn: Any = None

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return self._fn(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """softmax along ``dim`` (default: the last axis)."""

    _fn = staticmethod(A.softmax)


class LogSoftmax(_AlongDim):
    """log softmax along ``dim`` (default: the last axis)."""

    _fn = staticmethod(A.log_softmax)


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W)
    with the defaults (keeps the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Any) -> Tensor:
        x = A._tensor(x)
        nd = x.ndim
        s = self.start_dim % nd if -nd <= self.start_dim < nd else None
        e = self.end_dim % nd if -nd <= self.end_dim < nd else None
        if s is None or e is None or s > e:
            raise KisonetValueError(
                tr(
                    "Flatten(start_dim={0}, end_dim={1}) does not fit input of shape {2}",
                    self.start_dim,
                    self.end_dim,
                    x.shape,
                )
            )
        shape = x.shape
        new = (*shape[:s], -1 if 0 not in shape else 0, *shape[e + 1 :])
        return x.reshape(*new)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Reshape(Module):
    """Reshape each sample to ``shape``: (N, ...) -> (N, *shape), keeping the batch axis
    (flat 8x8 digits -> (1, 8, 8) for a CNN; a decoder's flat output -> image shape).
    A view: the gradient flows back reshaped to the input's shape."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: Any) -> Tensor:
        x = A._tensor(x)
        if tuple(x.shape[1:]) == self.shape:
            return x
        n = 1
        for s in x.shape[1:]:
            n *= s
        want = 1
        for s in self.shape:
            want *= s
        if n != want:
            raise ShapeError(
                tr(
                    "Reshape{0} got input of shape {1}: {2} values per sample, not {3}",
                    self.shape,
                    tuple(x.shape),
                    n,
                    want,
                )
            )
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


# The hidden activations by name (``--activation``, ``build_model(activation=...)``): name -> a
# factory of a fresh module.  Adding one: the module above, then one line here.
ACTIVATIONS = Registry("activation")
ACTIVATIONS.add("relu", ReLU, "max(0, x)")
ACTIVATIONS.add("sigmoid", Sigmoid, "1 / (1 + exp(-x))")
ACTIVATIONS.add("tanh", Tanh, "tanh(x)")
ACTIVATIONS.add("leaky-relu", lambda: LeakyReLU(0.01), "max(0.01 x, x)")
