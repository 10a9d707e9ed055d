"""Experiment ``regularization``: no penalty, L1, L2 and elastic net on a small CNN.

The notes' penalties added to the loss, on the notes' SimpleConvNet
(conv 30x5x5 -> ReLU -> max-pool 2 -> affine 100 -> ReLU -> affine 10) trained on a small
training set, so that it over-fits without help:

    none          E(w)
    L1            E(w) + lam_1 sum |w|                       pushes weights to exactly 0
    L2            E(w) + (lam_2 / 2) sum w^2                 shrinks every weight in proportion
    elastic net   E(w) + lam_1' sum |w| + (lam_2' / 2) sum w^2

Reported: the train/test accuracy and gap, the weight norm ``||w||_2``, and the share of
weights that are (nearly) zero, ``|w| < 1e-3``; drawn: test accuracy curves and the weight
histograms of the four nets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure, run_config, train

__all__ = ["LESSON", "regularization"]

LESSON = Lesson(
    shows=(
        "The penalties pull the weights in: L2 shrinks their norm most, L1 sets many of them to (almost) exactly "
        "zero, the elastic net does some of both; on this small CNN the gap between training and test accuracy "
        "narrows a little."
    ),
    reference=(
        "`kisonet experiment regularization --data-dir ../shared/data/mnist` (committed full run: SimpleCNN, "
        "1,000 images, 15 epochs): ‖w‖ none 17.6, L1 14.3, L2 10.5, elastic net 12.0; weights below 0.001: none "
        "3.6%, L1 32.9%, L2 6.3%, elastic net 21.2%; gap 7.4 / 7.2 / 6.8 / 7.1 points."
    ),
)

ZERO_TOL = 1e-3  # |w| below this counts as "zero" in the sparsity figure


def _weights(model: Any) -> np.ndarray:
    return np.concatenate([p.data.ravel() for p in model.parameters() if p.ndim > 1])


@experiment("regularization", LESSON)
def regularization(
    args: Args,
    n_train: int | None = None,
    epochs: int | None = None,
    lr: float = 0.01,
    l1: float = 3e-4,
    l2: float = 0.02,
) -> dict[str, Any]:
    """Run the experiment; returns per-penalty histories, accuracies, weight norms and sparsity.

    Full: 1,000 training images, the whole test set, SGD with momentum 0.9
    (lr 0.01, batch 50) for 15 epochs.  Quick: 300 / 500 images, 4 epochs.
    """
    from dataclasses import replace

    from ..regularizers import L2, ElasticNet

    ctx = args.start()
    quick = ctx.quick
    n_train = int(n_train if n_train is not None else (300 if quick else 1000))
    epochs = int(epochs if epochs is not None else (4 if quick else 15))
    data = ctx.load(n_train, 500 if quick else None)
    cfg = run_config(ctx, model="simple-cnn", init="he", optimizer="sgd", lr=lr, momentum=0.9, epochs=epochs,
                     batch_size=50)  # fmt: skip
    # label -> (RunConfig's l1, a penalty the options cannot spell: L2 in the loss, the elastic net)
    penalties = {
        "none": (0.0, None),
        f"L1 (λ={l1:g})": (l1, None),
        f"L2 (λ={l2:g})": (0.0, L2(l2)),
        f"elastic net ({l1 / 2:g}, {l2 / 2:g})": (0.0, ElasticNet(l1 / 2, l2 / 2)),
    }
    ctx.echo(f"  SimpleCNN (conv 30x5x5, affine 100), SGD momentum 0.9 lr {lr}, batch 50, {epochs} epochs")
    runs: dict[str, Any] = {}
    weights: dict[str, np.ndarray] = {}
    for label, (lam1, reg) in penalties.items():
        r, res = train(replace(cfg, l1=lam1), data, regularizer=reg, eval_train=True)
        model = res.model
        w = _weights(model)
        weights[label] = w
        r.update(weight_norm=float(np.linalg.norm(w)), zero_fraction=float(np.mean(np.abs(w) < ZERO_TOL)),
                 n_weights=int(w.size), mean_abs_weight=float(np.abs(w).mean()))  # fmt: skip
        runs[label] = r
        ctx.echo(f"  {label:26s} train {r['train_acc']:.3f}  test {r['test_acc']:.3f}  ||w|| {r['weight_norm']:.2f}  "
                 f"|w|<{ZERO_TOL:g}: {100 * r['zero_fraction']:.1f}%")  # fmt: skip

    _plot(ctx, runs, weights)
    rows = [(label, f"{100 * r['train_acc']:.1f}%", f"{100 * r['test_acc']:.1f}%", f"{100 * r['gap']:.1f}",
             f"{r['weight_norm']:.2f}", f"{100 * r['zero_fraction']:.1f}%") for label, r in runs.items()]  # fmt: skip
    notes = (f"SimpleCNN on {n_train} training images, SGD momentum 0.9 (lr {lr}, batch 50), {epochs} epochs; "
             f"penalties on weights only (biases free). ‖w‖ and the share of weights with abs(w) < {ZERO_TOL:g} "
             f"over all {runs['none']['n_weights']:,} weights.")  # fmt: skip
    return ctx.finish(
        {"runs": runs, "n_train": n_train, "epochs": epochs, "lr": lr, "l1": l1, "l2": l2, "zero_tol": ZERO_TOL},
        ("penalty", "train acc", "test acc", "gap (points)", "‖w‖₂", f"weights ≈ 0 (abs < {ZERO_TOL:g})"), rows, notes,
        "Regularisation of a small CNN: none / L1 / L2 / elastic net",
    )  # fmt: skip


def _plot(ctx: Any, runs: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
    fig, axes = new_figure(1, 3, size=(5.0, 3.8))
    ax_acc, ax_hist, ax_bar = axes[0]
    for i, (label, r) in enumerate(runs.items()):
        h = r["history"]
        c = f"C{i}"
        te, tr = h.get("test_accuracy", []), h.get("train_eval_accuracy", [])
        ax_acc.plot(np.arange(1, len(te) + 1), te, "-", color=c, label=f"{label} test")
        ax_acc.plot(np.arange(1, len(tr) + 1), tr, "--", color=c, lw=1, alpha=0.8)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (dashed: train, solid: test)")
    ax_acc.set_title("Learning curves")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=7.5, loc="lower right")
    top = max(float(np.percentile(np.abs(w), 99.5)) for w in weights.values())
    bins = np.linspace(-top, top, 81)
    for i, (label, w) in enumerate(weights.items()):
        ax_hist.hist(w, bins=bins, histtype="step", color=f"C{i}", lw=1.4, label=label)
    ax_hist.set_yscale("log")
    ax_hist.set_xlabel("weight value")
    ax_hist.set_ylabel("count (log)")
    ax_hist.set_title("Weight histograms after training")
    ax_hist.grid(alpha=0.3)
    labels = list(runs)
    x = np.arange(len(labels))
    ax_bar.bar(x - 0.2, [100 * runs[k]["train_acc"] for k in labels], 0.4, color="C0", label="train")
    ax_bar.bar(x + 0.2, [100 * runs[k]["test_acc"] for k in labels], 0.4, color="C3", label="test")
    for xi, k in zip(x, labels, strict=True):
        ax_bar.annotate(f"gap {100 * runs[k]['gap']:.1f}\n{100 * runs[k]['zero_fraction']:.0f}% ≈0",
                        (xi, 100 * runs[k]["train_acc"] + 0.5), ha="center", fontsize=7.5)  # fmt: skip
    lo = min(100 * runs[k]["test_acc"] for k in labels)
    ax_bar.set_ylim(max(0, lo - 10), 108)
    ax_bar.set_xticks(x)
    ax_bar.set_xticklabels([k.replace(" (", "\n(") for k in labels], fontsize=7.5)
    ax_bar.set_ylabel("final accuracy (%)")
    ax_bar.set_title("Gap and share of near-zero weights")
    ax_bar.legend(fontsize=8, loc="lower right")
    ax_bar.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    ctx.savefig(fig, "regularization.png")
