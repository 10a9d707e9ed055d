"""Evaluation metrics, as plain functions on arrays and as streaming Trainer metrics.

Functions take ``(y_true, y_pred)`` as arrays (or tensors).  For classification
``y_pred`` may be class indices, or scores/logits/probabilities of shape
``(N, C)`` (the arg-max is taken), or one column ``(N, 1)`` of binary logits
(positive when > 0).  Definitions, with TP/FP/FN counted per class c:

    accuracy    = (1/N) sum_i [yhat_i = y_i]
    top-k       = (1/N) sum_i [y_i among the k largest scores of sample i]
    precision_c = TP_c / (TP_c + FP_c)      recall_c = TP_c / (TP_c + FN_c)
    F1_c        = 2 P_c R_c / (P_c + R_c) = 2 TP_c / (2 TP_c + FP_c + FN_c)
    macro       = mean over classes; micro = pooled counts; weighted = by support
    MSE = mean (y - yhat)^2,  RMSE = sqrt(MSE),  MAE = mean |y - yhat|
    R^2 = 1 - sum (y - yhat)^2 / sum (y - mean y)^2   (per output, then averaged)

Trainer metrics (``Trainer(metrics=('accuracy', 'f1', 'top5'))``) are
:class:`Metric` objects that accumulate a few scalars or a confusion matrix
batch by batch (no per-step copies of predictions), so an epoch's figure is
exact, not an average of per-batch figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import KisonetTypeError, KisonetValueError, ShapeError, unknown_name
from ..lang import tr
from ..validation import check_int

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_f1",
    "confusion_matrix",
    "mse",
    "rmse",
    "mae",
    "r2_score",
    "Metric",
    "get_metric",
    "METRICS",
]


def _arr(x: Any) -> np.ndarray:
    data = getattr(x, "_data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


def to_labels(y_pred: Any) -> np.ndarray:
    """Class indices from predictions: arg-max of ``(N, C)`` scores, ``> 0`` for one
    logit column, rounding for float labels, unchanged for integer labels."""
    p = _arr(y_pred)
    if p.ndim >= 2 and p.shape[-1] > 1:
        return p.argmax(axis=-1)
    if p.ndim >= 2 and p.shape[-1] == 1:
        return (p[..., 0] > 0).astype(np.int64)
    if p.dtype.kind == "f":
        return np.rint(p).astype(np.int64)
    return p.astype(np.int64, copy=False)


def _labels_pair(name: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _arr(y_true)
    if t.ndim >= 2 and t.shape[-1] > 1:
        t = t.argmax(axis=-1)  # one-hot targets
    t = t.reshape(-1).astype(np.int64, copy=False) if t.dtype.kind != "f" else np.rint(t).reshape(-1).astype(np.int64)
    p = to_labels(y_pred).reshape(-1)
    if t.shape != p.shape:
        raise ShapeError(
            tr("{0}: y_true has {1} labels but y_pred gives {2} predictions", name, t.shape[0], p.shape[0])
        )
    if t.size == 0:
        raise KisonetValueError(tr("{0}: empty input", name))
    return t, p


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions, ``(1/N) sum_i [yhat_i = y_i]``."""
    t, p = _labels_pair("accuracy", y_true, y_pred)
    return float(np.mean(t == p))


