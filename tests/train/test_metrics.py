"""Metrics against scikit-learn on random data, as functions and as streaming Trainer metrics."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.train import metrics as M  # noqa: N812

skm = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def cls_data(rng):
    y = rng.integers(0, 5, 300)
    scores = rng.normal(size=(300, 5)).astype(np.float32)
    scores[np.arange(300), y] += 1.0  # better than chance, not perfect
    return y, scores


def test_accuracy_matches_sklearn_on_labels_and_logits(cls_data):
    y, s = cls_data
    pred = s.argmax(1)
    assert M.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert M.accuracy(y, s) == pytest.approx(skm.accuracy_score(y, pred))
    assert M.accuracy(y, kn.tensor(s)) == pytest.approx(skm.accuracy_score(y, pred))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_matches_sklearn(cls_data, k):
    y, s = cls_data
    assert M.top_k_accuracy(y, s, k=k) == pytest.approx(skm.top_k_accuracy_score(y, s, k=k, labels=range(5)))


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_precision_recall_f1_match_sklearn(cls_data, average):
    y, s = cls_data
    pred = s.argmax(1)
    ours = M.precision_recall_f1(y, pred, average=average)
    ref = (
        skm.precision_score(y, pred, average=average, zero_division=0),
        skm.recall_score(y, pred, average=average, zero_division=0),
        skm.f1_score(y, pred, average=average, zero_division=0),
    )
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(M.f1_score(y, pred, average=average), ref[2], rtol=1e-12)


def test_macro_scores_with_a_never_predicted_class_match_sklearn(rng):
    y = rng.integers(0, 4, 100)
    pred = np.where(y == 3, 0, y)  # class 3 is never predicted: precision 0/0 -> 0
    for fn, ref in ((M.precision, skm.precision_score), (M.recall, skm.recall_score), (M.f1_score, skm.f1_score)):
        assert fn(y, pred) == pytest.approx(ref(y, pred, average="macro", zero_division=0))


def test_confusion_matrix_matches_sklearn(cls_data):
    y, s = cls_data
    pred = s.argmax(1)
    np.testing.assert_array_equal(M.confusion_matrix(y, pred), skm.confusion_matrix(y, pred))
    assert M.confusion_matrix(y, pred, num_classes=7).shape == (7, 7)
    with pytest.raises(kn.KisonetValueError, match="labels must lie in"):
        M.confusion_matrix(y, pred, num_classes=3)


def test_regression_metrics_match_sklearn(rng):
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    assert M.mse(y, p) == pytest.approx(skm.mean_squared_error(y, p))
    assert M.rmse(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert M.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p))
    assert M.r2_score(y, p) == pytest.approx(skm.r2_score(y, p))
    Y = rng.normal(size=(50, 3))
    P = Y + rng.normal(size=(50, 3))
    assert M.r2_score(Y, P) == pytest.approx(skm.r2_score(Y, P))
    # (N,) targets against (N, 1) outputs compare element to element, not by broadcasting
    assert M.mse(y, p[:, None]) == pytest.approx(skm.mean_squared_error(y, p))


def _stream(metric, out, target, chunks=7):
    m = M.get_metric(metric)
    m.reset()
    for o, t in zip(np.array_split(out, chunks), np.array_split(target, chunks), strict=True):
        m.update(o, t)
    return m.compute()


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("accuracy", lambda y, s: skm.accuracy_score(y, s.argmax(1))),
        ("top3", lambda y, s: skm.top_k_accuracy_score(y, s, k=3, labels=range(5))),
        ("f1", lambda y, s: skm.f1_score(y, s.argmax(1), average="macro")),
        ("precision", lambda y, s: skm.precision_score(y, s.argmax(1), average="macro")),
        ("recall", lambda y, s: skm.recall_score(y, s.argmax(1), average="macro")),
    ],
)
def test_streaming_classification_metrics_equal_whole_set_values(cls_data, name, ref):
    y, s = cls_data
    assert _stream(name, s, y) == pytest.approx(ref(y, s), rel=1e-9)


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("mse", skm.mean_squared_error),
        ("rmse", lambda a, b: np.sqrt(skm.mean_squared_error(a, b))),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ],
)
def test_streaming_regression_metrics_equal_whole_set_values(rng, name, ref):
    y = rng.normal(size=(120, 2)).astype(np.float32)
    p = (y + rng.normal(scale=0.3, size=y.shape)).astype(np.float32)
    assert _stream(name, p, y) == pytest.approx(ref(y.astype(np.float64), p.astype(np.float64)), rel=1e-5)


def test_unknown_metric_name_suggests_the_closest():
    with pytest.raises(kn.KisonetValueError, match=r"unknown metric 'acuracy' \(did you mean 'accuracy'\?\)"):
        M.get_metric("acuracy")


def test_callable_metric_is_batch_size_weighted(rng):
    y = rng.integers(0, 3, 10)
    s = rng.normal(size=(10, 3))
    m = M.get_metric(lambda t, p: float(np.mean(t == p.argmax(1))))
    m.update(s[:3], y[:3])
    m.update(s[3:], y[3:])
    assert m.compute() == pytest.approx(M.accuracy(y, s))
