"""Training steps with each framework alone in its own process, timed in alternating bursts.

    python benchmarks/bench_separate.py [--threads 2] [--pairs 15] [--only mlp,simple-cnn]

Why a second protocol next to the in-process interleaving of ``bench_models.py``: with
several threads, the two libraries' thread pools (OpenBLAS's for NumPy, OpenMP's for
torch) both keep spinning for a while after each product, so timing them in one process
makes each one pay for the other's idle threads.  Here every framework gets a worker
process of its own (it imports only its own library).  The parent asks the workers in
turn, A B B A A B ..., to run a burst of steps and report the time, with a pause between
bursts so that the other worker's threads have gone to sleep before a burst starts.
The ratio is taken pair by pair (adjacent bursts see the same machine), and the table
gives the median ratio with its inter-quartile range, and each framework's median ms/step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The section name of these rows in results/*.json (run_all.py renders them by it).
SECTION = "training step, each framework alone in its process"


def worker(framework: str, workload: str, threads: int) -> None:
    """Build one framework's step, then answer "run N" lines with the seconds N steps took."""
    sys.path.insert(0, str(HERE))
    import bench_models

    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import kisonet as kn

        kn.set_num_threads(threads)
    step = bench_models.make_steps(workload, (framework,))[framework]
    for _ in range(10):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line.split()[1])
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        print(time.perf_counter() - t0, flush=True)


def _spawn(framework: str, workload: str, threads: int) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, __file__, "--worker", framework, workload, str(threads)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{framework} worker for {workload} did not start")
    return p


def _burst(p: subprocess.Popen, n: int) -> float:
    p.stdin.write(f"run {n}\n")
    p.stdin.flush()
    return float(p.stdout.readline())


def compare(workload: str, threads: int, pairs: int, burst_s: float = 1.0, pause_s: float = 0.3) -> dict:
    """Median ms/step of kisonet and torch and the median (and quartiles) of their ratio."""
    procs = {fw: _spawn(fw, workload, threads) for fw in ("kisonet", "torch")}
    try:
        # Size a burst to about burst_s on this machine.
        n = {fw: max(3, int(burst_s / max(_burst(p, 3) / 3, 1e-6))) for fw, p in procs.items()}
        ms = {fw: [] for fw in procs}
        ratios = []
        for i in range(pairs):
            order = ("kisonet", "torch") if i % 2 == 0 else ("torch", "kisonet")
            got = {}
            for fw in order:
                time.sleep(pause_s)
                got[fw] = _burst(procs[fw], n[fw]) / n[fw] * 1e3
                ms[fw].append(got[fw])
            ratios.append(got["torch"] / got["kisonet"])  # kisonet steps/s over torch's
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=30)
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {
        "workload": workload,
        "threads": threads,
        "pairs": pairs,
        "kisonet_ms": statistics.median(ms["kisonet"]),
        "torch_ms": statistics.median(ms["torch"]),
        "ratio": statistics.median(ratios),
        "ratio_q1": q[0],
        "ratio_q3": q[2],
        "ratios": ratios,
    }


def run(threads: int, pairs: int = 15, only: list[str] | None = None) -> list[dict]:
    """The three workloads of bench_models.py, as table rows (see run_all.py)."""
    sys.path.insert(0, str(HERE))
    import bench_models
    import common

    rows = []
    for name, (_, bar, title, _) in bench_models.WORKLOADS.items():
        if only and not any(w in name for w in only):
            continue
        r = compare(name, threads, pairs)
        row = common.Row(SECTION, title, 1e3 / r["kisonet_ms"], 1e3 / r["torch_ms"], bar=bar).dump()
        row["ratio"] = r["ratio"]  # the median of the pairwise ratios, not the ratio of the medians
        row["note"] = f"IQR {r['ratio_q1']:.2f}-{r['ratio_q3']:.2f} over {pairs} pairs"
        row["ratios"] = r["ratios"]
        rows.append(row)
        print(
            f"{name:<11} kisonet {r['kisonet_ms']:6.2f} ms  torch {r['torch_ms']:6.2f} ms  "
            f"ratio {r['ratio']:.2f}x (IQR {r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}, bar {bar}x)",
            flush=True,
        )
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args()
    rows = run(args.threads, args.pairs, [w for w in args.only.split(",") if w])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
