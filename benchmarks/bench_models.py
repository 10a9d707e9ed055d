"""Whole training steps against PyTorch (and textbook NumPy): MLP, SimpleCNN, LeNet+BN.

    python benchmarks/bench_models.py [--repeats 9] [--threads 2] [--clock wall|cpu] [--only mlp,lenet]

A step is forward + softmax cross-entropy + backward + SGD update (lr 0.01) on a
fixed random batch, with each framework's own public API (``kisonet.models``,
``kisonet.optim.SGD``; ``torch.nn`` and ``torch.optim.SGD``).  For each workload
the three contenders are interleaved in this process (see common.py) and the
fraction of the measured GEMM rate each achieves is printed: the GEMM FLOPs a
step needs (forward, weight gradients, input gradients except the first
layer's) times steps/s, over the FLOP/s of one large NumPy GEMM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import textbook  # noqa: E402

import kisonet as kn  # noqa: E402
import kisonet.nn as nn  # noqa: E402
from kisonet.models import MLP, LeNet, SimpleCNN  # noqa: E402

# ----------------------------------------------------------------------------
# GEMM FLOPs of one training step


def _dense_flops(n: int, sizes: list[int]) -> float:
    """Forward 2*n*a*b per layer, as much again for dW, and for dx except the first layer."""
    f = 0.0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        f += 2 * n * a * b * (3 if i else 2)
    return f


def _conv_flops(n: int, c: int, o: int, k: int, oh: int, ow: int, first: bool) -> float:
    return 2.0 * n * o * c * k * k * oh * ow * (2 if first else 3)


def flops(workload: str, n: int) -> float:
    if workload == "mlp":
        return _dense_flops(n, [784, 512, 512, 10])
    if workload == "simple-cnn":
        return _conv_flops(n, 1, 30, 5, 24, 24, True) + 2 * n * 4320 * 100 * 3 + 2 * n * 100 * 10 * 3
    if workload == "lenet-bn":
        return (
            _conv_flops(n, 3, 6, 5, 32, 32, True)
            + _conv_flops(n, 6, 16, 5, 16, 16, False)
            + 2 * n * 1024 * 120 * 3
            + 2 * n * 120 * 84 * 3
            + 2 * n * 84 * 10 * 3
        )
    raise KeyError(workload)


# ----------------------------------------------------------------------------
# the three contenders


def kisonet_step(model: nn.Module, x: np.ndarray, y: np.ndarray):
    opt = kn.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    kx = kn.tensor(x)

    def step():
        opt.zero_grad()
        loss_fn(model(kx), y).backward()
        opt.step()

    return step


def torch_step(model, x: np.ndarray, y: np.ndarray):
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss_fn(model(tx), ty).backward()
        opt.step()

    return step


def textbook_step(net: textbook.Net, x: np.ndarray, y: np.ndarray):
    return lambda: net.step(x, y)


def torch_model(workload: str):
    import torch.nn as tnn

    if workload == "mlp":
        return tnn.Sequential(
            tnn.Flatten(), tnn.Linear(784, 512), tnn.ReLU(), tnn.Linear(512, 512), tnn.ReLU(), tnn.Linear(512, 10)
        )
    if workload == "simple-cnn":
        return tnn.Sequential(
            tnn.Conv2d(1, 30, 5),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Flatten(),
            tnn.Linear(4320, 100),
            tnn.ReLU(),
            tnn.Linear(100, 10),
        )
    if workload == "lenet-bn":
        return tnn.Sequential(
            tnn.Conv2d(3, 6, 5, padding=2),
            tnn.BatchNorm2d(6),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5, padding=2),
            tnn.BatchNorm2d(16),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Flatten(),
            tnn.Linear(1024, 120),
            tnn.BatchNorm1d(120),
            tnn.ReLU(),
            tnn.Linear(120, 84),
            tnn.BatchNorm1d(84),
            tnn.ReLU(),
            tnn.Linear(84, 10),
        )
    raise KeyError(workload)


def kisonet_model(workload: str) -> nn.Module:
    if workload == "mlp":
        return MLP(784, (512, 512), 10)
    if workload == "simple-cnn":
        return SimpleCNN((1, 28, 28), 10)
    if workload == "lenet-bn":
        return LeNet((3, 32, 32), 10, batch_norm=True)
    raise KeyError(workload)


WORKLOADS = {
    # name: (input shape, bar, title, textbook builder or None)
    "mlp": ((128, 784), 1.1, "MLP 784-512-512-10, batch 128, SGD", textbook.mlp),
    "simple-cnn": (
        (100, 1, 28, 28),
        0.7,
        "SimpleCNN conv30x5x5-relu-pool2-affine100-relu-affine10, batch 100",
        textbook.simple_cnn,
    ),
    "lenet-bn": ((128, 3, 32, 32), 0.6, "LeNet-style CNN + BatchNorm, batch (128,3,32,32)", None),
}


def make_data(workload: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    shape = WORKLOADS[workload][0]
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0]).astype(np.int64)


def make_steps(workload: str, frameworks=("kisonet", "torch", "textbook")) -> dict:
    x, y = make_data(workload)
    steps = {}
    if "kisonet" in frameworks:
        kn.manual_seed(0)
        steps["kisonet"] = kisonet_step(kisonet_model(workload), x, y)
    if "torch" in frameworks:
        try:
            import torch

            torch.manual_seed(0)
            steps["torch"] = torch_step(torch_model(workload), x, y)
        except ImportError:
            pass
    builder = WORKLOADS[workload][3]
    if "textbook" in frameworks and builder is not None:
        steps["textbook"] = textbook_step(builder(), x, y)
    return steps


def run(repeats: int = 9, only: list[str] | None = None, n: int | None = None) -> list[common.Row]:
    peak = common.gemm_rate()
    print(f"measured GEMM rate (512x784 @ 784x128, float32): {peak / 1e9:.1f} GFLOP/s")
    rows = []
    for name, (shape, bar, title, _) in WORKLOADS.items():
        if only and not any(w in name for w in only):
            continue
        steps = make_steps(name)
        per = n or (10 if name == "mlp" else 4)
        r = common.interleave(steps, repeats, per)
        f = flops(name, shape[0])
        row = common.Row(
            "training step",
            title,
            r.get("kisonet"),
            r.get("torch"),
            r.get("textbook"),
            bar=bar,
            gemm_fraction={k: v * f / peak for k, v in r.items()},
        )
        rows.append(row)
        parts = [f"{k} {1e3 / v:7.2f} ms ({row.gemm_fraction[k]:.0%} of GEMM rate)" for k, v in r.items()]
        ratio = f"ratio {row.ratio:.2f}x (bar {bar}x)" if row.ratio else ""
        print(f"{name:<11} " + "  ".join(parts) + "  " + ratio, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=sorted(common.CLOCKS), default="wall")
    ap.add_argument("--only", default="")
    ap.add_argument("-n", type=int, default=None, help="steps per repeat")
    args = ap.parse_args()
    common.set_clock(args.clock)
    common.set_threads(args.threads)
    run(args.repeats, [w for w in args.only.split(",") if w], args.n)


if __name__ == "__main__":
    main()
