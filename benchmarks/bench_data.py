"""Data loading and augmentation throughput (samples per second).

    python benchmarks/bench_data.py [--repeats 5] [--threads 2] [--clock wall|cpu]

* one shuffled epoch of batches of 128 over the mnist-t10k training pool (8,000
  images, from /work/shared/data/mnist or --data-dir; a random array of the same
  shape when the files are absent): kisonet ``DataLoader`` vs torch ``DataLoader``
  over a ``TensorDataset`` (num_workers=0, the same in-memory arrays);
* the same epoch through the 'digits' augmentation preset (RandomAffine +
  ElasticDistortion, batch-vectorised) and the 'cifar' preset on (N, 3, 32, 32)
  images.  torchvision is not installed here, so augmentation has no torch column;
  benchmarks/bench_augment.py compares against albumentations in a scratch venv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import kisonet as kn  # noqa: E402
from kisonet.data import DataLoader  # noqa: E402
from kisonet.data import transforms as tr  # noqa: E402

DATA_DIR = "/work/shared/data/mnist"


def mnist_pool(data_dir: str = DATA_DIR) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        b = kn.data.load_dataset("mnist-t10k", data_dir=data_dir, download=False)
        X, y = (np.asarray(a) for a in b.train)
        X = X.astype(np.float32, copy=False).reshape(len(X), 1, 28, 28)
        return X, y.astype(np.int64), "mnist-t10k train pool"
    except Exception as e:  # files absent: same shapes, random values
        print(f"(mnist-t10k not loaded: {e}; using random data of the same shape)")
        rng = np.random.default_rng(0)
        return rng.random((8000, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 8000), "random (8000,1,28,28)"


def _epoch(loader) -> int:
    n = 0
    for xb, _ in loader:
        n += len(xb)
    return n


def run(repeats: int = 5, data_dir: str = DATA_DIR) -> list[common.Row]:
    X, y, what = mnist_pool(data_dir)
    n = len(X)
    rows = []
    kl = DataLoader((X, y), batch_size=128, shuffle=True, seed=0)
    steps = {"kisonet": lambda: _epoch(kl)}
    try:
        import torch
        from torch.utils.data import DataLoader as TorchLoader
        from torch.utils.data import TensorDataset

        tl = TorchLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=128, shuffle=True)
        steps["torch"] = lambda: _epoch(tl)
    except ImportError:
        pass
    r = common.interleave(steps, repeats, 1, warmup=1)
    rows.append(
        common.Row(
            "data",
            f"DataLoader epoch, batch 128, {what}",
            r["kisonet"] * n,
            r.get("torch") and r["torch"] * n,
            unit="samples/s",
        )
    )

    rng = np.random.default_rng(0)
    cifar = rng.random((2048, 3, 32, 32), dtype=np.float32)
    cy = rng.integers(0, 10, 2048)
    for name, data, labels in (("digits", X, y), ("cifar", cifar, cy)):
        loader = DataLoader((data, labels), batch_size=128, shuffle=True, seed=0, transform=tr.preset(name))
        r = common.interleave({"kisonet": lambda loader=loader: _epoch(loader)}, max(3, repeats // 2), 1, warmup=1)
        shape = "(N,1,28,28)" if name == "digits" else "(N,3,32,32)"
        rows.append(
            common.Row(
                "data",
                f"DataLoader + '{name}' augmentation preset, batch 128, {shape}",
                r["kisonet"] * len(data),
                unit="samples/s",
            )
        )
    for row in rows:
        t = f"torch {row.torch:,.0f}/s  ratio {row.ratio:.2f}x" if row.torch else ""
        print(f"{row.name:<70} kisonet {row.kisonet:,.0f} samples/s  {t}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=sorted(common.CLOCKS), default="wall")
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()
    common.set_clock(args.clock)
    common.set_threads(args.threads)
    run(args.repeats, args.data_dir)


if __name__ == "__main__":
    main()
