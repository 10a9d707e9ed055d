"""Run folders: everything a training run leaves behind, written atomically.

A run folder (``kisonet train --out DIR``, default ``runs/<timestamp>``) holds::

    config.json    every resolved option of the run (defaults, config file and flags merged)
    history.csv    one row per epoch: epoch, train_loss, train_accuracy, val_..., test_..., lr
    metrics.json   the final numbers, keyed like the history (test_accuracy, ...) plus train_seconds
    model.npz      kn.save file: the model's state dict, the arguments that rebuild the model,
                   and the input standardisation, so ``evaluate``/``predict`` need only the folder
    curves.png     learning curves (loss and accuracy per epoch, train vs val vs test)

Every file goes through :func:`kisonet.io.atomic_write`: a crash mid-write leaves
the previous file (or none), never half a file.  Floats are written with
``repr`` so that a history read back is bit-identical to the one trained.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, KisonetIOError
from .io import atomic_write

__all__ = [
    "CONFIG",
    "CURVES",
    "HISTORY",
    "METRICS",
    "MODEL",
    "load_model_file",
    "load_run_model",
    "jsonable",
    "make_run_dir",
    "model_from_config",
    "read_config",
    "read_history",
    "read_metrics",
    "save_curves",
    "save_run_model",
    "standardizer_from_state",
    "write_config",
    "write_history",
    "write_metrics",
]

CONFIG, HISTORY, METRICS, MODEL, CURVES = "config.json", "history.csv", "metrics.json", "model.npz", "curves.png"
MODEL_KIND = "kisonet-run-model"


def make_run_dir(out: str | os.PathLike | None = None, root: str | os.PathLike = "runs") -> Path:
    """Create (if needed) and return the run folder: ``out``, or ``root/<YYYYmmdd-HHMMSS>``
    (a ``-2``, ``-3`` ... suffix when two runs start in the same second)."""
    if out is not None:
        path = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(root) / stamp
        k = 2
        while path.exists():
            path = Path(root) / f"{stamp}-{k}"
            k += 1
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise KisonetIOError(f"run folder {str(path)!r} exists and is not a folder") from None
    except OSError as e:
        raise KisonetIOError(f"cannot create run folder {str(path)!r}: {e.strerror}") from None
    return path


def jsonable(value: Any) -> Any:
    """``value`` made JSON-ready, recursively: mappings to dicts with str keys, tuples and
    arrays to lists, NumPy scalars to Python numbers, NaN/Inf to the strings ``'nan'``/``'inf'``,
    paths to str.  What every JSON file of a run goes through."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n"
    with atomic_write(path, "w") as f:
        f.write(text)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise KisonetIOError(f"{str(path)!r} not found (is {str(path.parent)!r} a kisonet run folder?)") from None
    except json.JSONDecodeError as e:
        raise KisonetIOError(f"{str(path)!r} is not valid JSON: {e}") from None


