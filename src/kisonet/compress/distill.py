"""Knowledge distillation (Hinton, Vinyals & Dean 2015): train a small student on a
trained teacher's temperature-softened outputs as well as on the labels.

With student logits s, teacher logits t, labels y, temperature T and weight alpha,
p^T = softmax(t / T), q^T = softmax(s / T), per sample::

    L = alpha * CE(s, y)  +  (1 - alpha) * T^2 * KL(p^T || q^T)
    KL(p || q) = sum_c p_c (log p_c - log q_c)

averaged over the batch.  The T^2 factor keeps the soft term's gradient on the
same scale as the hard term's whatever T is, since::

    dL/ds = alpha (softmax(s) - onehot(y))  +  (1 - alpha) * T * (q^T - p^T)       (per sample, / N)
    dL/dt = (1 - alpha) * T * p^T * (log p^T - log q^T - KL)                      (usually unused)

A high T spreads the teacher's mass over the wrong classes ("dark knowledge":
which 3s look like 8s), which is what the student learns from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor, no_grad
from ..autograd.tensor import as_tensor
from ..errors import KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr
from ..nn.functional.loss import log_softmax_rows
from ..nn.module import Module
from ..validation import check_positive, check_probability

__all__ = ["DistillationLoss", "Distiller", "distill", "distillation_loss"]


class DistillationLoss(Function):
    """The fused distillation loss of student logits s (N, C) and teacher logits t (N, C)
    (formula and gradients in the module docstring).  Options: ``y`` (N,) int labels,
    ``T`` > 0, ``alpha`` in [0, 1]."""

    y: np.ndarray
    T: float
    alpha: float

    def forward(self, s, t):
        n = s.shape[0]
        T = s.dtype.type(self.T)
        logq_T, q_T = log_softmax_rows(s / T)
        logp_T, p_T = log_softmax_rows(t / T)
        kl = np.einsum("ij,ij->i", p_T, logp_T - logq_T)  # (N,)
        loss = (1 - self.alpha) * float(self.T) ** 2 * kl.sum(dtype=np.float64) / n
        if self.alpha > 0:
            logq, q = log_softmax_rows(s)
            loss += self.alpha * -logq[np.arange(n), self.y].sum(dtype=np.float64) / n
        if self.requires_grad:
            self.q_T, self.p_T, self.logq_T, self.logp_T, self.kl = q_T, p_T, logq_T, logp_T, kl
            self.q = q if self.alpha > 0 else None
        return np.asarray(loss, dtype=s.dtype)

    def backward(self, gy):
        n = self.q_T.shape[0]
        a, T = self.alpha, float(self.T)
        gs = gt = None
        if self.needs_input_grad[0]:
            gs = self.q_T - self.p_T
            gs *= (1 - a) * T
            if a > 0:
                h = self.q * a
                h[np.arange(n), self.y] -= a
                gs += h
            gs *= gy / n
        if self.needs_input_grad[1]:
            gt = self.p_T * (self.logp_T - self.logq_T - self.kl[:, None])
            gt *= (1 - a) * T * gy / n
        return gs, gt


def _check(T: float, alpha: float) -> None:
    check_positive("distillation", "temperature T", T)
    check_probability("distillation", "alpha (the hard-label weight)", alpha)


def distillation_loss(
    student_logits: Any, teacher_logits: Any, target: Any, T: float = 4.0, alpha: float = 0.1
) -> Tensor:
    """alpha * CE(s, y) + (1 - alpha) * T^2 * KL(softmax(t/T) || softmax(s/T)), batch mean.

    ``target``: class indices (N,).  The teacher's logits are usually constants
    (an array or a tensor without grad); a tensor that requires grad gets its gradient too.
    """
    _check(T, alpha)
    s = student_logits if isinstance(student_logits, Tensor) else as_tensor(student_logits)
    t = (
        teacher_logits
        if isinstance(teacher_logits, Tensor)
        else Tensor._make(np.asarray(teacher_logits, dtype=s.dtype), False, None)
    )
    if s.ndim != 2 or s.shape != t.shape:
        raise ShapeError(
            tr("distillation_loss: student logits {0} and teacher logits {1} must both be (N, C)", s.shape, t.shape)
        )
    y = (target._data if isinstance(target, Tensor) else np.asarray(target)).reshape(-1)
    if y.dtype.kind not in "iu":
        raise KisonetTypeError(tr("distillation_loss: target must be integer class indices, got dtype {0}", y.dtype))
    if y.shape[0] != s.shape[0]:
        raise ShapeError(tr("distillation_loss: {0} labels for {1} logit rows", y.shape[0], s.shape[0]))
    if y.size and (y.min() < 0 or y.max() >= s.shape[1]):
        raise KisonetValueError(
            tr("distillation_loss: labels must be in [0, {0}], got {1}..{2}", s.shape[1] - 1, y.min(), y.max())
        )
    return DistillationLoss.apply(s, t, y=y.astype(np.int64), T=float(T), alpha=float(alpha))


class Distiller:
    """The loss for :class:`~kisonet.train.Trainer` when training a student from a teacher.

    ``attach(student)`` registers a forward hook on the student: every time the
    student sees a batch, the teacher (in eval mode, no graph) sees the same batch
    (augmented or not), and calling the Distiller as the loss ``(student_out, y)``
    uses those teacher logits.  The Trainer's model stays the student itself
    (its checkpoints and state dicts are the student's).
    """

    def __init__(self, teacher: Any, T: float = 4.0, alpha: float = 0.1) -> None:
        _check(T, alpha)
        if not callable(teacher):
            raise KisonetTypeError(tr("Distiller: teacher must be a model, got {0}", type(teacher).__name__))
        self.teacher, self.T, self.alpha = teacher, float(T), float(alpha)
        self._teacher_logits: np.ndarray | None = None
        self._remove: Any = None
        self.__name__ = "distillation_cross_entropy"  # the Trainer reads the task from the loss name

    def _hook(self, module: Module, args: tuple, out: Any) -> None:
        was = getattr(self.teacher, "training", False)
        if hasattr(self.teacher, "eval"):
            self.teacher.eval()
        try:
            with no_grad():
                z = self.teacher(args[0])
        finally:
            if was:
                self.teacher.train(True)
        self._teacher_logits = z._data if isinstance(z, Tensor) else np.asarray(z)

    def attach(self, student: Module) -> Distiller:
        self.detach()
        self._remove = student.register_forward_hook(self._hook)
        return self

    def detach(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __call__(self, out: Tensor, y: Any) -> Tensor:
        if self._teacher_logits is None:
            raise KisonetValueError(tr("Distiller: no teacher logits; attach(student) before training"))
        return distillation_loss(out, self._teacher_logits, y, self.T, self.alpha)


def distill(
    teacher: Module,
    student: Module,
    train: Any,
    T: float = 4.0,
    alpha: float = 0.1,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: Any = None,
    lr: float = 1e-3,
    val: Any = None,
    test: Any = None,
    callbacks: Any = (),
    transform: Any = None,
    seed: int | None = 0,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Train ``student`` (in place) from the trained ``teacher`` with :class:`Distiller`
    through the Trainer (Adam at ``lr`` unless an ``optimizer`` is given); returns the history.
    Validation/test losses are the distillation loss; accuracies are the student's."""
    from ..optim import Adam
    from ..train import Trainer

    d = Distiller(teacher, T, alpha).attach(student)
    try:
        opt = optimizer if optimizer is not None else Adam(student.parameters(), lr=lr)
        trainer = Trainer(
            student, d, opt, callbacks=list(callbacks), progress=progress, seed=seed, task="classification"
        )
        return trainer.fit(train, val=val, test=test, epochs=epochs, batch_size=batch_size, transform=transform)
    finally:
        d.detach()
