"""``kisonet train --distributed {sync,async,pipeline}``: the train command on N MPI ranks.

Launched as ``mpiexec -n N kisonet train --distributed MODE [train options]``.
Every rank resolves the same options, loads the same data and builds the same
model from the seed; rank 0 alone creates the run folder, prints, shows the
progress bar and writes config.json, history.csv (after every epoch),
metrics.json, model.npz and curves.png, the same files as a single-process run.

- sync: ``--batch-size`` is the global batch, split evenly over the N ranks
  (it must divide); ``--batch-norm`` layers become SyncBatchNorm, so the run
  follows the single-process one up to float rounding.
- async: rank 0 is the parameter server, ranks 1..N-1 train on disjoint shards
  with batches of ``--batch-size``; ``--max-staleness`` bounds the staleness.
  The history holds the mean over workers of their epoch figures.
- pipeline: the model's layers are split into N stages; ``--micro-batches``
  micro-batches per batch.

Any exception on any rank prints ``rank r/N: ...`` and aborts every rank.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

MODES = ("none", "sync", "async", "pipeline")


def train_distributed(config: dict[str, Any], echo: Callable[[str], None] | None = None, resume: Any = None) -> int:
    """Run the train command for a resolved config with ``config['distributed']`` set.
    ``resume``: the checkpoint of an interrupted ``--distributed sync`` run (every rank reads it)."""
    from ..cli.options import UsageError
    from .comm import DistributedError, guard, world

    try:
        comm = world()
    except DistributedError as e:
        raise UsageError(f"--distributed: {e}") from None
    rank = comm.Get_rank()
    say = (echo or (lambda s: print(s, flush=True))) if rank == 0 else (lambda s: None)
    _check(config, comm.Get_size())
    _same_options(config, comm)
    from .comm import Watchdog

    # ranks that run a Trainer tick it after every step; the async server and the pipeline's
    # stage ranks wait on messages with their own time-outs instead
    serves = (config["distributed"] == "async" and rank == 0) or (config["distributed"] == "pipeline" and rank != 0)
    watchdog = Watchdog(comm, 0.0 if serves else float(config.get("rank-timeout") or 0))
    with guard(comm):
        watchdog.start()
        try:
            return _run(config, comm, say, watchdog, resume)
        finally:
            watchdog.stop()


def _same_options(config: dict[str, Any], comm: Any) -> None:
    """Every rank must run the same options: compare their digests, and name the options
    that differ (every rank raises the same UsageError, so none is left waiting)."""
    from .. import runs
    from ..errors import KisonetValueError

    digests = comm.allgather(runs.options_digest(config))
    if len(set(digests)) == 1:
        return
    options = comm.allgather(runs.run_options(config))
    keys = sorted({k for o in options for k in runs.changed_options(options[0], o)})
    ranks = [r for r, d in enumerate(digests) if d != digests[0]]
    raise KisonetValueError(
        f"--distributed: the ranks were started with different options ({', '.join(keys)} differ between rank 0 "
        f"and rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}); launch every rank with the same "
        "command line"
    )


def _check(config: dict[str, Any], size: int) -> None:
    from ..cli.options import UsageError

    mode = config["distributed"]
    if mode in ("async", "pipeline") and size < 2:
        raise UsageError(
            f"--distributed {mode}: needs at least 2 MPI ranks, got 1; launch with mpiexec -n N kisonet train ..."
        )
    if mode == "sync" and int(config["batch-size"]) % size:
        raise UsageError(
            f"--distributed sync: --batch-size {config['batch-size']} (the global batch) must be divisible "
            f"by the {size} ranks"
        )
    if mode == "async" and config.get("early-stopping"):
        raise UsageError("--early-stopping: not available with --distributed async (workers stop independently)")
    if mode == "pipeline" and config.get("l1"):
        raise UsageError("--l1: not available with --distributed pipeline (each stage holds part of the weights)")


def _run(
    config: dict[str, Any], comm: Any, say: Callable[[str], None], watchdog: Any = None, resume: Any = None
) -> int:
    import numpy as np

    from .. import runs
    from ..cli.train import (
        _augmenter,
        _model_config,
        format_table,
        make_early_stopping,
        make_optimizer,
        make_regularizer,
        make_scheduler,
        prepare_data_and_model,
    )
    from ..train import AFTER_HISTORY, LambdaCallback, Trainer
    from .async_ps import AsyncWorker, ParameterServer
    from .data_parallel import DataParallel
    from .pipeline import PipelineParallel
    from .sampler import DistributedLoader, DistributedSampler
    from .sync_batchnorm import convert_sync_batchnorm

    t_start = time.perf_counter()
    mode, rank, size = config["distributed"], comm.Get_rank(), comm.Get_size()
    seed = int(config["seed"])
    data, model = prepare_data_and_model(config)
    classification = data.task == "classification"
    metric = "accuracy" if classification else "rmse"
    loss_name = "cross_entropy" if classification else "mse"
    regularizer = make_regularizer(config)

    run_dir = None
    if rank == 0:
        # locked, with status.json: a rank that dies (the others abort) leaves it marked failed
        run_dir = runs.RunFolder.open(
            config.get("out"),
            f"kisonet train --distributed {mode}",
            overwrite=bool(config.get("overwrite")) and resume is None,
            resume=resume is not None,
        ).path
        config = {**config, "out": str(run_dir)}
        if resume is None:
            runs.write_config(run_dir, config)
    callbacks: list[Any] = [] if watchdog is None else [watchdog]
    if config["early-stopping"]:
        callbacks.append(make_early_stopping(config))
    title = f"{config['model']} on {config['dataset']} ({mode})"
    if rank == 0:
        from ..viz import LivePlot

        callbacks.append(
            LambdaCallback(order=AFTER_HISTORY, on_epoch_end=lambda t, e, logs: runs.write_history(run_dir, t.history))
        )
        # curves.png as the run goes (drawing at most a quarter of the time; the end draws it again)
        callbacks.append(
            LivePlot(
                ("loss", metric), path=run_dir / runs.CURVES, display=False, max_overhead=0.25, final=False, title=title
            )
        )
    ckpt = None if run_dir is None else run_dir / runs.CHECKPOINT
    if rank == 0 and mode == "sync":
        import kisonet as kn

        from ..train import CHECKPOINT_KIND

        # rank 0's last good state, as in a single-process run: kept when a rank dies
        record = {
            "options_digest": runs.options_digest(config),
            "options": runs.run_options(config),
            "world_size": size,
        }

        def save_checkpoint(t: Any, epoch: int, logs: Any) -> None:
            kn.save({**t.state_dict(), "run": record}, ckpt, kind=CHECKPOINT_KIND)

        callbacks.append(LambdaCallback(order=AFTER_HISTORY, on_epoch_end=save_checkpoint))
    progress = bool(config["progress"]) and rank == 0
    epochs, batch = int(config["epochs"]), int(config["batch-size"])
    transform = _augmenter(config, data.standardizer)
    n_train = len(data.train[0])
    say(
        f"kisonet train: {config['model']} on {config['dataset']} ({n_train} train, "
        f"{0 if data.val is None else len(data.val[0])} val, {len(data.test[0])} test), "
        f"{config['optimizer']} lr={config['lr']:g}, {epochs} epochs, "
        f"--distributed {mode} on {size} ranks -> {run_dir}"
    )

    t_fit = time.perf_counter()
    final_model = model
    history: dict[str, list[float]]
    evaluator: Trainer
    comm_note = ""
    if mode == "sync":
        if config["batch-norm"]:
            model = convert_sync_batchnorm(model, comm)  # global-batch statistics, as one process
            final_model = model
        dp = DataParallel(model, comm)
        optimizer = make_optimizer(config, dp.parameters())
        sampler = DistributedSampler(n_train, comm=comm, seed=seed)
        loader = DistributedLoader(data.train, batch // size, sampler, transform=transform)
        trainer = Trainer(
            dp,
            loss_name,
            optimizer,
            metrics=(metric,),
            callbacks=[dp, *callbacks],
            scheduler=make_scheduler(config, optimizer),
            regularizer=regularizer,
            progress=progress,
            seed=seed,
        )
        if resume is not None:
            _resume_sync(trainer, resume, size)
            say(f"kisonet train: resuming {config.get('out')} at epoch {trainer.epoch + 1} on {size} ranks")
        with np.errstate(over="ignore", invalid="ignore"):
            trainer.fit(loader, val=data.val, test=data.test, epochs=epochs)
        history, evaluator = trainer.history, trainer
        comm_note = (
            f"allreduce {dp.bytes_per_step / 1e6:.2f} MB/step, "
            f"{1e3 * dp.comm_seconds / max(dp.steps, 1):.2f} ms/step communicating"
        )
    elif mode == "async":
        if rank == 0:
            server = ParameterServer(
                model, make_optimizer(config, model.parameters()), comm, max_staleness=config.get("max-staleness")
            )

            def epoch_done(epoch: int, logs: dict[str, float]) -> None:
                runs.write_history(run_dir, server.history)
                shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if k.endswith(("loss", metric)))
                say(f"epoch {epoch + 1}/{epochs}: {shown}")

            history = server.serve(epoch_done)
            evaluator = Trainer(model, loss_name, metrics=(metric,), progress=False)
            st = server.stats
            comm_note = (
                f"{st['updates']} updates from {size - 1} workers, staleness mean {st['staleness_mean']:.2f} "
                f"max {st['staleness_max']}"
            )
        else:
            worker = AsyncWorker(model.parameters(), lr=config["lr"], model=model, comm=comm)
            sampler = DistributedSampler(n_train, num_replicas=size - 1, rank=rank - 1, seed=seed)
            loader = DistributedLoader(data.train, batch, sampler, transform=transform)
            trainer = Trainer(
                model,
                loss_name,
                worker,
                metrics=(metric,),
                callbacks=[worker, *callbacks],
                scheduler=make_scheduler(config, worker),
                regularizer=regularizer,
                progress=False,
                seed=seed + rank,
            )
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit(loader, val=data.val, test=data.test, epochs=epochs)
            return _all_succeeded(comm)
    else:  # pipeline
        pipe = PipelineParallel(
            model, comm, chunks=int(config.get("micro-batches") or 4), optimizer=lambda ps: make_optimizer(config, ps)
        )
        if rank != 0:
            pipe.serve()
            return _all_succeeded(comm)
        optimizer = make_optimizer(config, pipe.parameters())
        trainer = Trainer(
            pipe,
            loss_name,
            optimizer,
            metrics=(metric,),
            callbacks=[pipe, *callbacks],
            scheduler=make_scheduler(config, optimizer),
            progress=progress,
            seed=seed,
        )
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit(
                    data.train, val=data.val, test=data.test, epochs=epochs, batch_size=batch, transform=transform
                )
            history, evaluator = trainer.history, trainer
            final: dict[str, float] = _final(evaluator, data)
            model.load_state_dict(pipe.state_dict())  # gather every stage into the plain model
        finally:
            pipe.close()
        comm_note = f"stages {pipe.layers_per_stage} layers, {pipe.bytes_sent / 1e6:.1f} MB sent by rank 0"
    train_seconds = time.perf_counter() - t_fit
    _all_succeeded(comm)  # rank 0 writes a finished-looking folder only when no rank failed
    if rank != 0:
        return 0
    if mode != "pipeline":
        final = _final(evaluator, data)
    runs.write_history(run_dir, history)
    final["epochs"] = len(history.get("train_loss", []))
    final["train_seconds"] = train_seconds
    final["world_size"] = size
    runs.write_metrics(run_dir, final)
    runs.save_run_model(
        run_dir,
        final_model,
        _model_config(config, data),
        None if data.standardizer is None else data.standardizer.state_dict(),
    )
    try:
        runs.save_curves(run_dir, history, ("loss", metric), title=title)
    except ImportError as e:
        print(f"kisonet train: warning: no curves.png ({e})", file=sys.stderr)
    if ckpt is not None:
        ckpt.unlink(missing_ok=True)  # the run is complete: model.npz is its result
    say(format_table(final, time.perf_counter() - t_start, metric))
    if comm_note:
        say(f"--distributed {mode}: {comm_note}")
    say(f"run folder: {run_dir}")
    return 0


def _resume_sync(trainer: Any, path: Any, size: int) -> None:
    """Every rank restores rank 0's checkpoint (the same weights, optimizer, schedule, RNG and
    epoch on every rank, as the synchronous run keeps them)."""
    import kisonet as kn

    from ..errors import RunFolderError
    from ..train import CHECKPOINT_KIND

    state = kn.load(path, kind=CHECKPOINT_KIND)
    saved = (state.get("run") or {}).get("world_size")
    if saved is not None and int(saved) != size:
        raise RunFolderError(
            f"--resume: the run was trained on {saved} ranks, this launch has {size}; resume it with mpiexec -n {saved}"
        )
    trainer.load_state_dict(state)


def _all_succeeded(comm: Any) -> int:
    """Every rank checks in here once its part of the run succeeded.  A rank that failed
    aborts instead (comm.guard), which ends the ranks waiting here: rank 0 never writes
    metrics.json and model.npz for a run one of whose workers failed."""
    comm.allreduce(1)
    return 0


def _final(evaluator: Any, data: Any) -> dict[str, float]:
    final: dict[str, float] = {}
    for split, pair in (("train", data.train), ("val", data.val), ("test", data.test)):
        if pair is not None:
            for k, v in evaluator.evaluate(pair).items():
                final[f"{split}_{k}"] = float(v)
    return final
