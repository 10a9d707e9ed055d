"""Peak memory per framework (one process each) and the no-growth check.

    python benchmarks/bench_memory.py [--steps 200] [--flat-steps 1000] [--threads 2]

Peak RSS: each framework runs the same training workload (bench_models.py's
steps) alone in a fresh subprocess; the worker reports VmHWM (peak
resident set) and the RSS right after building the model and data, so the
table shows both the whole process and the part the training steps add.

Flat RSS: kisonet runs ``--flat-steps`` MLP and SimpleCNN steps, reading the
current RSS (/proc/self/statm) every 50 steps; after a warm-up of 100 steps the
RSS must not grow by more than 2 MB (a leak of one activation per step would
add megabytes per hundred steps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

WORKLOADS = ("mlp", "simple-cnn", "lenet-bn")
FLAT_TOLERANCE = 2 * 2**20


def current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(framework: str, workload: str, steps: int, threads: int, trace: bool) -> dict:
    import bench_models

    common.set_threads(threads, torch=framework == "torch")
    step = bench_models.make_steps(workload, (framework,))[framework]
    base = current_rss()
    samples = []
    for i in range(steps):
        step()
        if trace and i % 50 == 0:
            samples.append((i, current_rss()))
    samples.append((steps, current_rss()))
    peak = common.peak_rss()
    return {"framework": framework, "workload": workload, "peak": peak, "base": base, "samples": samples}


def _spawn(framework: str, workload: str, steps: int, threads: int, trace: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--worker", framework, workload, "--steps", str(steps), "--threads", str(threads)]
    if trace:
        cmd.append("--trace")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(steps: int = 200, flat_steps: int = 1000, threads: int = 2) -> tuple[list[common.Row], list[dict]]:
    rows = []
    for wl in WORKLOADS:
        res = {}
        for fw in ("kisonet", "torch"):
            try:
                res[fw] = _spawn(fw, wl, steps if wl != "lenet-bn" else max(steps // 4, 10), threads)
            except (subprocess.CalledProcessError, KeyError) as e:
                print(f"{fw} {wl}: failed ({e})")
        if "kisonet" not in res:
            continue
        k, t = res["kisonet"], res.get("torch")
        mb = 2**20
        note = f"peak RSS MB (whole process); training adds kisonet {(k['peak'] - k['base']) / mb:.0f} MB"
        if t:
            note += f", torch {(t['peak'] - t['base']) / mb:.0f} MB"
        row = common.Row("memory", f"peak RSS, {wl}", k["peak"] / mb, t and t["peak"] / mb, unit="MB", note=note)
        rows.append(row)
        print(f"{row.name:<28} kisonet {row.kisonet:7.0f} MB  " + (f"torch {row.torch:7.0f} MB  " if t else "") + note)
    flat = []
    for wl in ("mlp", "simple-cnn"):
        r = _spawn("kisonet", wl, flat_steps, threads, trace=True)
        after = [rss for i, rss in r["samples"] if i >= 100]
        growth = max(after) - after[0]
        r["growth"] = growth
        r["steps"] = flat_steps
        r["flat"] = growth <= FLAT_TOLERANCE
        flat.append(r)
        print(
            f"flat RSS, kisonet {wl}, {flat_steps} steps: RSS after warm-up {after[0] / 2**20:.1f} MB, "
            f"max growth {growth / 2**20:.2f} MB -> {'flat' if r['flat'] else 'GROWS'}"
        )
    return rows, flat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--flat-steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"))
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.steps, args.threads, args.trace)))
        return
    run(args.steps, args.flat_steps, args.threads)


if __name__ == "__main__":
    main()
