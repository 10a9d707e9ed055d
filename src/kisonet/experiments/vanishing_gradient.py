"""Experiment ``vanishing-gradient``: why sigmoid with tiny random weights does not learn.

A 5-hidden-layer MLP (100 units each) in four set-ups, the notes' figures 1-4:

====================  ==========================================================
sigmoid + N(0, 0.01^2) each layer multiplies the backward signal by about
                       sigma'(u) * 0.01 * sqrt(100) <= 0.25 * 0.1: the gradient at
                       the first layer is ~(0.025)^5 of the last's -> no learning
ReLU + N(0, 0.01^2)    no saturation, but the activations shrink 10x per layer;
                       learning starts late
sigmoid + Xavier       Var(w) = 2 / (d_in + d_out) keeps the signal's scale
ReLU + He              Var(w) = 2 / d_in compensates ReLU zeroing half the units
====================  ==========================================================

At initialisation, module hooks record per layer the gradient norm ``||dE/dW_l||`` and the
hidden activations (histograms); then each net is trained (Adam, lr 0.001, batch 100) and its
accuracy curves are recorded.  Adam rescales each weight's step by its own gradient history, so
it is the kindest test: a set-up that fails under Adam fails for want of signal, not of step size.
(With plain SGD even sigmoid + Xavier sits on the 2.30 loss plateau for many epochs at this depth:
Xavier's variance is derived for units with slope 1 at 0, sigmoid's is 1/4.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, last, mlp_spec, new_figure, probe, run_config, table_rows, train

__all__ = ["CONFIGS", "LESSON", "vanishing_gradient"]

LESSON = Lesson(
    shows=(
        "At initialisation the first layer of sigmoid + N(0,0.01²) gets a gradient about 10⁻⁸ of ReLU + He's: "
        "the backward signal shrinks layer after layer, and the net stays near chance. Scaling the weights "
        "to the layer's size (Xavier for sigmoid, He for ReLU) keeps the gradient's order of magnitude through "
        "the depth, and both nets learn; ReLU + N(0,0.01²) has no saturation but tiny activations, and learns "
        "later. Final accuracy order: sigmoid + N(0,0.01²) < ReLU + N(0,0.01²) < sigmoid + Xavier < ReLU + He."
    ),
    reference=(
        "`kisonet experiment vanishing-gradient --data-dir ../shared/data/mnist` (8,000 mnist-t10k images, "
        "10 epochs of Adam lr 0.001, batch 100): ‖∂E/∂W₁‖ at init 1.0e-08 (sigmoid + N(0,0.01²)) vs 0.87 "
        "(ReLU + He), ratio 1.2e-08; test accuracy sigmoid + N(0,0.01²) 25.9%, ReLU + N(0,0.01²) 88.9%, "
        "sigmoid + Xavier 93.5%, ReLU + He 95.9%."
    ),
)

# label -> (activation, init)
CONFIGS: dict[str, tuple[str, str]] = {
    "sigmoid + N(0,0.01²)": ("sigmoid", "normal"),
    "ReLU + N(0,0.01²)": ("relu", "normal"),
    "sigmoid + Xavier": ("sigmoid", "xavier"),
    "ReLU + He": ("relu", "he"),
}
COLORS = ("C3", "C1", "C0", "C2")


@experiment("vanishing-gradient", LESSON)
def vanishing_gradient(
    args: Args,
    depth: int = 5,
    width: int = 100,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns per-config gradient norms, activation statistics and histories.

    Full: the whole training set, 10 epochs of Adam (lr 0.001, batch 100).  Quick: 1,000 / 500
    samples, 8 epochs of Adam lr 0.003, batch 20 (400 steps: enough for sigmoid + Xavier to leave
    the loss plateau, as it does in the full run).
    """
    from dataclasses import replace

    from ..runner import seeded_model

    ctx = args.start()
    quick = ctx.quick
    data = ctx.load(*((1000, 500) if quick else (None, None)))
    epochs = int(epochs if epochs is not None else (8 if quick else 10))
    batch_size = int(batch_size if batch_size is not None else (20 if quick else 100))
    lr = float(lr if lr is not None else (3e-3 if quick else 1e-3))
    probe_n = min(len(data.y_train), 500 if quick else 2000)
    Xp, yp = data.X_train[:probe_n], data.y_train[:probe_n]
    base = run_config(ctx, model=mlp_spec(depth, width), optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size)

    configs: dict[str, Any] = {}
    for label, (act, init) in CONFIGS.items():
        cfg = replace(base, activation=act, init=init)
        p = probe(seeded_model(cfg, data.prepared()), Xp, yp)  # the same initial weights as the run below
        acts = p["activations"]
        hist_counts = []
        edges = np.linspace(0.0, 1.0, 31) if act == "sigmoid" else None
        for a in acts:
            e = edges if edges is not None else np.linspace(0.0, max(float(a.max()), 1e-12), 31)
            hist_counts.append({"counts": np.histogram(a, bins=e)[0].tolist(), "edges": e.tolist()})
        ctx.echo(
            f"  {label:22s} layer-1 grad norm {p['grad_norm'][0]:.3e}   layer-{len(p['grad_norm'])} "
            f"{p['grad_norm'][-1]:.3e}"
        )
        run, _ = train(cfg, data)
        hist, failure = run["history"], run["failure"]
        configs[label] = {
            "activation": act,
            "init": init,
            "grad_norm": p["grad_norm"],
            "delta_norm": p["delta_norm"],
            "initial_loss": p["loss"],
            "activation_mean": [float(a.mean()) for a in acts],
            "activation_std": [float(a.std()) for a in acts],
            "activation_hist": hist_counts,
            "_acts": acts,
            "history": hist,
            "failure": failure,
            "final_test_accuracy": last(hist, "test_accuracy"),
            "final_train_accuracy": last(hist, "train_accuracy"),
        }
        ctx.echo(f"  {label:22s} test accuracy after {epochs} epochs: {configs[label]['final_test_accuracy']:.4f}")

    _plot_grad_norms(ctx, configs)
    _plot_activations(ctx, configs)
    _plot_accuracy(ctx, configs, epochs)
    for c in configs.values():
        del c["_acts"]

    ref = configs["ReLU + He"]["grad_norm"][0]
    ratio = configs["sigmoid + N(0,0.01²)"]["grad_norm"][0] / ref
    rows = table_rows(configs, (lambda c: c["grad_norm"][0], ".2e"), (lambda c: c["grad_norm"][-1], ".2e"),
                      (lambda c: c["activation_std"][-1], ".3g"), ("final_train_accuracy", ".1%"),
                      ("final_test_accuracy", ".1%"))  # fmt: skip
    notes = (
        f"First-layer gradient norm, sigmoid + N(0,0.01²) / ReLU + He = {ratio:.1e} "
        f"({np.log10(ratio):.1f} orders of magnitude). Adam lr {lr:g}, batch {batch_size}, {epochs} epochs."
    )
    return ctx.finish(
        {
            "configs": configs,
            "first_layer_ratio_sigmoid_normal_vs_relu_he": ratio,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "depth": depth,
            "width": width,
        },
        (
            "set-up",
            "‖∂E/∂W₁‖ at init",
            f"‖∂E/∂W_{depth + 1}‖ at init",
            f"std of layer-{depth} activations",
            "train acc",
            "test acc",
        ),
        rows,
        notes,
        "Vanishing gradients: activation x initialisation",
        lesson=LESSON,
    )


