"""The resume state: what :meth:`Trainer.state_dict` saves so a run continues bit-exactly.

A state holds the model, optimizer and scheduler states, the completed ``epoch`` and
``global_step``, the global RNG, the training loader's state (its permutation and position),
the history, the running sums and metric states of an interrupted epoch (``in_epoch``), and
the state of every callback that has one (keyed ``{index}_{class name}``, the index in
``trainer.callbacks``).  The RNG and loader states are applied only once :meth:`Trainer.fit`
has built its loaders: building one may draw from the global generator, which must not shift
the restored state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KisonetValueError
from ..lang import tr
from ..random import get_rng_state, set_rng_state
from ..validation import check_type
from .loop import EpochProgress

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["ResumeState"]


def _callback_key(i: int, cb: Any) -> str:
    return f"{i}_{type(cb).__name__}"


class ResumeState:
    """Saves and restores a :class:`~kisonet.train.Trainer`'s run.

    Attributes:
        armed: the next ``fit`` continues the restored run (``epochs`` then counts from
            the start of the original run).
        pending: the RNG and loader states waiting for ``fit`` to build its loaders.
    """

    def __init__(self) -> None:
        self.armed = False
        self.pending: dict[str, Any] | None = None

    def state_dict(self, trainer: Trainer) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": trainer.model.state_dict(),
            "epoch": int(trainer.epoch),
            "global_step": int(trainer.global_step),
            "rng": get_rng_state(),
            "history": {k: np.asarray(v, dtype=np.float64) for k, v in trainer.history.items()},
        }
        if trainer.optimizer is not None:
            state["optimizer"] = trainer.optimizer.state_dict()
        if trainer.scheduler is not None:
            state["scheduler"] = trainer.scheduler.state_dict()
        loader = trainer.train_loader
        if loader is not None and hasattr(loader, "state_dict"):
            state["loader"] = loader.state_dict()
        loop = trainer._loop
        if loop.progress is not None:
            inner = loop.progress.state_dict()
            inner["metrics"] = loop.metric_states()
            state["in_epoch"] = inner
        cbs = {}
        for i, cb in enumerate(trainer.callbacks):
            if callable(getattr(cb, "state_dict", None)):
                cbs[_callback_key(i, cb)] = cb.state_dict()
        if cbs:
            state["callbacks"] = cbs
        return state

    def load_state_dict(self, trainer: Trainer, state: dict[str, Any]) -> None:
        check_type("Trainer.load_state_dict", "state", state, dict, "the dict of Trainer.state_dict()")
        try:
            trainer.model.load_state_dict(state["model"])
            trainer.epoch = int(state["epoch"])
            trainer.global_step = int(state["global_step"])
            trainer.history = {k: [float(x) for x in np.asarray(v).reshape(-1)] for k, v in state["history"].items()}
        except KeyError as e:
            raise KisonetValueError(tr("Trainer.load_state_dict: the state has no {0!r} entry", e.args[0])) from e
        if "optimizer" in state and trainer.optimizer is not None:
            trainer.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state and trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(state["scheduler"])
        saved_cbs = state.get("callbacks", {})
        for i, cb in enumerate(trainer.callbacks):
            key = _callback_key(i, cb)
            if key in saved_cbs and callable(getattr(cb, "load_state_dict", None)):
                cb.load_state_dict(saved_cbs[key])
        inner = state.get("in_epoch")
        loop = trainer._loop
        loop.progress = None if inner is None else EpochProgress.from_state(inner)
        loop.load_metric_states({} if inner is None else dict(inner.get("metrics", {})))
        self.pending = {"rng": state.get("rng"), "loader": state.get("loader")}
        self.armed = True
        if trainer.train_loader is not None:
            self.apply_pending(trainer.train_loader)

    def apply_pending(self, loader: Any) -> None:
        """Restore the loader's and the global RNG's saved states (once loaders exist)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        if pending.get("loader") is not None and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(pending["loader"])
        if pending.get("rng") is not None:
            set_rng_state(pending["rng"])
