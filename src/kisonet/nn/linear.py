"""``Linear``: the affine (fully connected) layer y = x W^T + b."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd.tensor import float_input
from ..backend import get_default_dtype
from ..errors import ShapeError
from ..lang import tr
from ..validation import check_int
from .functional.linear import Linear as _LinearFn
from .init import init_layer_
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """y = x W^T + b for x of shape (..., in_features).

    ``weight`` is (out_features, in_features) (the notes' M in R^{n1 x n}, PyTorch's
    layout), ``bias`` (out_features,).  ``init`` picks the initialiser (see
    :func:`kisonet.nn.init.init_layer_`): None is PyTorch's default
    U(+-1/sqrt(in_features)); ``'he'`` for ReLU networks, ``'xavier'`` for
    sigmoid/tanh, or any callable on the weight.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | Callable[[Any], Any] | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = check_int("Linear", "in_features", in_features)
        self.out_features = check_int("Linear", "out_features", out_features)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype), dtype=dtype)
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype), dtype=dtype)
        else:
            self.register_parameter("bias", None)
        init_layer_(self.weight, self.bias, init)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                tr(
                    "Linear({0}->{1}) got input of shape {2} (its last axis must be {0})",
                    self.in_features,
                    self.out_features,
                    tuple(x.shape),
                )
            )

    def forward(self, x: Any) -> Tensor:
        x = float_input(x, self.weight)  # uint8 pixels: NumPy's int @ float32 would give float64
        self._check_input(x)
        if self.bias is None:
            return _LinearFn.apply(x, self.weight)
        return _LinearFn.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
