"""Shared input validators: checks that more than one public entry point needs.

Each turns what NumPy would do silently or fail on (an integer image reaching a
float layer, a NaN hyper-parameter) into kisonet's behaviour or kisonet's error.
"""

from __future__ import annotations

from typing import Any

from .autograd import Tensor
from .backend import get_default_dtype

__all__ = ["float_input"]


def float_input(x: Any, like: Tensor | None = None) -> Tensor:
    """The input of a float layer as a floating tensor.

    Integer or boolean data (uint8 pixels, an int64 array) is converted to the
    dtype of ``like`` (the layer's weight), or the default float dtype: NumPy would
    otherwise promote ``int @ float32`` to float64, or refuse an in-place
    float update of an integer array.  Non-numeric data is refused by
    :func:`kisonet.tensor` with a :class:`~kisonet.errors.KisonetTypeError`.
    A float tensor is returned unchanged (no copy, its graph kept).
    """
    if not isinstance(x, Tensor):
        from .autograd.tensor import as_tensor

        x = as_tensor(x, like=(like,) if like is not None else ())
    if x.dtype.kind in "iub":
        x = x.astype(like.dtype if like is not None else get_default_dtype())
    return x
