"""Shared helpers of the benchmark suite: interleaved timing, the GEMM rate, results.

Timing protocol (every comparison in the suite): warm each contender up, then
alternate them (A B A B ...) ``repeats`` times, each repeat timing ``n`` steps,
and compare medians.  Interleaving spreads the load of a shared machine evenly
over the contenders, the median drops the repeats hit by a burst of it.

Two clocks: wall time (``time.perf_counter``, the default: what a user waits
for) and process CPU time (``time.process_time``, ``--clock cpu``: less
sensitive to other processes, but with several BLAS threads it adds up their
time, spinning included).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def set_clock(name: str) -> None:
    CLOCK[0] = CLOCKS[name]


def rate(step: Callable[[], Any], n: int) -> float:
    """Steps per second over ``n`` calls of ``step``."""
    clock = CLOCK[0]
    t0 = clock()
    for _ in range(n):
        step()
    dt = clock() - t0
    return n / max(dt, 1e-9)


def interleave(steps: dict[str, Callable[[], Any]], repeats: int, n: int, warmup: int = 2) -> dict[str, float]:
    """Median steps/s of each contender, timed A B C A B C ... (see the module docstring)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    rates: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(repeats):
        for k, step in steps.items():
            rates[k].append(rate(step, n))
    return {k: statistics.median(v) for k, v in rates.items()}


def gemm_rate(m: int = 512, k: int = 784, n: int = 128, repeats: int = 30, dtype=np.float32) -> float:
    """Measured NumPy (OpenBLAS) GEMM rate in FLOP/s for an (m, k) @ (k, n) product
    (the best of ``repeats``: the machine's attainable rate, not its average)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    best = float("inf")
    clock = CLOCK[0]
    for _ in range(3):
        np.matmul(a, b, out=out)
    for _ in range(repeats):
        t0 = clock()
        for _ in range(5):
            np.matmul(a, b, out=out)
        best = min(best, (clock() - t0) / 5)
    return 2.0 * m * k * n / best


@dataclass
class Row:
    """One line of the results table."""

    section: str
    name: str
    kisonet: float | None = None  # steps (or items) per second
    torch: float | None = None
    textbook: float | None = None
    unit: str = "steps/s"
    bar: float | None = None  # required kisonet/torch ratio
    gemm_fraction: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.kisonet is None or not self.torch:
            return None
        return self.kisonet / self.torch

    def dump(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def describe_env(threads: int) -> dict[str, Any]:
    """Machine, library versions, BLAS kernel and threads: printed with every table."""
    import platform

    from threadpoolctl import threadpool_info

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = [
        f"{i.get('internal_api')} {i.get('version')} "
        f"({i.get('architecture', '?')} kernel, {i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "threads": threads,
        "clock": "cpu" if CLOCK[0] is time.process_time else "wall",
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def set_threads(n: int, torch: bool = True) -> None:
    """``n`` BLAS threads for kisonet and (unless ``torch=False``: a process measuring
    kisonet's memory must not even import it) for torch."""
    import kisonet as kn

    kn.set_num_threads(n)
    if torch:
        try:
            import torch as _torch

            _torch.set_num_threads(n)
        except ImportError:
            pass


def peak_rss() -> int:
    """Peak resident set size of this process in bytes (VmHWM: unlike ``ru_maxrss``, it
    is not inherited from the parent across fork + exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def fmt_rate(v: float | None, unit: str = "steps/s") -> str:
    if v is None:
        return "-"
    if unit == "steps/s":
        return f"{1e3 / v:.2f} ms"
    return f"{v:,.0f} {unit}"


def save_json(path: str, payload: Any) -> None:
    with open(path, "w") as f:
        json.dump(payload, f, indent=1, default=float)
