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
from .lang import tr
from .validation import check_float, check_positive, check_type


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
            tr(
                "regularizer: expected a Module, a Tensor or an iterable of Tensors, got {0}",
                type(model_or_params).__name__,
            )
        )
    for p in params:
        check_type("regularizer", "parameters", p, Tensor, "Tensors")
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
    r"""Lasso penalty ``R(w) = lam sum_i |w_i|``;  gradient ``lam sign(w)`` (0 at 0).  Drives weights to exactly 0.

    ``half=True`` gives Keio lecture 4's form ``(lam / 2) ||w||_1`` (gradient ``(lam / 2) sign(w)``):
    the deck ("正則化 (regularization)") prints the lasso as
    ``E~(w) = 1/2 sum_n (y_n - y^_n)^2 + (lambda/2) ||w||`` ("L1ノルムと呼ぶ"), with the same 1/2 as
    the ridge penalty.  The E-cert DAY 2 deck ("L1正則化", "回帰と正則化項の組み合わせ") prints
    ``lambda ||w||_1``, the default.  ``L1(lam, half=True)`` equals ``L1(lam / 2)``.
    """

    def __init__(self, lam: float, include_bias: bool = False, *, half: bool = False) -> None:
        self.lam = check_positive("L1", "lam", lam, allow_zero=True)
        self.include_bias = include_bias
        self.half = bool(half)

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        return _total([_SumAbsPow.apply(p, p=1) for p in params], params) * (self.lam / 2 if self.half else self.lam)


class L2(Regularizer):
    r"""Ridge penalty ``R(w) = (lam / 2) ||w||_2^2 = (lam / 2) sum_i w_i^2``;  gradient ``lam w``
    (the coupled ``weight_decay=lam`` of the optimizers)."""

    def __init__(self, lam: float, include_bias: bool = False) -> None:
        self.lam = check_positive("L2", "lam", lam, allow_zero=True)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        return _total([_SumSquares.apply(p) for p in params], params) * (self.lam / 2)


class ElasticNet(Regularizer):
    r"""Elastic net ``R(w) = l1 sum_i |w_i| + (l2 / 2) sum_i w_i^2`` (= ``L1(l1)`` + ``L2(l2)``)."""

    def __init__(self, l1: float, l2: float, include_bias: bool = False) -> None:
        self.l1 = check_positive("ElasticNet", "l1", l1, allow_zero=True)
        self.l2 = check_positive("ElasticNet", "l2", l2, allow_zero=True)
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
        self.p = check_positive("Lp", "p", p)
        self.lam = check_positive("Lp", "lam", lam, allow_zero=True)
        self.include_bias = include_bias

    def penalty_of(self, params: list[Tensor]) -> Tensor:
        if self.p == 2:
            terms = [_SumSquares.apply(p) for p in params]
        else:
            terms = [_SumAbsPow.apply(p, p=self.p) for p in params]
        return _total(terms, params) * (self.lam / self.p)


# --------------------------------------------------------------------------------------
# the norms themselves (E-cert DAY 2 "ノルムとは"; E-cert report eq. 13)


class _PNorm(Function):
    """y = (sum |x|^p)^(1/p), p > 0;   dL/dx = gy sign(x) (|x| / y)^(p-1)  (0 where y = 0, and
    where x = 0 for p < 1)."""

    def forward(self, x):
        a = np.abs(x)
        if self.p == 2:
            flat = x.reshape(-1)
            y = np.sqrt(np.dot(flat, flat))
        else:
            y = np.sum(a**self.p) ** (1.0 / self.p)
        if self.requires_grad:
            self.x, self.y = x, y
        return np.asarray(y, dtype=x.dtype)

    def backward(self, gy):
        x, y, p = self.x, self.y, self.p
        if y == 0:
            return np.zeros_like(x)
        if p == 1:
            return gy * np.sign(x)
        if p == 2:
            return gy * (x / y)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.sign(x) * (np.abs(x) / y) ** (p - 1)
        g[x == 0] = 0
        return (gy * g).astype(x.dtype, copy=False)


class _CountNonzero(Function):
    """y = #{i : x_i != 0};   piecewise constant, so dL/dx = 0."""

    saves_inputs = False

    def forward(self, x):
        self.shape = x.shape
        return np.asarray(np.count_nonzero(x), dtype=x.dtype if x.dtype.kind == "f" else np.float32)

    def backward(self, gy):
        return np.zeros(self.shape, dtype=gy.dtype)


