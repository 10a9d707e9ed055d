"""``Function``: one differentiable operation, forward and backward side by side.

A Function subclass implements two methods on plain arrays:

* ``forward(self, *xs) -> y``: compute the output from the input arrays; save
  on ``self`` whatever backward will need.
* ``backward(self, gy) -> (gx1, gx2, ...)``: given dL/dy, return dL/dx_i for
  each input (one array, or a tuple with one entry per input; ``None`` for an
  input that needs no gradient).  ``self.needs_input_grad[i]`` says whether
  input ``i`` needs one, so expensive gradients nobody asked for are skipped.

Gradients may be returned in the broadcast shape; the engine sums them back
to each input's shape (``sum_to``), so ops need not undo broadcasting.  A
returned array may become a leaf's ``.grad`` without a copy, so return a new
array (or a view), never an array the Function keeps using (its saved input).

``MyOp.apply(*tensors, **options)`` runs the op and, when any input requires a
gradient and grad mode is on, records it in the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..errors import GraphError
from ..lang import tr
from . import anomaly, grad_mode


class Function:
    """Base class of differentiable operations (see the module docstring)."""

    inputs: tuple | None
    needs_input_grad: tuple[bool, ...]
    #: Whether backward reads the input arrays (then an in-place change of an input
    #: between forward and backward is an error).  False for ops such as add or reshape
    #: whose gradient does not depend on the input values.
    saves_inputs: bool = True
    #: Whether backward reads the output array (exp, tanh, sigmoid, ... reuse y).
    saves_output: bool = False
    #: Whether the output may be a view of the first input (reshape, transpose,
    #: basic indexing): the output then shares the input's version counter.
    returns_view: bool = False

    def __init__(self, **options: Any) -> None:
        for k, v in options.items():
            setattr(self, k, v)

    # --- to implement -------------------------------------------------------
    def forward(self, *xs: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, gy: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    # --- machinery ------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any, **options: Any):
        fn = cls(**options)
        tensors = tuple(a if isinstance(a, _Tensor) else _as_tensor(a, like=args) for a in args)
        record = False
        if grad_mode.is_grad_enabled():
            for t in tensors:
                if t.requires_grad:
                    record = True
                    break
        fn.needs_input_grad = tuple([t.requires_grad for t in tensors]) if record else ()
        fn.requires_grad = record
        y = fn.forward(*[t._data for t in tensors])
        out = _Tensor._make(y, record, fn if record else None)
        if cls.returns_view and np.may_share_memory(out._data, tensors[0]._data):
            out._vc = tensors[0]._vc
        if record:
            fn.inputs = tensors
            if anomaly.enabled:
                fn._anomaly_site = anomaly.creation_site()
            if cls.saves_inputs:
                fn._versions = tuple([t._vc[0] for t in tensors])
            if cls.saves_output:
                fn._out_vc, fn._out_version = out._vc, out._vc[0]
        return out

    @property
    def name(self) -> str:
        return type(self).__name__

    def _check_versions(self) -> None:
        if self.saves_inputs:
            for t, v in zip(self.inputs, self._versions, strict=True):
                if t._vc[0] != v:
                    raise GraphError(
                        tr(
                            (
                                "{0}: an input of shape {1} needed for the gradient was modified in place after "
                                "the forward pass (version {2} -> {3}); compute on a copy instead"
                            ),
                            self.name,
                            t.shape,
                            v,
                            t._vc[0],
                        )
                    )
        if self.saves_output and self._out_vc[0] != self._out_version:
            raise GraphError(
                tr(
                    (
                        "{0}: its output, needed for the gradient, was modified in place after the "
                        "forward pass (version {1} -> {2}); compute on a copy instead"
                    ),
                    self.name,
                    self._out_version,
                    self._out_vc[0],
                )
            )

    def _free(self) -> None:
        # Drop saved arrays and references to inputs so activations can be freed
        # as soon as this node's backward has run.
        self._release()
        self.__dict__.clear()
        self.inputs = None

    def _release(self) -> None:
        """Called once backward no longer needs the saved arrays (before they are dropped):
        an op may hand scratch arrays back to a cache here (conv2d's im2col columns)."""

    def __repr__(self) -> str:
        return f"<{self.name}>"


# Bound by tensor.py once Tensor exists (tensor.py imports this module first).
_Tensor: Any = None
_as_tensor: Any = None


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if g.shape == shape:
        return g
    xp = backend.get_array_module(g)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(g.shape[lead:])
    return xp.reshape(g, shape) if g.shape != shape else g
