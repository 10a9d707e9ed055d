"""``kisonet evaluate RUN_DIR [--dataset NAME] [--data-dir DIR]``: score a saved run.

Rebuilds the model from ``RUN_DIR/model.npz`` alone (any kind of run folder: ``train``,
``semi``, ``ensemble``, ``autoencoder``, ``compress``) and reports loss and accuracy
(RMSE for regression, reconstruction MSE for an autoencoder) on the test split of
the run's dataset (or of ``--dataset``, which must have the same input shape and
number of classes).  The folder's status is shown when the run did not finish, and a
failed or still-running run is refused.  Inputs holding NaN or Inf are refused;
inputs far outside the training data's range are reported (refused with ``--strict``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import OptionSet, RunConfig, like, option
from ..lang import tr
from . import options as O  # noqa: N812
from .options import UsageError

SPLITS = ("train", "val", "test")


@dataclass
class ReadOptions(OptionSet):
    """Options of the commands that read a run folder's model (evaluate, predict)."""

    # fmt: off
    model: str | None = option(None, O.text(), "the module:function builder, when the run's model came from your own "
                               "code (a run folder never makes kisonet import code by itself)", "SPEC")
    strict: bool = option(False, O.boolean, "refuse inputs far outside the training data's range (default: a "
                          "warning)", switch=True)
    # fmt: on


@dataclass
class EvaluateOptions(OptionSet):
    """``kisonet evaluate``'s options, then :class:`ReadOptions`."""

    # fmt: off
    dataset: str | None = option(None, O.text(), "dataset (default: the run's)", "NAME")
    data_dir: str | None = like(RunConfig, "data_dir", help="folder holding the dataset's files (default: the run's)")
    split: str = option("test", O.choice(SPLITS, "split"), "which split to score", "NAME", choices=SPLITS)
    batch_size: int = like(RunConfig, "batch_size", 256, help="evaluation batch size")
    json: bool = option(False, O.boolean, "print the figures as JSON", switch=True)
    # fmt: on


READ_OPTIONS = O.options_of(ReadOptions)
EVALUATE_OPTIONS = [*O.options_of(EvaluateOptions), *READ_OPTIONS]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by kisonet")
    O.add_options(parser, EVALUATE_OPTIONS)


def open_run(run_dir: str, command: str, model: str | None = None) -> Any:
    """:func:`kisonet.runs.load` for a command: a UsageError for a folder without a usable
    model, a refusal for a failed or running run, a note on stderr for any other
    unfinished status."""
    from .. import runs
    from ..errors import KisonetIOError

    path = Path(run_dir)
    if not path.is_dir():
        raise UsageError(tr("RUN_DIR: {0!r} is not a folder", run_dir))
    status = runs.read_status(path)
    if status.get("status") in ("failed", "running"):
        raise UsageError(
            tr("RUN_DIR: the run in {0!r} is {1}; it has no result", run_dir, runs.describe_status(path, status))
        )
    try:
        loaded = runs.load(path, model=model)
    except KisonetIOError as e:
        raise UsageError(tr("RUN_DIR: {0}", e)) from None
    if status.get("status") not in ("finished", "unknown"):
        print(
            tr("{0}: note: the run in {1} is {2}", command, run_dir, runs.describe_status(path, status)),
            file=sys.stderr,
        )
    return loaded


def load_run(run_dir: str, model: str | None = None):
    """``(model, model_config, standardizer, run_config)`` of a single-model run folder, or a
    UsageError (naming what the folder holds otherwise)."""
    from .. import runs

    loaded = open_run(run_dir, "kisonet", model)
    if loaded.kind not in (runs.MODEL_KIND, runs.COMPRESSED_KIND):
        raise UsageError(
            tr(
                (
                    "RUN_DIR: {0!r} holds an {1} run; this needs a single-model run folder (kisonet "
                    "train); evaluate and predict read every kind"
                ),
                run_dir,
                runs.FOLDER_KINDS[loaded.kind],
            )
        )
    return loaded.model, loaded.model_config, loaded.standardizer, loaded.config