def _plot_grad_norms(ctx: Any, configs: dict[str, Any]) -> None:
    fig, axes = new_figure(1, 1, size=(6.4, 4.2))
    ax = axes[0, 0]
    for (label, c), color in zip(configs.items(), COLORS, strict=False):
        g = np.asarray(c["grad_norm"])
        ax.semilogy(np.arange(1, len(g) + 1), np.maximum(g, 1e-30), "o-", color=color, label=label)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("‖∂E/∂W_l‖ at initialisation (log)")
    ax.set_title("Per-layer gradient norms at initialisation")
    ax.set_xticks(np.arange(1, len(g) + 1))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    ctx.savefig(fig, "grad_norms.png")


def _plot_activations(ctx: Any, configs: dict[str, Any]) -> None:
    n_layers = len(next(iter(configs.values()))["_acts"])
    fig, axes = new_figure(len(configs), n_layers, size=(2.2, 1.9))
    for r, ((label, c), color) in enumerate(zip(configs.items(), COLORS, strict=False)):
        for l, a in enumerate(c["_acts"]):
            ax = axes[r, l]
            a = a.ravel()
            if c["activation"] == "sigmoid":
                ax.hist(a, bins=30, range=(0.0, 1.0), color=color)
            else:  # ReLU: half the units are exactly 0; show the positive part and say how many are 0
                pos = a[a > 0]
                ax.hist(pos, bins=30, range=(0.0, max(float(a.max()), 1e-30)), color=color)
                ax.text(
                    0.97,
                    0.9,
                    f"{100 * (1 - pos.size / max(a.size, 1)):.0f}% zeros",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=7,
                )
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"layer {l + 1}", fontsize=9)
            if l == 0:
                ax.set_ylabel(label, fontsize=8)
            if r == len(configs) - 1:
                ax.set_xlabel("activation", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.suptitle("Hidden activations at initialisation (histograms per layer)")
    fig.tight_layout()
    ctx.savefig(fig, "activations.png")


def _plot_accuracy(ctx: Any, configs: dict[str, Any], epochs: int) -> None:
    fig, axes = new_figure(1, 2, size=(4.8, 3.6))
    for (label, c), color in zip(configs.items(), COLORS, strict=False):
        h = c["history"]
        for ax, key in zip(axes[0], ("train_accuracy", "test_accuracy"), strict=True):
            v = h.get(key, [])
            ax.plot(
                np.arange(1, len(v) + 1), v, "-", color=color, label=label, marker="o" if epochs <= 20 else None, ms=3
            )
    for ax, split in zip(axes[0], ("training", "test"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{split} accuracy")
        ax.set_title(f"{split.capitalize()} accuracy")
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
    axes[0, 1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    ctx.savefig(fig, "accuracy.png")
