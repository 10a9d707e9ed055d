"""Experiment ``double-descent``: test error against model width on a small training set.

Classical statistics says the test error is U-shaped in model size: too small under-fits, too big
over-fits.  Past the *interpolation threshold* -- the size at which the model can just fit every
training label, noise included -- the test error comes down again ("double descent", Belkin et
al. 2019; Nakkiran et al. 2020).  Two views, on a small training set with some labels flipped:

random features    h(x) = relu(V x) with V random and fixed, H features; the output layer is the
                   minimum-norm least-squares fit of the one-hot targets, W = Y^T pinv(H) (the
                   limit of gradient descent from W = 0).  The peak sits at H = n, where
                   the system is square and ill-conditioned.
trained nets       one hidden layer of H ReLU units, trained end-to-end (Adam, cross-entropy, no
                   regularisation, no early stopping) until the training set is fitted.

Both are kisonet models (the random features are a ``Linear`` layer's forward pass).  The
inputs are the images average-pooled 2x2 (14x14 for MNIST) to keep the sweep affordable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import Args, Lesson, Split, experiment, new_figure, run_config, train

__all__ = ["LESSON", "double_descent", "random_features_fit"]

LESSON = Lesson(
    shows=(
        "Test error against model size is not simply U-shaped: for random features it peaks where the number "
        "of features equals the number of training points (the interpolation threshold) and falls again "
        "beyond it; trained nets show a milder bump where they start to fit the noisy labels."
    ),
    reference=(
        "`kisonet experiment double-descent --data-dir ../shared/data/mnist` (committed full run: 1,000 images, "
        "15% labels flipped): random-features test error 15.3% at H=200, 89.3% at H=1000 = n, 16.9% at "
        "H=10000; trained nets best 13.6% at H=12, 16.0% at H=48, 13.6% at H=1024."
    ),
)


def _pool(X: np.ndarray, shape: tuple[int, ...], factor: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Average-pool square images by ``factor`` (no-op when they do not divide)."""
    from ..models import image_shape

    if factor <= 1:
        return X, shape
    c, h, w = image_shape("double-descent", shape)
    if h % factor or w % factor or min(h, w) < 16:  # small images (8x8 digits) are kept as they are
        return X, shape
    Y = X.reshape(len(X), c, h // factor, factor, w // factor, factor).mean(axis=(3, 5))
    return np.ascontiguousarray(Y.reshape(len(X), -1), dtype=X.dtype), (c, h // factor, w // factor)


def _flip(y: np.ndarray, fraction: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``fraction`` of the labels by a different random class; return (labels, flipped mask)."""
    rng = np.random.default_rng(seed + 12345)
    y = y.copy()
    idx = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=len(idx))) % n_classes
    mask = np.zeros(len(y), dtype=bool)
    mask[idx] = True
    return y, mask


def random_features_fit(data: Split, width: int, seed: int) -> dict[str, float]:
    """Min-norm least squares on H = ``width`` random ReLU features (a fixed He-initialised ``Linear``)."""
    from .. import nn
    from .. import random as kr
    from ..autograd import Tensor, no_grad

    kr.manual_seed(seed)
    feat = nn.Sequential(nn.Linear(data.n_features, width, init="he"), nn.ReLU())
    with no_grad():
        Htr = feat(Tensor(data.X_train)).data.astype(np.float64)  # float64: the solve is ill-conditioned at H ~ n
        Hte = feat(Tensor(data.X_test)).data
    Y = np.eye(data.n_classes)[data.y_train]
    # lstsq returns the minimum-norm solution when the system is under-determined (H > n)
    W, *_ = np.linalg.lstsq(Htr, Y, rcond=None)
    ptr, pte = Htr @ W, Hte @ W.astype(Hte.dtype)
    return {
        "train_err": float(np.mean(ptr.argmax(1) != data.y_train)),
        "test_err": float(np.mean(pte.argmax(1) != data.y_test)),
        "train_mse": float(np.mean((ptr - Y) ** 2)),
        "test_mse": float(np.mean((pte - np.eye(data.n_classes)[data.y_test]) ** 2)),
        "weight_norm": float(np.linalg.norm(W)),
    }


def _trained_fit(cfg: Any, data: Split, width: int) -> dict[str, float]:
    """One hidden layer of ``width`` units trained end-to-end (``cfg``: Adam, no penalty, no early stop)."""
    from dataclasses import replace

    run, res = train(replace(cfg, model=f"mlp:{int(width)}"), data, test_every_epoch=False)
    test, train_ = res.trainer.evaluate(data.test), res.trainer.evaluate(data.train)
    return {"train_err": 1.0 - run["train_acc"], "test_err": 1.0 - run["test_acc"],
            "train_loss": float(train_["loss"]), "test_loss": float(test["loss"]),
            "n_params": int(sum(p.size for p in res.model.parameters()))}  # fmt: skip


@experiment("double-descent", LESSON)
def double_descent(
    args: Args,
    n_train: int | None = None,
    label_noise: float = 0.15,
    widths: Sequence[int] | None = None,
    rf_widths: Sequence[int] | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    pool: int = 2,
) -> dict[str, Any]:
    """Run the experiment; returns train/test error against width for both model families.

    Full: 1,000 training images (15 % of their labels flipped), 2,000 test images, random-feature
    widths from 50 to 10,000, trained nets of width 2 to 1,024 for 150 epochs.  Quick: 200 / 300
    images, a handful of widths, trained nets of width 2 to 512 for 300 epochs (Adam lr 3e-3).
    """
    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    n_train = int(n_train if n_train is not None else (200 if quick else 1000))
    epochs = int(epochs if epochs is not None else (300 if quick else 150))
    # quick: 200 images and batch 100 give 2 steps an epoch; lr 3e-3 lets the wide nets fit the noisy labels
    lr = float(lr if lr is not None else (3e-3 if quick else 1e-3))
    data = ctx.load(n_train, 300 if quick else None)
    Xtr, shape = _pool(data.X_train, data.input_shape, pool)
    Xte, _ = _pool(data.X_test, data.input_shape, pool)
    y_noisy, flipped = _flip(data.y_train, label_noise, data.n_classes, seed)
    data = Split(Xtr, y_noisy, Xte, data.y_test, data.n_classes, shape)
    n = len(data.y_train)
    if rf_widths is None:
        rf_widths = ((20, 100, 200, 400, 1000) if quick else
                     (50, 100, 200, 400, 600, 800, 900, 950, 1000, 1050, 1100, 1200, 1500, 2000, 3000, 5000,
                      10000))  # fmt: skip
        rf_widths = tuple(w for w in rf_widths if quick or w <= 20 * n)
        if quick:
            rf_widths = tuple(sorted({max(2, int(f * n)) for f in (0.1, 0.5, 1.0, 2.0, 5.0)}))
    if widths is None:
        widths = (2, 8, 32, 128, 512) if quick else (2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024)
    ctx.echo(f"  {n} training images ({100 * label_noise:.0f}% labels flipped), inputs pooled to {shape}; "
             f"random features H in {list(rf_widths)}; trained nets H in {list(widths)} "
             f"({epochs} epochs, Adam lr {lr})")  # fmt: skip

    rf: list[dict[str, Any]] = []
    for w in rf_widths:
        r = random_features_fit(data, int(w), seed)
        rf.append({"width": int(w), **r})
        ctx.echo(f"  random features H={w:6d}: train err {r['train_err']:.3f}  test err {r['test_err']:.3f}  "
                 f"||W|| {r['weight_norm']:.1f}")  # fmt: skip
    nets: list[dict[str, Any]] = []
    cfg = run_config(ctx, init="he", optimizer="adam", lr=lr, epochs=epochs, batch_size=100)
    for w in widths:
        r = _trained_fit(cfg, data, int(w))
        nets.append({"width": int(w), **r})
        ctx.echo(f"  trained net     H={w:6d}: train err {r['train_err']:.3f}  test err {r['test_err']:.3f}  "
                 f"test loss {r['test_loss']:.2f}")  # fmt: skip

    peak_rf = max(rf, key=lambda r: r["test_err"])
    # trained nets: the classical optimum among the nets that cannot fit the flipped labels
    # (train error >= the noise level), then the worst net among those that do (the bump)
    under = [r for r in nets if r["train_err"] >= label_noise] or nets[:1]
    over = [r for r in nets if r["train_err"] < label_noise] or nets[-1:]
    best_under = min(under, key=lambda r: r["test_err"])
    peak_net = max(over, key=lambda r: r["test_err"])
    _plot(ctx, rf, nets, n, label_noise, data.n_features)
    rows = ([("random features", r["width"], f"{100 * r['train_err']:.1f}%", f"{100 * r['test_err']:.1f}%",
              f"{r['test_mse']:.3g}") for r in rf]
            + [("trained net", r["width"], f"{100 * r['train_err']:.1f}%", f"{100 * r['test_err']:.1f}%",
                f"{r['test_loss']:.3g}") for r in nets])  # fmt: skip
    notes = (f"{n} training images, {100 * label_noise:.0f}% of their labels flipped; inputs {data.n_features}-d. "
             f"Random features: test error peaks at H={peak_rf['width']} (n={n}). Trained nets: best "
             f"{100 * best_under['test_err']:.1f}% at H={best_under['width']} while they cannot fit the noise, "
             f"{100 * peak_net['test_err']:.1f}% at H={peak_net['width']} once they start to, "
             f"{100 * nets[-1]['test_err']:.1f}% at H={nets[-1]['width']}. Test loss column: MSE for random "
             "features, cross-entropy for trained nets.")  # fmt: skip
    return ctx.finish(
        {"random_features": rf, "trained": nets, "n_train": n, "label_noise": label_noise,
         "n_flipped": int(flipped.sum()), "epochs": epochs, "lr": lr, "input_dim": data.n_features,
         "rf_peak_width": peak_rf["width"], "trained_best_underfit_width": best_under["width"],
         "trained_peak_width": peak_net["width"]},
        ("model", "width H", "train error", "test error", "test loss"), rows, notes,
        "Double descent: test error against width",
    )  # fmt: skip


def _plot(ctx: Any, rf: list[dict[str, Any]], nets: list[dict[str, Any]], n: int, noise: float, d: int) -> None:
    fig, axes = new_figure(1, 2, size=(5.6, 4.0))
    ax, ax2 = axes[0]
    w = [r["width"] for r in rf]
    ax.plot(w, [100 * r["test_err"] for r in rf], "o-", color="C3", label="test error")
    ax.plot(w, [100 * r["train_err"] for r in rf], "s--", color="C0", label="train error")
    ax.axvline(n, color="k", ls=":", lw=1)
    ax.annotate(f"H = n = {n}\n(interpolation\nthreshold)", (n, ax.get_ylim()[1] * 0.75), fontsize=8,
                ha="left", xytext=(5, 0), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("number of random ReLU features H (log)")
    ax.set_ylabel("error (%)")
    ax.set_title("Random features + min-norm least squares")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    axm = ax.twinx()
    axm.plot(w, [r["test_mse"] for r in rf], "^:", color="C1", ms=4)
    axm.set_yscale("log")
    axm.set_ylabel("test MSE (log)", color="C1")

    w2 = [r["width"] for r in nets]
    ax2.plot(w2, [100 * r["test_err"] for r in nets], "o-", color="C3", label="test error")
    ax2.plot(w2, [100 * r["train_err"] for r in nets], "s--", color="C0", label="train error")
    ax2.axhline(100 * noise, color="gray", ls=":", lw=1, label=f"label noise ({100 * noise:.0f}%)")
    # zoom on the region of interest: the tiny nets' large errors would flatten the bump
    tail = [100 * r["test_err"] for r in nets if r["width"] >= 8] or [100 * r["test_err"] for r in nets]
    top = min(100.0, 1.6 * max(tail))
    ax2.set_ylim(0, top)
    off = [f"H={r['width']}: {100 * r['test_err']:.0f}%" for r in nets if 100 * r["test_err"] > top]
    if off:
        ax2.annotate("off scale: " + ", ".join(off), (0.03, 0.97), xycoords="axes fraction", va="top", fontsize=8,
                     color="C3")  # fmt: skip
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("hidden units H (log)")
    ax2.set_ylabel("error (%)")
    ax2.set_title(f"Trained 1-hidden-layer nets ({d}→H→10)")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8, loc="upper right")
    ax3 = ax2.twinx()
    ax3.plot(w2, [r["test_loss"] for r in nets], "^:", color="C1", ms=4)
    ax3.set_ylabel("test cross-entropy", color="C1")
    fig.suptitle(f"Double descent: {n} training images, {100 * noise:.0f}% noisy labels", fontsize=12)
    fig.tight_layout()
    ctx.savefig(fig, "double_descent.png")
