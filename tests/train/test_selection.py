"""k-fold cross-validation and the three-step model selection on a small synthetic set."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import cross_validate, select_model


def data(rng, n=90):
    centers = np.array([[0.0, 0.0], [3.0, 3.0], [0.0, 3.5]])
    y = np.repeat(np.arange(3), n // 3)
    X = (centers[y] + 0.6 * rng.normal(size=(n, 2))).astype(np.float32)
    return X, y


def make_linear():
    return nn.Linear(2, 3)


def sgd(lr):
    return lambda p: kn.optim.SGD(p, lr=lr)


def test_cross_validate_reports_each_fold_mean_and_std(rng):
    X, y = data(rng)
    res = cross_validate(make_linear, sgd(0.2), (X, y), folds=3, epochs=8, batch_size=10)
    assert len(res["folds"]) == 3 and set(res["mean"]) == {"loss", "accuracy"}
    acc = res["scores"]["accuracy"]
    assert res["mean"]["accuracy"] == pytest.approx(np.mean(acc))
    assert res["std"]["accuracy"] == pytest.approx(np.std(acc))
    assert res["mean"]["accuracy"] > 0.9
    assert len(res["histories"]) == 3 and len(res["histories"][0]["val_loss"]) == 8
    # stratified folds of 30 keep 10 samples of each class: each held-out fold is 30 samples
    again = cross_validate(make_linear, sgd(0.2), (X, y), folds=3, epochs=8, batch_size=10)
    assert again["scores"] == res["scores"]  # same seed, same numbers


def test_cross_validate_regression_uses_plain_kfold(rng):
    X = rng.normal(size=(40, 2)).astype(np.float32)
    y = (X @ np.array([1.0, -1.0])).astype(np.float32)
    res = cross_validate(
        lambda: nn.Linear(2, 1), sgd(0.1), (X, y), folds=4, loss="mse", metrics=("r2",), epochs=20, batch_size=8
    )
    assert res["mean"]["r2"] > 0.95 and len(res["folds"]) == 4


def test_select_model_three_steps(rng):
    X, y = data(rng, n=120)
    trainval, test = (X[:90], y[:90]), (X[90:], y[90:])
    seen = []

    def counting(lr):
        def make(p):
            seen.append(lr)
            return kn.optim.SGD(p, lr=lr)

        return make

    res = select_model(
        {
            "tiny-lr": (make_linear, counting(1e-5)),
            "good-lr": {"make_model": make_linear, "make_optimizer": counting(0.2)},
        },
        (trainval, test),
        folds=3,
        score="accuracy",
        epochs=6,
        batch_size=10,
    )
    assert res["winner"] == "good-lr"
    assert set(res["cv"]) == {"tiny-lr", "good-lr"} and res["cv_scores"] is res["cv"]["good-lr"]
    # 3 folds per candidate, then one retrain of the winner
    assert seen == [1e-5] * 3 + [0.2] * 3 + [0.2]
    assert res["test"] == res["trainer"].evaluate(test)
    assert res["test"]["accuracy"] > 0.9
    assert len(res["history"]["train_loss"]) == 6 and "val_loss" not in res["history"]
    with pytest.raises(kn.KisonetValueError, match="unknown select_model score"):
        select_model({"a": (make_linear, sgd(0.1))}, (trainval, test), folds=2, score="acc", epochs=1)
