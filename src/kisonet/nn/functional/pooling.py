"""Pooling and upsampling on NCHW tensors: ``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d``, ``interpolate`` / ``upsample`` (nearest).

A k x k window with stride S sees, at kernel offset (p, q), the strided slice

    x_pad[:, :, p : p + S*(OH-1) + 1 : S,  q : q + S*(OW-1) + 1 : S]      (N, C, OH, OW)

so pooling is an elementwise max (or sum) over the kh*kw slices: a loop over
kernel offsets moving whole arrays, with no im2col copy and no Python loop over
pixels.  Backward scatters through the same slices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...autograd import Tensor
from ...autograd.function import Function
from ...errors import KisonetValueError, ShapeError
from ...lang import tr
from ...validation import check_choice, check_pair, check_positive
from .conv import _as_tensor, _unpad, conv_output_size, pad_array


def _window(xp: np.ndarray, p: int, q: int, stride: tuple[int, int], out_hw: tuple[int, int]) -> tuple:
    """The index of the (N, C, OH, OW) slice of inputs at kernel offset (p, q)."""
    (sh, sw), (OH, OW) = stride, out_hw
    return (slice(None), slice(None), slice(p, p + sh * (OH - 1) + 1, sh), slice(q, q + sw * (OW - 1) + 1, sw))


def _tiles(kernel, stride, pad, xshape, out_hw) -> bool:
    """True when windows do not overlap and cover the input exactly (every input
    pixel in exactly one window): backward can assign instead of accumulate."""
    return (
        kernel == stride and not any(pad) and xshape[2] == kernel[0] * out_hw[0] and xshape[3] == kernel[1] * out_hw[1]
    )


class MaxPool2dFunction(Function):
    """y[n,c,i,j] = max_{p,q} x_pad[n,c,S*i+p,S*j+q]   (padding counts as -inf).

    Backward: the gradient goes to the window's maximum only,
        dL/dx[n,c,S*i+p,S*j+q] += gy[n,c,i,j] * [ (p,q) is the first argmax ],
    ties going to the first maximum in row-major window order (PyTorch's argmax),
    so exactly one input receives each gy element.
    """

    def forward(self, x):
        xp = pad_array(x, self.pad, value=-np.inf)
        kh, kw = self.kernel
        y = xp[_window(xp, 0, 0, self.stride, self.out_hw)].copy()
        for p in range(kh):
            for q in range(kw):
                if p or q:
                    np.maximum(y, xp[_window(xp, p, q, self.stride, self.out_hw)], out=y)
        if self.requires_grad:
            self.xp, self.y, self.x_shape = xp, y, x.shape
        return y

    def backward(self, gy):
        xp, y = self.xp, self.y
        kh, kw = self.kernel
        tiles = _tiles(self.kernel, self.stride, self.pad, self.x_shape, self.out_hw)
        gxp = np.empty_like(xp) if tiles else np.zeros_like(xp)
        # Visit the offsets in window order; `free` marks windows whose maximum has not
        # been found yet, so a tie sends the gradient to the first maximum only.
        free = np.ones(y.shape, dtype=bool)
        hit = np.empty(y.shape, dtype=bool)
        finite = bool(np.isfinite(np.add.reduce(gy, axis=None)))
        zero = gy.dtype.type(0)
        last = kh * kw - 1
        for k in range(kh * kw):
            p, q = divmod(k, kw)
            idx = _window(xp, p, q, self.stride, self.out_hw)
            if k < last:
                np.equal(xp[idx], y, out=hit)
                hit &= free
                np.greater(free, hit, out=free)  # free &= ~hit, without the ~hit temporary
            else:
                hit = free  # every window still free has its maximum here: no comparison needed
            # gy * hit is the fast path; a non-finite gy must still give exact zeros off the
            # argmax (0 * NaN is NaN), as PyTorch's max-pool backward does
            if not finite:
                contrib = np.where(hit, gy, zero)
                if tiles:
                    gxp[idx] = contrib
                else:
                    gxp[idx] += contrib
            elif tiles:
                np.multiply(gy, hit, out=gxp[idx])
            else:
                gxp[idx] += gy * hit
        return _unpad(gxp, self.pad, self.x_shape[2], self.x_shape[3])


class AvgPool2dFunction(Function):
    """y[n,c,i,j] = (1 / (kh*kw)) sum_{p,q} x_pad[n,c,S*i+p,S*j+q]   (zeros padded,
    counted in the divisor: PyTorch's count_include_pad=True).

    Backward: dL/dx[n,c,S*i+p,S*j+q] += gy[n,c,i,j] / (kh*kw).
    """

    def forward(self, x):
        xp = pad_array(x, self.pad)
        kh, kw = self.kernel
        y = xp[_window(xp, 0, 0, self.stride, self.out_hw)].copy()
        for p in range(kh):
            for q in range(kw):
                if p or q:
                    y += xp[_window(xp, p, q, self.stride, self.out_hw)]
        y *= y.dtype.type(1.0 / (kh * kw))
        self.x_shape, self.xp_shape = x.shape, xp.shape
        return y

    def backward(self, gy):
        kh, kw = self.kernel
        g = gy * gy.dtype.type(1.0 / (kh * kw))
        if _tiles(self.kernel, self.stride, self.pad, self.x_shape, self.out_hw):
            # Every input pixel gets its window's g: a broadcast, no accumulation.
            N, C, OH, OW = g.shape
            gx = np.broadcast_to(g[:, :, :, None, :, None], (N, C, OH, kh, OW, kw))
            return gx.reshape(self.x_shape)
        gxp = np.zeros(self.xp_shape, dtype=gy.dtype)
        for p in range(kh):
            for q in range(kw):
                gxp[_window(gxp, p, q, self.stride, self.out_hw)] += g
        return _unpad(gxp, self.pad, self.x_shape[2], self.x_shape[3])


def _pool_args(name: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any):
    if x.ndim != 4:
        raise ShapeError(tr("{0} got input of shape {1}; expected (N, C, H, W)", name, x.shape))
    kernel = check_pair(name, "kernel_size", kernel_size, low=1)
    stride_ = kernel if stride is None else check_pair(name, "stride", stride, low=1)
    ph, pw = check_pair(name, "padding", padding, low=0)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise KisonetValueError(
            tr("{0}: padding {1} must be at most half the kernel size {2} (as in PyTorch)", name, (ph, pw), kernel)
        )
    pad = (ph, ph, pw, pw)
    out_hw = conv_output_size(name, x.shape, kernel, stride_, pad)
    return dict(kernel=kernel, stride=stride_, pad=pad, out_hw=out_hw)


def max_pool2d(
    input: Tensor, kernel_size: int | tuple[int, int], stride: Any = None, padding: Any = 0, *, _name: str | None = None
) -> Tensor:
    """Max pooling over kh x kw windows, ``stride`` defaulting to ``kernel_size``; output
    ``(H + 2P - K) // S + 1``.  Gradient to one maximum per window (ties: the first)."""
    x = _as_tensor(input)
    name = _name or f"max_pool2d({kernel_size})"
    return MaxPool2dFunction.apply(x, **_pool_args(name, x, kernel_size, stride, padding))


def avg_pool2d(
    input: Tensor, kernel_size: int | tuple[int, int], stride: Any = None, padding: Any = 0, *, _name: str | None = None
) -> Tensor:
    """Average pooling over kh x kw windows (zero padding counted in the mean, PyTorch's
    default ``count_include_pad=True``); ``stride`` defaults to ``kernel_size``."""
    x = _as_tensor(input)
    name = _name or f"avg_pool2d({kernel_size})"
    return AvgPool2dFunction.apply(x, **_pool_args(name, x, kernel_size, stride, padding))


# ----------------------------------------------------------------------------
# adaptive average pooling


def _adaptive_matrix(n_in: int, n_out: int, dtype) -> np.ndarray:
    """(n_out, n_in) averaging matrix with PyTorch's bins
    [floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))."""
    A = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):  # a loop over output rows of a tiny matrix, not over pixels
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        A[i, lo:hi] = 1.0 / (hi - lo)
    return A


class AdaptiveAvgPool2dFunction(Function):
    """y = A_h @ x @ A_w^T with A_h (OH, H), A_w (OW, W) the bin-averaging matrices
    (for output size 1: the global average, y = mean_{h,w} x).

    Backward: dL/dx = A_h^T @ gy @ A_w   (for size 1: gy / (H*W) broadcast).
    """

    def forward(self, x):
        N, C, H, W = x.shape
        OH, OW = self.out_hw
        self.x_shape = x.shape
        if (OH, OW) == (1, 1):
            return x.mean(axis=(2, 3), keepdims=True, dtype=x.dtype)
        self.Ah, self.Aw = _adaptive_matrix(H, OH, x.dtype), _adaptive_matrix(W, OW, x.dtype)
        return np.matmul(np.matmul(self.Ah, x), self.Aw.T)

    def backward(self, gy):
        H, W = self.x_shape[2:]
        if self.out_hw == (1, 1):
            return np.broadcast_to(gy * gy.dtype.type(1.0 / (H * W)), self.x_shape)
        return np.matmul(np.matmul(self.Ah.T, gy), self.Aw)


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int, int]) -> Tensor:
    """Average pooling to a fixed ``output_size`` whatever the input size (PyTorch's bins);
    ``output_size=1`` is global average pooling.  ``None`` in a pair keeps that size."""
    x = _as_tensor(input)
    if x.ndim != 4:
        raise ShapeError(tr("adaptive_avg_pool2d got input of shape {0}; expected (N, C, H, W)", x.shape))
    if isinstance(output_size, (tuple, list)):
        output_size = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(output_size))
    out_hw = check_pair("adaptive_avg_pool2d", "output_size", output_size, low=1)
    return AdaptiveAvgPool2dFunction.apply(x, out_hw=out_hw)


