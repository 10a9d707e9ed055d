"""Experiment ``weight-init``: zeros, small normal, Xavier and He on the same deep net.

The notes: "初期値をすべて0に設定すると学習がうまく進まない ... 勾配が同じになるので、全ノードが
「コピー状態」になる" -- with equal weights every hidden unit of a layer computes the same value,
receives the same gradient, and so stays equal to its neighbours for ever: the layer is one unit
wide however many it has.  Random initialisation breaks the symmetry; its scale decides whether
the signal survives the depth (Xavier: Var(w) = 2/(d_in + d_out), He: Var(w) = 2/d_in).

Each initialisation trains the 5 x 100 MLP with sigmoid and with ReLU hidden units.  Besides the
loss and accuracy curves the experiment measures the symmetry directly: per hidden layer, the
largest distance between a unit's incoming weight vector and unit 1's, relative to the weights'
size (0 = all units identical), and how far the weights moved from their start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..lang import tr
from .common import Args, Lesson, experiment, last, mlp_spec, new_figure, run_config, train

__all__ = ["LESSON", "INITS", "NOTES_INITS", "hidden_unit_spread", "weight_init"]

LESSON = Lesson(
    shows=(
        "With every weight zero, all hidden units of a layer get the same gradient and stay copies of each "
        "other however long the net trains (the symmetry is never broken), and the net stays near chance; "
        "N(0,0.01²) breaks the symmetry but is too small for sigmoid to learn well. Xavier and He scale the "
        "weights to the layer's size and both activations learn."
    ),
    reference=(
        "`kisonet experiment weight-init --data-dir ../shared/data/mnist` (committed full run: 8,000 mnist-t10k "
        "images, 10 epochs of Adam lr 0.001): test accuracy sigmoid zeros 20.4% (largest hidden-unit spread "
        "4.6e-05), N(0,0.01²) 25.9%, Xavier 93.5%, He 93.8%; ReLU zeros 11.5% (weights never move), N(0,0.01²) "
        "88.9%, Xavier 94.8%, He 95.9%."
    ),
)

# label -> init name of kisonet.nn.init.init_layer_
INITS: dict[str, str] = {"zeros": "zeros", "N(0,0.01²)": "normal", "Xavier": "xavier", "He": "he"}
# the notes' other printed forms (docs/notes-forms.md), run with inits=(...)
NOTES_INITS: dict[str, str] = {"He uniform": "he-uniform", "Xavier N(0,1/n)": "xavier-fan-in"}
ACTIVATIONS = ("sigmoid", "relu")
COLORS = {"zeros": "C3", "N(0,0.01²)": "C1", "Xavier": "C0", "He": "C2", "He uniform": "C4", "Xavier N(0,1/n)": "C5"}


def _hidden_weights(model: Any) -> list[np.ndarray]:
    from .. import nn

    return [np.array(m.weight.data) for m in model.modules() if isinstance(m, nn.Linear)][:-1]


def hidden_unit_spread(weights: list[np.ndarray]) -> list[float]:
    """Per hidden layer ``max_j ||w_j - w_1|| / (max_j ||w_j|| + tiny)`` over the units' incoming
    weight vectors (rows of W): 0 when every unit of the layer is a copy of the first."""
    out = []
    for W in weights:
        W = W.astype(np.float64)
        scale = float(np.linalg.norm(W, axis=1).max())
        out.append(float(np.linalg.norm(W - W[:1], axis=1).max() / (scale + 1e-30)))
    return out


@experiment("weight-init", LESSON)
def weight_init(
    args: Args,
    epochs: int | None = None,
    lr: float | None = None,
    depth: int = 5,
    width: int = 100,
    batch_size: int | None = None,
    inits: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns per (activation, init) histories, hidden-unit spreads, moves.

    Full: the whole training set, 10 epochs of Adam (lr 0.001, batch 100).  Quick: 1,000 / 500
    samples, 6 epochs of Adam lr 0.003, batch 20 (300 steps: enough for the sigmoid nets with
    Xavier or He to leave the loss plateau, as they do in the full run).  Adam updates each weight
    by its own gradient history; identical gradients still give identical updates, so the zeros
    symmetry survives it too.  ``inits``: labels from :data:`INITS` and :data:`NOTES_INITS`
    (Keio lecture 4's He uniform, the E-cert report's Xavier N(0, 1/n)); default the four of
    :data:`INITS`.
    """
    from dataclasses import replace

    from ..errors import unknown_name
    from ..runner import seeded_model

    table = {**INITS, **NOTES_INITS}
    chosen = tuple(INITS) if inits is None else tuple(inits)
    for label in chosen:
        if label not in table:
            raise unknown_name(tr("init"), label, table)

    ctx = args.start()
    quick = ctx.quick
    data = ctx.load(*((1000, 500) if quick else (None, None)))
    epochs = int(epochs if epochs is not None else (6 if quick else 10))
    lr = float(lr if lr is not None else (3e-3 if quick else 1e-3))
    batch_size = int(batch_size if batch_size is not None else (20 if quick else 100))
    base = run_config(ctx, model=mlp_spec(depth, width), optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size)
    runs: dict[str, dict[str, Any]] = {}
    for act in ACTIVATIONS:
        runs[act] = {}
        for label in chosen:
            init = table[label]
            cfg = replace(base, activation=act, init=init)
            model = seeded_model(cfg, data.prepared())
            w0 = _hidden_weights(model)
            run, _ = train(cfg, data, model)
            hist, failure = run["history"], run["failure"]
            w1 = _hidden_weights(model)
            spread = hidden_unit_spread(w1)
            moved = [float(np.linalg.norm(a - b)) for a, b in zip(w1, w0, strict=True)]
            runs[act][label] = {
                "init": init,
                "history": hist,
                "failure": failure,
                "hidden_unit_spread": spread,
                "weight_change": moved,
                "final_train_loss": last(hist, "train_loss"),
                "final_test_accuracy": last(hist, "test_accuracy"),
            }
            ctx.echo(
                f"  {act:7s} {label:11s} test acc {runs[act][label]['final_test_accuracy']:.4f}  "
                f"max hidden-unit spread {max(spread):.2e}  weights moved {sum(moved):.3g}"
            )

    _plot_curves(ctx, runs, epochs)
    _plot_symmetry(ctx, runs)
    rows = [
        (
            act,
            label,
            f"{r['final_train_loss']:.4f}",
            f"{100 * r['final_test_accuracy']:.1f}%",
            f"{max(r['hidden_unit_spread']):.2e}",
            f"{sum(r['weight_change']):.3g}",
        )
        for act, by in runs.items()
        for label, r in by.items()
    ]
    notes = f"Adam lr {lr:g}, batch {batch_size}, {epochs} epochs."
    if "zeros" in runs["sigmoid"]:
        zs = runs["sigmoid"]["zeros"]
        notes = (
            f"zeros + sigmoid: the hidden weights moved by {sum(zs['weight_change']):.3g} in total, yet every "
            f"unit of each layer is still a copy of the first (largest spread {max(zs['hidden_unit_spread']):.1e}). "
            + notes
        )
    return ctx.finish(
        {"runs": runs, "epochs": epochs, "lr": lr, "depth": depth, "width": width},
        ("activation", "init", "train loss", "test acc", "hidden-unit spread", "weights moved"),
        rows,
        notes,
        "Weight initialisation: zeros, small normal, Xavier, He",
    )


