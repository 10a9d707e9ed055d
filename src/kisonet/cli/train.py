"""``kisonet train``: train a model on a dataset and write a run folder.

With no options: an MLP (256-128, ReLU, Adam 0.001, batch 32, 30 epochs) on the
embedded ``digits`` set, inputs standardised per feature, 10% of the training
part held out for validation.  Reaches about 98% test accuracy in a few seconds.

The pieces (:func:`prepare_data`, :func:`make_optimizer`, :func:`make_scheduler`,
:func:`train_from_config`) are importable, so later commands reuse train's
option set and its loop: ``options.add_options(parser, options.TRAIN_OPTIONS)``
then ``train_from_config(config)``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import i18n
from . import options as O  # noqa: N812
from .options import UsageError

HELP = "train a model and write a run folder (config.json, history.csv, metrics.json, model.npz, curves.png)"

STANDARDIZE_EPS = 0.1  # std floor for per-feature standardisation: near-constant border pixels stay O(1)


CHECKPOINT = "checkpoint.npz"  # the run's last good state, rewritten after every epoch

#: Options of ``kisonet train`` itself (the commands built on train's loop do not take them).
RUN_CONTROL_OPTIONS: list[O.Option] = [
    O.Option(
        "resume",
        None,
        O.text(),
        "continue the interrupted run in RUN_DIR from its checkpoint.npz, with the options of its "
        "config.json: the result equals that of an uninterrupted run",
        "RUN_DIR",
        config_key=False,
    ),
    O.Option(
        "detect-anomaly",
        False,
        O.boolean,
        "on a NaN/Inf gradient, name the op that produced it and where it was created (slower)",
        switch=True,
    ),
]
#: Options that may accompany --resume: they do not change a single number of the run.
RESUME_COMPATIBLE = ("progress", "threads", "detect-anomaly", "rank-timeout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    O.add_options(parser, O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "resume", None) is not None:
        return resume_run(args)
    config, _ = O.resolve(args, O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS, getattr(args, "config", None))
    return train_from_config(config)


def resume_run(args: argparse.Namespace) -> int:
    """``kisonet train --resume RUN_DIR``: the saved config, the saved state, the same result."""
    from .. import runs
    from ..errors import KisonetIOError

    run_dir = Path(O.text(allow_none=False)(args.resume, "--resume"))
    given = vars(args)
    changed = [
        o.flag
        for o in O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS
        if o.dest in given and o.name not in ("resume", "overwrite", *RESUME_COMPATIBLE)
    ]
    if changed:
        raise UsageError(
            f"--resume continues the run with the options saved in its config.json; drop {', '.join(changed)} "
            "(to change them, start a new run)"
        )
    if not run_dir.is_dir():
        raise UsageError(f"--resume: {str(run_dir)!r} is not a run folder")
    if not (run_dir / CHECKPOINT).is_file():
        if (run_dir / runs.METRICS).is_file():
            raise UsageError(f"--resume: the run in {str(run_dir)!r} already finished (metrics.json is written)")
        raise UsageError(
            f"--resume: {str(run_dir)!r} has no {CHECKPOINT} (the run stopped before its first epoch ended, "
            "or it is not a `kisonet train` run folder); start the run again"
        )
    # config.json is validated like a --config file: unknown keys and bad values are named
    if not (run_dir / runs.CONFIG).is_file():
        raise UsageError(f"--resume: {str(run_dir / runs.CONFIG)!r} not found (is {str(run_dir)!r} a run folder?)")
    try:
        config, _ = O.resolve(argparse.Namespace(), O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS, str(run_dir / runs.CONFIG))
    except UsageError as e:
        raise UsageError(f"--resume: {e}") from None
    except KisonetIOError as e:
        raise UsageError(f"--resume: {e}") from None
    for opt in O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS:
        if opt.config_key and opt.name in RESUME_COMPATIBLE and opt.dest in given:
            config[opt.name] = opt.parse(given[opt.dest], opt.flag)
    if config.get("distributed", "none") not in ("none", "sync"):
        raise UsageError(
            f"--resume: {str(run_dir)!r} is a --distributed {config['distributed']} run; only single-process and "
            "--distributed sync runs can be resumed"
        )
    config["out"] = str(run_dir)
    # before the folder is touched: the checkpoint must load and belong to these options
    import kisonet as kn

    from ..errors import KisonetError
    from ..train import CHECKPOINT_KIND

    try:
        state = kn.load(run_dir / CHECKPOINT, kind=CHECKPOINT_KIND)
        runs.check_resume(run_dir, state.get("run") if isinstance(state, dict) else None, finalize_config(config))
    except KisonetError as e:
        msg = str(e)
        raise UsageError(msg if msg.startswith("--resume") else f"--resume: {msg}") from None
    return train_from_config(config, resume=run_dir / CHECKPOINT)


# --- resolution of option values that depend on each other ---------------------------


def finalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Fill the optimizer-dependent defaults (lr, momentum) and check option combinations."""
    from ..errors import KisonetValueError
    from ..optim.registry import check_momentum

    cfg = dict(config)
    opt = cfg["optimizer"]
    if cfg.get("lr") is None:
        cfg["lr"] = O.DEFAULT_LR[opt]
    try:
        cfg["momentum"] = check_momentum(opt, cfg.get("momentum"))
    except KisonetValueError as e:
        raise UsageError(f"--momentum: {e}") from None
    placement = cfg.get("eps-placement", "outside")
    if placement != "outside" and opt not in O.EPS_OPTIMIZERS[placement]:
        raise UsageError(f"--eps-placement {placement}: applies to {', '.join(O.EPS_OPTIMIZERS[placement])}, not {opt}")
    if cfg.get("eps") is not None and opt not in ("adagrad", "rmsprop", "adadelta", "adam", "adamw", "adabelief"):
        raise UsageError(f"--eps: the {opt} optimizer has no eps; use it with an adaptive optimizer (adam, ...)")
    if cfg.get("early-stopping-criterion", "patience") != "patience" and not cfg.get("early-stopping", 0):
        raise UsageError("--early-stopping-criterion: set --early-stopping N (the number of increases) too")
    if cfg.get("early-stopping", 0) and not cfg.get("val-split", 0) > 0:
        raise UsageError("--early-stopping: needs a validation set; set --val-split above 0 (e.g. 0.1)")
    return cfg


