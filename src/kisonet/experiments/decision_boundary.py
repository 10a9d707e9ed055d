"""Experiment ``decision-boundary``: how the 判別面 (decision surface) forms as the net grows.

Two 2-class problems in the plane, *moons* (two interleaving half-moons) and *spirals* (two
interleaved spiral arms), each classified by a one-hidden-layer net

    p(y = k | x) = softmax( W_2 act(W_1 x + b_1) + b_2 )_k,      W_1 in R^{H x 2}

with H = 2, 4, 16, 64 hidden units, trained full-batch with Adam, once without and once with an
L2 penalty ``(lam/2) ||W||^2``.  With H = 2 the surface is two bent lines at most, too simple for
the spirals; with H = 64 it follows the arms, and without a penalty it also bends round single
noisy points (over-fitting); the penalty keeps it smooth.  The figure is a grid of the decision
regions drawn by :func:`kisonet.viz.decision_boundary`: rows dataset x penalty, columns H.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..lang import tr
from .common import Args, Lesson, Split, experiment, run_config, train

__all__ = ["LESSON", "decision_boundary", "two_d_data"]

LESSON = Lesson(
    shows=(
        "Two hidden units draw an almost straight boundary that cannot follow the moons or the spirals; more "
        "units bend it to fit them. An L2 penalty smooths the boundary of the wide nets and, on the spirals, "
        "costs accuracy by forbidding the sharp turns."
    ),
    reference=(
        "`kisonet experiment decision-boundary` (committed full run: 1500 full-batch Adam steps): train / test "
        "accuracy on the spirals, no penalty — H=2 66/60%, H=4 99/100%, H=16 100/100%, H=64 100/100%; with L2 "
        "0.003 H=64 86/84%; moons H=2 86/83%, H=64 96/92%."
    ),
)

DATASETS = ("moons", "spirals")


def two_d_data(name: str, n_samples: int, noise: float, seed: int, turns: float = 1.5) -> Split:
    """A 2-class 2-D dataset (``'moons'`` or ``'spirals'`` with ``turns`` turns) split 80/20, stratified."""
    from ..data import load_dataset, make_spirals, split_indices

    if name == "spirals":
        X, y = make_spirals(n_samples, 2, noise, turns=turns, seed=seed)
        train_i, test_i = split_indices(y, (0.8, 0.2), True, seed)
        (Xtr, ytr), (Xte, yte) = (X[train_i], y[train_i]), (X[test_i], y[test_i])
    else:
        b = load_dataset(name, seed=seed, n_samples=n_samples, noise=noise)
        (Xtr, ytr), (Xte, yte) = b.train, b.test
    f = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return Split(f(Xtr), ytr.astype(np.int64), f(Xte), yte.astype(np.int64), 2, (2,))


@experiment("decision-boundary", LESSON, needs_data=False)
def decision_boundary(
    args: Args,
    hidden_sizes: Sequence[int] = (2, 4, 16, 64),
    epochs: int | None = None,
    lr: float = 0.01,
    l2: float = 3e-3,
    activation: str = "tanh",
    n_samples: int | None = None,
    datasets: Sequence[str] = DATASETS,
) -> dict[str, Any]:
    """Run the experiment; returns per (dataset, penalty, H) train/test accuracy and the figure.

    Full: 500 points per dataset (400 train / 100 test), 1,500 full-batch Adam steps.  Quick:
    300 points, 800 steps (with 400 the 4-unit net is still stuck on the spirals, which the full
    run fits).  ``dataset`` is ignored (the data are synthetic).
    """
    from dataclasses import replace

    from ..regularizers import L2

    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    epochs = int(epochs if epochs is not None else (800 if quick else 1500))
    n_samples = int(n_samples if n_samples is not None else (300 if quick else 500))
    noise = {"moons": 0.25, "spirals": 0.25}
    from ..errors import unknown_name

    for name in datasets:
        if name not in DATASETS:
            raise unknown_name(tr("2-D dataset"), name, DATASETS)
    datas = {name: two_d_data(name, n_samples, noise[name], seed) for name in datasets}
    ctx.echo(f"  {' and '.join(datas)}, {n_samples} points each (80% train), hidden sizes {list(hidden_sizes)}, "
             f"{epochs} full-batch Adam steps (lr {lr}), L2 λ={l2:g}")  # fmt: skip

    runs: dict[str, Any] = {}
    models: dict[str, Any] = {}
    cfg = run_config(ctx, activation=activation, optimizer="adam", lr=lr, epochs=epochs)
    for name, data in datas.items():
        for lam in (0.0, l2):
            for h in hidden_sizes:
                # full batch: one step an epoch
                r, res = train(replace(cfg, model=f"mlp:{int(h)}", batch_size=len(data.y_train)), data,
                               regularizer=L2(lam) if lam else None, test_every_epoch=False)  # fmt: skip
                model = res.model
                key = f"{name}|{'L2' if lam else 'none'}|{h}"
                hist = r.pop("history")
                r.update(dataset=name, l2=lam, hidden=int(h), final_loss=hist["train_loss"][-1],
                         loss_curve=hist["train_loss"][:: max(1, epochs // 200)])  # fmt: skip
                runs[key] = r
                models[key] = model
                ctx.echo(f"  {name:8s} {'L2' if lam else '  '} H={h:<3d} train {r['train_acc']:.3f}  "
                         f"test {r['test_acc']:.3f}")  # fmt: skip

    _plot(ctx, datas, runs, models, hidden_sizes, l2)
    rows = []
    for name in datas:
        for pen in ("none", "L2"):
            cells = [_cell(runs[f"{name}|{pen}|{h}"]) for h in hidden_sizes]
            rows.append((name, "—" if pen == "none" else f"L2 {l2:g}", *cells))
    notes = (f"Cells: train / test accuracy (%). One hidden layer of H {activation} units, {epochs} full-batch Adam "
             f"steps (lr {lr}); {n_samples} points per dataset, noise 0.25, 20% held out.")  # fmt: skip
    return ctx.finish(
        {"runs": runs, "hidden_sizes": list(hidden_sizes), "epochs": epochs, "lr": lr, "l2": l2,
         "activation": activation, "n_samples": n_samples, "datasets": list(datas)},
        ("data", "penalty", *[f"H={h}" for h in hidden_sizes]), rows, notes,
        "Decision boundaries (判別面): hidden units x L2 penalty",
    )  # fmt: skip


def _cell(run: dict[str, Any]) -> str:
    return f"{100 * run['train_acc']:.0f} / {100 * run['test_acc']:.0f}"


def _plot(ctx: Any, datas: dict[str, Split], runs: dict[str, Any], models: dict[str, Any],
          hidden_sizes: Sequence[int], l2: float) -> None:  # fmt: skip
    from .. import viz
    from .common import new_figure

    nrow, ncol = 2 * len(datas), len(hidden_sizes)
    fig, axes = new_figure(nrow, ncol, size=(3.3, 3.1))
    r = 0
    for name, data in datas.items():
        for pen in ("none", "L2"):
            for c, h in enumerate(hidden_sizes):
                key = f"{name}|{pen}|{h}"
                ax = axes[r, c]
                viz.decision_boundary(models[key], data.X_train, data.y_train, resolution=150, ax=ax)
                run = runs[key]
                ax.set_title(f"H={h}: train {100 * run['train_acc']:.0f}%, test {100 * run['test_acc']:.0f}%",
                             fontsize=9.5)  # fmt: skip
                ax.set_xlabel("")
                ax.set_ylabel("")
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(f"{name}\n{'no penalty' if pen == 'none' else f'L2 λ={l2:g}'}", fontsize=11)
            r += 1
    fig.suptitle("Decision boundaries as the hidden layer grows, without and with an L2 penalty",
                 fontsize=13)  # fmt: skip
    fig.tight_layout()
    ctx.savefig(fig, "decision_boundary.png")
