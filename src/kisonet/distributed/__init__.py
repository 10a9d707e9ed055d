"""Distributed training on MPI (分散処理): synchronous and asynchronous data parallelism,
pipeline model parallelism.

Launch N processes with ``mpiexec -n N python script.py`` (or
``mpiexec -n N kisonet train --distributed sync|async|pipeline ...``); see
``docs/distributed.md``.

- :class:`DataParallel` + :class:`DistributedSampler`/:class:`DistributedLoader`:
  synchronous data parallel, one Allreduce of a flat gradient buffer per step;
  :class:`SyncBatchNorm` for batch statistics over the global batch.
- :class:`ParameterServer` (rank 0) + :class:`AsyncWorker` (ranks >= 1):
  asynchronous data parallel with optional bounded staleness.
- :class:`PipelineParallel`: a Sequential split into stages across ranks, GPipe micro-batches.
- :func:`guard` / :func:`install_excepthook`: an exception on one rank ends every rank.

Importing this package does not import mpi4py; the classes do when constructed
(a missing mpi4py raises :class:`DistributedError` naming the ``mpi`` extra).
"""

from .async_ps import AsyncWorker, ParameterServer
from .comm import (
    DistributedError,
    DistributedTimeoutError,
    get_rank,
    get_world_size,
    guard,
    install_excepthook,
    is_root,
    require_mpi,
    world,
)
from .data_parallel import DataParallel
from .flat import FlatBuffer
from .modes import MODES
from .pipeline import PipelineParallel, split_sequential
from .sampler import DistributedLoader, DistributedSampler
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "AsyncWorker",
    "DataParallel",
    "DistributedError",
    "DistributedLoader",
    "DistributedSampler",
    "DistributedTimeoutError",
    "FlatBuffer",
    "MODES",
    "ParameterServer",
    "PipelineParallel",
    "SyncBatchNorm",
    "convert_sync_batchnorm",
    "get_rank",
    "get_world_size",
    "guard",
    "install_excepthook",
    "is_root",
    "require_mpi",
    "split_sequential",
    "world",
]
