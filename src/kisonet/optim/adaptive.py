"""Per-coordinate step sizes: ``Adagrad``, ``RMSprop``, ``Adadelta`` (PyTorch's defaults and eps placement).

All three take PyTorch's keyword-only ``maximize=True`` (the update then sees ``-grad``); the
iterates equal ``torch.optim``'s to rounding (checked in float64 over 100 steps).

``Adagrad`` and ``RMSprop`` also take ``eps_placement``: ``"outside"`` (default, PyTorch's
``g / (sqrt(s) + eps)``, also the E-cert exercise report's form) or ``"inside"`` (Keio lecture 4's
``g / sqrt(s + eps)``).  See docs/notes-forms.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..validation import check_choice, check_float
from .optimizer import Optimizer, ParamsT

#: where eps enters the denominator: PyTorch's ``sqrt(s) + eps`` or the Keio lecture 4 ``sqrt(s + eps)``
EPS_PLACEMENTS = ("outside", "inside")


def _root_plus_eps(s: np.ndarray, group: dict[str, Any], out: np.ndarray) -> np.ndarray:
    """``sqrt(s) + eps`` or, with ``eps_placement="inside"``, ``sqrt(s + eps)``, into ``out``."""
    if group["eps_placement"] == "inside":
        np.add(s, group["eps"], out=out)
        return np.sqrt(out, out=out)
    np.sqrt(s, out=out)
    out += group["eps"]
    return out


class Adagrad(Optimizer):
    r"""AdaGrad (Duchi et al. 2011): divide by the root of the summed squared gradients.

    .. code-block:: text

        input: lr, lr_decay, weight_decay lambda, initial_accumulator_value s_0, eps
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})   (+ lambda w_{t-1} if lambda != 0)
            lr_t <- lr / (1 + (t - 1) lr_decay)
            s_t <- s_{t-1} + g_t^2
            w_t <- w_{t-1} - lr_t g_t / (sqrt(s_t) + eps)        eps_placement="outside" (default)
            w_t <- w_{t-1} - lr_t g_t / sqrt(s_t + eps)          eps_placement="inside"

    The decks disagree on eps.  Keio lecture 4 ("AdaGrad [Duchi+ 2011] / 更新則") prints
    ``Δw_i = -η / sqrt(Σ_τ (∇E)_i^2 + ε) ∇E_i`` (eps inside the root, "0.000001 など"):
    ``eps_placement="inside", eps=1e-6``.  The E-cert exercise report (Section2 "2. AdaGrad",
    eqs. 8-10) prints ``h_0 = θ, h_t = h_{t-1} + (∇E)^2, w <- w - ε ∇E / (sqrt(h_t) + θ)``:
    PyTorch's form with ``initial_accumulator_value=eps`` (θ appears twice).  The default is
    PyTorch's (eps outside, 1e-10); the forms differ only where ``s_t`` is of the order of eps.
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
        eps_placement: str = "outside",
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
                eps_placement=eps_placement,
            ),
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_choice("Adagrad", "eps_placement", group["eps_placement"], EPS_PLACEMENTS)

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
        _root_plus_eps(s, group, out=std)
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
            if centered:  gbar_t <- alpha gbar_{t-1} + (1 - alpha) g_t;  v'_t <- v_t - gbar_t^2
            else:         v'_t <- v_t
            d_t <- sqrt(v'_t) + eps       eps_placement="outside" (default)
            d_t <- sqrt(v'_t + eps)       eps_placement="inside"
            if mu > 0:    b_t <- mu b_{t-1} + g_t / d_t;   w_t <- w_{t-1} - lr b_t
            else:         w_t <- w_{t-1} - lr g_t / d_t

    The decks disagree on eps.  Keio lecture 4 ("RMSprop 更新則") prints
    ``v_t = ρ v_{t-1} + (1 - ρ)(∇E)^2, Δw = -η / sqrt(v_t + ε) ∇E`` (ρ is ``alpha``, eps inside):
    ``eps_placement="inside"``.  The E-cert exercise report (Section2 "3. RMSProp", eqs. 11-12)
    prints ``h_t = α h_{t-1} + (1 - α)(∇E)^2, w <- w - ε ∇E / (sqrt(h_t) + θ)``: the default,
    PyTorch's form (eps outside, 1e-8).  The Nakata deck ("RMSprop") prints no eps at all.
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
        eps_placement: str = "outside",
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
                eps_placement=eps_placement,
            ),
        )

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_float("RMSprop", "alpha", group["alpha"], 0.0, 1.0, low_open=False)
        check_choice("RMSprop", "eps_placement", group["eps_placement"], EPS_PLACEMENTS)

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
            _root_plus_eps(avg, group, out=avg)
        else:
            _root_plus_eps(v, group, out=avg)
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

    Keio lecture 4 ("AdaDelta [Zeiler 2012] / 更新則") prints this very form, eps inside both
    roots, ``Δw = -sqrt(u_{t-1} + ε) / sqrt(v_t + ε) ∇E``, so PyTorch's default *is* the notes'
    form and AdaDelta needs no ``eps_placement``: ``u`` is the moving average of squared updates,
    ``v`` that of squared gradients; the numerator uses ``u_{t-1}`` to avoid a circular definition.
    The Nakata deck ("AdaDelta") prints ``d = -sqrt(t)/sqrt(s) v`` without eps ("実際の AdaDelta
    では、これに若干の補正を加えて計算をする").
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
        check_float("Adadelta", "rho", group["rho"], 0.0, 1.0, low_open=False)

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
