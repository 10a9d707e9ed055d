"""Moment-estimating methods: ``Adam``, ``AdamW`` (decoupled weight decay) and ``AdaBelief``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..validation import check_choice, check_float, check_sequence
from .optimizer import Optimizer, ParamsT

#: where eps enters Adam's denominator (see :class:`Adam`)
ADAM_EPS_PLACEMENTS = ("outside", "inside", "uncorrected")


def _beta(owner: str, name: str, b: Any) -> float:
    return check_float(owner, name, b, 0.0, 1.0, low_open=False, high_open=True)  # type: ignore[return-value]


def _check_betas(owner: str, betas: Any) -> None:
    check_sequence(owner, "betas", betas, _beta, length=2, what="a pair (beta1, beta2)")


class _AdamFamily(Optimizer):
    """The scaffolding Adam and AdaBelief share: weight decay, the first moment ``m``, the
    (amsgrad) maximum of the second moment and the bias-corrected step ``lr/(1-b1^t) m / d``.
    Subclasses name the second moment's state (``_second``) and update it (``_update_second``)."""

    _nonnegative = ("lr", "eps", "weight_decay")
    _second = ""

    def __init__(
        self, params: ParamsT, lr: float, betas: Any, eps: float, weight_decay: float, amsgrad: bool, **flags: Any
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, **flags)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_betas(type(self).__name__, group["betas"])
        if "eps_placement" in group:
            check_choice(type(self).__name__, "eps_placement", group["eps_placement"], ADAM_EPS_PLACEMENTS)

    def _update_second(self, grad: np.ndarray, m: np.ndarray, v: np.ndarray, tmp: np.ndarray, group: dict) -> None:
        """Update the second moment ``v`` in place (``tmp``: scratch of the same shape)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        w = p.data
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        b1, b2 = group["betas"]
        second, second_max = self._second, "max_" + self._second
        if "exp_avg" not in state:
            state["step"] = 0
            self._init_state(p, state, "exp_avg", second)
            if group["amsgrad"]:
                self._init_state(p, state, second_max)
        state["step"] += 1
        t = state["step"]
        if wd != 0 and group["decoupled_weight_decay"]:
            w *= 1.0 - lr * wd
        else:
            grad = self._coupled_decay(p, grad, wd)
        m, v = state["exp_avg"], state[second]
        tmp = np.multiply(grad, 1.0 - b1, out=self._scratch(p, 0))
        m *= b1
        m += tmp
        self._update_second(grad, m, v, tmp, group)
        if group["amsgrad"]:
            v = np.maximum(state[second_max], v, out=state[second_max])
        placement = group.get("eps_placement", "outside")
        step = -lr / (1.0 - b1**t)
        if placement == "inside":
            np.multiply(v, 1.0 / (1.0 - b2**t), out=tmp)
            tmp += eps
            np.sqrt(tmp, out=tmp)
        elif placement == "uncorrected":
            # the textbook's lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) with eps added to sqrt(v) itself
            np.sqrt(v, out=tmp)
            tmp += eps
            step *= math.sqrt(1.0 - b2**t)
        else:
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1.0 - b2**t)
            tmp += eps
        np.divide(m, tmp, out=tmp)
        backend.axpy(step, tmp, w)


class Adam(_AdamFamily):
    r"""Adam (Kingma & Ba 2014): bias-corrected moving averages of g and g^2.

    .. code-block:: text

        input: lr, betas (b1, b2), eps, weight_decay lambda, amsgrad;   m_0 = 0, v_0 = 0, vmax_0 = 0
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})   (+ lambda w_{t-1} if lambda != 0: coupled, L2-style)
            m_t <- b1 m_{t-1} + (1 - b1) g_t
            v_t <- b2 v_{t-1} + (1 - b2) g_t^2
            if amsgrad:  vmax_t <- max(vmax_{t-1}, v_t);  v_t <- vmax_t  (in the denominator only)
            eps_placement="outside" (default, PyTorch):
                w_t <- w_{t-1} - lr m_hat_t / (sqrt(v_hat_t) + eps)     m_hat = m/(1-b1^t), v_hat = v/(1-b2^t)
            eps_placement="inside" (Keio lecture 4):
                w_t <- w_{t-1} - lr m_hat_t / sqrt(v_hat_t + eps)
            eps_placement="uncorrected" (the textbook's common/optimizer.py):
                lr_t <- lr sqrt(1 - b2^t) / (1 - b1^t);   w_t <- w_{t-1} - lr_t m_t / (sqrt(v_t) + eps)

    The three forms differ only in eps.  Keio lecture 4 ("Adam [Kingma+ 2014] / 更新則") prints
    ``m̂ = m/(1-ρ1^t), v̂ = v/(1-ρ2^t), Δw = -η m̂ / sqrt(v̂ + ε)``: ``eps_placement="inside"``.
    「ゼロから作るDeep Learning」(common/optimizer.py, class Adam) folds both corrections into
    ``lr_t`` and adds eps (1e-7 there) to ``sqrt(v)`` before the correction, i.e. PyTorch's form
    with eps scaled by ``sqrt(1 - b2^t)``: ``eps_placement="uncorrected", eps=1e-7``.  The paper
    and PyTorch add eps after the root of the corrected ``v_hat`` (default, 1e-8).  The Nakata
    deck's Adam slide prints no eps and swaps rho1/rho2 in the correction (a misprint; see
    docs/notes-forms.md).  ``weight_decay`` here is coupled (added to the gradient) unless
    ``decoupled_weight_decay=True`` (PyTorch's flag), which makes it :class:`AdamW`.
    ``maximize=True`` ascends.
    """

    _second = "exp_avg_sq"

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        eps_placement: str = "outside",
    ) -> None:
        flags = dict(maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, eps_placement=eps_placement, **flags)

    def _update_second(self, grad: np.ndarray, m: np.ndarray, v: np.ndarray, tmp: np.ndarray, group: dict) -> None:
        # v <- b2 v + (1 - b2) g^2
        b2 = group["betas"][1]
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``.

    .. code-block:: text

        for t = 1, 2, ...
            w_{t-1} <- w_{t-1} (1 - lr lambda)           (decay applied to the weights, not the gradient)
            then the Adam step of :class:`Adam` with g_t = grad f(w_{t-1}) (no coupled decay)

    The decay is not rescaled by the adaptive denominator, unlike L2 added to the loss.
    Default ``weight_decay=1e-2`` as in PyTorch; ``eps_placement`` as in :class:`Adam`.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        eps_placement: str = "outside",
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
            eps_placement=eps_placement,
        )


class AdaBelief(_AdamFamily):
    r"""AdaBelief (Zhuang et al. 2020): scale by the belief in the gradient, the EMA of (g - m)^2.

    .. code-block:: text

        input: lr, betas (b1, b2), eps, weight_decay lambda, decoupled_weight_decay, amsgrad
        m_0 = 0, s_0 = 0, smax_0 = 0
        for t = 1, 2, ...
            g_t <- grad f(w_{t-1})
            if lambda != 0:  w_{t-1} <- w_{t-1} (1 - lr lambda)  if decoupled   else  g_t <- g_t + lambda w_{t-1}
            m_t <- b1 m_{t-1} + (1 - b1) g_t
            s_t <- b2 s_{t-1} + (1 - b2) (g_t - m_t)^2 + eps
            if amsgrad:  smax_t <- max(smax_{t-1}, s_t);  s_t <- smax_t (for the denominator)
            d_t <- sqrt(s_t) / sqrt(1 - b2^t) + eps
            w_t <- w_{t-1} - lr / (1 - b1^t) * m_t / d_t

    eps is handled as in the authors' implementation (``adabelief_pytorch`` 0.2): added to
    ``s_t`` in the stored state *and* again after the root; default eps 1e-16.  The rectified
    (RAdam-style) variant of that package is not included.  PyTorch has no AdaBelief.
    """

    _second = "exp_avg_var"

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-16,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = True,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=decoupled_weight_decay)

    def _update_second(self, grad: np.ndarray, m: np.ndarray, s: np.ndarray, tmp: np.ndarray, group: dict) -> None:
        # s <- b2 s + (1 - b2) (g - m)^2 + eps
        b2 = group["betas"][1]
        np.subtract(grad, m, out=tmp)
        tmp *= tmp
        tmp *= 1.0 - b2
        s *= b2
        s += tmp
        s += group["eps"]