# --- data -------------------------------------------------------------------------------


@dataclass
class PreparedData:
    train: tuple[Any, Any]
    val: tuple[Any, Any] | None
    test: tuple[Any, Any]
    n_outputs: int
    input_shape: tuple[int, ...]
    task: str
    standardizer: Any
    description: str
    input_range: dict[str, float] | None = None  # raw training inputs' min and max, recorded in model.npz


def prepare_data(config: dict[str, Any]) -> PreparedData:
    """Load ``--dataset``, hold out ``--val-split``, standardise with training statistics."""
    from .. import data as kd
    from ..errors import DataError, KisonetValueError

    name = config["dataset"]
    names = list(kd.DATASET_NAMES)
    key = str(name).strip().lower().replace("_", "-")
    if key not in names:
        raise UsageError(f"--dataset: unknown dataset {name!r}{O.closest(key, names)}; choose from: {', '.join(names)}")
    try:
        bundle = kd.load_dataset(key, data_dir=config.get("data-dir"), seed=config["seed"])
    except DataError as e:
        raise UsageError(f"--dataset {key}: {e}".replace("\n", " ")) from None
    except KisonetValueError as e:
        raise UsageError(f"--dataset {key}: {e}") from None
    (Xtr, ytr), test, val = bundle.train, bundle.test, bundle.val
    frac = float(config["val-split"])
    if frac > 0 and val is None:
        if round(len(Xtr) * frac) < 1 or round(len(Xtr) * (1 - frac)) < 1:
            raise UsageError(f"--val-split: {frac} of {len(Xtr)} training samples leaves an empty split")
        (Xtr, ytr), val = kd.split_train_val(Xtr, ytr, frac, seed=config["seed"])
    elif frac == 0:
        val = None
    from ..runs import input_range

    raw_range = input_range(Xtr)
    _check_augment(config, Xtr)
    std = None
    if config.get("standardize", True):
        std = kd.Standardizer(axis=0, eps=STANDARDIZE_EPS).fit(Xtr)
        Xtr = std.transform(Xtr)
        val = None if val is None else (std.transform(val[0]), val[1])
        test = (std.transform(test[0]), test[1])
    if bundle.task == "classification":
        n_out = int(bundle.n_classes)
    else:
        n_out = 1 if ytr.ndim == 1 else int(ytr.shape[1])
    return PreparedData(
        (Xtr, ytr), val, test, n_out, tuple(bundle.input_shape), bundle.task, std, bundle.description, raw_range
    )


