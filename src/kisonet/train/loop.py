"""The loop: one epoch of the notes' mini-batch SGD, and an evaluation pass.

One training epoch (ミニバッチ SGD)::

    for each mini-batch B of a fresh permutation of the training set:
        E_B(w)  = (1/|B|) sum_{n in B} E_n(w)   (+ regulariser R(w))
        check E_B and every gradient for NaN/Inf          (nothing is updated if one is)
        clip the gradients (by global L2 norm or by value), if asked
        w      <- w - lr * grad E_B(w)           (or any kisonet.optim rule)
    check every parameter for NaN/Inf (the epoch's last update included)

Training figures are means over the epoch's batches weighted by batch size, accumulated
as scalars while training (no extra pass, no per-step copies); an interrupted epoch keeps
its running sums in :class:`EpochProgress`, which is part of the resume state.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import no_grad
from ..errors import KisonetValueError, NumericalError
from ..lang import tr
from .adapters import batch_size_of, output_array, to_input, unpack
from .numerics import check_finite_inputs, describe_nonfinite, grad_norm, nonfinite_parameters

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["EpochProgress", "TrainLoop"]


class EpochProgress:
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
    def from_state(cls, state: dict[str, Any]) -> EpochProgress:
        acc = cls(None if state.get("lr") is None else float(state["lr"]))
        acc.step = int(state["step"])
        acc.loss_sum = float(state["loss_sum"])
        acc.n_seen = int(state["n_seen"])
        acc.head_sums = {k: float(v) for k, v in state.get("head_sums", {}).items()}
        acc.seconds = float(state.get("seconds", 0.0))
        return acc


class TrainLoop:
    """The inner loop of a :class:`~kisonet.train.Trainer`: it reads the trainer's model,
    optimizer, objective, schedule, regulariser, clipping and callbacks, and advances its
    ``global_step``.

    Attributes:
        progress: the epoch in progress (None between epochs).
        metrics: the training metrics (built at the first batch, reset every epoch).
        pending_metrics: metric states restored before the metrics exist (resume).
        named_params: the trainable ``(name, parameter)`` pairs the guard checks.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.progress: EpochProgress | None = None
        self.metrics: list[tuple[str, Any, Any]] | None = None
        self.pending_metrics: dict[str, Any] | None = None
        self.named_params: list[tuple[str, Any]] = []

    # --- numbers ------------------------------------------------------------------------
    def guard(self, loss_value: float, epoch: int, step: int) -> float:
        """Raise NumericalError if the loss or any gradient is NaN/Inf (before the update).

        Returns the global gradient norm ||(g_1, ..., g_n)||_2 (reused by clipping).
        """
        bad_param = None
        norms = []
        for name, p in self.named_params:
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
        where = tr("epoch {0}, step {1} (global step {2})", epoch + 1, step + 1, self.trainer.global_step + 1)
        bad_now = nonfinite_parameters(self.named_params)
        if bad_now:
            # The loss is NaN because an earlier update already broke the parameters.
            raise NumericalError(
                tr(
                    (
                        "non-finite loss ({0}) at {1}: the previous update made the parameters "
                        "non-finite ({2}). Training stopped; try a smaller learning rate or gradient "
                        "clipping."
                    ),
                    loss_value,
                    where,
                    describe_nonfinite(bad_now),
                )
            )
        if bad_param is not None:
            name, g = bad_param
            n_nan, n_inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
            msg = tr(
                "non-finite gradient at {0}: parameter {1!r} (shape {2}) has {3} NaN and {4} Inf entries; loss = {5}",
                where,
                name,
                g.shape,
                n_nan,
                n_inf,
                loss_value,
            )
        else:
            msg = tr("non-finite loss ({0}) at {1}", loss_value, where)
        raise NumericalError(
            tr(
                "{0}. Training stopped before the update (parameters are those of the last good step); "
                "try a smaller learning rate, gradient clipping or checking the inputs for NaN.",
                msg,
            )
        )

    def check_parameters(self, epoch: int, step: int) -> None:
        """Raise NumericalError if an update left a parameter NaN/Inf (checked when an epoch
        ends or is interrupted, so no epoch end, checkpoint or returned model holds them)."""
        bad = nonfinite_parameters(self.named_params)
        if bad:
            raise NumericalError(
                tr(
                    (
                        "non-finite parameters after the update of epoch {0}, step {1} (global step "
                        "{2}): {3}. The update diverged; training stopped and nothing of this epoch was "
                        "saved; try a smaller learning rate or gradient clipping."
                    ),
                    epoch + 1,
                    step,
                    self.trainer.global_step,
                    describe_nonfinite(bad),
                )
            )

    def clip(self, norm: float) -> None:
        """Clip in place: by global L2 norm, g <- g * c / ||g|| when ||g|| > c, or by value."""
        kind, c = self.trainer.grad_clip
        grads = [p.grad for _, p in self.named_params if p.grad is not None]
        if kind == "value":
            for g in grads:
                np.clip(g, -c, c, out=g)
            return
        if norm > c:
            scale = c / (norm + 1e-6)
            for g in grads:
                g *= scale

    # --- metrics ------------------------------------------------------------------------
    def live_metric(self) -> tuple[str, float] | None:
        """The first training metric's running value (for the progress bar)."""
        if self.metrics:
            key, _, m = self.metrics[0]
            try:
                return key, float(m.compute())
            except Exception:
                return None
        return None

    def metric_states(self) -> dict[str, Any]:
        return {key: m.state_dict() for key, _, m in self.metrics or ()}

    def load_metric_states(self, states: dict[str, Any]) -> None:
        """Restore the training metrics' running state now, or when they are built."""
        self.pending_metrics = None
        if self.metrics is not None:
            for key, _, m in self.metrics:
                if key in states:
                    m.load_state_dict(states[key])
        else:
            self.pending_metrics = dict(states)

    def _first_metrics(self, out: Any, yb: Any) -> list[tuple[str, Any, Any]]:
        metrics = self.metrics = self.trainer.objective.build_metrics(out, yb)
        if self.pending_metrics:
            for key, _, m in metrics:
                if key in self.pending_metrics:
                    m.load_state_dict(self.pending_metrics[key])
        self.pending_metrics = None
        return metrics

    # --- one epoch ------------------------------------------------------------------------
    def run_epoch(self, loader: Any, packed: bool, epoch: int) -> tuple[dict[str, float], float, Any] | None:
        """One pass over ``loader``: the notes' mini-batch SGD.

        Returns ``(train figures, seconds, lr at the epoch's start)``, or None when
        ``trainer.interrupt_training`` stopped it after a step (the running sums stay in
        :attr:`progress` and go into the resume state, so the epoch can be finished later).
        """
        trainer = self.trainer
        model, opt, objective = trainer.model, trainer.optimizer, trainer.objective
        model.train()
        batch_begin = trainer._hooks("on_batch_begin")
        batch_end = trainer._hooks("on_batch_end")
        backward_end = trainer._hooks("on_backward_end")
        step_end = trainer._hooks("on_step_end")
        sched_step = trainer.scheduler is not None and trainer.scheduler_interval == "step"
        acc = self.progress
        if acc is None:
            acc = self.progress = EpochProgress(trainer.lr)
            for _, _, m in self.metrics or ():
                m.reset()
        metrics = self.metrics
        nb = trainer.num_train_batches
        t0 = time.perf_counter()
        for batch in loader:
            step = acc.step
            xb, yb, wb = unpack(batch, packed)
            logs: dict[str, Any] = {}
            for h in batch_begin:
                h(trainer, step, logs)
            out = model(to_input(xb))
            loss, parts = objective.loss(out, yb, wb)
            if trainer.regularizer is not None:
                loss = loss + trainer.regularizer(model)
            opt.zero_grad()
            loss.backward()
            for h in backward_end:
                h(trainer)
            lv = float(loss._data)
            norm = self.guard(lv, epoch, step)
            if trainer.grad_clip is not None:
                self.clip(norm)
            opt.step()
            for h in step_end:
                h(trainer)
            if sched_step:
                trainer.scheduler.step()
            trainer.global_step += 1
            n = batch_size_of(yb, xb)
            acc.step = step + 1
            acc.loss_sum += lv * n
            acc.n_seen += n
            if parts:
                for k, v in parts.items():
                    acc.head_sums[k] = acc.head_sums.get(k, 0.0) + v * n
            if metrics is None:
                metrics = self._first_metrics(out, yb)
            objective.update_metrics(metrics, out, yb)
            if batch_end:
                logs["loss"] = lv
                logs["size"] = n
                for h in batch_end:
                    h(trainer, step, logs)
            if trainer.interrupt_training and (nb is None or acc.step < nb):
                acc.seconds += time.perf_counter() - t0
                self.check_parameters(epoch, acc.step)
                return None
        acc.seconds += time.perf_counter() - t0
        self.progress = None
        self.check_parameters(epoch, acc.step)
        if acc.n_seen == 0:
            raise KisonetValueError(tr("Trainer: the training loader yielded no batch"))
        res = {"train_loss": acc.loss_sum / acc.n_seen}
        for k, v in acc.head_sums.items():
            res[f"train_{k}_loss"] = v / acc.n_seen
        for key, _, m in metrics or ():
            res[f"train_{key}"] = float(m.compute())
        return res, acc.seconds, acc.lr

    # --- evaluation -----------------------------------------------------------------------
    def evaluate(self, loader: Any, packed: bool, what: str = "evaluation") -> dict[str, float]:
        """Loss and metrics over ``loader`` in eval mode without a graph.

        Inputs or targets with NaN/Inf are refused (KisonetValueError naming ``what``);
        outputs that overflowed give NaN metrics rather than a made-up accuracy.
        """
        trainer = self.trainer
        model, objective = trainer.model, trainer.objective
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
                    xb, yb, _ = unpack(batch, packed)
                    check_finite_inputs(xb, f"Trainer: the {what} inputs", n_seen)
                    check_finite_inputs(yb, f"Trainer: the {what} targets", n_seen)
                    out = model(to_input(xb))
                    n = batch_size_of(yb, xb)
                    if finite_out:
                        outs = out.values() if isinstance(out, dict) else (out,)
                        finite_out = all(np.isfinite(output_array(o)).all() for o in outs)
                    if yb is None:
                        has_loss = False
                        n_seen += n
                        continue
                    loss, parts = objective.loss(out, yb, None)
                    loss_sum += float(loss._data) * n
                    n_seen += n
                    if parts:
                        for k, v in parts.items():
                            head_sums[k] = head_sums.get(k, 0.0) + v * n
                    if metrics is None:
                        metrics = objective.build_metrics(out, yb)
                    objective.update_metrics(metrics, out, yb)
        finally:
            model.train(was_training)
        if n_seen == 0:
            raise KisonetValueError(tr("Trainer: evaluation data yielded no batch"))
        res: dict[str, float] = {}
        if has_loss:
            res["loss"] = loss_sum / n_seen
        for k, v in head_sums.items():
            res[f"{k}_loss"] = v / n_seen
        for key, _, m in metrics or ():
            # Outputs that overflowed have no class: an accuracy from them would be made up.
            res[key] = float(m.compute()) if finite_out else float("nan")
        return res
