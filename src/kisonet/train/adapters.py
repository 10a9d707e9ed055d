"""Data adapters: whatever :meth:`Trainer.fit` is given, turned into batches.

Accepted forms, for ``train``, ``val``, ``test`` and ``evaluate``:

* ``fit(X, y)``: arrays, the scikit-learn/Keras habit (``X`` may be a dict of arrays);
* ``fit((X, y))``: the same pair as one argument (what ``val=`` and ``test=`` take);
* a dataset: ``len(ds)`` and ``ds[i] -> (x, y)`` (``ds[idx_array]`` when it supports
  batch indexing, else the samples are stacked);
* a DataLoader, or any re-iterable of ``(x, y)`` / ``(x, y, sample_weight)`` batches.

Arrays and datasets become a :class:`kisonet.data.DataLoader` over a dataset whose items
are *packed* ``(x, (y, w))``: the sample weights travel with their samples through
shuffling.  Floats are cast to the default dtype (float32), integer targets to int64;
integer inputs (uint8 pixels) are left to the model.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..autograd import Tensor
from ..backend import get_default_dtype
from ..errors import KisonetTypeError, KisonetValueError, ShapeError
from ..lang import N_, gettext, tr
from .numerics import check_finite_inputs

__all__ = [
    "Batches",
    "PackedDataset",
    "WeightedDataset",
    "as_array",
    "batch_size_of",
    "check_finite_pair",
    "is_loader",
    "make_batches",
    "normalise_weights",
    "output_array",
    "take",
    "to_input",
    "train_pair",
    "unpack",
    "xy_pair",
]


class Batches(NamedTuple):
    """A loader and whether its batches are packed ``(x, (y, w))`` (else ``(x, y[, w])``)."""

    loader: Any
    packed: bool


def take(a: Any, idx: Any) -> Any:
    """Rows ``idx`` of an array or of every array of a dict (None stays None)."""
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: v[idx] for k, v in a.items()}
    return a[idx]


def length(a: Any, what: str) -> int:
    if isinstance(a, dict):
        lens = {k: len(v) for k, v in a.items()}
        if len(set(lens.values())) != 1:
            raise ShapeError(tr("Trainer: the {0} arrays have different lengths {1}", gettext(what), lens))
        return next(iter(lens.values()))
    if np.ndim(a) == 0:
        raise ShapeError(tr("Trainer: the {0} is a scalar; give an array with one row per sample", gettext(what)))
    return int(np.shape(a)[0])


def as_array(a: Any, target: bool = False) -> Any:
    """Arrays in the dtypes training wants: floats in the default dtype (float32), integer
    targets (class indices) as int64; integer inputs (e.g. uint8 pixels) are left to the model."""
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: as_array(v, target) for k, v in a.items()}
    if isinstance(a, Tensor):
        a = a.data
    try:
        a = np.asarray(a)
    except ValueError as e:  # ragged nested lists
        what = tr("targets") if target else tr("inputs")
        raise KisonetValueError(tr("Trainer: cannot make an array of the {0}: {1}", what, e)) from None
    if a.dtype.kind not in "fiub":
        raise KisonetTypeError(
            tr(
                "Trainer: the {0} have dtype {1}; numbers are needed (float, int or bool arrays)",
                "targets" if target else "inputs",
                a.dtype,
            )
        )
    if a.dtype.kind == "f" and a.dtype != get_default_dtype():
        return a.astype(get_default_dtype())
    if target and a.dtype.kind in "iu" and a.dtype != np.int64:
        return a.astype(np.int64)
    return a


class PackedDataset:
    """Arrays (or dicts of arrays) gathered a batch at a time: item = ``(x, (y, w))``.

    The target slot carries the sample weights with the batch, so shuffled
    mini-batches keep each sample's weight.
    """

    supports_batch_index = True

    def __init__(self, X: Any, y: Any, w: np.ndarray | None = None) -> None:
        n = length(X, N_("input"))
        if y is not None and length(y, N_("target")) != n:
            raise ShapeError(tr("Trainer: X has {0} samples but y has {1}", n, length(y, N_("target"))))
        if w is not None and w.shape != (n,):
            raise ShapeError(tr("Trainer: sample_weight has shape {0}, expected ({1},)", w.shape, n))
        self.X, self.y, self.w = X, y, w
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: Any) -> tuple[Any, tuple[Any, Any]]:
        return take(self.X, idx), (take(self.y, idx), take(self.w, idx))


class WeightedDataset:
    """A user's dataset plus sample weights: item = ``(x, (y, w))``."""

    supports_batch_index = True

    def __init__(self, dataset: Any, w: np.ndarray | None) -> None:
        from ..data.dataset import supports_batch_index

        self.dataset, self.w = dataset, w
        self.batched = supports_batch_index(dataset)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: Any) -> tuple[Any, tuple[Any, Any]]:
        if isinstance(idx, (int, np.integer)) or self.batched:
            x, y = self.dataset[idx]
        else:
            items = [self.dataset[int(i)] for i in idx]
            x = np.stack([np.asarray(a) for a, _ in items])
            ys = [b for _, b in items]
            y = None if ys[0] is None else np.stack([np.asarray(b) for b in ys])
        return x, (y, take(self.w, idx))


def xy_pair(data: Any) -> tuple[Any, Any] | None:
    """An ``(X, y)`` pair of arrays (or dicts of arrays), else None (a dataset or loader)."""
    if isinstance(data, tuple) and len(data) == 2:
        return data
    return None


def _holds_targets(data: Any) -> bool:
    return xy_pair(data) is not None or is_loader(data) or (hasattr(data, "__len__") and hasattr(data, "__getitem__"))