def _check_augment(config: dict[str, Any], X: Any) -> None:
    """Refuse an ``--augment`` preset that does not fit the dataset's samples now, with the
    options, rather than at the first training batch."""
    name = config.get("augment", "none")
    if name in (None, "none") or len(X) == 0:
        return
    import numpy as np

    from ..data import transforms
    from ..errors import KisonetError
    from ..random import get_rng_state, set_rng_state

    state = get_rng_state()  # the trial draws random numbers; the run's stream must not shift
    try:
        with np.errstate(all="ignore"):
            transforms.preset(name)(np.asarray(X[:2], dtype=np.float32))
    except (KisonetError, ValueError, IndexError, TypeError) as e:
        raise UsageError(
            f"--augment {name}: does not fit {config['dataset']}'s samples of shape {tuple(X.shape[1:])} ({e})"
        ) from None
    finally:
        set_rng_state(state)


# --- optimisation -----------------------------------------------------------------------


def make_optimizer(config: dict[str, Any], params: Any) -> Any:
    """The ``--optimizer`` with ``--lr``, ``--momentum``, ``--weight-decay``, ``--eps`` and ``--eps-placement``
    (:data:`kisonet.optim.OPTIMIZERS`)."""
    from ..optim import make_optimizer as make

    options: dict[str, Any] = {}
    # configs saved before --eps existed resolve to the optimizer's own defaults
    if config.get("eps") is not None:
        options["eps"] = config["eps"]
    if config.get("eps-placement", "outside") != "outside":
        options["eps_placement"] = config["eps-placement"]
    return make(
        config["optimizer"],
        params,
        config["lr"],
        momentum=config["momentum"],
        weight_decay=config["weight-decay"],
        **options,
    )


def make_scheduler(config: dict[str, Any], optimizer: Any) -> Any:
    """The ``--schedule``, stepped once per epoch (its numbers count epochs)."""
    from ..errors import KisonetValueError
    from ..optim.lr_scheduler import from_spec

    try:
        return from_spec(config["schedule"], optimizer, int(config["epochs"]))
    except KisonetValueError as e:
        raise UsageError(f"--schedule: {e}") from None


def _augmenter(config: dict[str, Any], std: Any) -> Callable | None:
    """``--augment``: the preset on raw [0, 1] images, then the same standardisation as the data."""
    name = config["augment"]
    if name == "none":
        return None
    from ..data import transforms

    aug = transforms.preset(name)
    if std is None:
        return aug
    # The loader hands over standardised batches; the presets expect raw pixels
    # (zero background for the affine fill), so undo, augment, redo.
    return lambda xb: std.transform(aug(std.inverse_transform(xb)))


# --- reporting --------------------------------------------------------------------------


