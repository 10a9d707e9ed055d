"""Loss functions, forward beside backward (``reduction='mean'|'sum'|'none'``).

With ``'mean'`` or ``'sum'`` a loss is a 0-d tensor; ``'none'`` gives one loss
per sample (per element for the elementwise losses) that a caller can weight.
Inputs may be Tensors or ndarrays; targets may be Tensors or ndarrays and are
treated as constants (no gradient flows into a target).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.tensor import as_tensor
from ...errors import KisonetTypeError, KisonetValueError, ShapeError
from ...lang import tr
from ...validation import check_choice, check_probability

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_loss",
    "mae_loss",
    "mse_loss",
    "nll_loss",
    "squared_error",
]

_REDUCTIONS = ("mean", "sum", "none")
_SMOOTHING_FORMS = ("pytorch", "notes")


# ----------------------------------------------------------------------------
# helpers


def _check_reduction(name: str, reduction: str) -> str:
    return check_choice(name, "reduction", reduction, _REDUCTIONS)


def _input(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _float_target(name: str, target: Any, like: Tensor) -> np.ndarray:
    """The target as an array of the input's float dtype and shape."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.shape != like.shape:
        raise ShapeError(tr("{0}: target of shape {1} does not match input of shape {2}", name, t.shape, like.shape))
    return t.astype(like.dtype, copy=False)


def _const(a: np.ndarray) -> Tensor:
    # Wrap as is: as_tensor would round a float64 target through the default dtype.
    return Tensor._make(a, False, None)


