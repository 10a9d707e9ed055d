"""``Tensor``: an ndarray that remembers how it was computed, and ``backward``.

Reverse-mode automatic differentiation (back-propagation) in one place: every
op records a :class:`~kisonet.autograd.function.Function` node; ``backward``
orders the nodes topologically (iteratively, so chains of any length work) and
applies the chain rule from the output side,

    dL/dx = sum over consumers f of  (df/dx)^T dL/df,

visiting each node once, so a gradient costs about as much as the forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..errors import GraphError, KisonetIndexError, KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr
from . import anomaly, grad_mode
from .function import Function, sum_to

_FLOAT_KINDS = "f"
_ALLOWED_KINDS = "fiub"


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as e:
            raise KisonetTypeError(tr("tensor: {0!r} is not a dtype", dtype)) from e
        if dtype.kind not in _ALLOWED_KINDS:
            raise KisonetTypeError(tr("tensor: dtype {0} is not numeric (float, int, bool)", dtype))
    xp = backend.get_array_module(data)
    try:
        arr = xp.asarray(data)
    except (ValueError, TypeError) as e:
        raise KisonetTypeError(tr("tensor: cannot make an array from {0}: {1}", type(data).__name__, e)) from e
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise KisonetTypeError(
            tr(
                "tensor: data of dtype {0} (kind {1!r}) is refused; give numbers (float, int or bool)",
                arr.dtype,
                arr.dtype.kind,
            )
        )
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f" and arr.dtype != backend.get_default_dtype():
        return arr.astype(backend.get_default_dtype())
    if arr.dtype.kind in "iu" and arr.dtype != np.int64 and arr.dtype.kind == "i":
        return arr.astype(np.int64)
    return arr


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Create one with :func:`kisonet.tensor`.  ``.data`` is the ndarray,
    ``.grad`` the accumulated gradient (an ndarray of the same shape, or
    None), ``.requires_grad`` whether gradients flow to it.
    """

    # ``_vc`` is the version counter, a one-element list shared by a tensor and its views
    # (reshape, transpose, basic indexing, detach), so an in-place change through any of
    # them is seen by every graph node that saved the shared memory.
    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_vc", "_hooks", "_retain", "name", "__weakref__")
    # NumPy defers to our reflected operators: ndarray + Tensor -> Tensor.__radd__.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> None:
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
            raise KisonetTypeError(tr("tensor: only floating tensors can require gradients, got dtype {0}", arr.dtype))
        self._data = arr
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None
        self._vc = [0]
        self._hooks: list[Callable] | None = None
        self._retain = False
        self.name = name

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, ctx: Function | None) -> Tensor:
        # Fast path for op outputs: the array is already of the right dtype.
        t = object.__new__(Tensor)
        t._data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._vc = [0]
        t._hooks = None
        t._retain = False
        t.name = None
        return t

    # --- data access ------------------------------------------------------------
    @property
    def _version(self) -> int:
        """Bumped by every in-place change (shared with views); backward compares it."""
        return self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._vc[0] = value

    @property
    def data(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied; changes bypass autograd)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr
        self._vc[0] += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    def __iter__(self):
        # Rows, as for an ndarray (without this Python would index until IndexError).
        if self._data.ndim == 0:
            raise KisonetTypeError(tr("iteration over a 0-d tensor"))
        return (self[i] for i in range(len(self._data)))

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise KisonetTypeError(tr("len() of a 0-d tensor"))
        return len(self._data)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shares memory with the tensor)."""
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise KisonetValueError(tr("item(): tensor of shape {0} has {1} elements, not 1", self.shape, self.size))
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing the data, cut from the graph (no gradient flows through it).

        It shares the version counter too: an in-place change through the detached
        tensor is still detected by a graph that saved the data."""
        t = Tensor._make(self._data, False, None)
        t._vc = self._vc
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise KisonetTypeError(
                tr("requires_grad_: only floating tensors can require gradients, got {0}", self.dtype)
            )
        if not self.is_leaf and not requires_grad:
            raise GraphError(tr("requires_grad_(False) on a non-leaf tensor; use .detach()"))
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        self._retain = True

    def register_hook(self, hook: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned array
        replaces the gradient.  Returns a function that removes the hook."""
        if not self.requires_grad:
            raise GraphError(tr("register_hook on a tensor that does not require grad"))
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

        def remove() -> None:
            if self._hooks and hook in self._hooks:
                self._hooks.remove(hook)

        return remove

    def astype(self, dtype: Any) -> Tensor:
        from .ops import astype

        return astype(self, dtype)

    # --- in-place updates (tracked by a version counter) -----------------------
    def _check_inplace(self, what: str) -> None:
        if self.requires_grad and grad_mode.is_grad_enabled():
            raise GraphError(
                tr(
                    (
                        "{0}: in-place change of a tensor that requires grad (shape {1}); do it inside "
                        "kn.no_grad() or on a copy"
                    ),
                    what,
                    self.shape,
                )
            )

    def _inplace(self, what: str, fn: Callable[[np.ndarray], None]) -> Tensor:
        self._check_inplace(what)
        try:
            fn(self._data)
        except (ValueError, TypeError) as e:  # NumPy's broadcast/cast refusal, in kisonet's words
            raise ShapeError(
                tr("{0}: cannot write into a tensor of shape {1} ({2}): {3}", what, self.shape, self.dtype, e)
            ) from None
        except IndexError as e:
            raise KisonetIndexError(tr("{0}: on a tensor of shape {1}: {2}", what, self.shape, e)) from None
        self._vc[0] += 1
        return self

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda a: a.fill(0))

    def fill_(self, value: float) -> Tensor:
        return self._inplace("fill_", lambda a: a.fill(value))

    def copy_(self, src: Any) -> Tensor:
        src = src._data if isinstance(src, Tensor) else src
        return self._inplace("copy_", lambda a: np.copyto(a, src, casting="unsafe"))

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return self._inplace(
            "add_", lambda a: np.add(a, other if alpha == 1 else alpha * other, out=a, casting="unsafe")
        )

    def mul_(self, other: Any) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return self._inplace("mul_", lambda a: np.multiply(a, other, out=a, casting="unsafe"))

    def __setitem__(self, index: Any, value: Any) -> None:
        value = value._data if isinstance(value, Tensor) else value
        index = _index_arrays(index)
        self._inplace("__setitem__", lambda a: a.__setitem__(index, value))

    # --- backward -------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Back-propagate from this tensor, accumulating ``.grad`` on the leaves.

        ``grad`` is dL/d(self); it defaults to 1 for a one-element tensor.  The
        graph is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise GraphError(
                tr(
                    "backward: this tensor does not require grad (no input had requires_grad=True, "
                    "or it was computed under kn.no_grad())"
                )
            )
        if grad is None:
            if self._data.size != 1:
                raise GraphError(
                    tr(
                        (
                            "backward: grad can be implied only for a one-element output, but this tensor "
                            "has shape {0}; pass grad= of that shape (e.g. the loss must be reduced)"
                        ),
                        self.shape,
                    )
                )
            g = np.ones_like(self._data)
        else:
            g = _to_array(grad, self.dtype)
            if g.shape != self.shape:
                raise KisonetValueError(
                    tr("backward: grad has shape {0} but the tensor has shape {1}", g.shape, self.shape)
                )
        run_backward(self, g, retain_graph)

    # --- operators ----------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise KisonetValueError(
                tr("the truth value of a tensor with {0} elements is ambiguous; use .any() or .all()", self.size)
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # NumPy's protocol: copy=True must copy, copy=False must not (or raise).
        if copy is False and dtype is not None and np.dtype(dtype) != self._data.dtype:
            raise KisonetValueError(tr("cannot view a {0} tensor as {1} without a copy", self.dtype, np.dtype(dtype)))
        arr = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return arr.copy() if copy and arr is self._data else arr

    # --- methods with NumPy's spelling ------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:
        return _ops.sum(self, axis, keepdims, dim=dim)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:
        return _ops.mean(self, axis, keepdims, dim=dim)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:
        return _ops.max(self, axis, keepdims, dim=dim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None) -> Tensor:
        return _ops.min(self, axis, keepdims, dim=dim)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None) -> Tensor:
        return _ops.var(self, axis, keepdims, ddof, dim=dim)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None) -> Tensor:
        return _ops.std(self, axis, keepdims, ddof, dim=dim)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return _arg_reduce(np.argmax, self, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return _arg_reduce(np.argmin, self, axis, keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.any(self._data, axis=axis, keepdims=keepdims), False, None)

    def all(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.all(self._data, axis=axis, keepdims=keepdims), False, None)

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(
            self, shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
        )

    def flatten(self) -> Tensor:
        return _ops.reshape(self, (-1,))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return _ops.transpose(self, axes or None)

    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None) -> Tensor:
        return _ops.squeeze(self, axis)

    def expand_dims(self, axis: Any) -> Tensor:
        return _ops.expand_dims(self, axis)

    def unsqueeze(self, dim: int) -> Tensor:
        return _ops.expand_dims(self, dim)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return _ops.broadcast_to(self, shape)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return _ops.transpose(self, None)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        return _ops.clip(self, a_min, a_max)

    def maximum(self, other: Any) -> Tensor:
        return _ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _ops.minimum(self, other)

    def where(self, condition: Any, other: Any) -> Tensor:
        """PyTorch's spelling: ``x.where(cond, y)`` is ``kn.where(cond, x, y)``."""
        return _ops.where(condition, self, other)

    def pow(self, exponent: Any) -> Tensor:
        return _ops.pow(self, exponent)

    def matmul(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    # --- display -------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", threshold=200, edgeitems=3)
        extras = []
        if self.dtype != backend.get_default_dtype() and self.dtype not in (np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _arg_reduce(fn: Callable, t: Tensor, axis: Any, keepdims: bool) -> Tensor:
    """argmax/argmin with kisonet's errors for an empty reduction or a bad axis."""
    a = t._data
    if axis is not None and not (isinstance(axis, (int, np.integer)) and -a.ndim <= axis < max(a.ndim, 1)):
        raise KisonetValueError(
            tr("{0}: axis {1!r} is out of range for a tensor of shape {2}", fn.__name__, axis, t.shape)
        )
    if (a.size == 0 and axis is None) or (axis is not None and a.ndim and a.shape[axis] == 0):
        raise KisonetValueError(tr("{0}: reduction over an empty axis (tensor of shape {1})", fn.__name__, t.shape))
    return Tensor._make(fn(a, axis=axis, keepdims=keepdims), False, None)


def _index_arrays(index: Any) -> Any:
    """Replace tensors inside an index with their arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _compare(op: Callable, a: Any, b: Any) -> Tensor:
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    try:
        return Tensor._make(op(a, b), False, None)
    except ValueError as e:
        raise KisonetValueError(
            tr("{0}: shapes {1} and {2} do not broadcast", op.__name__, np.shape(a), np.shape(b))
        ) from e


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a tensor from numbers, a list or an ndarray.

    Float data becomes the default dtype (float32 unless changed with
    :func:`kisonet.set_default_dtype`), whatever its width, unless ``dtype=``
    is given.  Integer and boolean data are allowed but cannot require grad.

    The data is copied, as in ``torch.tensor``: later changes to the given array
    do not reach the tensor, and in-place updates of the tensor (an optimizer
    step) do not reach the array.  :func:`kisonet.as_tensor` shares instead.
    """
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    src = data._data if isinstance(data, Tensor) else data
    if isinstance(src, np.ndarray) and np.may_share_memory(t._data, src):
        t._data = t._data.copy()
    return t


def as_tensor(x: Any, like: Sequence[Any] = ()) -> Tensor:
    """``x`` as a tensor without copying when it already has the right dtype (a Tensor is
    returned as is).  Float constants take the float dtype of a tensor in ``like`` (so
    ``t32 + np.float64_array`` stays float32), else the default float dtype."""
    if isinstance(x, Tensor):
        return x
    dtype = None
    for other in like:
        if isinstance(other, Tensor) and other.dtype.kind == "f":
            dtype = other.dtype
            break
    if isinstance(x, (bool, np.bool_)):
        arr = np.asarray(x)
    elif isinstance(x, (int, float, np.number)) and dtype is not None:
        arr = np.asarray(x, dtype=dtype)
    else:
        arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
        # A numeric constant takes the tensor operand's float dtype directly (no detour
        # through the default dtype, which would round float64 data; no int * float32
        # promotion to float64).
        arr = _to_array(arr, dtype if dtype is not None and arr.dtype.kind in "fiub" else None)
    return Tensor._make(arr, False, None)


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """The back-propagation engine (see the module docstring)."""
    # 1. Order the graph: iterative post-order DFS (inputs before their consumers).
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        fn = t._ctx
        if fn is not None:
            if fn.inputs is None:
                raise GraphError(
                    tr(
                        "backward through a graph that was already freed: the first backward() released "
                        "its saved arrays; call backward(retain_graph=True) the first time if you need "
                        "to back-propagate twice"
                    )
                )
            for inp in fn.inputs:
                if inp.requires_grad and id(inp) not in seen:
                    stack.append((inp, False))

    # 2. Apply the chain rule from the output side, each node once.
    check = anomaly.enabled
    if check:
        anomaly.check_root(grad)
    grads: dict[int, np.ndarray] = {id(root): grad}
    # A fresh gradient array can become a leaf's .grad without a copy (a copy of a large
    # weight gradient costs an allocation and page faults every step), unless it already
    # went to another .grad, is the caller's array, or a retained graph may hand it out again.
    handed: set[int] = {id(grad)}
    while order:
        t = order.pop()
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if t._hooks:
            for hook in tuple(t._hooks):
                out = hook(g)
                if out is not None:
                    g = out
        fn = t._ctx
        if fn is None or t._retain:
            _accumulate(t, g, may_own=not retain_graph and id(g) not in handed)
            handed.add(id(g))
        if fn is None:
            continue
        fn._check_versions()
        if check:
            try:
                in_grads = fn.backward(g)
            except Exception as e:
                anomaly.add_site_note(e, fn)
                raise
        else:
            in_grads = fn.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if check:
            anomaly.check_output_grads(fn, in_grads, fn.needs_input_grad)
        if len(in_grads) != len(fn.inputs):
            raise GraphError(
                tr("{0}.backward returned {1} gradient(s) for {2} input(s)", fn.name, len(in_grads), len(fn.inputs))
            )
        for inp, gi, need in zip(fn.inputs, in_grads, fn.needs_input_grad, strict=True):
            if not need or gi is None:
                continue
            if gi.shape != inp._data.shape:
                gi = sum_to(gi, inp._data.shape)
            key = id(inp)
            prev = grads.get(key)
            grads[key] = gi if prev is None else prev + gi
        if not retain_graph:
            fn._free()


def _accumulate(t: Tensor, g: np.ndarray, may_own: bool = False) -> None:
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    if t.grad is None:
        # A view (broadcast, reshape) may share memory with another gradient: copy it.
        own = may_own and g.base is None and g.flags.writeable and g.shape == t._data.shape
        t.grad = g if own else np.array(g, copy=True)
    else:
        t.grad += g


from . import function as _function  # noqa: E402

_function._Tensor, _function._as_tensor = Tensor, as_tensor

from . import ops as _ops  # noqa: E402  (ops import Tensor; methods look them up at call time)


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
        x = as_tensor(x, like=(like,) if like is not None else ())
    if x.dtype.kind in "iub":
        x = x.astype(like.dtype if like is not None else backend.get_default_dtype())
    return x
