"""The optimizers by name: :data:`OPTIMIZERS` and :func:`make_optimizer`.

One entry per update rule, read by ``kisonet train --optimizer``, the config
validation, the ensembles, the experiments and the docs table.  An entry holds
the class, the learning rate a learner gets when they name the optimizer
without one (``default_lr``), where ``--momentum`` goes (``momentum_arg``:
``momentum`` for SGD and RMSprop, ``rho`` for the notes' Momentum, None when
the rule has no momentum), fixed constructor arguments (``nesterov`` is SGD
with ``nesterov=True``) and the display ``title`` of figures and tables.  The
options that apply (``betas``, ``eps``, ``centered``...) are read from the
class's signature.

Adding an optimizer: write the class (``kisonet/optim/<file>.py``, exported from
:mod:`kisonet.optim`), then one ``OPTIMIZERS.add(...)`` line below; the CLI, the
config file, ``make_optimizer`` and the docs table pick it up.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import KisonetValueError
from ..lang import tr
from ..registry import Entry, Registry
from .adam import AdaBelief, Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .newton import Newton
from .sgd import GD, SGD, Momentum

__all__ = ["OPTIMIZERS", "check_momentum", "make_optimizer", "optimizer_options", "train_optimizers"]

OPTIMIZERS: Registry[type] = Registry("optimizer")
# name, class, description; default_lr; momentum_arg / default_momentum; fixed arguments;
# train: offered by `kisonet train` (GD is SGD with the whole set as one batch, Newton needs a closure).
# fmt: off
OPTIMIZERS.add("sgd", SGD, "stochastic gradient descent (optional momentum)", title="SGD",
               default_lr=0.1, momentum_arg="momentum")
OPTIMIZERS.add("momentum", Momentum, "the notes' momentum: dw <- rho dw - lr g; w <- w + dw", title="Momentum",
               default_lr=0.01, momentum_arg="rho", default_momentum=0.9)
OPTIMIZERS.add("nesterov", SGD, "SGD with Nesterov momentum", title="Nesterov",
               default_lr=0.01, momentum_arg="momentum", default_momentum=0.9, fixed={"nesterov": True})
OPTIMIZERS.add("adagrad", Adagrad, "per-weight lr / sqrt(sum of squared gradients)", title="AdaGrad",
               default_lr=0.01)
OPTIMIZERS.add("rmsprop", RMSprop, "per-weight lr / sqrt(running mean of squared gradients)", title="RMSprop",
               default_lr=0.001, momentum_arg="momentum")
OPTIMIZERS.add("adadelta", Adadelta, "RMSprop with the step scaled by past updates (no lr needed)",
               title="AdaDelta", default_lr=1.0)
OPTIMIZERS.add("adam", Adam, "momentum + RMSprop with bias correction", title="Adam", default_lr=0.001)
OPTIMIZERS.add("adamw", AdamW, "Adam with decoupled weight decay", title="AdamW", default_lr=0.001)
OPTIMIZERS.add("adabelief", AdaBelief, "Adam scaled by the belief in the gradient (its deviation)",
               title="AdaBelief", default_lr=0.001)
OPTIMIZERS.add("gd", GD, "full-batch gradient descent (the notes' exercise: lr is required)", title="GD",
               default_lr=None, train=False)
OPTIMIZERS.add("newton", Newton, "Newton's method with a finite-difference Hessian (needs a closure)",
               title="Newton", default_lr=1.0, train=False)
# fmt: on


def train_optimizers() -> tuple[str, ...]:
    """The optimizers ``kisonet train --optimizer`` offers (a mini-batch loop without a closure)."""
    return tuple(e.name for e in OPTIMIZERS.entries() if e.meta.get("train", True))


def _meta(entry: Entry, key: str, default: Any = None) -> Any:
    return entry.meta.get(key, default)


def optimizer_options(name: str) -> tuple[str, ...]:
    """The constructor options of optimizer ``name`` besides ``params`` and ``lr``
    (``momentum`` stands for the class's own momentum argument)."""
    entry = OPTIMIZERS.entry(name)
    sig = inspect.signature(entry.value.__init__).parameters
    fixed = _meta(entry, "fixed", {})
    out = []
    for p in sig:
        if p in ("self", "params", "lr") or p in fixed or sig[p].kind in (sig[p].VAR_KEYWORD, sig[p].VAR_POSITIONAL):
            continue
        out.append("momentum" if p == _meta(entry, "momentum_arg") else p)
    return tuple(out)


def check_momentum(name: str, momentum: float | None) -> float:
    """The momentum to use with optimizer ``name``: ``momentum``, or its default when None.

    A momentum for a rule that has none, or nesterov without momentum, is an error
    (the message starts with what is wrong; callers prefix the option's name)."""
    entry = OPTIMIZERS.entry(name)
    arg = _meta(entry, "momentum_arg")
    if momentum is None:
        return float(_meta(entry, "default_momentum", 0.0))
    if arg is None and momentum:
        having = [e.name for e in OPTIMIZERS.entries() if _meta(e, "momentum_arg") and _meta(e, "train", True)]
        raise KisonetValueError(
            tr(
                "the {0} optimizer has no momentum option; use it with {1} or {2}",
                entry.name,
                ", ".join(having[:-1]),
                having[-1],
            )
        )
    if _meta(entry, "fixed", {}).get("nesterov") and not momentum > 0:
        raise KisonetValueError(tr("{0} needs a momentum > 0, got {1:g}", entry.name, momentum))
    return float(momentum)


def make_optimizer(
    name: Any,
    params: Any,
    lr: float | None = None,
    *,
    momentum: float | None = None,
    weight_decay: float | None = None,
    **options: Any,
) -> Any:
    """Build optimizer ``name`` (``'adam'``, ``'SGD'``, ``'nesterov'``... any case) on ``params``.

    ``lr`` None is the optimizer's ``default_lr``; ``momentum`` goes to the rule's momentum
    argument (``rho`` of :class:`Momentum`), None keeps the rule's default;
    ``weight_decay`` None keeps the class's default (AdamW's is 0.01); ``options`` are
    further constructor arguments (``betas=(0.9, 0.99)``), checked against the class.
    A callable ``name`` is called as ``name(params)``.
    """
    params = list(params)
    if callable(name) and not isinstance(name, str):
        return name(params)
    entry = OPTIMIZERS.entry(name)
    allowed = optimizer_options(entry.name)
    for key in options:
        if key not in allowed:
            from ..errors import closest

            raise KisonetValueError(
                tr(
                    "the {0} optimizer has no option {1!r}{2}; its options: {3}",
                    entry.name,
                    key,
                    closest(key, allowed),
                    ", ".join(allowed),
                )
            )
    kwargs: dict[str, Any] = dict(_meta(entry, "fixed", {}))
    kwargs.update(options)
    lr = _meta(entry, "default_lr") if lr is None else lr
    if lr is None:
        raise KisonetValueError(tr("the {0} optimizer needs an lr (it has no default)", entry.name))
    if momentum is not None or _meta(entry, "default_momentum") is not None:
        m = check_momentum(entry.name, momentum)
        if _meta(entry, "momentum_arg"):
            kwargs[_meta(entry, "momentum_arg")] = m
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    return entry.value(params, lr=lr, **kwargs)
