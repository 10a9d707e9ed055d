"""The dataset protocol: anything with ``__len__`` and ``__getitem__(i) -> (x, y)``.

``ArrayDataset`` wraps in-memory arrays and also accepts an integer *array* as
index, so the loader can gather a whole mini-batch with one fancy-indexing call
instead of a Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import KisonetIndexError, KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr


@runtime_checkable
class Dataset(Protocol):
    """What the :class:`~kisonet.data.DataLoader` needs: a length and ``(x, y)`` items."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[Any, Any]: ...


def _as_index(index: Any, n: int, owner: str) -> Any:
    """Validate an int or an integer-array index against length ``n`` (negative ints allowed)."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        i = int(index)
        if not -n <= i < n:
            raise KisonetIndexError(tr("{0}: index {1} out of range for length {2}", owner, i, n))
        return i
    if isinstance(index, slice):
        return index
    idx = np.asarray(index)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ShapeError(tr("{0}: boolean mask of shape {1} for length {2}", owner, idx.shape, n))
        return idx
    if not np.issubdtype(idx.dtype, np.integer):
        raise KisonetTypeError(
            tr("{0}: index must be an int, a slice or an integer array, got dtype {1}", owner, idx.dtype)
        )
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise KisonetIndexError(
            tr("{0}: index array has values in [{1}, {2}] for length {3}", owner, idx.min(), idx.max(), n)
        )
    return idx


class ArrayDataset:
    """A dataset over arrays that share their first axis: ``ds[i] == (X[i], y[i])``.

    ``ds[idx]`` with an integer array ``idx`` returns ``(X[idx], y[idx])``: a
    whole batch gathered at once.  ``y`` may be None for unlabelled data
    (items are then ``(x, None)``).
    """

    def __init__(self, X: Any, y: Any = None) -> None:
        X = np.asarray(X)
        if X.ndim == 0:
            raise ShapeError(tr("ArrayDataset: X must have at least one axis, got a scalar of shape {0}", X.shape))
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or y.shape[0] != X.shape[0]:
                raise ShapeError(
                    tr(
                        "ArrayDataset: X has {0} samples (shape {1}) but y has shape {2}; the first axes must match",
                        X.shape[0],
                        X.shape,
                        y.shape,
                    )
                )
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray | None]:
        idx = _as_index(index, len(self), "ArrayDataset")
        return self.X[idx], (None if self.y is None else self.y[idx])

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The wrapped ``(X, y)``."""
        return self.X, self.y

    def __repr__(self) -> str:
        ys = None if self.y is None else f"{self.y.shape} {self.y.dtype}"
        return f"ArrayDataset(X={self.X.shape} {self.X.dtype}, y={ys})"


class Subset:
    """The items of ``dataset`` at ``indices`` (in that order): ``Subset(ds, idx)[k] == ds[idx[k]]``.

    A subset of an :class:`ArrayDataset` keeps batch gathering vectorised.
    """

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise KisonetTypeError(tr("Subset: {0} has no __len__/__getitem__", type(dataset).__name__))
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise KisonetValueError(
                tr("Subset: indices must be a 1-D integer array, got shape {0} {1}", idx.shape, idx.dtype)
            )
        idx = idx.astype(np.int64, copy=False)
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise KisonetIndexError(
                tr("Subset: indices in [{0}, {1}] for a dataset of length {2}", idx.min(), idx.max(), n)
            )
        self.dataset = dataset
        self.indices = idx

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: Any) -> tuple[Any, Any]:
        idx = _as_index(index, len(self), "Subset")
        inner = self.indices[idx]
        if isinstance(inner, np.ndarray) and not supports_batch_index(self.dataset):
            raise KisonetTypeError(tr("Subset: batch indexing needs an underlying dataset that supports it"))
        return self.dataset[inner if isinstance(inner, np.ndarray) else int(inner)]

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, n={len(self)})"


def supports_batch_index(dataset: Any) -> bool:
    """True when ``dataset[int_array]`` returns a whole batch (vectorised gather)."""
    if isinstance(dataset, ArrayDataset):
        return True
    if isinstance(dataset, Subset):
        return supports_batch_index(dataset.dataset)
    return bool(getattr(dataset, "supports_batch_index", False))


def as_dataset(data: Any) -> Any:
    """An ``(X, y)`` tuple becomes an :class:`ArrayDataset`; a dataset passes through."""
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayDataset(*data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise KisonetTypeError(
        tr("expected a dataset (with __len__ and __getitem__) or an (X, y) tuple, got {0}", type(data).__name__)
    )