# ----------------------------------------------------------------------------
# nearest-neighbour upsampling


class UpsampleNearestFunction(Function):
    """y[n,c,i,j] = x[n,c, floor(i*H/OH'), floor(j*W/OW')]  (nearest, PyTorch's rule).

    For an integer factor s every input pixel becomes an s x s block; backward
    sums each block: dL/dx[n,c,h,w] = sum_{a,b<s} gy[n,c,s*h+a,s*w+b].
    Otherwise y = P_h @ x @ P_w^T with one-hot selection matrices and
    dL/dx = P_h^T @ gy @ P_w.
    """

    def forward(self, x):
        N, C, H, W = x.shape
        OH, OW = self.out_hw
        self.x_shape = x.shape
        if OH % H == 0 and OW % W == 0 and self.integer:
            sh, sw = OH // H, OW // W
            y = np.broadcast_to(x[:, :, :, None, :, None], (N, C, H, sh, W, sw))
            return y.reshape(N, C, OH, OW)
        ih = np.minimum(np.floor(np.arange(OH) * self.scale[0]).astype(np.int64), H - 1)
        iw = np.minimum(np.floor(np.arange(OW) * self.scale[1]).astype(np.int64), W - 1)
        self.Ph = np.zeros((OH, H), dtype=x.dtype)
        self.Ph[np.arange(OH), ih] = 1
        self.Pw = np.zeros((OW, W), dtype=x.dtype)
        self.Pw[np.arange(OW), iw] = 1
        return x[:, :, ih[:, None], iw[None, :]]

    def backward(self, gy):
        N, C, H, W = self.x_shape
        OH, OW = self.out_hw
        if OH % H == 0 and OW % W == 0 and self.integer:
            return gy.reshape(N, C, H, OH // H, W, OW // W).sum(axis=(3, 5))
        return np.matmul(np.matmul(self.Ph.T, gy), self.Pw)


def interpolate(
    input: Tensor,
    size: int | tuple[int, int] | None = None,
    scale_factor: float | tuple[float, float] | None = None,
    mode: str = "nearest",
) -> Tensor:
    """Resize NCHW ``input`` to ``size`` or by ``scale_factor`` (``mode='nearest'``).

    Output size ``floor(H * scale_factor)``; source index ``floor(i / scale_factor)``
    (with ``scale_factor``) or ``floor(i * H / OH)`` (with ``size``), as PyTorch.
    """
    x = _as_tensor(input)
    check_choice("interpolate", "mode", mode, ("nearest",))
    if x.ndim != 4:
        raise ShapeError(tr("interpolate got input of shape {0}; expected (N, C, H, W)", x.shape))
    H, W = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise KisonetValueError(tr("interpolate: give exactly one of size= and scale_factor="))
    if size is not None:
        OH, OW = check_pair("interpolate", "size", size, low=1)
        scale = (H / OH, W / OW)
        integer = True
    else:
        sf = check_pair("interpolate", "scale_factor", scale_factor, check_positive, what="a positive number or a pair")
        OH, OW = int(math.floor(H * sf[0])), int(math.floor(W * sf[1]))
        if OH < 1 or OW < 1:
            raise ShapeError(tr("interpolate: scale_factor {0} makes the {1}x{2} input empty", scale_factor, H, W))
        scale = (1.0 / sf[0], 1.0 / sf[1])
        integer = all(float(s).is_integer() for s in sf)
    return UpsampleNearestFunction.apply(x, out_hw=(OH, OW), scale=scale, integer=integer)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest") -> Tensor:
    """Alias of :func:`interpolate` (PyTorch's older name)."""
    return interpolate(input, size=size, scale_factor=scale_factor, mode=mode)
