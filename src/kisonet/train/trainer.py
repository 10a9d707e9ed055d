"""``Trainer``: the notes' mini-batch training loop, with evaluation, history and callbacks.

    trainer = kn.train.Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1))
    trainer.fit(X, y, val=(X_val, y_val), epochs=20)     # or fit((X, y), ...), a dataset, a loader
    trainer.evaluate((X_test, y_test))                   # {'loss': ..., 'accuracy': ...}

The Trainer is assembled from parts, each in its own module of :mod:`kisonet.train`:

* :mod:`~kisonet.train.adapters`: arrays, ``fit(X, y)``, datasets and loaders into batches;
* :mod:`~kisonet.train.objective`: the loss (per head, sample-weighted) and the metrics;
* :mod:`~kisonet.train.loop`: one epoch of mini-batch SGD (with the NaN/Inf guard and
  clipping) and the evaluation pass;
* :mod:`~kisonet.train.history`: the :class:`History` callback that records every epoch's
  figures, at a defined place among the callbacks;
* :mod:`~kisonet.train.resume`: ``state_dict`` / ``load_state_dict`` for exact resume;
* :mod:`~kisonet.train.callbacks`: the hook points and the stock callbacks.

``trainer.history`` is a dict of per-epoch lists keyed ``{split}_{metric}``
(``train_loss``, ``val_accuracy``, ``test_loss``, ...) plus ``lr`` and ``epoch_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import KisonetTypeError, KisonetValueError, unknown_name
from ..lang import N_, tr
from ..optim.lr_scheduler import step_scheduler
from ..random import manual_seed
from ..validation import check_callable, check_choice, check_int, check_positive
from .adapters import (
    Batches,
    as_array,
    check_finite_pair,
    length,
    make_batches,
    output_array,
    take,
    to_input,
    train_pair,
)
from .callbacks import HOOKS, Callback, ProgressBar, callback_overrides, ordered
from .history import History
from .loop import TrainLoop
from .objective import DEFAULT_METRICS, Objective
from .resume import ResumeState

__all__ = ["Trainer", "step_scheduler"]


def _check_clip(clip: Any) -> tuple[str, float] | None:
    if clip is None:
        return None
    if isinstance(clip, dict):
        if len(clip) != 1:
            raise KisonetValueError(tr("Trainer: grad_clip dict must have one key 'norm' or 'value', got {0!r}", clip))
        kind, c = next(iter(clip.items()))
        check_choice("Trainer", "grad_clip kind", kind, ("norm", "value"))
    else:
        kind, c = "norm", clip
    return kind, check_positive("Trainer", "grad_clip", c)


def _softmax(z: np.ndarray) -> np.ndarray:
    if z.ndim >= 2 and z.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class _Fit:
    """What the current (or last) :meth:`Trainer.fit` call set up."""

    __slots__ = ("batches", "key", "num_batches", "max_epochs", "resuming")

    def __init__(self) -> None:
        self.batches: Batches | None = None  # the training loader, kept across fit() calls
        self.key: Any = None  # what it was built from: rebuilt when that changes
        self.num_batches: int | None = None
        self.max_epochs = 0
        self.resuming = False


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
        callbacks: :class:`Callback` objects (see :mod:`kisonet.train.callbacks` for the
            hooks and the order they run in).
        scheduler: a learning-rate schedule stepped every ``scheduler_interval``
            (``'epoch'`` or ``'step'``); one that ``needs_metric``
            (:class:`~kisonet.optim.lr_scheduler.ReduceLROnPlateau`) gets ``val_loss``
            (``train_loss`` without a validation set).
        regularizer: ``fn(model) -> 0-d Tensor`` added to the loss (``kisonet.regularizers.L2``).
        grad_clip: clip gradients before each step: a number (max global L2 norm),
            ``{'norm': c}`` or ``{'value': c}`` (elementwise to [-c, c]).
        progress: report progress (:class:`ProgressBar`: a bar on a terminal or in Jupyter,
            one plain line per epoch when stdout is a file or a pipe).
        seed: seeds ``kisonet.random`` and the training loader's shuffling.
        task: ``'classification'`` or ``'regression'`` (what :meth:`predict` returns);
            inferred from the loss or the targets when None.

    What callbacks may read is public and read-only: :attr:`history`, :attr:`epoch`,
    :attr:`global_step`, :attr:`max_epochs`, :attr:`num_train_batches`, :attr:`resuming`,
    :attr:`interrupted`, :attr:`lr`, :attr:`train_loader`, :meth:`live_metric`.
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
        check_choice("Trainer", "scheduler_interval", scheduler_interval, ("epoch", "step"))
        if task not in (None, "classification", "regression"):
            raise unknown_name(tr("task"), task, ("classification", "regression"))
        if regularizer is not None:
            check_callable("Trainer", "regularizer", regularizer, "callable(model) -> Tensor")
        self.model = model
        self.objective = Objective(loss, metrics)
        self.optimizer = optimizer
        self.callbacks: list[Any] = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not any(callable(getattr(cb, h, None)) for h in HOOKS):
                raise KisonetTypeError(tr("Trainer: {0} is not a Callback", type(cb).__name__))
        if progress and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            self.callbacks.append(ProgressBar())
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.regularizer = regularizer
        self.grad_clip = _check_clip(grad_clip)
        self.seed = seed
        self.task = task
        if seed is not None:
            manual_seed(seed)

        self.epoch = 0  # completed epochs
        self.global_step = 0  # optimizer steps taken
        self.stop_training = False  # set by a callback: stop after the current epoch
        self.interrupt_training = False  # set by a ^C handler: stop after the current step
        self._history = History()
        self._loop = TrainLoop(self)
        self._resume = ResumeState()
        self._fit = _Fit()

    def _hooks(self, name: str) -> list[Callable]:
        """The callbacks' ``name`` hooks, History's included, in callback order."""
        return [getattr(cb, name) for cb in ordered([*self.callbacks, self._history]) if callback_overrides(cb, name)]

    # --- what callbacks read (read-only) ---------------------------------------------------
    @property
    def history(self) -> dict[str, list[float]]:
        """``{key: [value per epoch]}``, recorded by :class:`~kisonet.train.History`."""
        return self._history.history

    @history.setter
    def history(self, value: dict[str, list[float]]) -> None:
        self._history.history = value

    @property
    def loss_fn(self) -> Any:
        """The resolved loss (a callable, or ``{head: (fn, weight)}``)."""
        return self.objective.loss_fn

    @property
    def metrics_spec(self) -> Any:
        return self.objective.metrics_spec

    @property
    def num_train_batches(self) -> int | None:
        """Batches per training epoch of the current :meth:`fit` (None for a loader without ``len``)."""
        return self._fit.num_batches

    @property
    def max_epochs(self) -> int:
        """The epoch count the current :meth:`fit` runs to (epochs are numbered 1..max_epochs)."""
        return self._fit.max_epochs

    @property
    def resuming(self) -> bool:
        """True during ``on_train_begin`` when this :meth:`fit` continues a restored or interrupted
        run (callbacks then keep their state instead of starting afresh)."""
        return self._fit.resuming

    @property
    def interrupted(self) -> bool:
        """True when :attr:`interrupt_training` ended :meth:`fit` before its last epoch (a
        resumable stop: the weights stay as they are, nothing is finalised)."""
        return self.interrupt_training and not self.stop_training and self.epoch < self._fit.max_epochs

    @property
    def lr(self) -> float | None:
        """The learning rate of the optimizer's first parameter group now (None without one)."""
        groups = getattr(self.optimizer, "param_groups", None)
        if groups:
            return float(groups[0]["lr"])
        return None

    @property
    def train_loader(self) -> Any:
        """The DataLoader of the last :meth:`fit` (its state is part of :meth:`state_dict`)."""
        return self._fit.batches.loader if self._fit.batches else None

    def live_metric(self) -> tuple[str, float] | None:
        """The first training metric's running value (for the progress bar)."""
        return self._loop.live_metric()

    # --- fit --------------------------------------------------------------------------------
    def fit(
        self,
        train: Any,
        y: Any = None,
        val: Any = None,
        test: Any = None,
        epochs: int = 10,
        batch_size: int = 32,
        sample_weight: Any = None,
        shuffle: bool = True,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> dict[str, list[float]]:
        """Train for ``epochs`` epochs and return the history (also ``self.history``).

        ``fit(X, y, ...)`` takes arrays (the scikit-learn/Keras habit); ``fit(train, ...)``
        takes an ``(X, y)`` pair, a dataset or a DataLoader, and so do ``val`` and ``test``
        (keyword arguments).  ``batch_size``, ``shuffle``, ``transform`` and ``sample_weight``
        apply to the loaders built here (``transform`` to training batches only).  Calling
        ``fit`` again continues training for ``epochs`` more epochs; after
        :meth:`load_state_dict`, or after :attr:`interrupt_training` stopped a run
        mid-epoch, it continues that run up to ``epochs`` in total.
        """
        if self.optimizer is None:
            raise KisonetValueError(tr("Trainer.fit: no optimizer was given"))
        epochs = check_int("Trainer.fit", "epochs", epochs, low=0)
        batch_size = check_int("Trainer.fit", "batch_size", batch_size)
        train = train_pair(train, y)
        if self.task is None:
            self.task = self.objective.infer_task(train)
        run, loop = self._fit, self._loop
        ident = tuple(id(a) for a in train) if isinstance(train, tuple) else id(train)
        key = (ident, batch_size, shuffle, id(transform), id(sample_weight))
        # Weights are normalised into the loader's dataset: rebuild it each call, since
        # a caller such as AdaBoost may update the same weight array in place.
        if run.batches is None or run.key != key or (sample_weight is not None and loop.progress is None):
            # batch norm cannot normalise a lone last sample: the loader merges it (and says so once)
            bn = any("BatchNorm" in type(m).__name__ for m in self.model.modules())
            run.batches = make_batches(train, batch_size, shuffle, transform, sample_weight, self.seed, merge_last=bn)
            run.key = key
        loader, packed = run.batches
        eval_bs = max(batch_size, 256)
        val_batches = make_batches(val, eval_bs, False, seed=0, what="val")
        test_batches = make_batches(test, eval_bs, False, seed=0, what="test")
        for split, data in (("val", val), ("test", test)):
            check_finite_pair(data, "Trainer.fit", split)  # before any training time is spent
        loop.named_params = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        run.num_batches = len(loader) if hasattr(loader, "__len__") else None

        resuming = self._resume.armed
        self._resume.armed = False
        if resuming:
            self._resume.apply_pending(loader)
        elif loop.progress is not None and hasattr(loader, "load_state_dict"):
            # Interrupted mid-epoch in this process: the loader continues the same epoch.
            loader.load_state_dict(loader.state_dict())
            resuming = True
        start = self.epoch
        stop = max(self.epoch, int(epochs)) if resuming else self.epoch + int(epochs)
        run.resuming = resuming
        run.max_epochs = stop
        self.stop_training = False
        self.interrupt_training = False

        for h in self._hooks("on_train_begin"):
            h(self)
        run.resuming = False
        logs: dict[str, Any] = {}
        try:
            for epoch in range(start, stop):
                logs = {}
                for h in self._hooks("on_epoch_begin"):
                    h(self, epoch, logs)
                done = loop.run_epoch(loader, packed, epoch)
                if done is None:
                    break  # interrupted after a step; state_dict() captures the epoch so far
                train_logs, seconds, lr = done
                logs.update(train_logs)
                for split, b in (("val", val_batches), ("test", test_batches)):
                    if b.loader is not None:
                        for k, v in loop.evaluate(b.loader, b.packed, split).items():
                            logs[f"{split}_{k}"] = v
                if lr is not None:
                    logs["lr"] = lr
                logs["epoch_seconds"] = seconds
                self.epoch = epoch + 1
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    step_scheduler(self.scheduler, logs, "val_loss" if "val_loss" in logs else "train_loss")
                for h in self._hooks("on_epoch_end"):  # History records logs at HISTORY_ORDER
                    h(self, epoch, logs)
                if self.stop_training or self.interrupt_training:
                    break
        except BaseException:
            # A failed step (NaN guard, a bug, an unhandled ^C) leaves no resumable epoch.
            loop.progress = None
            raise
        finally:
            for h in self._hooks("on_train_end"):
                h(self, logs)
        return self.history

    def train_epoch(self, loader: Any, packed: bool, epoch: int) -> tuple[dict[str, float], float, Any] | None:
        """One pass over ``loader`` (see :meth:`kisonet.train.loop.TrainLoop.run_epoch`)."""
        return self._loop.run_epoch(loader, packed, epoch)

    # --- evaluation and prediction -----------------------------------------------------------
    def evaluate(self, data: Any, y: Any = None, batch_size: int = 256) -> dict[str, float]:
        """Loss and metrics on ``data`` (or ``evaluate(X, y)``) in eval mode without a graph:
        ``{'loss': ..., 'accuracy': ...}``.  Inputs or targets with NaN/Inf are refused."""
        data = train_pair(data, y, "Trainer.evaluate")
        check_finite_pair(data, "Trainer.evaluate", "evaluation")  # the whole count in one message
        b = make_batches(data, batch_size, False, seed=0, what="evaluation")
        return self._loop.evaluate(b.loader, b.packed, "evaluation")

    def predict_raw(self, X: Any, batch_size: int = 256) -> Any:
        """The model's outputs (logits, values, or a dict of them) for ``X``, batch by batch, in eval mode."""
        X = as_array(X)
        n = length(X, N_("input"))
        model = self.model
        was_training = getattr(model, "training", False)
        model.eval()
        outs: list[Any] = []
        try:
            with no_grad():
                for i in range(0, n, batch_size):
                    out = model(to_input(take(X, slice(i, i + batch_size))))
                    outs.append(
                        {k: output_array(v) for k, v in out.items()} if isinstance(out, dict) else output_array(out)
                    )
        finally:
            model.train(was_training)
        if not outs:
            raise KisonetValueError(tr("Trainer.predict: X has no samples"))
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
        """Everything needed to resume exactly: model, optimizer, scheduler, global RNG,
        training-loader state, history, counters, an interrupted epoch's running sums and
        the state of callbacks that have one (see :mod:`kisonet.train.resume`)."""
        return self._resume.state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the next :meth:`fit` continues the saved run
        (``epochs`` then counts from the start of the original run)."""
        self._resume.load_state_dict(self, state)

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self.model).__name__}, loss={self.objective.describe()}, "
            f"optimizer={type(self.optimizer).__name__}, epoch={self.epoch})"
        )