def _plot_curves(ctx: Any, runs: dict[str, dict[str, Any]], epochs: int) -> None:
    fig, axes = new_figure(2, len(runs), size=(4.8, 3.4))
    for c, (act, by) in enumerate(runs.items()):
        for label, r in by.items():
            h = r["history"]
            ep = np.arange(1, len(h.get("train_loss", [])) + 1)
            mk = "o" if epochs <= 20 else None
            axes[0, c].plot(ep, h.get("train_loss", []), "-", color=COLORS[label], label=label, marker=mk, ms=3)
            axes[1, c].plot(ep, h.get("test_accuracy", []), "-", color=COLORS[label], label=label, marker=mk, ms=3)
        axes[0, c].set_title(f"{act} hidden units: training loss")
        axes[0, c].set_ylabel("cross-entropy (training)")
        axes[1, c].set_title(f"{act} hidden units: test accuracy")
        axes[1, c].set_ylabel("test accuracy")
        axes[1, c].set_ylim(0, 1)
        for ax in axes[:, c]:
            ax.set_xlabel("epoch")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "curves.png")


def _plot_symmetry(ctx: Any, runs: dict[str, dict[str, Any]]) -> None:
    fig, axes = new_figure(1, len(runs), size=(4.8, 3.6))
    for c, (act, by) in enumerate(runs.items()):
        ax = axes[0, c]
        for label, r in by.items():
            raw = np.asarray(r["hidden_unit_spread"])
            s = np.maximum(raw, 1e-12)
            exact = bool(np.all(raw == 0))
            ax.semilogy(
                np.arange(1, len(s) + 1),
                s,
                "o-",
                color=COLORS[label],
                label=label + (" (exactly 0, drawn at 1e-12)" if exact else ""),
            )
        ax.set_title(f"{act}: are the hidden units still copies?")
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("max ‖w_j − w_1‖ / max ‖w_j‖ after training")
        ax.set_xticks(np.arange(1, len(s) + 1))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "symmetry.png")
