"""``kisonet runs [DIR ...]``: the run folders under DIR (default ``runs``), one line each.

    kisonet runs                       # every run folder below ./runs
    kisonet runs runs/mlp other/       # several places; a run folder itself works too
    kisonet runs --json                # the same figures as a JSON list

Each line: the folder, its kind (train, semi, ensemble, autoencoder, compress, distributed),
its status (running, interrupted, failed, finished: status.json checked against the folder's
lock, :func:`kisonet.runs.read_status`), the epochs done (of those planned), the number it is
judged by (val_accuracy, ...) at its best and last epoch, and when it started.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .. import i18n
from ..lang import tr
from . import options as O  # noqa: N812
from .options import UsageError

LIST_OPTIONS = [
    O.Option("json", False, O.boolean, "print the figures as JSON", switch=True),
    O.Option("depth", 3, O.number(int, low=0), "how many folder levels below DIR to look", "N"),
]
COLUMNS = ("run folder", "kind", "status", "epochs", "metric", "best", "last", "started")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="*", metavar="DIR", help="folders holding run folders (default: runs)")
    O.add_options(parser, LIST_OPTIONS)


def _shown(value: Any, metric: str | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if metric and metric.endswith("accuracy") else f"{value:.4f}"


def _row(s: dict[str, Any]) -> tuple[str, ...]:
    done, planned = s["epochs"], s["epochs_planned"]
    epochs = "-" if done is None else f"{done}/{planned}" if isinstance(planned, int) else str(done)
    started = (s["started"] or "-").replace("T", " ")[:16]
    status = s["status"] or "unknown"  # a value, like the kind: the same words in every language
    metric = s["metric"]
    return (s["path"], s["kind"], status, epochs, metric or "-", _shown(s["best"], metric), _shown(s["last"], metric),
            started)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from .. import runs

    cfg, _ = O.resolve(args, LIST_OPTIONS)
    dirs = args.dirs or ["runs"]
    for d in dirs:
        if not os.path.lexists(d):
            raise UsageError(tr("DIR: {0!r} does not exist", d))
        if not Path(d).is_dir():
            raise UsageError(tr("DIR: {0!r} is not a folder", d))
    found = [p for d in dirs for p in runs.find_runs(d, cfg["depth"])]
    summaries = [runs.summarize(p) for p in dict.fromkeys(found)]
    if cfg["json"]:
        print(json.dumps(runs.jsonable(summaries)))
        return 0
    if not summaries:
        print(tr("no run folders under {0}", ", ".join(dirs)))
        return 0
    rows = [tuple(i18n.gettext(c) for c in COLUMNS), *(_row(s) for s in summaries)]
    for line in i18n.align(rows, left=(0, 1, 2, 4, 7)):  # numbers line up on the right
        print(line.rstrip(), flush=True)
    return 0
