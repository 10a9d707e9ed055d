"""The engine: tensors, differentiable functions and reverse-mode backward."""

from . import ops
from .function import Function, sum_to
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs,
    add,
    arange,
    astype,
    broadcast_to,
    clip,
    concatenate,
    div,
    exp,
    expand_dims,
    getitem,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    ones,
    pad,
    permute,
    pow,
    rand,
    randn,
    relu,
    reshape,
    sigmoid,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    var,
    where,
    zeros,
)
from .tensor import Tensor, as_tensor, tensor

__all__ = [name for name in dir() if not name.startswith("_")]
