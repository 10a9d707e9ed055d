"""Asynchronous data parallelism (非同期型データ並列) with a parameter server.

Rank 0 is the server: it owns the parameters and the optimizer.  Ranks 1..W are
workers, each looping over its own shard::

    worker w:  g = grad E_B(w_local)          on its mini-batch
               push g  -> server              (Send, tag GRAD)
               pull w  <- server              (Recv, tag PARAMS)
    server:    for each push, from whichever worker sent it first:
               w <- optimizer_step(w, g);  reply the new w to that worker

No worker waits for another: a gradient computed on parameters of version v is
applied at version v + tau, where the staleness tau is the number of updates
other workers made meanwhile (about W - 1 on average).  ``max_staleness=s``
bounds the drift the Stale-Synchronous-Parallel way: the server delays its reply
to a worker that has pushed more than s times more than the slowest active
worker, so fast workers wait only when they run too far ahead (s = 0 makes the
workers take turns).

Communication per step per worker: the gradient up and the parameters down
(2 x 4 P bytes, P parameters); the server's link carries 2 x 4 P per update.
Floating buffers (BatchNorm running statistics) ride along with each push and
the server keeps the latest (per-worker statistics, last writer wins).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import KisonetValueError
from ..lang import tr
from ..optim.optimizer import Optimizer
from .comm import recv_json, require_mpi, send_json, wait, world
from .flat import FlatBuffer

__all__ = ["ParameterServer", "AsyncWorker"]

TAG_HDR, TAG_GRAD, TAG_BUF, TAG_PARAMS, TAG_LOGS = 101, 102, 103, 104, 105
GRAD, DONE, LOGS = 0.0, 1.0, 2.0


def _float_buffers(model: Any) -> list[np.ndarray]:
    return [b for _, b in model.named_buffers() if isinstance(b, np.ndarray) and b.dtype.kind == "f" and b.size]


def _flat_buffers(bufs: list[np.ndarray]) -> np.ndarray:
    if not bufs:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([b.reshape(-1).astype(np.float32, copy=False) for b in bufs])


def _unflat_buffers(bufs: list[np.ndarray], flat: np.ndarray) -> None:
    o = 0
    for b in bufs:
        np.copyto(b, flat[o : o + b.size].reshape(b.shape), casting="same_kind")
        o += b.size


class ParameterServer:
    """The server side (rank 0): applies each worker's gradient as it arrives.

    Args:
        model: the model whose parameters the server owns (same architecture on every rank).
        optimizer: the update rule applied per push (its lr follows the workers' schedule).
        comm: communicator (default ``MPI.COMM_WORLD``); rank 0 serves, the others work.
        max_staleness: None (fully asynchronous) or s >= 0 (bounded staleness, see the module).
        timeout: seconds without any message before the run is declared hung.

    Constructing it broadcasts the initial parameters (workers do the same in
    :class:`AsyncWorker`).  After :meth:`serve`, ``history`` holds the per-epoch
    mean over workers of their logs, and ``stats`` the update count, mean and
    max staleness and the time spent communicating.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        comm: Any = None,
        max_staleness: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.comm = world() if comm is None else comm
        if self.comm.Get_rank() != 0:
            raise KisonetValueError(tr("ParameterServer must run on rank 0, not rank {0}", self.comm.Get_rank()))
        if self.comm.Get_size() < 2:
            raise KisonetValueError(tr("ParameterServer needs at least 2 ranks (a server and a worker); got 1"))
        if max_staleness is not None and (isinstance(max_staleness, bool) or int(max_staleness) < 0):
            raise KisonetValueError(
                tr("ParameterServer: max_staleness must be None or an int >= 0, got {0!r}", max_staleness)
            )
        self.model, self.optimizer = model, optimizer
        self.max_staleness = None if max_staleness is None else int(max_staleness)
        self.timeout = timeout
        self.workers = list(range(1, self.comm.Get_size()))
        self._params = [p for p in model.parameters() if p.requires_grad]
        self._flat = FlatBuffer(self._params)
        self._grads = FlatBuffer(self._params)
        self._bufs = _float_buffers(model)
        self._buf_in = _flat_buffers(self._bufs)
        self.history: dict[str, list[float]] = {}
        self.stats: dict[str, float] = {}
        self._flat.pack_params()
        wait(self.comm.Ibcast(self._flat.buffer, root=0), "broadcast of the initial parameters", timeout)

    def state_dict(self) -> dict[str, Any]:
        """The server's state, shaped like a Trainer checkpoint: ``model``, ``optimizer``,
        ``epoch`` (epochs every worker has reported) and ``history``."""
        epochs = max((len(v) for v in self.history.values()), default=0)
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": epochs,
            "history": {k: np.asarray(v, dtype=np.float64) for k, v in self.history.items()},
        }

    def _reply(self, w: int) -> None:
        self._flat.pack_params()
        wait(self.comm.Isend(self._flat.buffer, dest=w, tag=TAG_PARAMS), f"send parameters to worker {w}", self.timeout)

    def serve(self, on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, list[float]]:
        """Serve pushes until every worker has sent DONE; returns the merged history.

        ``on_epoch_end(epoch, logs)`` runs when every worker has reported the epoch
        (logs are the mean over workers of their figures).
        """
        MPI = require_mpi()
        comm, W = self.comm, len(self.workers)
        clock = dict.fromkeys(self.workers, 0)  # pushes per worker
        seen = dict.fromkeys(self.workers, 0)  # version each worker last received
        active = set(self.workers)
        deferred: list[int] = []
        pending_logs: dict[int, list[dict[str, float]]] = {}
        version, stale_sum, stale_max, comm_s = 0, 0, 0, 0.0
        hdr = np.zeros(2, dtype=np.float64)
        status = MPI.Status()
        t_start = time.perf_counter()
        while active:
            t0 = time.perf_counter()
            req = comm.Irecv(hdr, source=MPI.ANY_SOURCE, tag=TAG_HDR)
            wait(req, f"parameter server: waiting for a push from {sorted(active)}", self.timeout, status)
            w = int(status.Get_source())
            kind = float(hdr[0])
            if kind == GRAD:
                wait(
                    comm.Irecv(self._grads.buffer, source=w, tag=TAG_GRAD),
                    f"receive gradient of worker {w}",
                    self.timeout,
                )
                if self._bufs:
                    wait(
                        comm.Irecv(self._buf_in, source=w, tag=TAG_BUF), f"receive buffers of worker {w}", self.timeout
                    )
                    _unflat_buffers(self._bufs, self._buf_in)
                comm_s += time.perf_counter() - t0
                self._grads.unpack_grads()
                for g in self.optimizer.param_groups:
                    g["lr"] = float(hdr[1])
                self.optimizer.step()
                tau = version - seen[w]
                stale_sum += tau
                stale_max = max(stale_max, tau)
                version += 1
                clock[w] += 1
                deferred.append(w)
            elif kind == DONE:
                active.discard(w)
            elif kind == LOGS:
                msg = recv_json(comm, w, TAG_LOGS, self.timeout)
                pending_logs.setdefault(int(msg["epoch"]), []).append(msg["logs"])
                done = [e for e, lst in pending_logs.items() if len(lst) == W]
                for e in sorted(done):
                    lst = pending_logs.pop(e)
                    keys = sorted(set().union(*lst))
                    logs = {k: float(np.mean([d[k] for d in lst if k in d])) for k in keys}
                    for k, v in logs.items():
                        self.history.setdefault(k, []).append(v)
                    if on_epoch_end is not None:
                        on_epoch_end(e, logs)
            else:
                raise KisonetValueError(tr("parameter server: unknown message kind {0} from rank {1}", kind, w))
            # Reply to every deferred worker the staleness bound now allows.
            slowest = min((clock[a] for a in active), default=0)
            still = []
            for d in deferred:
                if self.max_staleness is None or clock[d] - slowest <= self.max_staleness or d not in active:
                    t1 = time.perf_counter()
                    self._reply(d)
                    comm_s += time.perf_counter() - t1
                    seen[d] = version
                else:
                    still.append(d)
            deferred = still
        self.stats = {
            "updates": version,
            "staleness_mean": stale_sum / max(version, 1),
            "staleness_max": stale_max,
            "comm_seconds": comm_s,
            "seconds": time.perf_counter() - t_start,
        }
        return self.history


