"""Pruning: zero the weights (or whole units) that matter least, keep them zero while fine-tuning.

A pruned weight W keeps a 0/1 mask M of its shape (a non-persistent buffer
``weight_mask`` on its layer); the layer computes with ``W * M`` because the
masked entries are zeroed in place, and stay zero during fine-tuning because
:class:`PruningCallback` zeroes their gradient after ``backward`` and the entries
again after every optimizer step (momentum or Adam state could otherwise move them).

Criteria (the weights of Linear and Conv2d layers; biases and normalisation layers are kept):

* **unstructured magnitude**: prune the k entries of smallest |w|, either per
  layer (each layer loses the same fraction) or with one **global** threshold
  over all layers (layers with many small weights lose more; usually better);
* **structured**: prune whole output units / filters (rows of W along ``dim=0``)
  with the smallest L1 or L2 norm ``||W[o]||_n``, and their bias, so the unit
  outputs exactly zero (before the activation) and could be cut out of the model.

Amounts are *total* fractions: pruning to 0.9 after 0.5 zeroes 90% of the
weights, keeping the earlier masks.  :func:`remove` bakes the masks in (the zeros
stay in the weights, the masks go); :func:`sparsity` reports the zero fraction per layer.
Iterative pruning follows the cubic schedule of Zhu & Gupta (2017)::

    s_i = s_f (1 - (1 - i / n)^3),   i = 1..n   (large cuts first, gentle near the target)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import KisonetValueError
from ..lang import tr
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..train.callbacks import Callback
from ..validation import check_choice, check_float, check_int, check_type

__all__ = [
    "IterativePruner",
    "PruningCallback",
    "apply_masks",
    "global_unstructured",
    "is_pruned",
    "iterative_prune",
    "l1_unstructured",
    "ln_structured",
    "magnitude_prune",
    "masks_from_zeros",
    "prunable_layers",
    "remove",
    "schedule",
    "sparsity",
]

PRUNABLE = (Linear, Conv2d)
SCOPES = ("global", "layer")


def _check_amount(amount: Any) -> float:
    return check_float("prune", "amount", amount, 0.0, 1.0, low_open=False)  # type: ignore[return-value]


def prunable_layers(model: Module, exclude: Sequence[str] = ()) -> list[tuple[str, Module]]:
    """(name, layer) of every Linear/Conv2d in ``model`` (minus the names in ``exclude``)."""
    out = [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE) and n not in exclude]
    if not out and isinstance(model, PRUNABLE):
        out = [("", model)]
    return out


def _mask_name(name: str) -> str:
    return f"{name}_mask"


def _get_mask(module: Module, name: str = "weight") -> np.ndarray | None:
    return module._buffers.get(_mask_name(name))


def _set_mask(module: Module, name: str, mask: np.ndarray) -> None:
    p = getattr(module, name, None)
    if p is None:
        raise KisonetValueError(tr("prune: {0} has no parameter {1!r}", type(module).__name__, name))
    old = _get_mask(module, name)
    if old is not None:
        mask = mask & old  # pruning never revives a weight
    # not persistent: the state dict stays loadable into an unpruned model; the zeros carry the mask
    module.register_buffer(_mask_name(name), mask, persistent=False)
    p._data *= mask.astype(p.dtype)
    p._vc[0] += 1


def _keep_largest(scores: np.ndarray, n_prune: int) -> np.ndarray:
    """Boolean mask keeping all but the ``n_prune`` smallest scores (ties broken by position)."""
    flat = scores.reshape(-1)
    keep = np.ones(flat.shape, dtype=bool)
    if n_prune >= flat.size:
        keep[:] = False
    elif n_prune > 0:
        keep[np.argpartition(flat, n_prune - 1)[:n_prune]] = False
    return keep.reshape(scores.shape)


def _magnitude(module: Module, name: str) -> np.ndarray:
    w = np.abs(getattr(module, name)._data).astype(np.float64)
    m = _get_mask(module, name)
    if m is not None:
        w[~m] = -1.0  # already-pruned entries go first, so earlier masks are kept
    return w


def l1_unstructured(module: Module, name: str = "weight", amount: float = 0.5) -> Module:
    """Prune the ``round(amount * n)`` entries of ``module.<name>`` with the smallest |w|
    (PyTorch's ``prune.l1_unstructured``, with ``amount`` the total fraction pruned)."""
    amount = _check_amount(amount)
    scores = _magnitude(module, name)
    _set_mask(module, name, _keep_largest(scores, int(round(amount * scores.size))))
    return module


def global_unstructured(layers: Iterable[Module | tuple[Module, str]], amount: float = 0.5) -> None:
    """One magnitude threshold over all the given weights: the ``round(amount * N)`` smallest
    |w| among all N entries are pruned, wherever they are (PyTorch's ``prune.global_unstructured``)."""
    amount = _check_amount(amount)
    pairs = [(m, "weight") if isinstance(m, Module) else (m[0], m[1]) for m in layers]
    if not pairs:
        raise KisonetValueError(tr("global_unstructured: no layers given"))
    scores = [_magnitude(m, n) for m, n in pairs]
    flat = np.concatenate([s.reshape(-1) for s in scores])
    keep = _keep_largest(flat, int(round(amount * flat.size)))
    start = 0
    for (m, n), s in zip(pairs, scores, strict=True):
        _set_mask(m, n, keep[start : start + s.size].reshape(s.shape))
        start += s.size


def ln_structured(
    module: Module,
    name: str = "weight",
    amount: float = 0.5,
    n: int | float = 2,
    dim: int = 0,
    prune_bias: bool = True,
) -> Module:
    """Prune whole slices along ``dim`` (dim 0: output units of a Linear, filters of a Conv2d)
    with the smallest L``n`` norm ``||W[o]||_n`` (n = 1 or 2); with ``prune_bias`` and
    ``dim=0`` the bias of a pruned unit is masked too, so the unit outputs exactly 0."""
    amount = _check_amount(amount)
    if n not in (1, 2):
        raise KisonetValueError(tr("ln_structured: n must be 1 or 2 (the L1 or L2 norm), got {0!r}", n))
    p = getattr(module, name)
    w = p._data.astype(np.float64)
    d = dim % w.ndim
    axes = tuple(i for i in range(w.ndim) if i != d)
    norms = np.abs(w).sum(axis=axes) if n == 1 else np.sqrt((w * w).sum(axis=axes))
    old = _get_mask(module, name)
    if old is not None:
        norms[~old.any(axis=axes)] = -1.0
    keep_units = _keep_largest(norms, int(round(amount * norms.size)))
    shape = [1] * w.ndim
    shape[d] = -1
    _set_mask(module, name, np.broadcast_to(keep_units.reshape(shape), w.shape).copy())
    if prune_bias and d == 0 and getattr(module, "bias", None) is not None:
        _set_mask(module, "bias", keep_units.copy())
    return module


def magnitude_prune(
    model: Module,
    amount: float,
    scope: str = "global",
    structured: bool = False,
    n: int = 2,
    exclude: Sequence[str] | None = None,
) -> Module:
    """Prune every Linear/Conv2d weight of ``model`` to a total sparsity of ``amount``.

    ``scope='global'``: one magnitude threshold over all layers; ``'layer'``: each layer
    pruned to ``amount``.  ``structured=True`` prunes whole units/filters by their
    L``n`` norm, layer by layer; the last layer (the classifier, whose units are the
    classes) is excluded unless ``exclude`` says otherwise.
    """
    check_choice("magnitude_prune", "scope", scope, SCOPES)
    _check_amount(amount)
    layers_all = prunable_layers(model)
    if exclude is None:
        exclude = (layers_all[-1][0],) if structured and len(layers_all) > 1 else ()
    layers = [(name, m) for name, m in layers_all if name not in set(exclude)]
    if not layers:
        raise KisonetValueError(tr("magnitude_prune: {0} has no Linear/Conv2d layer to prune", type(model).__name__))
    if structured:
        if scope == "global":
            raise KisonetValueError(
                tr(
                    "magnitude_prune: structured pruning is layer-wise (unit norms of different "
                    "layers are not comparable); use scope='layer'"
                )
            )
        for _, m in layers:
            ln_structured(m, "weight", amount, n=n, dim=0)
    elif scope == "global":
        global_unstructured([m for _, m in layers], amount)
    else:
        for _, m in layers:
            l1_unstructured(m, "weight", amount)
    return model


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any sub-module carries a pruning mask."""
    return any(k.endswith("_mask") and v is not None for m in module.modules() for k, v in m._buffers.items())


def _masked(model: Module) -> list[tuple[Module, str, np.ndarray]]:
    out = []
    for m in model.modules():
        for k, v in m._buffers.items():
            if k.endswith("_mask") and v is not None:
                out.append((m, k[: -len("_mask")], v))
    return out


def apply_masks(model: Module) -> None:
    """Zero the masked entries of every pruned parameter (in place)."""
    for m, name, mask in _masked(model):
        p = getattr(m, name)
        p._data *= mask
        p._vc[0] += 1


def mask_grads(model: Module) -> None:
    """Zero the gradient of every masked entry (in place), so no update reaches it."""
    for m, name, mask in _masked(model):
        g = getattr(m, name).grad
        if g is not None:
            g *= mask


def remove(module: Module, name: str | None = None) -> Module:
    """Bake the masks in: the pruned entries stay zero, the masks are dropped
    (for every pruned parameter of ``module`` and its sub-modules, or just ``name`` of ``module``)."""
    if name is not None:
        if _get_mask(module, name) is None:
            raise KisonetValueError(tr("remove: parameter {0!r} of {1} is not pruned", name, type(module).__name__))
        _apply_mask_one(module, name)
        del module._buffers[_mask_name(name)]
        module._non_persistent.discard(_mask_name(name))
        return module
    for m, pname, _ in _masked(module):
        remove(m, pname)
    return module


def _apply_mask_one(module: Module, name: str) -> None:
    p = getattr(module, name)
    p._data *= _get_mask(module, name)
    p._vc[0] += 1


def masks_from_zeros(model: Module, exclude: Sequence[str] = ()) -> Module:
    """Re-create masks from the zeros of a pruned model read back from disk (masks are not saved),
    so that fine-tuning it keeps the pruned weights at zero."""
    for _, m in prunable_layers(model, exclude):
        w = m.weight._data
        if (w == 0).any():
            _set_mask(m, "weight", w != 0)
    return model


def sparsity(model: Module, exclude: Sequence[str] = ()) -> dict[str, float]:
    """Fraction of zero weights of each Linear/Conv2d (by layer name) and ``'global'`` over all of them."""
    out: dict[str, float] = {}
    zeros = total = 0
    for name, m in prunable_layers(model, exclude):
        w = m.weight._data
        z = int(w.size - np.count_nonzero(w))
        out[name or type(m).__name__] = z / w.size
        zeros += z
        total += w.size
    out["global"] = zeros / total if total else 0.0
    return out


# ----------------------------------------------------------------------------
# keeping masks applied during training, and pruning on a schedule


class PruningCallback(Callback):
    """Keeps the pruned weights of ``model`` at zero during :meth:`Trainer.fit`:
    zeroes their gradients after backward and the weights after every optimizer step."""

    def __init__(self, model: Module) -> None:
        check_type("PruningCallback", "model", model, Module, "a Module")
        self.model = model

    def on_backward_end(self, trainer: Any) -> None:
        mask_grads(self.model)

    def on_step_end(self, trainer: Any) -> None:
        apply_masks(self.model)


def schedule(target: float, steps: int, initial: float = 0.0) -> list[float]:
    """The cubic sparsity schedule s_i = s_f + (s_0 - s_f)(1 - i/n)^3 for i = 1..n (ends at ``target``)."""
    target = _check_amount(target)
    steps = check_int("prune schedule", "steps", steps)
    return [target + (initial - target) * (1 - i / steps) ** 3 for i in range(1, steps + 1)]


class IterativePruner(PruningCallback):
    """Prune-and-fine-tune inside :meth:`Trainer.fit`: at the start of epochs
    ``start_epoch, start_epoch + frequency, ...`` (``steps`` times) prune ``model`` to the
    next sparsity of :func:`schedule`, and keep the masks applied in between and after.

    Train for at least ``start_epoch + steps * frequency`` epochs plus some fine-tuning.
    """

    def __init__(
        self,
        model: Module,
        target: float = 0.9,
        steps: int = 4,
        frequency: int = 1,
        start_epoch: int = 0,
        scope: str = "global",
        structured: bool = False,
        n: int = 2,
    ) -> None:
        super().__init__(model)
        check_choice("IterativePruner", "scope", scope, SCOPES)
        frequency = check_int("IterativePruner", "frequency", frequency)
        start_epoch = check_int("IterativePruner", "start_epoch", start_epoch, low=0)
        self.levels = schedule(target, steps)
        self.target, self.steps, self.frequency, self.start_epoch = float(target), int(steps), frequency, start_epoch
        self.scope, self.structured, self.n = scope, bool(structured), n
        self.done = 0  # pruning steps taken

    @property
    def last_epoch(self) -> int:
        """The epoch (0-based) at whose start the final pruning step happens."""
        return self.start_epoch + (self.steps - 1) * self.frequency

    def on_epoch_begin(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        k = epoch - self.start_epoch
        if k >= 0 and k % self.frequency == 0 and k // self.frequency < self.steps:
            i = k // self.frequency
            magnitude_prune(self.model, self.levels[i], self.scope, self.structured, self.n)
            self.done = i + 1
        # set here (not at epoch end, after the history row is written) so it lands in the history
        logs["sparsity"] = sparsity(self.model)["global"]

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done = int(state["done"])
        masks_from_zeros(self.model)


def iterative_prune(
    model: Module,
    train: Any,
    target: float = 0.9,
    steps: int = 4,
    epochs_per_step: int = 1,
    fine_tune_epochs: int = 2,
    optimizer: Any = None,
    lr: float = 1e-3,
    batch_size: int = 64,
    scope: str = "global",
    structured: bool = False,
    val: Any = None,
    test: Any = None,
    seed: int | None = 0,
    progress: bool = False,
    bake: bool = True,
    transform: Any = None,
    callbacks: Any = (),
) -> dict[str, list[float]]:
    """Prune ``model`` (in place) to ``target`` sparsity in ``steps`` steps of the cubic
    schedule, training ``epochs_per_step`` epochs after each step and ``fine_tune_epochs``
    more at the end (Adam at ``lr`` unless an ``optimizer`` is given), through the Trainer.
    Returns the history (with a ``sparsity`` column); with ``bake`` the masks are
    removed at the end (the zeros stay).  ``transform`` augments the training batches;
    ``callbacks`` are the Trainer's (a labelled progress bar, ...), after the pruner."""
    from ..optim import Adam
    from ..train import Trainer

    pruner = IterativePruner(model, target, steps, epochs_per_step, 0, scope, structured)
    opt = optimizer if optimizer is not None else Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, "cross_entropy", opt, callbacks=[pruner, *callbacks], progress=progress, seed=seed)
    history = trainer.fit(
        train,
        val=val,
        test=test,
        epochs=steps * epochs_per_step + fine_tune_epochs,
        batch_size=batch_size,
        transform=transform,
    )
    if bake:
        remove(model)
    return history
