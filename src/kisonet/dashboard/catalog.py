"""Read-only view of a runs folder: which run folders it holds, what each one is, its curves.

The dashboard never writes into a run folder: every function here only lists, stats and
reads files, so killing the dashboard can lose nothing.  Files are served only from inside
the runs folder (:func:`safe_file`): the resolved path, symlinks followed, must stay below
the resolved root.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Catalog", "RunInfo", "safe_file", "SERVABLE"]

# Files that mark a folder as a run folder (any kind).
MARKERS = ("config.json", "history.csv", "metrics.json", "results.json", "report.json", "status.json")
# What the dashboard serves from a run folder, and as what.
SERVABLE = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
}
MAX_DEPTH = 4  # runs/experiments/NAME/... is depth 3
MAX_RUNS = 2000
MAX_JSON_BYTES = 4 << 20  # a config/metrics/results file larger than this is not parsed
RUNNING_WINDOW = 120.0  # s: without a status file, a run whose history changed this recently counts as running


@dataclass
class RunInfo:
    """One run folder: its path relative to the root and the files' modification stamp."""

    rel: str
    path: Path
    stamp: tuple[float, ...]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
        return obj if isinstance(obj, dict) else None
    except (OSError, ValueError):
        return None


def _num(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_history(path: Path, max_bytes: int = 8 << 20) -> dict[str, list[float | None]]:
    """history.csv as column -> values (None for an empty or non-finite cell); {} when absent.

    Tolerates a file being rewritten while it is read (a short last line is dropped)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read(max_bytes)
    except OSError:
        return {}
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    head, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    return {h: [_num(r[i]) for r in body] for i, h in enumerate(head)}


def _stat_stamp(path: Path) -> tuple[float, ...]:
    out = []
    for name in ("status.json", "history.csv", "metrics.json", "results.json", "report.json", "config.json"):
        try:
            st = (path / name).stat()
            out.append(st.st_mtime_ns + st.st_size)
        except OSError:
            out.append(0)
    return tuple(out)


def _kind(path: Path, config: dict[str, Any] | None, status: dict[str, Any] | None) -> str:
    if status and isinstance(status.get("command"), str) and status["command"].strip():
        return status["command"].removeprefix("kisonet ").split()[0]  # "kisonet train" -> "train"
    if (path / "results.json").exists():
        return "experiment"
    if (path / "report.json").exists():
        return "compress"
    if (path / "members.csv").exists() or (config and "n-models" in config):
        return "ensemble"
    if (path / "rounds.csv").exists():
        return "semi"
    if (path / "reconstructions.png").exists():
        return "autoencoder"
    if config and isinstance(config.get("command"), str):
        return config["command"]
    return "train"


def _best(history: dict[str, list[float | None]], metrics: dict[str, Any] | None) -> dict[str, float]:
    """Best accuracy (max) and loss (min) per split, from the history, else the final metrics."""
    best: dict[str, float] = {}
    for key, values in history.items():
        vals = [v for v in values if v is not None]
        if not vals or not key.startswith(("train_", "val_", "test_")) or key.endswith("_seconds"):
            continue
        best[key] = min(vals) if "loss" in key or "error" in key else max(vals)
    for key, v in (metrics or {}).items():
        if key in best or key.endswith("_seconds") or not key.startswith(("train_", "val_", "test_")):
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if math.isfinite(float(v)):
                best[key] = float(v)
    return best


class Catalog:
    """The run folders below ``root``, rescanned on demand (cheap: a walk plus a few stats)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def scan(self) -> list[RunInfo]:
        runs: list[RunInfo] = []
        if not self.root.is_dir():
            return runs
        base_depth = len(self.root.parts)
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            p = Path(dirpath)
            depth = len(p.parts) - base_depth
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < MAX_DEPTH else []
            if p != self.root and any(m in filenames for m in MARKERS):
                runs.append(RunInfo(p.relative_to(self.root).as_posix(), p, _stat_stamp(p)))
                if len(runs) >= MAX_RUNS:
                    break
        return runs

    def run_info(self, rel: str, path: Path) -> RunInfo:
        """The current stamp of one known run folder (a few stats, no walk)."""
        return RunInfo(rel, path, _stat_stamp(path))

    def resolve_run(self, rel: str) -> Path | None:
        """The run folder ``rel`` (relative to the root), or None when it is not one (or escapes)."""
        p = safe_path(self.root, rel)
        if p is None or not p.is_dir() or not any((p / m).exists() for m in MARKERS):
            return None
        return p

    def summary(self, run: RunInfo) -> dict[str, Any]:
        """The row of the runs table: kind, status, dataset, model, optimizer, best metrics."""
        p = run.path
        config = _read_json(p / "config.json")
        status = _recorded_status(p)
        metrics = _read_json(p / "metrics.json")
        results = _read_json(p / "results.json")
        report = _read_json(p / "report.json")
        history = read_history(p / "history.csv")
        opts: dict[str, Any] = dict(config or {})
        if report and isinstance(report.get("options"), dict):
            opts = {**report["options"], **opts}
        kind = _kind(p, config, status)
        name = None
        if results:
            name = results.get("experiment")
            opts.setdefault("dataset", results.get("dataset"))
        if report:
            name = report.get("method")
        st = status.get("status") if status else None
        if not isinstance(st, str):
            st = self._guess_status(p, metrics, results, report, history)
        epochs = len(next(iter(history.values()), [])) if history else None
        mtime = max((s for s in run.stamp), default=0) / 1e9 if any(run.stamp) else p.stat().st_mtime
        return {
            "run": run.rel,
            "kind": kind + (f":{name}" if name else ""),
            "status": st,
            "dataset": opts.get("dataset"),
            "model": opts.get("model"),
            "optimizer": opts.get("optimizer"),
            "lr": opts.get("lr"),
            "epochs": epochs,
            "planned_epochs": opts.get("epochs"),
            "best": _best(history, metrics),
            "modified": mtime,
        }

    @staticmethod
    def _guess_status(p: Path, metrics: Any, results: Any, report: Any, history: dict[str, Any]) -> str:
        # Before run folders carried a status file: finished when the final files exist, running
        # when the history moved lately, otherwise stopped early (interrupted or failed).
        if metrics is not None or results is not None or report is not None:
            return "finished"
        try:
            age = time.time() - (p / "history.csv").stat().st_mtime
        except OSError:
            age = time.time() - p.stat().st_mtime
        return "running" if age < RUNNING_WINDOW else "interrupted"

    def _file(self, f: Path, name: str) -> dict[str, Any] | None:
        """A servable file's entry (name, size, modification time in ms), or None."""
        if f.suffix.lower() not in SERVABLE or safe_file(self.root, f.relative_to(self.root).as_posix()) is None:
            return None
        st = f.stat()
        return {"name": name, "size": st.st_size, "mtime": st.st_mtime_ns // 1_000_000}

    def detail(self, path: Path) -> dict[str, Any]:
        """Everything the run page shows: options, history, metrics, figures and other files."""
        files = []
        for f in sorted(path.iterdir()):
            if f.is_dir() and not f.is_symlink():  # one level of sub-folders (compress: models/)
                files.extend(self._file(g, f"{f.name}/{g.name}") for g in sorted(f.iterdir())[:200])
            else:
                files.append(self._file(f, f.name))
        files = [x for x in files if x is not None]
        config = _read_json(path / "config.json") or {}
        report = _read_json(path / "report.json")
        if report and isinstance(report.get("options"), dict):
            config = {**report["options"], **config}
        results = _read_json(path / "results.json")
        summary_md = None
        try:
            if (path / "summary.md").stat().st_size < 1 << 20:
                summary_md = (path / "summary.md").read_text(encoding="utf-8")
        except OSError:
            pass
        return {
            "options": config,
            "metrics": _read_json(path / "metrics.json"),
            "status": _recorded_status(path),
            "history": read_history(path / "history.csv"),
            "files": files,
            "results_keys": sorted(results)[:100] if results else None,
            "summary_md": summary_md,
        }


def _recorded_status(p: Path) -> dict[str, Any] | None:
    """The run's status.json as :func:`kisonet.runs.read_status` reads it (a ``running`` run
    whose writer died is ``failed``); None when the run has no status file."""
    if not (p / "status.json").is_file():
        return None
    from .. import runs

    read_status = getattr(runs, "read_status", None)
    if read_status is None:  # a kisonet before run folders carried a status
        return _read_json(p / "status.json")
    try:
        return read_status(p)
    except (OSError, ValueError):
        return None


def safe_path(root: Path, rel: str) -> Path | None:
    """``root/rel`` resolved (symlinks followed) if it stays inside ``root``; else None.

    Rejects absolute paths, NUL bytes, backslashes and any '..' component before touching the disk."""
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\x00" in rel or "\\" in rel:
        return None
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return None
    try:
        p = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if p != root and root not in p.parents:
        return None
    return p


def safe_file(root: Path, rel: str) -> tuple[Path, str] | None:
    """A regular file inside ``root`` with a servable suffix, and its content type; else None."""
    p = safe_path(root, rel)
    if p is None or not p.is_file():
        return None
    ctype = SERVABLE.get(p.suffix.lower())
    return (p, ctype) if ctype else None
