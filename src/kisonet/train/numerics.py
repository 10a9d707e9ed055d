"""Finite numbers in training: overflow-safe gradient norms, NaN/Inf checks of parameters and inputs.

The Trainer's guard uses these so that no update, epoch end, checkpoint or reported
figure is made of NaN/Inf: gradients are checked before each update, parameters after
the last update of every epoch, evaluation inputs before any loss or accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..errors import KisonetValueError
from ..lang import tr
from ..nn.utils import l2_norm as grad_norm  # the overflow-safe ||g||_2 (scaled before squaring)

__all__ = ["check_finite_inputs", "describe_nonfinite", "grad_norm", "nonfinite_parameters"]


def nonfinite_parameters(params: Any) -> list[tuple[str, tuple[int, ...], int, int]]:
    """``(name, shape, NaN count, Inf count)`` of every parameter holding NaN/Inf.

    ``params`` is a model (its ``named_parameters()``) or ``(name, tensor)`` pairs; an
    empty list means every weight is finite (one BLAS dot per tensor when they are).
    """
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    bad = []
    for name, p in params:
        a = p.data if isinstance(p, Tensor) else np.asarray(p)
        if a.dtype.kind not in "fc" or math.isfinite(float(np.vdot(a, a))) or np.isfinite(a).all():
            continue
        bad.append((name, tuple(a.shape), int(np.isnan(a).sum()), int(np.isinf(a).sum())))
    return bad


def check_finite_inputs(x: Any, what: str, first_row: int = 0) -> None:
    """Raise KisonetValueError when floating inputs hold NaN/Inf (no figure is computed from them)."""
    if isinstance(x, dict):
        for k, v in x.items():
            check_finite_inputs(v, f"{what} [{k!r}]", first_row)
        return
    a = x.data if isinstance(x, Tensor) else x
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc" or np.isfinite(a).all():
        return
    rows = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1) if a.ndim else np.array([True])
    first = int(np.argmax(rows)) + first_row
    raise KisonetValueError(
        tr(
            (
                "{0} hold {1} NaN and {2} Inf values ({3} samples, the first is sample {4}); no "
                "loss or accuracy is computed from them: remove or impute those samples"
            ),
            what,
            int(np.isnan(a).sum()),
            int(np.isinf(a).sum()),
            int(rows.sum()),
            first,
        )
    )


def describe_nonfinite(bad: list[tuple[str, tuple[int, ...], int, int]]) -> str:
    head = ", ".join(f"{n!r} (shape {s}) has {nn} NaN and {ni} Inf entries" for n, s, nn, ni in bad[:3])
    return head + (f" and {len(bad) - 3} more parameters" if len(bad) > 3 else "")
