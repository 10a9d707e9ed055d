"""``Optimizer``: the base class every update rule derives from.

An optimizer holds *parameter groups*: dicts with a ``'params'`` list and the
hyper-parameters (``'lr'``, ``'momentum'``, ...) that apply to those
parameters, exactly as in PyTorch, so a learning-rate scheduler (or the user)
changes ``optimizer.param_groups[i]['lr']`` between steps.  Per-parameter
running quantities (momentum buffers, moment estimates) live in
``optimizer.state[p]``.

Subclasses implement ``_update(p, grad, group, state)`` for one parameter;
the base ``step`` walks the groups, skips parameters whose ``.grad`` is None
(as PyTorch does) and runs without recording a graph.  Updates are written in
place into ``p.data`` so other holders of the array (a model's state dict, a
compressed copy) stay in sync and no parameter-sized array is allocated per
step beyond what the formula needs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import allocator, backend
from ..autograd import Tensor, enable_grad, no_grad
from ..errors import KisonetTypeError, KisonetValueError
from ..lang import tr
from ..validation import check_float, check_type

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _Required:
    """Sentinel for a hyper-parameter without a default (``SGD``'s ``lr``)."""

    def __repr__(self) -> str:
        return "<required>"


required = _Required()


def _plain(value: Any) -> Any:
    """Hyper-parameters as Python numbers (NumPy float64 scalars would upcast float32 math)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    return value


class Optimizer:
    """Base class of optimizers (PyTorch's ``torch.optim.Optimizer`` interface).

    ``params`` is an iterable of tensors, or of dicts each holding ``'params'``
    and hyper-parameters that override ``defaults`` for that group.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = {k: _plain(v) for k, v in defaults.items()}
        self.state: dict[Tensor, dict[str, Any]] = {}
        # Scratch arrays reused across steps and parameters (see _scratch); not part of the state.
        self._workspace: dict[tuple[str, int], np.ndarray] = {}
        self.param_groups: list[dict[str, Any]] = []
        # The updates run through BLAS axpy: load it now, not inside the first step (where the
        # ~0.3 s import would land in step timings and in distributed ranks' wait bounds).
        backend.load_blas()
        # Training starts here: from now on each step's freed memory is kept for the next.
        allocator.apply_default()
        if isinstance(params, Tensor):
            raise KisonetTypeError(
                tr(
                    "{0}: params must be an iterable of tensors or dicts, got a single Tensor (wrap it in a list)",
                    type(self).__name__,
                )
            )
        groups = list(params)
        if not groups:
            raise KisonetValueError(tr("{0}: got an empty parameter list", type(self).__name__))
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # --- hooks for subclasses -------------------------------------------------------
    #: hyper-parameters that must be numbers >= 0 (checked by the base ``_check_group``)
    _nonnegative: tuple[str, ...] = ("lr",)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters: ``_nonnegative`` ones are numbers >= 0 (subclasses extend)."""
        for k in self._nonnegative:
            check_float(type(self).__name__, k, group[k], 0.0, low_open=False)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    # --- public API -------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a new head to fine-tune)."""
        check_type(type(self).__name__, "param_group", param_group, dict, "a dict")
        group = dict(param_group)
        if "params" not in group:
            raise KisonetValueError(
                tr("{0}: a param group needs a 'params' entry, got keys {1}", type(self).__name__, sorted(group))
            )
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            # named parameters, e.g. model.named_parameters() (PyTorch accepts them too)
            group["param_names"] = [str(n) for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            check_type(type(self).__name__, "params", p, Tensor, "Tensors (it can only optimize Tensors)")
            if p.dtype.kind != "f":
                raise KisonetTypeError(
                    tr("{0}: can only optimize float tensors, got dtype {1}", type(self).__name__, p.dtype)
                )
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise KisonetValueError(
                    tr("{0}: parameter group didn't specify a value of required {1!r}", type(self).__name__, k)
                )
            group.setdefault(k, v)
        for k in list(group):
            if k != "params":
                group[k] = _plain(group[k])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise KisonetValueError(
                tr("{0}: a parameter appears in more than one place in the groups", type(self).__name__)
            )
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default, frees memory) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` when given.

        Where a group has ``maximize=True`` the update sees ``-grad`` (gradient ascent).

        The closure (re-evaluating the loss and calling ``backward``) runs first,
        with grad mode on, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    if grad.shape != p.shape:
                        raise KisonetValueError(
                            tr(
                                "{0}: gradient of shape {1} for a parameter of shape {2}",
                                type(self).__name__,
                                grad.shape,
                                p.shape,
                            )
                        )
                    if grad.dtype != p.dtype:
                        grad = grad.astype(p.dtype)
                    if group.get("maximize"):
                        grad = np.negative(grad, out=self._scratch(p, 3))  # slots 0-1: updates, 2: decay
                    self._update(p, grad, group, self.state.setdefault(p, {}))
        return loss

    def _scratch(self, p: Tensor, slot: int = 0) -> np.ndarray:
        """A scratch array shaped like ``p`` (contents undefined), reused from step to step.

        Large NumPy temporaries are fresh mmap'd pages each time, and touching them costs more
        than the arithmetic; one buffer per slot, as large as the largest parameter, avoids that.
        """
        key = (p.dtype.str, slot)
        buf = self._workspace.get(key)
        if buf is None or buf.size < p.size:
            buf = self._workspace[key] = np.empty(p.size, dtype=p.dtype)
        return buf[: p.size].reshape(p.shape)

    def _coupled_decay(self, p: Tensor, grad: np.ndarray, weight_decay: float) -> np.ndarray:
        """``grad + weight_decay * w`` in scratch slot 2 (the gradient is never modified);
        ``grad`` itself when ``weight_decay`` is 0."""
        if weight_decay == 0:
            return grad
        out = self._scratch(p, 2)
        np.multiply(p.data, weight_decay, out=out)
        out += grad
        return out

    def _init_state(self, p: Tensor, state: dict[str, Any], *names: str, fill: float = 0.0) -> None:
        """Create zero (or ``fill``) state arrays of the parameter's shape and dtype on first use."""
        for n in names:
            if n not in state:
                state[n] = np.full_like(p.data, fill)

    # --- checkpoints --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot that :func:`kisonet.save` can store: parameters are referred to by
        their index over all groups (PyTorch's convention), state arrays are copied.

        ``{'state': {index: {name: array or number}}, 'param_groups': [{..., 'params': [indices]}]}``
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            g = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
            if "param_names" in g:
                g["param_names"] = list(g["param_names"])
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            g["params"] = ids
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups, "optimizer": type(self).__name__}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by :meth:`state_dict` (arrays are copied and
        cast to each parameter's dtype), so training resumes exactly."""
        name = type(self).__name__
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError) as e:
            raise KisonetValueError(
                tr("{0}.load_state_dict: expected a dict with 'state' and 'param_groups'", name)
            ) from e
        saved_class = state_dict.get("optimizer") if isinstance(state_dict, dict) else None
        if saved_class is not None and saved_class != name:
            raise KisonetValueError(
                tr(
                    (
                        "{0}.load_state_dict: the state belongs to the {1} optimizer, not {0}; its "
                        "statistics mean something else (build {1} to resume it)"
                    ),
                    name,
                    saved_class,
                )
            )
        if not isinstance(saved_groups, list) or not isinstance(saved_state, dict):
            raise KisonetValueError(tr("{0}.load_state_dict: 'param_groups' must be a list and 'state' a dict", name))
        if saved_class is None:  # a state saved before the class was recorded: compare the hyper-parameters
            for saved in saved_groups:
                if not isinstance(saved, dict):
                    raise KisonetValueError(tr("{0}.load_state_dict: each parameter group must be a dict", name))
                skip = {"params", "param_names", "initial_lr"}  # initial_lr: added by a scheduler
                ours = set(self.param_groups[0]) - skip if self.param_groups else set()
                theirs = set(saved) - skip
                if theirs - ours and ours - theirs:
                    raise KisonetValueError(
                        tr(
                            (
                                "{0}.load_state_dict: the state's hyper-parameters ({1}) are not {0}'s: it "
                                "belongs to another optimizer"
                            ),
                            name,
                            ", ".join(sorted(theirs - ours)),
                        )
                    )
        if len(saved_groups) != len(self.param_groups):
            raise KisonetValueError(
                tr(
                    "{0}.load_state_dict: the state has {1} parameter groups, the optimizer {2}",
                    name,
                    len(saved_groups),
                    len(self.param_groups),
                )
            )
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=False)):
            if len(saved["params"]) != len(group["params"]):
                raise KisonetValueError(
                    tr(
                        "{0}.load_state_dict: group {1} has {2} parameters in the state, {3} in the optimizer",
                        name,
                        i,
                        len(saved["params"]),
                        len(group["params"]),
                    )
                )
            for idx, p in zip(saved["params"], group["params"], strict=False):
                by_index[int(idx)] = p
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entries in saved_state.items():
            p = by_index.get(int(key))
            if p is None:
                raise KisonetValueError(tr("{0}.load_state_dict: state for unknown parameter index {1}", name, key))
            st = {}
            for k, v in entries.items():
                if isinstance(v, np.ndarray) and v.ndim > 0:
                    if v.shape != p.shape:
                        raise KisonetValueError(
                            tr(
                                "{0}.load_state_dict: state {1!r} of parameter {2} has shape {3}, the parameter {4}",
                                name,
                                k,
                                key,
                                v.shape,
                                p.shape,
                            )
                        )
                    st[k] = np.array(v, dtype=p.dtype, copy=True)
                elif isinstance(v, np.ndarray | np.generic):
                    st[k] = v.item()
                else:
                    st[k] = copy.deepcopy(v)
            new_state[p] = st
        self.state = new_state
        for group, saved in zip(self.param_groups, saved_groups, strict=False):
            for k, v in saved.items():
                if k == "params":
                    continue
                v = v.item() if isinstance(v, np.ndarray | np.generic) and np.ndim(v) == 0 else v
                if isinstance(v, np.ndarray):
                    v = v.tolist()
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                group[k] = v

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)
