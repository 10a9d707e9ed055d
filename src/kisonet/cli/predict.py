"""``kisonet predict RUN_DIR input.npy [--out preds.npy] [--proba]``.

Loads ``input.npy`` (allow_pickle=False): a batch shaped like the training
samples, ``(N, *input_shape)``; a single sample ``input_shape`` or flat
``(N, prod(input_shape))`` rows work too.  Applies the run's standardisation and
model; prints one predicted class per line, or writes them to ``--out`` (.npy,
or .csv/.txt for text).  ``--proba`` gives class probabilities instead.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np

from . import options as O  # noqa: N812
from .options import UsageError

HELP = "predict classes (or probabilities) for the samples in an .npy file with a saved run's model"

PREDICT_OPTIONS = [
    O.Option("out", None, O.text(), "write predictions here (.npy, .csv or .txt) instead of printing", "FILE"),
    O.Option("proba", False, O.boolean, "output class probabilities instead of classes", switch=True),
    O.Option("batch-size", 256, O.number(int, low=1), "prediction batch size", "N"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `kisonet train`")
    parser.add_argument("input", metavar="INPUT.npy", help="samples to predict, an .npy array")
    O.add_options(parser, PREDICT_OPTIONS)


def _load_input(path: str, input_shape: tuple[int, ...]) -> np.ndarray:
    try:
        X = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"INPUT: file not found: {path}") from None
    except (ValueError, OSError) as e:
        raise UsageError(f"INPUT: {path} is not a readable .npy array ({e})") from None
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "fiub":
        raise UsageError(f"INPUT: {path} must hold a numeric array, got dtype {getattr(X, 'dtype', type(X))}")
    X = X.astype(np.float32, copy=False)
    if X.shape == input_shape:
        X = X[None]
    elif X.ndim == 2 and X.shape[1] == math.prod(input_shape) and X.shape[1:] != input_shape:
        X = X.reshape(len(X), *input_shape)
    if X.shape[1:] != input_shape:
        raise UsageError(
            f"INPUT: {path} has shape {X.shape}; expected (N, {', '.join(map(str, input_shape))}) "
            f"like the run's training samples"
        )
    return X


def run(args: argparse.Namespace) -> int:
    from ..train import Trainer
    from .evaluate import load_run

    cfg, _ = O.resolve(args, PREDICT_OPTIONS)
    model, mcfg, std, _ = load_run(args.run_dir)
    X = _load_input(args.input, tuple(mcfg["input_shape"]))
    if std is not None:
        X = std.transform(X)
    classification = mcfg.get("task", "classification") == "classification"
    if cfg["proba"] and not classification:
        raise UsageError("--proba: the run's model is a regression model (no class probabilities)")
    trainer = Trainer(
        model,
        "cross_entropy" if classification else "mse",
        None,
        metrics=(),
        progress=False,
        task=mcfg.get("task", "classification"),
    )
    if cfg["proba"]:
        preds = np.asarray(trainer.predict_proba(X, batch_size=cfg["batch-size"]), dtype=np.float32)
    else:
        preds = np.asarray(trainer.predict(X, batch_size=cfg["batch-size"]))
    out = cfg["out"]
    if out is None:
        _print(preds)
        return 0
    from ..io import atomic_write

    path = Path(out)
    if not path.parent.is_dir():
        raise UsageError(f"--out: folder {str(path.parent)!r} does not exist")
    with atomic_write(path, "wb") as f:
        if path.suffix.lower() in (".csv", ".txt"):
            buf = io.StringIO()
            np.savetxt(
                buf, preds.reshape(len(preds), -1), delimiter=",", fmt="%d" if preds.dtype.kind in "iu" else "%.6g"
            )
            f.write(buf.getvalue().encode())
        else:
            np.save(f, preds, allow_pickle=False)
    print(f"wrote {len(preds)} predictions to {path}")
    return 0


def _print(preds: np.ndarray) -> None:
    if preds.ndim == 1:
        print("\n".join(str(v.item()) if preds.dtype.kind in "iu" else f"{v:.6g}" for v in preds))
    else:
        print("\n".join(" ".join(f"{v:.4f}" for v in row) for row in preds.reshape(len(preds), -1)))
