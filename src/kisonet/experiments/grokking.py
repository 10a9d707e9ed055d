"""Experiment ``grokking``: test accuracy jumps long after the training set is memorised.

The task is modular addition, ``(a + b) mod p`` for all ``p^2`` pairs; a random fraction of the
pairs is the training set, the rest the test set.  The input is the two one-hot codes side by
side, ``x = [e_a ; e_b]`` in R^{2p}, and the net is the two-layer network of Gromov (2023),
"Grokking modular arithmetic":

    h = (W_1 x)^2   (element-wise square),   logits = W_2 h,   W_1 in R^{H x 2p}, W_2 in R^{p x H}

trained full-batch by AdamW with decoupled weight decay ``w <- w - lr * wd * w``.  The training
accuracy reaches 100 % after a few hundred steps (memorisation); the test accuracy stays at
chance and then, many steps later, climbs to ~100 %: the weights have been pulled by the decay
towards the smaller-norm solution that computes the sum through Fourier features of ``Z_p``.
The run without weight decay (``compare_no_decay``) shows the difference.

Full: p = 47, 30 % of the pairs for training, H = 192, 3,000 steps, with and without weight
decay (a reduced version of the usual p = 97 setting, to fit a few minutes on a shared CPU).
Quick: p = 23, half the pairs, H = 64, 2500 steps: the same jump, seconds of CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure

__all__ = ["LESSON", "Square", "grokking", "modular_addition"]

LESSON = Lesson(
    shows=(
        "With weight decay, a small net memorises the training pairs of modular addition quickly, and only much "
        "later does its test accuracy jump from chance to near 100% as the decay pulls the weights to the "
        "smaller solution that computes the sum."
    ),
    reference=(
        "`kisonet experiment grokking` (committed full run: (a + b) mod 47, 30% of the pairs, 3000 full-batch "
        "AdamW steps): with weight decay 1 train ≥ 99% at step 91, test ≥ 95% at step 1800 (19.8x later), final "
        "test 99.9%; without weight decay test stays at 2.0%."
    ),
)


def modular_addition(p: int, train_fraction: float, seed: int = 0) -> dict[str, np.ndarray]:
    """All pairs ``(a, b)`` with label ``(a + b) mod p``, one-hot encoded as ``[e_a ; e_b]``, split
    at random into train (``train_fraction`` of the ``p^2`` pairs) and test."""
    from ..backend import get_default_dtype
    from ..validation import check_float, check_int

    p = check_int("modular_addition", "p", p, low=2)
    train_fraction = check_float("modular_addition", "train_fraction", train_fraction, 0.0, 1.0, high_open=True)
    a, b = np.divmod(np.arange(p * p), p)
    y = (a + b) % p
    X = np.zeros((p * p, 2 * p), dtype=get_default_dtype())
    X[np.arange(p * p), a] = 1
    X[np.arange(p * p), p + b] = 1
    perm = np.random.default_rng(seed).permutation(p * p)
    n_train = max(1, int(round(train_fraction * p * p)))
    train_i, test_i = perm[:n_train], perm[n_train:]
    return {
        "X_train": X[train_i],
        "y_train": y[train_i].astype(np.int64),
        "X_test": X[test_i],
        "y_test": y[test_i].astype(np.int64),
    }


def _square_module() -> Any:
    from .. import nn

    class Square(nn.Module):
        """y = x^2 element-wise (the quadratic activation: dy/dx = 2x)."""

        def forward(self, x: Any) -> Any:
            return x * x

    return Square


Square = _square_module()


def _first_step(steps: list[int], values: list[float], threshold: float) -> int | None:
    for s, v in zip(steps, values, strict=True):
        if v >= threshold:
            return s
    return None


def _train(data: dict[str, np.ndarray], p: int, hidden: int, steps: int, lr: float, weight_decay: float,
           eval_every: int, seed: int, echo: Any = None) -> dict[str, Any]:  # fmt: skip
    from .. import nn
    from .. import random as kr
    from ..autograd import Tensor, no_grad
    from ..nn import functional as F  # noqa: N812
    from ..optim import AdamW

    kr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2 * p, hidden, bias=False), Square(), nn.Linear(hidden, p, bias=False))
    opt = AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    Xtr, Xte = Tensor(data["X_train"]), Tensor(data["X_test"])
    ytr, yte = data["y_train"], data["y_test"]
    hist: dict[str, list[float]] = {k: [] for k in ("step", "train_acc", "test_acc", "train_loss", "test_loss",
                                                    "weight_norm")}  # fmt: skip

    def record(step: int) -> None:
        model.eval()
        with no_grad():
            ztr, zte = model(Xtr), model(Xte)
            ltr, lte = float(F.cross_entropy(ztr, ytr).data), float(F.cross_entropy(zte, yte).data)
        model.train()
        hist["step"].append(step)
        hist["train_acc"].append(float((ztr.data.argmax(1) == ytr).mean()))
        hist["test_acc"].append(float((zte.data.argmax(1) == yte).mean()))
        hist["train_loss"].append(ltr)
        hist["test_loss"].append(lte)
        hist["weight_norm"].append(float(np.sqrt(sum(float((q.data.astype(np.float64) ** 2).sum())
                                                     for q in model.parameters()))))  # fmt: skip

    # evaluate densely early (memorisation is fast) and every eval_every steps later
    marks = set(np.unique(np.geomspace(1, max(steps, 1), 40).astype(int)).tolist()) | set(
        range(0, steps + 1, eval_every)
    )
    marks.add(steps)
    for step in range(steps + 1):
        if step in marks:
            record(step)
            if echo is not None and step and step % max(eval_every, steps // 10) == 0:
                echo(f"    step {step:6d}: train acc {hist['train_acc'][-1]:.3f}  test acc {hist['test_acc'][-1]:.3f}  "
                     f"||w|| {hist['weight_norm'][-1]:.1f}")  # fmt: skip
        if step == steps:
            break
        opt.zero_grad()
        loss = F.cross_entropy(model(Xtr), ytr)
        loss.backward()
        opt.step()
    return hist


@experiment("grokking", LESSON, needs_data=False)
def grokking(
    args: Args,
    p: int | None = None,
    train_fraction: float | None = None,
    hidden: int | None = None,
    steps: int | None = None,
    lr: float = 3e-3,
    weight_decay: float = 1.0,
    compare_no_decay: bool | None = None,
    eval_every: int | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns the accuracy/loss/weight-norm curves and the grokking delay.

    ``dataset``/``data_dir`` are ignored (the data are generated).
    """
    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    p = int(p if p is not None else (23 if quick else 47))
    hidden = int(hidden if hidden is not None else (64 if quick else 192))
    steps = int(steps if steps is not None else (2500 if quick else 3000))
    train_fraction = float(train_fraction if train_fraction is not None else (0.5 if quick else 0.3))
    eval_every = int(eval_every if eval_every is not None else (50 if quick else 100))
    compare = bool(compare_no_decay if compare_no_decay is not None else True)
    data = modular_addition(p, train_fraction, seed)
    ctx.echo(f"  (a + b) mod {p}: {len(data['y_train'])} training / {len(data['y_test'])} test pairs; "
             f"x -> W2 (W1 x)^2 with H={hidden}; AdamW lr {lr}, weight decay {weight_decay}, "
             f"{steps} full-batch steps")  # fmt: skip

    settings = {f"weight decay {weight_decay:g}": weight_decay}
    if compare:
        settings["no weight decay"] = 0.0
    runs: dict[str, Any] = {}
    for label, wd in settings.items():
        h = _train(data, p, hidden, steps, lr, wd, eval_every, seed, ctx.echo)
        t_train = _first_step(h["step"], h["train_acc"], 0.99)
        t_test = _first_step(h["step"], h["test_acc"], 0.95)
        runs[label] = {"weight_decay": wd, "history": h, "step_train_99": t_train, "step_test_95": t_test,
                       "final_train_acc": h["train_acc"][-1], "final_test_acc": h["test_acc"][-1]}  # fmt: skip
        ctx.echo(f"  {label:18s} train >= 99% at step {t_train}, test >= 95% at step {t_test}; final test "
                 f"{h['test_acc'][-1]:.3f}")  # fmt: skip

    _plot(ctx, runs, p, train_fraction)
    chance = 1.0 / p
    rows = []
    for label, r in runs.items():
        delay = (f"{r['step_test_95'] / r['step_train_99']:.1f}x" if r["step_test_95"] and r["step_train_99"]
                 else "—")  # fmt: skip
        rows.append((label, r["step_train_99"] or "never", r["step_test_95"] or "never", delay,
                     f"{100 * r['final_train_acc']:.1f}%", f"{100 * r['final_test_acc']:.1f}%"))  # fmt: skip
    notes = (f"(a + b) mod {p}, {100 * train_fraction:.0f}% of the {p * p} pairs for training; chance = "
             f"{100 * chance:.1f}%. Net x -> W2 (W1 x)^2 (H={hidden}, no biases), full-batch AdamW "
             f"(lr {lr}, betas 0.9/0.98), {steps} steps.")  # fmt: skip
    return ctx.finish(
        {"runs": runs, "p": p, "train_fraction": train_fraction, "hidden": hidden, "steps": steps, "lr": lr,
         "n_train": len(data["y_train"]), "n_test": len(data["y_test"]), "chance": chance},
        ("run", "train ≥ 99% at step", "test ≥ 95% at step", "delay", "final train", "final test"), rows, notes,
        "Grokking: modular addition with weight decay",
    )  # fmt: skip


