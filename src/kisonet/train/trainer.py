"""``Trainer``: the notes' mini-batch training loop, with evaluation, history and callbacks.

One epoch of mini-batch stochastic gradient descent (ミニバッチ SGD)::

    for each mini-batch B of a fresh permutation of the training set:
        E_B(w)  = (1/|B|) sum_{n in B} E_n(w)   (+ regulariser R(w))
        w      <- w - lr * grad E_B(w)           (or any kisonet.optim rule)

then the validation and test sets are evaluated in eval mode without
recording a graph.  Every figure goes into ``trainer.history``: a dict of
per-epoch lists keyed ``{split}_{metric}`` (``train_loss``, ``val_accuracy``,
``test_loss``, ...) plus ``lr`` and ``epoch_seconds``.  Training figures are
means over the epoch's batches weighted by batch size, accumulated as scalars
while training (no extra pass, no per-step copies).

Weighted samples (``fit(sample_weight=w)``, used by AdaBoost): the loss is
computed with ``reduction='none'`` and averaged with the weights normalised
to mean 1 over the training set,

    E_B(w) = (1/|B|) sum_{n in B} w_n E_n,   sum_n w_n = N,

so the expected mini-batch gradient is that of the weighted full-set loss
sum_n w_n E_n / sum_n w_n.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..backend import get_default_dtype
from ..errors import KisonetTypeError, KisonetValueError, NumericalError, ShapeError, unknown_name
from ..random import get_rng_state, manual_seed, set_rng_state
from .callbacks import HOOKS, Callback, ProgressBar, callback_overrides
from .metrics import Metric, get_metric
from .numerics import check_finite_inputs, describe_nonfinite, grad_norm, nonfinite_parameters

__all__ = ["Trainer", "step_scheduler"]

DEFAULT_METRICS = ("accuracy",)

# Loss names usable as strings: Trainer(model, "cross_entropy", opt).
_LOSS_NAMES = {
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


def _resolve_loss(spec: Any) -> Any:
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in _LOSS_NAMES:
            raise unknown_name("loss", spec, _LOSS_NAMES)
        from ..nn import functional as F  # noqa: N812 - the PyTorch convention

        return getattr(F, _LOSS_NAMES[key])
    if isinstance(spec, dict):
        out = {}
        for head, v in spec.items():
            if isinstance(v, tuple):
                if len(v) != 2:
                    raise KisonetValueError(f"Trainer: loss for head {head!r} must be fn or (fn, weight), got {v!r}")
                out[head] = (_resolve_loss(v[0]), float(v[1]))
            else:
                out[head] = (_resolve_loss(v), 1.0)
        return out
    if not callable(spec):
        raise KisonetTypeError(f"Trainer: loss must be a callable, a name or a dict of them, got {type(spec).__name__}")
    return spec


def _loss_name(fn: Any) -> str:
    return (getattr(fn, "__name__", None) or type(fn).__name__).lower()


def step_scheduler(scheduler: Any, logs: dict[str, Any], monitor: str = "val_loss") -> None:
    """Step an epoch scheduler; one that needs a metric (``ReduceLROnPlateau``) gets ``logs[monitor]``."""
    if type(scheduler).__name__ == "ReduceLROnPlateau" or getattr(scheduler, "needs_metric", False):
        if monitor not in logs:
            raise unknown_name("scheduler monitor", monitor, logs.keys())
        scheduler.step(logs[monitor])
    else:
        scheduler.step()


# --------------------------------------------------------------------------------------
# data plumbing


def _take(a: Any, idx: Any) -> Any:
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: v[idx] for k, v in a.items()}
    return a[idx]


def _length(a: Any, what: str) -> int:
    if isinstance(a, dict):
        lens = {k: len(v) for k, v in a.items()}
        if len(set(lens.values())) != 1:
            raise ShapeError(f"Trainer: the {what} arrays have different lengths {lens}")
        return next(iter(lens.values()))
    if np.ndim(a) == 0:
        raise ShapeError(f"Trainer: the {what} is a scalar; give an array with one row per sample")
    return int(np.shape(a)[0])


def _as_array(a: Any, target: bool = False) -> Any:
    """Arrays in the dtypes training wants: floats in the default dtype (float32), integer
    targets (class indices) as int64; integer inputs (e.g. uint8 pixels) are left to the model."""
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: _as_array(v, target) for k, v in a.items()}
    if isinstance(a, Tensor):
        a = a.data
    try:
        a = np.asarray(a)
    except ValueError as e:  # ragged nested lists
        what = "targets" if target else "inputs"
        raise KisonetValueError(f"Trainer: cannot make an array of the {what}: {e}") from None
    if a.dtype.kind not in "fiub":
        raise KisonetTypeError(
            f"Trainer: the {'targets' if target else 'inputs'} have dtype {a.dtype}; numbers are needed "
            "(float, int or bool arrays)"
        )
    if a.dtype.kind == "f" and a.dtype != get_default_dtype():
        return a.astype(get_default_dtype())
    if target and a.dtype.kind in "iu" and a.dtype != np.int64:
        return a.astype(np.int64)
    return a


class _PackedDataset:
    """Arrays (or dicts of arrays) gathered a batch at a time: item = ``(x, (y, w))``.

    The target slot carries the sample weights with the batch, so shuffled
    mini-batches keep each sample's weight.
    """

    supports_batch_index = True

    def __init__(self, X: Any, y: Any, w: np.ndarray | None = None) -> None:
        n = _length(X, "input")
        if y is not None and _length(y, "target") != n:
            raise ShapeError(f"Trainer: X has {n} samples but y has {_length(y, 'target')}")
        if w is not None and w.shape != (n,):
            raise ShapeError(f"Trainer: sample_weight has shape {w.shape}, expected ({n},)")
        self.X, self.y, self.w = X, y, w
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: Any) -> tuple[Any, tuple[Any, Any]]:
        return _take(self.X, idx), (_take(self.y, idx), _take(self.w, idx))


class _WeightedWrap:
    """A user's dataset plus sample weights: item = ``(x, (y, w))``."""

    supports_batch_index = True

    def __init__(self, dataset: Any, w: np.ndarray | None) -> None:
        from ..data.dataset import supports_batch_index

        self.dataset, self.w = dataset, w
        self._batched = supports_batch_index(dataset)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: Any) -> tuple[Any, tuple[Any, Any]]:
        if isinstance(idx, (int, np.integer)) or self._batched:
            x, y = self.dataset[idx]
        else:
            items = [self.dataset[int(i)] for i in idx]
            x = np.stack([np.asarray(a) for a, _ in items])
            ys = [b for _, b in items]
            y = None if ys[0] is None else np.stack([np.asarray(b) for b in ys])
        return x, (y, _take(self.w, idx))


