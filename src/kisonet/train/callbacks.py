"""Callbacks: code that runs at fixed points of :meth:`Trainer.fit`.

The hook points, in the order one epoch calls them::

    on_train_begin(trainer)
      on_epoch_begin(trainer, epoch, logs)          # epoch is 0-based
        on_batch_begin(trainer, batch, logs)        # batch index within the epoch
          forward, loss, zero_grad, backward
          on_backward_end(trainer)                  # gradients are in p.grad: average them
                                                    # across workers, mask pruned weights, ...
          gradient clipping, NaN/Inf guard, optimizer.step()
          on_step_end(trainer)                      # parameters updated: re-apply masks, EMA, ...
        on_batch_end(trainer, batch, logs)          # logs: {'loss': float, 'size': n}
      validation / test evaluation, epoch scheduler step
      on_epoch_end(trainer, epoch, logs)            # logs: this epoch's {split}_{metric} values
    on_train_end(trainer, logs)

At every hook the callbacks run by their ``order`` (lower first; equal orders keep the
list order).  The history is recorded by a callback too, :class:`~kisonet.train.History`,
at ``order = HISTORY_ORDER`` (50): a callback below it (the default, 0) may add figures to
``logs`` at epoch end and they are recorded; a callback at ``AFTER_HISTORY`` (100) sees
``trainer.history`` with the epoch in it (the progress bar, CSVLogger, ModelCheckpoint,
TerminateOnNaN do).  See :mod:`kisonet.train.history`.

What a callback may read of the trainer: ``model``, ``optimizer``, ``scheduler``,
``history``, ``epoch`` (completed epochs), ``global_step``, ``max_epochs``,
``num_train_batches``, ``resuming``, ``interrupted``, ``lr``, ``train_loader``,
``live_metric()``, ``state_dict()``; and it may set ``stop_training`` / ``interrupt_training``.

Setting ``trainer.stop_training = True`` in any hook ends training after the
current epoch; ``trainer.interrupt_training = True`` (a ^C handler) ends it
after the current step, and ``trainer.state_dict()`` then holds the partial
epoch so a resumed run finishes it exactly.  A callback with state worth resuming implements
``state_dict()`` / ``load_state_dict()``; the Trainer saves it with its own.
Only hooks a callback overrides are called, so empty hooks cost nothing per step.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KisonetValueError, NumericalError, unknown_name
from ..i18n import gettext
from ..lang import tr
from ..validation import check_choice, check_int, check_positive

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = [
    "AFTER_HISTORY",
    "HISTORY_ORDER",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "CSVLogger",
    "ProgressBar",
    "LRSchedulerCallback",
    "TerminateOnNaN",
    "LambdaCallback",
    "LayerGradNorms",
]

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_backward_end",
    "on_step_end",
)


#: ``Callback.order`` of the History recorder: callbacks below it may add to the epoch's logs.
HISTORY_ORDER = 50
#: ``Callback.order`` of callbacks that read the recorded history (reporting, checkpoints).
AFTER_HISTORY = 100


class Callback:
    """Base class: override any of the hooks below (all do nothing by default).

    ``order`` places the callback among the others at every hook (lower first, ties in
    list order): below ``HISTORY_ORDER`` (the default 0) what it adds to the epoch's logs is
    recorded in the history; at ``AFTER_HISTORY`` it sees the history with the epoch in it.
    """

    order: int = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch of :meth:`Trainer.fit`."""

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        """After the last epoch (also when stopped early); ``logs`` are the last epoch's values."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        """Before the first batch of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        """After training and evaluating epoch ``epoch``; ``logs`` maps history keys to values."""

    def on_batch_begin(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        """Before the forward pass of batch ``batch`` (index within the epoch)."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        """After the update; ``logs['loss']`` is the batch loss, ``logs['size']`` its sample count."""

    def on_backward_end(self, trainer: Trainer) -> None:
        """Gradients are in ``p.grad`` and may be modified in place (averaging, masks)."""

    def on_step_end(self, trainer: Trainer) -> None:
        """Right after ``optimizer.step()``: parameters may be modified in place (masks)."""


def _overrides(cb: Any, hook: str) -> bool:
    fn = getattr(type(cb), hook, None)
    return fn is not None and fn is not getattr(Callback, hook, None)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda t, e, logs: ...)``.

    ``order=AFTER_HISTORY`` for a function that reads ``trainer.history`` at epoch end
    (writes it to a file, say); the default 0 runs it before the history is recorded.
    """

    def __init__(self, order: int = 0, **hooks: Any) -> None:
        self.order = int(order)
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise unknown_name(tr("callback hook"), name, HOOKS)
            setattr(self, name, fn)
        self._hooks = set(hooks)

    def overrides(self, hook: str) -> bool:
        return hook in self._hooks


def ordered(callbacks: Any) -> list[Any]:
    """The callbacks in the order the Trainer calls them: by ``order``, ties in list order."""
    return sorted(callbacks, key=lambda cb: getattr(cb, "order", 0))


def callback_overrides(cb: Any, hook: str) -> bool:
    """True when ``cb`` implements ``hook`` (so the Trainer calls it)."""
    if isinstance(cb, LambdaCallback):
        return cb.overrides(hook)
    if isinstance(cb, Callback):
        return _overrides(cb, hook)
    return callable(getattr(cb, hook, None))


# --------------------------------------------------------------------------------------


def _resolve_mode(monitor: str, mode: str) -> str:
    check_choice(f"monitor {monitor!r}", "mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    # Scores where larger is better; everything else (loss, errors) is minimised.
    name = monitor.split("_", 1)[-1].lower()
    higher = ("acc", "accuracy", "f1", "precision", "recall", "r2", "auc")
    return "max" if name in higher or name.startswith("top") or name.endswith(higher) else "min"


def _monitored(logs: dict[str, Any], monitor: str, who: str) -> float:
    if monitor not in logs:
        raise unknown_name(tr("{0} monitor", who), monitor, logs.keys())
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of a monitored quantity (shared by EarlyStopping and ModelCheckpoint)."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when the monitored quantity stops improving; keep the best weights.

    The notes' algorithm: every ``check_every`` epochs (the period, 周期) look at the
    validation figure; when it has not improved for ``patience`` consecutive checks
    (the length, 期間の長さ) stop, and take the parameters of the best check.

    ``criterion="increases"`` is the notes' other rule: stop once the figure got *worse than at
    the previous check* ``patience`` checks in a row (Keio lecture 4, "早期終了の基準例": "N
    エポック間、検証集合に関する誤差関数が増加"; E-cert DAY 2, "早期終了のアルゴリズム": "どの位の
    ステップ数で検証誤差が連続して増加すれば学習を停止するか").  A fall in between restarts the
    count, so a noisy curve that drifts upwards can run longer than with ``"patience"``, which
    counts checks without a new best.  ``restore_best`` restores the best check in both.

    Args:
        monitor: a history key, e.g. ``'val_loss'`` or ``'val_accuracy'``.
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracy-like names, else min).
        patience: checks without improvement tolerated before stopping (>= 0); with
            ``criterion="increases"``, the number of consecutive increases that stops (>= 1).
        min_delta: an improvement must beat the best by more than this.
        check_every: epochs between checks (1 = every epoch).
        restore_best: at the end of training load the weights of the best check
            (a ``state_dict`` copy taken at that check).
        criterion: ``'patience'`` (checks since the best, Keras/PyTorch-Lightning's rule) or
            ``'increases'`` (consecutive worsenings, the notes' "N consecutive increases").
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        check_every: int = 1,
        restore_best: bool = True,
        criterion: str = "patience",
    ) -> None:
        check_choice("EarlyStopping", "criterion", criterion, ("patience", "increases"))
        patience = check_int("EarlyStopping", "patience", patience, low=0)
        if criterion == "increases" and patience < 1:
            raise KisonetValueError(tr("EarlyStopping: criterion='increases' needs patience >= 1 (increases in a row)"))
        self.criterion = criterion
        check_every = check_int("EarlyStopping", "check_every", check_every)
        min_delta = check_positive("EarlyStopping", "min_delta", min_delta, allow_zero=True)
        self._tracker = _Monitor(monitor, mode, min_delta)
        self.monitor = monitor
        self.mode = self._tracker.mode
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.check_every = int(check_every)
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self._tracker.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.previous: float | None = None  # the last check's value ("increases")
        self.best_epoch: int | None = None  # 0-based epoch of the best check
        self.stopped_epoch: int | None = None  # 0-based epoch at which training was stopped
        self.best_state: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_train_begin(self, trainer: Trainer) -> None:
        if not trainer.resuming:
            self._reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if (epoch + 1) % self.check_every:
            return
        value = _monitored(logs, self.monitor, "EarlyStopping")
        improved = self._tracker.improved(value)
        if improved:
            self._tracker.best = value
            self.best_epoch = epoch
            if self.restore_best:
                self.best_state = trainer.model.state_dict()  # array copies
        if self.criterion == "increases":
            previous, self.previous = self.previous, value
            worse = previous is not None and (
                math.isnan(value)
                or (value > previous + self.min_delta if self.mode == "min" else value < previous - self.min_delta)
            )
            self.wait = self.wait + 1 if worse else 0
        elif improved:
            self.wait = 0
            return
        else:
            self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        # A run interrupted (^C) before its last epoch keeps its current weights: it is
        # checkpointed and resumed from exactly there, and restores the best at its real end.
        if self.restore_best and self.best_state is not None and not trainer.interrupted:
            trainer.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self._tracker.best,
            "wait": self.wait,
            "previous": math.nan if self.previous is None else self.previous,
            "best_epoch": -1 if self.best_epoch is None else self.best_epoch,
            "best_state": dict(self.best_state) if self.best_state is not None else {},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._tracker.best = float(state["best"])
        self.wait = int(state["wait"])
        previous = float(state.get("previous", math.nan))  # absent in checkpoints from before "increases"
        self.previous = None if math.isnan(previous) else previous
        self.best_epoch = None if int(state["best_epoch"]) < 0 else int(state["best_epoch"])
        self.best_state = {k: np.array(v, copy=True) for k, v in state["best_state"].items()} or None


class ModelCheckpoint(Callback):
    """Save the model (or the whole trainer state) after epochs, atomically.

    Files are written with :func:`kisonet.save`, which writes a temporary file,
    fsyncs it and renames it over the target, so a crash or an exception
    mid-save leaves the previous checkpoint intact and loadable.

    Args:
        path: file name; may contain ``{epoch}`` (1-based) and history keys,
            e.g. ``'ckpt-{epoch:03d}-{val_loss:.3f}.npz'``.
        monitor, mode: what "best" means for ``save_best_only``.
        save_best_only: write only when the monitored value improves.
        save_weights_only: save ``model.state_dict()`` (default) or, when False, the
            full :meth:`Trainer.state_dict` (optimizer, scheduler, RNG, loader,
            history) so a run can resume exactly.
        every: save every ``every`` epochs.

    Runs after the history is recorded (``order = AFTER_HISTORY``), so a full checkpoint
    holds the epoch's history row; weights with NaN/Inf are never saved.
    """

    order = AFTER_HISTORY

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best_only: bool = False,
        save_weights_only: bool = True,
        every: int = 1,
    ) -> None:
        every = check_int("ModelCheckpoint", "every", every)
        self.path = os.fspath(path)
        self._tracker = _Monitor(monitor, mode, 0.0)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.every = int(every)
        self.last_path: str | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if (epoch + 1) % self.every:
            return
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self._tracker.improved(value):
                return
            self._tracker.best = value
        from .numerics import describe_nonfinite, nonfinite_parameters

        bad = nonfinite_parameters(trainer.model)
        if bad:  # a checkpoint is only ever a good one: the previous file stays
            raise NumericalError(
                tr(
                    "ModelCheckpoint: not saving epoch {0}: {1}; the last good checkpoint is {2!r}",
                    epoch + 1,
                    describe_nonfinite(bad),
                    self.last_path,
                )
            )
        path = self.path.format(epoch=epoch + 1, **logs)
        obj = trainer.model.state_dict() if self.save_weights_only else trainer.state_dict()
        from ..serialization import save

        _make_parent(path)
        save(obj, path, kind="state" if self.save_weights_only else "checkpoint")
        self.last_path = path

    def state_dict(self) -> dict[str, Any]:
        return {"best": self._tracker.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._tracker.best = float(state["best"])


class CSVLogger(Callback):
    """Write the history to a CSV file after every epoch (one row per epoch).

    Columns: ``epoch`` (1-based) then the history keys.  The whole file is
    rewritten atomically each epoch (histories are small), so it is always
    complete and readable even if training is killed.  Runs after the history is recorded.
    """

    order = AFTER_HISTORY

    def __init__(self, path: str | os.PathLike, separator: str = ",") -> None:
        self.path = os.fspath(path)
        self.separator = separator

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        self.write(trainer.history)

    def write(self, history: dict[str, list]) -> None:
        keys = list(history)
        n = max((len(v) for v in history.values()), default=0)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=self.separator, lineterminator="\n")
        w.writerow(["epoch", *keys])
        for i in range(n):
            row = [i + 1]
            for k in keys:
                v = history[k]
                row.append(repr(float(v[i])) if i < len(v) and v[i] is not None else "")
            w.writerow(row)
        from ..io import atomic_write

        _make_parent(self.path)
        with atomic_write(self.path, "w") as f:
            f.write(buf.getvalue())


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler per ``'step'`` or per ``'epoch'``.

    Equivalent to ``Trainer(scheduler=..., scheduler_interval=...)``; useful to
    drive a second scheduler.  A scheduler that needs a metric (``needs_metric``, as
    ``ReduceLROnPlateau``) is given ``logs[monitor]`` at the end of each epoch.
    """

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str = "val_loss") -> None:
        check_choice("LRSchedulerCallback", "interval", interval, ("epoch", "step"))
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def on_step_end(self, trainer: Trainer) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self.interval == "epoch":
            from ..optim.lr_scheduler import step_scheduler

            step_scheduler(self.scheduler, logs, self.monitor)

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class TerminateOnNaN(Callback):
    """Raise :class:`~kisonet.errors.NumericalError` when an epoch's logged value is NaN/Inf
    (e.g. a validation loss); the step-level guard is built into the Trainer.  Runs after the
    history is recorded, so the bad epoch is in it for diagnosis."""

    order = AFTER_HISTORY

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        for k, v in logs.items():
            if isinstance(v, float) and not math.isfinite(v) and k != "epoch_seconds":
                raise NumericalError(tr("epoch {0}: {1} is {2}; training stopped", epoch + 1, k, v))


class LayerGradNorms(Callback):
    """Record ``||dE/dW_l||_F`` of every weight matrix / filter bank (layer 1 = next to the input).

    After each backward pass the Frobenius norm of each weight's gradient is taken; the epoch's
    mean goes into the epoch's logs (so into ``trainer.history`` and ``history.csv``) as
    ``grad_norm_l1``, ``grad_norm_l2``, ...  ``first_step`` keeps the norms of the very first
    step: at initialisation, where vanishing gradients show most plainly.  Biases and 1-D
    parameters (batch-norm scales) are left out.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.first_step: list[float] | None = None
        self._sums: np.ndarray | None = None
        self._steps = 0
        self._logs: dict[str, Any] | None = None

    def _weights(self, trainer: Trainer) -> list[Any]:
        named = [(n, p) for n, p in trainer.model.named_parameters() if p.requires_grad and p.ndim >= 2]
        self.names = [n for n, _ in named]
        return [p for _, p in named]

    def on_epoch_begin(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        self._logs, self._sums, self._steps = logs, None, 0

    def on_backward_end(self, trainer: Trainer) -> None:
        norms = np.array([0.0 if p.grad is None else float(np.linalg.norm(p.grad)) for p in self._weights(trainer)])
        if self.first_step is None:
            self.first_step = norms.tolist()
        self._sums = norms if self._sums is None else self._sums + norms
        self._steps += 1
        if self._logs is not None:  # the epoch's logs are recorded after the epoch: keep the running mean there
            for i, v in enumerate(self._sums / self._steps):
                self._logs[f"grad_norm_l{i + 1}"] = float(v)


_BAR_COLUMNS = 80  # the bar and its figures fit a default terminal (and a narrower one, cut)
_SHORT = {"accuracy": "acc"}


def _short_key(key: str) -> str:
    """``train_accuracy`` -> ``acc``, ``val_loss`` -> ``val_loss``: a bar has little room."""
    split, _, name = key.partition("_")
    name = _SHORT.get(name, name)
    return name if split == "train" else f"{split}_{name}"


def format_epoch_line(epoch: int, epochs: int, logs: dict[str, Any]) -> str:
    """One plain line for an epoch: ``epoch 3/10: train_loss 0.2345, val_accuracy 0.9250, ... (1.2 s)``."""
    parts = []
    for k, v in logs.items():
        if k == "epoch_seconds" or not isinstance(v, (int, float)):
            continue
        parts.append(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}")
    secs = logs.get("epoch_seconds")
    tail = f" ({secs:.1f} s)" if isinstance(secs, (int, float)) else ""
    return f"{gettext('epoch')} {epoch + 1}/{epochs}: " + ", ".join(parts) + tail


class ProgressBar(Callback):
    """Progress that suits where the output goes.

    * On a terminal (stderr is a tty) or in Jupyter: a ``tqdm.auto`` bar per epoch with
      the live mean loss and first metric, at most 80 columns wide; when the epoch ends
      the bar keeps its train/val figures (all of them are in the history).
    * When stdout is not a terminal and not a notebook kernel (``kisonet train > log``,
      ``!kisonet train`` in Jupyter, CI): one plain line per epoch on stdout, flushed,
      with every figure of the epoch (``lines=True``/``False`` forces it on/off).

    With stdout redirected and stderr on a terminal, both appear: the bar on the terminal,
    the lines in the file.  The bar's text is refreshed at most every ``refresh`` seconds,
    so it adds almost nothing to a training step.  ``force=True`` shows the bar anywhere.
    One bar shared by the trainers of several models (an ensemble's members, self-training's
    rounds) numbers them with ``fit_label``: ``member 2: epoch 3/10: ...``; ``label`` names the
    model every line is about: ``label="denoising AE"`` gives ``denoising AE: epoch 3/10: ...``.
    """

    order = AFTER_HISTORY  # the epoch's figures, callbacks' additions included, are final

    def __init__(
        self,
        refresh: float = 0.25,
        force: bool = False,
        leave: bool = True,
        lines: bool | None = None,
        fit_label: str | None = None,
        label: str | None = None,
    ) -> None:
        self.refresh = float(refresh)
        self.force = bool(force)
        self.leave = bool(leave)
        self.lines = lines
        self.fit_label = fit_label
        self.label = label
        self.fits = 0
        self._bar = None

    def on_train_begin(self, trainer: Trainer) -> None:
        if not trainer.resuming:
            self.fits += 1

    def _prefix(self) -> str:
        names = [n for n in (self.label, f"{self.fit_label} {self.fits}" if self.fit_label else None) if n]
        return f"{' '.join(names)}: " if names else ""

    def _enabled(self) -> bool:
        if self.force or "ipykernel" in sys.modules:
            return True
        return bool(getattr(sys.stderr, "isatty", lambda: False)())

    def _lines_enabled(self) -> bool:
        if self.lines is not None:
            return bool(self.lines)
        if "ipykernel" in sys.modules:  # the notebook widget already shows every epoch
            return False
        return not bool(getattr(sys.stdout, "isatty", lambda: False)())

    def on_epoch_begin(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if not self._enabled():
            self._bar = None
            return
        from tqdm.auto import tqdm

        kwargs: dict[str, Any] = {}
        if "ipykernel" not in sys.modules:
            import shutil

            kwargs["ncols"] = min(_BAR_COLUMNS, shutil.get_terminal_size((_BAR_COLUMNS, 24)).columns)
        width = len(str(trainer.max_epochs))
        self._bar = tqdm(
            total=trainer.num_train_batches,
            desc=f"{self._prefix()}{gettext('epoch')} {epoch + 1:>{width}}/{trainer.max_epochs}",
            leave=self.leave,
            unit="batch",
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}",
            **kwargs,
        )
        self._loss_sum = 0.0
        self._n = 0
        self._last = 0.0

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        bar = self._bar
        if bar is None:
            return
        self._loss_sum += logs["loss"] * logs["size"]
        self._n += logs["size"]
        bar.update(1)
        now = time.perf_counter()
        if now - self._last >= self.refresh:
            self._last = now
            post = f"{gettext('loss')} {self._loss_sum / max(self._n, 1):.4f}"
            live = trainer.live_metric()
            if live is not None:
                post += f" {_short_key('train_' + live[0])} {live[1]:.4f}"
            bar.set_postfix_str(post, refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self._lines_enabled():
            print(self._prefix() + format_epoch_line(epoch, trainer.max_epochs, logs), file=sys.stdout, flush=True)
        bar = self._bar
        if bar is None:
            return
        # The finished bar keeps the epoch's train and val figures; test figures and per-head
        # losses are in the history (and the plain lines), not squeezed into 80 columns.
        shown = [
            f"{_short_key(k)} {v:.4f}"
            for k, v in logs.items()
            if k.split("_", 1)[0] in ("train", "val") and isinstance(v, (int, float)) and k.count("_") == 1
        ]
        bar.bar_format = "{desc} [{elapsed}]{postfix}"
        bar.set_postfix_str(" ".join(shown), refresh=False)
        bar.close()
        self._bar = None

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _make_parent(path: str) -> None:
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
