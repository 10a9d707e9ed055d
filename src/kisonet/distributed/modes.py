"""The ways ``kisonet train --distributed MODE`` spreads a run over MPI ranks, by name."""

from __future__ import annotations

from ..registry import Registry

__all__ = ["MODES"]

# fmt: off
MODES: Registry[str] = Registry("distributed mode")
MODES.add("none", "none", "one process (no MPI)")
MODES.add("sync", "sync", "synchronous data parallel: --batch-size is the global batch, one allreduce per step",
          min_ranks=1)
MODES.add("async", "async", "parameter server on rank 0, asynchronous workers on ranks 1..N-1 (--max-staleness)",
          min_ranks=2)
MODES.add("pipeline", "pipeline", "the model's layers split into N stages, GPipe micro-batches (--micro-batches)",
          min_ranks=2)
# fmt: on
