"""``kisonet evaluate RUN_DIR [--dataset NAME] [--data-dir DIR]``: score a saved run.

Rebuilds the model from ``RUN_DIR/model.npz`` alone and reports loss and
accuracy on the test split of the run's dataset (or of ``--dataset``, which
must have the same input shape and number of classes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import options as O  # noqa: N812
from .options import UsageError

HELP = "evaluate a saved run's model on a dataset's test split"

EVALUATE_OPTIONS = [
    O.Option("dataset", None, O.text(), "dataset (default: the run's)", "NAME"),
    O.Option("data-dir", None, O.text(), "folder holding the dataset's files (default: the run's)", "DIR"),
    O.Option(
        "split",
        "test",
        O.choice(("train", "val", "test"), "split"),
        "which split to score",
        "NAME",
        choices_doc="train, val, test",
    ),
    O.Option("batch-size", 256, O.number(int, low=1), "evaluation batch size", "N"),
    O.Option("json", False, O.boolean, "print the figures as JSON", switch=True),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `kisonet train`")
    O.add_options(parser, EVALUATE_OPTIONS)


def load_run(run_dir: str):
    """``(model, model_config, standardizer, run_config)`` of a run folder, or a UsageError."""
    from .. import runs
    from ..errors import KisonetIOError

    path = Path(run_dir)
    if not path.is_dir():
        raise UsageError(f"RUN_DIR: {run_dir!r} is not a folder")
    try:
        model, mcfg, std = runs.load_run_model(path)
    except KisonetIOError as e:
        raise UsageError(f"RUN_DIR: {e}") from None
    try:
        config = runs.read_config(path)
    except KisonetIOError:
        config = {}
    return model, mcfg, std, config


def run(args: argparse.Namespace) -> int:
    from .. import data as kd
    from ..errors import DataError, KisonetValueError
    from ..train import Trainer

    cfg, _ = O.resolve(args, EVALUATE_OPTIONS)
    model, mcfg, std, run_cfg = load_run(args.run_dir)
    name = cfg["dataset"] or run_cfg.get("dataset")
    if name is None:
        raise UsageError("--dataset: the run folder has no config.json; name the dataset")
    key = str(name).strip().lower().replace("_", "-")
    names = list(kd.DATASET_NAMES)
    if key not in names:
        raise UsageError(f"--dataset: unknown dataset {name!r}{O.closest(key, names)}; choose from: {', '.join(names)}")
    data_dir = cfg["data-dir"] or (run_cfg.get("data-dir") if key == run_cfg.get("dataset") else None)
    try:
        bundle = kd.load_dataset(key, data_dir=data_dir, seed=int(run_cfg.get("seed", 0)))
    except (DataError, KisonetValueError) as e:
        raise UsageError(f"--dataset {key}: {e}".replace("\n", " ")) from None
    if tuple(bundle.input_shape) != tuple(mcfg["input_shape"]):
        raise UsageError(
            f"--dataset {key}: samples of shape {tuple(bundle.input_shape)}, but the model was trained on "
            f"{tuple(mcfg['input_shape'])}"
        )
    if bundle.task == "classification" and bundle.n_classes != mcfg["n_classes"]:
        raise UsageError(f"--dataset {key}: {bundle.n_classes} classes, but the model predicts {mcfg['n_classes']}")
    split = cfg["split"]
    if split == "test":
        X, y = bundle.test
    elif split == "val":
        if bundle.val is not None:
            X, y = bundle.val
        else:
            frac = float(run_cfg.get("val-split", 0.0))
            if not frac > 0:
                raise UsageError("--split val: the run held out no validation set (--val-split 0)")
            # the same held-out part as in training: same fraction, same seed
            _, (X, y) = kd.split_train_val(*bundle.train, frac, seed=int(run_cfg.get("seed", 0)))
    else:  # the whole training part (training and validation samples)
        X, y = bundle.train
    if std is not None:
        X = std.transform(X)
    classification = mcfg.get("task", "classification") == "classification"
    metric = "accuracy" if classification else "rmse"
    trainer = Trainer(model, "cross_entropy" if classification else "mse", None, metrics=(metric,), progress=False)
    res = {f"{split}_{k}": float(v) for k, v in trainer.evaluate((X, y), batch_size=cfg["batch-size"]).items()}
    res["n_samples"] = len(X)
    if cfg["json"]:
        print(json.dumps(res))
    else:
        shown = f"{100 * res[f'{split}_accuracy']:.2f}%" if classification else f"{res[f'{split}_rmse']:.4f}"
        print(f"{key} {split} ({len(X)} samples): loss {res[f'{split}_loss']:.4f}, {metric} {shown}")
    return 0
