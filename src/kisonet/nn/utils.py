"""Gradient clipping and flat parameter vectors (PyTorch's ``torch.nn.utils`` names and semantics)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..errors import KisonetValueError, NumericalError, ShapeError
from ..lang import tr
from ..validation import check_float, check_type


def _params(owner: str, parameters: Any) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        return list(parameters.parameters())
    check_type(owner, "parameters", parameters, Iterable, "a Module, a Tensor or an iterable of Tensors")
    return list(parameters)


def l2_norm(g: np.ndarray) -> float:
    """``||g||_2`` without overflow or underflow: one BLAS dot when ``g.g`` is a normal number,
    else scaled by ``m = max |g|`` before squaring, ``||g|| = m ||g / m||`` (a float32
    gradient of norm 1e25 squares to Inf; one of 1e-30 squares to 0).  NaN/Inf entries give NaN/Inf."""
    sq = float(np.vdot(g, g))
    if math.isfinite(sq) and (sq > 0.0 or not g.any()):
        return math.sqrt(sq)
    m = float(np.max(np.abs(g))) if g.size else 0.0
    if not math.isfinite(m) or m == 0.0:
        return float("nan") if np.isnan(g).any() else m
    s = g / np.asarray(m, dtype=g.dtype)
    return m * math.sqrt(float(np.vdot(s, s)))


def get_total_norm(grads: list[np.ndarray], norm_type: float = 2.0) -> float:
    """``||(g_1, ..., g_n)||_p`` over all gradients taken as one vector (``p = inf``: max |g|)."""
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return float(max(np.max(np.abs(g)) if g.size else 0.0 for g in grads))
    if norm_type == 2:
        # One BLAS dot per gradient (scaled when it would overflow), combined by hypot in float64.
        return math.hypot(*(l2_norm(g) for g in grads))
    # |g|^p overflows float32 for moderate p and |g|: accumulate this one scalar in float64.
    total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
    return total ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Any, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    r"""Rescale gradients in place so their joint norm is at most ``max_norm``; return the norm before.

    .. code-block:: text

        N = || (g_1, ..., g_n) ||_p                  (all gradients as one vector; p = inf: max |g|)
        g_i <- g_i * min(1, max_norm / (N + 1e-6))

    As ``torch.nn.utils.clip_grad_norm_``: parameters without ``.grad`` are ignored, the 1e-6
    guards against 0, and the returned total norm is a 0-d Tensor.
    """
    max_norm = check_float("clip_grad_norm_", "max_norm", max_norm, 0.0, low_open=False, allow_inf=True)
    norm_type = check_float("clip_grad_norm_", "norm_type", norm_type, 0.0, allow_inf=True)
    grads = [p.grad for p in _params("clip_grad_norm_", parameters) if p.grad is not None]
    dtype = grads[0].dtype if grads else np.float32
    total = get_total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise NumericalError(
            tr(
                (
                    "clip_grad_norm_: the total norm of order {0} of the gradients is {1}; pass "
                    "error_if_nonfinite=False to clip anyway"
                ),
                norm_type,
                total,
            )
        )
    coef = min(1.0, max_norm / (total + 1e-6))
    if coef < 1.0:
        for g in grads:
            g *= coef
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clip every gradient element to ``[-clip_value, clip_value]`` in place."""
    c = check_float("clip_grad_value_", "clip_value", clip_value, 0.0, low_open=False, allow_inf=True)
    for p in _params("clip_grad_value_", parameters):
        if p.grad is not None:
            np.clip(p.grad, -c, c, out=p.grad)


def parameters_to_vector(parameters: Any) -> Tensor:
    """All parameters flattened and concatenated into one 1-D Tensor (a copy, no graph)."""
    params = _params("parameters_to_vector", parameters)
    if not params:
        raise KisonetValueError(tr("parameters_to_vector: no parameters"))
    return Tensor(np.concatenate([p.data.reshape(-1) for p in params]))


def vector_to_parameters(vec: Any, parameters: Any) -> None:
    """Copy a 1-D vector (from :func:`parameters_to_vector`) back into the parameters, in place."""
    v = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    params = _params("vector_to_parameters", parameters)
    n = sum(p.size for p in params)
    if v.ndim != 1 or v.size != n:
        raise ShapeError(tr("vector_to_parameters: expected a vector of {0} elements, got shape {1}", n, v.shape))
    offset = 0
    for p in params:
        np.copyto(p.data, v[offset : offset + p.size].reshape(p.shape), casting="unsafe")
        p._version += 1
        offset += p.size


__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "l2_norm",
    "parameters_to_vector",
    "vector_to_parameters",
]
