"""Start-up time: ``import kisonet`` and ``kisonet --help`` against ``import numpy``.

Each figure is the best of N fresh interpreter processes (the least disturbed run); the
ratios are what docs/performance.md quotes. Usage: python benchmarks/bench_startup.py [-n 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

CASES = {
    "import numpy": "import numpy",
    "import kisonet": "import kisonet",
    "kisonet --help": "from kisonet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
}


def best_of(code: str, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="fresh processes per case (best of n)")
    n = ap.parse_args().n
    # Alternate the cases so that a drift of the machine's speed hits all of them alike.
    results = {name: float("inf") for name in CASES}
    for _ in range(n):
        for name, code in CASES.items():
            results[name] = min(results[name], best_of(code, 1))
    base = results["import numpy"]
    for name, t in results.items():
        print(f"{name:16s} {t * 1000:7.1f} ms  {t / base:5.2f}x numpy")


if __name__ == "__main__":
    main()
