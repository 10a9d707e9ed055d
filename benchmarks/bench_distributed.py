"""Distributed training throughput: steps/s and communication time per step, 1 vs 2 processes.

    python benchmarks/bench_distributed.py            # launches mpiexec -n 1 and -n 2 itself
    python benchmarks/bench_distributed.py --steps 60 --batch 128

Model: the MNIST MLP 784-256-128-10 (235,146 float32 parameters = 0.94 MB), on
random inputs (speed only).  One BLAS thread per process.  For each mode and
process count it prints steps/s (global optimisation steps per second), the
time per step spent communicating, and the bytes each rank sends per step; then
a pure Allreduce of the gradient buffer (the link's effective bandwidth) and an
alpha-beta estimate of what 8 and 64 workers would see on a cluster network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HIDDEN = (256, 128)


def _model():
    import kisonet as kn
    from kisonet.models import build_model

    kn.manual_seed(0)
    return build_model("mlp:" + ",".join(map(str, HIDDEN)), (784,), 10)


def _batches(n: int, batch: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=(n, batch))
    return X, y


def _step(model, opt, xb, yb):
    import kisonet as kn
    from kisonet.nn import functional as F  # noqa: N812

    out = model(kn.Tensor(xb))
    loss = F.cross_entropy(out, yb)
    opt.zero_grad()
    loss.backward()
    return loss


def worker(mode: str, steps: int, batch: int, warmup: int) -> dict:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    import kisonet.distributed as dist
    from kisonet import optim

    comm = dist.world()
    R, r = comm.Get_size(), comm.Get_rank()
    res: dict = {"mode": mode, "ranks": R}
    if mode == "sync":
        model = _model()
        dp = dist.DataParallel(model, comm)
        dp.broadcast_parameters()
        opt = optim.SGD(dp.parameters(), lr=0.01, momentum=0.9)
        X, y = _batches(8, batch // R, r)
        for i in range(warmup + steps):
            if i == warmup:
                comm.Barrier()
                t0, c0 = time.perf_counter(), dp.comm_seconds
            _step(dp, opt, X[i % 8], y[i % 8])
            dp.allreduce_gradients()
            opt.step()
        comm.Barrier()
        dt = time.perf_counter() - t0
        res.update(steps_per_s=steps / dt, comm_ms=1e3 * (dp.comm_seconds - c0) / steps, bytes=dp.bytes_per_step)
        # the gradient Allreduce alone: the link's effective bandwidth
        buf = np.ones(dp._flat.numel, dtype=np.float32)
        MPI = dist.require_mpi()
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(50):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        res["allreduce_ms"] = 1e3 * (time.perf_counter() - t0) / 50
    elif mode == "async":
        model = _model()
        if r == 0:
            if R == 1:
                opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                X, y = _batches(8, batch, 0)
                for i in range(warmup + steps):
                    if i == warmup:
                        t0 = time.perf_counter()
                    _step(model, opt, X[i % 8], y[i % 8])
                    opt.step()
                res.update(steps_per_s=steps / (time.perf_counter() - t0), comm_ms=0.0, bytes=0)
            else:
                server = dist.ParameterServer(model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9), comm)
                server.serve()
                st = server.stats
                res.update(
                    steps_per_s=st["updates"] / st["seconds"],
                    server_comm_ms=1e3 * st["comm_seconds"] / st["updates"],
                    staleness_mean=st["staleness_mean"],
                )
        else:
            w = dist.AsyncWorker(model.parameters(), lr=0.01, model=model, comm=comm)
            X, y = _batches(8, batch, r)
            for i in range(warmup + steps):
                if i == warmup:
                    c0, t0 = w.comm_seconds, time.perf_counter()
                _step(model, w, X[i % 8], y[i % 8])
                w.step()
            w.finish()
            res.update(
                worker_steps_per_s=steps / (time.perf_counter() - t0),
                comm_ms=1e3 * (w.comm_seconds - c0) / steps,
                bytes=2 * w._flat.nbytes,
            )
    else:  # pipeline
        model = _model()
        pipe = dist.PipelineParallel(model, comm, chunks=4, optimizer=lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9))
        if r == 0:
            opt = optim.SGD(pipe.parameters(), lr=0.01, momentum=0.9)
            X, y = _batches(8, batch, 0)
            for i in range(warmup + steps):
                if i == warmup:
                    t0, c0, b0 = time.perf_counter(), pipe.comm_seconds, pipe.bytes_sent
                _step(pipe, opt, X[i % 8], y[i % 8])
                opt.step()
                pipe.step_remote()
            res.update(
                steps_per_s=steps / (time.perf_counter() - t0),
                comm_ms=1e3 * (pipe.comm_seconds - c0) / steps,
                bytes=(pipe.bytes_sent - b0) // steps,
                stages=pipe.layers_per_stage,
            )
            pipe.close()
        else:
            pipe.serve()
    all_res = comm.gather(res, root=0)  # small dicts of numbers, in memory only
    return {"ranks": all_res} if r == 0 else {}


def estimate(
    bytes_per_step: float, compute_s: float, bandwidth: float, latency: float, worker_s: float | None = None
) -> list[str]:
    """Alpha-beta model: ring Allreduce of S bytes on N ranks takes 2 (N-1) alpha + 2 (N-1)/N S / bw;
    the parameter server's link carries 2 S per worker step (push + pull), serially."""
    worker_s = compute_s if worker_s is None else worker_s
    lines = []
    for n in (8, 64):
        ring = 2 * (n - 1) * latency + 2 * (n - 1) / n * bytes_per_step / bandwidth
        # weak scaling: each worker keeps its per-rank batch, the global batch grows N-fold
        eff = compute_s / (compute_s + ring)
        ps_server = n * (2 * bytes_per_step / bandwidth + 2 * latency)  # one push + pull per worker per round
        ps_eff = min(1.0, worker_s / ps_server) if ps_server else 1.0
        lines.append(
            f"  {n:2d} workers: sync ring Allreduce {1e3 * ring:6.2f} ms/step vs compute {1e3 * compute_s:.2f} ms "
            f"-> {100 * eff:4.0f}% efficiency ({n * eff:5.1f}x); async server link needs {1e3 * ps_server:6.1f} ms "
            f"per round -> {100 * ps_eff:4.0f}% of workers kept busy"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128, help="global batch (sync, pipeline) / per-worker batch (async)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--bandwidth", type=float, default=1.25e9, help="cluster link bytes/s (default 10 Gb/s Ethernet)")
    ap.add_argument("--latency", type=float, default=20e-6, help="cluster message latency s (default 20 us)")
    args = ap.parse_args()
    if args.worker:
        out = worker(args.worker, args.steps, args.batch, args.warmup)
        if out:
            print("RESULT " + json.dumps(out), flush=True)
        return
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    results = {}
    for mode in ("sync", "async", "pipeline"):
        for n in (1, 2) if mode != "async" else (1, 2, 3):
            if mode == "pipeline" and n == 1:
                cmd_mode = "sync"  # one process: the plain step (no pipeline to split)
            else:
                cmd_mode = mode
            cmd = [mpiexec, "-n", str(n), sys.executable, __file__, "--worker", cmd_mode]
            cmd += ["--steps", str(args.steps), "--batch", str(args.batch), "--warmup", str(args.warmup)]
            p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if line is None:
                print(f"{mode} n={n} failed:\n{p.stderr[-2000:]}")
                continue
            results[(mode, n)] = json.loads(line[7:])["ranks"]
    print(f"MLP 784-{'-'.join(map(str, HIDDEN))}-10, batch {args.batch}, {args.steps} steps, 1 BLAS thread/process")
    print(f"{'mode':9s} {'procs':>5s} {'steps/s':>8s} {'speedup':>7s} {'comm ms/step':>12s} {'MB/step/rank':>12s}")
    base = {}
    for (mode, n), ranks in results.items():
        r0 = ranks[0]
        if mode == "async" and n > 1:
            sps = r0["steps_per_s"]
            comm_ms = float(np.mean([r["comm_ms"] for r in ranks[1:]]))
            mb = ranks[1]["bytes"] / 1e6
            note = f"  (server + {n - 1} worker(s), staleness {r0['staleness_mean']:.2f})"
        else:
            sps, comm_ms, mb = r0["steps_per_s"], r0.get("comm_ms", 0.0), r0.get("bytes", 0) / 1e6
            note = f"  stages {r0['stages']}" if "stages" in r0 else ""
        if n == 1:
            base[mode] = sps
        speed = sps / base.get(mode, sps)
        print(f"{mode:9s} {n:5d} {sps:8.1f} {speed:7.2f} {comm_ms:12.2f} {mb:12.2f}{note}")
    if ("sync", 2) in results:
        r0 = results[("sync", 2)][0]
        S = r0["bytes"]
        bw = 2 * (2 - 1) / 2 * S / (r0["allreduce_ms"] / 1e3)
        print(
            f"\nAllreduce of {S / 1e6:.2f} MB on 2 local ranks: {r0['allreduce_ms']:.2f} ms "
            f"({bw / 1e9:.2f} GB/s effective)"
        )
        per_rank_compute = 1.0 / results[("sync", 1)][0]["steps_per_s"] / 2  # half the global batch per rank
        print(
            f"Estimate on a cluster (bandwidth {args.bandwidth / 1e9:.2f} GB/s, latency {1e6 * args.latency:.0f} us, "
            f"{S / 1e6:.2f} MB/step, per-rank batch {args.batch // 2}, compute {1e3 * per_rank_compute:.2f} ms):"
        )
        worker_s = 1.0 / results[("async", 1)][0]["steps_per_s"] if ("async", 1) in results else None
        for line in estimate(S, per_rank_compute, args.bandwidth, args.latency, worker_s):
            print(line)


if __name__ == "__main__":
    main()
