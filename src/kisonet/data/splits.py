"""Train/validation/test splits, K-fold cross-validation and feature standardisation.

Splits are seeded and, for classification, stratified: each class keeps its
proportion in every part (to within one sample per class).  The
:class:`Standardizer` is fitted on the training split only, so no statistic of
the validation or test data leaks into training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..validation import check_bool, check_float, check_int, check_positive

Pair = tuple[np.ndarray, np.ndarray]


def _check_xy(X: Any, y: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ShapeError(
            tr("{0}: X of shape {1} and y of shape {2} must share their first axis", who, X.shape, y.shape)
        )
    if X.shape[0] == 0:
        raise KisonetValueError(tr("{0}: no samples to split", who))
    return X, y


def _part_sizes(n: int, ratios: Sequence[float]) -> np.ndarray:
    """Split ``n`` into ``len(ratios)`` integer parts proportional to ``ratios`` (largest remainders)."""
    r = np.asarray(ratios, dtype=np.float64)
    exact = r / r.sum() * n
    sizes = np.floor(exact).astype(np.int64)
    rest = n - int(sizes.sum())
    if rest:
        # ties go to the earlier part (train before val before test)
        order = np.lexsort((np.arange(len(r)), -(exact - sizes)))
        sizes[order[:rest]] += 1
    return sizes


def _check_ratios(ratios: Sequence[float], who: str) -> np.ndarray:
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim != 1 or r.size < 2 or np.any(~np.isfinite(r)) or np.any(r < 0) or r.sum() <= 0:
        raise KisonetValueError(tr("{0}: ratios must be >= 0 and not all zero, got {1}", who, tuple(ratios)))
    if abs(r.sum() - 1.0) > 1e-6:
        raise KisonetValueError(tr("{0}: ratios must sum to 1, got {1} (sum {2:g})", who, tuple(ratios), r.sum()))
    return r


def _stratified_counts(class_sizes: np.ndarray, r: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Per-class, per-part counts: rows sum to the class sizes, columns to ``totals``.

    Start from the floors of ``size_c * r_p`` and hand out the leftover samples by
    largest fractional remainder, so each part keeps the class mix (to within one
    sample per class) while hitting its total exactly.
    """
    exact = class_sizes[:, None] * (r / r.sum())[None, :]
    counts = np.floor(exact).astype(np.int64)
    row_left = class_sizes - counts.sum(axis=1)
    col_left = totals - counts.sum(axis=0)
    frac = exact - counts
    for flat in np.argsort(-frac, axis=None, kind="stable"):
        c, p = divmod(int(flat), len(r))
        if row_left[c] > 0 and col_left[p] > 0:
            counts[c, p] += 1
            row_left[c] -= 1
            col_left[p] -= 1
    for c in np.flatnonzero(row_left):  # rare leftovers once remainders are exhausted
        for p in np.flatnonzero(col_left):
            k = min(row_left[c], col_left[p])
            counts[c, p] += k
            row_left[c] -= k
            col_left[p] -= k
    return counts


def split_indices(y: Any, ratios: Sequence[float], stratify: bool = True, seed: int | None = 0) -> list[np.ndarray]:
    """Index arrays of a random partition of ``range(len(y))`` in the given proportions.

    With ``stratify`` each class is split separately in the same proportions, so
    class frequencies agree across the parts.  Each part is returned shuffled.
    """
    y = np.asarray(y)
    if y.ndim == 0:
        raise ShapeError(tr("split_indices: y must have one entry per sample, got a scalar"))
    n = y.shape[0]
    try:
        r = np.asarray(ratios, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise KisonetValueError(tr("split_indices: ratios must be numbers, got {0!r}", ratios)) from None
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r < 0) or not r.sum() > 0:
        raise KisonetValueError(tr("split_indices: ratios must be >= 0 and not all 0, got {0!r}", ratios))
    seed = check_int("split_indices", "seed", seed, low=0, allow_none=True)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in r]
    if stratify:
        classes, inverse = np.unique(y, return_inverse=True)
        inverse = inverse.reshape(-1)
        groups = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
        counts = _stratified_counts(np.array([len(g) for g in groups]), r, _part_sizes(n, r))
        for g, row in zip(groups, counts, strict=True):
            bounds = np.concatenate([[0], np.cumsum(row)])
            for p in range(len(r)):
                parts[p].append(g[bounds[p] : bounds[p + 1]])
    else:
        perm = rng.permutation(n)
        bounds = np.concatenate([[0], np.cumsum(_part_sizes(n, r))])
        for p in range(len(r)):
            parts[p].append(perm[bounds[p] : bounds[p + 1]])
    out = []
    for p in parts:
        idx = np.concatenate(p) if p else np.empty(0, np.int64)
        out.append(rng.permutation(idx).astype(np.int64))
    return out


