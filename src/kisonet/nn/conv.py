"""Convolutional layers: ``Conv2d`` and ``ConvTranspose2d`` (thin wrappers over
:mod:`kisonet.nn.functional.conv`, where the math lives)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd.tensor import float_input
from ..backend import get_default_dtype
from ..errors import KisonetValueError
from ..lang import tr
from ..validation import check_int, check_pair
from .functional.conv import conv2d, conv_transpose2d
from .init import init_layer_
from .module import Module, Parameter


class _ConvNd(Module):
    """What ``Conv2d`` and ``ConvTranspose2d`` share: validated sizes, the parameters, the repr.

    Subclasses validate ``in_channels``, ``out_channels``, ``kernel_size`` and ``stride`` with
    :meth:`_check_sizes`, their own padding, then create the parameters with :meth:`_make_parameters`.
    """

    _kind = ""  # the layer's name in messages
    _transposed = False  # weight layout (in_ch, out_ch, kh, kw) instead of (out_ch, in_ch, kh, kw)

    def _check_sizes(self, in_channels: Any, out_channels: Any, kernel_size: Any, stride: Any) -> None:
        self.in_channels = check_int(self._kind, "in_channels", in_channels)
        self.out_channels = check_int(self._kind, "out_channels", out_channels)
        self.kernel_size = check_pair(self._kind, "kernel_size", kernel_size, low=1)
        self.stride = check_pair(self._kind, "stride", stride, low=1)

    def _make_parameters(self, bias: bool, init: Any) -> None:
        dt = get_default_dtype()
        channels = (self.in_channels, self.out_channels) if self._transposed else (self.out_channels, self.in_channels)
        self.weight = Parameter(np.zeros((*channels, *self.kernel_size), dtype=dt))
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        # For the transposed layout PyTorch's fan_in is out_ch*kh*kw (dimension 1), as init_layer_ computes.
        init_layer_(self.weight, self.bias, init)

    def _name(self) -> str:
        kh, kw = self.kernel_size
        return f"{self._kind}({self.in_channels}->{self.out_channels}, {kh}x{kw})"

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over NCHW input: weight (out_ch, in_ch, kh, kw), bias (out_ch,).

    ``y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x_pad[n,c,S*i+p,S*j+q]``, output size
    ``(H + 2P - K) // S + 1``; ``padding`` may be ``'same'`` (stride 1) or ``'valid'``.
    ``init=None`` is PyTorch's default (kaiming_uniform(a=sqrt(5)), bias
    U(+-1/sqrt(fan_in)), fan_in = in_ch*kh*kw); ``'he'``, ``'xavier'``, ``'normal'`` ... or a
    callable (see :func:`kisonet.nn.init.init_layer_`).
    """

    _kind = "Conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        bias: bool = True,
        init: Any = None,
    ) -> None:
        super().__init__()
        self._check_sizes(in_channels, out_channels, kernel_size, stride)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise KisonetValueError(
                    tr("Conv2d: padding must be an int, a pair, 'same' or 'valid', got {0!r}", padding)
                )
            if padding == "same" and self.stride != (1, 1):
                raise KisonetValueError(
                    tr("Conv2d: padding='same' needs stride 1 (like PyTorch), got {0}", self.stride)
                )
            self.padding = padding
        else:
            self.padding = check_pair(self._kind, "padding", padding, low=0)
        self._make_parameters(bias, init)

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)  # integer images: NumPy would give float64
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, _name=self._name())


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the adjoint of ``Conv2d``), weight (in_ch, out_ch, kh, kw)
    as in PyTorch; output size ``(H - 1)*S - 2P + K + output_padding``.  Used to
    upsample in convolutional autoencoders and decoders."""

    _kind = "ConvTranspose2d"
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: Any = None,
    ) -> None:
        super().__init__()
        self._check_sizes(in_channels, out_channels, kernel_size, stride)
        self.padding = check_pair(self._kind, "padding", padding, low=0)
        self.output_padding = check_pair(self._kind, "output_padding", output_padding, low=0)
        if self.output_padding[0] >= self.stride[0] or self.output_padding[1] >= self.stride[1]:
            raise KisonetValueError(
                tr(
                    "ConvTranspose2d: output_padding {0} must be smaller than the stride {1}",
                    self.output_padding,
                    self.stride,
                )
            )
        self._make_parameters(bias, init)

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)
        return conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, _name=self._name()
        )
