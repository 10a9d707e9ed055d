"""Per-op microbenchmarks against PyTorch: conv, pooling, batch norm, loss, Adam.

    python benchmarks/bench_ops.py [--repeats 9] [--threads 2] [--clock wall|cpu] [--only conv,pool]

Each case times forward + backward of one layer on a fixed float32 batch (the
backward gets a fixed upstream gradient), kisonet and torch interleaved in this
process; "fwd" cases run under no_grad.  Input gradients are computed where a
layer inside a network would need them (not for a first layer on data).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import kisonet as kn  # noqa: E402
import kisonet.nn as nn  # noqa: E402
import kisonet.nn.functional as F  # noqa: E402, N812

# (name, input shape, out channels, kernel, padding, input needs grad)
CONVS = [
    ("Conv2d(1->30, 5x5) on (100,1,28,28)", (100, 1, 28, 28), 30, 5, 0, False),
    ("Conv2d(3->6, 5x5, pad 2) on (128,3,32,32)", (128, 3, 32, 32), 6, 5, 2, False),
    ("Conv2d(6->16, 5x5, pad 2) on (128,6,16,16)", (128, 6, 16, 16), 16, 5, 2, True),
    ("Conv2d(32->64, 3x3, pad 1) on (64,32,16,16)", (64, 32, 16, 16), 64, 3, 1, True),
]


def _layer_case(
    kn_layer: nn.Module, t_layer, shape: tuple[int, ...], need_x: bool, forward_only: bool = False
) -> tuple[Callable, Callable | None]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    kx = kn.tensor(x, requires_grad=need_x)
    with kn.no_grad():
        gy = rng.standard_normal(kn_layer(kx).shape).astype(np.float32)

    if forward_only:

        def k_step():
            with kn.no_grad():
                kn_layer(kx)

    else:

        def k_step():
            kx.grad = None
            kn_layer.zero_grad()
            kn_layer(kx).backward(gy)

    t_step = None
    if t_layer is not None:
        import torch

        tx = torch.from_numpy(x).requires_grad_(need_x)
        tgy = torch.from_numpy(gy)
        if forward_only:

            def t_step():
                with torch.no_grad():
                    t_layer(tx)

        else:

            def t_step():
                tx.grad = None
                t_layer.zero_grad()
                t_layer(tx).backward(tgy)

    return k_step, t_step


def cases(torch) -> list[tuple[str, Callable, Callable | None, int]]:
    tnn = torch.nn if torch else None
    out = []
    for name, shape, o, k, pad, need_x in CONVS:
        c = shape[1]
        kl = nn.Conv2d(c, o, k, padding=pad)
        tl = tnn.Conv2d(c, o, k, padding=pad) if torch else None
        out.append((name + " fwd", *_layer_case(kl, tl, shape, need_x, forward_only=True), 5))
        out.append((name + " fwd+bwd", *_layer_case(kl, tl, shape, need_x), 5))
    shape = (100, 30, 24, 24)
    out.append(
        (
            "MaxPool2d(2) fwd+bwd on (100,30,24,24)",
            *_layer_case(nn.MaxPool2d(2), tnn and tnn.MaxPool2d(2), shape, True),
            5,
        )
    )
    out.append(
        (
            "MaxPool2d(3, stride 2) fwd+bwd on (64,32,31,31)",
            *_layer_case(nn.MaxPool2d(3, 2), tnn and tnn.MaxPool2d(3, 2), (64, 32, 31, 31), True),
            5,
        )
    )
    out.append(
        (
            "AvgPool2d(2) fwd+bwd on (100,30,24,24)",
            *_layer_case(nn.AvgPool2d(2), tnn and tnn.AvgPool2d(2), shape, True),
            5,
        )
    )
    out.append(
        (
            "BatchNorm2d(16) fwd+bwd on (128,16,16,16)",
            *_layer_case(nn.BatchNorm2d(16), tnn and tnn.BatchNorm2d(16), (128, 16, 16, 16), True),
            5,
        )
    )
    out.append(
        (
            "ReLU fwd+bwd on (100,30,24,24)",
            *_layer_case(nn.ReLU(), tnn and tnn.ReLU(), shape, True),
            5,
        )
    )

    # softmax cross-entropy on (128, 10) and (256, 1000) logits
    for n, k in ((128, 10), (256, 1000)):
        rng = np.random.default_rng(0)
        z = rng.standard_normal((n, k)).astype(np.float32)
        y = rng.integers(0, k, n)
        kz = kn.tensor(z, requires_grad=True)

        def k_ce(kz=kz, y=y):
            kz.grad = None
            F.cross_entropy(kz, y).backward()

        t_ce = None
        if torch:
            tz, ty = torch.from_numpy(z).requires_grad_(), torch.from_numpy(y)

            def t_ce(tz=tz, ty=ty):
                tz.grad = None
                torch.nn.functional.cross_entropy(tz, ty).backward()

        out.append((f"softmax cross-entropy fwd+bwd ({n},{k})", k_ce, t_ce, 50))

    # Adam step on 1M parameters (a 1000x1000 weight), gradient given
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((1000, 1000)).astype(np.float32)
    g0 = rng.standard_normal((1000, 1000)).astype(np.float32) * np.float32(1e-3)
    kw = kn.tensor(w0, requires_grad=True)
    kw.grad = g0.copy()
    kopt = kn.optim.Adam([kw], lr=1e-3)
    t_adam = None
    if torch:
        tw = torch.from_numpy(w0.copy()).requires_grad_()
        tw.grad = torch.from_numpy(g0.copy())
        topt = torch.optim.Adam([tw], lr=1e-3)  # torch's default (foreach) implementation
        t_adam = topt.step
    out.append(("Adam step, 1M parameters", kopt.step, t_adam, 10))
    return out


def run(repeats: int = 9, only: list[str] | None = None) -> list[common.Row]:
    try:
        import torch
    except ImportError:
        torch = None
    rows = []
    for name, k_step, t_step, n in cases(torch):
        if only and not any(w.lower() in name.lower() for w in only):
            continue
        steps = {"kisonet": k_step}
        if t_step is not None:
            steps["torch"] = t_step
        r = common.interleave(steps, repeats, n)
        row = common.Row("op", name, r["kisonet"], r.get("torch"))
        rows.append(row)
        ratio = f"ratio {row.ratio:5.2f}x" if row.ratio else ""
        t = f"torch {1e3 / r['torch']:8.3f} ms" if "torch" in r else ""
        print(f"{name:<52} kisonet {1e3 / r['kisonet']:8.3f} ms  {t}  {ratio}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=sorted(common.CLOCKS), default="wall")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    common.set_clock(args.clock)
    common.set_threads(args.threads)
    run(args.repeats, [w for w in args.only.split(",") if w])


if __name__ == "__main__":
    main()
