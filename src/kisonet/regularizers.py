"""Norm penalties added to the loss, and the max-norm constraint applied after a step.

    reg = kn.regularizers.L2(1e-4)
    loss = loss_fn(model(x), y) + reg(model)     # E(w) + lambda R(w)
    loss.backward()

A penalty takes a Module (its ``parameters()``), an iterable of tensors or one tensor and returns a
0-d Tensor in the graph, so ``backward`` adds ``lambda dR/dw`` to every ``w.grad``.  As in the notes,
biases and normalisation parameters (every parameter with ``ndim <= 1``) are not penalised unless
``include_bias=True``: penalising them only shifts the fit, it does not reduce complexity.

Each penalty is one fused op per parameter (a single pass over ``w`` forward, one for the
gradient), not a chain of element-wise ops, so adding it to the loss is cheap.

Relation to ``weight_decay``: ``L2(lam)`` added to the loss gives the gradient ``+ lam w``, i.e. the
optimizers' coupled ``weight_decay=lam`` (for SGD the two are identical); ``AdamW``'s decoupled decay
is *not* an L2 penalty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .autograd import Function, Tensor
from .autograd.tensor import tensor
from .errors import KisonetTypeError, KisonetValueError


def _check(owner: str, name: str, value: Any, *, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value != value:
        raise KisonetValueError(f"{owner}: {name} must be a number, got {value!r}")
    if (strict and not value > 0) or (not strict and not value >= 0):
        raise KisonetValueError(f"{owner}: {name} must be {'>' if strict else '>='} 0, got {value!r}")
    return float(value)


def select_parameters(model_or_params: Any, include_bias: bool = False) -> list[Tensor]:
    """The tensors a penalty applies to: all of a Module's parameters (or the given tensors),
    without those of ``ndim <= 1`` (biases, normalisation scales) unless ``include_bias``."""
    if hasattr(model_or_params, "parameters") and callable(model_or_params.parameters):
        params = list(model_or_params.parameters())
    elif isinstance(model_or_params, Tensor):
        params = [model_or_params]
    elif isinstance(model_or_params, Iterable):
        params = list(model_or_params)
    else:
        raise KisonetTypeError(
            f"regularizer: expected a Module, a Tensor or an iterable of Tensors, got {type(model_or_params).__name__}"
        )
    for p in params:
        if not isinstance(p, Tensor):
            raise KisonetTypeError(f"regularizer: expected Tensors, got {type(p).__name__}")
    return [p for p in params if include_bias or p.ndim > 1]


class _SumSquares(Function):
    """y = sum w^2 (one BLAS dot);   dL/dw = 2 gy w."""

    def forward(self, w):
        if self.requires_grad:
            self.w = w
        flat = w.reshape(-1)
        return np.asarray(np.dot(flat, flat), dtype=w.dtype)

    def backward(self, gy):
        return (2 * gy) * self.w


class _SumAbsPow(Function):
    """y = sum |w|^p;   dL/dw = gy p |w|^(p-1) sign(w)  (0 at w = 0: the subgradient PyTorch uses)."""

    def forward(self, w):
        if self.requires_grad:
            self.w = w
        a = np.abs(w)
        if self.p != 1:
            a **= self.p
        return np.asarray(a.sum(), dtype=w.dtype)

    def backward(self, gy):
        w, p = self.w, self.p
        if p == 1:
            return gy * np.sign(w)
        a = np.abs(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            a **= p - 1
        g = np.sign(w) * a
        if p < 1:
            g[w == 0] = 0
        g *= gy * p
        return g


def _total(terms: list[Tensor], like: list[Tensor]) -> Tensor:
    if not terms:
        dtype = like[0].dtype if like else None
        return tensor(0.0, dtype=dtype)
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


class Regularizer:
    """Base class: ``penalty = reg(model_or_params)`` returns a 0-d Tensor to add to the loss."""

    include_bias: bool

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, model_or_params: Any) -> Tensor:
        params = select_parameters(model_or_params, self.include_bias)
        return self.penalty_of(params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    r"""Lasso penalty ``R(w) = lam sum_i |w_i|``;  gradient ``lam sign(w)`` (0 at 0).  Drives weights to exactly 0."""

    def __init__(self, lam: float, include_bias: bool = False) -> None:
        self.lam = _check("L1", "lam", lam)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        return _total([_SumAbsPow.apply(p, p=1) for p in params], params) * self.lam


class L2(Regularizer):
    r"""Ridge penalty ``R(w) = (lam / 2) ||w||_2^2 = (lam / 2) sum_i w_i^2``;  gradient ``lam w``
    (the coupled ``weight_decay=lam`` of the optimizers)."""

    def __init__(self, lam: float, include_bias: bool = False) -> None:
        self.lam = _check("L2", "lam", lam)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        return _total([_SumSquares.apply(p) for p in params], params) * (self.lam / 2)


class ElasticNet(Regularizer):
    r"""Elastic net ``R(w) = l1 sum_i |w_i| + (l2 / 2) sum_i w_i^2`` (= ``L1(l1)`` + ``L2(l2)``)."""

    def __init__(self, l1: float, l2: float, include_bias: bool = False) -> None:
        self.l1 = _check("ElasticNet", "l1", l1)
        self.l2 = _check("ElasticNet", "l2", l2)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        terms = [_SumAbsPow.apply(p, p=1) * self.l1 + _SumSquares.apply(p) * (self.l2 / 2) for p in params]
        return _total(terms, params)


class Lp(Regularizer):
    r"""``R(w) = (lam / p) sum_i |w_i|^p`` for ``p > 0``;  gradient ``lam |w|^(p-1) sign(w)``.

    The ``1/p`` makes ``Lp(1, lam)`` equal ``L1(lam)`` and ``Lp(2, lam)`` equal ``L2(lam)``.  For
    ``p < 1`` the penalty is non-convex and its gradient is taken as 0 at ``w = 0``.
    """

    def __init__(self, p: float, lam: float, include_bias: bool = False) -> None:
        self.p = _check("Lp", "p", p, strict=True)
        self.lam = _check("Lp", "lam", lam)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        if self.p == 2:
            terms = [_SumSquares.apply(p) for p in params]
        else:
            terms = [_SumAbsPow.apply(p, p=self.p) for p in params]
        return _total(terms, params) * (self.lam / self.p)


class MaxNorm:
    r"""Max-norm constraint, applied after ``optimizer.step()``: ``w_j <- w_j min(1, c / ||w_j||)``.

    ``w_j`` is the slice of a weight feeding output unit ``j``: the weight's norm is taken over
    ``axis`` (default: every axis but 0, i.e. per output unit for kisonet's ``(out, in, ...)``
    layout), as in Srivastava et al. 2014's dropout nets.  ``norm_type=float('inf')`` constrains
    the L-infinity norm instead, i.e. clips every weight to ``[-c, c]``.  This is a projection, not
    a penalty: nothing is added to the loss.

        mn = kn.regularizers.MaxNorm(3.0)
        opt.step(); mn.apply(model)
    """

    def __init__(
        self,
        max_norm: float,
        axis: int | tuple[int, ...] | None = None,
        norm_type: float = 2.0,
        include_bias: bool = False,
    ) -> None:
        self.max_norm = _check("MaxNorm", "max_norm", max_norm, strict=True)
        self.norm_type = _check("MaxNorm", "norm_type", norm_type, strict=True)
        self.axis = axis
        self.include_bias = include_bias

    def apply(self, model_or_params: Any) -> None:
        """Rescale, in place, every selected weight whose norm exceeds ``max_norm``."""
        c = self.max_norm
        for p in select_parameters(model_or_params, self.include_bias):
            w = p.data
            if self.norm_type == float("inf"):
                np.clip(w, -c, c, out=w)
                continue
            axis = self.axis if self.axis is not None else tuple(range(1, w.ndim))
            if self.norm_type == 2:
                norms = np.sqrt(np.sum(w * w, axis=axis, keepdims=True))
            else:
                norms = np.sum(np.abs(w) ** self.norm_type, axis=axis, keepdims=True) ** (1 / self.norm_type)
            # 1e-7 as torch.renorm: keeps a zero row at zero instead of dividing by 0.
            scale = np.minimum(1.0, c / (norms + 1e-7)).astype(w.dtype, copy=False)
            w *= scale
            p._version += 1

    __call__ = apply

    def __repr__(self) -> str:
        return f"MaxNorm(max_norm={self.max_norm}, axis={self.axis}, norm_type={self.norm_type})"