def format_table(final: dict[str, float], seconds: float, metric: str) -> str:
    """The closing table: one row per split with loss and the main metric (in the language
    in force; columns line up in a terminal with wide characters too)."""
    _ = i18n.gettext
    rows = [(_("split"), _("loss"), _(metric))]
    for split in ("train", "val", "test"):
        if f"{split}_loss" in final:
            loss = final[f"{split}_loss"]
            val = final.get(f"{split}_{metric}")
            shown = "" if val is None else (f"{100 * val:.2f}%" if metric == "accuracy" else f"{val:.4f}")
            rows.append((_(split), f"{loss:.4f}", shown))
    widths = [max(i18n.text_width(r[i]) for r in rows) for i in range(3)]
    lines = [
        "  ".join(
            i18n.ljust(c, w) if i == 0 else i18n.rjust(c, w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{_('time')} {seconds:.1f} s")
    return "\n".join(lines)


def format_grad_norms(log: Any, history: dict[str, list[float]]) -> str:
    """``--grad-norms``: per layer, ||dE/dW_l|| at the first step and averaged over the last epoch."""
    last = [_last(history, f"grad_norm_l{i + 1}") for i in range(len(log.names))]
    lines = ["gradient norm ||dE/dW_l||  (layer 1 = next to the input)", "layer  at step 1   last epoch (mean)"]
    for i, (first, end) in enumerate(zip(log.first_step or [], last, strict=False)):
        lines.append(f"{i + 1:5d}  {first:9.2e}   {float('nan') if end is None else end:9.2e}")
    if log.first_step and log.first_step[-1] > 0:
        ratio = log.first_step[0] / log.first_step[-1]
        lines.append(f"first / last layer at step 1: {ratio:.1e}")
    return "\n".join(lines)


def _last(history: dict[str, list[float]], key: str) -> float | None:
    vals = history.get(key)
    return float(vals[-1]) if vals else None


def _model_config(config: dict[str, Any], data: PreparedData) -> dict[str, Any]:
    return {
        "spec": config["model"],
        "input_shape": list(data.input_shape),
        "n_classes": data.n_outputs,
        "activation": config["activation"],
        "init": config["init"],
        "dropout": config["dropout"],
        "batch_norm": config["batch-norm"],
        "dropout_scaling": config.get("dropout-scaling", "inverted"),
        "bn_inference": config.get("bn-inference", "running"),
        "task": data.task,
    }


def train_from_config(
    config: dict[str, Any], echo: Callable[[str], None] | None = None, resume: str | Path | None = None
) -> int:
    """Run ``kisonet train`` for a resolved config; returns the exit code.

    ``resume`` is a checkpoint written by an interrupted run (``config`` is then that
    run's saved config): training continues from it exactly.

    ``--threads`` limits BLAS only for the duration of the run (the caller's
    setting comes back afterwards, which matters when ``main`` runs in-process).
    """
    config = finalize_config(config)
    if not config.get("threads"):
        return _train(config, echo, resume)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(config["threads"]), user_api="blas"):
        return _train(config, echo, resume)


def prepare_data_and_model(config: dict[str, Any]) -> tuple[Any, Any]:
    """The run's data and its freshly initialised model, both fixed by ``config['seed']``
    (the initial weights depend on the seed only, not on how much randomness the data used)."""
    import kisonet as kn

    from ..errors import KisonetValueError, ShapeError
    from ..models import build_model

    kn.manual_seed(int(config["seed"]))
    data = prepare_data(config)
    kn.manual_seed(int(config["seed"]))
    try:
        model = build_model(
            config["model"],
            data.input_shape,
            data.n_outputs,
            activation=config["activation"],
            init=config["init"],
            dropout=config["dropout"],
            batch_norm=config["batch-norm"],
        )
    except ShapeError as e:
        raise UsageError(f"--model {config['model']}: {e} (dataset {config['dataset']})") from None
    except KisonetValueError as e:
        raise UsageError(f"--model: {e}") from None
    apply_notes_forms(config, model)
    return data, model


def apply_notes_forms(config: dict[str, Any], model: Any) -> None:
    """``--dropout-scaling`` and ``--bn-inference`` on every layer they concern (docs/notes-forms.md)."""
    from ..nn import set_batch_norm_inference, set_dropout_scaling

    scaling = config.get("dropout-scaling", "inverted")
    if set_dropout_scaling(model, scaling) == 0 and scaling != "inverted":
        raise UsageError(f"--dropout-scaling {scaling}: the model has no dropout; add --dropout P")
    mode = config.get("bn-inference", "running")
    if set_batch_norm_inference(model, mode) == 0 and mode != "running":
        raise UsageError(f"--bn-inference {mode}: the model has no batch norm; add --batch-norm")


def make_early_stopping(config: dict[str, Any]) -> Any:
    """``--early-stopping N`` on val_loss, restoring the best weights; ``--early-stopping-criterion``
    chooses patience or the notes' N consecutive increases."""
    from ..train import EarlyStopping

    return EarlyStopping(
        monitor="val_loss",
        patience=int(config["early-stopping"]),
        restore_best=True,
        criterion=config.get("early-stopping-criterion", "patience"),
    )


def make_regularizer(config: dict[str, Any]) -> Any:
    """The ``--l1`` penalty added to the loss (``--l1-half``: Keio lecture 4's lambda/2), or None."""
    if config["l1"] > 0:
        from ..regularizers import L1

        return L1(config["l1"], half=bool(config.get("l1-half", False)))
    if config.get("l1-half"):
        raise UsageError("--l1-half: halves the --l1 penalty; set --l1 LAMBDA above 0")
    return None


def _train(config: dict[str, Any], echo: Callable[[str], None] | None, resume: str | Path | None = None) -> int:
    echo = echo or (lambda s: print(s, flush=True))
    if config.get("distributed", "none") != "none":  # mpiexec -n N kisonet train --distributed MODE
        from ..distributed.cli import train_distributed

        return train_distributed(config, echo, resume=resume)
    t_start = time.perf_counter()

    from .. import runs

    overwrite = bool(config.get("overwrite")) and resume is None
    # refuse a folder holding another run before loading any data (nothing is touched)
    if config.get("out") is not None and resume is None and not overwrite and runs.holds_run(config["out"]):
        runs.RunFolder.open(config["out"], "kisonet train")  # raises, naming the folder's status
    data, model = prepare_data_and_model(config)
    folder = runs.RunFolder.open(config.get("out"), "kisonet train", overwrite=overwrite, resume=resume is not None)
    with folder:
        return _train_in(folder, config, echo, resume, data, model, t_start)


def _train_in(
    folder: Any,
    config: dict[str, Any],
    echo: Callable[[str], None],
    resume: str | Path | None,
    data: PreparedData,
    model: Any,
    t_start: float,
) -> int:
    """The run itself, in the locked run folder ``folder`` (whose status it keeps)."""
    import numpy as np

    import kisonet as kn

    from .. import runs
    from ..errors import KisonetError, NumericalError
    from ..train import AFTER_HISTORY, CHECKPOINT_KIND, GracefulInterrupt, LambdaCallback, Trainer

    optimizer = make_optimizer(config, model.parameters())
    scheduler = make_scheduler(config, optimizer)
    regularizer = make_regularizer(config)
    callbacks = []
    grad_norms = None
    if config.get("grad-norms"):
        from ..train import LayerGradNorms

        grad_norms = LayerGradNorms()
        callbacks.append(grad_norms)
    if config["early-stopping"]:
        callbacks.append(make_early_stopping(config))
    classification = data.task == "classification"
    metric = "accuracy" if classification else "rmse"
    run_dir = folder.path
    config = {**config, "out": str(run_dir)}
    if resume is None:
        runs.write_config(run_dir, config)
    # the checkpoint records the options it belongs to: --resume refuses an edited config.json
    run_record = {"options_digest": runs.options_digest(config), "options": runs.run_options(config)}
    # history.csv is rewritten (atomically) after every epoch: a long run can be watched or killed
    callbacks.append(
        LambdaCallback(order=AFTER_HISTORY, on_epoch_end=lambda t, e, logs: runs.write_history(run_dir, t.history))
    )
    # curves.png too: every epoch that lasted 4x the last drawing or more (drawing takes at most a
    # quarter of the time: every epoch on real data); the end of the run draws it once more below
    from ..viz import LivePlot

    title = i18n.gettext("{model} on {dataset}").format(model=config["model"], dataset=config["dataset"])
    curves = runs.CURVES
    callbacks.append(
        LivePlot(("loss", metric), path=run_dir / curves, display=False, max_overhead=0.25, final=False, title=title)
    )
    # The last good state, rewritten (atomically) after every epoch: --resume continues from it
    # after a kill, and the NaN guard leaves it untouched.
    ckpt_path = run_dir / CHECKPOINT
    last_good = {"at": None}

    def save_checkpoint(t: Any, epoch: int, logs: Any) -> None:
        kn.save({**t.state_dict(), "run": run_record}, ckpt_path, kind=CHECKPOINT_KIND)
        last_good["at"] = f"end of epoch {t.epoch}"

    callbacks.append(LambdaCallback(order=AFTER_HISTORY, on_epoch_end=save_checkpoint))
    trainer = Trainer(
        model,
        "cross_entropy" if classification else "mse",
        optimizer,
        metrics=(metric,),
        callbacks=callbacks,
        scheduler=scheduler,
        regularizer=regularizer,
        progress=bool(config["progress"]),
        seed=int(config["seed"]),
    )
    if resume is not None:
        try:
            state = kn.load(resume, kind=CHECKPOINT_KIND)
            trainer.load_state_dict(state)
        except KisonetError as e:
            msg = str(e)
            raise UsageError(msg if msg.startswith("--resume") else f"--resume: {msg}") from None
        inner = state.get("in_epoch")
        last_good["at"] = f"end of epoch {trainer.epoch}" if inner is None else "saved when the run was interrupted"
        where = f"epoch {trainer.epoch + 1}" + ("" if inner is None else f", step {int(inner['step']) + 1}")
        echo(f"kisonet train: resuming {run_dir} at {where} (global step {trainer.global_step + 1})")
    echo(
        f"kisonet train: {config['model']} on {config['dataset']} ({len(data.train[0])} train, "
        f"{0 if data.val is None else len(data.val[0])} val, {len(data.test[0])} test), "
        f"{config['optimizer']} lr={config['lr']:g}, {config['epochs']} epochs -> {run_dir}"
    )
    t_fit = time.perf_counter()
    failure = None
    # ^C / SIGTERM: finish the step, checkpoint, exit with the resume command (a second one aborts)
    interrupt = GracefulInterrupt(
        trainer, notify=lambda m: print(m.replace("kisonet:", "kisonet train:", 1), file=sys.stderr, flush=True)
    )
    anomaly = kn.detect_anomaly() if config.get("detect-anomaly") else contextlib.nullcontext()
    try:
        # overflow warnings would bury the guard's one clear message; the guard checks every step
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), anomaly, interrupt:
            trainer.fit(
                data.train,
                val=data.val,
                test=data.test,
                epochs=int(config["epochs"]),
                batch_size=int(config["batch-size"]),
                transform=_augmenter(config, data.standardizer),
            )
    except NumericalError as e:
        failure = e
    except OSError as e:  # disk full, folder made read-only, ...: the last checkpoint is intact
        from ..io import describe_os_error

        where = f" (end of epoch {trainer.epoch})" if ckpt_path.is_file() else ""
        keep = f"the last checkpoint{where} is kept; " if ckpt_path.is_file() else ""
        msg = f"writing the run folder failed: {describe_os_error(e)}"
        with contextlib.suppress(OSError):
            folder.interrupt(msg) if ckpt_path.is_file() else folder.fail(msg)
        print(f"kisonet train: error: {msg}", file=sys.stderr)
        print(
            f"kisonet train: {keep}fix it, then continue with: kisonet train --resume {run_dir}"
            if keep
            else "kisonet train: no checkpoint was written yet; fix it, then start the run again",
            file=sys.stderr,
        )
        return 3
    train_seconds = time.perf_counter() - t_fit
    history = trainer.history
    runs.write_history(run_dir, history)
    if failure is not None:
        print(f"kisonet train: error: training stopped by the NaN/Inf guard: {failure}", file=sys.stderr)
        if last_good["at"] is not None and ckpt_path.is_file():
            print(f"kisonet train: last good checkpoint: {ckpt_path} ({last_good['at']})", file=sys.stderr)
        print(
            f"kisonet train: try a smaller --lr (now {config['lr']:g}); partial history in {run_dir}", file=sys.stderr
        )
        folder.fail(f"stopped by the NaN/Inf guard: {failure}".splitlines()[0][:500])
        return 1
    if interrupt.signal is not None and trainer.epoch < int(config["epochs"]) and not trainer.stop_training:
        state = trainer.state_dict()
        kn.save({**state, "run": run_record}, ckpt_path, kind=CHECKPOINT_KIND)
        inner = state.get("in_epoch")
        where = f"end of epoch {trainer.epoch}" if inner is None else f"epoch {trainer.epoch + 1}, step {inner['step']}"
        print(
            f"kisonet train: interrupted by {interrupt.signal} at {where} (global step {trainer.global_step}); "
            f"checkpoint saved to {ckpt_path}",
            file=sys.stderr,
        )
        print(f"kisonet train: continue with: kisonet train --resume {run_dir}", file=sys.stderr)
        folder.interrupt(f"by {interrupt.signal} at {where}; continue with: kisonet train --resume {run_dir}")
        return 128 + int(getattr(signal, interrupt.signal))

    # Final figures: the model as it ends (best weights when early stopping restored them).
    final: dict[str, float] = {}
    for split, pair in (("train", data.train), ("val", data.val), ("test", data.test)):
        if pair is not None:
            for k, v in trainer.evaluate(pair).items():
                final[f"{split}_{k}"] = float(v)
    final["epochs"] = len(history.get("train_loss", []))
    final["train_seconds"] = train_seconds
    runs.write_metrics(run_dir, final)
    runs.save_run_model(
        run_dir,
        model,
        _model_config(config, data),
        None if data.standardizer is None else data.standardizer.state_dict(),
        data_range=data.input_range,
    )
    try:
        runs.save_curves(run_dir, history, ("loss", metric), title=title)
    except ImportError as e:  # matplotlib missing: the run itself is complete
        print(f"kisonet train: warning: no curves.png ({e})", file=sys.stderr)
    ckpt_path.unlink(missing_ok=True)  # the run is complete: model.npz is its result
    echo(format_table(final, time.perf_counter() - t_start, metric))
    if grad_norms is not None:
        echo(format_grad_norms(grad_norms, history))
    echo(f"run folder: {run_dir}")
    return 0
