"""The differentiable operations on tensors, each forward beside its backward.

Every op is a :class:`Function` subclass (the math) and a small public
function (``kn.exp(t)``, ``kn.sum(t, axis=1)``) that applies it.  Gradients
may come back in the broadcast shape; the engine sums them to each input's
shape.  No op loops over elements in Python.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr
from .function import Function, sum_to
from .tensor import Tensor, _index_arrays, _to_array, as_tensor

# ----------------------------------------------------------------------------
# helpers


def _broadcast_error(name: str, a: np.ndarray, b: np.ndarray) -> ShapeError:
    # Built only after NumPy refused the operands: checking shapes up front would cost
    # more than a small elementwise op itself.
    return ShapeError(tr("{0}: shapes {1} and {2} do not broadcast", name, a.shape, b.shape))


def normalize_axis(name: str, axis: Any, ndim: int, dim: Any = None) -> tuple[int, ...] | None:
    """NumPy's ``axis`` (None, int or tuple; ``dim`` is PyTorch's alias) as a sorted tuple."""
    if dim is not None:
        if axis is not None:
            raise KisonetValueError(tr("{0}: give axis= or dim=, not both", name))
        axis = dim
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    else:
        try:
            axes = tuple(axis)
        except TypeError:
            raise KisonetTypeError(tr("{0}: axis must be an int or a tuple of ints, got {1!r}", name, axis)) from None
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise KisonetTypeError(tr("{0}: axis must be an int or a tuple of ints, got {1!r}", name, axis))
        if not -ndim <= a < builtins.max(ndim, 1):
            raise KisonetValueError(tr("{0}: axis {1} is out of range for a tensor with {2} dimensions", name, a, ndim))
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise KisonetValueError(tr("{0}: repeated axis in {1!r}", name, axis))
    return tuple(sorted(out))


def _expand_reduced(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """Reshape a reduction's gradient so it broadcasts against the input's shape."""
    if axes is None:
        return g.reshape((1,) * len(shape))
    if not keepdims:
        g = np.expand_dims(g, axes)
    return g


# ----------------------------------------------------------------------------
# elementwise arithmetic


class Add(Function):
    """y = a + b;   dL/da = gy,  dL/db = gy  (summed over broadcast axes)."""

    saves_inputs = False

    def forward(self, a, b):
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a - b;   dL/da = gy,  dL/db = -gy."""

    saves_inputs = False

    def forward(self, a, b):
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;   dL/da = gy * b,  dL/db = gy * a."""

    def forward(self, a, b):
        try:
            y = a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None
        self.a, self.b = a, b
        return y

    def backward(self, gy):
        ga = gy * self.b if self.needs_input_grad[0] else None
        gb = gy * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;   dL/da = gy / b,  dL/db = -gy * a / b^2 = -gy * y / b."""

    saves_output = True

    def forward(self, a, b):
        try:
            self.y = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        self.b = b
        return self.y

    def backward(self, gy):
        ga = gy / self.b if self.needs_input_grad[0] else None
        gb = -gy * self.y / self.b if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x;   dL/dx = -gy."""

    saves_inputs = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowScalar(Function):
    """y = x^c (c a constant);   dL/dx = gy * c * x^(c-1)."""

    def forward(self, x):
        self.x = x
        return x**self.c

    def backward(self, gy):
        c = self.c
        if c == 0:  # x^0 = 1 everywhere, also at x = 0 where x^-1 would give 0 * inf
            return np.zeros_like(gy)
        if c == 2:
            return gy * (2 * self.x)
        return gy * (c * self.x ** (c - 1))


class Pow(Function):
    """y = a^b;   dL/da = gy * b * a^(b-1),  dL/db = gy * y * log(a)
    (taken as 0 where a = 0 and b >= 0, as PyTorch does)."""

    saves_output = True

    def forward(self, a, b):
        try:
            self.y = a**b
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        self.a, self.b = a, b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                ga = gy * b * a ** (b - 1)
                ga = np.where((a == 0) & (b >= 1), gy * b * (b == 1), ga) if np.any(a == 0) else ga
            if self.needs_input_grad[1]:
                gb = gy * self.y * np.log(a)
                gb = np.where((a == 0) & (b >= 0), 0, gb).astype(self.y.dtype, copy=False)
        return ga, gb


class MatMul(Function):
    """y = a @ b (NumPy's matmul: 1-D, 2-D and batched);
    dL/da = gy @ b^T,  dL/db = a^T @ gy  (summed over broadcast batch axes)."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(tr("matmul: 0-d operand (shapes {0} and {1}); use * for scalars", a.shape, b.shape))
        ka = a.shape[-1]
        kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ShapeError(tr("matmul: shapes {0} and {1} do not align ({2} != {3})", a.shape, b.shape, ka, kb))
        try:
            y = a @ b
        except ValueError:
            raise ShapeError(tr("matmul: batch shapes of {0} and {1} do not broadcast", a.shape, b.shape)) from None
        self.a, self.b = a, b
        return y

    def backward(self, gy):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            gy = np.expand_dims(gy, -1)
        if a.ndim == 1:
            gy = np.expand_dims(gy, -2)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = _mm(gy, np.swapaxes(b2, -1, -2))
            ga = sum_to(ga, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = _mm(np.swapaxes(a2, -1, -2), gy)
            gb = sum_to(gb, b2.shape).reshape(b.shape)
        return ga, gb


def _mm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y for operands of 2 or more dimensions.

    With a contracted length of 1 (a batch of one sample: dW = x^T gy is an outer
    product) NumPy's matmul skips BLAS and is about 5-10x slower than the equal
    broadcast product (m, 1) * (1, n)."""
    if x.shape[-1] == 1:
        return x * y
    return x @ y


# ----------------------------------------------------------------------------
# elementwise functions


class Exp(Function):
    """y = exp(x);   dL/dx = gy * y."""

    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = log(x);   dL/dx = gy / x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x);   dL/dx = gy / (2 y)."""

    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|;   dL/dx = gy * sign(x)  (0 at x = 0)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, gy):
        return gy * np.sign(self.x)


class Tanh(Function):
    """y = tanh(x);   dL/dx = gy * (1 - y^2)."""

    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 (stable for any x);
    dL/dx = gy * y * (1 - y)."""

    saves_inputs = False
    saves_output = True

    def forward(self, x):
        y = np.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        self.y = y
        return y

    def backward(self, gy):
        y = self.y
        return gy * y * (1 - y)


class ReLU(Function):
    """y = max(x, 0);   dL/dx = gy where x > 0, exactly 0 where x <= 0.

    The gradient is selected, not multiplied by a 0/1 mask: ``0 * NaN`` is NaN, and a NaN or
    Inf arriving from above must not leak through units that are off (PyTorch's
    ``threshold_backward`` and the textbook's ``dout[mask] = 0`` both give 0 there)."""

    saves_inputs = False
    saves_output = True

    def forward(self, x):
        self.y = np.maximum(x, 0)
        return self.y

    def backward(self, gy):
        return _select(self.y > 0, gy)


class Maximum(Function):
    """y = max(a, b) elementwise;   the gradient goes to the larger input
    (split evenly on ties, as in PyTorch)."""

    def forward(self, a, b):
        try:
            y = np.maximum(a, b)
        except ValueError:
            raise _broadcast_error("maximum", a, b) from None
        self.a, self.b = a, b
        return y

    def backward(self, gy):
        return _select_grads(self, gy, self.a > self.b)


class Minimum(Function):
    """y = min(a, b) elementwise;   the gradient goes to the smaller input
    (split evenly on ties)."""

    def forward(self, a, b):
        try:
            y = np.minimum(a, b)
        except ValueError:
            raise _broadcast_error("minimum", a, b) from None
        self.a, self.b = a, b
        return y

    def backward(self, gy):
        return _select_grads(self, gy, self.a < self.b)


def _select(keep: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """``gy`` where ``keep``, exact zeros elsewhere.

    ``gy * keep`` alone would pass a NaN/Inf of ``gy`` through where ``keep`` is False
    (``0 * NaN`` is NaN).  Multiplying is branch-free and several times faster than
    ``np.where`` on a random mask, so the product is kept and repaired only when it is not
    finite (one reduction decides)."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is repaired below
        g = gy * keep
        if np.isfinite(np.add.reduce(g, axis=None)):
            return g
    g[~np.broadcast_to(keep, g.shape)] = 0
    return g


def _select_grads(fn: Function, gy: np.ndarray, first: np.ndarray):
    tie = fn.a == fn.b
    wa = first + 0.5 * tie
    # where the weight is 0 the gradient is exactly 0 (not 0 * gy, NaN for a NaN gy), as in PyTorch
    ga = _select(wa != 0, gy) * wa.astype(gy.dtype) if fn.needs_input_grad[0] else None
    gb = _select(wa != 1, gy) * (1 - wa).astype(gy.dtype) if fn.needs_input_grad[1] else None
    return ga, gb


class Where(Function):
    """y = a where cond else b;   dL/da = gy * cond,  dL/db = gy * (1 - cond)."""

    saves_inputs = False

    def forward(self, a, b):
        try:
            np.broadcast_shapes(self.cond.shape, a.shape, b.shape)
        except ValueError:
            raise ShapeError(
                tr("where: shapes {0}, {1} and {2} do not broadcast", self.cond.shape, a.shape, b.shape)
            ) from None
        return np.where(self.cond, a, b)

    def backward(self, gy):
        zero = np.zeros((), gy.dtype)
        ga = np.where(self.cond, gy, zero) if self.needs_input_grad[0] else None
        gb = np.where(self.cond, zero, gy) if self.needs_input_grad[1] else None
        return ga, gb


class Clip(Function):
    """y = min(max(x, lo), hi);   dL/dx = gy where lo <= x <= hi, exactly 0 elsewhere."""

    def forward(self, x):
        self.x = x
        return np.clip(x, self.lo, self.hi)

    def backward(self, gy):
        x = self.x
        mask = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            mask &= x >= self.lo
        if self.hi is not None:
            mask &= x <= self.hi
        return _select(mask, gy)


class AsType(Function):
    """y = x converted to another float dtype;   dL/dx = gy converted back."""

    saves_inputs = False

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype)


# ----------------------------------------------------------------------------
# reductions


class Sum(Function):
    """y = sum of x over ``axes``;   dL/dx = gy broadcast back to x's shape."""

    saves_inputs = False

    def forward(self, x):
        self.shape = x.shape
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return np.broadcast_to(_expand_reduced(gy, self.shape, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """y = mean of x over ``axes`` (n elements each);   dL/dx = gy / n, broadcast."""

    saves_inputs = False

    def forward(self, x):
        self.shape = x.shape
        y = np.mean(x, axis=self.axes, keepdims=self.keepdims)
        self.n = x.size // builtins.max(y.size, 1) if x.size else 1
        return y

    def backward(self, gy):
        g = _expand_reduced(gy, self.shape, self.axes, self.keepdims) / self.n
        return np.broadcast_to(g, self.shape)


class MaxMin(Function):
    """y = max (or min) of x over ``axes``;   dL/dx = gy at the extreme elements
    (split evenly among ties, as PyTorch's amax/amin)."""

    def forward(self, x):
        if x.size == 0:
            raise KisonetValueError(tr("{0}: reduction of an empty tensor of shape {1}", self.op, x.shape))
        reduce = np.max if self.op == "max" else np.min
        y = reduce(x, axis=self.axes, keepdims=True)
        self.x, self.yk = x, y
        return (
            y
            if self.keepdims or (self.axes is None and x.ndim == 0)
            else (y.reshape(()) if self.axes is None else np.squeeze(y, axis=self.axes))
        )

    def backward(self, gy):
        mask = self.x == self.yk
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand_reduced(gy, self.x.shape, self.axes, self.keepdims)
        return _select(mask, (g / count).astype(gy.dtype))


class Var(Function):
    """y = sum((x - mean)^2) / (n - ddof) over ``axes``;
    dL/dx = gy * 2 (x - mean) / (n - ddof)."""

    saves_inputs = False

    def forward(self, x):
        mu = np.mean(x, axis=self.axes, keepdims=True)
        d = x - mu
        n = x.size // builtins.max(mu.size, 1)
        if n - self.ddof <= 0:
            raise KisonetValueError(tr("var: {0} element(s) per reduction with ddof={1}", n, self.ddof))
        self.d, self.denom = d, n - self.ddof
        return np.sum(d * d, axis=self.axes, keepdims=self.keepdims) / self.denom

    def backward(self, gy):
        g = _expand_reduced(gy, self.d.shape, self.axes, self.keepdims)
        return g * self.d * (2.0 / self.denom)


# ----------------------------------------------------------------------------
# shape and indexing


class Reshape(Function):
    """y = x reshaped;   dL/dx = gy reshaped back."""

    saves_inputs = False
    returns_view = True

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                tr("reshape: cannot reshape {0} ({1} elements) into {2}", x.shape, x.size, self.shape)
            ) from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    """y = x with axes permuted;   dL/dx = gy with the inverse permutation."""

    saves_inputs = False
    returns_view = True

    def forward(self, x):
        if self.axes is not None and sorted(int(a) % builtins.max(x.ndim, 1) for a in self.axes) != list(range(x.ndim)):
            raise ShapeError(tr("transpose: axes {0} are not a permutation of {1} axes", self.axes, x.ndim))
        return np.transpose(x, self.axes)

    def backward(self, gy):
        if self.axes is None:
            return np.transpose(gy)
        return np.transpose(gy, np.argsort([a % gy.ndim for a in self.axes]))


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;   dL/dx = gy summed over the broadcast axes."""

    saves_inputs = False
    returns_view = True

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ShapeError(tr("broadcast_to: cannot broadcast {0} to {1}", x.shape, self.shape)) from None

    def backward(self, gy):
        return gy  # the engine's sum_to reduces it to x's shape


class GetItem(Function):
    """y = x[index] (slices, integers, boolean masks, integer arrays);
    dL/dx = zeros with gy scattered back (``np.add.at``, so repeated indices accumulate)."""

    saves_inputs = False
    returns_view = True

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise KisonetValueError(tr("getitem: index {0!r} on shape {1}: {2}", self.index, x.shape, e)) from None

    def backward(self, gy):
        gx = np.zeros(self.shape, dtype=gy.dtype)
        index = self.index
        if _is_basic_index(index) or (isinstance(index, np.ndarray) and index.dtype == np.bool_):
            gx[index] = gy  # slices and masks never repeat an element: plain assignment
        else:
            np.add.at(gx, self.index, gy)
        return gx


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


class Concatenate(Function):
    """y = concatenate(xs, axis);   dL/dx_i = the slice of gy that x_i filled."""

    saves_inputs = False

    def forward(self, *xs):
        try:
            y = np.concatenate(xs, axis=self.axis)
        except ValueError as e:
            raise ShapeError(
                tr("concatenate: shapes {0} along axis {1}: {2}", [x.shape for x in xs], self.axis, e)
            ) from None
        self.splits = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return y

    def backward(self, gy):
        return tuple(np.split(gy, self.splits, axis=self.axis))


class Stack(Function):
    """y = stack(xs, axis);   dL/dx_i = gy taken at index i along ``axis``."""

    saves_inputs = False

    def forward(self, *xs):
        try:
            return np.stack(xs, axis=self.axis)
        except ValueError as e:
            raise ShapeError(tr("stack: shapes {0} along axis {1}: {2}", [x.shape for x in xs], self.axis, e)) from None

    def backward(self, gy):
        return tuple(np.moveaxis(gy, self.axis, 0))


class Pad(Function):
    """y = x padded with a constant;   dL/dx = the interior of gy."""

    saves_inputs = False

    def forward(self, x):
        try:
            width = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (x.ndim, 2))
        except ValueError:
            raise ShapeError(
                tr("pad: pad_width {0!r} does not fit a tensor of shape {1}", self.pad_width, x.shape)
            ) from None
        if (width < 0).any():
            raise KisonetValueError(tr("pad: negative pad_width {0!r}", self.pad_width))
        self.slices = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(width, x.shape, strict=True))
        return np.pad(x, width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return gy[self.slices]


# ----------------------------------------------------------------------------
# public functions


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _default_float() -> np.dtype:
    from .. import backend

    return backend.get_default_dtype()


def add(a: Any, b: Any) -> Tensor:
    """a + b with broadcasting."""
    return Add.apply(a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b with broadcasting."""
    return Sub.apply(a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b with broadcasting."""
    return Mul.apply(a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b with broadcasting."""
    return Div.apply(a, b)


def neg(x: Any) -> Tensor:
    """-x."""
    return Neg.apply(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - NumPy's name
    """a ** b; a constant exponent uses the cheaper x^c rule."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and np.ndim(b) == 0:
        if isinstance(b, (int, np.integer)) and b < 0 and a.dtype.kind in "iub":
            # NumPy's own ValueError otherwise; the reciprocal of an integer is not an integer
            raise KisonetValueError(
                tr(
                    (
                        "pow: integer tensor ({0}) to the negative integer power {1}; convert it first "
                        "with .astype(kn.get_default_dtype())"
                    ),
                    a.dtype,
                    b,
                )
            )
        return PowScalar.apply(a, c=float(b) if not isinstance(b, (int, np.integer)) else int(b))
    return Pow.apply(a, b)


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with NumPy's semantics (1-D, 2-D and batched)."""
    return MatMul.apply(a, b)


def exp(x: Any) -> Tensor:
    """e^x."""
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return Sqrt.apply(x)


def abs(x: Any) -> Tensor:  # noqa: A001 - NumPy's name
    """|x|."""
    return Abs.apply(x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    """Logistic sigmoid 1 / (1 + e^-x)."""
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    """max(x, 0)."""
    return ReLU.apply(x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum."""
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum."""
    return Minimum.apply(a, b)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """a where cond is true, else b (cond is not differentiated)."""
    c = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
    return Where.apply(a, b, cond=c.astype(bool, copy=False))


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Limit x to [a_min, a_max] (either may be None)."""
    if a_min is None and a_max is None:
        raise KisonetValueError(tr("clip: give a_min, a_max or both"))
    lo = a_min._data if isinstance(a_min, Tensor) else a_min
    hi = a_max._data if isinstance(a_max, Tensor) else a_max
    for bound in (lo, hi):
        if bound is not None and np.asarray(bound).dtype.kind not in "fiub":
            raise KisonetTypeError(tr("clip: bounds must be numbers, got {0!r}", bound))
    return Clip.apply(x, lo=lo, hi=hi)


def astype(x: Any, dtype: Any) -> Tensor:
    """x converted to ``dtype`` (differentiable between float dtypes)."""
    x = _t(x)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise KisonetTypeError(tr("astype: {0!r} is not a dtype", dtype)) from None
    if dt.kind not in "fiub":
        raise KisonetTypeError(tr("astype: dtype {0} is not numeric (float, int or bool)", dt))
    if x.requires_grad and dt.kind == "f":
        return AsType.apply(x, dtype=dt)
    return Tensor._make(x._data.astype(dt), False, None)


def sum(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (None: all, int or tuple; ``dim`` is an alias)."""
    x = _t(x)
    return Sum.apply(x, axes=normalize_axis("sum", axis, x.ndim, dim), keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:
    """Mean over ``axis``."""
    x = _t(x)
    if x.dtype.kind != "f":  # NumPy would return float64 for integer data
        x = astype(x, _default_float())
    return Mean.apply(x, axes=normalize_axis("mean", axis, x.ndim, dim), keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:  # noqa: A001
    """Maximum over ``axis`` (the values; use ``argmax`` for positions)."""
    x = _t(x)
    return MaxMin.apply(x, op="max", axes=normalize_axis("max", axis, x.ndim, dim), keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:  # noqa: A001
    """Minimum over ``axis``."""
    x = _t(x)
    return MaxMin.apply(x, op="min", axes=normalize_axis("min", axis, x.ndim, dim), keepdims=keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None) -> Tensor:
    """Variance over ``axis`` with NumPy's ``ddof`` (0: divide by n; PyTorch's default is 1)."""
    x = _t(x)
    if x.dtype.kind != "f":
        x = astype(x, _default_float())
    return Var.apply(x, axes=normalize_axis("var", axis, x.ndim, dim), keepdims=keepdims, ddof=ddof)


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None) -> Tensor:
    """Standard deviation, sqrt(var)."""
    return sqrt(var(x, axis, keepdims, ddof, dim=dim))


def reshape(x: Any, shape: Any) -> Tensor:
    """x with a new shape (one entry may be -1)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return Reshape.apply(x, shape=shape)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (None reverses them, like NumPy)."""
    return Transpose.apply(x, axes=None if axes is None else tuple(int(a) for a in axes))


permute = transpose


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    x = _t(x)
    axes = list(range(x.ndim))
    for a in (axis1, axis2):
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -x.ndim <= a < x.ndim:
            raise KisonetValueError(tr("swapaxes: axis {0!r} is out of range for a tensor of shape {1}", a, x.shape))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Remove length-1 axes."""
    x = _t(x)
    try:
        shape = np.squeeze(np.empty(x.shape, dtype=np.bool_), axis=axis).shape
    except (ValueError, IndexError) as e:
        raise ShapeError(tr("squeeze: axis {0!r} of a tensor of shape {1}: {2}", axis, x.shape, e)) from None
    return reshape(x, shape)


def expand_dims(x: Any, axis: Any) -> Tensor:
    """Insert length-1 axes at ``axis``."""
    x = _t(x)
    try:
        shape = np.expand_dims(np.empty(x.shape, dtype=np.bool_), axis).shape
    except (ValueError, IndexError) as e:
        raise ShapeError(tr("expand_dims: axis {0!r} for a tensor of shape {1}: {2}", axis, x.shape, e)) from None
    return reshape(x, shape)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """x broadcast to ``shape``."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def getitem(x: Any, index: Any) -> Tensor:
    """x[index]: NumPy indexing, including boolean masks and integer arrays."""
    index = _index_arrays(index)
    if isinstance(index, list):
        index = np.asarray(index)
    return GetItem.apply(x, index=index)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    if len(tensors) == 0:
        raise KisonetValueError(tr("concatenate: need at least one tensor"))
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    if len(tensors) == 0:
        raise KisonetValueError(tr("stack: need at least one tensor"))
    return Stack.apply(*tensors, axis=axis)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant, ``pad_width`` as in ``np.pad``."""
    return Pad.apply(x, pad_width=pad_width, value=value)


def _check_shape(what: str, shape: Any) -> tuple[int, ...]:
    """A shape of non-negative ints (NumPy would raise its own ValueError/TypeError)."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise KisonetTypeError(tr("{0}: shape must be an int or a sequence of ints, got {1!r}", what, shape)) from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise KisonetValueError(tr("{0}: shape must hold non-negative ints, got {1!r}", what, tuple(dims)))
    return tuple(int(d) for d in dims)


def zeros(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (default float dtype)."""
    from .. import backend

    dtype = dtype or backend.get_default_dtype()
    shape = _check_shape("zeros", shape)
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def ones(shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (default float dtype)."""
    from .. import backend

    dtype = dtype or backend.get_default_dtype()
    shape = _check_shape("ones", shape)
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def arange(*args: Any, dtype: Any = None) -> Tensor:
    """Like ``np.arange``."""
    if len(args) >= 3 and args[2] == 0:
        raise KisonetValueError(tr("arange: step must not be 0, got arange{0!r}", tuple(args)))
    try:
        values = np.arange(*args)
    except (TypeError, ValueError) as e:
        raise KisonetValueError(tr("arange{0!r}: {1}", tuple(args), e)) from None
    return Tensor(_to_array(values, dtype))


def randn(*shape: int, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from kisonet's seeded generator."""
    from .. import backend
    from ..random import get_generator

    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    shape = _check_shape("randn", shape)
    data = get_generator().standard_normal(shape, dtype=np.float64).astype(backend.get_default_dtype())
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: int, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from kisonet's seeded generator."""
    from .. import backend
    from ..random import get_generator

    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    shape = _check_shape("rand", shape)
    data = get_generator().random(shape).astype(backend.get_default_dtype())
    return Tensor(data, requires_grad=requires_grad)
