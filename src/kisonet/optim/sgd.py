"""Gradient descent: ``SGD`` (PyTorch's), ``GD`` (full batch) and the notes' ``Momentum``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..errors import KisonetValueError
from ..lang import tr
from ..validation import check_float
from .optimizer import Optimizer, ParamsT, required


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (iterates identical to ``torch.optim.SGD``).

    .. code-block:: text

        input: lr, momentum mu, dampening tau, weight_decay lambda, nesterov, maximize
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})                (-grad if maximize)
            if lambda != 0:  g_t <- g_t + lambda w_{t-1}           (coupled weight decay = L2)
            if mu != 0:
                b_t <- g_t                          if t = 1
                b_t <- mu b_{t-1} + (1 - tau) g_t   otherwise
                g_t <- g_t + mu b_t   if nesterov  else  b_t
            w_t <- w_{t-1} - lr g_t

    Notes' form (mini-batch S of the D samples): ``theta <- theta - alpha (1/|S|) sum_{d in S} grad F(theta; d)``;
    with ``momentum=0`` this is exactly that step; the mini-batch mean is the loss's job.
    Plain gradient descent (the whole training set as one batch) is the same update: see :class:`GD`.
    """

    _nonnegative = ("lr", "momentum", "dampening", "weight_decay")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise KisonetValueError(
                tr(
                    "{0}: nesterov momentum requires momentum > 0 and dampening = 0, got momentum={1}, dampening={2}",
                    type(self).__name__,
                    group["momentum"],
                    group["dampening"],
                )
            )

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        w = p.data
        grad = self._coupled_decay(p, grad, wd)
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.empty_like(w)  # w's memory order: axpy never re-lays it out
                np.copyto(buf, grad)
            else:
                buf *= mu
                backend.axpy(1.0 - group["dampening"], grad, buf)  # b <- mu b + (1 - tau) g
            if group["nesterov"]:
                t = self._scratch(p, 0)
                np.copyto(t, grad)
                grad = backend.axpy(mu, buf, t)  # g + mu b
            else:
                grad = buf
        backend.axpy(-lr, grad, w)  # w <- w - lr g, in one pass over memory


class GD(SGD):
    r"""Gradient descent on the full batch: ``w <- w - lr grad E(w)``.

    Full-batch gradient descent (最急降下法) *is* :class:`SGD` whose mini-batch is the
    whole training set: give the loss over all samples and call ``step()`` once per epoch.
    This class only exists so the notes' name works; it is ``SGD`` with ``momentum=0``
    unless asked otherwise.

    Notes' exercise: ``E(w) = 0.1 w1^2 + 2 w2^2``, ``w0 = (-5, -2)``, ``lr = 0.1`` gives
    ``w1 = (-5, -2) - 0.1 (-1, -8) = (-4.9, -1.2)``.
    """

    def __init__(self, params: ParamsT, lr: float = required, weight_decay: float = 0.0) -> None:  # type: ignore[assignment]
        # lr has no default here: the notes' exercise always states it.
        super().__init__(params, lr=lr, weight_decay=weight_decay)


class Momentum(Optimizer):
    r"""The momentum method in the notes' form (モーメンタム法).

    .. code-block:: text

        input: lr eta, rho, weight_decay lambda;   dw_0 = 0
        for t = 1, 2, ...
            g_t <- grad E(w_{t-1})   (+ lambda w_{t-1} if lambda != 0)
            dw_t <- rho dw_{t-1} - eta g_t
            w_t <- w_{t-1} + dw_t

    ``rho = 0`` is plain gradient descent.  Relation to PyTorch: ``SGD(lr, momentum=rho)`` keeps
    ``b_t = rho b_{t-1} + g_t`` and steps ``-lr b_t``; with a *constant* ``lr`` this gives
    ``dw_t = -lr b_t``, so the iterates are identical.  Under a learning-rate schedule they differ:
    here each past gradient keeps the ``lr`` it was taken with (``dw`` carries ``eta_{t-k}``),
    while ``SGD`` rescales the whole accumulated buffer by today's ``lr``.
    """

    def __init__(self, params: ParamsT, lr: float = required, rho: float = 0.9, weight_decay: float = 0.0) -> None:  # type: ignore[assignment]
        super().__init__(params, dict(lr=lr, rho=rho, weight_decay=weight_decay))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_float("Momentum", "lr", group["lr"], 0.0, low_open=False)
        check_float("Momentum", "rho", group["rho"], 0.0, 1.0, low_open=False, high_open=True)
        check_float("Momentum", "weight_decay", group["weight_decay"], 0.0, low_open=False)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        w = p.data
        grad = self._coupled_decay(p, grad, group["weight_decay"])
        self._init_state(p, state, "velocity")
        v = state["velocity"]
        v *= group["rho"]
        backend.axpy(-group["lr"], grad, v)
        w += v
