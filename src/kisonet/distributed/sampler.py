"""Each rank's share of the training set: a disjoint shard per epoch, reshuffled with a shared seed.

``DistributedSampler`` follows PyTorch's: every rank draws the same permutation
``perm`` of the n samples for the epoch (the e-th permutation of a generator
seeded with ``seed``, the very order ``kisonet.data.DataLoader(seed=seed)``
uses, so a distributed run visits the data as the single-process one), pads it to a multiple of the
number of replicas R by repeating its start (so every rank takes the same number
of steps and no collective is left waiting), and rank r keeps ``perm[r::R]``.

With per-rank batch b = B / R, step k of rank r uses
``perm[(k b + j) R + r]`` for j < b: the union over the ranks is exactly
``perm[k B : (k+1) B]``, the k-th batch of a single process with batch B that
uses the same permutation.  Averaging the R equal-sized batch-mean gradients is
therefore the single-process gradient of batch B: the equivalence the tests check
(exactly the Trainer's batches when R divides B and B divides n).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..validation import check_int

__all__ = ["DistributedSampler", "DistributedLoader"]


class DistributedSampler:
    """Indices of this rank's shard for the current epoch.

    Args:
        n: dataset length (or a sized dataset).
        num_replicas, rank: the shard layout (default: the MPI world of ``comm``).
        shuffle: a new permutation every epoch, the same on every rank.
        seed: the shared seed (must be equal on every rank).
        drop_last: drop the tail instead of padding, so shards stay equal without repeats.
        comm: an mpi4py communicator supplying ``num_replicas`` and ``rank``.
    """

    def __init__(
        self,
        n: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        comm: Any = None,
    ) -> None:
        n = len(n) if hasattr(n, "__len__") else n
        self.n = check_int("DistributedSampler", "n", n, 1)
        if num_replicas is None or rank is None:
            from .comm import world

            comm = world() if comm is None else comm
            num_replicas = comm.Get_size() if num_replicas is None else num_replicas
            rank = comm.Get_rank() if rank is None else rank
        self.num_replicas = check_int("DistributedSampler", "num_replicas", num_replicas, 1)
        self.rank = check_int("DistributedSampler", "rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise KisonetValueError(
                tr("DistributedSampler: rank {0} out of range for {1} replicas", rank, num_replicas)
            )
        self.seed = check_int("DistributedSampler", "seed", seed, 0)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        if drop_last:
            self.num_samples = self.n // self.num_replicas
        else:
            self.num_samples = math.ceil(self.n / self.num_replicas)
        if self.num_samples == 0:
            raise KisonetValueError(
                tr("DistributedSampler: {0} samples cannot give each of {1} ranks one", self.n, self.num_replicas)
            )
        self.total_size = self.num_samples * self.num_replicas
        self.epoch = 0
        self._cache: tuple[int, np.random.Generator, np.ndarray] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose permutation :meth:`indices` returns (same on every rank)."""
        self.epoch = check_int("DistributedSampler.set_epoch", "epoch", epoch, low=0)

    def _permutation(self) -> np.ndarray:
        # The DataLoader's stream: PCG64(seed), one permutation per epoch, drawn in order.
        # Advancing from the cached epoch keeps this O(n) per epoch.
        if self._cache is None or self._cache[0] > self.epoch:
            rng = np.random.Generator(np.random.PCG64(self.seed))
            self._cache = (0, rng, rng.permutation(self.n))
        e, rng, perm = self._cache
        while e < self.epoch:
            e, perm = e + 1, rng.permutation(self.n)
        self._cache = (e, rng, perm)
        return perm

    def indices(self) -> np.ndarray:
        """This rank's sample indices for the current epoch (padded to equal length)."""
        if self.shuffle:
            perm = self._permutation()
        else:
            perm = np.arange(self.n)
        if self.total_size > self.n:
            perm = np.concatenate([perm, np.resize(perm, self.total_size - self.n)])
        else:
            perm = perm[: self.total_size]
        return perm[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class DistributedLoader:
    """Mini-batches of this rank's shard of ``(X, y)`` arrays; a drop-in for a training DataLoader.

    Each full pass advances the epoch, so the next pass draws a new shared
    permutation (no ``set_epoch`` call needed; it exists for PyTorch habits).
    ``transform`` is applied to each input batch (augmentation).
    ``state_dict``/``load_state_dict`` keep the epoch for resumed runs.

    ``merge_last`` (set for models with batch norm, as the single-process
    :class:`kisonet.data.DataLoader` does): when each rank's shard would end with a batch
    of one sample, that sample joins the batch before (``batch_size + 1``).  Every rank's
    shard has the same length, so every rank merges, takes the same number of steps and
    stays in step with the others' collectives; the shard with sampler rank 0 warns, once.
    """

    def __init__(
        self,
        data: tuple[Any, Any],
        batch_size: int,
        sampler: DistributedSampler,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        merge_last: bool = False,
    ) -> None:
        X, y = data
        X, y = np.asarray(X), np.asarray(y)
        if len(X) != len(y):
            raise ShapeError(tr("DistributedLoader: X has {0} samples but y has {1}", len(X), len(y)))
        if len(X) != sampler.n:
            raise ShapeError(tr("DistributedLoader: the sampler covers {0} samples but X has {1}", sampler.n, len(X)))
        self.X, self.y = X, y
        self.batch_size = check_int("DistributedLoader", "batch_size", batch_size, 1)
        self.sampler = sampler
        self.transform = transform
        n, bs = len(sampler), self.batch_size
        # merge only when there is a batch before the lone sample to merge it into
        self.merge_last = bool(merge_last) and n > bs and n % bs == 1
        if self.merge_last and sampler.rank == 0:
            warnings.warn(
                tr(
                    "DistributedLoader: each of the {0} shards of {1} samples, in batches of {2}, "
                    "leaves a last batch of one sample, which batch normalisation cannot normalise; "
                    "on every rank it is merged into the batch before ({3} samples)",
                    sampler.num_replicas,
                    n,
                    bs,
                    bs + 1,
                ),
                UserWarning,
                stacklevel=2,
            )

    def __len__(self) -> int:
        if self.merge_last:
            return len(self.sampler) // self.batch_size
        return math.ceil(len(self.sampler) / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        idx = self.sampler.indices()
        bs, nb = self.batch_size, len(self)
        for k in range(nb):
            sel = idx[k * bs : len(idx) if k == nb - 1 else (k + 1) * bs]
            xb = self.X[sel]
            if self.transform is not None:
                xb = self.transform(xb)
            yield xb, self.y[sel]
        self.sampler.set_epoch(self.sampler.epoch + 1)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": int(self.sampler.epoch), "seed": int(self.sampler.seed)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.set_epoch(int(state["epoch"]))