def train_pair(train: Any, y: Any, where: str = "Trainer.fit") -> Any:
    """``fit(X, y)`` -> ``(X, y)``; ``fit(data)`` -> ``data`` (a pair, a dataset or a loader)."""
    if y is None:
        if isinstance(train, (np.ndarray, Tensor, dict)):
            raise KisonetValueError(
                tr(
                    (
                        "{0}: got inputs without targets; call fit(X, y) or fit((X, y)) (an "
                        "autoencoder's targets are its inputs: fit(X, X))"
                    ),
                    where,
                )
            )
        return train
    if isinstance(train, (np.ndarray, Tensor, list, dict)):
        return (train, y)
    if _holds_targets(train):
        raise KisonetValueError(
            tr(
                (
                    "{0}: y is given but the first argument ({1}) already holds the targets; pass "
                    "validation data as val=(X_val, y_val)"
                ),
                where,
                type(train).__name__,
            )
        )
    raise KisonetTypeError(tr("{0}: X must be an array or a dict of arrays, got {1}", where, type(train).__name__))


def is_loader(data: Any) -> bool:
    from ..data import DataLoader

    if isinstance(data, DataLoader):
        return True
    # Any re-iterable of batches without random access (e.g. a user's generator class).
    return hasattr(data, "__iter__") and not hasattr(data, "__getitem__") and not isinstance(data, (tuple, list))


def unpack(batch: Any, packed: bool) -> tuple[Any, Any, Any]:
    """``(x, y, w)`` of a batch (``w`` None when the batch has no sample weights)."""
    if packed:
        xb, (yb, wb) = batch
        return xb, yb, wb
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
    length = tr(" of length {0}", len(batch)) if hasattr(batch, "__len__") else ""
    raise KisonetTypeError(
        tr("Trainer: a batch must be (x, y) or (x, y, sample_weight), got {0}{1}", type(batch).__name__, length)
    )


def to_input(xb: Any) -> Any:
    """A batch as the model's input: Tensors (no graph), dicts of them for multi-input models."""
    if isinstance(xb, Tensor):
        return xb
    if isinstance(xb, dict):
        return {k: to_input(v) for k, v in xb.items()}
    if isinstance(xb, np.ndarray) and xb.dtype.kind == "f" and xb.dtype != get_default_dtype():
        xb = xb.astype(get_default_dtype())
    return Tensor._make(np.asarray(xb), False, None)  # no copy, no graph: a batch is read-only


def output_array(out: Any) -> np.ndarray:
    return out._data if isinstance(out, Tensor) else np.asarray(out)


def batch_size_of(yb: Any, xb: Any) -> int:
    ref = yb if yb is not None else xb
    if isinstance(ref, dict):
        ref = next(iter(ref.values()))
    return int(np.shape(ref)[0]) if np.ndim(ref) else 1


def normalise_weights(sample_weight: Any) -> np.ndarray | None:
    """Sample weights scaled to mean 1 (so the loss keeps its scale), in the default dtype."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise KisonetValueError(
            tr(
                "Trainer: sample_weight must be finite, >= 0 and not all zero (min {0}, sum {1})",
                w.min() if w.size else "n/a",
                w.sum(),
            )
        )
    return (w * (w.size / w.sum())).astype(get_default_dtype())


def check_finite_pair(data: Any, where: str, split: str) -> None:
    """Refuse NaN/Inf in ``(X, y)`` arrays up front (datasets and loaders are checked per batch)."""
    xy = xy_pair(data)
    if xy is not None:
        check_finite_inputs(as_array(xy[0]), tr("{0}: the {1} inputs", where, gettext(split)))
        check_finite_inputs(as_array(xy[1], target=True), tr("{0}: the {1} targets", where, gettext(split)))


def make_batches(
    data: Any,
    batch_size: int,
    shuffle: bool,
    transform: Any = None,
    sample_weight: Any = None,
    seed: int | None = None,
    what: str = "train",
    merge_last: bool = False,
) -> Batches:
    """The :class:`Batches` of ``data`` (``Batches(None, False)`` for None).  ``merge_last``:
    a lone last sample joins the batch before (batch norm cannot normalise one sample)."""
    from ..data import DataLoader

    if data is None:
        return Batches(None, False)
    w = normalise_weights(sample_weight)
    if is_loader(data):
        if w is not None:
            raise KisonetValueError(
                tr(
                    "Trainer: sample_weight needs arrays or a dataset, not a DataLoader (let the "
                    "loader yield (x, y, weight) batches instead)"
                )
            )
        if transform is not None:
            raise KisonetValueError(
                tr(
                    "Trainer.fit: transform= applies to loaders the Trainer builds; pass it to your "
                    "DataLoader(transform=...) instead"
                )
            )
        # A loader the Trainer built itself (trainer.train_loader) yields packed batches.
        return Batches(data, isinstance(getattr(data, "dataset", None), (PackedDataset, WeightedDataset)))
    xy = xy_pair(data)
    if xy is not None:
        ds: Any = PackedDataset(as_array(xy[0]), as_array(xy[1], target=True), w)
    elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        if w is not None and len(w) != len(data):
            raise ShapeError(tr("Trainer: sample_weight has {0} entries for {1} samples", len(w), len(data)))
        ds = WeightedDataset(data, w)
    else:
        raise KisonetTypeError(
            tr(
                "Trainer: {0} data must be (X, y), a dataset or a DataLoader, got {1}",
                gettext(what),
                type(data).__name__,
            )
        )
    loader = DataLoader(
        ds, batch_size=batch_size, shuffle=shuffle, transform=transform, seed=seed, merge_last=merge_last
    )
    return Batches(loader, True)
