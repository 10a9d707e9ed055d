"""The dashboard's speed bars: playground training, boundary redraws, an idle server, responsiveness.

    python benchmarks/bench_dashboard.py [--repeats 5] [--idle-seconds 10]

1. Playground training rate: a 2-8-8-2 tanh network (kisonet nn/optim/autograd, one thread) on
   500 training points, batch 10, for SGD, Momentum and Adam: mini-batch steps per second of
   process CPU time (the bar: >= 2,000 on one core) and per wall-clock second (depends on how
   busy the machine is).  Includes the per-epoch evaluation of train and test loss.
2. Boundary redraws: ``Playground.frame()`` (p(class 1) on the 100x100 grid, 16 hidden-unit
   maps, weights, curves) per second (the bar: >= 10).
3. Through the server: a playground session's worker trains and streams frames; frames and
   steps per second as the page receives them, and the latency of /api/runs meanwhile
   (the page stays responsive while it trains).
4. Idle: CPU time used by a ``kisonet dashboard`` process over ``--idle-seconds`` with no page
   open, then with a page's event stream open on a runs folder where nothing changes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def bench_training(repeats: int) -> dict[str, dict[str, float]]:
    from kisonet.playground import Playground, parse_config
    from kisonet.threads import set_num_threads

    set_num_threads(1)
    out = {}
    for opt, lr in (("sgd", 0.1), ("momentum", 0.03), ("adam", 0.01)):
        cfg = {
            "data": {"dataset": "spirals", "n_points": 715, "train_ratio": 0.7},
            "network": {"hidden": [8, 8]},
            "lanes": [{"optimizer": opt, "lr": lr, "batch_size": 10, "activation": "tanh"}],
        }
        pg = Playground(parse_config(cfg))
        assert len(pg.Xtr) == 500
        pg.train(300)
        cpu, wall = [], []
        for _ in range(repeats):
            t, w = time.process_time(), time.perf_counter()
            pg.train(2000)
            cpu.append(2000 / (time.process_time() - t))
            wall.append(2000 / (time.perf_counter() - w))
        out[opt] = {"steps_per_cpu_s": statistics.median(cpu), "steps_per_wall_s": statistics.median(wall)}
    return out


def bench_frames(repeats: int) -> dict[str, float]:
    from kisonet.playground import Playground, parse_config

    pg = Playground(parse_config({"data": {"dataset": "spirals"}}))
    pg.train(500)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(20):
            f = pg.frame()
        rates.append(20 / (time.perf_counter() - t))
    return {"frames_per_s": statistics.median(rates), "frame_bytes": len(json.dumps(f))}


def _start_server(runs: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kisonet", "dashboard", str(runs), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    url = line.split(" at ", 1)[1].split()[0].rstrip("/")
    return proc, url


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_idle(seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        runs = Path(d) / "runs"
        for i in range(20):
            (runs / f"run{i}").mkdir(parents=True)
            (runs / f"run{i}" / "config.json").write_text("{}")
        proc, url = _start_server(runs)
        try:
            urllib.request.urlopen(url + "/api/runs", timeout=10).read()
            time.sleep(1.0)
            c0 = _cpu_seconds(proc.pid)
            time.sleep(seconds)
            no_page = (_cpu_seconds(proc.pid) - c0) / seconds
            stop = threading.Event()

            def listen() -> None:
                with urllib.request.urlopen(url + "/api/events", timeout=seconds + 30) as r:
                    while not stop.is_set():
                        if not r.readline():
                            return

            th = threading.Thread(target=listen, daemon=True)
            th.start()
            time.sleep(1.0)
            c0 = _cpu_seconds(proc.pid)
            time.sleep(seconds)
            with_page = (_cpu_seconds(proc.pid) - c0) / seconds
            stop.set()
        finally:
            proc.terminate()
            proc.wait()
    return {"cpu_fraction_no_page": no_page, "cpu_fraction_page_open": with_page}


def bench_session(seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        runs = Path(d) / "runs"
        runs.mkdir()
        proc, url = _start_server(runs)
        try:
            req = urllib.request.Request(
                url + "/api/play/new", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
            )
            sid = json.loads(urllib.request.urlopen(req, timeout=30).read())["session"]
            frames: list[tuple[float, int]] = []
            stop = threading.Event()

            def listen() -> None:
                with urllib.request.urlopen(f"{url}/api/play/{sid}/stream", timeout=seconds + 30) as r:
                    event = None
                    while not stop.is_set():
                        line = r.readline().decode()
                        if not line:
                            return
                        if line.startswith("event: "):
                            event = line[7:].strip()
                        elif line.startswith("data: ") and event == "frame":
                            f = json.loads(line[6:])
                            frames.append((time.perf_counter(), f["lanes"][0]["step"]))

            th = threading.Thread(target=listen, daemon=True)
            th.start()
            time.sleep(2.0)
            req = urllib.request.Request(
                f"{url}/api/play/{sid}/control", data=b'{"action": "run"}',
                headers={"Content-Type": "application/json"}, method="POST",
            )  # fmt: skip
            urllib.request.urlopen(req, timeout=10).read()
            time.sleep(1.0)
            lat = []
            n0 = len(frames)
            t_end = time.perf_counter() + seconds
            while time.perf_counter() < t_end:
                t = time.perf_counter()
                urllib.request.urlopen(url + "/api/runs", timeout=10).read()
                lat.append(time.perf_counter() - t)
                time.sleep(0.1)
            stop.set()
            window = frames[n0:]
            dt = window[-1][0] - window[0][0]
            return {
                "frames_per_s": (len(window) - 1) / dt,
                "steps_per_s": (window[-1][1] - window[0][1]) / dt,
                "api_runs_latency_ms_median": 1000 * statistics.median(lat),
                "api_runs_latency_ms_max": 1000 * max(lat),
            }
        finally:
            proc.terminate()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    args = ap.parse_args()
    res = {
        "training": bench_training(args.repeats),
        "frames": bench_frames(args.repeats),
        "session": bench_session(8.0),
        "idle": bench_idle(args.idle_seconds),
        "load_average": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