def _split_xy(data: Any, where: str) -> tuple[Any, Any] | None:
    """An ``(X, y)`` pair of arrays (or dicts of arrays), else None (a dataset or loader)."""
    if isinstance(data, tuple) and len(data) == 2:
        return data
    return None


def _is_loader(data: Any) -> bool:
    from ..data import DataLoader

    if isinstance(data, DataLoader):
        return True
    # Any re-iterable of batches without random access (e.g. a user's generator class).
    return hasattr(data, "__iter__") and not hasattr(data, "__getitem__") and not isinstance(data, (tuple, list))


def _unpack(batch: Any, packed: bool) -> tuple[Any, Any, Any]:
    if packed:
        xb, (yb, wb) = batch
        return xb, yb, wb
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
    raise KisonetTypeError(
        f"Trainer: a batch must be (x, y) or (x, y, sample_weight), got {type(batch).__name__}"
        + (f" of length {len(batch)}" if hasattr(batch, "__len__") else "")
    )


def _to_input(xb: Any) -> Any:
    if isinstance(xb, Tensor):
        return xb
    if isinstance(xb, dict):
        return {k: _to_input(v) for k, v in xb.items()}
    if isinstance(xb, np.ndarray) and xb.dtype.kind == "f" and xb.dtype != get_default_dtype():
        xb = xb.astype(get_default_dtype())
    return Tensor._make(np.asarray(xb), False, None)


def _out_array(out: Any) -> np.ndarray:
    return out._data if isinstance(out, Tensor) else np.asarray(out)


def _batch_size(yb: Any, xb: Any) -> int:
    ref = yb if yb is not None else xb
    if isinstance(ref, dict):
        ref = next(iter(ref.values()))
    return int(np.shape(ref)[0]) if np.ndim(ref) else 1


def _softmax(z: np.ndarray) -> np.ndarray:
    if z.ndim >= 2 and z.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class _EpochProgress:
    """Running sums of the training epoch in progress (scalars, updated every step)."""

    __slots__ = ("lr", "step", "loss_sum", "n_seen", "head_sums", "seconds")

    def __init__(self, lr: float | None) -> None:
        self.lr = lr
        self.step = 0
        self.loss_sum = 0.0
        self.n_seen = 0
        self.head_sums: dict[str, float] = {}
        self.seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "step": self.step,
            "loss_sum": self.loss_sum,
            "n_seen": self.n_seen,
            "head_sums": dict(self.head_sums),
            "seconds": self.seconds,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _EpochProgress:
        acc = cls(None if state.get("lr") is None else float(state["lr"]))
        acc.step = int(state["step"])
        acc.loss_sum = float(state["loss_sum"])
        acc.n_seen = int(state["n_seen"])
        acc.head_sums = {k: float(v) for k, v in state.get("head_sums", {}).items()}
        acc.seconds = float(state.get("seconds", 0.0))
        return acc


# --------------------------------------------------------------------------------------