def _topk_hits(y_true: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    # The true class is in the top k iff fewer than k classes score strictly higher
    # (ties resolved in the sample's favour, like scikit-learn's top_k_accuracy_score).
    true_score = np.take_along_axis(scores, y_true[:, None], axis=1)
    return (scores > true_score).sum(axis=1) < k


def top_k_accuracy(y_true: Any, scores: Any, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores."""
    t = _arr(y_true).reshape(-1).astype(np.int64)
    s = _arr(scores)
    if s.ndim != 2:
        raise ShapeError(tr("top_k_accuracy: scores must be (N, C), got shape {0}", s.shape))
    if s.shape[0] != t.shape[0]:
        raise ShapeError(tr("top_k_accuracy: y_true has {0} labels but scores have {1} rows", t.shape[0], s.shape[0]))
    k = check_int("top_k_accuracy", "k", k)
    return float(np.mean(_topk_hits(t, s, k)))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as class j (int64)."""
    t, p = _labels_pair("confusion_matrix", y_true, y_pred)
    if num_classes is None:
        num_classes = int(max(t.max(), p.max())) + 1
    if t.min() < 0 or p.min() < 0 or t.max() >= num_classes or p.max() >= num_classes:
        raise KisonetValueError(
            tr(
                "confusion_matrix: labels must lie in [0, {0}), got y_true in [{1}, {2}] and y_pred in [{3}, {4}]",
                num_classes,
                t.min(),
                t.max(),
                p.min(),
                p.max(),
            )
        )
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


_AVERAGES = ("macro", "micro", "weighted", None)


def _prf_from_cm(cm: np.ndarray, average: str | None, zero_division: float = 0.0):
    if average not in _AVERAGES:
        raise unknown_name(tr("average"), str(average), [str(a) for a in _AVERAGES])
    tp = np.diag(cm).astype(np.float64)
    pred_pos = cm.sum(axis=0).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    if average == "micro":
        tp, pred_pos, support = tp.sum(keepdims=True), pred_pos.sum(keepdims=True), support.sum(keepdims=True)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        out = np.full(num.shape, float(zero_division))
        np.divide(num, den, out=out, where=den > 0)
        return out

    prec = ratio(tp, pred_pos)
    rec = ratio(tp, support)
    f1 = ratio(2 * tp, pred_pos + support)
    if average is None:
        return prec, rec, f1
    if average == "micro":
        return float(prec[0]), float(rec[0]), float(f1[0])
    if average == "weighted":
        w = support / max(support.sum(), 1.0)
        return float(prec @ w), float(rec @ w), float(f1 @ w)
    # Macro over the classes that occur in y_true or y_pred (scikit-learn's label set).
    present = (support + pred_pos) > 0
    return float(prec[present].mean()), float(rec[present].mean()), float(f1[present].mean())


def precision_recall_f1(
    y_true: Any, y_pred: Any, average: str | None = "macro", num_classes: int | None = None, zero_division: float = 0.0
):
    """Precision, recall and F1 in one pass (floats, or per-class arrays when ``average=None``)."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    return _prf_from_cm(cm, average, zero_division)


def precision(y_true: Any, y_pred: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """``TP / (TP + FP)`` per class, averaged by ``average`` ('macro', 'micro', 'weighted', None)."""
    return precision_recall_f1(y_true, y_pred, average, num_classes)[0]


def recall(y_true: Any, y_pred: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """``TP / (TP + FN)`` per class, averaged by ``average`` ('macro', 'micro', 'weighted', None)."""
    return precision_recall_f1(y_true, y_pred, average, num_classes)[1]


def f1_score(y_true: Any, y_pred: Any, average: str | None = "macro", num_classes: int | None = None) -> Any:
    """``2 TP / (2 TP + FP + FN)`` per class, averaged by ``average`` ('macro', 'micro', 'weighted', None)."""
    return precision_recall_f1(y_true, y_pred, average, num_classes)[2]


def _reg_pair(name: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _arr(y_true), _arr(y_pred)
    if t.shape != p.shape:
        if t.size == p.size:
            p = p.reshape(t.shape)  # (N,) targets against (N, 1) outputs
        else:
            raise ShapeError(tr("{0}: y_true has shape {1} but y_pred has shape {2}", name, t.shape, p.shape))
    if t.size == 0:
        raise KisonetValueError(tr("{0}: empty input", name))
    return t.astype(np.float64, copy=False), p.astype(np.float64, copy=False)


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error ``mean (y - yhat)^2``."""
    t, p = _reg_pair("mse", y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(MSE)``."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean |y - yhat|``."""
    t, p = _reg_pair("mae", y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def _r2_from_sums(n: float, s: np.ndarray, ss: np.ndarray, sse: np.ndarray) -> float:
    sst = ss - s * s / n
    # scikit-learn's conventions for constant targets: 1 if also perfectly predicted, else 0.
    r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(np.mean(r2))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``1 - SSE / SST`` (uniform average over outputs)."""
    t, p = _reg_pair("r2_score", y_true, y_pred)
    t2 = t.reshape(t.shape[0], -1)
    p2 = p.reshape(t.shape[0], -1)
    n = float(t2.shape[0])
    return _r2_from_sums(n, t2.sum(0), (t2 * t2).sum(0), ((t2 - p2) ** 2).sum(0))


# --------------------------------------------------------------------------------------
# Streaming metrics for the Trainer
# --------------------------------------------------------------------------------------


class Metric:
    """A metric accumulated over batches: ``reset()``, ``update(output, target)``, ``compute()``.

    ``output`` is the model's output array for the batch (logits, scores or values),
    ``target`` the batch's targets.  Subclass it for your own streaming metric, or pass a
    plain ``fn(y_true, y_pred) -> float`` to the Trainer (averaged over batches, weighted
    by batch size).
    """

    name = "metric"
    #: True when larger is better (EarlyStopping's mode='auto' asks this)
    higher_is_better = True

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The accumulated numbers (so an interrupted epoch resumes with its running figures)."""
        return {
            k: (v.copy() if isinstance(v, np.ndarray) else v)
            for k, v in vars(self).items()
            if isinstance(v, (int, float, np.ndarray, np.number)) and not isinstance(v, bool)
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            cur = getattr(self, k, None)
            if isinstance(v, np.ndarray) and v.ndim == 0 and not isinstance(cur, np.ndarray):
                v = v.item()
            setattr(self, k, np.array(v, copy=True) if isinstance(v, np.ndarray) else v)


class _MeanMetric(Metric):
    """Accumulates a per-batch sum and a count (two scalars)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def compute(self) -> float:
        return self.total / self.count if self.count else float("nan")


class Accuracy(_MeanMetric):
    def __init__(self, name: str = "accuracy") -> None:
        super().__init__(name)

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        if (
            output.ndim == 2
            and output.shape[1] > 1
            and isinstance(target, np.ndarray)
            and target.shape == output.shape[:1]
            and target.dtype.kind in "iu"
        ):
            # The common case (logits vs class indices), without the general conversions.
            self.total += float(np.count_nonzero(output.argmax(axis=1) == target))
            self.count += target.shape[0]
            return
        t, p = _labels_pair(self.name, target, output)
        self.total += float(np.count_nonzero(t == p))
        self.count += t.shape[0]


class TopK(_MeanMetric):
    def __init__(self, k: int, name: str | None = None) -> None:
        k = check_int("TopK", "k", k)
        self.k = k
        super().__init__(name or f"top{k}")

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        s = output.reshape(output.shape[0], -1)
        t = np.asarray(target).reshape(-1).astype(np.int64, copy=False)
        self.total += float(np.count_nonzero(_topk_hits(t, s, self.k)))
        self.count += t.shape[0]


class _ErrorMetric(_MeanMetric):
    higher_is_better = False

    def __init__(self, name: str, kind: str) -> None:
        self.kind = kind
        super().__init__(name)

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        t, p = _reg_pair(self.name, target, output)
        d = t - p
        self.total += float(np.sum(d * d) if self.kind != "mae" else np.sum(np.abs(d)))
        self.count += d.size

    def compute(self) -> float:
        v = super().compute()
        return float(np.sqrt(v)) if self.kind == "rmse" else v


class R2(Metric):
    """Streaming R^2 from per-output sums of y, y^2 and squared errors."""

    def __init__(self, name: str = "r2") -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.n = 0.0
        self.s = self.ss = self.sse = 0.0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        t, p = _reg_pair(self.name, target, output)
        t = t.reshape(t.shape[0], -1)
        p = p.reshape(t.shape[0], -1)
        self.n += t.shape[0]
        self.s = self.s + t.sum(0)
        self.ss = self.ss + (t * t).sum(0)
        self.sse = self.sse + ((t - p) ** 2).sum(0)

    def compute(self) -> float:
        if not self.n:
            return float("nan")
        return _r2_from_sums(self.n, np.asarray(self.s), np.asarray(self.ss), np.asarray(self.sse))


class ConfusionMetric(Metric):
    """Precision/recall/F1 from a confusion matrix accumulated over the epoch."""

    def __init__(self, which: str, average: str = "macro", name: str | None = None) -> None:
        self.which = which
        self.average = average
        self.name = name or which
        self.reset()

    def reset(self) -> None:
        self.cm = np.zeros((0, 0), dtype=np.int64)

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        t, p = _labels_pair(self.name, target, output)
        k = max(self.cm.shape[0], int(t.max()) + 1, int(p.max()) + 1, output.shape[-1] if output.ndim >= 2 else 0)
        if k > self.cm.shape[0]:
            grown = np.zeros((k, k), dtype=np.int64)
            grown[: self.cm.shape[0], : self.cm.shape[0]] = self.cm
            self.cm = grown
        self.cm += np.bincount(t * k + p, minlength=k * k).reshape(k, k)

    def compute(self) -> float:
        if self.cm.size == 0:
            return float("nan")
        i = {"precision": 0, "recall": 1, "f1": 2}[self.which]
        return _prf_from_cm(self.cm, self.average)[i]


class FunctionMetric(_MeanMetric):
    """A user's ``fn(y_true, y_pred) -> float``, averaged over batches weighted by batch size."""

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], float], name: str | None = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        n = len(target) if np.ndim(target) else 1
        self.total += float(self.fn(target, output)) * n
        self.count += n


def _error(kind: str) -> Callable[[str], Metric]:
    return lambda name: _ErrorMetric(name, kind)


METRICS: dict[str, Callable[[str], Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "precision": lambda name: ConfusionMetric("precision", "macro", name),
    "recall": lambda name: ConfusionMetric("recall", "macro", name),
    "f1": lambda name: ConfusionMetric("f1", "macro", name),
    "micro_f1": lambda name: ConfusionMetric("f1", "micro", name),
    "weighted_f1": lambda name: ConfusionMetric("f1", "weighted", name),
    "mse": _error("mse"),
    "rmse": _error("rmse"),
    "mae": _error("mae"),
    "r2": R2,
}

_TOPK = re.compile(r"^top_?(\d+)(?:_accuracy)?$")


def get_metric(spec: Any) -> Metric:
    """A fresh :class:`Metric` from a name ('accuracy', 'top5', 'f1', 'mse', 'r2', ...),
    a Metric instance (used as is) or a callable ``fn(y_true, y_pred) -> float``."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key in METRICS:
            return METRICS[key](spec)
        m = _TOPK.match(key)
        if m:
            return TopK(int(m.group(1)), name=spec)
        raise unknown_name(tr("metric"), spec, [*METRICS, "top5", "top_k"])
    if callable(spec):
        return FunctionMetric(spec)
    raise KisonetTypeError(tr("metric must be a name, a Metric or a callable, got {0}", type(spec).__name__))
