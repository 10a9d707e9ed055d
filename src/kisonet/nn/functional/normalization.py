"""Normalisation layers' math: ``batch_norm``, ``layer_norm``, ``instance_norm``, ``group_norm``.

All four standardise x over some axes A (M = number of elements averaged) and
apply a learnable affine map:

    mu = mean_A(x),  var = mean_A((x - mu)^2)   (biased, as in the paper),
    xhat = (x - mu) / sqrt(var + eps),           y = gamma * xhat + beta.

They differ only in A:  batch norm: (N, H, W) per channel;  layer norm: the
last ``len(normalized_shape)`` axes per sample;  instance norm: (H, W) per
sample and channel;  group norm: (C/G, H, W) per sample and group.

Backward (one fused closed form, not a chain of small ops), with g = gy * gamma:

    dL/dx     = (1/M) * inv_std * (M*g - sum_A g - xhat * sum_A(g * xhat))
    dL/dgamma = sum over the non-parameter axes of gy * xhat
    dL/dbeta  = sum over the non-parameter axes of gy

When gamma is constant over A (batch and instance norm) the two sums are
gamma * sum_A gy and gamma * sum_A(gy * xhat), which are also dL/dbeta and
dL/dgamma: the parameter gradients come for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd import Tensor
from ...autograd.function import Function
from ...errors import KisonetValueError, ShapeError
from ...lang import tr
from .conv import _as_tensor

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    """How many elements a reduction over ``axes`` averages."""
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def _sum_over(axes: tuple[int, ...], a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """sum over ``axes`` of ``a`` (or of ``a * b``), keeping the reduced axes as 1.

    Written with einsum because it reduces in one pass without the ``a * b``
    temporary, and is 2-3x faster than ``ndarray.sum`` over non-trailing axes
    such as batch norm's (N, H, W).
    """
    idx = _LETTERS[: a.ndim]
    out = "".join(ch for i, ch in enumerate(idx) if i not in axes)
    r = np.einsum(f"{idx}->{out}", a) if b is None else np.einsum(f"{idx},{idx}->{out}", a, b)
    return r.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


class NormalizeFunction(Function):
    """y = gamma * (x - mu_A) / sqrt(var_A + eps) + beta over the axes ``axes`` (see
    the module docstring for the backward).

    Options: ``axes`` (tuple), ``eps``, ``view`` (shape x is reshaped to first, e.g.
    (N, G, C/G, H, W) for group norm), ``pshape`` (shape gamma/beta are viewed as to
    broadcast against the viewed x).  Inputs: x, then gamma and beta when affine.
    ``stats``: a dict that receives the biased ``mean`` and ``var`` (for running averages).
    """

    stats: dict | None = None
    view: tuple | None = None

    def forward(self, x, gamma=None, beta=None):
        shape = x.shape
        if self.view is not None:
            x = x.reshape(self.view)
        axes = self.axes
        m_inv = x.dtype.type(1.0 / _count(x.shape, axes))
        mean = _sum_over(axes, x) * m_inv
        xhat = x - mean
        var = _sum_over(axes, xhat, xhat) * m_inv
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xhat *= inv_std
        if self.stats is not None:  # the caller wants the batch statistics (running averages)
            self.stats["mean"], self.stats["var"] = mean, var
        if gamma is None:
            y = xhat.copy() if self.requires_grad else xhat
        else:
            y = xhat * gamma.reshape(self.pshape)
            y += beta.reshape(self.pshape)
        if self.requires_grad:
            self.xhat, self.inv_std, self.x_shape = xhat, inv_std, shape
            self.gamma = gamma
        return y.reshape(shape)

    def backward(self, gy):
        axes, xhat, gamma = self.axes, self.xhat, self.gamma
        gy = gy.reshape(xhat.shape)
        M = xhat.size // self.inv_std.size
        inv_m = xhat.dtype.type(1.0 / M)
        affine = gamma is not None
        param_axes = tuple(i for i, n in enumerate(self.pshape) if n == 1) if affine else None
        folded = affine and all(self.pshape[a] == 1 for a in axes)
        dgamma = dbeta = None
        if folded:
            # gamma is constant over A: sum_A g = gamma * sum_A gy and likewise for g*xhat.
            sum_gy = _sum_over(axes, gy)
            sum_gyx = _sum_over(axes, gy, xhat)
            g_params = gamma.reshape(self.pshape)
            scale = g_params * self.inv_std
            extra = tuple(a for a in param_axes if a not in axes)
            dbeta = sum_gy.sum(axis=extra) if extra else sum_gy
            dgamma = sum_gyx.sum(axis=extra) if extra else sum_gyx
            gx = gy - sum_gy * inv_m
            gx -= xhat * (sum_gyx * inv_m)
            gx *= scale
        else:
            g = gy if gamma is None else gy * gamma.reshape(self.pshape)
            sum_g = _sum_over(axes, g)
            sum_gx = _sum_over(axes, g, xhat)
            gx = g - sum_g * inv_m
            gx -= xhat * (sum_gx * inv_m)
            gx *= self.inv_std
            if affine:
                dgamma = _sum_over(param_axes, gy, xhat)
                dbeta = _sum_over(param_axes, gy)
        gx = gx.reshape(self.x_shape) if self.needs_input_grad[0] else None
        if not affine:
            return gx
        return gx, dgamma.reshape(gamma.shape), dbeta.reshape(gamma.shape)


class AffineEvalFunction(Function):
    """Normalisation with fixed statistics (batch norm in eval mode):

        y = (x - mu) * s + beta  with s = gamma / sqrt(var + eps);
        dL/dx = gy * s;  dL/dgamma = sum gy * (x - mu) / sqrt(var + eps);  dL/dbeta = sum gy.
    Options: ``mean``, ``inv_std`` (arrays shaped to broadcast), ``param_axes``.
    """

    def forward(self, x, gamma=None, beta=None):
        pshape = self.mean.shape
        scale = self.inv_std if gamma is None else self.inv_std * gamma.reshape(pshape)
        y = x - self.mean
        if self.requires_grad and gamma is not None and self.needs_input_grad[1]:
            self.xhat = y * self.inv_std
        y *= scale
        if beta is not None:
            y += beta.reshape(pshape)
        self.scale, self.gamma = scale, gamma
        return y

    def backward(self, gy):
        gx = gy * self.scale if self.needs_input_grad[0] else None
        if self.gamma is None:
            return gx
        ax = self.param_axes
        dgamma = _sum_over(ax, gy, self.xhat).reshape(self.gamma.shape) if self.needs_input_grad[1] else None
        dbeta = _sum_over(ax, gy).reshape(self.gamma.shape) if self.needs_input_grad[2] else None
        return gx, dgamma, dbeta


def _affine_args(name: str, x: Tensor, weight: Any, bias: Any, n: int) -> tuple[Tensor, ...]:
    if (weight is None) != (bias is None):
        # One of them missing: the other is fixed at its neutral value.
        dt = x.dtype
        from ...autograd import tensor

        weight = tensor(np.ones(n, dtype=dt)) if weight is None else weight
        bias = tensor(np.zeros(n, dtype=dt)) if bias is None else bias
    if weight is None:
        return ()
    w, b = _as_tensor(weight), _as_tensor(bias)
    if w.size != n or b.size != n:
        raise ShapeError(
            tr("{0}: weight and bias must have {1} elements, got shapes {2} and {3}", name, n, w.shape, b.shape)
        )
    return (w, b)


def batch_norm(
    input: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    *,
    num_batches_tracked: np.ndarray | None = None,
    unbiased_var: bool = True,
    _name: str | None = None,
) -> Tensor:
    """Batch normalisation over (N, [L | H, W]) for each channel of x (N, C, ...).

    Training (or no running statistics): batch statistics, and the running ones are
    updated in place, PyTorch's way:
        running_mean <- (1 - momentum) * running_mean + momentum * mu
        running_var  <- (1 - momentum) * running_var  + momentum * var * M / (M - 1)
    (``momentum`` weighs the NEW batch; unbiased variance; ``momentum=None`` gives the
    cumulative average 1/num_batches_tracked).  Keras' momentum=0.99 weighs the OLD
    average, i.e. PyTorch's momentum=0.01.
    Eval: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.

    Keio lecture 4 ("バッチ正規化の注意点") takes the inference statistics as "the average of
    the training-time (mu, sigma^2)", with sigma^2 the mini-batch variance (divided by M, as the
    E-cert report's eq. 3 prints it): ``momentum=None, unbiased_var=False`` stores exactly that,
    the plain mean over the batches seen of the batch means and of the biased batch variances.
    """
    x = _as_tensor(input)
    name = _name or "batch_norm"
    if x.ndim < 2:
        raise ShapeError(tr("{0} got input of shape {1}; expected (N, C, ...)", name, x.shape))
    C = x.shape[1]
    for label, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if arr is not None and np.shape(arr) != (C,):
            raise ShapeError(tr("{0}: {1} has shape {2} but the input has {3} channels", name, label, np.shape(arr), C))
    params = _affine_args(name, x, weight, bias, C)
    axes = (0, *range(2, x.ndim))
    pshape = (1, C) + (1,) * (x.ndim - 2)
    if training or running_mean is None or running_var is None:
        M = x.size // C
        if training and M <= 1:
            raise KisonetValueError(
                tr("{0}: expected more than 1 value per channel when training, got input of shape {1}", name, x.shape)
            )
        stats: dict[str, np.ndarray] = {}
        out = NormalizeFunction.apply(x, *params, axes=axes, eps=eps, view=None, pshape=pshape, stats=stats)
        if training and running_mean is not None and running_var is not None:
            var = stats["var"].reshape(C) * (M / (M - 1)) if unbiased_var else stats["var"].reshape(C)
            update_running_stats(
                running_mean, running_var, stats["mean"].reshape(C), var, momentum, num_batches_tracked
            )
        return out
    inv_std = (1.0 / np.sqrt(np.asarray(running_var, dtype=x.dtype) + x.dtype.type(eps))).reshape(pshape)
    mean = np.asarray(running_mean, dtype=x.dtype).reshape(pshape)
    return AffineEvalFunction.apply(x, *params, mean=mean, inv_std=inv_std, param_axes=axes)


def update_running_stats(rm, rv, mean, unbiased_var, momentum, num_batches_tracked) -> None:
    """In place: running = (1 - m) running + m batch (PyTorch's EMA), or the cumulative
    average 1/n when ``momentum`` is None; ``num_batches_tracked`` (a 0-d array) counts the update."""
    if num_batches_tracked is not None:
        num_batches_tracked += 1
    if momentum is None:
        n = int(num_batches_tracked) if num_batches_tracked is not None else 1
        factor = 1.0 / n
    else:
        factor = float(momentum)
    rm *= 1.0 - factor
    rm += factor * mean.astype(rm.dtype, copy=False)
    rv *= 1.0 - factor
    rv += factor * unbiased_var.astype(rv.dtype, copy=False)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation: standardise each sample over its last ``len(normalized_shape)``
    axes (independent of the batch size; the notes' "standardise per sample"), then
    ``gamma * xhat + beta`` with gamma, beta of shape ``normalized_shape`` (elementwise)."""
    x = _as_tensor(input)
    ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != ns:
        raise ShapeError(tr("layer_norm(normalized_shape={0}) got input of shape {1}", ns, x.shape))
    n = int(np.prod(ns))
    params = _affine_args("layer_norm", x, weight, bias, n)
    if params and (params[0].shape != ns):
        raise ShapeError(tr("layer_norm: weight must have shape {0}, got {1}", ns, params[0].shape))
    axes = tuple(range(x.ndim - k, x.ndim))
    pshape = (1,) * (x.ndim - k) + ns
    return NormalizeFunction.apply(x, *params, axes=axes, eps=eps, view=None, pshape=pshape)


def instance_norm(
    input: Tensor,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation: standardise each (sample, channel) over its spatial axes
    (style transfer).  With running statistics and ``use_input_stats`` they are updated
    with the batch average of the per-instance statistics (PyTorch); with
    ``use_input_stats=False`` they are used instead (eval with track_running_stats)."""
    x = _as_tensor(input)
    if x.ndim < 3:
        raise ShapeError(tr("instance_norm got input of shape {0}; expected (N, C, H, W) or (N, C, L)", x.shape))
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps, _name="instance_norm")
    N, C = x.shape[:2]
    params = _affine_args("instance_norm", x, weight, bias, C)
    axes = tuple(range(2, x.ndim))
    M = int(np.prod(x.shape[2:]))
    if M <= 1:
        raise KisonetValueError(
            tr("instance_norm: expected more than 1 spatial element per channel, got input of shape {0}", x.shape)
        )
    pshape = (1, C) + (1,) * (x.ndim - 2)
    stats: dict[str, np.ndarray] = {}
    out = NormalizeFunction.apply(x, *params, axes=axes, eps=eps, view=None, pshape=pshape, stats=stats)
    if running_mean is not None and running_var is not None:
        mean, var = stats["mean"], stats["var"]
        update_running_stats(
            running_mean,
            running_var,
            mean.reshape(N, C).mean(0),
            (var.reshape(N, C) * (M / (M - 1))).mean(0),
            momentum,
            None,
        )
    return out


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Group normalisation: split the C channels into ``num_groups`` groups and standardise
    each (sample, group) over its C/G channels and spatial axes; per-channel gamma, beta.
    G = 1 is layer norm over (C, H, W); G = C is instance norm."""
    x = _as_tensor(input)
    if x.ndim < 2:
        raise ShapeError(tr("group_norm got input of shape {0}; expected (N, C, ...)", x.shape))
    N, C = x.shape[:2]
    if C % num_groups:
        raise ShapeError(tr("group_norm: {0} channels cannot be split into {1} groups", C, num_groups))
    params = _affine_args("group_norm", x, weight, bias, C)
    G = num_groups
    rest = x.shape[2:]
    view = (N, G, C // G, *rest)
    axes = tuple(range(2, len(view)))
    pshape = (1, G, C // G) + (1,) * len(rest)
    return NormalizeFunction.apply(x, *params, axes=axes, eps=eps, view=view, pshape=pshape)
