"""``kisonet predict RUN_DIR input.npy|.csv|.json [--out preds.npy|.csv|.json] [--proba]``.

Loads ``input.npy`` (allow_pickle=False, a regular file only; ``.csv``/``.txt``: rows of
comma-separated numbers; ``.json``: an array of numbers, nested like the samples): a batch shaped like
the training samples, ``(N, *input_shape)``; a single sample ``input_shape`` or flat
``(N, prod(input_shape))`` rows work too.  Applies the run's standardisation and
model (any kind of run folder: a single model, an ensemble, a compressed model, an
autoencoder, whose "prediction" is the reconstruction); prints one predicted class
per line, or writes them to ``--out`` by its extension: ``.npy``, ``.csv`` (or
``.txt``) or ``.json``.  ``--proba`` gives class probabilities instead.  Empty
inputs and inputs holding NaN or Inf are refused; inputs far outside the training
data's range are reported (refused with ``--strict``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..lang import N_, tr
from . import options as O  # noqa: N812
from .evaluate import READ_OPTIONS
from .options import UsageError

OUT_FORMATS = (".npy", ".csv", ".txt", ".json")

PREDICT_OPTIONS = [
    O.Option("out", None, O.text(), "write predictions here (.npy, .csv, .txt or .json) instead of printing", "FILE"),
    O.Option("proba", False, O.boolean, "output class probabilities instead of classes", switch=True),
    O.Option("batch-size", 256, O.number(int, low=1), "prediction batch size", "N"),
    *READ_OPTIONS,
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by kisonet")
    parser.add_argument(
        "input", metavar="INPUT.npy", help="samples to predict: an .npy array, a .csv of rows, or a .json array"
    )
    O.add_options(parser, PREDICT_OPTIONS)


def _load_input(path: str, input_shape: tuple[int, ...]) -> np.ndarray:
    from ..errors import KisonetIOError, KisonetValueError
    from ..io import check_regular_file
    from ..runs import check_inputs

    if not Path(path).exists():
        raise UsageError(tr("INPUT: file not found: {0}", path))
    try:
        check_regular_file(path, N_("INPUT: file"))
    except KisonetIOError as e:
        raise UsageError(str(e)) from None
    suffix = Path(path).suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            X = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2, encoding="utf-8")
        elif suffix == ".json":
            with open(path, encoding="utf-8") as f:
                X = np.asarray(json.load(f), dtype=np.float64)
        else:
            _check_npy_size(path)
            X = np.load(path, allow_pickle=False)
    except UsageError:
        raise
    except FileNotFoundError:
        raise UsageError(tr("INPUT: file not found: {0}", path)) from None
    except (ValueError, TypeError, OSError, EOFError, UnicodeDecodeError, RecursionError) as e:
        csv, js = tr("a CSV file of numbers"), tr("a JSON array of numbers")
        what = {".csv": csv, ".txt": csv, ".json": js}.get(suffix) or tr("a readable .npy array")
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "pickle" in reason:
            reason = tr("it holds Python objects (pickled data), which kisonet never loads")
        raise UsageError(tr("INPUT: {0} is not {1} ({2})", path, what, reason)) from None
    if not isinstance(X, np.ndarray):
        if hasattr(X, "close"):
            X.close()
        raise UsageError(tr("INPUT: {0} must hold one .npy array (an .npz archive holds several)", path))
    if X.dtype.kind not in "fiub":
        raise UsageError(tr("INPUT: {0} must hold a numeric array, got dtype {1}", path, X.dtype))
    with np.errstate(over="ignore"):
        X = X.astype(np.float32, copy=False)
    if X.shape == input_shape:
        X = X[None]
    elif X.ndim == 2 and X.shape[1] == math.prod(input_shape) and X.shape[1:] != input_shape:
        X = X.reshape(len(X), *input_shape)
    if X.ndim == 0 or X.shape[1:] != input_shape:
        raise UsageError(
            tr(
                "INPUT: {0} has shape {1}; expected (N, {2}) like the run's training samples",
                path,
                X.shape,
                ", ".join(map(str, input_shape)),
            )
        )
    try:
        check_inputs(X, f"INPUT: {path}")
    except KisonetValueError as e:
        raise UsageError(str(e)) from None
    return X


def _check_npy_size(path: str) -> None:
    """Refuse an .npy file whose header declares more data than the file holds (np.load would
    first try to allocate all of it: a 100-byte file declaring terabytes)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            shape, _, dtype = (
                np.lib.format.read_array_header_1_0(f) if version == (1, 0) else np.lib.format.read_array_header_2_0(f)
            )
            offset = f.tell()
    except (ValueError, OSError, EOFError):
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":
                return  # an .npz archive: refused below, by name
        raise UsageError(
            tr(
                "INPUT: {0} is not an .npy file (no .npy header); predict reads .npy, .csv, .txt or .json by extension",
                path,
            )
        ) from None
    if dtype.hasobject:
        return
    need = math.prod(shape) * dtype.itemsize
    have = os.path.getsize(path) - offset
    if need > have:
        raise UsageError(
            tr(
                "INPUT: {0} declares an array of shape {1} ({2:,} bytes) but holds {3:,} bytes "
                "(truncated or not an .npy file)",
                path,
                shape,
                need,
                have,
            )
        )


def run(args: argparse.Namespace) -> int:
    from .evaluate import check_range, open_run

    cfg, _ = O.resolve(args, PREDICT_OPTIONS)
    out = cfg["out"]
    if out is not None:
        path = Path(out)
        if path.suffix.lower() not in OUT_FORMATS:
            raise UsageError(
                tr("--out: {0!r} must end in one of {1} (the format is chosen by it)", out, ", ".join(OUT_FORMATS))
            )
        if not path.parent.is_dir():
            raise UsageError(tr("--out: folder {0!r} does not exist", str(path.parent)))
        if path.is_dir():
            raise UsageError(tr("--out: {0!r} is a folder; name a file", out))
    loaded = open_run(args.run_dir, "kisonet predict", cfg["model"])
    X = _load_input(args.input, loaded.input_shape)
    check_range(X, loaded, cfg["strict"], "kisonet predict", f"INPUT {args.input}")
    if cfg["proba"] and loaded.task != "classification":
        raise UsageError(tr("--proba: the run's model is a {0} model (no class probabilities)", loaded.task))
    preds = loaded.predict(X, batch_size=cfg["batch-size"], proba=cfg["proba"])
    if cfg["proba"]:
        preds = preds.astype(np.float32)
    if out is None:
        _print(preds)
        return 0
    from ..io import atomic_write

    path = Path(out)
    suffix = path.suffix.lower()
    with atomic_write(path, "wb") as f:
        if suffix in (".csv", ".txt"):
            buf = io.StringIO()
            np.savetxt(
                buf, preds.reshape(len(preds), -1), delimiter=",", fmt="%d" if preds.dtype.kind in "iu" else "%.6g"
            )
            f.write(buf.getvalue().encode())
        elif suffix == ".json":
            f.write((json.dumps(preds.tolist()) + "\n").encode())
        else:
            np.save(f, preds, allow_pickle=False)
    print(f"wrote {len(preds)} predictions to {path}")
    return 0


def _print(preds: np.ndarray) -> None:
    if preds.ndim == 1:
        print("\n".join(str(v.item()) if preds.dtype.kind in "iu" else f"{v:.6g}" for v in preds))
    else:
        print("\n".join(" ".join(f"{v:.4f}" for v in row) for row in preds.reshape(len(preds), -1)))
