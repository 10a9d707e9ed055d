"""Self-training: it beats the labelled-only baseline with 10% of digits labelled, and reports each round."""

from __future__ import annotations

import numpy as np
import pytest

from kisonet.errors import KisonetValueError, ShapeError
from kisonet.models import MLP
from kisonet.semi import SelfTraining, labelled_split, self_training


def _make():
    return MLP(64, (64,), 10)


def test_self_training_beats_labelled_only_with_ten_percent_of_digits(digits):
    (X, y), (Xt, yt) = digits
    lab, unl = labelled_split(y, 0.1, seed=0)
    st = SelfTraining(_make, threshold=0.8, max_rounds=3, epochs=15, lr=3e-3)
    st.fit(X[lab], y[lab], X[unl], y_unlabeled_true=y[unl], val=(Xt, yt))
    baseline = st.history_[0]["val_accuracy"]  # round 0 trains on the labelled 10% alone
    assert st.score(Xt, yt) > baseline + 0.01
    # the pseudo-labels are what made the difference: many were added, and mostly right
    assert len(st.pseudo_labels_) > 5 * len(lab)
    assert st.pseudo_accuracy_ > 0.9


def test_rounds_report_what_was_added_and_how_accurate_it_was(digits):
    (X, y), _ = digits
    X, y = X[:600], y[:600]
    lab, unl = labelled_split(y, 0.2, seed=1)
    st = SelfTraining(_make, threshold=0.7, max_rounds=2, epochs=8, lr=1e-2).fit(
        X[lab], y[lab], X[unl], y_unlabeled_true=y[unl]
    )
    added = [r["added"] for r in st.history_]
    assert sum(added) == len(st.pseudo_labels_) == len(st.pseudo_indices_) > 0
    assert len(np.unique(st.pseudo_indices_)) == len(st.pseudo_indices_)  # each sample labelled once
    assert st.history_[-1]["unlabelled_left"] == len(unl) - sum(added)
    # the reported accuracy is that of the added labels against the hidden truth
    start = 0
    for r in st.history_:
        if r["added"]:
            got = st.pseudo_labels_[start : start + r["added"]]
            want = y[unl][st.pseudo_indices_[start : start + r["added"]]]
            assert r["added_accuracy"] == pytest.approx(np.mean(got == want))
            assert r["mean_confidence"] >= 0.7  # only samples above the threshold
            start += r["added"]
    assert "added_accuracy" in st.format_history()


def test_true_labels_of_the_unlabelled_part_never_reach_training(digits):
    (X, y), (Xt, _) = digits
    X, y = X[:400], y[:400]
    lab, unl = labelled_split(y, 0.25, seed=0)
    a = SelfTraining(_make, 0.7, 1, epochs=5, lr=1e-2).fit(X[lab], y[lab], X[unl], y_unlabeled_true=y[unl])
    b = SelfTraining(_make, 0.7, 1, epochs=5, lr=1e-2).fit(X[lab], y[lab], X[unl], y_unlabeled_true=(y[unl] + 1) % 10)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    assert a.pseudo_accuracy_ != b.pseudo_accuracy_


def test_threshold_above_every_confidence_adds_nothing_and_stops(digits):
    (X, y), _ = digits
    lab, unl = labelled_split(y[:300], 0.2, seed=0)
    st = self_training(_make, X[lab], y[lab], X[unl], threshold=1.0, max_rounds=3, epochs=1)
    assert [r["added"] for r in st.history_] == [0]
    assert len(st.pseudo_labels_) == 0


def test_labelled_split_is_stratified_and_disjoint():
    y = np.repeat(np.arange(10), 50)
    lab, unl = labelled_split(y, 0.1, seed=3)
    assert len(lab) == 50 and len(unl) == 450
    assert np.array_equal(np.bincount(y[lab]), np.full(10, 5))
    assert not np.intersect1d(lab, unl).size
    lab2, _ = labelled_split(y, 0.1, seed=3)
    np.testing.assert_array_equal(lab, lab2)


def test_bad_arguments():
    with pytest.raises(KisonetValueError, match="threshold"):
        SelfTraining(_make, threshold=1.5)
    with pytest.raises(KisonetValueError, match="max_rounds"):
        SelfTraining(_make, max_rounds=-1)
    st = SelfTraining(_make)
    with pytest.raises(ShapeError, match="unlabelled"):
        st.fit(np.zeros((4, 64), np.float32), np.zeros(4, np.int64), np.zeros((4, 32), np.float32))
    with pytest.raises(KisonetValueError, match="fit"):
        st.predict(np.zeros((1, 64), np.float32))
