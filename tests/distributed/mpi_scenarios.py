"""Scenarios run under ``mpiexec -n N`` by test_distributed.py (not collected by pytest).

``python mpi_scenarios.py OUT_DIR NAME [NAME ...]``: rank 0 writes ``OUT_DIR/NAME.npz``.
The matching single-process references are computed by the tests themselves.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import kisonet as kn
from kisonet import distributed as dist
from kisonet import nn, optim
from kisonet.train import Trainer

N_SAMPLES, N_FEATURES, N_CLASSES, GLOBAL_BATCH, EPOCHS = 64, 20, 3, 16, 2


def make_data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES)).astype(np.float32)
    w = rng.standard_normal((N_FEATURES, N_CLASSES))
    y = (X @ w).argmax(axis=1).astype(np.int64)
    return X, y


def make_mlp(batch_norm: bool = False) -> nn.Module:
    kn.manual_seed(0)
    layers = [nn.Linear(N_FEATURES, 32)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(32))
    layers += [nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, N_CLASSES)]
    return nn.Sequential(*layers)


def make_opt(kind: str, params):
    if kind == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def save(out: str, name: str, **arrays) -> None:
    np.savez(os.path.join(out, f"{name}.npz"), **arrays)


def _state(model) -> dict[str, np.ndarray]:
    return {k.replace(".", "_"): np.asarray(v) for k, v in model.state_dict().items()}


def run_sync(out: str, name: str, comm, opt_kind: str, batch_norm: bool = False, bucket_bytes: int = 2**25) -> None:
    R, r = comm.Get_size(), comm.Get_rank()
    X, y = make_data()
    model = make_mlp(batch_norm)
    if r:  # a different initialisation on the other ranks: the broadcast must fix it
        for p in model.parameters():
            p.data[...] = np.float32(r)
    if batch_norm:
        model = dist.convert_sync_batchnorm(model, comm)
    dp = dist.DataParallel(model, comm, bucket_bytes=bucket_bytes)
    sampler = dist.DistributedSampler(len(X), comm=comm, seed=3)
    loader = dist.DistributedLoader((X, y), GLOBAL_BATCH // R, sampler)
    trainer = Trainer(dp, "cross_entropy", make_opt(opt_kind, dp.parameters()), callbacks=[dp], progress=False)
    trainer.fit(loader, epochs=EPOCHS)
    flat = np.concatenate([p.data.ravel() for p in model.parameters()])
    allp = np.zeros((R, flat.size), dtype=flat.dtype)
    comm.Allgather(flat, allp)
    if r == 0:
        save(
            out,
            name,
            spread=np.abs(allp - allp[0]).max(),
            loss=np.array(trainer.history["train_loss"]),
            buckets=np.array(len(dp._flat.buckets)),
            comm_steps=np.array(dp.steps),
            **_state(model),
        )


def run_pipeline(out: str, name: str, comm, chunks: int) -> None:
    X, y = make_data()
    model = make_mlp()
    pipe = dist.PipelineParallel(model, comm, chunks=chunks, optimizer=lambda ps: make_opt("adam", ps))
    if comm.Get_rank() == 0:
        trainer = Trainer(
            pipe, "cross_entropy", make_opt("adam", pipe.parameters()), callbacks=[pipe], progress=False, seed=5
        )
        trainer.fit((X, y), val=(X[:32], y[:32]), epochs=EPOCHS, batch_size=GLOBAL_BATCH)
        state = pipe.state_dict()
        pipe.close()
        save(
            out,
            name,
            loss=np.array(trainer.history["train_loss"]),
            val_loss=np.array(trainer.history["val_loss"]),
            layers=np.array(pipe.layers_per_stage),
            **{k.replace(".", "_"): v for k, v in state.items()},
        )
    else:
        pipe.serve()


def run_async(out: str, name: str, comm, staleness: int | None, epochs: int = EPOCHS) -> None:
    R, r = comm.Get_size(), comm.Get_rank()
    X, y = make_data()
    model = make_mlp()
    if r == 0:
        server = dist.ParameterServer(model, make_opt("sgd", model.parameters()), comm, max_staleness=staleness)
        hist = server.serve()
        acc = (Trainer(model, "cross_entropy", progress=False).evaluate((X, y)))["accuracy"]
        save(
            out,
            name,
            loss=np.array(hist["train_loss"]),
            accuracy=np.array(acc),
            staleness_max=np.array(server.stats["staleness_max"]),
            updates=np.array(server.stats["updates"]),
            **_state(model),
        )
    else:
        worker = dist.AsyncWorker(model.parameters(), lr=0.1, model=model, comm=comm)
        sampler = dist.DistributedSampler(len(X), num_replicas=R - 1, rank=r - 1, seed=3)
        loader = dist.DistributedLoader((X, y), GLOBAL_BATCH, sampler)
        # momentum lives on the server; the worker's lr is sent with each push
        Trainer(model, "cross_entropy", worker, callbacks=[worker], progress=False).fit(loader, epochs=epochs)


def run_error(comm, kind: str) -> None:
    X, y = make_data()
    model = make_mlp()
    dp = dist.DataParallel(model, comm, timeout=3.0 if kind == "timeout" else None)
    sampler = dist.DistributedSampler(len(X), comm=comm, seed=3)
    loader = dist.DistributedLoader((X, y), GLOBAL_BATCH // comm.Get_size(), sampler)

    def boom(trainer, batch, logs):
        if comm.Get_rank() == 1 and trainer.global_step == 2:
            if kind == "raise":
                raise RuntimeError("boom on rank 1")
            time.sleep(120)  # a hung rank: the others must time out

    cb = kn.train.LambdaCallback(on_batch_begin=boom)
    with dist.guard(comm):
        Trainer(dp, "cross_entropy", make_opt("sgd", dp.parameters()), callbacks=[dp, cb], progress=False).fit(
            loader, epochs=EPOCHS
        )


def main() -> None:
    comm = dist.world()
    out, names = sys.argv[1], sys.argv[2:]
    with dist.guard(comm):
        for name in names:
            if name in ("error-raise", "error-timeout"):
                run_error(comm, name.split("-")[1])
            elif name == "sync-buckets":  # 1 KB buckets: many Allreduces per step
                run_sync(out, name, comm, "sgd", bucket_bytes=1024)
            elif name.startswith("sync"):  # sync-sgd, sync-adam, sync-bn
                kind = name.split("-")[1]
                run_sync(out, name, comm, "sgd" if kind == "bn" else kind, batch_norm=kind == "bn")
            elif name.startswith("pipeline"):  # pipeline-4 : 4 micro-batches
                run_pipeline(out, name, comm, int(name.split("-")[1]))
            elif name.startswith("async"):  # async-none, async-0, async-0-6 (6 epochs)
                parts = name.split("-")
                s = None if parts[1] == "none" else int(parts[1])
                run_async(out, name, comm, s, int(parts[2]) if len(parts) > 2 else EPOCHS)
            comm.Barrier()


if __name__ == "__main__":
    main()
