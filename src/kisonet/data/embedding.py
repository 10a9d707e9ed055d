"""Dimension reduction for looking at data and at a network's hidden layers: PCA and t-SNE.

Keio lecture 3 (次元削減) names PCA and t-SNE as the tools for "analysing a network's internal
representation after training".  Both are written here on NumPy, small enough to read:

``pca(X, k)``
    centre the rows, X_c = U S V^T (thin SVD), project on the first k right singular vectors:
    Z = X_c V_k = U_k S_k.  The variance along component j is S_j^2 / (N - 1).  The sign of each
    component is fixed (largest |loading| positive) so that the result is deterministic.

``tsne(X, k=2, perplexity=30)``
    exact t-SNE (van der Maaten & Hinton 2008).  P: Gaussian affinities p_{j|i} with a per-point
    bandwidth found by bisection so that 2^{H(P_i)} = perplexity, symmetrised p_ij = (p_{j|i} +
    p_{i|j}) / 2N.  Q: Student-t affinities q_ij ∝ (1 + ||z_i - z_j||^2)^{-1} in the embedding.
    Gradient of KL(P || Q): 4 sum_j (p_ij - q_ij)(z_i - z_j)(1 + ||z_i - z_j||^2)^{-1}; descent with
    momentum (0.5, then 0.8), early exaggeration of P (x12 for the first 250 iterations) and
    per-coordinate gains.  O(N^2) memory and time per iteration: meant for a few thousand points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..validation import check_array

__all__ = ["pca", "tsne"]


def _as_matrix(X: Any, who: str) -> np.ndarray:
    A = check_array(who, "X", getattr(X, "data", X), min_ndim=2, dtype=np.float64, what="samples as rows, (N >= 2, D)")
    A = A.reshape(len(A), -1) if A.ndim > 2 else A
    if A.shape[0] < 2:
        raise ShapeError(tr("{0}: X must be samples as rows, (N >= 2, D), got shape {1}", who, np.shape(X)))
    return A


def pca(X: Any, n_components: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal component analysis by the SVD of the centred data.

    Returns ``(Z, components, explained_variance_ratio)``: the projections ``Z`` (N, k), the
    principal axes ``components`` (k, D) (unit rows, largest variance first) and each component's
    share of the total variance (k,).  Samples of any shape are flattened.
    """
    A = _as_matrix(X, "pca")
    k = int(n_components)
    if not 1 <= k <= min(A.shape):
        raise KisonetValueError(
            tr(
                "pca: n_components must be in 1..{0} for data of shape {1}, got {2!r}",
                min(A.shape),
                A.shape,
                n_components,
            )
        )
    Xc = A - A.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    sign = np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])
    sign[sign == 0] = 1.0
    U, Vt = U * sign, Vt * sign[:, None]
    var = S**2
    total = var.sum()
    ratio = var[:k] / total if total > 0 else np.zeros(k)
    return U[:, :k] * S[:k], Vt[:k], ratio


def _affinities(D2: np.ndarray, perplexity: float, tol: float = 1e-5, iters: int = 60) -> np.ndarray:
    """p_{j|i} with beta_i = 1/(2 sigma_i^2) by bisection so that the entropy is log(perplexity)."""
    n = D2.shape[0]
    target = np.log(perplexity)
    P = np.zeros((n, n))
    for i in range(n):
        d = np.delete(D2[i], i)
        d = d - d.min()  # shift for stability: the normalisation cancels it
        lo, hi, beta = 0.0, np.inf, 1.0
        for _ in range(iters):
            p = np.exp(-d * beta)
            s = p.sum()
            H = np.log(s) + beta * float((d * p).sum()) / s
            if abs(H - target) < tol:
                break
            if H > target:  # too flat: narrow the Gaussian
                lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        P[i, np.arange(n) != i] = p / s
    return P


def tsne(
    X: Any,
    n_components: int = 2,
    perplexity: float = 30.0,
    n_iter: int = 750,
    learning_rate: float | None = None,
    seed: int = 0,
    init: str = "pca",
) -> np.ndarray:
    """Exact t-SNE embedding ``(N, n_components)`` of the rows of ``X`` (see the module docstring).

    ``learning_rate`` defaults to max(N / 12, 50) (the "auto" rule of openTSNE / scikit-learn);
    ``init='pca'`` starts from the first PCA components scaled to std 1e-4, ``'random'`` from
    N(0, 1e-4^2).  Deterministic for a given ``seed``.
    """
    A = _as_matrix(X, "tsne")
    n = A.shape[0]
    if not 1.0 <= float(perplexity) < n:
        raise KisonetValueError(tr("tsne: perplexity must be in [1, N) = [1, {0}), got {1!r}", n, perplexity))
    if init not in ("pca", "random"):
        raise KisonetValueError(tr("tsne: init must be 'pca' or 'random', got {0!r}", init))
    sq = (A * A).sum(axis=1)
    D2 = np.maximum(sq[:, None] + sq[None, :] - 2 * A @ A.T, 0.0)
    P = _affinities(D2, float(perplexity))
    P = (P + P.T) / (2 * n)
    P = np.maximum(P, 1e-12)
    lr = float(learning_rate) if learning_rate is not None else max(n / 12.0, 50.0)
    if init == "pca":
        Z = pca(A, n_components)[0]
        Z = Z / max(float(Z[:, 0].std()), 1e-12) * 1e-4
    else:
        Z = np.random.default_rng(seed).standard_normal((n, n_components)) * 1e-4
    update = np.zeros_like(Z)
    gains = np.ones_like(Z)
    exaggerate = min(250, n_iter // 3)
    for it in range(int(n_iter)):
        Pe = P * 12.0 if it < exaggerate else P
        s = (Z * Z).sum(axis=1)
        W = 1.0 / (1.0 + s[:, None] + s[None, :] - 2 * Z @ Z.T)  # Student-t kernel
        np.fill_diagonal(W, 0.0)
        Q = np.maximum(W / W.sum(), 1e-12)
        M = (Pe - Q) * W
        grad = 4.0 * (M.sum(axis=1)[:, None] * Z - M @ Z)
        momentum = 0.5 if it < exaggerate else 0.8
        same = np.sign(grad) == np.sign(update)
        gains = np.maximum(np.where(same, gains * 0.8, gains + 0.2), 0.01)
        update = momentum * update - lr * gains * grad
        Z = Z + update
        Z = Z - Z.mean(axis=0)
    return Z
