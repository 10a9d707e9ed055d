"""Experiment ``early-stopping-vs-l2``: early stopping acts as an implicit L2 penalty.

The E-certificate deck (DAY 2, 正則化項としての早期終了) draws the early-stopped weights next to
the L2-regularised minimum.  On a quadratic loss this is exact algebra (Goodfellow et al. 2016,
sec. 7.8).  For least squares E(w) = (1/2N) ||X w - y||^2 with Hessian H = X^T X / N = V diag(lam) V^T
and minimum w*, gradient descent from w = 0 with step eps gives after tau steps, along each
eigenvector v_i,

    (V^T w_tau)_i   = [1 - (1 - eps lam_i)^tau]      (V^T w*)_i       early stopping
    (V^T w_alpha)_i = [lam_i / (lam_i + alpha)]       (V^T w*)_i       L2 penalty (alpha/2)||w||^2

Both filters keep the directions of large curvature (lam_i >> alpha) and suppress the flat ones,
and for small eps lam_i they coincide when alpha = 1 / (eps tau): stopping early is choosing a
strength.  Measured here with kisonet:

* a 2-D problem with one steep and one flat direction: the path of full-batch gradient descent
  (``kisonet.optim.SGD`` on a bias-free ``nn.Linear``, MSE) drawn over the loss contours next to
  the path of the ridge solutions (``kisonet.train.LinearRegression(alpha=...)``) as alpha falls;
* a 40-feature regression with 50 noisy training points: the weight norm and the test error of
  the early-stopped weights against tau, and of the ridge weights at the matched alpha = 1/(eps tau);
  the per-direction filters measured from the weights against both formulas.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure

__all__ = ["LESSON", "early_stopping_vs_l2", "gd_path", "ridge"]

LESSON = Lesson(
    shows=(
        "Gradient descent started from w = 0 and stopped after τ steps lands close to the L2-regularised "
        "solution with α = 1/(ετ): in 2-D the two paths nearly coincide, bending along the steep direction "
        "first; in 40-D the weight norm and the test error of the early-stopped weights trace the same "
        "U-shaped curve as those of ridge regression at the matched strength, and the measured per-direction "
        "filters 1 - (1 - ελ)^τ and λ/(λ + α) have the same shape: stopping early is choosing an L2 strength."
    ),
    reference=(
        "`kisonet experiment early-stopping-vs-l2` (40 features, 50 training points, noise σ = 1, ε = 0.5, "
        "3000 steps): best test MSE early stopping 1.473 at τ = 86, L2 1.477 at α = 0.0171 = 1/(ε·117); at "
        "τ = 3000 4.39, least squares 6.98; median ‖w_τ − w_α‖/‖w_α‖ at matched strength 0.21; measured filter "
        "= 1 − (1 − ελ)^τ to 9e-06."
    ),
)


def gd_path(X: np.ndarray, y: np.ndarray, lr: float, steps: int, record: np.ndarray) -> np.ndarray:
    """Full-batch gradient descent on (1/2N)||X w - y||^2 from w = 0 with kisonet (``nn.Linear``, MSE, SGD);
    returns the weights after each number of steps in ``record`` (sorted), shape (len(record), d)."""
    from .. import nn
    from ..autograd import Tensor
    from ..nn import functional as F  # noqa: N812
    from ..optim import SGD

    d = X.shape[1]
    model = nn.Linear(d, 1, bias=False)
    model.weight.data[...] = 0.0
    opt = SGD(model.parameters(), lr=lr)
    Xt, yt = Tensor(X.astype(np.float32)), Tensor(y.astype(np.float32)[:, None])
    want = set(int(r) for r in record)
    out = {0: np.zeros(d)} if 0 in want else {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = 0.5 * F.mse_loss(model(Xt), yt)  # (1/2N) ||X w - y||^2
        loss.backward()
        opt.step()
        if step in want:
            out[step] = np.array(model.weight.data[0], dtype=np.float64)
    return np.stack([out[int(r)] for r in record])


def ridge(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """argmin (1/2N)||X w - y||^2 + (alpha/2)||w||^2 with ``kisonet.train.LinearRegression``
    (whose penalty is on the unnormalised sum: strength N alpha)."""
    from ..train import LinearRegression

    return np.asarray(LinearRegression(fit_intercept=False, alpha=len(y) * alpha).fit(X, y).coef_, dtype=np.float64)


def _problem(rng: np.random.Generator, n: int, d: int, scales: np.ndarray, w_true: np.ndarray, noise: float):
    X = rng.standard_normal((n, d)) * scales
    return X, X @ w_true + noise * rng.standard_normal(n)


@experiment("early-stopping-vs-l2", LESSON, needs_data=False)
def early_stopping_vs_l2(
    args: Args,
    lr: float = 0.5,
    steps: int | None = None,
    n_features: int = 40,
    n_train: int = 50,
    noise: float = 1.0,
) -> dict[str, Any]:
    """Run the experiment; returns both paths, test errors, norms and the measured filters.

    Full: 3,000 gradient steps (ε = 0.5) on the 40-feature problem.  Quick: 600 steps.
    """
    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    steps = int(steps if steps is not None else (600 if quick else 3000))
    rng = np.random.default_rng(seed)

    # --- 2-D: one steep, one flat direction ------------------------------------------------------
    X2, y2 = _problem(rng, 40, 2, np.array([1.0, 0.2]), np.array([1.0, 2.0]), 0.3)
    rec2 = np.unique(np.round(np.geomspace(1, steps, 60)).astype(int))
    path_gd2 = np.vstack([np.zeros(2), gd_path(X2, y2, lr, steps, rec2)])
    alphas2 = 1.0 / (lr * rec2)
    path_l2 = np.vstack([np.zeros(2), np.stack([ridge(X2, y2, a) for a in alphas2])])
    w_ls2 = ridge(X2, y2, 0.0)
    ctx.echo(f"  2-D: least squares w* = ({w_ls2[0]:.3f}, {w_ls2[1]:.3f}); GD after {steps} steps "
             f"({path_gd2[-1][0]:.3f}, {path_gd2[-1][1]:.3f})")  # fmt: skip

    # --- 40-D: early stopping vs ridge at matched strength -------------------------------------
    d = n_features
    scales = np.geomspace(1.0, 0.05, d)  # curvatures from 1 down to 0.0025
    w_true = rng.standard_normal(d)
    X, y = _problem(rng, n_train, d, scales, w_true, noise)
    Xte, yte = _problem(rng, 5000, d, scales, w_true, noise)
    rec = np.unique(np.round(np.geomspace(1, steps, 50 if quick else 80)).astype(int))
    W_gd = gd_path(X, y, lr, steps, rec)
    alphas = 1.0 / (lr * rec)
    W_l2 = np.stack([ridge(X, y, a) for a in alphas])
    w_ls = ridge(X, y, 0.0)

    def test_mse(W: np.ndarray) -> np.ndarray:
        return np.mean((Xte @ W.T - yte[:, None]) ** 2, axis=0)

    mse_gd, mse_l2 = test_mse(W_gd), test_mse(W_l2)
    norm_gd, norm_l2 = np.linalg.norm(W_gd, axis=1), np.linalg.norm(W_l2, axis=1)
    rel = np.linalg.norm(W_gd - W_l2, axis=1) / np.maximum(norm_l2, 1e-12)
    i_gd, i_l2 = int(np.argmin(mse_gd)), int(np.argmin(mse_l2))
    mse_ls = float(test_mse(w_ls[None])[0])
    ctx.echo(
        f"  40-D: best test MSE early stopping {mse_gd[i_gd]:.3f} at τ={rec[i_gd]}, ridge {mse_l2[i_l2]:.3f} "
        f"at α={alphas[i_l2]:.3g}; least squares {mse_ls:.3f}; median ‖w_τ−w_α‖/‖w_α‖ {np.median(rel):.3f}"
    )

    # measured filters along H's eigenvectors, at three stopping times
    H = X.T @ X / n_train
    lam, V = np.linalg.eigh(H)
    proj_ls = V.T @ w_ls
    shown = [int(t) for t in rec[np.searchsorted(rec, [10, 100, 1000 if not quick else 300])]]
    filters = {}
    for t in shown:
        k = int(np.flatnonzero(rec == t)[0])
        filters[str(t)] = {
            "measured_gd": ((V.T @ W_gd[k]) / proj_ls).tolist(),
            "measured_l2": ((V.T @ W_l2[k]) / proj_ls).tolist(),
            "formula_gd": (1 - (1 - lr * lam) ** t).tolist(),
            "formula_l2": (lam / (lam + 1.0 / (lr * t))).tolist(),
        }
    filt_err = max(float(np.max(np.abs(np.asarray(f["measured_gd"]) - np.asarray(f["formula_gd"]))))
                   for f in filters.values())  # fmt: skip

    _plot(ctx, X2, y2, path_gd2, path_l2, w_ls2, rec, alphas, mse_gd, mse_l2, norm_gd, norm_l2, mse_ls, lam,
          filters, lr)  # fmt: skip
    rows = [
        ("best test MSE", f"{mse_gd[i_gd]:.3f} (τ = {rec[i_gd]})", f"{mse_l2[i_l2]:.3f} (α = {alphas[i_l2]:.3g})"),
        ("‖w‖ there", f"{norm_gd[i_gd]:.3f}", f"{norm_l2[i_l2]:.3f}"),
        (f"at τ = {steps} / α = {alphas[-1]:.2g}", f"{mse_gd[-1]:.3f}", f"{mse_l2[-1]:.3f}"),
        ("least squares (τ → ∞, α = 0)", f"{mse_ls:.3f}", f"{mse_ls:.3f}"),
    ]
    notes = (
        f"Full-batch gradient descent from w = 0, ε = {lr:g}; ridge at α = 1/(ετ). {d} features with "
        f"curvatures λ from {lam.max():.2g} to {lam.min():.2g}, {n_train} training points, noise σ = "
        f"{noise:g}, 5000 test points. Relative distance ‖w_τ − w_α‖/‖w_α‖ at matched strength: median "
        f"{np.median(rel):.3f}. The measured early-stopping filter matches 1 − (1 − ελ)^τ to {filt_err:.1e}."
    )
    return ctx.finish(
        {"lr": lr, "steps": steps, "taus": rec.tolist(), "alphas": alphas.tolist(), "test_mse_gd": mse_gd,
         "test_mse_l2": mse_l2, "norm_gd": norm_gd, "norm_l2": norm_l2, "relative_distance": rel,
         "median_relative_distance": float(np.median(rel)), "test_mse_least_squares": mse_ls,
         "best_gd": {"tau": int(rec[i_gd]), "test_mse": float(mse_gd[i_gd])},
         "best_l2": {"alpha": float(alphas[i_l2]), "test_mse": float(mse_l2[i_l2])},
         "eigenvalues": lam, "filters": filters, "filter_formula_error": filt_err,
         "path_2d": {"gd": path_gd2, "l2": path_l2, "least_squares": w_ls2}},
        ("quantity", "early stopping (τ steps)", "L2 (α = 1/(ετ))"), rows, notes,
        "Early stopping as an implicit L2 penalty", lesson=LESSON,
    )  # fmt: skip


def _plot(ctx: Any, X2: np.ndarray, y2: np.ndarray, path_gd: np.ndarray, path_l2: np.ndarray, w_ls: np.ndarray,
          rec: np.ndarray, alphas: np.ndarray, mse_gd: np.ndarray, mse_l2: np.ndarray, norm_gd: np.ndarray,
          norm_l2: np.ndarray, mse_ls: float, lam: np.ndarray, filters: dict[str, Any], lr: float) -> None:  # fmt: skip
    fig, axes = new_figure(1, 4, size=(4.4, 3.9))
    ax = axes[0, 0]
    lo = np.minimum(path_gd.min(axis=0), 0) - 0.3
    hi = np.maximum(path_gd.max(axis=0), w_ls) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    W = np.stack([g0.ravel(), g1.ravel()], axis=1)
    E = 0.5 * np.mean((X2 @ W.T - y2[:, None]) ** 2, axis=0).reshape(g0.shape)
    ax.contour(g0, g1, E, levels=np.quantile(E, np.linspace(0.01, 0.9, 14)), colors="0.7", linewidths=0.7)
    ax.plot(path_gd[:, 0], path_gd[:, 1], "o-", ms=2.5, color="C3", label="gradient descent, τ = 0, 1, ...")
    ax.plot(path_l2[:, 0], path_l2[:, 1], "-", lw=2, color="C0", alpha=0.7, label="L2 minimum, α = 1/(ετ)")
    ax.plot(*w_ls, "k*", ms=10, label="least squares w*")
    ax.set_xlabel("w₁ (steep direction)")
    ax.set_ylabel("w₂ (flat direction)")
    ax.set_title("2-D: the two paths from w = 0")
    ax.legend(fontsize=7, loc="lower right")
    panels = ((mse_gd, mse_l2, "early stopping after τ steps", "L2 with α = 1/(ετ)",
               "τ (gradient steps);  α = 1/(ετ)", "test MSE", "40-D: test error"),
              (norm_gd, norm_l2, "early stopping", "L2, α = 1/(ετ)", "τ (gradient steps)", "‖w‖",
               "40-D: the weight norm grows with τ"))  # fmt: skip
    for ax, (gd, l2, label_gd, label_l2, xlabel, ylabel, title) in zip(axes[0, 1:3], panels, strict=True):
        ax.semilogx(rec, gd, "-", color="C3", label=label_gd)
        ax.semilogx(rec, l2, "--", color="C0", label=label_l2)
        if ylabel == "test MSE":
            ax.axhline(mse_ls, color="k", ls=":", lw=1, label="least squares")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    ax = axes[0, 3]
    for (t, f), c in zip(filters.items(), ("C1", "C2", "C4"), strict=False):
        ax.semilogx(lam, f["formula_gd"], "-", color=c, label=f"1−(1−ελ)^τ, τ={t}")
        ax.semilogx(lam, f["formula_l2"], "--", color=c, label=f"λ/(λ+α), α=1/(ε·{t})")
        ax.semilogx(lam, f["measured_gd"], "o", ms=3, color=c)
    ax.set_xlabel("curvature λ (eigenvalue of H)")
    ax.set_ylabel("share of w* kept along that direction")
    ax.set_title("Filters (dots: measured from w_τ)")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    fig.suptitle("Early stopping as an implicit L2 penalty", fontsize=12)
    fig.tight_layout()
    ctx.savefig(fig, "early_stopping_vs_l2.png")