class AsyncWorker(Optimizer):
    """The worker side: an optimizer whose ``step()`` pushes the gradient and pulls the
    server's parameters, plus callback hooks that report each epoch and say DONE.

    Use it in place of the optimizer on ranks 1..W (the server owns the real one)::

        worker = AsyncWorker(model.parameters(), lr=..., model=model)
        Trainer(model, loss, worker, callbacks=[worker]).fit(DistributedLoader(...))

    ``lr`` is forwarded with every push, so a scheduler on the worker drives the
    server's learning rate.  Attributes: ``comm_seconds`` (push + waiting for the
    reply, which includes the server's update), ``steps``.
    """

    def __init__(
        self, params: Any, lr: float = 1e-3, model: Any = None, comm: Any = None, timeout: float | None = None
    ) -> None:
        super().__init__(params, {"lr": lr})
        self.comm = world() if comm is None else comm
        if self.comm.Get_rank() == 0:
            raise KisonetValueError(tr("AsyncWorker runs on ranks >= 1; rank 0 is the parameter server"))
        self.timeout = timeout
        self._params = [p for g in self.param_groups for p in g["params"]]
        self._flat = FlatBuffer(self._params)
        self._grads = FlatBuffer(self._params)
        self._bufs = _float_buffers(model) if model is not None else []
        self._hdr = np.zeros(2, dtype=np.float64)
        self.comm_seconds = 0.0
        self.steps = 0
        self._done = False
        wait(self.comm.Ibcast(self._flat.buffer, root=0), "broadcast of the initial parameters", timeout)
        self._flat.unpack_params()

    def _send_header(self, kind: float) -> None:
        self._hdr[0], self._hdr[1] = kind, self.param_groups[0]["lr"]
        wait(self.comm.Isend(self._hdr, dest=0, tag=TAG_HDR), "send to the parameter server", self.timeout)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Push the gradient, pull the parameters (blocks only on the server)."""
        loss = closure() if closure is not None else None
        t0 = time.perf_counter()
        self._grads.pack_grads()
        self._send_header(GRAD)
        reqs = [self.comm.Isend(self._grads.buffer, dest=0, tag=TAG_GRAD)]
        if self._bufs:
            reqs.append(self.comm.Isend(_flat_buffers(self._bufs), dest=0, tag=TAG_BUF))
        pull = self.comm.Irecv(self._flat.buffer, source=0, tag=TAG_PARAMS)
        for r in reqs:
            wait(r, "push the gradient to the parameter server", self.timeout)
        wait(pull, "pull the parameters from the parameter server", self.timeout)
        self._flat.unpack_params()
        self.comm_seconds += time.perf_counter() - t0
        self.steps += 1
        return loss

    def report(self, epoch: int, logs: dict[str, Any]) -> None:
        """Send this worker's epoch figures to the server (it averages over workers)."""
        self._send_header(LOGS)
        plain = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating, np.integer))}
        send_json(self.comm, {"epoch": int(epoch), "logs": plain}, 0, TAG_LOGS)

    def finish(self) -> None:
        """Tell the server this worker is done (idempotent)."""
        if not self._done:
            self._send_header(DONE)
            self._done = True

    # Trainer callback hooks
    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.report(epoch, logs)

    def on_train_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        self.finish()
