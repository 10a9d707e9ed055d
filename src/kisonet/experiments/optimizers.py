"""Experiment ``optimizers``: nine update rules on the same net, the same data, the same start.

Every optimiser trains an identical copy of a 4 x 100 ReLU MLP (He initialisation, the same
seed, so the same initial weights) on the same mini-batches (the loader's shuffling is seeded
too); only the update rule and its usual learning rate differ.  The per-step training loss and
the per-epoch test accuracy are recorded.

=========  =============================================================  ======
name       update (kisonet.optim)                                         lr
=========  =============================================================  ======
SGD        w <- w - lr g                                                  0.1
Momentum   v <- rho v - lr g;  w <- w + v            (rho 0.9)            0.01
Nesterov   PyTorch's SGD(nesterov=True, momentum 0.9)                     0.01
AdaGrad    h <- h + g^2;  w <- w - lr g / (sqrt(h) + eps)                 0.01
RMSprop    h <- a h + (1-a) g^2;  w <- w - lr g / (sqrt(h) + eps)         0.001
AdaDelta   Zeiler's rule (lr 1.0 is PyTorch's default)                    1.0
Adam       bias-corrected moments m, v;  w <- w - lr m^ / (sqrt(v^) + eps) 0.001
AdamW      Adam + decoupled weight decay 0.01                             0.001
AdaBelief  Adam with s = EMA of (g - m)^2 in place of v                   0.001
=========  =============================================================  ======
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..lang import tr
from .common import Args, Lesson, StepLog, experiment, mlp_spec, new_figure, run_config, smooth, table_rows, train

__all__ = ["LESSON", "OPTIMIZERS", "optimizers"]

LESSON = Lesson(
    shows=(
        "From the same initial weights and the same mini-batches, every optimiser lowers the loss; an adaptive "
        "one (AdaGrad here: each weight's step scaled by its own gradient history) gets lowest first, well "
        "below plain SGD and momentum, and after enough epochs all reach similar test accuracy."
    ),
    reference=(
        "`kisonet experiment optimizers --data-dir ../shared/data/mnist` (committed full run: 4 x 100 ReLU, "
        "batch 128, 15 epochs): train loss after epoch 1 — SGD 1.04, Momentum 1.16, AdaGrad 0.72, RMSprop "
        "0.74, Adam 0.80, AdaBelief 0.75; final test accuracy 95.2-96.5% for all nine."
    ),
)


def _settings(name: str, eps_placement: str = "outside") -> dict[str, Any]:
    """The RunConfig fields of rule ``name``: the registry's defaults (lr, momentum, the class's own
    weight decay: AdamW's 0.01), AdaGrad, RMSprop, Adam and AdamW with ``eps_placement``
    (docs/notes-forms.md; "uncorrected" is Adam's only, so AdaGrad and RMSprop keep PyTorch's form then)."""
    import inspect

    from ..optim import OPTIMIZERS as REG

    entry = REG.entry(name)
    decay = inspect.signature(entry.value).parameters.get("weight_decay")
    placed = eps_placement
    if (name in ("AdaGrad", "RMSprop") and eps_placement == "uncorrected") or name not in EPS_RULES:
        placed = "outside"
    return {
        "optimizer": entry.name,
        "lr": entry.default_lr,
        "weight_decay": 0.0 if decay is None else float(decay.default),
        "eps_placement": placed,
    }


EPS_RULES = ("AdaGrad", "RMSprop", "Adam", "AdamW")
OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "AdaDelta", "Adam", "AdamW", "AdaBelief")


@experiment("optimizers", LESSON)
def optimizers(
    args: Args,
    epochs: int | None = None,
    batch_size: int = 128,
    depth: int = 4,
    width: int = 100,
    lrs: dict[str, float] | None = None,
    eps_placement: str = "outside",
) -> dict[str, Any]:
    """Run the experiment; returns per optimiser the per-step losses, the history and final numbers.

    Full: the whole training set, 15 epochs, batch 128.  Quick: 1,000 / 500 samples, 3 epochs.
    ``lrs`` overrides learning rates by name (``{'SGD': 0.05}``).  ``eps_placement="inside"`` runs
    AdaGrad, RMSprop, Adam and AdamW in Keio lecture 4's form ``g / sqrt(v + eps)``;
    ``"uncorrected"`` runs Adam/AdamW in the textbook's form (docs/notes-forms.md).
    """
    from dataclasses import replace

    ctx = args.start()
    quick = ctx.quick
    data = ctx.load(*((1000, 500) if quick else (None, None)))
    epochs = int(epochs if epochs is not None else (3 if quick else 15))
    from ..optim.adam import ADAM_EPS_PLACEMENTS

    if eps_placement not in ADAM_EPS_PLACEMENTS:
        from ..errors import unknown_name

        raise unknown_name(tr("eps_placement"), eps_placement, ADAM_EPS_PLACEMENTS)
    base = run_config(ctx, model=mlp_spec(depth, width), init="he", epochs=epochs, batch_size=batch_size)
    runs: dict[str, dict[str, Any]] = {}
    for name in OPTIMIZERS:
        cfg = replace(base, **_settings(name, eps_placement))
        if lrs and name in lrs:
            cfg = replace(cfg, lr=float(lrs[name]))
        lr = float(cfg.lr)
        log = StepLog()
        run, _ = train(cfg, data, callbacks=[log])
        hist, failure = run["history"], run["failure"]
        first = float(np.mean(log.loss[: max(1, len(log.loss) // 50)]))
        last_n = max(1, len(log.loss) // max(1, len(hist.get("train_loss", []))))  # the last epoch's steps
        runs[name] = {
            "lr": lr,
            "step_loss": log.loss,
            "history": hist,
            "failure": failure,
            "initial_loss": float(log.loss[0]) if log.loss else float("nan"),
            "first_steps_loss": first,
            "last_epoch_step_loss": float(np.mean(log.loss[-last_n:])) if log.loss else float("nan"),
            "epoch1_train_loss": hist["train_loss"][0] if hist.get("train_loss") else float("nan"),
            "final_train_loss": hist["train_loss"][-1] if hist.get("train_loss") else float("nan"),
            "final_test_accuracy": hist["test_accuracy"][-1] if hist.get("test_accuracy") else float("nan"),
        }
        ctx.echo(
            f"  {name:9s} lr {lr:<6g} loss {runs[name]['initial_loss']:.3f} -> "
            f"{runs[name]['last_epoch_step_loss']:.4f}, test acc {runs[name]['final_test_accuracy']:.4f}"
        )

    steps_per_epoch = len(runs["SGD"]["step_loss"]) // max(1, epochs)
    _plot_losses(ctx, runs, steps_per_epoch)
    _plot_accuracy(ctx, runs)
    rows = table_rows(runs, ("lr", "g"), ("initial_loss", ".3f"), ("epoch1_train_loss", ".4f"),
                      ("final_train_loss", ".4f"), ("final_test_accuracy", ".2%"))  # fmt: skip
    notes = (
        f"{depth} x {width} ReLU MLP, He init (identical initial weights), batch {batch_size}, {epochs} epochs; "
        "train loss of an epoch = mean over its mini-batches."
    )
    return ctx.finish(
        {
            "runs": runs,
            "epochs": epochs,
            "batch_size": batch_size,
            "depth": depth,
            "width": width,
            "steps_per_epoch": steps_per_epoch,
        },
        ("optimizer", "lr", "loss at step 1", "train loss, epoch 1", "train loss, last epoch", "test acc"),
        rows,
        notes,
        "Optimisers on the same net and data",
    )


def _plot_losses(ctx: Any, runs: dict[str, dict[str, Any]], steps_per_epoch: int) -> None:
    fig, axes = new_figure(1, 2, size=(6.0, 4.2))
    window = max(1, steps_per_epoch // 4)
    for i, (name, r) in enumerate(runs.items()):
        v = np.asarray(r["step_loss"])
        style = "-" if i < 5 else "--"
        for ax in axes[0]:
            ax.plot(np.arange(1, len(v) + 1), smooth(v, window), style, color=f"C{i}", label=name, lw=1.3)
    axes[0, 0].set_title("Training loss per step")
    axes[0, 1].set_title("Training loss per step (log scale)")
    axes[0, 1].set_yscale("log")
    for ax in axes[0]:
        ax.set_xlabel("step (mini-batch)")
        ax.set_ylabel(f"cross-entropy (moving average of {window} steps)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_ylim(0, min(2.5, max(float(np.max(r["step_loss"][:1])) for r in runs.values()) * 1.05))
    axes[0, 1].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    ctx.savefig(fig, "loss.png")


def _plot_accuracy(ctx: Any, runs: dict[str, dict[str, Any]]) -> None:
    fig, axes = new_figure(1, 1, size=(6.4, 4.2))
    ax = axes[0, 0]
    for i, (name, r) in enumerate(runs.items()):
        v = r["history"].get("test_accuracy", [])
        ax.plot(np.arange(1, len(v) + 1), v, "-" if i < 5 else "--", color=f"C{i}", marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("Test accuracy per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ctx.savefig(fig, "test_accuracy.png")
