"""What redrawing the learning curves after every epoch costs (``kn.viz.LivePlot``, ``curves.png``).

    python benchmarks/bench_liveplot.py [--repeats 5] [--runs 5]

1. Per epoch: the history of a real ``kisonet train`` run (the defaults: an MLP on the embedded
   digits, 30 epochs) is replayed epoch by epoch, and each epoch's drawing plus the atomic
   write of the PNG is timed, for
   - ``full``: a new figure per epoch (``plot_history`` + ``save_figure``: what LivePlot did
     before it kept its figures), and
   - ``live``: ``LivePlot.draw`` as shipped (one figure, only the curves repainted).
   CPU seconds (``time.process_time``) and wall seconds; the first drawing (imports, fonts,
   building the figure) is left out; best of ``--repeats`` replays of the mean over epochs 2-30.
2. The whole command: ``kisonet train`` (defaults) in a fresh process, with curves.png redrawn
   every epoch (``live``) and with LivePlot's epoch hook disabled (``off``: the end of the run
   still draws curves.png once), alternated ``--runs`` times; CPU seconds of the process from
   ``main()`` to its return, medians.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = """
import contextlib, io, sys, tempfile, time
from kisonet.viz import LivePlot
from kisonet.cli import main
if sys.argv[1] == "off":
    LivePlot.on_epoch_end = lambda self, *a: None
import kisonet.runner  # imported before the clock starts
out = tempfile.mkdtemp() + "/run"
c, t = time.process_time(), time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["train", "--out", out]) == 0
print(time.process_time() - c, time.perf_counter() - t, out)
"""


def train_once(variant: str) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", _RUN, variant], capture_output=True, text=True, env=env, check=True)
    cpu, wall, run_dir = out.stdout.split()
    return float(cpu), float(wall), run_dir


def replay(history: dict[str, list[float]], kind: str) -> tuple[float, float]:
    from kisonet.viz import LivePlot, plot_history, save_figure

    epochs = len(next(iter(history.values())))
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "curves.png")
    live = LivePlot(("loss", "accuracy"), path=path, display=False, max_overhead=None, final=False, title="mlp")
    cpu, wall = [], []
    for e in range(1, epochs + 1):
        hist = {k: v[:e] for k, v in history.items()}
        trainer = types.SimpleNamespace(history=hist, epoch=e, max_epochs=epochs)
        c, t = time.process_time(), time.perf_counter()
        if kind == "live":
            live.draw(trainer)
        else:
            save_figure(plot_history(hist, metrics=("loss", "accuracy"), title="mlp"), path)
        if e > 1:
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
    return statistics.mean(cpu), statistics.mean(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    _, _, run_dir = train_once("live")
    with open(os.path.join(run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in rows[0] if k.split("_")[0] in ("train", "val", "test")]
    history = {k: [float(r[k]) for r in rows] for k in keys}
    result: dict[str, object] = {"load_before": os.getloadavg()[0], "epochs": len(rows)}
    for kind in ("full", "live"):
        best = [replay(history, kind) for _ in range(args.repeats)]
        result[f"per_epoch_{kind}_ms"] = {
            "cpu": round(1e3 * min(c for c, _ in best), 2),
            "wall": round(1e3 * min(w for _, w in best), 2),
        }
    runs: dict[str, list[tuple[float, float]]] = {"live": [], "off": []}
    for _ in range(args.runs):
        for variant in runs:
            runs[variant].append(train_once(variant)[:2])
    for variant, values in runs.items():
        result[f"train_{variant}_s"] = {
            "cpu": round(statistics.median(c for c, _ in values), 3),
            "wall": round(statistics.median(w for _, w in values), 3),
        }
    result["train_cpu_ratio_live_over_off"] = round(result["train_live_s"]["cpu"] / result["train_off_s"]["cpu"], 3)
    result["load_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
