"""Multi-task learning: one shared trunk, one head per task, a weighted sum of losses.

    h = trunk(x);   out_t = head_t(h)   for every task t
    E = sum_t lambda_t E_t(out_t, y_t)

The trunk's gradient is the weighted sum of what each head sends back,
dE/dh = sum_t lambda_t dE_t/dh, so every task shapes the shared representation
(the notes' "multi-task learning as a regulariser": the trunk must serve all tasks).

    model = kn.nn.MultiTask(
        trunk=nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU()),
        heads={"digit": nn.Linear(64, 10), "even": nn.Linear(64, 2)},
    )
    trainer = kn.train.Trainer(model, model.loss_spec("cross_entropy", weights={"even": 0.5}), opt)
    trainer.fit((X, {"digit": y, "even": y % 2 == 0}), epochs=10)
    trainer.history["train_digit_accuracy"], trainer.history["train_even_accuracy"]

The Trainer takes dict outputs and dict targets: a dict loss ``{head: (fn, weight)}``
is the weighted sum above, and it records every head's loss and metrics
(``train_digit_loss``, ``val_even_accuracy``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import KisonetValueError, unknown_name
from ..lang import tr
from ..validation import check_positive, check_type
from .module import Module, ModuleDict

__all__ = ["MultiTask"]


class MultiTask(Module):
    """A shared ``trunk`` and named ``heads``; ``forward(x)`` returns ``{name: head(trunk(x))}``.

    Args:
        trunk: the shared module (features); may be :class:`~kisonet.nn.Identity`.
        heads: ``{task name: head module}`` (at least one), in the order outputs are returned.
    """

    def __init__(self, trunk: Module, heads: Mapping[str, Module]) -> None:
        super().__init__()
        check_type("MultiTask", "trunk", trunk, Module, "a Module")
        if not isinstance(heads, Mapping) or not heads:
            raise KisonetValueError(tr("MultiTask: heads must be a non-empty dict {{task name: Module}}"))
        for name, h in heads.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise KisonetValueError(tr("MultiTask: head names must be identifiers, got {0!r}", name))
            check_type("MultiTask", f"head {name!r}", h, Module, "a Module")
        self.trunk = trunk
        self.heads = ModuleDict(dict(heads))

    @property
    def tasks(self) -> list[str]:
        """The head names, in output order."""
        return list(self.heads.keys())

    def features(self, x: Any) -> Any:
        """The shared representation ``trunk(x)``."""
        return self.trunk(x)

    def forward(self, x: Any) -> dict[str, Any]:
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}

    def loss_spec(
        self, losses: Any = "cross_entropy", weights: Mapping[str, float] | None = None
    ) -> dict[str, tuple[Any, float]]:
        """The Trainer's dict loss ``{task: (loss, weight)}``: ``losses`` is one loss (name or
        callable) for every task or a dict per task; ``weights`` default to 1."""
        weights = dict(weights or {})
        for k in weights:
            if k not in self.heads:
                raise unknown_name(tr("task"), k, self.tasks)
        if isinstance(losses, Mapping):
            for k in losses:
                if k not in self.heads:
                    raise unknown_name(tr("task"), k, self.tasks)
            missing = [t for t in self.tasks if t not in losses]
            if missing:
                raise KisonetValueError(tr("MultiTask.loss_spec: no loss for task(s) {0}", missing))
        spec = {}
        for t in self.tasks:
            w = check_positive("MultiTask.loss_spec", f"the weight of {t!r}", weights.get(t, 1.0), allow_zero=True)
            spec[t] = (losses[t] if isinstance(losses, Mapping) else losses, w)
        return spec

    def extra_repr(self) -> str:
        return f"tasks={self.tasks}"