def _is_classification(y: np.ndarray) -> bool:
    return y.ndim == 1 and (np.issubdtype(y.dtype, np.integer) or y.dtype == bool or y.dtype.kind in "US")


def train_val_test_split(
    X: Any,
    y: Any,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    stratify: bool = True,
    seed: int | None = 0,
) -> tuple[Pair, Pair, Pair]:
    """Split ``(X, y)`` into ``((Xtr, ytr), (Xva, yva), (Xte, yte))`` in proportions ``ratios``.

    ``stratify=True`` keeps class proportions in each part; it is ignored for
    regression targets (float or multi-dimensional ``y``).
    """
    X, y = _check_xy(X, y, "train_val_test_split")
    r = _check_ratios(ratios, "train_val_test_split")
    if r.size != 3:
        raise KisonetValueError(
            tr("train_val_test_split: expected 3 ratios (train, val, test), got {0}", tuple(ratios))
        )
    idx = split_indices(y, r, stratify=stratify and _is_classification(y), seed=seed)
    return tuple((X[i], y[i]) for i in idx)  # type: ignore[return-value]


def split_train_val(
    X: Any, y: Any, val_fraction: float = 0.1, stratify: bool = True, seed: int | None = 0
) -> tuple[Pair, Pair]:
    """Hold out ``val_fraction`` of ``(X, y)``: returns ``((Xtr, ytr), (Xva, yva))``."""
    X, y = _check_xy(X, y, "split_train_val")
    val_fraction = check_float("split_train_val", "val_fraction", val_fraction, 0.0, 1.0, high_open=True)
    idx = split_indices(y, (1.0 - val_fraction, val_fraction), stratify=stratify and _is_classification(y), seed=seed)
    return (X[idx[0]], y[idx[0]]), (X[idx[1]], y[idx[1]])


