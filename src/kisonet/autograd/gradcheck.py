"""``gradcheck``: compare analytic gradients with central finite differences.

For every checked tensor x and element i,

    dL/dx_i  ~=  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),

computed in float64 so that eps = 1e-6 is meaningful, with
``L = sum(fn(*inputs) * R)`` for a fixed random R (so every output element
is tested, not just their sum).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..errors import KisonetError, KisonetValueError
from ..lang import tr
from .grad_mode import enable_grad
from .tensor import Tensor


class GradcheckError(KisonetError, AssertionError):
    """The analytic gradient differs from finite differences."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    params: Iterable[Tensor] = (),
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradient with respect to every input that requires grad and
    every tensor in ``params`` (e.g. ``model.parameters()``).

    Inputs and params are switched to float64 for the check and restored
    afterwards.  Raises :class:`GradcheckError` naming the tensor, the worst
    element's index and both values; returns True when all match.
    """
    params = list(params)
    tensors: list[tuple[str, Tensor]] = [
        (f"input {i}", t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad
    ]
    tensors += [(getattr(p, "name", None) or f"param {i}", p) for i, p in enumerate(params)]
    if not tensors:
        raise KisonetValueError(tr("gradcheck: no input requires grad and no params were given"))
    if backend.get_default_dtype() != np.float64:
        # A module's internal constants follow the default dtype; check in float64.
        prev_default = backend.get_default_dtype()
        backend.set_default_dtype(np.float64)
    else:
        prev_default = None
    saved = [(t, t._data, t.grad) for _, t in tensors]
    try:
        for _, t in tensors:
            t._data = t._data.astype(np.float64)
            t.grad = None
        float_inputs = [
            Tensor._make(x._data.astype(np.float64), x.requires_grad, None)
            if isinstance(x, Tensor) and x.dtype.kind == "f" and not x.requires_grad
            else x
            for x in inputs
        ]
        # requires-grad inputs are already float64 (converted above), pass them as is
        call_inputs = [
            x if isinstance(x, Tensor) and x.requires_grad else y for x, y in zip(inputs, float_inputs, strict=True)
        ]
        return _check(fn, call_inputs, tensors, eps, atol, rtol, seed)
    finally:
        for t, data, grad in saved:
            t._data, t.grad = data, grad
        if prev_default is not None:
            backend.set_default_dtype(prev_default)


def _check(fn, call_inputs: Sequence[Any], tensors, eps, atol, rtol, seed) -> bool:
    with enable_grad():
        out = fn(*call_inputs)
    if not isinstance(out, Tensor):
        raise KisonetValueError(tr("gradcheck: fn must return a Tensor, got {0}", type(out).__name__))
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def loss() -> float:
        with enable_grad():
            return float(np.sum(np.asarray(fn(*call_inputs)._data, dtype=np.float64) * weights))

    if out.requires_grad:
        with enable_grad():
            out.backward(weights.astype(out.dtype))
    # else: the output does not depend on any checked tensor; every analytic gradient is 0
    for name, t in tensors:
        analytic = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)  # a view: perturbing it perturbs the tensor
        num_flat = numeric.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            up = loss()
            flat[i] = orig - eps
            down = loss()
            flat[i] = orig
            num_flat[i] = (up - down) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            idx = np.unravel_index(int(np.argmax(err)), t.shape)
            raise GradcheckError(
                tr(
                    (
                        "gradcheck: gradient of {0} (shape {1}) differs at index {2}: analytic {3:.8g}, "
                        "numeric {4:.8g} (atol={5}, rtol={6})"
                    ),
                    name,
                    t.shape,
                    tuple(int(i) for i in idx),
                    analytic[idx],
                    numeric[idx],
                    atol,
                    rtol,
                )
            )
    return True