def _optional(name: str, what: str, w: Any, like: Tensor, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    if w is None:
        return None
    w = w._data if isinstance(w, Tensor) else np.asarray(w)
    w = w.astype(like.dtype, copy=False)
    if shape is not None and w.shape != shape:
        raise ShapeError(tr("{0}: {1} of shape {2} should have shape {3}", name, what, w.shape, shape))
    if shape is None:
        try:
            np.broadcast_shapes(w.shape, like.shape)
        except ValueError:
            raise ShapeError(
                tr("{0}: {1} of shape {2} does not broadcast to input shape {3}", name, what, w.shape, like.shape)
            ) from None
    return w


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ----------------------------------------------------------------------------
# regression losses (composed from engine ops; their backward is the ops')


def squared_error(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002 - PyTorch's name
    """The notes' sum-of-squares loss:  L_n = 1/2 ||y_n - t_n||^2  summed over the
    outputs of sample n (all axes but the first), then averaged over the batch
    (``'mean'``), summed (``'sum'``) or returned per sample (``'none'``).

    Its gradient is (y - t)/N, the same "output minus target" as softmax
    cross-entropy.  PyTorch's :func:`mse_loss` instead averages over every element
    and has no 1/2: mse_loss = 2 * squared_error / n_outputs.
    """
    _check_reduction("squared_error", reduction)
    y = _input(input)
    d = y - _const(_float_target("squared_error", target, y))
    per = 0.5 * (d * d)
    if per.ndim > 1:
        per = per.sum(axis=tuple(range(1, per.ndim)))
    return _reduce(per, reduction)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """PyTorch's mean squared error: mean over all elements of (y - t)^2."""
    _check_reduction("mse_loss", reduction)
    y = _input(input)
    d = y - _const(_float_target("mse_loss", target, y))
    return _reduce(d * d, reduction)


def mae_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean absolute error: mean over all elements of |y - t| (PyTorch's ``l1_loss``);
    the subgradient at y = t is 0."""
    _check_reduction("mae_loss", reduction)
    y = _input(input)
    return _reduce(abs(y - _const(_float_target("mae_loss", target, y))), reduction)


l1_loss = mae_loss


# ----------------------------------------------------------------------------
# classification: fused softmax cross-entropy and NLL


def log_softmax_rows(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log p, p) for logits z (M, C), with the max shift so exp never overflows."""
    s = z - z.max(axis=1, keepdims=True)
    e = np.exp(s)
    se = e.sum(axis=1, keepdims=True)
    s -= np.log(se)
    e /= se
    return s, e


class CrossEntropy(Function):
    """Softmax cross-entropy from logits z (M, C), one fused node.

    With Q (M, C) the weighted target distribution (Q_ic = w_c q_ic),
    log p = z - logsumexp(z) and S_i = sum_c Q_ic::

        L_i = -sum_c Q_ic log p_ic,      dL_i/dz_i = S_i p_i - Q_i

    which is the familiar p - q for an unweighted target (S_i = 1).  The mean
    divides by ``norm`` (N, or the sum of the targets' class weights).
    Index targets without smoothing never build Q (``idx`` and ``r``, the
    per-row weight w_{y_i}, suffice).
    """

    idx: np.ndarray | None  # class indices (M,), or None with Q
    r: np.ndarray | None  # per-row weight (M,) for the index path
    Q: np.ndarray | None
    norm: float
    reduction: str

    def forward(self, z):
        logp, p = log_softmax_rows(z)
        if self.Q is None:
            rows = np.arange(z.shape[0])
            per = logp[rows, self.idx]
            per *= -self.r
        else:
            per = -np.einsum("ij,ij->i", self.Q, logp)
        if self.requires_grad:
            self.p = p
        if self.reduction == "none":
            return per
        total = per.sum(dtype=z.dtype)
        return total / z.dtype.type(self.norm) if self.reduction == "mean" else total

    def backward(self, gy):
        p = self.p
        if self.Q is None:
            g = p * self.r[:, None]
            g[np.arange(p.shape[0]), self.idx] -= self.r
        else:
            g = p * self.Q.sum(axis=1, keepdims=True)
            g -= self.Q
        if self.reduction == "none":
            g *= gy[:, None]
        else:
            g *= gy / self.norm if self.reduction == "mean" else gy
        return g


class NLL(Function):
    """Negative log-likelihood of log-probabilities x (M, C) at class indices y:
    L_i = -w_{y_i} x_{i, y_i};   dL/dx_ic = -w_{y_i} [c = y_i]."""

    idx: np.ndarray
    r: np.ndarray
    norm: float
    reduction: str

    def forward(self, x):
        self.shape = x.shape
        per = x[np.arange(x.shape[0]), self.idx] * -self.r
        if self.reduction == "none":
            return per
        total = per.sum(dtype=x.dtype)
        return total / x.dtype.type(self.norm) if self.reduction == "mean" else total

    def backward(self, gy):
        g = np.zeros(self.shape, dtype=gy.dtype)
        scale = gy if self.reduction == "none" else (gy / self.norm if self.reduction == "mean" else gy)
        g[np.arange(self.shape[0]), self.idx] = -self.r * scale
        return g


def _rows(name: str, x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """Logits (N, C, d1, ...) -> rows (N*d1*..., C) with the class axis last; also the
    per-row output shape (N, d1, ...).  A 1-D input (C,) is one sample."""
    if x.ndim == 0:
        raise ShapeError(tr("{0}: input must have a class axis, got a 0-d tensor", name))
    if x.ndim == 1:
        return x.reshape(1, x.shape[0]), ()
    if x.ndim == 2:
        return x, (x.shape[0],)
    perm = (0, *range(2, x.ndim), 1)
    out_shape = (x.shape[0], *x.shape[2:])
    return x.permute(*perm).reshape(-1, x.shape[1]), out_shape


def _class_indices(
    name: str, target: np.ndarray, out_shape: tuple[int, ...], n_classes: int, ignore_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validated class indices (M,) (ignored entries set to 0) and the validity mask."""
    if target.shape != out_shape:
        raise ShapeError(
            tr(
                (
                    "{0}: class-index target of shape {1} does not match the input (expected shape "
                    "{2}: the input's shape without the class axis)"
                ),
                name,
                target.shape,
                out_shape,
            )
        )
    y = target.reshape(-1).astype(np.int64, copy=False)
    valid = y != ignore_index
    bad = valid & ((y < 0) | (y >= n_classes))
    if bad.any():
        raise KisonetValueError(
            tr(
                "{0}: class labels must be in [0, {1}] for {2} classes, got {3} (min {4}, max {5})",
                name,
                n_classes - 1,
                n_classes,
                int(y[bad][0]),
                int(y[valid].min()),
                int(y[valid].max()),
            )
        )
    return np.where(valid, y, 0), valid


def _target_array(name: str, target: Any) -> np.ndarray:
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "biuf":
        raise KisonetTypeError(tr("{0}: target of dtype {1} is not numeric", name, t.dtype))
    return t


def cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    smoothing_form: str = "pytorch",
) -> Tensor:
    """Softmax cross-entropy from logits (N, C) or (N, C, d1, ...), PyTorch's semantics.

    ``target``: class indices (integer array of shape (N, d1, ...)) or
    probabilities (float, the input's shape: one-hot or soft labels).

    L_n = -sum_c w_c q_nc log softmax(z_n)_c,  gradient (softmax - q)/N per sample
    (fused: the log-softmax uses the max shift, so +-1000 logits are exact).

    * ``weight`` (C,): class weights.  For index targets 'mean' divides by
      sum_n w_{y_n} (PyTorch's weighted mean); for probability targets by N.
    * ``ignore_index``: index targets equal to it contribute nothing and are not counted.
    * ``label_smoothing=eps``: ``smoothing_form='pytorch'`` (default) uses
      q = (1-eps) onehot + eps/K; ``'notes'`` the lecture notes' q = 1-eps on the
      true class and eps/(K-1) on each other class.
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    check_choice(name, "smoothing_form", smoothing_form, _SMOOTHING_FORMS)
    check_probability(name, "label_smoothing", label_smoothing)
    x = _input(input)
    if x.dtype.kind != "f":
        raise KisonetTypeError(tr("{0}: logits must be floating, got dtype {1}", name, x.dtype))
    rows, out_shape = _rows(name, x)
    m, k = rows.shape
    dtype = x.dtype
    w = _optional(name, "weight", weight, x, (k,))
    t = _target_array(name, target)
    eps = float(label_smoothing)
    if t.dtype.kind == "f":
        # probabilities of the input's shape
        if t.shape != x.shape:
            raise ShapeError(
                tr(
                    (
                        "{0}: probability target of shape {1} does not match input of shape {2} (give "
                        "class indices as integers, or probabilities of the input's shape)"
                    ),
                    name,
                    t.shape,
                    x.shape,
                )
            )
        q = t.astype(dtype, copy=False)
        if x.ndim > 2:
            q = np.moveaxis(q, 1, -1)
        q = q.reshape(m, k)
        if eps > 0:
            q = q * dtype.type(1 - eps) + (
                dtype.type(eps / k) if smoothing_form == "pytorch" else (1 - q) * dtype.type(eps / max(k - 1, 1))
            )
        Q = q * w if w is not None else q
        fn_opts = dict(idx=None, r=None, Q=np.ascontiguousarray(Q, dtype=dtype), norm=float(m))
    else:
        if t.dtype.kind == "b":
            raise KisonetTypeError(
                tr("{0}: target is boolean; give class indices (int) or probabilities (float)", name)
            )
        idx, valid = _class_indices(name, t, out_shape, k, ignore_index)
        r = valid.astype(dtype)
        if w is not None:
            r *= w[idx]
        norm = float(r.sum())
        if eps == 0:
            fn_opts = dict(idx=idx, r=r, Q=None, norm=norm)
        else:
            if smoothing_form == "pytorch":
                q = np.full((m, k), eps / k, dtype=dtype)
                q[np.arange(m), idx] += dtype.type(1 - eps)
            else:
                q = np.full((m, k), eps / max(k - 1, 1), dtype=dtype)
                q[np.arange(m), idx] = dtype.type(1 - eps)
            q *= valid[:, None]
            if w is not None:
                q *= w
            fn_opts = dict(idx=None, r=None, Q=q, norm=norm)
    out = CrossEntropy.apply(rows, reduction=reduction, **fn_opts)
    if reduction == "none":
        out = out.reshape(*out_shape) if out_shape else out.reshape(())
    return out


def nll_loss(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...) at class
    indices: L_n = -w_{y_n} x_{n, y_n}; 'mean' divides by sum_n w_{y_n}.
    ``nll_loss(log_softmax(z), y)`` equals ``cross_entropy(z, y)``."""
    name = "nll_loss"
    _check_reduction(name, reduction)
    x = _input(input)
    rows, out_shape = _rows(name, x)
    m, k = rows.shape
    w = _optional(name, "weight", weight, x, (k,))
    t = _target_array(name, target)
    if t.dtype.kind not in "iu":
        raise KisonetTypeError(tr("{0}: target must be integer class indices, got dtype {1}", name, t.dtype))
    idx, valid = _class_indices(name, t, out_shape, k, ignore_index)
    r = valid.astype(x.dtype)
    if w is not None:
        r *= w[idx]
    out = NLL.apply(rows, idx=idx, r=r, norm=float(r.sum()), reduction=reduction)
    if reduction == "none":
        out = out.reshape(*out_shape) if out_shape else out.reshape(())
    return out


# ----------------------------------------------------------------------------
# binary classification


class BinaryCrossEntropy(Function):
    """L = -w (t log p + (1 - t) log(1 - p)), each log clamped at -100 (as PyTorch, so
    p = 0 or 1 gives a finite loss);   dL/dp = w (p - t) / max(p (1 - p), 1e-12)."""

    t: np.ndarray
    w: np.ndarray | None

    def forward(self, p):
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100)
            l1p = np.maximum(np.log1p(-p), -100)
        loss = -(self.t * lp + (1 - self.t) * l1p)
        if self.w is not None:
            loss *= self.w
        if self.requires_grad:
            self.p = p
        return loss.astype(p.dtype, copy=False)

    def backward(self, gy):
        p = self.p
        g = (p - self.t) / np.maximum(p * (1 - p), p.dtype.type(1e-12))
        if self.w is not None:
            g *= self.w
        return g * gy


class BCEWithLogits(Function):
    """Binary cross-entropy on logits z, target y, log-weight l = 1 + (pos_weight - 1) y:

        L = (1 - y) z + l softplus(-z),   softplus(-z) = log(1 + e^-|z|) + max(-z, 0)

    (= max(z, 0) - z y + log(1 + e^-|z|) without pos_weight), stable at any z;
        dL/dz = (1 - y) + l (sigmoid(z) - 1)   (= sigmoid(z) - y without pos_weight).
    """

    t: np.ndarray
    w: np.ndarray | None
    pos_weight: np.ndarray | None

    def forward(self, z):
        t = self.t
        sp = np.log1p(np.exp(-np.abs(z)))
        sp += np.maximum(-z, 0)  # softplus(-z)
        if self.pos_weight is None:
            loss = (1 - t) * z + sp
        else:
            loss = (1 - t) * z + (1 + (self.pos_weight - 1) * t) * sp
        if self.w is not None:
            loss *= self.w
        if self.requires_grad:
            self.z = z
        return loss.astype(z.dtype, copy=False)

    def backward(self, gy):
        z, t = self.z, self.t
        s = np.tanh(z * z.dtype.type(0.5))
        s *= 0.5
        s += 0.5  # sigmoid(z), stable
        if self.pos_weight is None:
            g = s - t
        else:
            g = (1 - t) + (1 + (self.pos_weight - 1) * t) * (s - 1)
        if self.w is not None:
            g *= self.w
        return g * gy


def binary_cross_entropy(input: Any, target: Any, weight: Any | None = None, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Binary cross-entropy of probabilities p in [0, 1] (e.g. a sigmoid output):
    -w (t log p + (1 - t) log(1 - p)), logs clamped at -100; mean over all elements.
    Prefer :func:`binary_cross_entropy_with_logits` (stable, one node)."""
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    p = _input(input)
    t = _float_target(name, target, p)
    pd = p._data
    if pd.size and (pd.min() < 0 or pd.max() > 1):
        raise KisonetValueError(
            tr(
                (
                    "{0}: input must be probabilities in [0, 1], got values in [{1:.4g}, {2:.4g}] "
                    "(for logits use binary_cross_entropy_with_logits)"
                ),
                name,
                float(pd.min()),
                float(pd.max()),
            )
        )
    w = _optional(name, "weight", weight, p)
    return _reduce(BinaryCrossEntropy.apply(p, t=t, w=w), reduction)


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any | None = None,
    reduction: str = "mean",
    pos_weight: Any | None = None,
) -> Tensor:
    """Binary cross-entropy on logits z (sigmoid fused in, stable for any z):
    max(z, 0) - z y + log(1 + exp(-|z|)); ``pos_weight`` (broadcast over the last
    axis, one per class) multiplies the positive term as in PyTorch."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    z = _input(input)
    t = _float_target(name, target, z)
    w = _optional(name, "weight", weight, z)
    pw = _optional(name, "pos_weight", pos_weight, z)
    return _reduce(BCEWithLogits.apply(z, t=t, w=w, pos_weight=pw), reduction)
