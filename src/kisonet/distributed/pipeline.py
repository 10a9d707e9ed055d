"""Pipeline model parallelism (モデル並列): a ``Sequential`` split into stages, one per rank.

Rank k holds stage k.  Rank 0 also runs the training loop (Trainer, loss, logs,
checkpoints): its model is the :class:`PipelineParallel` wrapper, and the other
ranks :meth:`~PipelineParallel.serve`.  A global batch of B samples is cut into
``chunks`` micro-batches (GPipe)::

    forward   rank 0: h0_m = stage0(x_m), Isend h0_m -> rank 1     for m = 1..M
              rank k: h_k,m = stage_k(h_k-1,m), Isend -> rank k+1  (rank K-1 sends back to 0)
              rank 0: out = concat_m(out_m); loss = E(out, y)      (the ordinary full-batch loss)
    backward  rank 0: dL/dout_m -> rank K-1                         for m = M..1
              rank k: dL/dh_k-1,m = backward of stage_k, -> rank k-1
              rank 0: backward through stage0 for each m; parameter gradients
                      accumulate over the micro-batches (sum over m = full-batch gradient)
    step      rank 0 steps its optimizer and tells every stage to step (with its lr)

While rank k works on micro-batch m, rank k-1 already computes micro-batch m+1:
with K stages and M micro-batches a step takes about (M + K - 1) micro-batch
times instead of M K, the GPipe bubble.  The result equals one process with the
same batch up to float rounding, except for layers whose output depends on the
whole batch (BatchNorm sees micro-batch statistics) or on random draws (Dropout
draws from each rank's own generator).

Communication per step: for each stage boundary the activations forward and
their gradients backward, 2 x 4 B d_k bytes (d_k the boundary width), plus the
B x n_out logits and their gradient between the last rank and rank 0.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd import Tensor, is_grad_enabled
from ..autograd.function import Function
from ..autograd.grad_mode import set_grad_enabled
from ..errors import KisonetTypeError, KisonetValueError
from ..lang import tr
from ..nn.module import Module, Sequential
from ..validation import check_int
from .comm import recv_json, require_mpi, send_json, wait, world

__all__ = ["PipelineParallel", "split_sequential"]

TAG_HDR, TAG_DATA, TAG_STATE = 201, 202, 203
FWD, BWD, STEP, STATE, LOAD, STOP = 1.0, 2.0, 3.0, 4.0, 5.0, 6.0
HDR = 12  # cmd, micro / lr, training, grad, dtype, ndim, shape (<= 6 axes)
_DTYPES = (np.float32, np.float64)


def _find_sequential(model: Module) -> tuple[str, Sequential]:
    if isinstance(model, Sequential):
        return "", model
    for name, child in model.named_children():
        if isinstance(child, Sequential):
            rest = [n for n, p in model.named_parameters() if not n.startswith(name + ".")]
            if rest:
                raise KisonetValueError(
                    tr(
                        (
                            "PipelineParallel: {0} has parameters outside its Sequential {1!r} ({2}); give a "
                            "model whose forward is one Sequential"
                        ),
                        type(model).__name__,
                        name,
                        ", ".join(rest[:3]),
                    )
                )
            return name + ".", child
    raise KisonetTypeError(
        tr("PipelineParallel: {0} is not a Sequential and holds none (e.g. MLP.layers)", type(model).__name__)
    )


def split_sequential(model: Module, n_stages: int, balance: Sequence[int] | None = None) -> list[Sequential]:
    """Cut ``model`` (a Sequential, or a model whose forward is one Sequential child) into
    ``n_stages`` consecutive stages.

    ``balance`` gives the number of layers per stage; by default the cuts equalise the
    parameter count (a proxy for compute on dense layers).  The stages share the layer
    objects and keep the original indices as names, so stage state dicts map back.
    """
    _, seq = _find_sequential(model)
    items = list(seq._modules.items())
    L = len(items)
    if n_stages < 1 or n_stages > L:
        raise KisonetValueError(tr("PipelineParallel: cannot split {0} layers into {1} stages", L, n_stages))
    if balance is not None:
        balance = [int(b) for b in balance]
        if len(balance) != n_stages or sum(balance) != L or min(balance) < 1:
            raise KisonetValueError(
                tr(
                    "PipelineParallel: balance {0} must have {1} positive entries summing to {2} layers",
                    balance,
                    n_stages,
                    L,
                )
            )
        counts = balance
    else:
        counts = _balanced_counts([sum(p.size for p in m.parameters()) for _, m in items], n_stages)
    stages, i = [], 0
    for c in counts:
        stages.append(Sequential(OrderedDict(items[i : i + c])))
        i += c
    return stages


def _balanced_counts(sizes: Sequence[int], n_stages: int) -> list[int]:
    """Layers per stage minimising the largest stage's parameter count (linear partition, DP).

    Cuts go right before a layer with parameters, so each stage starts with a weight
    layer and keeps the activation that follows its last one (Linear, ReLU | Linear, ...);
    only when there are fewer weight layers than stages may a stage hold no parameters.
    """
    L = len(sizes)
    starts = [i for i, n in enumerate(sizes) if n > 0 and i > 0 and any(sizes[:i])]
    if len(starts) + 1 >= n_stages:
        units = [0, *starts, L]
    else:  # more stages than weight layers: cut anywhere after the first weight layer
        first = next((i for i, n in enumerate(sizes) if n > 0), 0)
        units = [0, *range(first + 1, L + 1)]
        if len(units) - 1 < n_stages:
            units = list(range(L + 1))
    cost = np.array([sum(sizes[units[u] : units[u + 1]]) + 1e-6 for u in range(len(units) - 1)])
    U = len(cost)
    cum = np.concatenate([[0.0], np.cumsum(cost)])
    best = np.full((n_stages + 1, U + 1), np.inf)
    arg = np.zeros((n_stages + 1, U + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, n_stages + 1):
        for j in range(k, U + 1):
            for i in range(k - 1, j):
                v = max(best[k - 1, i], cum[j] - cum[i])
                if v < best[k, j]:
                    best[k, j], arg[k, j] = v, i
    cuts, j = [], U
    for k in range(n_stages, 0, -1):
        cuts.append(j)
        j = int(arg[k, j])
    bounds = [0] + [units[c] for c in reversed(cuts)]
    return [bounds[i + 1] - bounds[i] for i in range(n_stages)]


class _RemoteStages(Function):
    """Stages 1..K-1 as one op of rank 0's graph: forward receives the last stage's
    micro-batch outputs, backward sends their gradients and receives dL/dh0 per micro-batch."""

    def forward(self, *hs):
        pipe = self.pipe
        outs = [pipe._recv_array(pipe.size - 1, f"output of micro-batch {m}")[1] for m in range(len(hs))]
        return np.concatenate(outs, axis=0) if len(outs) > 1 else outs[0]

    def backward(self, gy):
        pipe = self.pipe
        bounds = np.cumsum([0] + [int(s) for s in self.sizes])
        reqs = []
        for m in reversed(range(len(self.sizes))):
            reqs += pipe._send_array(pipe.size - 1, BWD, m, gy[bounds[m] : bounds[m + 1]])
        grads: list[Any] = [None] * len(self.sizes)
        for _ in self.sizes:
            m, g = pipe._recv_array(1, "gradient of the first stage's output")
            grads[m] = g
        pipe._complete(reqs)
        return tuple(grads)


class PipelineParallel(Module):
    """Run ``model``'s Sequential as a pipeline of ``comm.size`` stages (rank k: stage k).

    Every rank builds the same model (same seed) and wraps it; rank 0 trains the
    wrapper like a model, the others call :meth:`serve`::

        pipe = PipelineParallel(model, comm, chunks=4, optimizer=lambda ps: optim.Adam(ps, lr=1e-3))
        if comm.rank == 0:
            Trainer(pipe, "cross_entropy", optim.Adam(pipe.parameters(), lr=1e-3), callbacks=[pipe]).fit(...)
            pipe.close()
        else:
            pipe.serve()

    Args:
        model: a Sequential, or a model whose forward is one Sequential child (MLP.layers).
        comm: communicator (default ``MPI.COMM_WORLD``).
        chunks: micro-batches per batch (GPipe's M).
        optimizer: ``factory(params) -> Optimizer`` for the stages on ranks >= 1 (rank 0's
            own optimizer is the one given to the Trainer; keep the two alike).
        balance: layers per stage (default: equal parameter counts).
        timeout: seconds a message may take before the run is declared hung.

    ``state_dict()`` on rank 0 gathers every stage (keys of the whole model, so the
    checkpoint loads into a plain model); ``load_state_dict`` scatters them.
    Gradient clipping and the NaN guard of the Trainer see rank 0's stage only.
    """

    def __init__(
        self,
        model: Module,
        comm: Any = None,
        chunks: int = 4,
        optimizer: Callable[[Any], Any] | None = None,
        balance: Sequence[int] | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        chunks = check_int("PipelineParallel", "chunks", chunks)
        self.comm = world() if comm is None else comm
        self.rank, self.size = int(self.comm.Get_rank()), int(self.comm.Get_size())
        self.chunks = int(chunks)
        self.timeout = timeout
        self._prefix, _ = _find_sequential(model)
        stages = split_sequential(model, self.size, balance)
        self.stage = stages[self.rank]
        self.layers_per_stage = [len(s) for s in stages]
        object.__setattr__(self, "_full", model)  # not a sub-module: its other stages live elsewhere
        self._optimizer_factory = optimizer
        self._pending: list[Any] = []
        self._hdr_in = np.zeros(HDR, dtype=np.float64)
        self.comm_seconds = 0.0
        self.bytes_sent = 0
        self._closed = False
        self.train(model.training)

    # --- messaging ---------------------------------------------------------------------
    def _send_array(self, dest: int, cmd: float, micro: float, a: np.ndarray) -> list[Any]:
        a = np.ascontiguousarray(a)
        if a.ndim > HDR - 6:
            raise KisonetValueError(
                tr("PipelineParallel: activations of {0} axes are not supported (max {1})", a.ndim, HDR - 6)
            )
        hdr = np.zeros(HDR, dtype=np.float64)
        hdr[:6] = cmd, micro, float(self.training), float(is_grad_enabled()), _DTYPES.index(a.dtype.type), a.ndim
        hdr[6 : 6 + a.ndim] = a.shape
        self.bytes_sent += a.nbytes
        reqs = [self.comm.Isend(hdr, dest=dest, tag=TAG_HDR), self.comm.Isend(a, dest=dest, tag=TAG_DATA)]
        self._pending.append((reqs, hdr, a))  # keep the buffers alive until sent
        return reqs

    def _send_cmd(self, dest: int, cmd: float, value: float = 0.0) -> None:
        hdr = np.zeros(HDR, dtype=np.float64)
        hdr[0], hdr[1] = cmd, value
        wait(self.comm.Isend(hdr, dest=dest, tag=TAG_HDR), f"send command to rank {dest}", self.timeout)

    def _recv_header(self, source: int, what: str) -> tuple[np.ndarray, int]:
        MPI = require_mpi()
        status = MPI.Status()
        hdr = np.zeros(HDR, dtype=np.float64)
        t0 = time.perf_counter()
        wait(self.comm.Irecv(hdr, source=source, tag=TAG_HDR), f"rank {self.rank}: {what}", self.timeout, status)
        self.comm_seconds += time.perf_counter() - t0
        return hdr, int(status.Get_source())

    def _recv_payload(self, hdr: np.ndarray, source: int, what: str) -> np.ndarray:
        nd = int(hdr[5])
        a = np.empty(tuple(int(s) for s in hdr[6 : 6 + nd]), dtype=_DTYPES[int(hdr[4])])
        t0 = time.perf_counter()
        wait(self.comm.Irecv(a, source=source, tag=TAG_DATA), f"rank {self.rank}: {what}", self.timeout)
        self.comm_seconds += time.perf_counter() - t0
        return a

    def _recv_array(self, source: int, what: str) -> tuple[int, np.ndarray]:
        hdr, src = self._recv_header(source, f"receive {what} from rank {source}")
        return int(hdr[1]), self._recv_payload(hdr, src, f"receive {what} from rank {source}")

    def _complete(self, reqs: list[Any] | None = None) -> None:
        """Wait for outstanding sends (all of them when ``reqs`` is None)."""
        keep = []
        for item in self._pending:
            rs = item[0]
            if reqs is None or any(r in reqs for r in rs):
                for r in rs:
                    wait(r, f"rank {self.rank}: send to the next stage", self.timeout)
            elif not all(r.Test() for r in rs):
                keep.append(item)
        self._pending = keep

    # --- rank 0: the model the Trainer sees -------------------------------------------------
    def forward(self, x: Any) -> Tensor:
        if self.rank != 0:
            raise KisonetValueError(tr("PipelineParallel: only rank 0 runs forward; rank {0} must serve()", self.rank))
        if self._closed:
            raise KisonetValueError(tr("PipelineParallel: closed (the other stages have stopped)"))
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        if self.size == 1:
            return self.stage(x)
        B = x.shape[0]
        # micro-batches of at least two samples: batch norm cannot normalise one
        sizes = [len(a) for a in np.array_split(np.arange(B), min(self.chunks, max(B // 2, 1)))]
        hs, start = [], 0
        for m, n in enumerate(sizes):
            xm = x[start : start + n] if x.requires_grad else Tensor._make(x._data[start : start + n], False, None)
            start += n
            h = self.stage(xm)
            self._send_array(1, FWD, m, h._data)  # rank 1 starts on m while we compute m + 1
            hs.append(h)
        out = _RemoteStages.apply(*hs, pipe=self, sizes=sizes)
        self._complete()
        return out

    def step_remote(self) -> None:
        """Tell every other stage to apply its optimizer step (with rank 0's current lr)."""
        lr = float(self._lr) if getattr(self, "_lr", None) is not None else float("nan")
        for r in range(1, self.size):
            self._send_cmd(r, STEP, lr)

    def state_dict(self, prefix: str = "") -> Any:  # type: ignore[override]
        """The whole model's state (rank 0 gathers the other stages; names as in the plain model)."""
        full = self._full.state_dict(prefix)
        if self.rank != 0 or self.size == 1:
            return full if self.rank == 0 else self.stage.state_dict()
        for r in range(1, self.size):
            self._send_cmd(r, STATE)
            meta = recv_json(self.comm, r, TAG_STATE, self.timeout)
            for name, shape, dt in meta:
                a = np.empty(tuple(shape), dtype=np.dtype(dt))
                wait(self.comm.Irecv(a, source=r, tag=TAG_STATE), f"receive the state of stage {r}", self.timeout)
                full[prefix + self._prefix + name] = a
        return full

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> Any:  # type: ignore[override]
        """Load a whole-model state: stage 0 here, the rest sent to their ranks."""
        res = self._full.load_state_dict(state, strict)
        if self.rank != 0:
            return res
        for r in range(1, self.size):
            self._send_cmd(r, LOAD)
            names = [n for n in self._stage_names(r) if self._prefix + n in state]
            send_json(self.comm, names, r, TAG_STATE)
            for n in names:
                a = np.ascontiguousarray(state[self._prefix + n])
                wait(self.comm.Isend(a, dest=r, tag=TAG_STATE), f"send the state of stage {r}", self.timeout)
        return res

    def _stage_names(self, r: int) -> list[str]:
        stages = split_sequential(self._full, self.size, self.layers_per_stage)
        return list(stages[r].state_dict().keys())

    def close(self) -> None:
        """Stop the other ranks' :meth:`serve` loops (rank 0; idempotent)."""
        if self.rank == 0 and not self._closed:
            self._complete()
            for r in range(1, self.size):
                self._send_cmd(r, STOP)
            self._closed = True

    # Trainer callback hooks: keep the remote optimizers in step with rank 0's.
    def on_batch_begin(self, trainer: Any, batch: int, logs: dict[str, Any]) -> None:
        groups = getattr(trainer.optimizer, "param_groups", None)
        self._lr = groups[0]["lr"] if groups else None

    def on_step_end(self, trainer: Any) -> None:
        self.step_remote()

    # --- ranks >= 1 ----------------------------------------------------------------------
    def serve(self) -> None:
        """Run this rank's stage until rank 0 calls :meth:`close` (ranks >= 1)."""
        if self.rank == 0:
            raise KisonetValueError(tr("PipelineParallel.serve runs on ranks >= 1; rank 0 trains"))
        MPI = require_mpi()
        params = list(self.stage.parameters())
        opt = None
        if self._optimizer_factory is not None and params:
            opt = self._optimizer_factory(params)
        prev, nxt = self.rank - 1, (self.rank + 1) % self.size
        saved: dict[int, tuple[Tensor, Tensor]] = {}
        while True:
            hdr, src = self._recv_header(MPI.ANY_SOURCE, "wait for work")
            cmd = float(hdr[0])
            if cmd == FWD:
                a = self._recv_payload(hdr, src, "receive activations")
                micro, training, grad = int(hdr[1]), bool(hdr[2]), bool(hdr[3])
                self.stage.train(training)
                with set_grad_enabled(grad):
                    h = Tensor._make(a, grad, None)
                    out = self.stage(h)
                if grad and out.requires_grad:
                    saved[micro] = (h, out)
                self.training = training
                with set_grad_enabled(grad):
                    self._send_array(nxt, FWD, micro, out._data)
                self._complete([])  # drop finished sends
            elif cmd == BWD:
                gy = self._recv_payload(hdr, src, "receive gradients")
                micro = int(hdr[1])
                if micro not in saved:
                    raise KisonetValueError(
                        tr("PipelineParallel rank {0}: gradient for unknown micro-batch {1}", self.rank, micro)
                    )
                h, out = saved.pop(micro)
                out.backward(gy)
                g = h.grad if h.grad is not None else np.zeros_like(h._data)
                self._send_array(prev, BWD, micro, g)
                self._complete([])
            elif cmd == STEP:
                self._complete()
                if opt is not None:
                    lr = float(hdr[1])
                    if np.isfinite(lr):
                        for grp in opt.param_groups:
                            grp["lr"] = lr
                    opt.step()
                    opt.zero_grad()
                saved.clear()
            elif cmd == STATE:
                state = self.stage.state_dict()
                meta = [[k, list(np.shape(v)), np.asarray(v).dtype.str] for k, v in state.items()]
                send_json(self.comm, meta, 0, TAG_STATE)
                for v in state.values():
                    self.comm.Send(np.ascontiguousarray(v), dest=0, tag=TAG_STATE)
            elif cmd == LOAD:
                names = recv_json(self.comm, 0, TAG_STATE, self.timeout)
                current = self.stage.state_dict()
                new = {}
                for n in names:
                    a = np.empty_like(np.asarray(current[n]))
                    wait(self.comm.Irecv(a, source=0, tag=TAG_STATE), "receive stage state", self.timeout)
                    new[n] = a
                self.stage.load_state_dict(new, strict=False)
            elif cmd == STOP:
                self._complete()
                return
            else:
                raise KisonetValueError(
                    tr("PipelineParallel rank {0}: unknown command {1} from rank {2}", self.rank, cmd, src)
                )

    def extra_repr(self) -> str:
        return f"rank={self.rank}/{self.size}, chunks={self.chunks}, layers_per_stage={self.layers_per_stage}"
