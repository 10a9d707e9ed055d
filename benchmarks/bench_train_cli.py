"""Full-epoch time of ``kisonet train`` on mnist-t10k, against the same epoch in torch.

    python benchmarks/bench_train_cli.py [--repeats 3] [--threads 2] [--data-dir /work/shared/data/mnist]

The CLI runs as a subprocess (``kisonet train --dataset mnist-t10k --epochs 1
--optimizer sgd --lr 0.1 --batch-size 100 --no-progress``) and its own
``epoch_seconds`` (history.csv: one epoch of training on the 7,200-image split
plus evaluation of train/val/test metrics) is read back.  The torch column is a
plain loop doing the same work on the same arrays: one shuffled epoch of SGD
steps over 7,200 images, then a no-grad evaluation pass over train, val (800)
and test (2,000).  Runs alternate (kisonet, torch, kisonet, ...); medians.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

DATA_DIR = "/work/shared/data/mnist"
MODELS = {"simple-cnn": "SimpleCNN", "mlp:512,512": "MLP 784-512-512-10"}


def kisonet_epoch(model: str, threads: int, data_dir: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable, "-m", "kisonet", "train", "--dataset", "mnist-t10k", "--data-dir", data_dir,
            "--model", model, "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "100", "--epochs", "1",
            "--threads", str(threads), "--no-progress", "--out", os.path.join(out, "run"),
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        with open(os.path.join(out, "run", "history.csv")) as f:
            return float(next(csv.DictReader(f))["epoch_seconds"])


def torch_epoch(model: str, threads: int, data_dir: str) -> float:
    import torch
    import torch.nn as tnn

    import kisonet as kn

    torch.set_num_threads(threads)
    b = kn.data.load_dataset("mnist-t10k", data_dir=data_dir, download=False)
    (X, y), (Xt, yt) = b.train, b.test
    X, Xv, y, yv = X[:7200], X[7200:], y[:7200], y[7200:]  # the CLI's 10% validation split
    X, Xv, Xt = (torch.from_numpy(np.asarray(a, np.float32).reshape(-1, 1, 28, 28)) for a in (X, Xv, Xt))
    y, yv, yt = (torch.from_numpy(np.asarray(a, np.int64)) for a in (y, yv, yt))
    if model == "simple-cnn":
        net = tnn.Sequential(
            tnn.Conv2d(1, 30, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(4320, 100), tnn.ReLU(), tnn.Linear(100, 10),
        )  # fmt: skip
    else:
        net = tnn.Sequential(
            tnn.Flatten(), tnn.Linear(784, 512), tnn.ReLU(), tnn.Linear(512, 512), tnn.ReLU(), tnn.Linear(512, 10)
        )
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = tnn.CrossEntropyLoss()
    t0 = time.perf_counter()
    perm = torch.randperm(len(X))
    for i in range(0, len(X), 100):
        idx = perm[i : i + 100]
        opt.zero_grad()
        loss_fn(net(X[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        for A, B in ((X, y), (Xv, yv), (Xt, yt)):
            for i in range(0, len(A), 1000):
                out = net(A[i : i + 1000])
                loss_fn(out, B[i : i + 1000]).item()
                (out.argmax(1) == B[i : i + 1000]).float().mean().item()
    return time.perf_counter() - t0


def run(repeats: int = 3, threads: int = 2, data_dir: str = DATA_DIR) -> list[common.Row]:
    if not os.path.isdir(data_dir):
        print(f"skipped: {data_dir} not found")
        return []
    rows = []
    for model, title in MODELS.items():
        k, t = [], []
        for _ in range(repeats):
            k.append(kisonet_epoch(model, threads, data_dir))
            try:
                t.append(torch_epoch(model, threads, data_dir))
            except ImportError:
                pass
        km, tm = statistics.median(k), (statistics.median(t) if t else None)
        row = common.Row(
            "epoch",
            f"`kisonet train` epoch, mnist-t10k, {title}, SGD batch 100",
            1 / km,
            tm and 1 / tm,
            unit="epochs/s",
        )
        rows.append(row)
        tt = f"torch {tm:.2f} s  ratio {row.ratio:.2f}x" if tm else ""
        print(f"{row.name:<70} kisonet {km:.2f} s  {tt}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()
    run(args.repeats, args.threads, args.data_dir)


if __name__ == "__main__":
    main()
