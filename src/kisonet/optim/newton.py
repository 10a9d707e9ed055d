"""Newton's method for small models: second-order steps from a finite-difference Hessian."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, enable_grad
from ..errors import KisonetTypeError, KisonetValueError, NumericalError
from ..lang import tr
from ..validation import check_float
from .optimizer import Optimizer, ParamsT


class Newton(Optimizer):
    r"""Newton's method, ``w <- w - lr (H + damping I)^{-1} g``, for models with few parameters.

    .. code-block:: text

        input: closure (recomputes the loss and calls backward), lr (1: the pure Newton step),
               damping delta >= 0, diagonal, fd_eps h
        g   <- grad f(w)                                       (exact, from backward)
        H_j <- (grad f(w + h e_j) - grad f(w - h e_j)) / (2h)   (column j: 2n extra gradients)
        H   <- (H + H^T) / 2
        full:      d <- -(H + delta I)^{-1} g                  (a linear solve, O(n^3))
        diagonal:  d_i <- -g_i / (H_ii + delta)                (the notes' approximation)
        w <- w + lr d

    Notes' form: ``d = -[grad^2 F(theta)]^{-1} grad F(theta)``, step size 1; the diagonal variant
    assumes the Hessian diagonal, ``d_i = -[grad F]_i / [grad^2 F]_{ii}``.  On a quadratic
    ``f(w) = w^T A w / 2 - b^T w`` the central differences of the exact gradient are exact, so one
    full step lands on the minimum ``A^{-1} b``.

    The Hessian is built in float64 (parameters are switched to float64 while the closure is
    re-evaluated, then restored), so it is accurate even when the model is float32.  Cost: 2n+1
    closure calls and an n x n matrix per step, so keep n in the hundreds or low thousands.
    If ``H + delta I`` is singular the step falls back to the least-squares solution; a damping
    term > 0 keeps the step a descent direction where ``H`` is not positive definite.
    PyTorch has no Newton optimizer; like ``torch.optim.LBFGS`` it needs ``step(closure)``.
    """

    _nonnegative = ("lr", "damping")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        damping: float = 0.0,
        diagonal: bool = False,
        fd_eps: float = 1e-4,
    ) -> None:
        super().__init__(params, dict(lr=lr, damping=damping, diagonal=diagonal, fd_eps=fd_eps))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_float("Newton", "fd_eps", group["fd_eps"], 0.0)
        if len(self.param_groups) >= 1:
            raise KisonetValueError(
                tr("Newton: only one parameter group is supported (the Hessian couples all parameters)")
            )

    def _gradient(self, closure: Callable[[], Any], params: list[Tensor]) -> tuple[Any, np.ndarray]:
        for p in params:
            p.grad = None
        with enable_grad():
            loss = closure()
        return loss, np.concatenate(
            [(np.zeros(p.size) if p.grad is None else np.asarray(p.grad, dtype=np.float64).reshape(-1)) for p in params]
        )

    def hessian(self, closure: Callable[[], Any]) -> np.ndarray:
        """The Hessian of the closure's loss at the current parameters (float64, symmetrised)."""
        params = self.param_groups[0]["params"]
        h = self.param_groups[0]["fd_eps"]
        originals = [p._data for p in params]
        prev_default = backend.get_default_dtype()
        n = sum(p.size for p in params)
        H = np.empty((n, n))
        try:
            backend.set_default_dtype(np.float64)
            for p in params:
                p._data = p._data.astype(np.float64)
            flats = [p._data.reshape(-1) for p in params]
            j = 0
            for flat in flats:
                for i in range(flat.size):
                    orig = flat[i]
                    flat[i] = orig + h
                    _, up = self._gradient(closure, params)
                    flat[i] = orig - h
                    _, down = self._gradient(closure, params)
                    flat[i] = orig
                    H[:, j] = (up - down) / (2 * h)
                    j += 1
        finally:
            for p, data in zip(params, originals, strict=False):
                p._data = data
            backend.set_default_dtype(prev_default)
        return (H + H.T) / 2

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One Newton step; ``closure`` must zero nothing itself, recompute the loss and call
        ``backward()``.  Returns the loss at the parameters before the step."""
        if closure is None:
            raise KisonetTypeError(tr("Newton.step needs a closure that recomputes the loss and calls backward()"))
        group = self.param_groups[0]
        params = group["params"]
        H = self.hessian(closure)
        loss, g = self._gradient(closure, params)
        if not np.all(np.isfinite(g)) or not np.all(np.isfinite(H)):
            raise NumericalError(tr("Newton: the gradient or Hessian contains NaN or Inf"))
        delta = group["damping"]
        if group["diagonal"]:
            diag = np.diagonal(H) + delta
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(diag != 0, -g / diag, 0.0)
        else:
            A = H + delta * np.eye(len(g))
            try:
                d = np.linalg.solve(A, -g)
            except np.linalg.LinAlgError:
                d = np.linalg.lstsq(A, -g, rcond=None)[0]
        d *= group["lr"]
        offset = 0
        for p in params:
            seg = d[offset : offset + p.size].reshape(p.shape)
            np.add(p._data, seg, out=p._data, casting="unsafe")
            offset += p.size
        state = self.state.setdefault(params[0], {})
        state["step"] = state.get("step", 0) + 1
        return loss
