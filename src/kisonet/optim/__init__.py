"""Optimizers and learning-rate schedules (``kn.optim``), PyTorch's names and semantics.

opt = kn.optim.Adam(model.parameters(), lr=1e-3)
sched = kn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
for x, y in loader:
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
    sched.step()

By name (the CLI, config files, experiments): ``kn.optim.make_optimizer("adam", params)``;
:data:`OPTIMIZERS` lists them with their default learning rates, and
:func:`kn.optim.lr_scheduler.from_spec` builds a schedule from ``"step:10,0.5"``.
"""

from . import lr_scheduler
from .adam import AdaBelief, Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .newton import Newton
from .optimizer import Optimizer
from .registry import OPTIMIZERS, make_optimizer
from .sgd import GD, SGD, Momentum

__all__ = [
    "Optimizer",
    "SGD",
    "GD",
    "Momentum",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "AdamW",
    "AdaBelief",
    "Newton",
    "lr_scheduler",
    "OPTIMIZERS",
    "make_optimizer",
]