class KFold:
    """K-fold cross-validation indices, like scikit-learn's.

    ``split(X)`` yields ``(train_idx, val_idx)`` ``n_splits`` times; the validation
    folds partition the samples, the first ``n % n_splits`` folds are one larger.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: int | None = None) -> None:
        self.n_splits = check_int(type(self).__name__, "n_splits", n_splits, low=2)
        self.shuffle = check_bool(type(self).__name__, "shuffle", shuffle)
        self.seed = seed

    def get_n_splits(self, X: Any = None, y: Any = None) -> int:
        return self.n_splits

    def _n(self, X: Any) -> int:
        n = len(X)
        if n < self.n_splits:
            raise KisonetValueError(tr("{0}: n_splits={1} > {2} samples", type(self).__name__, self.n_splits, n))
        return n

    def split(self, X: Any, y: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self._n(X)
        order = np.random.default_rng(self.seed).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits, dtype=np.int64)
        sizes[: n % self.n_splits] += 1
        start = 0
        for s in sizes:
            mask = np.zeros(n, dtype=bool)
            mask[order[start : start + s]] = True
            start += s
            yield np.flatnonzero(~mask), np.flatnonzero(mask)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed})"


class StratifiedKFold(KFold):
    """K-fold where each validation fold keeps the class proportions of ``y``.

    Each class's samples (shuffled when ``shuffle``) are dealt round-robin over
    the folds, so per-class counts differ by at most one between folds.
    """

    def split(self, X: Any, y: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if y is None:
            raise KisonetValueError(tr("StratifiedKFold.split needs the labels y"))
        n = self._n(X)
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ShapeError(tr("StratifiedKFold.split: X has {0} samples but y has shape {1}", n, y.shape))
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        if counts.max() < self.n_splits:
            raise KisonetValueError(
                tr("StratifiedKFold: n_splits={0} exceeds the largest class size {1}", self.n_splits, counts.max())
            )
        rng = np.random.default_rng(self.seed)
        fold_of = np.empty(n, dtype=np.int64)
        offset = 0
        for c in range(len(classes)):
            members = np.flatnonzero(inverse == c)
            if self.shuffle:
                members = rng.permutation(members)
            # rotate the starting fold per class so fold sizes stay balanced overall
            fold_of[members] = (np.arange(len(members)) + offset) % self.n_splits
            offset += len(members)
        for k in range(self.n_splits):
            mask = fold_of == k
            yield np.flatnonzero(~mask), np.flatnonzero(mask)


class Standardizer:
    """Standardise features: ``z = (x - mean) / (std + eps)``, statistics from the training data.

    ``axis`` lists the axes statistics are pooled over.  The default (None)
    pools over the sample axis only for 2-D data (one mean/std per feature) and
    over samples and spatial axes for image batches NCHW (one per channel,
    axis=(0, 2, 3)).  ``inverse_transform`` undoes it: ``x = z * (std + eps) + mean``.
    A constant feature (std 0) maps to 0 rather than dividing by zero.
    """

    def __init__(self, axis: int | Sequence[int] | None = None, eps: float = 1e-8) -> None:
        self.axis = axis
        self.eps = check_positive("Standardizer", "eps", eps, allow_zero=True)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _axes(self, X: np.ndarray) -> tuple[int, ...]:
        if self.axis is None:
            return (0, 2, 3) if X.ndim == 4 else (0,)
        axes = (self.axis,) if isinstance(self.axis, (int, np.integer)) else tuple(self.axis)
        try:
            return tuple(sorted(int(a) % X.ndim for a in axes))
        except ZeroDivisionError as e:
            raise ShapeError(tr("Standardizer: cannot pool axis {0} of a scalar", self.axis)) from e

    def fit(self, X: Any) -> Standardizer:
        """Compute the mean and standard deviation of the training data ``X``."""
        X = np.asarray(X)
        if X.ndim == 0 or X.shape[0] == 0:
            raise KisonetValueError(tr("Standardizer.fit: needs at least one sample, got shape {0}", X.shape))
        axes = self._axes(X)
        if any(a >= X.ndim for a in axes):
            raise ShapeError(tr("Standardizer.fit: axis {0} out of range for shape {1}", self.axis, X.shape))
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float32
        # accumulate in float64 for accuracy (a one-off pass), store in the data's float dtype
        mean = X.mean(axis=axes, keepdims=True, dtype=np.float64)
        std = X.std(axis=axes, keepdims=True, dtype=np.float64)
        self.mean_ = mean.astype(dtype)[0]
        self.std_ = std.astype(dtype)[0]
        self._axes_fitted = axes
        return self

    def _check(self, X: np.ndarray, who: str) -> None:
        if self.mean_ is None:
            raise KisonetValueError(tr("Standardizer.{0}: call fit() first", who))
        if X.ndim != self.mean_.ndim + 1:
            raise ShapeError(
                tr(
                    "Standardizer.{0}: fitted on samples of {1} axes, got an array of shape {2}",
                    who,
                    self.mean_.ndim,
                    X.shape,
                )
            )
        for a, (d, m) in enumerate(zip(X.shape[1:], self.mean_.shape, strict=True)):
            if m != 1 and d != m:
                raise ShapeError(
                    tr(
                        "Standardizer.{0}: fitted on per-sample shape with axis {1} = {2}, got shape {3}",
                        who,
                        a + 1,
                        m,
                        X.shape,
                    )
                )

    def _scale(self) -> np.ndarray:
        std = self.std_
        # zero std: leave the feature centred (divide by 1) instead of blowing it up
        return np.where(std > 0, std + np.asarray(self.eps, std.dtype), np.ones_like(std))

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean) / (std + eps)``, in X's float dtype (float32 stays float32)."""
        X = np.asarray(X)
        self._check(X, "transform")
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else self.mean_.dtype
        return ((X - self.mean_) / self._scale()).astype(dtype, copy=False)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """``Z * (std + eps) + mean``: back to the original units."""
        Z = np.asarray(Z)
        self._check(Z, "inverse_transform")
        dtype = Z.dtype if np.issubdtype(Z.dtype, np.floating) else self.mean_.dtype
        return (Z * self._scale() + self.mean_).astype(dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def state_dict(self) -> dict[str, Any]:
        """Arrays and settings to save with a model (no pickle needed)."""
        if self.mean_ is None:
            raise KisonetValueError(tr("Standardizer.state_dict: call fit() first"))
        return {"mean": self.mean_.copy(), "std": self.std_.copy(), "eps": np.asarray(self.eps)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            mean, std = np.asarray(state["mean"]), np.asarray(state["std"])
        except KeyError as e:
            raise KisonetValueError(tr("Standardizer.load_state_dict: missing key {0}", e)) from e
        if mean.shape != std.shape:
            raise ShapeError(tr("Standardizer.load_state_dict: mean {0} and std {1} differ", mean.shape, std.shape))
        self.mean_, self.std_ = mean.copy(), std.copy()
        if "eps" in state:
            self.eps = float(np.asarray(state["eps"]))

    def __repr__(self) -> str:
        fitted = "unfitted" if self.mean_ is None else f"fitted, stats shape {self.mean_.shape}"
        return f"Standardizer(axis={self.axis}, eps={self.eps}, {fitted})"