def check_range(X: np.ndarray, loaded: Any, strict: bool, command: str, what: str) -> None:
    """Warn (refuse with --strict) when raw inputs lie far outside the training data's range."""
    from .. import runs

    msg = runs.range_warning(X, loaded.input_range, what)
    if msg is None:
        return
    if strict:
        raise UsageError(tr("--strict: {0}", msg))
    print(tr("{0}: warning: {1}", command, tr("{0} (--strict refuses such inputs)", msg)), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from .. import data as kd
    from .. import runs
    from ..errors import DataError, KisonetValueError
    from ..train import Trainer

    cfg, _ = O.resolve(args, EVALUATE_OPTIONS)
    loaded = open_run(args.run_dir, "kisonet evaluate", cfg["model"])
    mcfg, std, run_cfg = loaded.model_config, loaded.standardizer, loaded.config
    name = cfg["dataset"] or run_cfg.get("dataset")
    if name is None:
        raise UsageError(tr("--dataset: the run folder has no config.json; name the dataset"))
    key = str(name).strip().lower().replace("_", "-")
    names = list(kd.DATASET_NAMES)
    if key not in names:
        raise UsageError(
            tr("--dataset: unknown dataset {0!r}{1}; choose from: {2}", name, O.closest(key, names), ", ".join(names))
        )
    data_dir = cfg["data-dir"] or (run_cfg.get("data-dir") if key == run_cfg.get("dataset") else None)
    try:
        bundle = kd.load_dataset(key, data_dir=data_dir, seed=int(run_cfg.get("seed", 0)))
    except (DataError, KisonetValueError) as e:
        raise UsageError(f"--dataset {key}: {e}".replace("\n", " ")) from None
    if tuple(bundle.input_shape) != loaded.input_shape:
        raise UsageError(
            tr(
                "--dataset {0}: samples of shape {1}, but the model was trained on {2}",
                key,
                tuple(bundle.input_shape),
                loaded.input_shape,
            )
        )
    task = loaded.task
    if task == "classification" and bundle.task == "classification" and bundle.n_classes != mcfg.get("n_classes"):
        raise UsageError(
            tr("--dataset {0}: {1} classes, but the model predicts {2}", key, bundle.n_classes, mcfg["n_classes"])
        )
    split = cfg["split"]
    if split == "test":
        X, y = bundle.test
    elif split == "val":
        if bundle.val is not None:
            X, y = bundle.val
        else:
            frac = float(run_cfg.get("val-split", 0.0))
            if not frac > 0:
                raise UsageError(tr("--split val: the run held out no validation set (--val-split 0)"))
            # the same held-out part as in training: same fraction, same seed
            _, (X, y) = kd.split_train_val(*bundle.train, frac, seed=int(run_cfg.get("seed", 0)))
    else:  # the whole training part (training and validation samples)
        X, y = bundle.train
    try:
        runs.check_inputs(X, f"--dataset {key} ({split} split)")
    except KisonetValueError as e:
        raise UsageError(str(e)) from None
    check_range(X, loaded, cfg["strict"], "kisonet evaluate", f"--dataset {key} ({split} split)")
    if std is not None:
        X = std.transform(X)
    res: dict[str, Any]
    if task == "reconstruction":
        recon = loaded.model.reconstruct(X, batch_size=cfg["batch-size"])
        res = {f"{split}_mse": float(np.mean((recon - X) ** 2))}
        metric, shown = "mse", f"{res[f'{split}_mse']:.5f}"
    elif loaded.kind == runs.ENSEMBLE_KIND:
        metric = "accuracy" if task == "classification" else "rmse"
        res = {f"{split}_{metric}": float(loaded.model.score(X, y))}
        v = res[f"{split}_{metric}"]
        shown = f"{100 * v:.2f}%" if metric == "accuracy" else f"{v:.4f}"
    else:
        classification = task == "classification"
        metric = "accuracy" if classification else "rmse"
        trainer = Trainer(
            loaded.model, "cross_entropy" if classification else "mse", None, metrics=(metric,), progress=False
        )
        res = {f"{split}_{k}": float(v) for k, v in trainer.evaluate((X, y), batch_size=cfg["batch-size"]).items()}
        v = res[f"{split}_{metric}"]
        shown = f"{100 * v:.2f}%" if classification else f"{v:.4f}"
    res["n_samples"] = len(X)
    res["status"] = loaded.status.get("status")
    if cfg["json"]:
        print(json.dumps(res))
    else:
        loss = f"loss {res[f'{split}_loss']:.4f}, " if f"{split}_loss" in res else ""
        print(f"{key} {split} ({len(X)} samples): {loss}{metric} {shown}")
    return 0
