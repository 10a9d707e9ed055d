"""Layer speed against PyTorch on the same CPU, same process, same threads.

Times forward + backward of

* Conv2d(1->30, 5x5) on a (100, 1, 28, 28) float32 batch (the SimpleCNN's first layer),
* Conv2d(6->16, 5x5) on (128, 6, 14, 14) with the input gradient (a LeNet second layer),
* MaxPool2d(2) on the first layer's (100, 30, 24, 24) output,
* Conv2d + ReLU + MaxPool2d(2) together,
* a 784-512-512-10 MLP SGD step on a batch of 128 (when the dense layers exist),

kisonet and torch interleaved (A B A B ...), each repeat timing a few steps, and
prints the median steps/s and the ratio kisonet / torch (> 1: kisonet is faster).

    python benchmarks/bench_layers.py [--repeats 15] [--threads 2] [--only conv2d,mlp]
    python benchmarks/bench_layers.py --threads 1 --cpu-time   # on a busy shared machine
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import kisonet as kn
import kisonet.nn as nn

CLOCK = [time.perf_counter]  # --cpu-time switches to time.process_time


def _rate(step: Callable[[], None], n: int) -> float:
    clock = CLOCK[0]
    t0 = clock()
    for _ in range(n):
        step()
    return n / (clock() - t0)


ONLY: list[str] = []  # --only filter: substrings of the workload names


def compare(
    name: str, kn_step: Callable[[], None], torch_step: Callable[[], None] | None, repeats: int, n: int
) -> None:
    """Warm up both, then alternate kisonet and torch repeats; report medians."""
    if ONLY and not any(word in name.lower() for word in ONLY):
        return
    for _ in range(2):
        kn_step()
        if torch_step is not None:
            torch_step()
    kr, tr = [], []
    for _ in range(repeats):
        kr.append(_rate(kn_step, n))
        if torch_step is not None:
            tr.append(_rate(torch_step, n))
    k = statistics.median(kr)
    if not tr:
        print(f"{name:<40} kisonet {1e3 / k:8.3f} ms/step   (torch not installed)")
        return
    t = statistics.median(tr)
    # The best repeat of each is less sensitive to other processes on a shared machine.
    best = max(kr) / max(tr)
    print(
        f"{name:<40} kisonet {1e3 / k:8.3f} ms  torch {1e3 / t:8.3f} ms  "
        f"ratio {k / t:5.2f}x (best-of-repeats ratio {best:5.2f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated name filters, e.g. 'conv2d,batchnorm'")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall time: robust on a machine shared with other "
        "jobs, meaningful with --threads 1 (with more threads it adds up the threads' time)",
    )
    args = ap.parse_args()
    if args.cpu_time:
        CLOCK[0] = time.process_time
    ONLY.extend(w.strip().lower() for w in args.only.split(",") if w.strip())

    try:
        import torch
    except ImportError:
        torch = None
    kn.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    # --- Conv2d(1->30, 5x5) on (100, 1, 28, 28) --------------------------------------------
    x = rng.standard_normal((100, 1, 28, 28)).astype(np.float32)
    gy = rng.standard_normal((100, 30, 24, 24)).astype(np.float32)
    conv = nn.Conv2d(1, 30, 5)
    kx = kn.tensor(x)

    def kn_conv():
        conv.zero_grad()
        conv(kx).backward(gy)

    tconv = tx = tgy = None
    if torch is not None:
        tconv = torch.nn.Conv2d(1, 30, 5)
        tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)

    def t_conv():
        tconv.zero_grad()
        tconv(tx).backward(tgy)

    compare("Conv2d(1->30, 5x5) fwd+bwd, batch 100", kn_conv, t_conv if torch else None, args.repeats, 10)

    # --- a LeNet second layer: Conv2d(6->16, 5x5) on (128, 6, 14, 14), input gradient needed -------
    x2 = rng.standard_normal((128, 6, 14, 14)).astype(np.float32)
    gy2 = rng.standard_normal((128, 16, 10, 10)).astype(np.float32)
    conv2 = nn.Conv2d(6, 16, 5)
    kx2 = kn.tensor(x2, requires_grad=True)

    def kn_conv2():
        conv2.zero_grad()
        kx2.grad = None
        conv2(kx2).backward(gy2)

    if torch is not None:
        tconv2 = torch.nn.Conv2d(6, 16, 5)
        tx2 = torch.from_numpy(x2).requires_grad_()
        tgy2 = torch.from_numpy(gy2)

    def t_conv2():
        tconv2.zero_grad()
        tx2.grad = None
        tconv2(tx2).backward(tgy2)

    compare("Conv2d(6->16, 5x5) fwd+bwd, batch 128", kn_conv2, t_conv2 if torch else None, args.repeats, 10)

    # --- MaxPool2d(2) on the conv output ------------------------------------------------------
    a = rng.standard_normal((100, 30, 24, 24)).astype(np.float32)
    gp = rng.standard_normal((100, 30, 12, 12)).astype(np.float32)
    pool = nn.MaxPool2d(2)
    ka = kn.tensor(a, requires_grad=True)

    def kn_pool():
        ka.grad = None
        pool(ka).backward(gp)

    if torch is not None:
        ta = torch.from_numpy(a).requires_grad_()
        tgp = torch.from_numpy(gp)

    def t_pool():
        ta.grad = None
        torch.nn.functional.max_pool2d(ta, 2).backward(tgp)

    compare("MaxPool2d(2) fwd+bwd on (100,30,24,24)", kn_pool, t_pool if torch else None, args.repeats, 10)

    # --- Conv + ReLU + MaxPool ------------------------------------------------------------------
    def kn_block():
        conv.zero_grad()
        pool(kn.relu(conv(kx))).backward(gp)

    def t_block():
        tconv.zero_grad()
        torch.nn.functional.max_pool2d(torch.relu(tconv(tx)), 2).backward(tgp)

    compare("Conv2d+ReLU+MaxPool2d fwd+bwd", kn_block, t_block if torch else None, args.repeats, 10)

    # --- BatchNorm2d on a LeNet-sized activation ----------------------------------------------------
    b = rng.standard_normal((128, 16, 14, 14)).astype(np.float32)
    gb = rng.standard_normal(b.shape).astype(np.float32)
    bn = nn.BatchNorm2d(16)
    kb = kn.tensor(b, requires_grad=True)

    def kn_bn():
        kb.grad = None
        bn.zero_grad()
        bn(kb).backward(gb)

    if torch is not None:
        tbn = torch.nn.BatchNorm2d(16)
        tb = torch.from_numpy(b).requires_grad_()
        tgb = torch.from_numpy(gb)

    def t_bn():
        tb.grad = None
        tbn.zero_grad()
        tbn(tb).backward(tgb)

    compare("BatchNorm2d(16) fwd+bwd (128,16,14,14)", kn_bn, t_bn if torch else None, args.repeats, 10)

    # --- MLP 784-512-512-10 SGD step, batch 128 (part A's dense layers) -------------------------
    try:
        from kisonet.nn import Linear, ReLU, Sequential
        from kisonet.nn.functional import cross_entropy
    except ImportError as e:
        print(f"MLP step skipped: dense layers not available yet ({e})")
        return
    xb = rng.standard_normal((128, 784)).astype(np.float32)
    yb = rng.integers(0, 10, 128)
    mlp = Sequential(Linear(784, 512), ReLU(), Linear(512, 512), ReLU(), Linear(512, 10))
    kxb = kn.tensor(xb)
    lr = np.float32(0.01)

    def kn_mlp():
        mlp.zero_grad()
        cross_entropy(mlp(kxb), yb).backward()
        for p in mlp.parameters():
            p.data -= lr * p.grad

    if torch is not None:
        tm = torch.nn.Sequential(
            torch.nn.Linear(784, 512),
            torch.nn.ReLU(),
            torch.nn.Linear(512, 512),
            torch.nn.ReLU(),
            torch.nn.Linear(512, 10),
        )
        txb, tyb = torch.from_numpy(xb), torch.from_numpy(yb)
        opt = torch.optim.SGD(tm.parameters(), lr=0.01)

    def t_mlp():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tm(txb), tyb).backward()
        opt.step()

    compare("MLP 784-512-512-10 SGD step, batch 128", kn_mlp, t_mlp if torch else None, args.repeats, 10)


if __name__ == "__main__":
    main()
