"""Pooling and upsampling layers (thin wrappers over :mod:`kisonet.nn.functional.pooling`)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..errors import KisonetValueError
from ..lang import tr
from ..validation import check_choice, check_pair
from .functional.pooling import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = check_pair(name, "kernel_size", kernel_size, low=1)
        self.stride = self.kernel_size if stride is None else check_pair(name, "stride", stride, low=1)
        self.padding = check_pair(name, "padding", padding, low=0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise KisonetValueError(
                tr("{0}: padding {1} must be at most half the kernel size {2}", name, self.padding, self.kernel_size)
            )

    def _name(self) -> str:
        k = self.kernel_size
        return f"{type(self).__name__}({k[0] if k[0] == k[1] else k})"

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return s + (f", padding={self.padding}" if self.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """Max over kh x kw windows (stride defaults to kernel_size); the gradient goes to the
    window's maximum (ties: the first one, like PyTorch)."""

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, _name=self._name())


class AvgPool2d(_Pool2d):
    """Mean over kh x kw windows (stride defaults to kernel_size; zero padding counted)."""

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, _name=self._name())


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size; ``AdaptiveAvgPool2d(1)`` is global average
    pooling (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)):
            self.output_size = tuple(output_size)
        else:
            self.output_size = check_pair("AdaptiveAvgPool2d", "output_size", output_size, low=1)

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Nearest-neighbour upsampling by ``scale_factor`` (or to ``size``); backward sums
    each block of copies.  Only ``mode='nearest'`` is implemented."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest") -> None:
        super().__init__()
        check_choice("Upsample", "mode", mode, ("nearest",))
        if (size is None) == (scale_factor is None):
            raise KisonetValueError(tr("Upsample: give exactly one of size= and scale_factor="))
        self.size, self.scale_factor, self.mode = size, scale_factor, mode

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
