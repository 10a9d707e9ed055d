"""Per-coordinate step sizes: ``Adagrad``, ``RMSprop``, ``Adadelta`` (PyTorch's defaults and eps placement).

All three take PyTorch's keyword-only ``maximize=True`` (the update then sees ``-grad``); the
iterates equal ``torch.optim``'s to rounding (checked in float64 over 100 steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, ParamsT, check_number


class Adagrad(Optimizer):
    r"""AdaGrad (Duchi et al. 2011): divide by the root of the summed squared gradients.

    .. code-block:: text

        input: lr, lr_decay, weight_decay lambda, initial_accumulator_value s_0, eps
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})   (+ lambda w_{t-1} if lambda != 0)
            lr_t <- lr / (1 + (t - 1) lr_decay)
            s_t <- s_{t-1} + g_t^2
            w_t <- w_{t-1} - lr_t g_t / (sqrt(s_t) + eps)

    Notes' form: ``dw_i = -eta g_i / sqrt(sum_tau g_i^2 + eps)`` puts eps *inside* the root;
    kisonet follows PyTorch (eps outside, default 1e-10), so results equal PyTorch's and
    differ from the notes' form only where ``s_t`` is of the order of eps.
    """

    _nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                maximize=maximize,
                eps=eps,
            ),
        )

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        w = p.data
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = np.full_like(w, group["initial_accumulator_value"])
        state["step"] += 1
        grad = self._coupled_decay(p, grad, group["weight_decay"])
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        std = np.multiply(grad, grad, out=self._scratch(p, 0))
        s += std
        np.sqrt(s, out=std)
        std += group["eps"]
        np.divide(grad, std, out=std)
        std *= clr
        w -= std


class RMSprop(Optimizer):
    r"""RMSprop (Hinton 2012): divide by the root of an exponential moving average of g^2.

    .. code-block:: text

        input: lr, alpha, eps, weight_decay lambda, momentum mu, centered
        v_0 = 0, gbar_0 = 0, b_0 = 0
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})   (+ lambda w_{t-1} if lambda != 0)
            v_t <- alpha v_{t-1} + (1 - alpha) g_t^2
            if centered:  gbar_t <- alpha gbar_{t-1} + (1 - alpha) g_t;  d_t <- sqrt(v_t - gbar_t^2) + eps
            else:         d_t <- sqrt(v_t) + eps
            if mu > 0:    b_t <- mu b_{t-1} + g_t / d_t;   w_t <- w_{t-1} - lr b_t
            else:         w_t <- w_{t-1} - lr g_t / d_t

    Notes' form: ``v = rho v + (1 - rho) g^2``, ``dw = -eta g / sqrt(v + eps)`` (rho is ``alpha``;
    eps inside the root).  kisonet follows PyTorch: eps outside the root, default 1e-8.
    """

    _nonnegative = ("lr", "eps", "weight_decay", "momentum")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_number("RMSprop", "alpha", group["alpha"], high=1.0, high_strict=False)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        w = p.data
        alpha = group["alpha"]
        if "square_avg" not in state:
            state["step"] = 0
            self._init_state(p, state, "square_avg")
            if group["momentum"] > 0:
                self._init_state(p, state, "momentum_buffer")
            if group["centered"]:
                self._init_state(p, state, "grad_avg")
        state["step"] += 1
        grad = self._coupled_decay(p, grad, group["weight_decay"])
        v = state["square_avg"]
        avg = np.multiply(grad, grad, out=self._scratch(p, 0))
        avg *= 1.0 - alpha
        v *= alpha
        v += avg
        if group["centered"]:
            gbar = state["grad_avg"]
            gbar *= alpha
            np.multiply(grad, 1.0 - alpha, out=avg)
            gbar += avg
            np.multiply(gbar, gbar, out=avg)
            np.subtract(v, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(v, out=avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            np.divide(grad, avg, out=avg)
            buf += avg
            np.multiply(buf, group["lr"], out=avg)
            w -= avg
        else:
            np.divide(grad, avg, out=avg)
            avg *= group["lr"]
            w -= avg


class Adadelta(Optimizer):
    r"""AdaDelta (Zeiler 2012): RMS of past updates over RMS of gradients, no explicit step size.

    .. code-block:: text

        input: lr (1.0 in the paper), rho, eps, weight_decay lambda;   v_0 = 0, u_0 = 0
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})   (+ lambda w_{t-1} if lambda != 0)
            v_t <- rho v_{t-1} + (1 - rho) g_t^2
            dw_t <- sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
            u_t <- rho u_{t-1} + (1 - rho) dw_t^2
            w_t <- w_{t-1} - lr dw_t

    Notes' form (identical, eps inside both roots): ``u`` is the moving average of squared updates,
    ``v`` that of squared gradients; the numerator uses ``u_{t-1}`` to avoid a circular definition.
    ``lr`` only scales the applied step (PyTorch's extension); ``lr=1`` is the paper's method.
    """

    _nonnegative = ("lr", "eps", "weight_decay")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_number("Adadelta", "rho", group["rho"], high=1.0, high_strict=False)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        w = p.data
        rho, eps = group["rho"], group["eps"]
        if "square_avg" not in state:
            state["step"] = 0
            self._init_state(p, state, "square_avg", "acc_delta")
        state["step"] += 1
        grad = self._coupled_decay(p, grad, group["weight_decay"])
        v, u = state["square_avg"], state["acc_delta"]
        std = np.multiply(grad, grad, out=self._scratch(p, 0))
        std *= 1.0 - rho
        v *= rho
        v += std
        np.add(v, eps, out=std)
        np.sqrt(std, out=std)
        delta = np.add(u, eps, out=self._scratch(p, 1))
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= grad
        np.multiply(delta, delta, out=std)
        std *= 1.0 - rho
        u *= rho
        u += std
        if group["lr"] != 1.0:
            delta *= group["lr"]
        w -= delta
