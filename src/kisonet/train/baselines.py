"""Classical baselines from the notes: least squares by the normal equation, polynomial fits.

Linear regression minimises E(w) = 1/2 ||y - X w||^2.  Setting the gradient
X^T (X w - y) to zero gives the normal equation

    X^T X w = X^T y,    w = (X^T X)^{-1} X^T y,

with the bias handled by centring: w = argmin ||(y - ybar) - (X - xbar) w||^2,
b = ybar - xbar^T w.  A ridge term (alpha/2)||w||^2 adds alpha*I to X^T X.
We solve the (symmetric positive semi-definite) system with a Cholesky-based
solver and fall back to the SVD least-squares solution (the minimum-norm w)
when X^T X is singular or badly conditioned.  Computed in float64: this is
the exact reference a network trained by SGD is compared with.

Polynomial curve fitting (the notes' M-th order polynomial
y(x) = w_0 + w_1 x + ... + w_M x^M) is linear regression on the features
(1, x, x^2, ..., x^M).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..validation import check_array, check_int, check_positive

__all__ = ["LinearRegression", "polynomial_fit", "polynomial_predict", "polynomial_features"]


def _as_2d(X: Any, who: str) -> np.ndarray:
    # float64: the normal equations lose digits in float32
    X = getattr(X, "data", X)
    X = check_array(who, "X", X, ndim=(1, 2), dtype=np.float64, nonempty=True, what="(n_samples, n_features)")
    return X[:, None] if X.ndim == 1 else X


def _solve_normal(A: np.ndarray, B: np.ndarray, alpha: float) -> np.ndarray:
    """argmin_W ||A W - B||^2 + alpha ||W||^2 by the normal equation, robustly."""
    G = A.T @ A
    if alpha:
        G = G + alpha * np.eye(G.shape[0])
    R = A.T @ B
    # cond(X^T X) = cond(X)^2: beyond ~1e12 the normal equation loses all float64 digits.
    if G.size and np.linalg.cond(G) < 1e12:
        try:
            return np.linalg.solve(G, R)
        except np.linalg.LinAlgError:
            pass
    if alpha:
        # Ridge via an augmented least-squares problem [A; sqrt(alpha) I] W = [B; 0].
        A = np.vstack([A, np.sqrt(alpha) * np.eye(A.shape[1])])
        B = np.vstack([B, np.zeros((A.shape[1], B.shape[1]))])
    return np.linalg.lstsq(A, B, rcond=None)[0]


class LinearRegression:
    """Ordinary least squares (optionally ridge) by the normal equation, scikit-learn style.

    ``fit(X, y)`` returns self; ``predict(X) = X @ coef_.T + intercept_``; ``coef_`` has
    shape ``(n_features,)`` for 1-D ``y`` and ``(n_targets, n_features)`` otherwise;
    ``intercept_`` is a float (or ``(n_targets,)``), 0 when ``fit_intercept=False``.

    Args:
        fit_intercept: learn the bias b (by centring, so it is never penalised).
        alpha: ridge strength (0 = plain least squares).
    """

    def __init__(self, fit_intercept: bool = True, alpha: float = 0.0) -> None:
        self.fit_intercept = bool(fit_intercept)
        self.alpha = check_positive("LinearRegression", "alpha", alpha, allow_zero=True)

    def fit(self, X: Any, y: Any) -> LinearRegression:
        X = _as_2d(X, "LinearRegression.fit")
        y = np.asarray(getattr(y, "data", y), dtype=np.float64)
        if y.shape[0] != X.shape[0]:
            raise ShapeError(tr("LinearRegression.fit: X has {0} samples but y has shape {1}", X.shape[0], y.shape))
        if not np.all(np.isfinite(y)):
            raise KisonetValueError(tr("LinearRegression.fit: y contains NaN or Inf"))
        Y = y.reshape(y.shape[0], -1)
        if self.fit_intercept:
            xm, ym = X.mean(axis=0), Y.mean(axis=0)
            W = _solve_normal(X - xm, Y - ym, self.alpha)
            b = ym - xm @ W
        else:
            W = _solve_normal(X, Y, self.alpha)
            b = np.zeros(Y.shape[1])
        self.n_features_in_ = X.shape[1]
        if y.ndim == 1:
            self.coef_ = W[:, 0]
            self.intercept_ = float(b[0])
        else:
            self.coef_ = W.T
            self.intercept_ = b
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise KisonetValueError(tr("LinearRegression.predict: call fit() first"))
        X = _as_2d(X, "LinearRegression.predict")
        if X.shape[1] != self.n_features_in_:
            raise ShapeError(
                tr("LinearRegression.predict: fitted on {0} features, got X of shape {1}", self.n_features_in_, X.shape)
            )
        return X @ self.coef_.T + self.intercept_

    def score(self, X: Any, y: Any) -> float:
        """R^2 of the predictions (as scikit-learn's ``score``)."""
        from .metrics import r2_score

        return r2_score(y, self.predict(X))

    def __repr__(self) -> str:
        return f"LinearRegression(fit_intercept={self.fit_intercept}, alpha={self.alpha})"


def polynomial_features(x: Any, degree: int) -> np.ndarray:
    """The design matrix ``[1, x, x^2, ..., x^degree]`` of shape ``(n, degree + 1)``."""
    x = np.asarray(getattr(x, "data", x), dtype=np.float64).reshape(-1)
    return x[:, None] ** np.arange(degree + 1)


def polynomial_fit(x: Any, y: Any, degree: int, alpha: float = 0.0) -> np.ndarray:
    """Least-squares coefficients ``w_0..w_M`` of y(x) = sum_j w_j x^j (lowest power first).

    ``alpha > 0`` adds the notes' L2 penalty (alpha/2)||w||^2 on all coefficients
    (the cure for the wild M = 9 fit).  Solved by SVD least squares on the
    Vandermonde matrix, which stays accurate where the normal equation would not.
    """
    degree = check_int("polynomial_fit", "degree", degree, low=0)
    alpha = check_positive("polynomial_fit", "alpha", alpha, allow_zero=True)
    V = polynomial_features(x, int(degree))
    t = np.asarray(getattr(y, "data", y), dtype=np.float64).reshape(-1)
    if t.shape[0] != V.shape[0]:
        raise ShapeError(tr("polynomial_fit: x has {0} points but y has {1}", V.shape[0], t.shape[0]))
    if not (np.all(np.isfinite(V)) and np.all(np.isfinite(t))):
        raise KisonetValueError(tr("polynomial_fit: x or y contains NaN or Inf"))
    if alpha:
        V = np.vstack([V, np.sqrt(alpha) * np.eye(V.shape[1])])
        t = np.concatenate([t, np.zeros(V.shape[1])])
    return np.linalg.lstsq(V, t, rcond=None)[0]


def polynomial_predict(coef: Any, x: Any) -> np.ndarray:
    """Evaluate sum_j coef[j] x^j (Horner's rule) at the points ``x``."""
    c = np.asarray(coef, dtype=np.float64).reshape(-1)
    x = np.asarray(getattr(x, "data", x), dtype=np.float64)
    out = np.zeros_like(x)
    for cj in c[::-1]:  # a loop over the degree (a handful of terms), not over samples
        out = out * x + cj
    return out
