"""Experiment ``bias-variance``: the bias-variance decomposition, measured over resampled training sets.

The E-certificate deck (DAY 2, 正則化の意義) splits the mean squared error of a model y(x; D)
trained on a data set D, against the truth h(x), into

    E_D[{y(x; D) - h(x)}^2] = {E_D[y(x; D)] - h(x)}^2  +  E_D[{y(x; D) - E_D[y(x; D)]}^2]
                              (bias^2)                    (variance: バリエーション)

and against noisy targets t = h(x) + e, e ~ N(0, sigma^2), a third term, the noise sigma^2.
Here every expectation is an average over ``n_sets`` training sets of ``n_points`` noisy samples
of h(x) = sin(pi x) at evenly spaced x in [-1, 1], each fitted by least squares
(``kisonet.train.polynomial_fit``):

* across capacity (polynomial degree 0 ... 13; degree 14 would interpolate the 15 points):
  bias^2 falls, variance rises, and their sum plus the noise -- which matches the measured test
  error on fresh noisy targets -- is U-shaped;
* at a high degree, across the L2 penalty alpha (the deck: "to reduce the variance, limit the
  model's complexity"): variance falls and bias^2 rises as alpha grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import Args, Lesson, experiment

__all__ = ["LESSON", "bias_variance", "decompose"]

LESSON = Lesson(
    shows=(
        "Averaged over many resampled training sets, a low-degree polynomial is wrong on average (large bias², "
        "small variance) and a high-degree one is right on average but swings with every new training set "
        "(small bias², large variance). bias² + variance + noise equals the measured test error and is U-shaped "
        "in the degree, lowest at a middle capacity; at a fixed high degree an L2 penalty trades variance for "
        "bias the same way."
    ),
    reference=(
        "`kisonet experiment bias-variance` (h(x) = sin(πx), 15 points per set, noise σ = 0.3, 1000 training "
        "sets): bias² / variance / test MSE — degree 1: 0.209 / 0.012 / 0.311, degree 3: 0.0059 / 0.021 / 0.117 "
        "(the minimum), degree 13: 0.0008 / 3.30 / 3.39; noise σ² = 0.09. L2 at degree 13: variance 3.3 (α = 0) "
        "→ 0.0046 (α = 10), bias² 0.0008 → 0.336."
    ),
)


def decompose(
    x_test: np.ndarray, h_test: np.ndarray, preds: np.ndarray, noise_var: float, t_test: np.ndarray
) -> dict[str, float]:
    """bias^2, variance, noise and the measured test MSE from ``preds`` (n_sets, n_test).

    ``t_test`` (n_sets, n_test) are fresh noisy targets, one draw per training set: the measured
    error ``mean (y - t)^2`` is the left-hand side the three terms must add up to.
    """
    mean = preds.mean(axis=0)
    bias2 = float(np.mean((mean - h_test) ** 2))
    var = float(np.mean((preds - mean) ** 2))
    mse = float(np.mean((preds - t_test) ** 2))
    return {"bias2": bias2, "variance": var, "noise": float(noise_var), "sum": bias2 + var + noise_var,
            "test_mse": mse}  # fmt: skip


@experiment("bias-variance", LESSON, needs_data=False)
def bias_variance(
    args: Args,
    n_sets: int | None = None,
    n_points: int = 15,
    noise: float = 0.3,
    degrees: Sequence[int] | None = None,
    ridge_degree: int = 13,
    alphas: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns bias^2, variance, noise and test MSE per degree and per alpha.

    Full: 1,000 training sets of 15 points per degree (0 ... 13) and per alpha.  Quick: 200 sets.
    """
    from ..train import polynomial_fit, polynomial_predict

    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    n_sets = int(n_sets if n_sets is not None else (200 if quick else 1000))
    degrees = [int(d) for d in (degrees if degrees is not None else range(14))]
    alphas = [float(a) for a in (alphas if alphas is not None else (0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0))]
    rng = np.random.default_rng(seed)
    x_test = np.linspace(-1, 1, 201)
    h_test = np.sin(np.pi * x_test)
    # the same training sets for every model: differences between models are not resampling noise
    # fixed, evenly spaced inputs (Bishop's set-up): a training set is a new draw of the noise on them;
    # with random inputs a high-degree fit on a set with a gap explodes there and swamps the averages
    X = np.broadcast_to(np.linspace(-1, 1, n_points), (n_sets, n_points))
    T = np.sin(np.pi * X) + noise * rng.standard_normal(X.shape)
    T_test = h_test + noise * rng.standard_normal((n_sets, len(x_test)))
    ctx.echo(f"  h(x) = sin(πx) on [-1, 1], {n_points} points per set, noise σ = {noise:g}, {n_sets} training sets")

    def fits(degree: int, alpha: float) -> np.ndarray:
        return np.stack([polynomial_predict(polynomial_fit(X[r], T[r], degree, alpha), x_test)
                         for r in range(n_sets)])  # fmt: skip

    by_degree = []
    kept: dict[int, np.ndarray] = {}
    for d in degrees:
        P = fits(d, 0.0)
        row = {"degree": d, **decompose(x_test, h_test, P, noise**2, T_test)}
        by_degree.append(row)
        kept[d] = P[:20]
        ctx.echo(f"  degree {d:2d}: bias² {row['bias2']:.4g}  variance {row['variance']:.4g}  "
                 f"sum {row['sum']:.4g}  measured test MSE {row['test_mse']:.4g}")  # fmt: skip
    by_alpha = []
    for a in alphas:
        row = {"alpha": a, **decompose(x_test, h_test, fits(ridge_degree, a), noise**2, T_test)}
        by_alpha.append(row)
        ctx.echo(f"  degree {ridge_degree}, alpha {a:g}: bias² {row['bias2']:.4g}  variance {row['variance']:.4g}")

    best = min(by_degree, key=lambda r: r["sum"])
    _plot(ctx, by_degree, by_alpha, kept, x_test, h_test, X, T, ridge_degree, n_sets)
    rows = [(r["degree"], r["bias2"], r["variance"], r["noise"], r["sum"], r["test_mse"]) for r in by_degree]
    notes = (f"h(x) = sin(πx), {n_points} points per training set, noise σ = {noise:g}, {n_sets} training sets, "
             f"least-squares polynomials. The sum bias² + variance + noise is lowest at degree {best['degree']} "
             f"({best['sum']:.3g}); the measured test MSE on fresh noisy targets agrees with the sum. L2 at degree "
             f"{ridge_degree}: variance {by_alpha[0]['variance']:.3g} (α = {alphas[0]:g}) -> "
             f"{by_alpha[-1]['variance']:.3g} (α = {alphas[-1]:g}), bias² {by_alpha[0]['bias2']:.3g} -> "
             f"{by_alpha[-1]['bias2']:.3g}.")  # fmt: skip
    return ctx.finish(
        {"by_degree": by_degree, "by_alpha": by_alpha, "best_degree": best["degree"], "n_sets": n_sets,
         "n_points": n_points, "noise": noise, "ridge_degree": ridge_degree},
        ("degree", "bias²", "variance", "noise σ²", "bias² + variance + noise", "measured test MSE"),
        rows, notes, "The bias-variance decomposition across capacity", lesson=LESSON,
    )  # fmt: skip


