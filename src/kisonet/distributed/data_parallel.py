"""Synchronous data parallelism (同期型データ並列): every rank holds the whole model,
computes the gradient on its shard of the global batch, and all ranks apply the
same averaged gradient, so the replicas never drift apart.

Per step, after ``loss.backward()`` (the Trainer's ``on_backward_end`` hook)::

    buffer <- [g_1 | g_2 | ... | g_P]            one flat float32 copy of the gradients
    Allreduce(buffer, SUM)                        one collective (per bucket of <= 25 MB)
    g_p    <- buffer[p] / R                       views of the buffer, no copy back

With equal per-rank batches b = B / R the average of the R batch means is the
mean over the global batch B, hence the same update as one process with batch B.
Parameters (and floating buffers such as BatchNorm running statistics) are
broadcast from rank 0 when training starts, so the replicas start identical even
if their seeds differ.  BatchNorm layers see only their rank's b samples
(per-rank statistics, as in PyTorch DDP) unless converted with
:func:`kisonet.distributed.convert_sync_batchnorm`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..nn.module import Module
from .comm import wait, waitall, world
from .flat import DEFAULT_BUCKET_BYTES, FlatBuffer

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Wrap ``model`` for synchronous data-parallel training on ``comm``.

    ``DataParallel`` is a Module (``dp(x)`` runs the wrapped model; ``state_dict``
    is the wrapped model's, so checkpoints load into a plain model) and a
    Trainer callback: pass it as both::

        dp = kn.distributed.DataParallel(model, comm)
        trainer = Trainer(dp, "cross_entropy", optim.Adam(dp.parameters()), callbacks=[dp])
        trainer.fit(DistributedLoader((X, y), batch_size // comm.size, DistributedSampler(len(X), comm=comm)))

    Without a Trainer call :meth:`broadcast_parameters` once and
    :meth:`allreduce_gradients` after each backward.

    Args:
        model: the replica on this rank.
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``).
        bucket_bytes: bucket size of the gradient Allreduce (one collective per bucket).
        broadcast: broadcast rank 0's parameters at ``on_train_begin``.
        timeout: seconds a collective may take before the run is declared hung.

    Attributes ``comm_seconds`` and ``steps`` accumulate the time spent in the
    gradient Allreduce (copy in, reduce, scale) and the number of reductions.
    """

    def __init__(
        self,
        model: Module,
        comm: Any = None,
        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
        broadcast: bool = True,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.module = model
        self.comm = world() if comm is None else comm
        self.world_size = int(self.comm.Get_size())
        self.rank = int(self.comm.Get_rank())
        self.broadcast = bool(broadcast)
        self.timeout = timeout
        self.bucket_bytes = int(bucket_bytes)
        self._params = [p for p in model.parameters() if p.requires_grad]
        self._flat = FlatBuffer(self._params, bucket_bytes=self.bucket_bytes)
        self.comm_seconds = 0.0
        self.steps = 0

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    # Checkpoints hold the plain model's names, loadable without MPI.
    def state_dict(self, prefix: str = "") -> Any:  # type: ignore[override]
        return self.module.state_dict(prefix)

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> Any:  # type: ignore[override]
        return self.module.load_state_dict(state, strict)

    @property
    def bytes_per_step(self) -> int:
        """Bytes of the gradient buffer each rank contributes to the Allreduce per step."""
        return self._flat.nbytes

    # --- collectives ------------------------------------------------------------------
    def broadcast_parameters(self, root: int = 0) -> None:
        """Copy rank ``root``'s parameters and floating buffers to every rank (one Bcast each)."""
        if self.world_size == 1:
            return
        flat = FlatBuffer(list(self.module.parameters()))
        if flat.numel:
            flat.pack_params()
            wait(self.comm.Ibcast(flat.buffer, root=root), "broadcast of the parameters", self.timeout)
            flat.unpack_params()
        for name, buf in self.module.named_buffers():
            if isinstance(buf, np.ndarray) and buf.size:
                wait(self.comm.Ibcast(buf, root=root), f"broadcast of buffer {name!r}", self.timeout)

    def allreduce_gradients(self) -> None:
        """Average ``p.grad`` over the ranks: g <- (1/R) sum_r g_r, one Allreduce per bucket."""
        if self.world_size == 1:
            return
        t0 = time.perf_counter()
        flat = self._flat
        flat.pack_grads()
        MPI = _mpi()
        reqs = [self.comm.Iallreduce(MPI.IN_PLACE, b, op=MPI.SUM) for b in flat.buckets]
        waitall(reqs, f"gradient Allreduce ({flat.nbytes} bytes over {self.world_size} ranks)", self.timeout)
        flat.buffer *= flat.dtype.type(1.0 / self.world_size)
        flat.unpack_grads()
        self.comm_seconds += time.perf_counter() - t0
        self.steps += 1

    def allreduce_mean(self, values: dict[str, float]) -> dict[str, float]:
        """Mean over the ranks of a dict of floats (same keys on every rank)."""
        if self.world_size == 1 or not values:
            return dict(values)
        keys = sorted(values)
        arr = np.array([values[k] for k in keys], dtype=np.float64)
        MPI = _mpi()
        wait(self.comm.Iallreduce(MPI.IN_PLACE, arr, op=MPI.SUM), "Allreduce of epoch figures", self.timeout)
        return {k: float(v) / self.world_size for k, v in zip(keys, arr, strict=True)}

    # --- Trainer callback hooks --------------------------------------------------------
    def on_train_begin(self, trainer: Any) -> None:
        if self.broadcast and not trainer.resuming:
            self.broadcast_parameters()

    def on_backward_end(self, trainer: Any) -> None:
        self.allreduce_gradients()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        # Training figures are this rank's shard; replace them by the mean over the
        # (equal-sized) shards so every rank records the global epoch figures.  This runs
        # before the History callback (order 0 < HISTORY_ORDER), so the means are what is recorded.
        keys = sorted(k for k in logs if k.startswith("train_"))
        if not keys or self.world_size == 1:
            return
        for k, v in self.allreduce_mean({k: float(logs[k]) for k in keys}).items():
            logs[k] = v

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, rank={self.rank}, buckets={len(self._flat.buckets)}"


def _mpi() -> Any:
    from .comm import require_mpi

    return require_mpi()
