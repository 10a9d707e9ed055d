"""Experiment ``overfitting``: a big net on 300 images, and the cures the notes list.

The notes' over-fitting set-up: 300 training images, an MLP with 6 hidden layers of 100 ReLU
units (He initialisation), plain SGD (lr 0.01, batch 100) for 200 epochs.  The training accuracy
reaches 100 % while the test accuracy stalls far below: the *generalisation gap*

    gap = accuracy(train) - accuracy(test)      (both measured in eval mode)

Then the same net, the same 300 images and the same seed, with one cure at a time:

=========================  ===========================================================
L2 (weight decay)          E(w) + (lam/2) sum w^2        gradient + lam w
L1 (lasso)                 E(w) + lam sum |w|            gradient + lam sign(w)
elastic net                E(w) + l1 sum |w| + (l2/2) sum w^2
dropout                    each hidden unit dropped with probability p while training
dropout + L1               both
early stopping             a separate 300-image validation set, stop when its loss has
                           not improved for ``patience`` epochs, keep the best weights
input noise                x + sigma z, z ~ N(0, 1) on every training batch
=========================  ===========================================================

Biases are not penalised (``kisonet.regularizers``).  One figure (train and test curves of
each set-up, and the final gaps), one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..lang import tr
from .common import Args, EvalEachEpoch, Lesson, Split, accuracy, experiment, mlp_spec, run_config, train

__all__ = ["LESSON", "EvalEachEpoch", "accuracy", "cures", "overfitting"]  # the helpers live in .common

LESSON = Lesson(
    shows=(
        "Without regularisation the big net memorises its few training images (100% training accuracy) while "
        "the test accuracy stays far below: the generalisation gap. The penalties (L2, L1, elastic net, "
        "dropout + L1) and input noise each narrow that gap, mostly by giving up training accuracy; with this "
        "little data the test accuracy moves by a few points either way (input noise best in the full run). Early "
        "stopping with a patience of a few epochs stops near the same point and changes little: a cure is "
        "not a gift of information."
    ),
    reference=(
        "`kisonet experiment overfitting --data-dir ../shared/data/mnist` (300 mnist-t10k images, 200 epochs "
        "of SGD lr 0.01): gap / test accuracy — none 15.4 / 84.5%, L2 (λ=0.1) 8.8 / 82.5%, L1 (λ=0.01) "
        "11.1 / 82.8%, elastic net 9.6 / 83.5%, dropout 0.15 14.9 / 80.8%, dropout + L1 7.3 / 74.1%, early "
        "stopping 15.9 / 83.4%, input noise (σ=0.3) 13.6 / 85.7%."
    ),
)


def _finite(values: Any) -> bool:
    return bool(np.all(np.isfinite(np.asarray(values, dtype=np.float64))))


# --- the experiment --------------------------------------------------------------------------


def cures(
    l2: float = 0.1, l1: float = 1e-2, dropout: float = 0.15, noise: float = 0.3, patience: int = 20
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The set-ups compared: key -> (label, ``{'reg': (kind, args), 'dropout', 'noise', 'early'}``)."""
    return {
        "none": ("no regularisation", {}),
        "l2": (f"L2 (λ={l2:g})", {"reg": ("L2", (l2,))}),
        "l1": (f"L1 (λ={l1:g})", {"reg": ("L1", (l1,))}),
        "elastic-net": (f"elastic net ({l1 / 2:g}, {l2 / 2:g})", {"reg": ("ElasticNet", (l1 / 2, l2 / 2))}),
        "dropout": (f"dropout (p={dropout:g})", {"dropout": dropout}),
        "dropout+l1": (f"dropout {dropout:g} + L1 {l1 / 2:g}", {"dropout": dropout, "reg": ("L1", (l1 / 2,))}),
        "early-stopping": (f"early stopping (patience {patience})", {"early": patience}),
        "input-noise": (f"input noise (σ={noise:g})", {"noise": noise}),
    }