def _norm_input(x: Any, include_bias: bool) -> Tensor:
    """One tensor: ``x`` itself, or the selected parameters of a Module/iterable, flattened and joined."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray | list | tuple) and not any(isinstance(t, Tensor) for t in x):
        return tensor(np.asarray(x))
    params = select_parameters(x, include_bias)
    if not params:
        raise KisonetValueError(tr("norm: no parameters to take the norm of (biases are left out unless include_bias)"))
    from .autograd.ops import concatenate

    return params[0].reshape(-1) if len(params) == 1 else concatenate([p.reshape(-1) for p in params])


def lp_norm(x: Any, p: float, include_bias: bool = False) -> Tensor:
    r"""The L_p norm ``||x||_p = (sum_k |x_k|^p)^(1/p)`` (p > 0) as a 0-d Tensor in the graph.

    E-cert DAY 2, "ノルムとは": ``\|x\|_p = (\sum_{k=1}^n |x_k|^p)^{1/p}``; E-cert report eq. 13
    (the p-norm "used as the regularisation term").  ``x``: a Tensor or array (all its elements),
    or a Module / iterable of Tensors (their weights joined into one vector; biases only with
    ``include_bias``).  Gradient ``sign(x) (|x| / ||x||_p)^(p-1)`` (0 at x = 0).  Not the penalty
    :class:`Lp`, which is ``(lam / p) sum |w|^p``.  For p < 1 this is a quasi-norm.
    """
    p = check_float("lp_norm", "p", p, 0.0, allow_inf=True)
    if p == float("inf"):
        return linf_norm(x, include_bias)
    return _PNorm.apply(_norm_input(x, include_bias), p=p)


def l1_norm(x: Any, include_bias: bool = False) -> Tensor:
    r"""``||x||_1 = sum_k |x_k|`` (E-cert DAY 2 "L_1 ノルム（マンハッタン距離）"); see :func:`lp_norm`."""
    return _PNorm.apply(_norm_input(x, include_bias), p=1.0)


def l2_norm(x: Any, include_bias: bool = False) -> Tensor:
    r"""``||x||_2 = sqrt(sum_k x_k^2)`` (E-cert DAY 2 "L_2 ノルム（ユークリッド距離）"); gradient
    ``x / ||x||_2`` (0 at x = 0, as PyTorch's ``vector_norm``); see :func:`lp_norm`."""
    return _PNorm.apply(_norm_input(x, include_bias), p=2.0)


def linf_norm(x: Any, include_bias: bool = False) -> Tensor:
    r"""``||x||_inf = max_k |x_k|`` (E-cert DAY 2 "L_∞ ノルム（maxノルム、最大絶対値）");
    the gradient ``sign(x)`` goes to the entries of largest magnitude (split evenly among ties)."""
    from .autograd.ops import abs as abs_
    from .autograd.ops import max as max_

    return max_(abs_(_norm_input(x, include_bias)))


def l0_norm(x: Any, include_bias: bool = False) -> Tensor:
    r"""``||x||_0 = sum_k delta(x_k)``, ``delta(i) = 1 (i != 0), 0 (i = 0)``: the number of non-zero
    entries (E-cert DAY 2 "L_0 ノルム（非ゼロの個数）"; not a norm in the strict sense).  Piecewise
    constant: its gradient is 0 everywhere, which is why L1 stands in for it as a sparsity penalty."""
    return _CountNonzero.apply(_norm_input(x, include_bias))


def norm(x: Any, p: float = 2.0, include_bias: bool = False) -> Tensor:
    """``||x||_p`` for ``p`` = 0 (:func:`l0_norm`), ``float('inf')`` (:func:`linf_norm`) or any
    ``p > 0`` (:func:`lp_norm`); as ``torch.linalg.vector_norm(x, ord=p)`` for a tensor."""
    p = check_float("norm", "p", p, 0.0, low_open=False, allow_inf=True)
    if p == 0:
        return l0_norm(x, include_bias)
    return lp_norm(x, p, include_bias)


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
        self.max_norm = check_positive("MaxNorm", "max_norm", max_norm)
        self.norm_type = check_float("MaxNorm", "norm_type", norm_type, 0.0, allow_inf=True)
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


# --------------------------------------------------------------------------------------
# parameter tying and activity (sparse representation) penalties


class _SumSqDiff(Function):
    """y = sum (a - b)^2;   dL/da = 2 gy (a - b),  dL/db = -2 gy (a - b)."""

    def forward(self, a, b):
        d = a - b
        if self.requires_grad:
            self.d = d
        flat = d.reshape(-1)
        return np.asarray(np.dot(flat, flat), dtype=a.dtype)

    def backward(self, gy):
        g = (2 * gy) * self.d
        return (g if self.needs_input_grad[0] else None), (-g if self.needs_input_grad[1] else None)


def _param_list(owner: str, x: Any) -> list[tuple[str, Tensor]]:
    if hasattr(x, "named_parameters") and callable(x.named_parameters):
        return list(x.named_parameters())
    if isinstance(x, Tensor):
        return [("0", x)]
    if isinstance(x, Iterable):
        out = []
        for i, p in enumerate(x):
            out.append((str(i), check_type(owner, f"parameters[{i}]", p, Tensor, "a Tensor")))
        return out
    raise KisonetTypeError(
        tr("{0}: expected a Module, a Tensor or an iterable of Tensors, got {1}", owner, type(x).__name__)
    )


def tying_penalty(params_a: Any, params_b: Any, lam: float) -> Tensor:
    r"""Soft parameter tying: ``lam * sum_k ||w_A^k - w_B^k||^2`` over paired tensors.

    ``params_a``/``params_b``: Modules (their parameters, paired in order), tensors or
    iterables of tensors of matching shapes.  Gradients: ``2 lam (w_A - w_B)`` for A and
    the opposite for B (none for a side that does not require grad, e.g. a frozen model
    whose weights act as the prior mean).
    """
    lam = check_positive("tying_penalty", "lam", lam, allow_zero=True)
    a, b = _param_list("tying_penalty", params_a), _param_list("tying_penalty", params_b)
    if len(a) != len(b):
        raise KisonetValueError(tr("tying_penalty: {0} tensors on side A but {1} on side B", len(a), len(b)))
    terms = []
    for (na, pa), (nb, pb) in zip(a, b, strict=True):
        if pa.shape != pb.shape:
            raise KisonetValueError(
                tr("tying_penalty: {0!r} has shape {1} but its partner {2!r} has {3}", na, pa.shape, nb, pb.shape)
            )
        terms.append(_SumSqDiff.apply(pa, pb))
    return _total(terms, [p for _, p in a]) * lam


class TiedPenalty:
    r"""``R = lam * sum_k ||w_A^k - w_B^k||^2`` between two models (soft tying, as in the notes'
    parameter tying: two models for similar tasks kept close rather than identical).

    Called with any argument (the Trainer passes the model it trains) it returns the
    penalty, so ``Trainer(model_a, ..., regularizer=TiedPenalty(model_a, model_b, 1e-2))``
    works.  ``include_bias=False`` skips parameters with ``ndim <= 1``; ``names`` restricts
    the tying to parameters whose name (in model A) starts with one of the given prefixes.
    """

    def __init__(
        self,
        model_a: Any,
        model_b: Any,
        lam: float,
        include_bias: bool = True,
        names: Iterable[str] | None = None,
    ) -> None:
        self.lam = check_positive("TiedPenalty", "lam", lam, allow_zero=True)
        a, b = _param_list("TiedPenalty", model_a), _param_list("TiedPenalty", model_b)
        if len(a) != len(b):
            raise KisonetValueError(tr("TiedPenalty: model A has {0} parameters but model B has {1}", len(a), len(b)))
        prefixes = None if names is None else tuple(names)
        pairs = []
        for (na, pa), (nb, pb) in zip(a, b, strict=True):
            if not include_bias and pa.ndim <= 1:
                continue
            if prefixes is not None and not na.startswith(prefixes):
                continue
            if pa.shape != pb.shape:
                raise KisonetValueError(
                    tr("TiedPenalty: {0!r} has shape {1} but {2!r} has {3}", na, pa.shape, nb, pb.shape)
                )
            pairs.append((pa, pb))
        if not pairs:
            raise KisonetValueError(tr("TiedPenalty: no parameter pairs selected"))
        self.pairs = pairs

    def __call__(self, model: Any = None) -> Tensor:
        terms = [_SumSqDiff.apply(pa, pb) for pa, pb in self.pairs]
        return _total(terms, [pa for pa, _ in self.pairs]) * self.lam

    def distance(self) -> float:
        """The current ``sum_k ||w_A^k - w_B^k||^2`` (without lam)."""
        return float(sum(float(np.sum((pa.data - pb.data) ** 2)) for pa, pb in self.pairs))

    def __repr__(self) -> str:
        return f"TiedPenalty(lam={self.lam}, pairs={len(self.pairs)})"


class ActivityL1:
    r"""L1 activity penalty for sparse representations: ``R = lam * (1/N) sum_n ||h_n||_1``,
    where h_n is the output of each watched layer for sample n (summed over layers).

    Forward hooks on the watched modules keep their outputs of the current training
    forward pass; calling the penalty (the Trainer calls ``regularizer(model)`` after the
    forward pass) turns them into the penalty, whose gradient ``lam sign(h) / N`` flows
    back through the layers.  Watch the activation modules (e.g. the ReLUs) to make the
    representation itself sparse.  Outputs recorded with a graph are kept until the penalty
    is called, so call it once per training forward pass (the Trainer does), or use
    ``lam=0`` / :func:`zero_fraction` to only measure.

    Args:
        layers: a Module, a list of Modules, or names of sub-modules of ``model``
            (``'layers.2'``, as in ``model.named_modules()``).
        lam: strength, >= 0 (0 only records the statistics).
        model: the model the names refer to (needed for names).

    The hooks also count zero activations (``|h| <= zero_tol``) in every forward pass,
    training or not: :meth:`zero_fraction` reports the fraction per layer since the last
    :meth:`reset_stats`.  :meth:`remove` detaches the hooks.
    """

    def __init__(self, layers: Any, lam: float, model: Any = None, zero_tol: float = 0.0) -> None:
        self.lam = check_positive("ActivityL1", "lam", lam, allow_zero=True)
        self.zero_tol = check_positive("ActivityL1", "zero_tol", zero_tol, allow_zero=True)
        mods = self._resolve(layers, model)
        self.names = [n for n, _ in mods]
        self._outputs: list[Tensor] = []
        self._zeros = dict.fromkeys(self.names, 0)
        self._counts = dict.fromkeys(self.names, 0)
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in mods]

    @staticmethod
    def _resolve(layers: Any, model: Any) -> list[tuple[str, Any]]:
        items = [layers] if isinstance(layers, str) or hasattr(layers, "register_forward_hook") else list(layers)
        if not items:
            raise KisonetValueError(tr("ActivityL1: no layers given"))
        named = dict(model.named_modules()) if model is not None else None
        out = []
        for i, it in enumerate(items):
            if isinstance(it, str):
                if named is None:
                    raise KisonetValueError(tr("ActivityL1: layer name {0!r} needs model=", it))
                if it not in named:
                    from .errors import unknown_name

                    raise unknown_name(tr("layer"), it, [n for n in named if n])
                out.append((it, named[it]))
            elif hasattr(it, "register_forward_hook"):
                name = next((n for n, m in named.items() if m is it), None) if named else None
                out.append((name or f"{i}:{type(it).__name__}", it))
            else:
                raise KisonetTypeError(tr("ActivityL1: expected Modules or layer names, got {0}", type(it).__name__))
        return out

    def _hook(self, name: str):
        from .autograd import is_grad_enabled

        def hook(module: Any, args: Any, out: Any) -> None:
            if not isinstance(out, Tensor):
                return
            h = out.data
            if self.zero_tol > 0:
                self._zeros[name] += int(np.count_nonzero(np.abs(h) <= self.zero_tol))
            else:
                self._zeros[name] += int(h.size - np.count_nonzero(h))
            self._counts[name] += int(h.size)
            if self.lam > 0 and out.requires_grad and is_grad_enabled():
                self._outputs.append(out)

        return hook

    def __call__(self, model: Any = None) -> Tensor:
        """The penalty of the outputs recorded since the last call (0 if none), then forgets them."""
        outs, self._outputs = self._outputs, []
        terms = []
        for h in outs:
            n = h.shape[0] if h.ndim else 1
            terms.append(_SumAbsPow.apply(h, p=1) * (1.0 / n))
        return _total(terms, outs) * self.lam

    def zero_fraction(self) -> dict[str, float]:
        """Fraction of (|h| <= zero_tol) activations per watched layer since :meth:`reset_stats`."""
        return {n: (self._zeros[n] / self._counts[n] if self._counts[n] else float("nan")) for n in self.names}

    def reset_stats(self) -> None:
        self._zeros = dict.fromkeys(self.names, 0)
        self._counts = dict.fromkeys(self.names, 0)

    def remove(self) -> None:
        """Detach the hooks (the penalty then records nothing)."""
        for h in self._handles:
            h()
        self._handles = []
        self._outputs = []

    def __repr__(self) -> str:
        return f"ActivityL1(lam={self.lam}, layers={self.names})"


def zero_fraction(model: Any, layers: Any, X: Any, batch_size: int = 256, zero_tol: float = 0.0) -> dict[str, float]:
    """Fraction of zero activations (``|h| <= zero_tol``) of ``layers`` of ``model`` over ``X``,
    in eval mode without a graph: the sparsity report of a representation."""
    from .autograd import no_grad

    probe = ActivityL1(layers, 0.0, model=model, zero_tol=zero_tol)
    X = np.asarray(getattr(X, "data", X))
    if X.dtype.kind == "f" and X.dtype != np.float32:
        X = X.astype(np.float32)
    was = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                model(Tensor._make(X[i : i + batch_size], False, None))
    finally:
        model.train(was)
        probe.remove()
    return probe.zero_fraction()
