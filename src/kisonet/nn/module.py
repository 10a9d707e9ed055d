"""``Module``: the container that holds parameters, buffers and sub-modules.

Parameters and sub-modules register themselves when assigned as attributes
(``self.fc = Linear(3, 4)``), so ``parameters()``, ``state_dict()`` and
``train()/eval()`` reach the whole tree.  Names follow PyTorch so that state
dicts map one to one (``fc.weight``, ``bn.running_mean``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd.function import Function
from ..errors import KisonetIndexError, KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr
from ..validation import check_type


class Parameter(Tensor):
    """A tensor that is a learnable parameter of a module (``requires_grad=True``).

    Modules may attach extra per-parameter state as attributes (a pruning
    ``mask``, quantisation scales); they are not part of the state dict unless
    a module registers them.
    """

    __slots__ = ("__dict__",)

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _Identity(Function):
    """y = x; a node of its own so a module's input gradient can be hooked."""

    def forward(self, x):
        return x

    def backward(self, gy):
        return gy


class Module:
    """Base class of every layer and model: subclass it and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration -----------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise KisonetTypeError(tr("{0}: call super().__init__() before assigning attributes", type(self).__name__))
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise KisonetTypeError(
                    tr("cannot assign {0} to parameter {1!r} (use a Parameter)", type(value).__name__, name)
                )
            params[name] = None
        elif name in buffers:
            buffers[name] = None if value is None else np.asarray(value)
        elif name in modules and value is None:
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(tr("{0!r} object has no attribute {1!r}", type(self).__name__, name))

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. ``bias=False``)."""
        if param is not None:
            check_type(f"register_parameter({name!r})", "param", param, Parameter, "a Parameter or None")
        self._parameters[name] = param

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Add an array that is state but not learned (BatchNorm's ``running_mean``);
        persistent buffers are saved in the state dict."""
        self._buffers[name] = None if value is None else np.asarray(value)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None:
            check_type(f"add_module({name!r})", "module", module, Module, "a Module or None")
        self._modules[name] = module

    # --- traversal ---------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers appears once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in modules:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in modules:
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self) -> int:
        """How many learnable numbers the module holds (shared parameters counted once)."""
        return int(sum(p.size for p in self.parameters()))

    # --- modes and gradients -------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics in normalisation layers)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, running statistics)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (``None``, or zeros in place)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze all parameters, e.g. a pre-trained encoder."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert parameters and floating buffers to float32 or float64 (in place)."""
        d = np.dtype(dtype)
        if d not in (np.float32, np.float64):
            raise KisonetValueError(tr("Module.to: expected float32 or float64, got {0}", d))
        for p in self.parameters():
            p.data = p.data.astype(d)
            if p.grad is not None:
                p.grad = p.grad.astype(d)
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[name] = b.astype(d)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # --- state ---------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> OrderedDict[str, np.ndarray]:
        """Every parameter and persistent buffer by dotted name, as array copies
        (so a saved "best" state does not change as training goes on)."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_prefix, m in self.named_modules(prefix):
            for name, p in m._parameters.items():
                if p is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = p.data.copy()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = np.array(b, copy=True)
        return out

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays into the parameters and buffers of the same names.

        With ``strict=True`` a missing or unexpected name raises; a shape
        mismatch always raises, naming the entry and both shapes.  Returns
        ``(missing, unexpected)``.
        """
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise KisonetTypeError(
                tr(
                    "load_state_dict for {0}: expected a dict of arrays (model.state_dict()), got {1}",
                    type(self).__name__,
                    type(state).__name__,
                )
            )
        targets: dict[str, tuple[Module, str, bool]] = {}
        for mod_prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                if p is not None:
                    targets[f"{mod_prefix}.{name}" if mod_prefix else name] = (m, name, True)
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    targets[f"{mod_prefix}.{name}" if mod_prefix else name] = (m, name, False)
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(tr("missing: {0}", ", ".join(missing)))
            if unexpected:
                parts.append(tr("unexpected: {0}", ", ".join(unexpected)))
            raise KisonetValueError(tr("load_state_dict for {0}: {1}", type(self).__name__, "; ".join(parts)))
        for key, (m, name, is_param) in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            current = m._parameters[name].data if is_param else m._buffers[name]
            if value.shape != current.shape:
                raise ShapeError(
                    tr(
                        "load_state_dict for {0}: {1} has shape {2} in the state but {3} in the model",
                        type(self).__name__,
                        key,
                        value.shape,
                        current.shape,
                    )
                )
            if value.dtype.kind not in "fiub":
                raise KisonetTypeError(
                    tr(
                        "load_state_dict for {0}: {1} holds {2} data, not numbers",
                        type(self).__name__,
                        key,
                        value.dtype,
                    )
                )
        for key, (m, name, is_param) in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if is_param:
                p = m._parameters[name]
                p.data = value.astype(p.dtype, copy=True)
            else:
                current = m._buffers[name]
                m._buffers[name] = value.astype(current.dtype, copy=True)
        return missing, unexpected

    # --- calling and hooks -------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)
        for hook in tuple(self._forward_pre_hooks.values()):
            out = hook(self, args)
            if out is not None:
                args = out if isinstance(out, tuple) else (out,)
        if self._backward_hooks:
            state: dict[str, Any] = {"pending": 0, "grad_output": None, "grad_inputs": []}
            args = self._wrap_inputs_for_backward_hooks(args, state)
        out = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        if self._backward_hooks and isinstance(out, Tensor) and out.requires_grad:
            self._attach_backward_hooks(out, state)
        return out

    def _wrap_inputs_for_backward_hooks(self, args: tuple, state: dict[str, Any]) -> tuple:
        # Each input that needs a gradient passes through an identity node of its own,
        # so the gradient with respect to this module's input can be observed.
        grad_inputs: list = state["grad_inputs"]
        wrapped = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                a = _Identity.apply(a)
                slot = len(grad_inputs)
                grad_inputs.append(None)

                def capture(g: np.ndarray, slot: int = slot) -> None:
                    grad_inputs[slot] = g
                    state["pending"] -= 1
                    if state["pending"] == 0:
                        self._fire_backward_hooks(tuple(grad_inputs), state["grad_output"])

                a.register_hook(capture)
            wrapped.append(a)
        state["pending"] = len(grad_inputs)
        return tuple(wrapped)

    def _attach_backward_hooks(self, out: Tensor, state: dict[str, Any]) -> None:
        def on_output(g: np.ndarray) -> None:
            state["grad_output"] = g
            if state["pending"] == 0:
                self._fire_backward_hooks((), g)

        out.register_hook(on_output)

    def _fire_backward_hooks(self, grad_input: tuple, grad_output: np.ndarray) -> None:
        for hook in tuple(self._backward_hooks.values()):
            hook(self, grad_input, (grad_output,))

    def register_forward_pre_hook(self, hook: Callable) -> Callable[[], None]:
        """``hook(module, args)`` before ``forward``; may return replacement args."""
        return _add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable) -> Callable[[], None]:
        """``hook(module, args, output)`` after ``forward`` (activation statistics,
        activity penalties); a returned value replaces the output."""
        return _add_hook(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook: Callable) -> Callable[[], None]:
        """``hook(module, grad_input, grad_output)`` once the gradients with respect to
        the module's inputs are known (gradient norms per layer).  ``grad_input`` holds
        one array per tensor input that requires grad (empty for the first layer,
        whose input needs none).  The hook observes; its return value is ignored."""
        return _add_hook(self._backward_hooks, hook)

    register_backward_hook = register_full_backward_hook

    # --- display -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """One line of the layer's settings, shown in ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            own = sum(p.size for p in self._parameters.values() if p is not None)
            suffix = f"  # {own:,} params" if own else ""
            return lines[0] + ")" + suffix
        for name, m in children:
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        total = self.num_parameters()
        return "\n".join(lines) + f"\n)  # {total:,} params"


def _add_hook(store: OrderedDict, hook: Callable) -> Callable[[], None]:
    key = object()
    store[key] = hook

    def remove() -> None:
        store.pop(key, None)

    return remove


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    An ``OrderedDict`` of named modules also works.
    """

    def __init__(self, *modules: Module | OrderedDict) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), check_type("Sequential", f"layer {i}", m, Module, "a Module"))

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -len(mods) <= i < len(mods):
            raise KisonetIndexError(tr("Sequential: index {0!r} out of range for {1} layers", i, len(mods)))
        return mods[int(i)]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (for loops in ``forward``)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), check_type("ModuleList", "module", module, Module, "a Module"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (e.g. the heads of a multi-task model)."""

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for k, m in (modules or {}).items():
            self[k] = m

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()
