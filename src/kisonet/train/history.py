"""The history: every epoch's figures, recorded by a callback at a fixed place in the order.

``trainer.history`` is ``{key: [value per epoch]}`` with keys ``{split}_{metric}``
(``train_loss``, ``val_accuracy``, ``test_loss``, per-head ``train_digit_loss``, ...) plus
``lr`` (at the epoch's start) and ``epoch_seconds``.  It is written by :class:`History`,
a callback the Trainer always runs at ``order = HISTORY_ORDER`` (50):

1. callbacks with a lower ``order`` (the default, 0: your callbacks, EarlyStopping, the
   data-parallel averaging of the epoch figures) see the epoch's ``logs`` first; what they
   add to or change in ``logs`` is what is recorded;
2. History appends ``logs`` to the history (a key first seen later is padded with NaN
   for the earlier epochs; a key missing this epoch gets NaN, so every list has one
   entry per epoch);
3. callbacks with a higher ``order`` (``AFTER_HISTORY``, 100: the progress bar, CSVLogger,
   ModelCheckpoint, LivePlot, run-folder writers) see ``trainer.history`` with this epoch in it.

Nothing patches the history afterwards: to add a figure, add it to ``logs`` in a callback
that runs before History.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .callbacks import HISTORY_ORDER, Callback

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["History"]


class History(Callback):
    """Records each epoch's ``logs`` into :attr:`history` (see the module docstring for the order)."""

    order = HISTORY_ORDER

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        self.record(logs)

    def record(self, logs: dict[str, Any]) -> None:
        """Append one epoch: ``logs[key]`` to ``history[key]`` for every key (NaN where missing)."""
        n_before = max((len(v) for v in self.history.values()), default=0)
        for k, v in logs.items():
            # A key first seen now is padded with NaN so every list has one entry per epoch.
            self.history.setdefault(k, [float("nan")] * n_before).append(float(v))
        for k, lst in self.history.items():
            if k not in logs:
                lst.append(float("nan"))
