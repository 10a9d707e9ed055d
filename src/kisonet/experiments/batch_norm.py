"""Experiment ``batch-norm``: the same deep net with and without batch normalisation, over a range
of initial weight scales.

Without batch norm the initial scale sigma of W ~ N(0, sigma^2) decides everything: too small and
the activations (and gradients) vanish layer after layer, too large and they explode.  Batch
normalisation standardises each unit's pre-activation over the mini-batch,

    u_hat = (u - mean_B(u)) / sqrt(var_B(u) + eps),   y = gamma u_hat + beta,

so the next layer sees inputs of unit scale whatever sigma is, and the net trains across the
whole range (the notes: "学習率を大きくできる / 初期値にそれほど依存しない").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..lang import tr
from .common import Args, Lesson, experiment, last, mlp_spec, new_figure, run_config, train

__all__ = ["LESSON", "batch_norm"]

LESSON = Lesson(
    shows=(
        "The same deep ReLU net, trained with plain SGD from weights N(0, σ²): without batch norm it trains only "
        "in a narrow band of σ (diverging to NaN above it, stuck at chance below it); with batch norm after "
        "every hidden layer it trains from every scale tried, since each layer's input is re-standardised."
    ),
    reference=(
        "`kisonet experiment batch-norm --data-dir ../shared/data/mnist` (committed full run: 5 x 100 ReLU, SGD lr "
        "0.1, 20 epochs): train accuracy plain / batch norm — σ = 1 diverged / 84.2%, σ = 0.1 98.9% / 100%, "
        "σ = 0.01 11.3% / 99.9%, σ = 0.0001 11.3% / 98.6%."
    ),
)


@experiment("batch-norm", LESSON)
def batch_norm(
    args: Args,
    epochs: int | None = None,
    scales: Any = None,
    lr: float = 0.1,
    depth: int = 5,
    width: int = 100,
    bn_inference: str = "running",
) -> dict[str, Any]:
    """Run the experiment; returns, per weight scale, both nets' histories and final accuracies.

    ``bn_inference="average"`` evaluates the normalised nets with Keio lecture 4's inference
    statistics, the mean over the training batches of their mean and biased variance
    (:func:`kisonet.nn.set_batch_norm_inference`); default PyTorch's running averages.

    Full: 2,000 training samples, 9 scales from 1 to 1e-4 (log-spaced), 20 epochs of SGD
    (lr 0.1, batch 100), ReLU hidden units.  Quick: 500 / 500 samples, scales 1, 0.1, 0.01,
    0.001, 5 epochs.  (With batch norm the loss is invariant to the scale of the weights feeding
    it, so their gradient shrinks as 1/scale: at large scales the normalised net learns more
    slowly, at small ones faster.)
    """
    from dataclasses import replace

    from ..nn.normalization import BN_INFERENCE

    if bn_inference not in BN_INFERENCE:
        from ..errors import unknown_name

        raise unknown_name(tr("bn_inference"), bn_inference, BN_INFERENCE)
    ctx = args.start()
    quick = ctx.quick
    data = ctx.load(*((500, 500) if quick else (2000, None)))
    epochs = int(epochs if epochs is not None else (5 if quick else 20))
    if scales is None:
        scales = [1.0, 0.1, 0.01, 0.001] if quick else [float(s) for s in np.logspace(0, -4, 9)]
    scales = [float(s) for s in scales]
    base = run_config(ctx, model=mlp_spec(depth, width), optimizer="sgd", lr=lr, epochs=epochs, batch_size=100)
    results: list[dict[str, Any]] = []
    for s in scales:
        row: dict[str, Any] = {"scale": s}
        for bn in (False, True):
            cfg = replace(base, init=f"normal:{s!r}", batch_norm=bn, bn_inference=bn_inference if bn else "running")
            run, _ = train(cfg, data)
            hist, failure = run["history"], run["failure"]
            key = "bn" if bn else "plain"
            row[key] = {
                "history": hist,
                "failure": failure,
                "final_train_accuracy": last(hist, "train_accuracy"),
                "final_test_accuracy": last(hist, "test_accuracy"),
                "diverged": failure is not None,
            }
        results.append(row)
        ctx.echo(f"  scale {s:8.2g}: train acc plain {_acc(row['plain'])}  with batch norm {_acc(row['bn'])}")

    _plot_grid(ctx, results, epochs)
    _plot_summary(ctx, results)
    rows = [
        (
            f"{r['scale']:.3g}",
            _acc(r["plain"]),
            _acc(r["bn"]),
            _pct(r["plain"]["final_test_accuracy"]),
            _pct(r["bn"]["final_test_accuracy"]),
        )
        for r in results
    ]
    notes = f"ReLU, {depth} x {width} hidden units, W ~ N(0, scale²), SGD lr {lr}, batch 100, {epochs} epochs."
    if bn_inference != "running":
        notes += " Batch-norm inference: the average of the training batches' mean and biased variance."
    return ctx.finish(
        {
            "scales": scales,
            "results": results,
            "epochs": epochs,
            "lr": lr,
            "depth": depth,
            "width": width,
            "bn_inference": bn_inference,
        },
        ("weight scale σ", "train acc (plain)", "train acc (batch norm)", "test acc (plain)", "test acc (batch norm)"),
        rows,
        notes,
        "Batch normalisation across initial weight scales",
    )


def _pct(v: float) -> str:
    return "diverged" if not math.isfinite(v) else f"{100 * v:.1f}%"


def _acc(r: dict[str, Any]) -> str:
    if r["diverged"]:
        return "diverged (NaN)"
    return _pct(r["final_train_accuracy"])


def _plot_grid(ctx: Any, results: list[dict[str, Any]], epochs: int) -> None:
    n = len(results)
    ncols = min(n, 3 if n <= 9 else 4)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(nrows, ncols, size=(3.3, 2.6), sharey=True)
    for i, r in enumerate(results):
        ax = axes[i // ncols, i % ncols]
        for key, style, label in (("plain", ("C7", "--"), "without BN"), ("bn", ("C0", "-"), "with batch norm")):
            v = r[key]["history"].get("train_accuracy", [])
            ax.plot(np.arange(1, len(v) + 1), v, style[1], color=style[0], label=label)
            if r[key]["diverged"]:
                where = f"in epoch {len(v) + 1}" if v else "in epoch 1"
                ax.text(
                    0.5,
                    0.08 if key == "plain" else 0.18,
                    f"{label}: loss NaN {where}",
                    color=style[0],
                    transform=ax.transAxes,
                    ha="center",
                    fontsize=8,
                )
        ax.set_title(f"W ~ N(0, {r['scale']:.3g}²)", fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("training accuracy")
        if i // ncols == nrows - 1:
            ax.set_xlabel("epoch")
    for j in range(n, nrows * ncols):
        axes[j // ncols, j % ncols].set_visible(False)
    axes[0, 0].legend(fontsize=8, loc="center right")
    fig.suptitle("Training accuracy with and without batch normalisation, per initial weight scale")
    fig.tight_layout()
    ctx.savefig(fig, "accuracy_grid.png")


def _plot_summary(ctx: Any, results: list[dict[str, Any]]) -> None:
    fig, axes = new_figure(1, 1, size=(6.0, 4.0))
    ax = axes[0, 0]
    s = [r["scale"] for r in results]
    for key, color, label in (("plain", "C7", "without batch norm"), ("bn", "C0", "with batch norm")):
        acc = [r[key]["final_train_accuracy"] if not r[key]["diverged"] else 0.0 for r in results]
        ax.semilogx(s, acc, "o-", color=color, label=label)
        for x, r in zip(s, results, strict=True):
            if r[key]["diverged"]:
                ax.annotate("NaN", (x, 0.02), color=color, ha="center", fontsize=8)
    ax.set_xlabel("initial weight scale σ  (W ~ N(0, σ²), log)")
    ax.set_ylabel("final training accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("Batch norm makes training insensitive to the initial scale")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ctx.savefig(fig, "final_accuracy_vs_scale.png")
