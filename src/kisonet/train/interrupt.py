"""Stop training cleanly on ^C (SIGINT) or SIGTERM: finish the step, then stop.

    with GracefulInterrupt(trainer) as stop:
        trainer.fit(train, epochs=30)
    if stop.signal is not None:                   # interrupted: nothing is half-done
        kn.save(trainer.state_dict(), "checkpoint.npz", kind=CHECKPOINT_KIND)

Inside the block the first SIGINT/SIGTERM only sets
``trainer.interrupt_training``; the Trainer finishes the optimizer step in
progress and returns from ``fit`` with the epoch's running sums kept in its
state, so ``trainer.state_dict()`` saved then and restored in a new process
continues exactly where the run stopped (see :meth:`Trainer.load_state_dict`).
A second signal raises ``KeyboardInterrupt`` at once, for a user who really
wants out.  The previous handlers come back when the block ends.  Signal
handlers can only be installed from the main thread; elsewhere the block is a
no-op (the default behaviour stays).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from ..lang import tr

__all__ = ["CHECKPOINT_KIND", "GracefulInterrupt"]

#: ``kind`` of the checkpoint files ``kisonet train`` writes (``kn.load(path, kind=...)``).
CHECKPOINT_KIND = "kisonet-train-checkpoint"

_DEFAULT_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)


class GracefulInterrupt:
    """Context manager turning SIGINT/SIGTERM into "stop after the current step".

    Args:
        trainer: the :class:`~kisonet.train.Trainer` to stop (its ``interrupt_training`` is set).
        signals: which signals to catch (default SIGINT and SIGTERM).
        notify: called with a one-line message when the first signal arrives
            (default: print it on stderr).

    After the block, :attr:`signal` is the name of the first signal received
    (``'SIGINT'``, ``'SIGTERM'``) or None.
    """

    def __init__(
        self,
        trainer: Any,
        signals: Sequence[int] = _DEFAULT_SIGNALS,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.trainer = trainer
        self.signals = tuple(signals)
        self.notify = notify or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.signal is not None:
            raise KeyboardInterrupt(tr("second {0}: aborting without a checkpoint", name))
        self.signal = name
        self.trainer.interrupt_training = True
        self.notify(
            f"kisonet: note: got {name}; finishing the current step and saving a checkpoint "
            "(send it again to abort at once)"
        )

    def __enter__(self) -> GracefulInterrupt:
        self.signal = None
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> bool:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
        return False
