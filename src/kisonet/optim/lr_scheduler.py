"""Learning-rate schedules with PyTorch's class names and step-by-step semantics.

A scheduler owns no learning rate: it writes ``optimizer.param_groups[i]['lr']``.  Create it
after the optimizer (it then sets the lr for step 0), call ``optimizer.step()`` and then
``scheduler.step()``; how often (every mini-batch or every epoch) is the caller's choice, so
``T_max``, ``step_size``... count whatever you step.  ``last_epoch`` is the number of
``scheduler.step()`` calls so far.  A fixed learning rate needs no scheduler at all.

Schedules that PyTorch has (``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``,
``ExponentialLR``, ``CosineAnnealingLR``, ``CosineAnnealingWarmRestarts``, ``LambdaLR``,
``SequentialLR``) give the same learning rate as PyTorch at every step, recursive forms included.
The notes' schedules (k = ``last_epoch``):

* ``LinearInterpolationLR``: ``a_k = (k/K) a_end + (1 - k/K) a_start`` for ``k <= K``, then ``a_end``;
* ``InverseLR``: ``a_k = a / k`` (``a / (k + 1)`` from ``k = 0``, see the class);
* ``InverseSqrtLR``: ``a_k = a / sqrt(k)`` (likewise shifted);
* ``WarmupCosineLR``: linear warm-up then cosine decay.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import KisonetValueError, unknown_name
from ..lang import tr
from ..validation import check_callable, check_choice, check_float, check_int, check_sequence, check_type
from .optimizer import Optimizer


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``last_epoch``, ``state_dict()``/``load_state_dict()``.

    Subclasses implement ``get_lr()`` (the recursive rule PyTorch uses, from the current group
    lrs) and, where a closed form exists, ``_get_closed_form_lr()`` (used by ``step(epoch)``).

    ``needs_metric`` says how a training loop steps the schedule: False (here) ``step()``,
    True ``step(metric)`` with a monitored figure (:class:`ReduceLROnPlateau`); see
    :func:`step_scheduler`.
    """

    needs_metric: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        check_type(type(self).__name__, "optimizer", optimizer, Optimizer, "an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KisonetValueError(
                        tr(
                            (
                                "{0}: param_groups[{1}] has no 'initial_lr' but last_epoch={2}; load the "
                                "optimizer's state before resuming a schedule"
                            ),
                            type(self).__name__,
                            i,
                            last_epoch,
                        )
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    # --- machinery -------------------------------------------------------------------
    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        raise NotImplementedError  # pragma: no cover - abstract

    def step(self, epoch: float | None = None) -> None:
        """Advance one step (or jump to ``epoch`` using the closed form) and set the group lrs."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch  # type: ignore[assignment]
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=False):
            group["lr"] = lr
        self._last_lr = self._group_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    # --- checkpoints ----------------------------------------------------------------------
    _transient = ("optimizer", "_is_initial")

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (numbers and lists: :func:`kisonet.save` can store it)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in self.__dict__.items()
            if k not in self._transient and not callable(v)
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._transient})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


_LRScheduler = LRScheduler


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(last_epoch)`` (one function, or one per group).

    The functions are not part of ``state_dict`` (code is never pickled); re-create the
    scheduler with the same functions and load the state.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * n
        else:
            check_sequence(
                "LambdaLR",
                "lr_lambda",
                lr_lambda,
                check_callable,
                what="a function epoch -> factor (or a list of them)",
            )
            if len(lr_lambda) != n:
                raise KisonetValueError(tr("LambdaLR: expected {0} lr_lambdas, got {1}", n, len(lr_lambda)))
            self.lr_lambdas = list(lr_lambda)
        super().__init__(optimizer, last_epoch)

    _transient = ("optimizer", "_is_initial", "lr_lambdas")

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs, strict=False)]


class StepLR(LRScheduler):
    """Decay by ``gamma`` every ``step_size`` steps: ``lr = base_lr * gamma^floor(k / step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_int("StepLR", "step_size", step_size)
        check_float("StepLR", "gamma", gamma, 0.0, low_open=False)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Decay by ``gamma`` at each milestone: ``lr = base_lr * gamma^(number of milestones <= k)``."""

    def __init__(
        self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        check_float("MultiStepLR", "gamma", gamma, 0.0, low_open=False)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = Counter(self.milestones)[self.last_epoch]
        if not hits:
            return self._group_lrs()
        return [lr * self.gamma**hits for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """``lr = base_lr * factor`` for the first ``total_iters`` steps, then ``base_lr`` (PyTorch's ConstantLR).

    For a learning rate that never changes, use no scheduler.
    """

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ) -> None:
        check_float("ConstantLR", "factor", factor, 0.0, 1.0, low_open=False)
        check_float("ConstantLR", "total_iters", total_iters, 0.0, low_open=False)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 / self.factor) for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)) for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Linear ramp of the factor from ``start_factor`` to ``end_factor`` over ``total_iters`` steps
    (linear warm-up with the defaults): ``lr_k = base_lr (s + (e - s) min(k, K) / K)``."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        check_float("LinearLR", "start_factor", start_factor, 0.0, 1.0)
        check_float("LinearLR", "end_factor", end_factor, 0.0, 1.0, low_open=False)
        check_float("LinearLR", "total_iters", total_iters, 0.0)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        s, e = self.start_factor, self.end_factor
        scale = 1.0 + (e - s) / (self.total_iters * s + (self.last_epoch - 1) * (e - s))
        return [lr * scale for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        s, e = self.start_factor, self.end_factor
        return [
            base * (s + (e - s) * min(self.total_iters, self.last_epoch) / self.total_iters) for base in self.base_lrs
        ]


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma^k``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_float("ExponentialLR", "gamma", gamma, 0.0, low_open=False)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` steps (SGDR without restarts).

    ``lr_k = eta_min + (base_lr - eta_min) (1 + cos(pi k / T_max)) / 2`` -- PyTorch computes it
    recursively from the current lr (so changes made by others compose), and so does kisonet:
    the values match PyTorch step by step, including past ``T_max`` where the cosine rises again.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check_float("CosineAnnealingLR", "T_max", T_max, 0.0)
        check_float("CosineAnnealingLR", "eta_min", eta_min, 0.0, low_open=False)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        k, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and k > 0:
            return [lo + (base - lo) * (1 + math.cos(k * math.pi / T)) / 2 for base in self.base_lrs]
        if (k - 1 - T) % (2 * T) == 0:
            lrs = zip(self.base_lrs, self._group_lrs(), strict=True)
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2 for base, lr in lrs]
        return [
            (1 + math.cos(math.pi * k / T)) / (1 + math.cos(math.pi * (k - 1) / T)) * (lr - lo) + lo
            for lr in self._group_lrs()
        ]

    def _get_closed_form_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2 for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    ``lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2``, where ``T_cur`` counts steps
    since the last restart and the period ``T_i`` starts at ``T_0`` and is multiplied by ``T_mult``
    at each restart.  ``step(epoch)`` accepts a fractional epoch (``epoch + i / iters_per_epoch``)
    to anneal within epochs, exactly as PyTorch.
    """

    def __init__(
        self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        check_int("CosineAnnealingWarmRestarts", "T_0", T_0)
        check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult)
        check_float("CosineAnnealingWarmRestarts", "eta_min", eta_min, 0.0, low_open=False)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_float("CosineAnnealingWarmRestarts.step", "epoch", epoch, 0.0, low_open=False)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=False):
            group["lr"] = lr
        self._last_lr = self._group_lrs()


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its step 0), ...

    E.g. a 5-step ``LinearLR`` warm-up then ``CosineAnnealingLR``: ``SequentialLR(opt, [warm, cos], [5])``.
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int], last_epoch: int = -1
    ) -> None:
        if len(schedulers) < 1:
            raise KisonetValueError(tr("SequentialLR: expects at least one scheduler"))
        for i, s in enumerate(schedulers):
            if getattr(s, "optimizer", None) is not optimizer:
                raise KisonetValueError(
                    tr("SequentialLR: scheduler {0} ({1}) belongs to another optimizer", i, type(s).__name__)
                )
        if len(milestones) != len(schedulers) - 1:
            raise KisonetValueError(
                tr(
                    (
                        "SequentialLR: expects len(milestones) = len(schedulers) - 1, got {0} milestones "
                        "for {1} schedulers"
                    ),
                    len(milestones),
                    len(schedulers),
                )
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._recursive_undo(self)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _recursive_undo(self, sched: Any) -> None:
        if sched is self or hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._recursive_undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def _update_lr(self, epoch: float | None = None) -> None:
        # Nested inside another SequentialLR: a restart of this one is its own reset.
        self.step()

    _transient = ("optimizer", "_is_initial", "_schedulers")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for s, st in zip(self._schedulers, state_dict["_schedulers"], strict=False):
            s.load_state_dict(st)


class LinearInterpolationLR(LRScheduler):
    r"""The notes' linear schedule: ``a_k = (k/K) a_end + (1 - k/K) a_start`` for ``k <= K``, then ``a_end``.

    ``a_start`` is the optimizer's lr (``base_lr``); ``a_end = end_lr`` (an absolute value, not a
    factor).  Closed form at every step (no recursion), so ``step(epoch)`` jumps anywhere.
    Equivalent to ``LinearLR(start_factor=1, end_factor=end_lr / base_lr, total_iters=K)``.
    """

    def __init__(self, optimizer: Optimizer, end_lr: float, total_iters: int, last_epoch: int = -1) -> None:
        check_float("LinearInterpolationLR", "end_lr", end_lr, 0.0, low_open=False)
        check_int("LinearInterpolationLR", "total_iters", total_iters)
        self.end_lr = end_lr
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        r = min(self.last_epoch, self.total_iters) / self.total_iters
        return [r * self.end_lr + (1 - r) * base for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class InverseLR(LRScheduler):
    r"""The notes' ``a_k = a / k``, shifted to start at step 0: ``lr_k = base_lr / (1 + k / scale)``.

    With ``scale=1`` (default) the lr at step k is ``base_lr / (k + 1)``, i.e. the notes' ``a / k``
    with the notes' first iteration ``k = 1`` being kisonet's step 0 (PyTorch counts from 0, and
    ``a / 0`` is undefined).  ``scale`` stretches the decay: ``base_lr / (1 + k / scale)``.
    """

    def __init__(self, optimizer: Optimizer, scale: float = 1.0, last_epoch: int = -1) -> None:
        check_float("InverseLR", "scale", scale, 0.0)
        self.scale = scale
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base / (1.0 + self.last_epoch / self.scale) for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class InverseSqrtLR(LRScheduler):
    r"""The notes' ``a_k = a / sqrt(k)``, shifted to start at step 0: ``lr_k = base_lr / sqrt(1 + k / scale)``.

    With ``scale=1`` the lr at step k is ``base_lr / sqrt(k + 1)`` (the notes' ``k = 1`` is step 0).
    """

    def __init__(self, optimizer: Optimizer, scale: float = 1.0, last_epoch: int = -1) -> None:
        check_float("InverseSqrtLR", "scale", scale, 0.0)
        self.scale = scale
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base / math.sqrt(1.0 + self.last_epoch / self.scale) for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class WarmupCosineLR(LRScheduler):
    r"""Linear warm-up from ``warmup_start_factor * base_lr`` to ``base_lr`` over ``warmup_iters`` steps,
    then cosine decay to ``eta_min`` at step ``total_iters`` (held there afterwards).

    .. code-block:: text

        k < W:        lr = base_lr (s + (1 - s) k / W)      (default s = 1/(W+1): lr = base_lr (k+1)/(W+1))
        W <= k <= T:  lr = eta_min + (base_lr - eta_min) (1 + cos(pi (k - W) / (T - W))) / 2
        k > T:        lr = eta_min

    Closed form (no recursion).  It equals ``SequentialLR([LinearLR(s, 1, W), CosineAnnealingLR(T - W,
    eta_min)], [W])`` up to rounding until step T; unlike that composition it stays at ``eta_min`` past T.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_iters: int,
        total_iters: int,
        eta_min: float = 0.0,
        warmup_start_factor: float | None = None,
        last_epoch: int = -1,
    ) -> None:
        check_float("WarmupCosineLR", "warmup_iters", warmup_iters, 0.0, low_open=False)
        check_float("WarmupCosineLR", "eta_min", eta_min, 0.0, low_open=False)
        if warmup_start_factor is None:
            # (k + 1) / (W + 1): the first step already learns (a factor 0 would waste it)
            warmup_start_factor = 1.0 / (warmup_iters + 1)
        check_float("WarmupCosineLR", "warmup_start_factor", warmup_start_factor, 0.0, 1.0, low_open=False)
        if not total_iters > warmup_iters:
            raise KisonetValueError(
                tr(
                    "WarmupCosineLR: total_iters must be > warmup_iters, got total_iters={0}, warmup_iters={1}",
                    total_iters,
                    warmup_iters,
                )
            )
        self.warmup_iters = warmup_iters
        self.total_iters = total_iters
        self.eta_min = eta_min
        self.warmup_start_factor = warmup_start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        k, W, T, lo, s = self.last_epoch, self.warmup_iters, self.total_iters, self.eta_min, self.warmup_start_factor
        if k < W:
            return [base * (s + (1 - s) * k / W) for base in self.base_lrs]
        c = min(k, T) - W
        return [lo + (base - lo) * (1 + math.cos(math.pi * c / (T - W))) / 2 for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a monitored figure stops improving
    (PyTorch's ``ReduceLROnPlateau``; ``needs_metric``: step it with ``step(val_loss)``).

    .. code-block:: text

        better(a)  = a < best (1 - threshold)      mode 'min', threshold_mode 'rel'
                     a < best - threshold          'min', 'abs'   (and mirrored for 'max')
        bad epochs += 1 unless better; after more than ``patience`` bad epochs:
        lr <- max(lr * factor, min_lr)  (skipped when the change is below eps), then
        ``cooldown`` epochs in which bad epochs are not counted
    """

    needs_metric = True

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        check_type("ReduceLROnPlateau", "optimizer", optimizer, Optimizer, "an Optimizer")
        check_choice("ReduceLROnPlateau", "mode", mode, ("min", "max"))
        check_choice("ReduceLROnPlateau", "threshold_mode", threshold_mode, ("rel", "abs"))
        check_float("ReduceLROnPlateau", "factor", factor, 0.0, 1.0, low_open=False, high_open=True)
        check_int("ReduceLROnPlateau", "patience", patience, low=0)
        check_int("ReduceLROnPlateau", "cooldown", cooldown, low=0)
        check_float("ReduceLROnPlateau", "threshold", threshold, 0.0, low_open=False)
        check_float("ReduceLROnPlateau", "eps", eps, 0.0, low_open=False)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise KisonetValueError(tr("ReduceLROnPlateau: expected {0} min_lr values, got {1}", n, len(min_lr)))
            self.min_lrs = [float(v) for v in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._group_lrs()

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (1.0 + self.threshold) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metrics: float, epoch: int | None = None) -> None:  # type: ignore[override]
        """One epoch's monitored figure (e.g. ``val_loss``)."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, lo in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, lo)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._group_lrs()

    def get_lr(self) -> list[float]:
        return self._group_lrs()


def step_scheduler(scheduler: Any, logs: dict[str, Any], monitor: str = "val_loss") -> None:
    """Step an epoch schedule at the end of an epoch: ``scheduler.step(logs[monitor])`` when
    it ``needs_metric`` (ReduceLROnPlateau), else ``scheduler.step()``."""
    if getattr(scheduler, "needs_metric", False):
        if monitor not in logs:
            raise unknown_name(tr("scheduler monitor"), monitor, logs.keys())
        scheduler.step(logs[monitor])
    else:
        scheduler.step()


__all__ = [
    "LRScheduler",
    "ReduceLROnPlateau",
    "step_scheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "SequentialLR",
    "LinearInterpolationLR",
    "InverseLR",
    "InverseSqrtLR",
    "WarmupCosineLR",
]


# ----------------------------------------------------------------------------------------------
# Schedules by name: the grammar of ``--schedule`` / ``schedule = "..."`` (one parser, here).
#
# ``NAME`` or ``NAME:ARG,ARG``; the numbers count epochs (a run steps its schedule once per epoch).
# Each entry: the builder ``(optimizer, args, epochs) -> scheduler | None``, the written ``form``,
# ``parse`` (the ':' arguments as strings -> typed arguments, ValueError when they do not fit) and
# ``hint`` (what the arguments must be).  Adding a schedule: one ``SCHEDULES.add`` line.


def _no_args(args: list[str]) -> tuple:
    if args:
        raise TypeError  # "takes no ':' arguments"
    return ()


def _step_args(args: list[str]) -> tuple:
    every = int(args[0]) if args else 0
    gamma = float(args[1]) if len(args) > 1 else 0.1
    if len(args) not in (1, 2) or every < 1 or not 0 < gamma <= 1:
        raise ValueError
    return (every, gamma)


def _warmup_args(args: list[str]) -> tuple:
    warm = int(args[0]) if args else 1
    if len(args) > 1 or warm < 0:
        raise ValueError
    return (warm,)


def _restart_args(args: list[str]) -> tuple:
    t0 = int(args[0]) if args else 10
    tmult = int(args[1]) if len(args) > 1 else 1
    if len(args) > 2 or t0 < 1 or tmult < 1:
        raise ValueError
    return (t0, tmult)


def _scale_args(args: list[str]) -> tuple:
    if not args:
        return ()
    scale = float(args[0])
    if len(args) > 1 or not (math.isfinite(scale) and scale > 0):
        raise ValueError
    return (scale,)


def _plateau_args(args: list[str]) -> tuple:
    patience = int(args[0]) if args else 10
    factor = float(args[1]) if len(args) > 1 else 0.1
    if len(args) > 2 or patience < 0 or not 0 < factor < 1:
        raise ValueError
    return (patience, factor)


def _linear_args(args: list[str]) -> tuple:
    end = float(args[0]) if args else -1.0
    k = int(args[1]) if len(args) > 1 else 0  # 0: the whole run
    if len(args) not in (1, 2) or not (math.isfinite(end) and end >= 0) or k < 0 or (len(args) == 2 and k < 1):
        raise ValueError
    return (end, k)


def _linear_show(end: float, k: int) -> str:
    return f"linear:{end:g}" if k == 0 else f"linear:{end:g},{k}"


def _linear(optimizer: Optimizer, args: tuple, epochs: int | None) -> LRScheduler:
    total = args[1] or epochs
    if total is None:
        raise KisonetValueError(tr("schedule 'linear:END_LR' needs K or the number of epochs of the run"))
    return LinearInterpolationLR(optimizer, end_lr=args[0], total_iters=int(total))


def _warmup_cosine(optimizer: Optimizer, args: tuple, epochs: int) -> LRScheduler:
    if args[0] >= epochs:
        raise KisonetValueError(tr("warm-up of {0} epochs must be shorter than --epochs {1}", args[0], epochs))
    return WarmupCosineLR(optimizer, warmup_iters=args[0], total_iters=epochs)


def _registry() -> Any:
    from ..registry import Registry

    reg = Registry("schedule")
    # fmt: off
    reg.add("constant", lambda o, a, n: None, "the learning rate stays", form="constant", parse=_no_args)
    reg.add("step", lambda o, a, n: StepLR(o, step_size=a[0], gamma=a[1]),
            "multiply by GAMMA every EVERY epochs (StepLR)", form="step:EVERY,GAMMA", parse=_step_args,
            show="step:{0},{1:g}", hint="EVERY a positive integer (epochs), GAMMA in (0, 1]")
    reg.add("linear", _linear,
            "the Nakata deck's a_k = (k/K) END_LR + (1 - k/K) lr for k <= K (epochs, default the run), then END_LR",
            form="linear:END_LR[,K]", parse=_linear_args, show=_linear_show,
            hint="END_LR the final lr >= 0, K a positive integer (epochs; default --epochs)")
    reg.add("cosine", lambda o, a, n: CosineAnnealingLR(o, T_max=n), "cosine decay to 0 over the run",
            form="cosine", parse=_no_args)
    reg.add("warmup-cosine", _warmup_cosine, "linear warm-up over WARMUP epochs, then cosine decay",
            form="warmup-cosine:WARMUP", parse=_warmup_args, show="warmup-cosine:{0}",
            hint="WARMUP a non-negative integer (epochs)")
    reg.add("restarts", lambda o, a, n: CosineAnnealingWarmRestarts(o, T_0=a[0], T_mult=a[1]),
            "cosine with warm restarts: first period T0 epochs, each next TMULT times longer",
            form="restarts:T0,TMULT", parse=_restart_args, show="restarts:{0},{1}",
            hint="T0 and TMULT positive integers")
    reg.add("inverse", lambda o, a, n: InverseLR(o, *a), "the notes' a / k: lr / (1 + k / SCALE) (SCALE default 1)",
            form="inverse[:SCALE]", parse=_scale_args, show="inverse:{0:g}", hint="SCALE a positive number")
    reg.add("inverse-sqrt", lambda o, a, n: InverseSqrtLR(o, *a),
            "the notes' a / sqrt(k): lr / sqrt(1 + k / SCALE) (SCALE default 1)", form="inverse-sqrt[:SCALE]",
            parse=_scale_args, show="inverse-sqrt:{0:g}", hint="SCALE a positive number")
    reg.add("plateau", lambda o, a, n: ReduceLROnPlateau(o, patience=a[0], factor=a[1]),
            "multiply by FACTOR after PATIENCE epochs without a better val_loss (ReduceLROnPlateau; "
            "train_loss without a validation split)", form="plateau:PATIENCE,FACTOR", parse=_plateau_args,
            show="plateau:{0},{1:g}", hint="PATIENCE an integer >= 0 (epochs), FACTOR in (0, 1)")
    # fmt: on
    return reg


SCHEDULES = _registry()


def schedule_forms() -> str:
    """The written forms of every schedule, for help texts and messages."""
    return ", ".join(e.meta["form"] for e in SCHEDULES.entries())


def _split_spec(spec: Any) -> tuple[Any, tuple]:
    s = str(spec).strip().lower().replace("_", "-")
    head, sep, tail = s.partition(":")
    if head not in SCHEDULES:
        from ..errors import closest

        raise KisonetValueError(
            tr(
                "unknown schedule {0!r}{1}; choose from: {2}",
                str(spec),
                closest(head, SCHEDULES.names()),
                schedule_forms(),
            )
        )
    entry = SCHEDULES.entry(head)
    try:
        return entry, entry.meta["parse"]([t.strip() for t in tail.split(",")] if sep else [])
    except TypeError:
        raise KisonetValueError(tr("schedule {0!r} takes no ':' arguments, got {1!r}", head, str(spec))) from None
    except (ValueError, IndexError):
        raise KisonetValueError(
            tr("expected {0} ({1}), got {2!r}", entry.meta["form"], entry.meta["hint"], str(spec))
        ) from None


def parse_spec(spec: Any) -> str:
    """Check a schedule spec (``'step:10,0.5'``, ``'cosine'``...) and return it normalised
    (defaults written out: ``'step:10'`` -> ``'step:10,0.1'``)."""
    entry, args = _split_spec(spec)
    if not args:
        return entry.name
    show = entry.meta["show"]
    return show(*args) if callable(show) else show.format(*args)


def from_spec(spec: Any, optimizer: Optimizer, epochs: int | None = None) -> LRScheduler | None:
    """The schedule ``spec`` on ``optimizer``, to be stepped once per epoch of an ``epochs``-epoch run;
    ``'constant'`` is None (no scheduler).  ``from_spec("step:10,0.5", opt)`` is ``StepLR(opt, 10, 0.5)``."""
    entry, args = _split_spec(spec)
    if epochs is None and entry.name in ("cosine", "warmup-cosine"):
        raise KisonetValueError(tr("schedule {0!r} needs the number of epochs of the run", entry.name))
    return entry.value(optimizer, args, epochs)


__all__ += ["SCHEDULES", "from_spec", "parse_spec", "schedule_forms"]
