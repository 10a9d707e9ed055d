"""``kisonet train``: train a model on a dataset and write a run folder.

With no options: an MLP (256-128, ReLU, Adam 0.001, batch 32, 30 epochs) on the
embedded ``digits`` set, inputs standardised per feature, 10% of the training
part held out for validation.  Reaches about 98% test accuracy in a few seconds.

This module only turns argv into a :class:`kisonet.config.RunConfig` and hands it
to :func:`kisonet.runner.run` (or, with ``--distributed``, to
:func:`kisonet.distributed.runner.run_distributed`).  The names other commands
used from here (:func:`prepare_data`, :func:`make_optimizer`, :func:`make_scheduler`,
:func:`train_from_config`, ...) remain, working on the resolved option dicts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import runner as R  # noqa: N812
from ..lang import tr
from ..runner import (  # noqa: F401 - the names this module always offered
    CHECKPOINT,
    STANDARDIZE_EPS,
    PreparedData,
    apply_notes_forms,
    format_grad_norms,
    format_table,
    make_early_stopping,
    make_optimizer,
    make_regularizer,
    make_scheduler,
    prepare_data,
    prepare_data_and_model,
)
from . import options as O  # noqa: N812
from .options import UsageError

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
    O.RUN_FIELD_OPTIONS["detect-anomaly"],
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
            tr(
                (
                    "--resume continues the run with the options saved in its config.json; drop {0} "
                    "(to change them, start a new run)"
                ),
                ", ".join(changed),
            )
        )
    if not run_dir.is_dir():
        raise UsageError(tr("--resume: {0!r} is not a run folder", str(run_dir)))
    if not (run_dir / CHECKPOINT).is_file():
        if (run_dir / runs.METRICS).is_file():
            raise UsageError(tr("--resume: the run in {0!r} already finished (metrics.json is written)", str(run_dir)))
        raise UsageError(
            tr(
                (
                    "--resume: {0!r} has no {1} (the run stopped before its first epoch ended, or it "
                    "is not a `kisonet train` run folder); start the run again"
                ),
                str(run_dir),
                CHECKPOINT,
            )
        )
    # config.json is validated like a --config file: unknown keys and bad values are named
    if not (run_dir / runs.CONFIG).is_file():
        raise UsageError(
            tr("--resume: {0!r} not found (is {1!r} a run folder?)", str(run_dir / runs.CONFIG), str(run_dir))
        )
    try:
        config, _ = O.resolve(argparse.Namespace(), O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS, str(run_dir / runs.CONFIG))
    except UsageError as e:
        raise UsageError(tr("--resume: {0}", e)) from None
    except KisonetIOError as e:
        raise UsageError(tr("--resume: {0}", e)) from None
    for opt in O.TRAIN_OPTIONS + RUN_CONTROL_OPTIONS:
        if opt.config_key and opt.name in RESUME_COMPATIBLE and opt.dest in given:
            config[opt.name] = opt.parse(given[opt.dest], opt.flag)
    if config.get("distributed", "none") not in ("none", "sync"):
        raise UsageError(
            tr(
                (
                    "--resume: {0!r} is a --distributed {1} run; only single-process and "
                    "--distributed sync runs can be resumed"
                ),
                str(run_dir),
                config["distributed"],
            )
        )
    config["out"] = str(run_dir)
    # before the folder is touched: the checkpoint must load and belong to these options
    from ..errors import KisonetError
    from ..serialization import load
    from ..train import CHECKPOINT_KIND

    try:
        state = load(run_dir / CHECKPOINT, kind=CHECKPOINT_KIND)
        runs.check_resume(run_dir, state.get("run") if isinstance(state, dict) else None, finalize_config(config))
    except KisonetError as e:
        msg = str(e)
        raise UsageError(msg if msg.startswith("--resume") else f"--resume: {msg}") from None
    return train_from_config(config, resume=run_dir / CHECKPOINT)


# --- the resolved option dict <-> RunConfig -------------------------------------------------


def finalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Fill the optimizer-dependent defaults (lr, momentum) and check option combinations
    (:meth:`kisonet.config.RunConfig.finalize`); a command's own options are kept."""
    return {**config, **R.as_run_config(config).finalize().to_dict()}


def _augmenter(config: dict[str, Any], std: Any) -> Callable | None:
    return R.make_augmenter(config, std)


def _model_config(config: dict[str, Any], data: PreparedData) -> dict[str, Any]:
    return R.model_config(config, data)


def train_from_config(
    config: dict[str, Any], echo: Callable[[str], None] | None = None, resume: str | Path | None = None
) -> int:
    """Run ``kisonet train`` for a resolved config; returns the exit code (see :func:`kisonet.runner.run`)."""
    cfg = R.as_run_config(config)
    if cfg.distributed != "none":  # mpiexec -n N kisonet train --distributed MODE
        from ..distributed.runner import run_distributed

        return run_distributed(cfg, echo, resume=resume)
    return R.run(cfg, echo, resume)