def write_config(run_dir: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / CONFIG
    _write_json(path, dict(config))
    return path


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    return _read_json(Path(run_dir) / CONFIG)


def write_metrics(run_dir: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / METRICS
    _write_json(path, dict(metrics))
    return path


def read_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    return _read_json(Path(run_dir) / METRICS)


def _column_order(keys: Sequence[str]) -> list[str]:
    """train_*, then val_*, then test_*, then the rest (lr, ...), each group in first-seen order."""
    groups: list[list[str]] = [[], [], [], []]
    for k in keys:
        i = 0 if k.startswith("train_") else 1 if k.startswith("val_") else 2 if k.startswith("test_") else 3
        groups[i].append(k)
    return [k for g in groups for k in g]


def write_history(run_dir: str | os.PathLike, history: Mapping[str, Sequence[Any]]) -> Path:
    """``history`` maps a key (``train_loss``, ...) to its per-epoch values; one CSV row per epoch.

    Floats are written with ``repr`` (shortest exact round trip); a key missing for
    an epoch leaves an empty cell.
    """
    keys = _column_order([k for k in history if k != "epoch"])
    n = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        row: list[Any] = [i + 1]
        for k in keys:
            col = history[k]
            if i < len(col) and col[i] is not None:
                v = col[i]
                v = v.item() if isinstance(v, np.generic) else v
                row.append(repr(float(v)) if isinstance(v, float) else v)
            else:
                row.append("")
        w.writerow(row)
    path = Path(run_dir) / HISTORY
    with atomic_write(path, "w") as f:
        f.write(buf.getvalue())
    return path


def read_history(run_dir: str | os.PathLike) -> dict[str, list[float]]:
    """The history written by :func:`write_history`, as ``{key: [float per epoch]}`` (with ``epoch``)."""
    path = Path(run_dir) / HISTORY
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise KisonetIOError(f"{str(path)!r} not found (is {str(path.parent)!r} a kisonet run folder?)") from None
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    out: dict[str, list[float]] = {k: [] for k in header}
    for row in body:
        for k, cell in zip(header, row, strict=False):
            out[k].append(float(cell) if cell != "" else math.nan)
    return out


def save_run_model(
    run_dir: str | os.PathLike,
    model: Any,
    model_config: Mapping[str, Any],
    standardizer: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model.npz``: the state dict plus what rebuilds the model.

    ``model_config`` holds :func:`kisonet.models.build_model`'s arguments (spec,
    input_shape, n_classes, activation, init, dropout, batch_norm);
    ``standardizer`` the input standardisation's ``state_dict()`` (or None).
    """
    from .serialization import save

    obj: dict[str, Any] = {
        "model": model.state_dict(),
        "model_config": jsonable(dict(model_config)),
        "standardizer": None if standardizer is None else dict(standardizer),
    }
    if extra:
        obj["extra"] = dict(extra)
    path = Path(run_dir) / MODEL
    save(obj, path, kind=MODEL_KIND)
    return path


def model_from_config(cfg: Mapping[str, Any]) -> Any:
    """A fresh (untrained) model from a saved ``model_config``: :func:`kisonet.models.build_model`
    with its arguments (``spec``, ``input_shape``, ``n_classes``, optional ``activation``,
    ``init``, ``dropout``, ``batch_norm``)."""
    from .models import build_model

    return build_model(
        cfg["spec"],
        tuple(cfg["input_shape"]),
        int(cfg["n_classes"]),
        activation=cfg.get("activation", "relu"),
        init=cfg.get("init"),
        dropout=float(cfg.get("dropout", 0.0)),
        batch_norm=bool(cfg.get("batch_norm", False)),
    )


def load_model_file(run_dir: str | os.PathLike, kind: str = MODEL_KIND, what: str = "kisonet run folder") -> Any:
    """``kn.load`` of the folder's ``model.npz`` saved as ``kind``; a CheckpointError saying
    the folder may not be a ``what`` when the file is absent."""
    from .serialization import load

    path = Path(run_dir) / MODEL
    if not path.exists():
        if (Path(run_dir) / "checkpoint.npz").exists():  # an interrupted `kisonet train`
            raise CheckpointError(
                f"{str(path)!r} not found: the run in {str(run_dir)!r} was interrupted; "
                f"finish it with `kisonet train --resume {run_dir}`"
            )
        raise CheckpointError(f"{str(path)!r} not found (is {str(run_dir)!r} a {what}?)")
    return load(path, kind=kind)


def standardizer_from_state(state: Mapping[str, Any] | None) -> Any:
    """The :class:`kisonet.data.Standardizer` saved as ``state`` (None when none was saved)."""
    if state is None:
        return None
    from .data import Standardizer

    std = Standardizer()
    std.load_state_dict(state)
    return std


def load_run_model(run_dir: str | os.PathLike) -> tuple[Any, dict[str, Any], Any]:
    """Rebuild the model of a run folder: returns ``(model, model_config, standardizer or None)``,
    the model in eval mode with the trained weights."""
    obj = load_model_file(run_dir)
    cfg = dict(obj["model_config"])
    model = model_from_config(cfg)
    model.load_state_dict(obj["model"])
    model.eval()
    return model, cfg, standardizer_from_state(obj.get("standardizer"))


def save_curves(
    run_dir: str | os.PathLike,
    history: Mapping[str, Sequence[float]],
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Path:
    """Draw the learning curves (``metrics`` vs epoch, train/val/test) to ``curves.png``, atomically."""
    from .viz import plot_history

    path = Path(run_dir) / CURVES
    hist = {k: list(v) for k, v in history.items()}
    present = [m for m in metrics if any(f"{s}_{m}" in hist for s in ("train", "val", "test"))]
    plot_history(hist, metrics=present or ("loss",), title=title, path=path)
    return path