class Trainer:
    """Train, evaluate and predict with a model.

    Args:
        model: a :class:`kisonet.nn.Module` (or any callable with ``parameters()``,
            ``named_parameters()``, ``train()``, ``eval()``, ``state_dict()``).
        loss: ``fn(output, target) -> 0-d Tensor`` (``F.cross_entropy``, an
            ``nn.CrossEntropyLoss()``, your own), a name (``'cross_entropy'``,
            ``'mse'``, ...), or for models returning a dict of outputs a dict
            ``{head: fn or (fn, weight)}`` whose weighted sum is minimised; a plain
            callable also receives the dicts whole.
        optimizer: a :mod:`kisonet.optim` optimizer (may be None for evaluate/predict only).
        metrics: names (``'accuracy'``, ``'top5'``, ``'f1'``, ``'precision'``,
            ``'recall'``, ``'mse'``, ``'rmse'``, ``'mae'``, ``'r2'``), :class:`Metric`
            objects or ``fn(y_true, y_pred) -> float``; for dict outputs a dict
            ``{head: metrics}`` (a flat list applies to every head). The default
            ``('accuracy',)`` is dropped for floating (regression) targets.
        callbacks: :class:`Callback` objects (see :mod:`kisonet.train.callbacks`).
        scheduler: a learning-rate scheduler stepped every ``scheduler_interval``
            (``'epoch'`` or ``'step'``); ``ReduceLROnPlateau`` gets ``val_loss``
            (``train_loss`` without a validation set).
        regularizer: ``fn(model) -> 0-d Tensor`` added to the loss (``kisonet.regularizers.L2``).
        grad_clip: clip gradients before each step: a number (max global L2 norm),
            ``{'norm': c}`` or ``{'value': c}`` (elementwise to [-c, c]).
        progress: show a tqdm progress bar (only on a terminal or in Jupyter).
        seed: seeds ``kisonet.random`` and the training loader's shuffling.
        task: ``'classification'`` or ``'regression'`` (what :meth:`predict` returns);
            inferred from the loss or the targets when None.
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        optimizer: Any = None,
        metrics: Any = DEFAULT_METRICS,
        callbacks: Iterable[Any] = (),
        scheduler: Any = None,
        scheduler_interval: str = "epoch",
        regularizer: Callable[[Any], Tensor] | None = None,
        grad_clip: float | dict[str, float] | None = None,
        progress: bool = True,
        seed: int | None = None,
        task: str | None = None,
    ) -> None:
        if scheduler_interval not in ("epoch", "step"):
            raise unknown_name("scheduler_interval", scheduler_interval, ("epoch", "step"))
        if task not in (None, "classification", "regression"):
            raise unknown_name("task", task, ("classification", "regression"))
        if regularizer is not None and not callable(regularizer):
            raise KisonetTypeError(
                f"Trainer: regularizer must be callable(model) -> Tensor, got {type(regularizer).__name__}"
            )
        self.model = model
        self.loss_fn = _resolve_loss(loss)
        self.optimizer = optimizer
        self.metrics_spec = metrics
        self.callbacks: list[Any] = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not any(callable(getattr(cb, h, None)) for h in HOOKS):
                raise KisonetTypeError(f"Trainer: {type(cb).__name__} is not a Callback")
        if progress and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            self.callbacks.append(ProgressBar())
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.regularizer = regularizer
        self.grad_clip = self._check_clip(grad_clip)
        self.seed = seed
        self.task = task
        if seed is not None:
            manual_seed(seed)

        self.history: dict[str, list[float]] = {}
        self.epoch = 0  # completed epochs
        self.global_step = 0  # optimizer steps taken
        self.stop_training = False  # set by a callback: stop after the current epoch
        self.interrupt_training = False  # set by a ^C handler: stop after the current step
        self._progress: _EpochProgress | None = None  # the epoch in progress, if interrupted
        self._pending_metrics: dict[str, Any] | None = None
        self._pending_state: dict[str, Any] | None = None
        self._resume = False  # the next fit() continues a run restored by load_state_dict
        self._resuming = False
        self._train_loader: Any = None
        self._train_key: Any = None
        self._train_metrics: list[tuple[str, Any, Metric]] | None = None
        self._num_train_batches: int | None = None
        self._target_epochs = 0
        self._named_params: list[tuple[str, Any]] = []

    # ------------------------------------------------------------------------------
    @staticmethod
    def _check_clip(clip: Any) -> tuple[str, float] | None:
        if clip is None:
            return None
        if isinstance(clip, dict):
            if len(clip) != 1:
                raise KisonetValueError(f"Trainer: grad_clip dict must have one key 'norm' or 'value', got {clip!r}")
            kind, c = next(iter(clip.items()))
            if kind not in ("norm", "value"):
                raise unknown_name("grad_clip kind", kind, ("norm", "value"))
        else:
            kind, c = "norm", clip
        if isinstance(c, bool) or not isinstance(c, (int, float, np.floating, np.integer)) or not c > 0:
            raise KisonetValueError(f"Trainer: grad_clip must be a number > 0, got {c!r}")
        return kind, float(c)

    def _hooks(self, name: str) -> list[Callable]:
        return [getattr(cb, name) for cb in self.callbacks if callback_overrides(cb, name)]

    # --- data ---------------------------------------------------------------------------
    def _loader(
        self,
        data: Any,
        batch_size: int,
        shuffle: bool,
        transform: Any = None,
        sample_weight: Any = None,
        seed: int | None = None,
        what: str = "train",
    ) -> tuple[Any, bool]:
        """A DataLoader (and whether its batches are packed ``(x, (y, w))``) for ``data``."""
        from ..data import DataLoader

        if data is None:
            return None, False
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
                raise KisonetValueError(
                    f"Trainer: sample_weight must be finite, >= 0 and not all zero "
                    f"(min {w.min() if w.size else 'n/a'}, sum {w.sum()})"
                )
            w = (w * (w.size / w.sum())).astype(get_default_dtype())
        if _is_loader(data):
            if w is not None:
                raise KisonetValueError(
                    "Trainer: sample_weight needs arrays or a dataset, not a DataLoader "
                    "(let the loader yield (x, y, weight) batches instead)"
                )
            if transform is not None:
                raise KisonetValueError(
                    "Trainer.fit: transform= applies to loaders the Trainer builds; "
                    "pass it to your DataLoader(transform=...) instead"
                )
            # A loader the Trainer built itself (trainer.train_loader) yields packed batches.
            return data, isinstance(getattr(data, "dataset", None), (_PackedDataset, _WeightedWrap))
        xy = _split_xy(data, what)
        if xy is not None:
            X, y = _as_array(xy[0]), _as_array(xy[1], target=True)
            ds: Any = _PackedDataset(X, y, w)
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            if w is not None and len(w) != len(data):
                raise ShapeError(f"Trainer: sample_weight has {len(w)} entries for {len(data)} samples")
            ds = _WeightedWrap(data, w)
        else:
            raise KisonetTypeError(
                f"Trainer: {what} data must be (X, y), a dataset or a DataLoader, got {type(data).__name__}"
            )
        loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, transform=transform, seed=seed)
        return loader, True

    # --- what callbacks read (read-only) ---------------------------------------------------
    @property
    def num_train_batches(self) -> int | None:
        """Batches per training epoch of the current :meth:`fit` (None for a loader without ``len``)."""
        return self._num_train_batches

    @property
    def max_epochs(self) -> int:
        """The epoch count the current :meth:`fit` runs to (epochs are numbered 1..max_epochs)."""
        return self._target_epochs

    @property
    def resuming(self) -> bool:
        """True during ``on_train_begin`` when this :meth:`fit` continues a restored or interrupted
        run (callbacks then keep their state instead of starting afresh)."""
        return self._resuming

    @property
    def interrupted(self) -> bool:
        """True when :attr:`interrupt_training` ended :meth:`fit` before its last epoch (a
        resumable stop: the weights stay as they are, nothing is finalised)."""
        return self.interrupt_training and not self.stop_training and self.epoch < self._target_epochs

    @property
    def train_loader(self) -> Any:
        """The DataLoader of the last :meth:`fit` (its state is part of :meth:`state_dict`)."""
        return self._train_loader[0] if self._train_loader else None

    # --- loss and metrics --------------------------------------------------------------------
    def _match_target(self, out: Any, y: Any) -> Any:
        # (N,) regression targets against (N, 1) outputs: reshape rather than broadcast to (N, N).
        if isinstance(y, np.ndarray) and isinstance(out, Tensor) and y.dtype.kind == "f":
            if y.shape != out.shape and y.size == out._data.size:
                return y.reshape(out.shape)
        return y

    def _call_loss(self, fn: Any, out: Any, y: Any, reduce_none: bool) -> Tensor:
        y = self._match_target(out, y)
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
                f"Trainer: sample_weight needs a loss that accepts reduction='none'; {_loss_name(fn)} does not ({e})"
            ) from e

    def _weighted(self, per: Tensor, wb: np.ndarray) -> Tensor:
        n = wb.shape[0]
        if per.ndim == 0:
            raise KisonetValueError(
                "Trainer: the loss returned a scalar for reduction='none'; per-sample losses needed"
            )
        if per.ndim > 1:
            per = per.reshape(n, -1).mean(axis=1)
        return (per * wb.astype(per.dtype, copy=False)).mean()

    def _compute_loss(self, out: Any, yb: Any, wb: Any) -> tuple[Tensor, dict[str, float] | None]:
        """The batch loss (and per-head losses for dict losses)."""
        fn = self.loss_fn
        if isinstance(fn, dict):
            if not isinstance(out, dict) or not isinstance(yb, dict):
                raise KisonetTypeError(
                    "Trainer: a dict of losses needs a model returning a dict of outputs and dict targets"
                )
            total = None
            parts: dict[str, float] = {}
            for head, (f, weight) in fn.items():
                if head not in out or head not in yb:
                    raise unknown_name("output head", head, set(out) & set(yb))
                li = self._call_loss(f, out[head], yb[head], wb is not None)
                if wb is not None:
                    li = self._weighted(li, wb)
                parts[head] = float(li._data)
                term = li if weight == 1.0 else li * weight
                total = term if total is None else total + term
            return total, parts
        if wb is None:
            loss = self._call_loss(fn, out, yb, False)
        else:
            loss = self._weighted(self._call_loss(fn, out, yb, True), wb)
        if not isinstance(loss, Tensor):
            raise KisonetTypeError(f"Trainer: the loss returned {type(loss).__name__}, expected a 0-d Tensor")
        if loss._data.size != 1:
            raise ShapeError(
                f"Trainer: the loss must be a scalar (0-d Tensor), got shape {loss.shape}; use reduction='mean'"
            )
        return loss, None

    def _build_metrics(self, out: Any, yb: Any) -> list[tuple[str, Any, Metric]]:
        """(history key suffix, head or None, fresh Metric) for every configured metric."""
        spec = self.metrics_spec
        if spec is None:
            return []
        default = spec is DEFAULT_METRICS

        def make(items: Any, head: Any, target: Any) -> list[tuple[str, Any, Metric]]:
            if isinstance(items, (str, Metric)) or callable(items):
                items = (items,)
            res = []
            for item in items:
                if default and isinstance(target, np.ndarray) and target.dtype.kind == "f":
                    continue  # accuracy makes no sense for regression targets
                m = get_metric(item)
                if isinstance(item, Metric):
                    import copy

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
            raise KisonetTypeError("Trainer: metrics given per head but the model returns a single output")
        return make(spec, None, yb)

    @staticmethod
    def _update_metrics(metrics: list[tuple[str, Any, Metric]], out: Any, yb: Any) -> None:
        for _, head, m in metrics:
            if head is None:
                m.update(_out_array(out), yb)
            else:
                m.update(_out_array(out[head]), yb[head])

    def live_metric(self) -> tuple[str, float] | None:
        """The first training metric's running value (for the progress bar)."""
        if self._train_metrics:
            key, _, m = self._train_metrics[0]
            try:
                return key, float(m.compute())
            except Exception:
                return None
        return None

    # --- the training step ------------------------------------------------------------------
    def _guard(self, loss_value: float, epoch: int, step: int) -> float:
        """Raise NumericalError if the loss or any gradient is NaN/Inf (before the update).

        Returns the global gradient norm ||(g_1, ..., g_n)||_2 (reused by clipping).
        """
        bad_param = None
        norms = []
        for name, p in self._named_params:
            g = p.grad
            if g is None:
                continue
            n = grad_norm(g)
            if not math.isfinite(n):
                bad_param = (name, g)
                break
            norms.append(n)
        if bad_param is None and math.isfinite(loss_value):
            return math.hypot(*norms)
        where = f"epoch {epoch + 1}, step {step + 1} (global step {self.global_step + 1})"
        bad_now = nonfinite_parameters(self._named_params)
        if bad_now:
            # The loss is NaN because an earlier update already broke the parameters.
            raise NumericalError(
                f"non-finite loss ({loss_value}) at {where}: the previous update made the parameters "
                f"non-finite ({describe_nonfinite(bad_now)}). Training stopped; try a smaller learning rate "
                "or gradient clipping."
            )
        if bad_param is not None:
            name, g = bad_param
            n_nan, n_inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
            msg = (
                f"non-finite gradient at {where}: parameter {name!r} (shape {g.shape}) has "
                f"{n_nan} NaN and {n_inf} Inf entries; loss = {loss_value}"
            )
        else:
            msg = f"non-finite loss ({loss_value}) at {where}"
        raise NumericalError(
            msg + ". Training stopped before the update (parameters are those of the last good step); "
            "try a smaller learning rate, gradient clipping or checking the inputs for NaN."
        )

    def _check_parameters(self, epoch: int, step: int) -> None:
        """Raise NumericalError if an update left a parameter NaN/Inf (checked when an epoch
        ends or is interrupted, so no epoch end, checkpoint or returned model holds them)."""
        bad = nonfinite_parameters(self._named_params)
        if bad:
            raise NumericalError(
                f"non-finite parameters after the update of epoch {epoch + 1}, step {step} "
                f"(global step {self.global_step}): {describe_nonfinite(bad)}. The update diverged; "
                "training stopped and nothing of this epoch was saved; try a smaller learning rate "
                "or gradient clipping."
            )

    def _clip(self, norm: float) -> None:
        """Clip in place: by global L2 norm, g <- g * c / ||g|| when ||g|| > c, or by value."""
        kind, c = self.grad_clip
        grads = [p.grad for _, p in self._named_params if p.grad is not None]
        if kind == "value":
            for g in grads:
                np.clip(g, -c, c, out=g)
            return
        if norm > c:
            scale = c / (norm + 1e-6)
            for g in grads:
                g *= scale

    def _lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None)
        if groups:
            return float(groups[0]["lr"])
        return None

    def train_epoch(self, loader: Any, packed: bool, epoch: int) -> tuple[dict[str, float], float, Any] | None:
        """One pass over ``loader``: the notes' mini-batch SGD.

        Returns ``(train figures, seconds, lr at the epoch's start)``, or None when
        :attr:`interrupt_training` stopped it after a step (the running sums stay in
        ``self._progress`` and go into :meth:`state_dict`, so the epoch can be finished later).
        """
        model, opt = self.model, self.optimizer
        model.train()
        batch_begin = self._hooks("on_batch_begin")
        batch_end = self._hooks("on_batch_end")
        backward_end = self._hooks("on_backward_end")
        step_end = self._hooks("on_step_end")
        sched_step = self.scheduler is not None and self.scheduler_interval == "step"
        acc = self._progress
        if acc is None:
            acc = self._progress = _EpochProgress(self._lr())
            if self._train_metrics is not None:
                for _, _, m in self._train_metrics:
                    m.reset()
        metrics = self._train_metrics
        nb = self._num_train_batches
        t0 = time.perf_counter()
        for batch in loader:
            step = acc.step
            xb, yb, wb = _unpack(batch, packed)
            logs: dict[str, Any] = {}
            for h in batch_begin:
                h(self, step, logs)
            out = model(_to_input(xb))
            loss, parts = self._compute_loss(out, yb, wb)
            if self.regularizer is not None:
                loss = loss + self.regularizer(model)
            opt.zero_grad()
            loss.backward()
            for h in backward_end:
                h(self)
            lv = float(loss._data)
            norm = self._guard(lv, epoch, step)
            if self.grad_clip is not None:
                self._clip(norm)
            opt.step()
            for h in step_end:
                h(self)
            if sched_step:
                self.scheduler.step()
            self.global_step += 1
            n = _batch_size(yb, xb)
            acc.step = step + 1
            acc.loss_sum += lv * n
            acc.n_seen += n
            if parts:
                for k, v in parts.items():
                    acc.head_sums[k] = acc.head_sums.get(k, 0.0) + v * n
            if metrics is None:
                metrics = self._train_metrics = self._build_metrics(out, yb)
                if self._pending_metrics:
                    for key, _, m in metrics:
                        if key in self._pending_metrics:
                            m.load_state_dict(self._pending_metrics[key])
                    self._pending_metrics = None
            self._update_metrics(metrics, out, yb)
            if batch_end:
                logs["loss"] = lv
                logs["size"] = n
                for h in batch_end:
                    h(self, step, logs)
            if self.interrupt_training and (nb is None or acc.step < nb):
                acc.seconds += time.perf_counter() - t0
                self._check_parameters(epoch, acc.step)
                return None
        acc.seconds += time.perf_counter() - t0
        self._progress = None
        self._check_parameters(epoch, acc.step)
        if acc.n_seen == 0:
            raise KisonetValueError("Trainer: the training loader yielded no batch")
        res = {"train_loss": acc.loss_sum / acc.n_seen}
        for k, v in acc.head_sums.items():
            res[f"train_{k}_loss"] = v / acc.n_seen
        for key, _, m in metrics or ():
            res[f"train_{key}"] = float(m.compute())
        return res, acc.seconds, acc.lr

    # --- fit --------------------------------------------------------------------------------
    def fit(
        self,
        train: Any,
        val: Any = None,
        test: Any = None,
        epochs: int = 10,
        batch_size: int = 32,
        sample_weight: Any = None,
        shuffle: bool = True,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> dict[str, list[float]]:
        """Train for ``epochs`` epochs and return the history (also ``self.history``).

        ``train``/``val``/``test`` are ``(X, y)`` arrays, datasets or DataLoaders
        (``batch_size``, ``shuffle``, ``transform`` and ``sample_weight`` apply to
        the loaders built here; ``transform`` to training batches only).  Calling
        ``fit`` again continues training for ``epochs`` more epochs; after
        :meth:`load_state_dict`, or after :attr:`interrupt_training` stopped a run
        mid-epoch, it continues that run up to ``epochs`` in total.
        """
        if self.optimizer is None:
            raise KisonetValueError("Trainer.fit: no optimizer was given")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise KisonetValueError(f"Trainer.fit: epochs must be an int >= 0, got {epochs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise KisonetValueError(f"Trainer.fit: batch_size must be an int >= 1, got {batch_size!r}")
        self._infer_task(train)
        ident = tuple(id(a) for a in train) if isinstance(train, tuple) else id(train)
        key = (ident, batch_size, shuffle, id(transform), id(sample_weight))
        # Weights are normalised into the loader's dataset: rebuild it each call, since
        # a caller such as AdaBoost may update the same weight array in place.
        if (
            self._train_loader is None
            or self._train_key != key
            or (sample_weight is not None and self._progress is None)
        ):
            self._train_loader = self._loader(train, batch_size, shuffle, transform, sample_weight, self.seed)
            self._train_key = key
        loader, packed = self._train_loader
        eval_bs = max(batch_size, 256)
        val_loader = self._loader(val, eval_bs, False, seed=0, what="val")
        test_loader = self._loader(test, eval_bs, False, seed=0, what="test")
        for split, data in (("val", val), ("test", test)):
            xy = _split_xy(data, split)
            if xy is not None:  # arrays: refuse NaN before any training time is spent
                check_finite_inputs(_as_array(xy[0]), f"Trainer.fit: the {split} inputs")
                check_finite_inputs(_as_array(xy[1], target=True), f"Trainer.fit: the {split} targets")
        self._named_params = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self._num_train_batches = len(loader) if hasattr(loader, "__len__") else None

        resuming = self._resume
        self._resume = False
        if resuming:
            self._apply_pending(loader)
        elif self._progress is not None and hasattr(loader, "load_state_dict"):
            # Interrupted mid-epoch in this process: the loader continues the same epoch.
            loader.load_state_dict(loader.state_dict())
            resuming = True
        if resuming:
            start, stop = self.epoch, max(self.epoch, int(epochs))
        else:
            start, stop = self.epoch, self.epoch + int(epochs)
        self._resuming = resuming
        self._target_epochs = stop
        self.stop_training = False
        self.interrupt_training = False

        for h in self._hooks("on_train_begin"):
            h(self)
        self._resuming = False
        logs: dict[str, Any] = {}
        try:
            for epoch in range(start, stop):
                logs = {}
                for h in self._hooks("on_epoch_begin"):
                    h(self, epoch, logs)
                done = self.train_epoch(loader, packed, epoch)
                if done is None:
                    break  # interrupted after a step; state_dict() captures the epoch so far
                train_logs, seconds, lr = done
                logs.update(train_logs)
                for split, ld in (("val", val_loader), ("test", test_loader)):
                    if ld[0] is not None:
                        for k, v in self._evaluate_loader(*ld, split).items():
                            logs[f"{split}_{k}"] = v
                if lr is not None:
                    logs["lr"] = lr
                logs["epoch_seconds"] = seconds
                self._record(logs)
                self.epoch = epoch + 1
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    step_scheduler(self.scheduler, logs, "val_loss" if "val_loss" in logs else "train_loss")
                for h in self._hooks("on_epoch_end"):
                    h(self, epoch, logs)
                if self.stop_training or self.interrupt_training:
                    break
        except BaseException:
            # A failed step (NaN guard, a bug, an unhandled ^C) leaves no resumable epoch.
            self._progress = None
            raise
        finally:
            for h in self._hooks("on_train_end"):
                h(self, logs)
        return self.history

    def _record(self, logs: dict[str, Any]) -> None:
        n_before = len(self.history.get("epoch_seconds", ()))
        for k, v in logs.items():
            # A key first seen now is padded with NaN so every list has one entry per epoch.
            self.history.setdefault(k, [float("nan")] * n_before).append(float(v))
        for k, lst in self.history.items():
            if k not in logs:
                lst.append(float("nan"))

    def _infer_task(self, train: Any) -> None:
        if self.task is not None:
            return
        fn = self.loss_fn
        fns = [f for f, _ in fn.values()] if isinstance(fn, dict) else [fn]
        names = " ".join(_loss_name(f) for f in fns)
        if any(k in names for k in _CLASSIFICATION_LOSSES):
            self.task = "classification"
            return
        if any(k in names for k in ("mse", "mae", "l1", "squared", "huber")):
            self.task = "regression"
            return
        xy = _split_xy(train, "train")
        if xy is not None and not isinstance(xy[1], dict):
            self.task = "classification" if np.asarray(xy[1]).dtype.kind in "iub" else "regression"

    # --- evaluation -----------------------------------------------------------------------
    def _evaluate_loader(self, loader: Any, packed: bool, what: str = "evaluation") -> dict[str, float]:
        model = self.model
        was_training = getattr(model, "training", False)
        model.eval()
        loss_sum, n_seen = 0.0, 0
        head_sums: dict[str, float] = {}
        metrics = None
        has_loss = True
        finite_out = True
        try:
            with no_grad():
                for batch in loader:
                    xb, yb, _ = _unpack(batch, packed)
                    check_finite_inputs(xb, f"Trainer: the {what} inputs", n_seen)
                    check_finite_inputs(yb, f"Trainer: the {what} targets", n_seen)
                    out = model(_to_input(xb))
                    n = _batch_size(yb, xb)
                    if finite_out:
                        outs = out.values() if isinstance(out, dict) else (out,)
                        finite_out = all(np.isfinite(_out_array(o)).all() for o in outs)
                    if yb is None:
                        has_loss = False
                        n_seen += n
                        continue
                    loss, parts = self._compute_loss(out, yb, None)
                    loss_sum += float(loss._data) * n
                    n_seen += n
                    if parts:
                        for k, v in parts.items():
                            head_sums[k] = head_sums.get(k, 0.0) + v * n
                    if metrics is None:
                        metrics = self._build_metrics(out, yb)
                    self._update_metrics(metrics, out, yb)
        finally:
            model.train(was_training)
        if n_seen == 0:
            raise KisonetValueError("Trainer: evaluation data yielded no batch")
        res: dict[str, float] = {}
        if has_loss:
            res["loss"] = loss_sum / n_seen
        for k, v in head_sums.items():
            res[f"{k}_loss"] = v / n_seen
        for key, _, m in metrics or ():
            # Outputs that overflowed have no class: an accuracy from them would be made up.
            res[key] = float(m.compute()) if finite_out else float("nan")
        return res

    def evaluate(self, data: Any, batch_size: int = 256) -> dict[str, float]:
        """Loss and metrics on ``data`` in eval mode without a graph: ``{'loss': ..., 'accuracy': ...}``."""
        xy = _split_xy(data, "evaluation")
        if xy is not None:  # arrays: the whole count of NaN/Inf in one message
            check_finite_inputs(_as_array(xy[0]), "Trainer.evaluate: the evaluation inputs")
            check_finite_inputs(_as_array(xy[1], target=True), "Trainer.evaluate: the evaluation targets")
        loader, packed = self._loader(data, batch_size, False, seed=0, what="evaluation")
        return self._evaluate_loader(loader, packed, "evaluation")

    def predict_raw(self, X: Any, batch_size: int = 256) -> Any:
        """The model's outputs (logits, values, or a dict of them) for ``X``, batch by batch, in eval mode."""
        if isinstance(X, Tensor):
            X = X.data
        X = _as_array(X)
        n = _length(X, "input")
        model = self.model
        was_training = getattr(model, "training", False)
        model.eval()
        outs: list[Any] = []
        try:
            with no_grad():
                for i in range(0, n, batch_size):
                    out = model(_to_input(_take(X, slice(i, i + batch_size))))
                    outs.append(
                        {k: _out_array(v) for k, v in out.items()} if isinstance(out, dict) else _out_array(out)
                    )
        finally:
            model.train(was_training)
        if not outs:
            raise KisonetValueError("Trainer.predict: X has no samples")
        if isinstance(outs[0], dict):
            return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
        return np.concatenate(outs)

    def _predict_one(self, z: np.ndarray) -> np.ndarray:
        classify = self.task == "classification" or (self.task is None and z.ndim == 2 and z.shape[1] > 1)
        if not classify:
            return z
        if z.ndim >= 2 and z.shape[-1] == 1:
            return (z[..., 0] > 0).astype(np.int64)
        return z.argmax(axis=-1)

    def predict(self, X: Any, batch_size: int = 256) -> Any:
        """Class indices (classification: arg-max of the logits) or values (regression)."""
        z = self.predict_raw(X, batch_size)
        if isinstance(z, dict):
            return {k: self._predict_one(v) for k, v in z.items()}
        return self._predict_one(z)

    def predict_proba(self, X: Any, batch_size: int = 256) -> Any:
        """Class probabilities: softmax of the logits (sigmoid for one logit column)."""
        z = self.predict_raw(X, batch_size)
        if isinstance(z, dict):
            return {k: _softmax(v) for k, v in z.items()}
        return _softmax(z)

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly at an epoch boundary: model, optimizer,
        scheduler, global RNG, training-loader state, history, counters and the state of
        callbacks that have one (EarlyStopping's best weights, ...)."""
        state: dict[str, Any] = {
            "model": self.model.state_dict(),
            "epoch": int(self.epoch),
            "global_step": int(self.global_step),
            "rng": get_rng_state(),
            "history": {k: np.asarray(v, dtype=np.float64) for k, v in self.history.items()},
        }
        if self.optimizer is not None:
            state["optimizer"] = self.optimizer.state_dict()
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        loader = self._train_loader[0] if self._train_loader else None
        if loader is not None and hasattr(loader, "state_dict"):
            state["loader"] = loader.state_dict()
        if self._progress is not None:
            inner = self._progress.state_dict()
            inner["metrics"] = {key: m.state_dict() for key, _, m in self._train_metrics or ()}
            state["in_epoch"] = inner
        cbs = {}
        for i, cb in enumerate(self.callbacks):
            if callable(getattr(cb, "state_dict", None)):
                cbs[f"{i}_{type(cb).__name__}"] = cb.state_dict()
        if cbs:
            state["callbacks"] = cbs
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the next :meth:`fit` continues the saved run
        (``epochs`` then counts from the start of the original run)."""
        if not isinstance(state, dict):
            raise KisonetTypeError(
                f"Trainer.load_state_dict: expected the dict of Trainer.state_dict(), got {type(state).__name__}"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.epoch = int(state["epoch"])
            self.global_step = int(state["global_step"])
            self.history = {k: [float(x) for x in np.asarray(v).reshape(-1)] for k, v in state["history"].items()}
        except KeyError as e:
            raise KisonetValueError(f"Trainer.load_state_dict: the state has no {e.args[0]!r} entry") from e
        if "optimizer" in state and self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state and self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        for i, cb in enumerate(self.callbacks):
            key = f"{i}_{type(cb).__name__}"
            if key in state.get("callbacks", {}) and callable(getattr(cb, "load_state_dict", None)):
                cb.load_state_dict(state["callbacks"][key])
        inner = state.get("in_epoch")
        self._progress = None if inner is None else _EpochProgress.from_state(inner)
        self._pending_metrics = None
        if inner is not None:
            metric_states = dict(inner.get("metrics", {}))
            if self._train_metrics is not None:
                for key, _, m in self._train_metrics:
                    if key in metric_states:
                        m.load_state_dict(metric_states[key])
            else:
                self._pending_metrics = metric_states
        # RNG and loader state are applied when fit() has built its loaders: building a
        # loader may draw from the global generator, which must not shift the restored state.
        self._pending_state = {"rng": state.get("rng"), "loader": state.get("loader")}
        self._resume = True
        if self._train_loader is not None:
            self._apply_pending(self._train_loader[0])

    def _apply_pending(self, loader: Any) -> None:
        pending, self._pending_state = self._pending_state, None
        if pending is None:
            return
        if pending.get("loader") is not None and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(pending["loader"])
        if pending.get("rng") is not None:
            set_rng_state(pending["rng"])

    def __repr__(self) -> str:
        loss = "dict" if isinstance(self.loss_fn, dict) else _loss_name(self.loss_fn)
        return (
            f"Trainer(model={type(self.model).__name__}, loss={loss}, "
            f"optimizer={type(self.optimizer).__name__}, epoch={self.epoch})"
        )
