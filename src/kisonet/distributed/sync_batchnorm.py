"""``SyncBatchNorm``: batch normalisation whose statistics cover the global batch of all ranks.

Per channel c, with x_r the (b, C, ...) input of rank r and M = sum_r (elements of x_r per channel)::

    mu    = (1/M) sum_r sum x_r                               Allreduce #1 (C values + count)
    var   = (1/M) sum_r sum (x_r - mu)^2                      Allreduce #2 (C values)
    xhat  = (x - mu) / sqrt(var + eps),   y = gamma * xhat + beta

Backward (the batch-norm formula over the union of the ranks' samples), g = gy * gamma::

    S1 = sum_r sum g,  S2 = sum_r sum g * xhat                Allreduce #3 (2C values)
    dL/dx     = inv_std * (g - S1 / M - xhat * S2 / M)
    dL/dgamma = sum gy * xhat,  dL/dbeta = sum gy             (local: DataParallel averages them)

Each rank's backward starts from its own batch-mean loss L_r, so dL/dx is the
gradient of sum_r L_r; DataParallel's division by R makes it that of the mean,
exactly as one process normalising the whole batch B.  In eval mode (or on one
rank) it is an ordinary BatchNorm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd.function import Function
from ..errors import KisonetValueError
from ..lang import tr
from ..nn.functional.normalization import update_running_stats
from ..nn.module import Module
from ..nn.normalization import BatchNormBase
from .comm import require_mpi, wait, world

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


def _allreduce(comm: Any, a: np.ndarray, what: str, timeout: float | None) -> np.ndarray:
    MPI = require_mpi()
    wait(comm.Iallreduce(MPI.IN_PLACE, a, op=MPI.SUM), what, timeout)
    return a


class _SyncBatchNormFunction(Function):
    """See the module docstring. Options: ``comm``, ``eps``, ``timeout``, ``stats`` (dict receiving mean/var/M)."""

    def forward(self, x, gamma=None, beta=None):
        C = x.shape[1]
        axes = (0, *range(2, x.ndim))
        pshape = (1, C) + (1,) * (x.ndim - 2)
        # Statistics in float64: C numbers per message, and sums over many ranks lose
        # less precision (the result is cast back to x's dtype).
        head = np.empty(C + 1, dtype=np.float64)
        head[:C] = x.sum(axis=axes, dtype=np.float64)
        head[C] = x.size // C
        _allreduce(self.comm, head, f"SyncBatchNorm({C}) mean", self.timeout)
        M = int(head[C])
        mean = (head[:C] / M).astype(x.dtype).reshape(pshape)
        xc = x - mean
        sq = np.einsum("nc...,nc...->c", xc, xc).astype(np.float64)
        _allreduce(self.comm, sq, f"SyncBatchNorm({C}) variance", self.timeout)
        var = sq / M
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(pshape)
        xhat = xc
        xhat *= inv_std
        if self.stats is not None:
            self.stats.update(mean=mean.reshape(C), var=var.astype(x.dtype), M=M)
        y = xhat * gamma.reshape(pshape) + beta.reshape(pshape) if gamma is not None else xhat.copy()
        if self.requires_grad:
            self.xhat, self.inv_std, self.gamma, self.axes, self.pshape, self.M = xhat, inv_std, gamma, axes, pshape, M
        return y

    def backward(self, gy):
        xhat, axes, pshape = self.xhat, self.axes, self.pshape
        C = xhat.shape[1]
        dbeta = gy.sum(axis=axes)
        dgamma = (gy * xhat).sum(axis=axes)
        g_scale = np.ones(C, dtype=gy.dtype) if self.gamma is None else self.gamma
        sums = np.concatenate([dbeta * g_scale, dgamma * g_scale]).astype(np.float64)
        _allreduce(self.comm, sums, f"SyncBatchNorm({C}) backward", self.timeout)
        inv_m = 1.0 / self.M
        s1 = (sums[:C] * inv_m).astype(gy.dtype).reshape(pshape)
        s2 = (sums[C:] * inv_m).astype(gy.dtype).reshape(pshape)
        g = gy if self.gamma is None else gy * self.gamma.reshape(pshape)
        gx = g - s1
        gx -= xhat * s2
        gx *= self.inv_std
        if self.gamma is None:
            return gx
        return gx, dgamma.astype(self.gamma.dtype), dbeta.astype(self.gamma.dtype)


class SyncBatchNorm(BatchNormBase):
    """Batch normalisation with statistics over the global batch of every rank in ``comm``.

    Same arguments and state dict as ``BatchNorm1d``/``BatchNorm2d`` (any (N, C, ...)
    input: ``num_features, eps, momentum, affine, track_running_stats, *, unbiased_var``),
    plus the keywords ``comm`` (default ``MPI.COMM_WORLD``) and ``timeout``.  Costs three
    small Allreduces per layer per step (2C+1, C and 2C numbers).
    """

    _dims = (2, 3, 4, 5)
    _layout = "(N, C, ...)"

    def __init__(
        self, num_features: int, *args: Any, comm: Any = None, timeout: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(num_features, *args, **kwargs)  # BatchNormBase's arguments, checked there
        self.comm = comm
        self.timeout = timeout

    def _comm(self) -> Any:
        if self.comm is None:
            self.comm = world()
        return self.comm

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        if not self.training or self._comm().Get_size() == 1:
            return super().forward(x)
        params = () if self.weight is None else (self.weight, self.bias)
        stats: dict[str, Any] = {}
        out = _SyncBatchNormFunction.apply(x, *params, comm=self.comm, eps=self.eps, timeout=self.timeout, stats=stats)
        M = stats["M"]
        if M <= 1:
            raise KisonetValueError(tr("SyncBatchNorm({0}): expected more than 1 value per channel", self.num_features))
        if self.track_running_stats:
            var = stats["var"] * (M / (M - 1)) if self.unbiased_var else stats["var"]
            update_running_stats(
                self.running_mean, self.running_var, stats["mean"], var, self.momentum, self.num_batches_tracked
            )
        return out


def convert_sync_batchnorm(module: Module, comm: Any = None) -> Module:
    """Replace every BatchNorm1d/2d in ``module`` by a :class:`SyncBatchNorm` with the same
    parameters and running statistics (in place; returns ``module`` or the replacement)."""
    from ..nn.normalization import BatchNorm1d, BatchNorm2d

    if isinstance(module, (BatchNorm1d, BatchNorm2d)):
        new = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
            comm=comm, unbiased_var=getattr(module, "unbiased_var", True),
        )  # fmt: skip
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in list(module.named_children()):
        replaced = convert_sync_batchnorm(child, comm)
        if replaced is not child:
            setattr(module, name, replaced)
    return module