def _plot(ctx: Any, runs: dict[str, Any], p: int, frac: float) -> None:
    fig, axes = new_figure(1, 2, size=(6.0, 4.2))
    ax, ax2 = axes[0]
    styles = ["-", ":"]
    for (label, r), ls in zip(runs.items(), styles, strict=False):
        h = r["history"]
        s = np.maximum(np.asarray(h["step"]), 1)
        ax.plot(s, 100 * np.asarray(h["train_acc"]), ls, color="C0", lw=2, label=f"train ({label})")
        ax.plot(s, 100 * np.asarray(h["test_acc"]), ls, color="C3", lw=2, label=f"test ({label})")
        ax2.plot(s, h["weight_norm"], ls, color="C2", lw=2, label=f"‖w‖ ({label})")
        ax2.plot([], [], ls, color="C1", lw=2, label=f"test loss ({label})")
    for r in runs.values():
        for key, c in (("step_train_99", "C0"), ("step_test_95", "C3")):
            if r[key]:
                ax.axvline(r[key], color=c, lw=0.8, ls="--", alpha=0.6)
        break
    ax.axhline(100.0 / p, color="gray", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("optimisation step (log)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"(a + b) mod {p}, {100 * frac:.0f}% of pairs for training")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="center left")
    ax3 = ax2.twinx()
    for (_, r), ls in zip(runs.items(), styles, strict=False):
        h = r["history"]
        ax3.plot(np.maximum(np.asarray(h["step"]), 1), h["test_loss"], ls, color="C1", lw=1.5)
    ax3.set_yscale("log")
    ax3.set_ylabel("test cross-entropy (log)", color="C1")
    ax2.set_xscale("log")
    ax2.set_xlabel("optimisation step (log)")
    ax2.set_ylabel("weight norm ‖w‖₂", color="C2")
    ax2.set_title("Weight norm ‖w‖ and test loss")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    ctx.savefig(fig, "grokking.png")
