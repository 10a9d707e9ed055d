"""Semi-supervised learning: self-training (pseudo-labelling).

With a few labelled samples L = {(x_i, y_i)} and many unlabelled ones U = {x_j}:

    round 0:  train f on L
    round r:  p_j = softmax(f(x_j)) for x_j in U;  pick S = {j : max_c p_jc >= threshold}
              L <- L + {(x_j, argmax_c p_jc) : j in S};  U <- U - S;  retrain f on L
    stop when no sample clears the threshold, U is empty, or after ``max_rounds`` rounds.

A pseudo-label, once given, is kept (the sample leaves U).  ``history_`` reports for
every round how many pseudo-labels were added and, when the true labels of U are
passed to :meth:`SelfTraining.fit` as ``y_unlabeled_true`` (for reporting only: they
never reach the training), how accurate those pseudo-labels were.

    st = kn.semi.SelfTraining(lambda: MLP(64, (64,), 10), threshold=0.95, max_rounds=5)
    st.fit(X_lab, y_lab, X_unlab, y_unlabeled_true=y_unlab, val=(X_test, y_test))
    st.history_      # [{'round': 1, 'added': 812, 'added_accuracy': 0.99, ...}, ...]
    st.predict(X_test); st.score(X_test, y_test)

The rule only helps while pseudo-labels are mostly right: a high ``threshold``
trades how many samples are added for how accurate they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .ensemble import TrainsModels, as_inputs, build_member, softmax_rows
from .errors import KisonetTypeError, KisonetValueError, ShapeError
from .lang import tr
from .validation import check_float, check_int

__all__ = ["SelfTraining", "labelled_split", "self_training"]


def labelled_split(y: Any, fraction: float, seed: int = 0, stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(labelled, unlabelled)`` keeping ``fraction`` of the samples labelled
    (per class when ``stratify``, at least one per class)."""
    y = np.asarray(y)
    fraction = check_float("labelled_split", "fraction", fraction, 0.0, 1.0)
    from .random import make_generator

    rng = make_generator(seed)
    n = len(y)
    if not stratify:
        perm = rng.permutation(n)
        k = max(1, int(round(fraction * n)))
        return np.sort(perm[:k]), np.sort(perm[k:])
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, int(round(fraction * len(idx))))
        picked.append(rng.choice(idx, size=k, replace=False))
    lab = np.sort(np.concatenate(picked))
    mask = np.ones(n, dtype=bool)
    mask[lab] = False
    return lab, np.flatnonzero(mask)


