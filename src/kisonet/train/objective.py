"""What the Trainer minimises and reports: the loss (one, or one per output head), sample
weighting, and the metrics of a split.

Weighted samples (``fit(sample_weight=w)``, used by AdaBoost): the loss is computed with
``reduction='none'`` and averaged with the weights normalised to mean 1 over the training set,

    E_B(w) = (1/|B|) sum_{n in B} w_n E_n,   sum_n w_n = N,

so the expected mini-batch gradient is that of the weighted full-set loss
sum_n w_n E_n / sum_n w_n.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..errors import KisonetTypeError, KisonetValueError, ShapeError, unknown_name
from ..lang import tr
from ..validation import check_type
from .adapters import output_array, xy_pair
from .metrics import Metric, get_metric

__all__ = ["DEFAULT_METRICS", "LOSS_NAMES", "Objective", "loss_name", "resolve_loss"]

DEFAULT_METRICS = ("accuracy",)

#: Loss names usable as strings: ``Trainer(model, "cross_entropy", opt)``.
LOSS_NAMES = {
    "cross_entropy": "cross_entropy",
    "ce": "cross_entropy",
    "nll": "nll_loss",
    "nll_loss": "nll_loss",
    "mse": "mse_loss",
    "mse_loss": "mse_loss",
    "mae": "mae_loss",
    "mae_loss": "mae_loss",
    "l1": "l1_loss",
    "l1_loss": "l1_loss",
    "squared_error": "squared_error",
    "bce": "binary_cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
}
_CLASSIFICATION_LOSSES = ("cross_entropy", "nll", "crossentropy", "binary", "bce", "hinge")
_REGRESSION_LOSSES = ("mse", "mae", "l1", "squared", "huber")

#: (history key suffix, output head or None, Metric) for each configured metric.
MetricList = list[tuple[str, Any, Metric]]


def resolve_loss(spec: Any) -> Any:
    """A loss callable (or ``{head: (fn, weight)}``) from a callable, a name or a dict of them."""
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in LOSS_NAMES:
            raise unknown_name(tr("loss"), spec, LOSS_NAMES)
        from ..nn import functional as F  # noqa: N812 - the PyTorch convention

        return getattr(F, LOSS_NAMES[key])
    if isinstance(spec, dict):
        out = {}
        for head, v in spec.items():
            if isinstance(v, tuple):
                if len(v) != 2:
                    raise KisonetValueError(
                        tr("Trainer: loss for head {0!r} must be fn or (fn, weight), got {1!r}", head, v)
                    )
                out[head] = (resolve_loss(v[0]), float(v[1]))
            else:
                out[head] = (resolve_loss(v), 1.0)
        return out
    if not callable(spec):
        raise KisonetTypeError(
            tr("Trainer: loss must be a callable, a name or a dict of them, got {0}", type(spec).__name__)
        )
    return spec


def loss_name(fn: Any) -> str:
    return (getattr(fn, "__name__", None) or type(fn).__name__).lower()


def _match_target(out: Any, y: Any) -> Any:
    # (N,) regression targets against (N, 1) outputs: reshape rather than broadcast to (N, N).
    if isinstance(y, np.ndarray) and isinstance(out, Tensor) and y.dtype.kind == "f":
        if y.shape != out.shape and y.size == out._data.size:
            return y.reshape(out.shape)
    return y


def _call_loss(fn: Any, out: Any, y: Any, reduce_none: bool) -> Tensor:
    y = _match_target(out, y)
    if not reduce_none:
        return fn(out, y)
    if hasattr(fn, "reduction") and not isinstance(fn, type):
        old = fn.reduction
        fn.reduction = "none"
        try:
            return fn(out, y)
        finally:
            fn.reduction = old
    try:
        return fn(out, y, reduction="none")
    except TypeError as e:
        raise KisonetTypeError(
            tr(
                "Trainer: sample_weight needs a loss that accepts reduction='none'; {0} does not ({1})",
                loss_name(fn),
                e,
            )
        ) from e


def _weighted(per: Tensor, wb: np.ndarray) -> Tensor:
    n = wb.shape[0]
    if per.ndim == 0:
        raise KisonetValueError(
            tr("Trainer: the loss returned a scalar for reduction='none'; per-sample losses needed")
        )
    if per.ndim > 1:
        per = per.reshape(n, -1).mean(axis=1)
    return (per * wb.astype(per.dtype, copy=False)).mean()


class Objective:
    """The loss to minimise and the metrics to report, as the Trainer was configured.

    Args:
        loss: see :class:`~kisonet.train.Trainer` (a callable, a name, or ``{head: fn or (fn, weight)}``).
        metrics: see :class:`~kisonet.train.Trainer`.
    """

    def __init__(self, loss: Any, metrics: Any = DEFAULT_METRICS) -> None:
        self.loss_fn = resolve_loss(loss)
        self.metrics_spec = metrics

    def loss(self, out: Any, yb: Any, wb: Any) -> tuple[Tensor, dict[str, float] | None]:
        """The batch loss (and per-head losses for dict losses)."""
        fn = self.loss_fn
        if isinstance(fn, dict):
            if not isinstance(out, dict) or not isinstance(yb, dict):
                raise KisonetTypeError(
                    tr("Trainer: a dict of losses needs a model returning a dict of outputs and dict targets")
                )
            total = None
            parts: dict[str, float] = {}
            for head, (f, weight) in fn.items():
                if head not in out or head not in yb:
                    raise unknown_name(tr("output head"), head, set(out) & set(yb))
                li = _call_loss(f, out[head], yb[head], wb is not None)
                if wb is not None:
                    li = _weighted(li, wb)
                parts[head] = float(li._data)
                term = li if weight == 1.0 else li * weight
                total = term if total is None else total + term
            return total, parts
        if wb is None:
            loss = _call_loss(fn, out, yb, False)
        else:
            loss = _weighted(_call_loss(fn, out, yb, True), wb)
        check_type("Trainer", "the loss's result", loss, Tensor, "a 0-d Tensor")
        if loss._data.size != 1:
            raise ShapeError(
                tr("Trainer: the loss must be a scalar (0-d Tensor), got shape {0}; use reduction='mean'", loss.shape)
            )
        return loss, None

    def build_metrics(self, out: Any, yb: Any) -> MetricList:
        """(history key suffix, head or None, fresh Metric) for every configured metric."""
        spec = self.metrics_spec
        if spec is None:
            return []
        default = spec is DEFAULT_METRICS

        def make(items: Any, head: Any, target: Any) -> MetricList:
            if isinstance(items, (str, Metric)) or callable(items):
                items = (items,)
            res = []
            for item in items:
                if default and isinstance(target, np.ndarray) and target.dtype.kind == "f":
                    continue  # accuracy makes no sense for regression targets
                m = get_metric(item)
                if isinstance(item, Metric):
                    m = copy.deepcopy(item)
                m.reset()
                key = m.name if head is None else f"{head}_{m.name}"
                res.append((key, head, m))
            return res

        if isinstance(out, dict):
            if isinstance(spec, dict):
                return [r for head, items in spec.items() for r in make(items, head, yb.get(head))]
            heads = [h for h in out if isinstance(yb, dict) and h in yb]
            return [r for h in heads for r in make(spec, h, yb[h])]
        if isinstance(spec, dict):
            raise KisonetTypeError(tr("Trainer: metrics given per head but the model returns a single output"))
        return make(spec, None, yb)

    @staticmethod
    def update_metrics(metrics: MetricList, out: Any, yb: Any) -> None:
        for _, head, m in metrics:
            if head is None:
                m.update(output_array(out), yb)
            else:
                m.update(output_array(out[head]), yb[head])

    def infer_task(self, train: Any) -> str | None:
        """``'classification'`` or ``'regression'`` from the loss's name, else from the targets' dtype."""
        fn = self.loss_fn
        fns = [f for f, _ in fn.values()] if isinstance(fn, dict) else [fn]
        names = " ".join(loss_name(f) for f in fns)
        if any(k in names for k in _CLASSIFICATION_LOSSES):
            return "classification"
        if any(k in names for k in _REGRESSION_LOSSES):
            return "regression"
        xy = xy_pair(train)
        if xy is not None and not isinstance(xy[1], dict):
            return "classification" if np.asarray(xy[1]).dtype.kind in "iub" else "regression"
        return None

    def describe(self) -> str:
        return "dict" if isinstance(self.loss_fn, dict) else loss_name(self.loss_fn)
