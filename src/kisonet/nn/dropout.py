"""Noise layers: ``Dropout``, ``DropConnect``, ``GaussianNoise`` (active only in training)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..autograd.tensor import as_tensor
from ..validation import check_positive, check_type
from .functional.dropout import DROPOUT_SCALINGS, check_p, check_scaling, dropout, dropout_mask, gaussian_noise
from .functional.linear import linear
from .linear import Linear
from .module import Module

__all__ = ["DROPOUT_SCALINGS", "DropConnect", "Dropout", "GaussianNoise", "set_dropout_scaling"]


class Dropout(Module):
    """Dropout: while training, zero each element with probability ``p``.

    ``scaling="inverted"`` (default, PyTorch): the survivors are scaled by 1/(1-p) while
    training, identity in eval mode.  ``scaling="test-time"`` (the E-cert DAY 2 deck): no
    scaling while training, outputs multiplied by (1-p) in eval mode.  Formulas and decks:
    :func:`kisonet.nn.functional.dropout`."""

    def __init__(self, p: float = 0.5, scaling: str = "inverted") -> None:
        super().__init__()
        self.p = check_p("Dropout", p)
        self.scaling = check_scaling("Dropout", scaling)

    def forward(self, x: Any) -> Tensor:
        return dropout(x, self.p, self.training, self.scaling)

    def extra_repr(self) -> str:
        return f"p={self.p}" + ("" if self.scaling == "inverted" else f", scaling={self.scaling!r}")


def set_dropout_scaling(model: Module, scaling: str) -> int:
    """Set ``scaling`` (``"inverted"`` or ``"test-time"``) on every :class:`Dropout` in ``model``;
    returns how many were set (a model built by :func:`kisonet.models.build_model` gets the
    E-cert form with ``set_dropout_scaling(model, "test-time")``)."""
    scaling = check_scaling("set_dropout_scaling", scaling)
    n = 0
    for m in model.modules():
        if isinstance(m, Dropout):
            m.scaling = scaling
            n += 1
    return n


class DropConnect(Module):
    """Drop weights instead of units (Wan et al. 2013): while training
    y = x (W * M)^T + b with M_ij = [u_ij >= p] / (1 - p), a new mask each call;
    in eval mode the plain ``linear`` (the inverted scaling keeps E[W * M] = W).

    Wraps an existing :class:`Linear`, whose parameters it shares
    (``DropConnect(Linear(784, 100), p=0.5)``); the state dict keys are
    ``linear.weight``, ``linear.bias``.
    """

    def __init__(self, linear: Linear, p: float = 0.5) -> None:
        super().__init__()
        check_type("DropConnect", "linear", linear, Linear, "a Linear layer")
        self.linear = linear
        self.p = check_p("DropConnect", p)

    @property
    def weight(self) -> Tensor:
        return self.linear.weight

    @property
    def bias(self) -> Tensor | None:
        return self.linear.bias

    def forward(self, x: Any) -> Tensor:
        lin = self.linear
        if not self.training or self.p == 0.0:
            return lin(x)
        x = x if isinstance(x, Tensor) else as_tensor(x, like=(lin.weight,))
        lin._check_input(x)
        w = lin.weight
        # mask * W is one engine Mul node: dL/dW = M * dL/d(W*M)
        masked = w * dropout_mask(w.shape, self.p, w.dtype)
        return linear(x, masked, lin.bias)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class GaussianNoise(Module):
    """y = x + std * z, z ~ N(0, 1), while training; identity in eval mode
    (a regulariser, as Keras' GaussianNoise)."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = check_positive("GaussianNoise", "std", std, allow_zero=True)

    def forward(self, x: Any) -> Tensor:
        return gaussian_noise(x, self.std, self.training)

    def extra_repr(self) -> str:
        return f"std={self.std}"