class SelfTraining(TrainsModels):
    """Self-training with a confidence threshold (see the module docstring).

    Args:
        make_model: builds a fresh model (called with no arguments after ``kn.manual_seed``).
        threshold: minimum max-class probability for a pseudo-label, in (0, 1].
        max_rounds: pseudo-labelling rounds after the initial supervised round.
        max_per_round: cap on pseudo-labels added per round (the most confident first);
            None for no cap.
        reset: retrain from the same initial weights each round (True, the classic
            algorithm; avoids confirming the previous round's mistakes through its
            weights) or continue training the current model (False).
        loss, optimizer, lr, weight_decay, epochs, batch_size, seed: the training of each round.
        trainer_kwargs: more :class:`~kisonet.train.Trainer` options (callbacks, regularizer, ...).
    """

    def __init__(
        self,
        make_model: Callable[..., Any],
        threshold: float = 0.95,
        max_rounds: int = 5,
        *,
        max_per_round: int | None = None,
        reset: bool = True,
        loss: Any = "cross_entropy",
        optimizer: Any = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 20,
        batch_size: int = 32,
        seed: int = 0,
        trainer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not callable(make_model):
            raise KisonetTypeError(tr("SelfTraining: make_model must be callable, got {0}", type(make_model).__name__))
        self.make_model = make_model
        self.threshold = check_float("SelfTraining", "threshold", threshold, 0.0, 1.0)
        self.max_rounds = check_int("SelfTraining", "max_rounds", max_rounds, low=0)
        self.max_per_round = (
            None if max_per_round is None else check_int("SelfTraining", "max_per_round", max_per_round)
        )
        self.reset = bool(reset)
        self._set_training("SelfTraining", loss, optimizer, lr, weight_decay, epochs, batch_size, seed, trainer_kwargs)
        self.model_: Any = None
        self.trainer_: Any = None
        self.history_: list[dict[str, Any]] = []
        self.pseudo_indices_ = np.zeros(0, dtype=np.int64)
        self.pseudo_labels_ = np.zeros(0, dtype=np.int64)

    def _fit_round(self, X: np.ndarray, y: np.ndarray, round_: int) -> None:
        if self.model_ is None or self.reset:
            self.model_ = build_member(self.make_model, 0, self.seed)
        # a new batch order each round: the labelled set has grown anyway
        self.trainer_ = self._fit_model(self.model_, X, y, "classification", self.seed + round_)

    def fit(
        self,
        X_labeled: Any,
        y_labeled: Any,
        X_unlabeled: Any,
        y_unlabeled_true: Any = None,
        val: tuple[Any, Any] | None = None,
    ) -> SelfTraining:
        """Run round 0 (labelled only) and up to ``max_rounds`` pseudo-labelling rounds.

        ``y_unlabeled_true`` is used only to report the accuracy of the pseudo-labels;
        ``val=(X, y)`` adds the model's accuracy on it after every round to ``history_``.
        """
        Xl = as_inputs(X_labeled)
        yl = np.asarray(getattr(y_labeled, "data", y_labeled))
        Xu = as_inputs(X_unlabeled)
        if len(Xl) != len(yl):
            raise ShapeError(tr("SelfTraining.fit: X_labeled has {0} samples but y_labeled has {1}", len(Xl), len(yl)))
        if len(Xl) == 0:
            raise KisonetValueError(tr("SelfTraining.fit: no labelled samples"))
        if yl.dtype.kind not in "iub":
            raise KisonetTypeError(tr("SelfTraining: labels must be integer classes, got dtype {0}", yl.dtype))
        if Xu.shape[1:] != Xl.shape[1:]:
            raise ShapeError(
                tr(
                    "SelfTraining.fit: unlabelled samples of shape {0} but labelled of shape {1}",
                    Xu.shape[1:],
                    Xl.shape[1:],
                )
            )
        truth = None
        if y_unlabeled_true is not None:
            truth = np.asarray(y_unlabeled_true)
            if len(truth) != len(Xu):
                raise ShapeError(
                    tr("SelfTraining.fit: {0} unlabelled samples but {1} true labels", len(Xu), len(truth))
                )
        yl = yl.astype(np.int64)
        t0 = time.perf_counter()
        self.model_ = None
        self.history_ = []
        remaining = np.arange(len(Xu))  # indices into X_unlabeled still unlabelled
        added_idx: list[np.ndarray] = []
        added_lab: list[np.ndarray] = []
        X_train, y_train = Xl, yl
        for r in range(self.max_rounds + 1):
            self._fit_round(X_train, y_train, r)
            row: dict[str, Any] = {"round": r, "labelled": int(len(Xl)), "pseudo_total": int(len(X_train) - len(Xl))}
            if val is not None:
                row["val_accuracy"] = self.score(*val)
            if r == self.max_rounds or len(remaining) == 0:
                row.update(added=0, unlabelled_left=int(len(remaining)))
                self.history_.append(row)
                break
            proba = self.trainer_.predict_proba(Xu[remaining])
            conf = proba.max(axis=1)
            pred = proba.argmax(axis=1)
            sel = np.flatnonzero(conf >= self.threshold)
            if self.max_per_round is not None and len(sel) > self.max_per_round:
                sel = sel[np.argsort(-conf[sel], kind="stable")[: self.max_per_round]]
            new_idx, new_lab = remaining[sel], pred[sel].astype(np.int64)
            row["added"] = int(len(sel))
            row["mean_confidence"] = float(conf[sel].mean()) if len(sel) else float("nan")
            if truth is not None:
                row["added_accuracy"] = float(np.mean(new_lab == truth[new_idx])) if len(sel) else float("nan")
                row["unlabelled_accuracy"] = float(np.mean(pred == truth[remaining]))
            keep = np.ones(len(remaining), dtype=bool)
            keep[sel] = False
            remaining = remaining[keep]
            row["unlabelled_left"] = int(len(remaining))
            self.history_.append(row)
            if len(sel) == 0:
                break  # nothing clears the threshold: the next round would train the same model
            added_idx.append(new_idx)
            added_lab.append(new_lab)
            X_train = np.concatenate([Xl, Xu[np.concatenate(added_idx)]])
            y_train = np.concatenate([yl, np.concatenate(added_lab)])
        self.pseudo_indices_ = np.concatenate(added_idx) if added_idx else np.zeros(0, dtype=np.int64)
        self.pseudo_labels_ = np.concatenate(added_lab) if added_lab else np.zeros(0, dtype=np.int64)
        if truth is not None and len(self.pseudo_indices_):
            self.pseudo_accuracy_ = float(np.mean(self.pseudo_labels_ == truth[self.pseudo_indices_]))
        else:
            self.pseudo_accuracy_ = float("nan")
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _require_fit(self) -> None:
        if self.trainer_ is None:
            raise KisonetValueError(tr("SelfTraining: call fit() before predicting"))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the final model."""
        self._require_fit()
        return softmax_rows(np.asarray(self.trainer_.predict_raw(as_inputs(X))))

    def predict(self, X: Any) -> np.ndarray:
        """Class indices of the final model."""
        return self.predict_proba(X).argmax(axis=1)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of the final model on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(getattr(y, "data", y))))

    def format_history(self) -> str:
        """The per-round report as a text table."""
        cols = ["round", "added", "added_accuracy", "pseudo_total", "unlabelled_left", "val_accuracy"]
        cols = [c for c in cols if any(c in row for row in self.history_)]
        lines = ["  ".join(f"{c:>15}" for c in cols)]
        for row in self.history_:
            cells = []
            for c in cols:
                v = row.get(c, "")
                cells.append(f"{v:>15.4f}" if isinstance(v, float) else f"{v!s:>15}")
            lines.append("  ".join(cells))
        return "\n".join(lines)


def self_training(
    make_model: Callable[..., Any],
    X_labeled: Any,
    y_labeled: Any,
    X_unlabeled: Any,
    threshold: float = 0.95,
    max_rounds: int = 5,
    **kwargs: Any,
) -> SelfTraining:
    """Functional form: ``SelfTraining(make_model, threshold, max_rounds, **kwargs).fit(...)``;
    ``y_unlabeled_true`` and ``val`` given here go to :meth:`SelfTraining.fit`."""
    fit_kw = {k: kwargs.pop(k) for k in ("y_unlabeled_true", "val") if k in kwargs}
    return SelfTraining(make_model, threshold, max_rounds, **kwargs).fit(X_labeled, y_labeled, X_unlabeled, **fit_kw)