def _plot(
    ctx: Any,
    by_degree: list[dict[str, Any]],
    by_alpha: list[dict[str, Any]],
    kept: dict[int, np.ndarray],
    x: np.ndarray,
    h: np.ndarray,
    X: np.ndarray,
    T: np.ndarray,
    ridge_degree: int,
    n_sets: int,
) -> None:
    from ..viz import new_figure as blank_figure

    fig = blank_figure((14.0, 8.0))
    gs = fig.add_gridspec(2, 3, hspace=0.4, wspace=0.3)
    ax = fig.add_subplot(gs[0, :2])
    d = [r["degree"] for r in by_degree]
    for key, label, marker, color in (("bias2", "bias²", "o-", "C0"), ("variance", "variance", "s-", "C3"),
                                      ("noise", "noise σ²", "--", "C7"), ("sum", "bias² + variance + noise", "-", "k"),
                                      ("test_mse", "measured test MSE", "x:", "C2")):  # fmt: skip
        ax.semilogy(d, [max(r[key], 1e-6) for r in by_degree], marker, color=color, label=label,
                    lw=2 if key == "sum" else 1.3)  # fmt: skip
    ax.set_xlabel("polynomial degree (capacity)")
    ax.set_ylabel("squared error (log)")
    ax.set_title(f"Averages over {n_sets} resampled training sets")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax = fig.add_subplot(gs[0, 2])
    a = [max(r["alpha"], 1e-8) for r in by_alpha]
    ax.loglog(a, [max(r["bias2"], 1e-8) for r in by_alpha], "o-", color="C0", label="bias²")
    ax.loglog(a, [max(r["variance"], 1e-8) for r in by_alpha], "s-", color="C3", label="variance")
    ax.set_xlabel(f"L2 penalty α (degree {ridge_degree}; α = 0 drawn at 1e-8)")
    ax.set_title("Regularisation trades variance for bias")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    shown = [k for k in (1, 3, max(kept)) if k in kept]
    for i, deg in enumerate(shown):
        ax = fig.add_subplot(gs[1, i])
        for p in kept[deg]:
            ax.plot(x, p, color="C3", alpha=0.25, lw=0.8)
        ax.plot(x, kept[deg].mean(axis=0), color="C0", lw=2, label="mean of these fits")
        ax.plot(x, h, "k--", lw=1.5, label="truth h(x)")
        ax.plot(X[0], T[0], "k.", ms=4)
        ax.set_ylim(-2, 2)
        ax.set_title(f"degree {deg}: 20 fits on 20 training sets", fontsize=10)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Bias-variance decomposition: E[(y - t)²] = bias² + variance + noise", fontsize=13)
    ctx.savefig(fig, "bias_variance.png")
