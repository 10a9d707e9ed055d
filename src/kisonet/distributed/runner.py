"""The runner on N MPI ranks: ``kisonet train --distributed {sync,async,pipeline}``.

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

It builds on :mod:`kisonet.runner` (data, model, optimizer, schedule, regulariser, run folder) and
differs only in how the model is wrapped and fed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..config import DISTRIBUTED_MODES, RunConfig
from ..errors import ConfigError, KisonetError
from ..lang import tr
from ..runner import as_run_config, blas_threads

__all__ = ["run_distributed", "train_distributed"]


def run_distributed(
    config: RunConfig | Mapping[str, Any], echo: Callable[[str], None] | None = None, resume: Any = None
) -> int:
    """Run ``kisonet train`` for a config with ``distributed`` set, on the ranks of ``MPI.COMM_WORLD``.
    ``resume``: the checkpoint of an interrupted ``--distributed sync`` run (every rank reads it)."""
    from .comm import DistributedError, guard, set_epilogue, world

    cfg = as_run_config(config).finalize()
    try:
        comm = world()
    except DistributedError as e:
        raise ConfigError(tr("--distributed: {0}", e)) from None
    rank = comm.Get_rank()
    say = (echo or (lambda s: print(s, flush=True))) if rank == 0 else (lambda s: None)
    _agree(comm, lambda: _check(cfg, comm.Get_size()))
    _same_options(cfg, comm)
    if cfg.out is not None:
        from .. import runs

        _agree(comm, lambda: runs.check_out(cfg.out, overwrite=cfg.overwrite, resume=resume is not None))
    from .comm import Watchdog
    from .lastwords import LastWords

    # every rank beats; ranks that run a Trainer also tick it after every step (the async
    # server and the pipeline's stage ranks only answer messages: no progress of their own)
    serves = (cfg.distributed == "async" and rank == 0) or (cfg.distributed == "pipeline" and rank != 0)
    watchdog = Watchdog(comm, float(cfg.rank_timeout or 0), progress=not serves)
    watcher = LastWords()
    with blas_threads(cfg), guard(comm):
        watcher.start(comm)  # speaks for this rank if the launcher kills it without warning
        watchdog.start()
        try:
            code = _run(cfg, comm, say, watchdog, resume, watcher)
        finally:
            watchdog.stop()
        # only now: on an error the watcher stays until guard has printed this rank's line (the
        # launcher may kill this rank before it does, and then the watcher speaks for it)
        watcher.bye()
        set_epilogue(None)
        return code


def _agree(comm: Any, check: Callable[[], None]) -> None:
    """Run ``check`` on rank 0 and end every rank the same way when it refuses: rank 0 raises
    (the command line prints its one line and exit code), the other ranks leave quietly with
    that code a moment later, so the user reads the refusal once, not once per rank, and no
    rank is left waiting (MPI_Abort would add MPICH's own line and exit 1)."""
    error: KisonetError | None = None
    if comm.Get_rank() == 0:
        try:
            check()
        except KisonetError as e:
            error = e
    code = comm.bcast(None if error is None else 2, root=0)  # the CLI's code for a refusal
    if error is not None:
        raise error
    if code is not None:
        time.sleep(0.5)  # rank 0 speaks first
        sys.exit(code)


def _same_options(cfg: RunConfig, comm: Any) -> None:
    """Every rank must run the same options: compare their digests, and name the options
    that differ (every rank knows; rank 0 says it through :func:`_agree`)."""
    from .. import runs

    config = cfg.to_dict()
    digests = comm.allgather(runs.options_digest(config))
    if len(set(digests)) == 1:
        return
    options = comm.allgather(runs.run_options(config))
    keys = sorted({k for o in options for k in runs.changed_options(options[0], o)})
    ranks = [r for r, d in enumerate(digests) if d != digests[0]]

    def refuse() -> None:
        raise ConfigError(
            tr(
                (
                    "--distributed: the ranks were started with different options ({0} differ "
                    "between rank 0 and rank{1} {2}); launch every rank with the same command line"
                ),
                ", ".join(keys),
                "s" if len(ranks) > 1 else "",
                ", ".join(map(str, ranks)),
            )
        )

    _agree(comm, refuse)


#: the name this function had when it lived beside the command line
train_distributed = run_distributed


def _check(cfg: RunConfig, size: int) -> None:
    mode = cfg.distributed
    need = DISTRIBUTED_MODES.entry(mode).min_ranks
    if size < need:
        raise ConfigError(
            tr(
                (
                    "--distributed {0}: needs at least {1} MPI ranks, got {2}; launch with mpiexec "
                    "-n N kisonet train ..."
                ),
                mode,
                need,
                size,
            )
        )
    if mode == "sync" and cfg.batch_size % size:
        raise ConfigError(
            tr(
                "--distributed sync: --batch-size {0} (the global batch) must be divisible by the {1} ranks",
                cfg.batch_size,
                size,
            )
        )
    if mode == "async" and cfg.early_stopping:
        raise ConfigError(tr("--early-stopping: not available with --distributed async (workers stop independently)"))
    if mode == "pipeline" and cfg.l1:
        raise ConfigError(tr("--l1: not available with --distributed pipeline (each stage holds part of the weights)"))


def _run(
    cfg: RunConfig,
    comm: Any,
    say: Callable[[str], None],
    watchdog: Any = None,
    resume: Any = None,
    watcher: Any = None,
) -> int:
    import numpy as np

    from .. import runs
    from ..data import DataLoader
    from ..runner import (
        create_run_folder,
        evaluate_splits,
        finish_run,
        format_table,
        make_augmenter,
        make_callbacks,
        make_optimizer,
        make_regularizer,
        make_scheduler,
        prepare_data_and_model,
        run_record,
    )
    from ..serialization import save
    from ..train import AFTER_HISTORY, CHECKPOINT_KIND, LambdaCallback, Trainer
    from ..viz import LivePlot
    from .async_ps import AsyncWorker, ParameterServer
    from .comm import set_epilogue
    from .data_parallel import DataParallel
    from .pipeline import PipelineParallel
    from .sampler import DistributedLoader, DistributedSampler
    from .sync_batchnorm import convert_sync_batchnorm

    t_start = time.perf_counter()
    mode, rank, size = cfg.distributed, comm.Get_rank(), comm.Get_size()
    seed, epochs, batch = cfg.seed, cfg.epochs, cfg.batch_size
    data, model = prepare_data_and_model(cfg)
    metric, loss_name = data.metric, data.loss
    regularizer = make_regularizer(cfg)

    run_dir = None
    if rank == 0:
        # locked, with status.json: a rank that dies (the others abort) leaves it marked failed
        run_dir = create_run_folder(cfg, None, f"kisonet train --distributed {mode}", resume=resume is not None).path
    callbacks: list[Any] = ([] if watchdog is None else [watchdog]) + make_callbacks(cfg)
    title = f"{cfg.model} on {cfg.dataset} ({mode})"
    if rank == 0:
        callbacks.append(
            LambdaCallback(order=AFTER_HISTORY, on_epoch_end=lambda t, e, logs: runs.write_history(run_dir, t.history))
        )
        # curves.png after every epoch, as in a single-process run (the end draws it again)
        callbacks.append(
            LivePlot(
                ("loss", metric), path=run_dir / runs.CURVES, display=False, max_overhead=None, final=False, title=title
            )
        )
    ckpt = None if run_dir is None else run_dir / runs.CHECKPOINT
    saved_epoch = [0]
    record = {**run_record(cfg), "world_size": size}

    def where() -> str:
        return _where_to_resume(run_dir, ckpt, saved_epoch[0], mode, size)

    def write_checkpoint(state: dict[str, Any], epoch: int) -> None:
        save({**state, "run": record}, ckpt, kind=CHECKPOINT_KIND)
        saved_epoch[0] = epoch
        if watcher is not None:
            watcher.tell(epilogue=where())

    if rank == 0 and mode != "async":
        # rank 0's last good state after every epoch, as in a single-process run: kept when a rank
        # dies (the pipeline's gathers every stage's weights)
        keep = LambdaCallback(
            order=AFTER_HISTORY, on_epoch_end=lambda t, e, logs: write_checkpoint(t.state_dict(), t.epoch)
        )
        callbacks.append(keep)
    if rank == 0:
        set_epilogue(where)  # whatever ends rank 0 now, its last words say where the checkpoint is
        if watcher is not None:
            watcher.tell(status_path=str(run_dir / runs.STATUS), epilogue=where())
    progress = cfg.progress and rank == 0
    transform = make_augmenter(cfg, data.standardizer)
    n_train = len(data.train[0])
    say(
        tr(
            "kisonet train: {0} on {1} ({2} train, {3} val, {4} test), {5} lr={6:g}, {7} epochs, "
            "--distributed {8} on {9} ranks -> {10}",
            cfg.model, cfg.dataset, n_train, 0 if data.val is None else len(data.val[0]), len(data.test[0]),
            cfg.optimizer, cfg.lr, epochs, mode, size, run_dir,
        )
    )  # fmt: skip

    def trainer_for(net: Any, opt: Any, extra: Any, **kw: Any) -> Any:
        return Trainer(
            net, loss_name, opt, metrics=(metric,), callbacks=[extra, *callbacks],
            scheduler=make_scheduler(cfg, opt), **kw,
        )  # fmt: skip

    # batch norm cannot normalise a lone last sample: the loaders merge it, as the Trainer's do
    bn = any("BatchNorm" in type(m).__name__ for m in model.modules())
    t_fit = time.perf_counter()
    final_model = model
    history: dict[str, list[float]]
    evaluator: Trainer
    comm_note = ""
    if mode == "sync":
        if cfg.batch_norm:
            model = convert_sync_batchnorm(model, comm)  # global-batch statistics, as one process
            final_model = model
        dp = DataParallel(model, comm)
        sampler = DistributedSampler(n_train, comm=comm, seed=seed)
        loader = DistributedLoader(data.train, batch // size, sampler, transform=transform, merge_last=bn)
        trainer = trainer_for(
            dp, make_optimizer(cfg, dp.parameters()), dp, regularizer=regularizer, progress=progress, seed=seed
        )
        if resume is not None:
            _resume_sync(trainer, resume, size)
            say(f"kisonet train: resuming {cfg.out} at epoch {trainer.epoch + 1} on {size} ranks")
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
                model, make_optimizer(cfg, model.parameters()), comm, max_staleness=cfg.max_staleness
            )

            def epoch_done(epoch: int, logs: dict[str, float]) -> None:
                runs.write_history(run_dir, server.history)
                write_checkpoint(server.state_dict(), epoch + 1)
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
            worker = AsyncWorker(model.parameters(), lr=cfg.lr, model=model, comm=comm)
            sampler = DistributedSampler(n_train, num_replicas=size - 1, rank=rank - 1, seed=seed)
            loader = DistributedLoader(data.train, batch, sampler, transform=transform, merge_last=bn)
            trainer = trainer_for(model, worker, worker, regularizer=regularizer, progress=False, seed=seed + rank)
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit(loader, val=data.val, test=data.test, epochs=epochs)
            return _all_succeeded(comm, watchdog)
    else:  # pipeline
        pipe = PipelineParallel(model, comm, chunks=cfg.micro_batches, optimizer=lambda ps: make_optimizer(cfg, ps))
        if rank != 0:
            pipe.serve()
            return _all_succeeded(comm, watchdog)
        trainer = trainer_for(pipe, make_optimizer(cfg, pipe.parameters()), pipe, progress=progress, seed=seed)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                if bn:  # the stages' batch norm is out of the Trainer's sight: the loader it would build, merging
                    train = DataLoader(data.train, batch, transform=transform, seed=seed, merge_last=True)
                    trainer.fit(train, val=data.val, test=data.test, epochs=epochs)
                else:
                    trainer.fit(
                        data.train, val=data.val, test=data.test, epochs=epochs, batch_size=batch, transform=transform
                    )
            history, evaluator = trainer.history, trainer
            final: dict[str, Any] = evaluate_splits(evaluator, data)
            model.load_state_dict(pipe.state_dict())  # gather every stage into the plain model
        finally:
            pipe.close()
        comm_note = f"stages {pipe.layers_per_stage} layers, {pipe.bytes_sent / 1e6:.1f} MB sent by rank 0"
    train_seconds = time.perf_counter() - t_fit
    _all_succeeded(comm, watchdog)  # rank 0 writes a finished-looking folder only when no rank failed
    if rank != 0:
        return 0
    if mode != "pipeline":
        final = evaluate_splits(evaluator, data)
    final["epochs"] = len(history.get("train_loss", []))
    final["train_seconds"] = train_seconds
    final["world_size"] = size
    finish_run(cfg, run_dir, data, final_model, history, final, title)
    if ckpt is not None:
        ckpt.unlink(missing_ok=True)  # the run is complete: model.npz is its result
    say(format_table(final, time.perf_counter() - t_start, metric))
    if comm_note:
        say(f"--distributed {mode}: {comm_note}")
    say(tr("run folder: {0}", run_dir))
    return 0


def _resume_sync(trainer: Any, path: Any, size: int) -> None:
    """Every rank restores rank 0's checkpoint (the same weights, optimizer, schedule, RNG and
    epoch on every rank, as the synchronous run keeps them)."""
    from ..errors import RunFolderError
    from ..serialization import load
    from ..train import CHECKPOINT_KIND

    state = load(path, kind=CHECKPOINT_KIND)
    saved = (state.get("run") or {}).get("world_size")
    if saved is not None and int(saved) != size:
        raise RunFolderError(
            tr(
                "--resume: the run was trained on {0} ranks, this launch has {1}; resume it with mpiexec -n {0}",
                saved,
                size,
            )
        )
    trainer.load_state_dict(state)


def _all_succeeded(comm: Any, watchdog: Any = None) -> int:
    """Every rank checks in here once its part of the run succeeded.  A rank that failed
    aborts instead (comm.guard), which ends the ranks waiting here: rank 0 never writes
    metrics.json and model.npz for a run one of whose workers failed.  The watchdog stops
    here on every rank together (the ranks that return now stop beating)."""
    comm.allreduce(1)
    if watchdog is not None:
        watchdog.stop()
    return 0


def _where_to_resume(run_dir: Any, ckpt: Any, epoch: int, mode: str, size: int) -> str:
    """Rank 0's last words after a peer stopped: the folder, its last good checkpoint, what to do."""
    if ckpt is None or not ckpt.is_file():
        return tr("run folder {0} marked failed, no checkpoint yet (no epoch ended): start the run again", run_dir)
    if mode == "sync":
        return tr(
            "run folder {0} marked failed; last good checkpoint {1} (end of epoch {2}): resume with "
            "mpiexec -n {3} kisonet train --resume {0}",
            run_dir, ckpt, epoch, size,
        )  # fmt: skip
    return tr(
        "run folder {0} marked failed; last good checkpoint {1} (end of epoch {2}) holds rank 0's weights "
        "(--distributed {3} runs do not resume: start again)",
        run_dir, ckpt, epoch, mode,
    )  # fmt: skip
