"""Loss modules: thin wrappers over :mod:`kisonet.nn.functional.loss`.

Called as ``loss_fn(output, target)``; the reduction is fixed at construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..validation import check_choice, check_probability
from .functional import loss as L  # noqa: N812
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MAELoss",
    "MSELoss",
    "NLLLoss",
    "SquaredErrorLoss",
]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_choice(type(self).__name__, "reduction", reduction, L._REDUCTIONS)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


def _array_or_none(x: Any) -> np.ndarray | None:
    if x is None:
        return None
    return np.array(x._data if isinstance(x, Tensor) else x)


class SquaredErrorLoss(_Loss):
    """The notes' 1/2 ||y - t||^2 per sample, averaged over the batch."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.squared_error(input, target, self.reduction)


class MSELoss(_Loss):
    """Mean over all elements of (y - t)^2 (PyTorch's)."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean over all elements of |y - t|."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.mae_loss(input, target, self.reduction)


MAELoss = L1Loss


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (see :func:`kisonet.nn.functional.cross_entropy`):
    class indices or probability targets, class ``weight``, ``ignore_index``,
    ``label_smoothing`` in PyTorch's form or (``smoothing_form='notes'``) the notes'."""

    def __init__(
        self,
        weight: Any | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        smoothing_form: str = "pytorch",
    ) -> None:
        super().__init__(reduction)
        check_probability("CrossEntropyLoss", "label_smoothing", label_smoothing)
        check_choice("CrossEntropyLoss", "smoothing_form", smoothing_form, L._SMOOTHING_FORMS)
        self.register_buffer("weight", _array_or_none(weight))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)
        self.smoothing_form = smoothing_form

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing, self.smoothing_form
        )

    def extra_repr(self) -> str:
        parts = [p for p in (super().extra_repr(),) if p]
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
            if self.smoothing_form != "pytorch":
                parts.append(f"smoothing_form={self.smoothing_form!r}")
        return ", ".join(parts)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities at class indices."""

    def __init__(self, weight: Any | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _array_or_none(weight))
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (logs clamped at -100)."""

    def __init__(self, weight: Any | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _array_or_none(weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid fused, stable), optional ``pos_weight``."""

    def __init__(self, weight: Any | None = None, reduction: str = "mean", pos_weight: Any | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _array_or_none(weight))
        self.register_buffer("pos_weight", _array_or_none(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return L.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)