def _regularizer(spec: tuple[str, tuple[float, ...]] | None) -> Any:
    from .. import regularizers

    if spec is None:
        return None
    kind, args = spec
    return getattr(regularizers, kind)(*args)


@experiment("overfitting", LESSON)
def overfitting(
    args: Args,
    n_train: int = 300,
    epochs: int | None = None,
    lr: float | None = None,
    l2: float = 0.1,
    l1: float = 1e-2,
    dropout: float = 0.15,
    noise: float = 0.3,
    patience: int | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns per-set-up histories, final accuracies and gaps.

    ``only`` restricts the set-ups to some of the keys of :func:`cures` (``'none'`` is always
    run: it is the reference).

    Full: 300 training images, 200 epochs, SGD lr 0.01.  Quick: 200 images, 50 epochs at lr
    0.03, test set capped at 1,000; on the embedded ``digits`` (8x8 images, easier: 200 of them
    barely over-fit) 100 images, 150 epochs at lr 0.05.
    """
    from dataclasses import replace

    from .. import nn
    from ..runner import seeded_model

    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    small = ctx.data_choice is not None and ctx.data_choice.name == "digits"
    if quick and n_train == 300:
        n_train = 100 if small else 200
    epochs = int(epochs if epochs is not None else ((150 if small else 50) if quick else 200))
    lr = float(lr if lr is not None else ((0.05 if small else 0.03) if quick else 0.01))
    patience = int(patience if patience is not None else (10 if quick else 20))
    # 300 training + 300 validation images (the validation set is used by early stopping only)
    full = ctx.load(2 * n_train, 1000 if quick else None)
    perm = np.random.default_rng(seed).permutation(len(full.y_train))
    train_i, val_i = perm[:n_train], perm[n_train : 2 * n_train]
    data = Split(
        full.X_train[train_i], full.y_train[train_i], full.X_test, full.y_test, full.n_classes, full.input_shape
    )
    val = (full.X_train[val_i], full.y_train[val_i])
    ctx.echo(f"  {n_train} training / {len(val_i)} validation (early stopping only) / {len(data.y_test)} test images; "
             f"MLP 6x100 ReLU, SGD lr {lr}, batch 100, {epochs} epochs")  # fmt: skip

    from ..errors import unknown_name

    setups = cures(l2, l1, dropout, noise, patience)
    if only is not None:
        for k in only:
            if k not in setups:
                raise unknown_name(tr("overfitting set-up"), k, setups)
        setups = {k: v for k, v in setups.items() if k == "none" or k in only}
    common = run_config(ctx, model=mlp_spec(6, 100), init="he", optimizer="sgd", lr=lr, epochs=epochs, batch_size=100)
    runs: dict[str, Any] = {}
    for key, (label, cfg) in setups.items():
        kind, args = cfg.get("reg") or (None, ())
        run_cfg = replace(common, dropout=cfg.get("dropout", 0.0), early_stopping=cfg.get("early", 0),
                          l1=args[0] if kind == "L1" else 0.0)  # fmt: skip
        model = None
        if cfg.get("noise"):
            model = nn.Sequential(nn.GaussianNoise(cfg["noise"]), seeded_model(run_cfg, data.prepared()))
        penalty = None if kind in (None, "L1") else _regularizer(cfg["reg"])
        r, _ = train(run_cfg, data, model, val=val, regularizer=penalty, eval_train=True)
        r["key"] = key
        r["config"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
        runs[label] = r
        ctx.echo(f"  {label:30s} train {r['train_acc']:.3f}  test {r['test_acc']:.3f}  gap {r['gap']:+.3f}"
                 f"  ({r['epochs_run']} epochs)")  # fmt: skip

    _plot(ctx, runs, epochs, n_train)
    base = runs["no regularisation"]
    rows = []
    for label, r in runs.items():
        note = f"stopped at {r['epochs_run']}, best {r['best_epoch']}" if "best_epoch" in r else f"{r['epochs_run']}"
        rows.append((label, f"{100 * r['train_acc']:.1f}%", f"{100 * r['test_acc']:.1f}%", f"{100 * r['gap']:.1f}",
                     f"{100 * (r['test_acc'] - base['test_acc']):+.1f}", note))  # fmt: skip
    best = max(runs, key=lambda k: runs[k]["test_acc"])
    smallest = min(runs, key=lambda k: runs[k]["gap"])
    notes = (f"{n_train} training images, MLP 6x100 ReLU (He init), SGD lr {lr}, batch 100, up to {epochs} epochs; "
             f"accuracies in eval mode. Without regularisation the gap is {100 * base['gap']:.1f} points; smallest "
             f"gap: {smallest} ({100 * runs[smallest]['gap']:.1f}); best test accuracy: {best} "
             f"({100 * runs[best]['test_acc']:.1f}%).")  # fmt: skip
    return ctx.finish(
        {"runs": runs, "n_train": n_train, "n_val": len(val_i), "epochs": epochs, "lr": lr,
         "all_finite": all(_finite([r["train_acc"], r["test_acc"]]) for r in runs.values())},
        ("set-up", "train acc", "test acc", "gap (points)", "test vs none", "epochs"),
        rows, notes, f"Over-fitting {n_train} images, and its cures", lesson=LESSON,
    )  # fmt: skip


def _plot(ctx: Any, runs: dict[str, Any], epochs: int, n_train: int) -> None:
    from ..viz import new_figure

    fig = new_figure((16.0, 10.0))
    gs = fig.add_gridspec(3, 4, height_ratios=(1, 1, 1.1), hspace=0.55, wspace=0.25)
    for i, (label, r) in enumerate(runs.items()):
        ax = fig.add_subplot(gs[i // 4, i % 4])
        h = r["history"]
        train_accs = h.get("train_eval_accuracy", [])
        te = h.get("test_accuracy", [])
        ax.plot(np.arange(1, len(train_accs) + 1), train_accs, "-", color="C0", label="train")
        ax.plot(np.arange(1, len(te) + 1), te, "-", color="C3", label="test")
        if "best_epoch" in r and r["best_epoch"]:
            ax.axvline(r["best_epoch"], color="k", ls=":", lw=1, label="best val loss")
        ax.set_xlim(0, epochs)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{label}\ngap {100 * r['gap']:.1f} pts, test {100 * r['test_acc']:.1f}%", fontsize=9.5)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        if i % 4 == 0:
            ax.set_ylabel("accuracy")
        if i // 4 == 1:
            ax.set_xlabel("epoch")
        if i == 0:
            ax.legend(fontsize=8, loc="lower right")
    ax = fig.add_subplot(gs[2, :])
    labels = list(runs)
    x = np.arange(len(labels))
    trv = [100 * runs[k]["train_acc"] for k in labels]
    tev = [100 * runs[k]["test_acc"] for k in labels]
    ax.bar(x - 0.2, trv, 0.4, color="C0", label="train")
    ax.bar(x + 0.2, tev, 0.4, color="C3", label="test")
    for xi, k, a in zip(x, labels, trv, strict=True):
        ax.annotate(f"gap {100 * runs[k]['gap']:.1f}", (xi, a + 1), ha="center", fontsize=8.5)
    ax.set_xticks(x)
    ax.set_xticklabels([k.replace(" (", "\n(") for k in labels], fontsize=8.5)
    lo = max(0.0, min(tev + trv) - 15)
    ax.set_ylim(lo, 106)
    ax.set_ylabel("final accuracy (%)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle(
        f"Over-fitting: {n_train} training images, MLP 6x100 — train (blue) vs test (red) accuracy", fontsize=13
    )
    ctx.savefig(fig, "overfitting.png")
