"""Mini-batch loader: a fresh permutation every epoch, batches drawn without replacement.

As the notes prescribe (ミニバッチの作成方法): shuffle the training set, cut it
into mini-batches B(1), ..., B(K), one parameter update per batch, and reshuffle
every epoch.  Each sample appears exactly once per epoch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import KisonetValueError
from ..lang import tr
from ..random import get_generator
from ..validation import check_bool, check_callable, check_int
from .dataset import ArrayDataset, as_dataset, supports_batch_index


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of NumPy arrays ``(xb, yb)``.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__ -> (x, y)``, or an ``(X, y)`` tuple.
        batch_size: samples per batch (the last batch is smaller unless ``drop_last``).
        shuffle: draw a new random permutation each epoch (else keep the dataset order).
        drop_last: drop the final incomplete batch.
        merge_last: when the final batch would hold a single sample, merge it into the
            batch before (one batch of ``batch_size + 1``), with one warning: batch
            normalisation cannot normalise one sample.  The Trainer sets it for models
            with batch-norm layers.
        transform: called as ``transform(xb)`` on every batch (e.g. augmentation on NCHW images).
        seed: seed of the loader's own generator; None draws one from
            ``kisonet.random.get_generator()`` so ``kn.manual_seed`` controls it.

    Batches of an :class:`ArrayDataset` (or a Subset of one) are gathered with one
    fancy-indexing call ``X[idx]``; other datasets are read item by item and stacked.
    ``state_dict()`` captures the epoch, the position inside it and the RNG, so a
    loader restored with ``load_state_dict`` yields exactly the batches the original
    would have yielded next, even mid-epoch.  (Breaking out of a loop and iterating
    again starts a new epoch, as in PyTorch; only a restored state resumes mid-epoch.)
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        seed: int | None = None,
        merge_last: bool = False,
    ) -> None:
        self.dataset = as_dataset(dataset)
        n = len(self.dataset)
        if n == 0:
            raise KisonetValueError(tr("DataLoader: the dataset is empty (0 samples)"))
        batch_size = check_int("DataLoader", "batch_size", batch_size)
        if drop_last and batch_size > n:
            raise KisonetValueError(
                tr("DataLoader: batch_size={0} > {1} samples with drop_last=True would yield no batch", batch_size, n)
            )
        if transform is not None:
            check_callable("DataLoader", "transform", transform)
        if seed is None:
            seed = int(get_generator().integers(2**63))
        else:
            seed = check_int("DataLoader", "seed", seed, low=0)
        self.batch_size = batch_size
        self.shuffle = check_bool("DataLoader", "shuffle", shuffle)
        self.drop_last = check_bool("DataLoader", "drop_last", drop_last)
        # merge only when there is a batch before the lone sample to merge it into
        self.merge_last = bool(merge_last) and not self.drop_last and n > batch_size and n % batch_size == 1
        if self.merge_last:
            warnings.warn(
                tr(
                    (
                        "DataLoader: {0} samples in batches of {1} leave a last batch of one sample, "
                        "which batch normalisation cannot normalise; it is merged into the batch before "
                        "({2} samples)"
                    ),
                    n,
                    batch_size,
                    batch_size + 1,
                ),
                UserWarning,
                stacklevel=2,
            )
        self.transform = transform
        self.seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._n = n
        self._batched = supports_batch_index(self.dataset)
        self.epoch = 0  # completed (or abandoned) epochs
        self._order: np.ndarray | None = None  # permutation of the epoch in progress
        self._order_rng_state: dict | None = None  # RNG state the permutation was drawn from
        self._position = 0  # batches already yielded in the epoch in progress
        self._resume = False

    def __len__(self) -> int:
        if self.drop_last or self.merge_last:
            return self._n // self.batch_size
        return math.ceil(self._n / self.batch_size)

    def _start_epoch(self) -> None:
        self._order_rng_state = self._rng.bit_generator.state
        if self.shuffle:
            self._order = self._rng.permutation(self._n)
        else:
            self._order = np.arange(self._n)
        self._position = 0

    def _gather(self, idx: np.ndarray) -> tuple[np.ndarray, Any]:
        ds = self.dataset
        if isinstance(ds, ArrayDataset):  # the hot path: one gather per array
            # np.take(X, idx, axis=0) equals X[idx] but gathers rows 1.2-1.5x faster (MNIST-sized X)
            return np.take(ds.X, idx, axis=0), (None if ds.y is None else np.take(ds.y, idx, axis=0))
        if self._batched:
            xb, yb = ds[idx]
            xb = np.asarray(xb)
        else:
            items = [self.dataset[int(i)] for i in idx]
            xb = np.stack([np.asarray(x) for x, _ in items])
            ys = [y for _, y in items]
            yb = None if all(y is None for y in ys) else np.stack([np.asarray(y) for y in ys])
        return xb, yb

    def __iter__(self) -> Iterator[tuple[np.ndarray, Any]]:
        if self._order is not None and not self._resume:
            self.epoch += 1  # a previous iteration was abandoned mid-epoch: start afresh
            self._order = None
        if self._order is None:
            self._start_epoch()
        self._resume = False
        return self._iterate()

    def _iterate(self) -> Iterator[tuple[np.ndarray, Any]]:
        nb = len(self)
        bs = self.batch_size
        while self._position < nb:
            k = self._position
            end = self._n if self.merge_last and k == nb - 1 else (k + 1) * bs
            idx = self._order[k * bs : end]
            self._position = k + 1
            if self._position == nb:
                self.epoch += 1
                self._order = None
                self._order_rng_state = None
            xb, yb = self._gather(idx)
            if self.transform is not None:
                xb = self.transform(xb)
            yield xb, yb

    def state_dict(self) -> dict[str, Any]:
        """Epoch, position within the epoch and RNG states (JSON-serialisable)."""
        return {
            "epoch": int(self.epoch),
            "position": int(self._position) if self._order is not None else 0,
            "epoch_rng_state": self._order_rng_state if self._order is not None else None,
            "rng_state": self._rng.bit_generator.state,
            "seed": int(self.seed),
            "n": int(self._n),
            "batch_size": int(self.batch_size),
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "merge_last": self.merge_last,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the next iteration continues exactly where it left off."""
        try:
            n, bs = int(state["n"]), int(state["batch_size"])
            epoch, position = int(state["epoch"]), int(state["position"])
            rng_state, epoch_rng_state = state["rng_state"], state["epoch_rng_state"]
        except (KeyError, TypeError, ValueError) as e:
            raise KisonetValueError(tr("DataLoader.load_state_dict: malformed state ({0!r})", e)) from e
        if n != self._n or bs != self.batch_size:
            raise KisonetValueError(
                tr(
                    (
                        "DataLoader.load_state_dict: state is for {0} samples in batches of {1}, this "
                        "loader has {2} samples in batches of {3}"
                    ),
                    n,
                    bs,
                    self._n,
                    self.batch_size,
                )
            )
        if (
            bool(state.get("shuffle", self.shuffle)) != self.shuffle
            or bool(state.get("drop_last", self.drop_last)) != self.drop_last
        ):
            raise KisonetValueError(tr("DataLoader.load_state_dict: shuffle/drop_last differ from the saved loader"))
        self.seed = int(state.get("seed", self.seed))
        self.epoch = epoch
        if epoch_rng_state is not None and 0 <= position < len(self):
            self._rng.bit_generator.state = epoch_rng_state
            self._start_epoch()  # redraws the same permutation
            self._position = position
            self._resume = True
        else:
            self._order = None
            self._order_rng_state = None
            self._position = 0
            self._resume = False
        self._rng.bit_generator.state = rng_state

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={self._n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )
