"""Bagging, AdaBoost (SAMME) and model averaging: the combination rules, the mechanisms, measured gains."""

from __future__ import annotations

import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.ensemble import AdaBoost, Bagging, Ensemble, ModelAveraging
from kisonet.errors import KisonetValueError
from kisonet.models import MLP
from kisonet.train import Trainer


def test_bagging_beats_the_mean_of_its_members_on_digits(digits):
    (X, y), (Xt, yt) = digits
    bag = Bagging(lambda: MLP(64, (32,), 10), n_models=5, epochs=6, lr=3e-3).fit(X, y)
    res = bag.evaluate(Xt, yt)
    assert len(res["member_accuracy"]) == 5
    assert res["accuracy"] > res["mean_member_accuracy"]
    # each member saw a bootstrap sample: N draws with replacement, about 1 - 1/e distinct
    for idx, oob in zip(bag.sample_indices_, bag.oob_indices_, strict=True):
        assert len(idx) == len(X)
        distinct = len(np.unique(idx)) / len(X)
        assert 0.58 < distinct < 0.68
        assert len(oob) == len(X) - len(np.unique(idx))
        assert not np.isin(oob, idx).any()
    # members differ (different samples and seeds), otherwise averaging could not help
    p = bag.member_outputs(Xt)
    assert not np.allclose(p[0], p[1])


def test_bagging_on_mnist_t10k_beats_the_mean_member(mnist_dir):
    ds = kn.data.load_dataset("mnist-t10k", data_dir=mnist_dir)
    (X, y), (Xt, yt) = ds.train, ds.test
    X, y = X[:3000], y[:3000]  # a quick form of the full measurement in docs/beyond.md
    bag = Bagging(lambda: MLP(784, (64,), 10), n_models=5, epochs=3, lr=3e-3, batch_size=64).fit(X, y)
    res = bag.evaluate(Xt, yt)
    assert res["accuracy"] > res["mean_member_accuracy"]
    assert res["accuracy"] > 0.85


def _fake(outputs: np.ndarray, weights: np.ndarray, voting: str, task: str = "classification") -> Ensemble:
    ens = Ensemble(lambda: nn.Linear(1, 1), len(outputs), voting=voting, task=task)
    ens.weights_ = np.asarray(weights, dtype=np.float64)
    ens.models_ = [None] * len(outputs)
    ens.member_outputs = lambda X, batch_size=256: outputs  # type: ignore[method-assign]
    return ens


def test_soft_and_hard_voting_follow_their_formulas():
    # two confident-ish members say class 0, one very confident member says class 1
    p = np.array(
        [[[0.55, 0.45]], [[0.55, 0.45]], [[0.01, 0.99]]],
        dtype=np.float32,
    )
    soft = _fake(p, np.ones(3), "soft")
    hard = _fake(p, np.ones(3), "hard")
    np.testing.assert_allclose(soft.predict_proba(None), p.mean(axis=0), rtol=1e-6)
    assert soft.predict(None)[0] == 1  # mean probability of class 1 is 0.63
    np.testing.assert_allclose(hard.predict_proba(None), [[2 / 3, 1 / 3]], rtol=1e-6)
    assert hard.predict(None)[0] == 0  # majority vote
    # weighted vote (AdaBoost's rule): one member with alpha 3 outvotes two with alpha 1
    weighted = _fake(p, np.array([1.0, 1.0, 3.0]), "hard")
    assert weighted.predict(None)[0] == 1


def test_bagging_regression_predicts_the_mean_of_the_members(rng):
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)).astype(np.float32)
    bag = Bagging(lambda: nn.Linear(3, 1), n_models=3, epochs=3, lr=1e-2, task="regression").fit(X, y)
    members = np.stack([Trainer(m, "mse", None, progress=False).predict_raw(X) for m in bag.models_])
    np.testing.assert_allclose(bag.predict(X), members.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[0], members[1])
    assert bag.score(X, y) < np.std(y)  # RMSE well below predicting the mean
    with pytest.raises(KisonetValueError, match="predict_proba"):
        bag.predict_proba(X)


def test_adaboost_training_error_falls_round_by_round(digits):
    (X, y), _ = digits
    ab = AdaBoost(lambda: MLP(64, (4,), 10), n_models=6, epochs=6, lr=1e-2, learning_rate=0.5, batch_size=64)
    ab.fit(X, y)
    err = ab.history_["train_error"]
    assert len(err) == len(ab) >= 5
    assert err[-1] < 0.6 * err[0]
    # non-increasing up to small fluctuations (SAMME does not guarantee strict monotonicity)
    assert all(b <= a + 0.02 for a, b in zip(err, err[1:], strict=False))
    # the ensemble beats its weak members, which are far from solving the task alone
    assert ab.score(X, y) > max(ab.member_scores(X, y))
    # alpha follows SAMME: lr * (log((1 - err) / err) + log(K - 1))
    for e, a in zip(ab.history_["weighted_error"], ab.history_["alpha"], strict=True):
        assert a == pytest.approx(0.5 * (math.log((1 - e) / e) + math.log(9)))


def test_adaboost_training_error_falls_on_mnist_t10k(mnist_dir):
    ds = kn.data.load_dataset("mnist-t10k", data_dir=mnist_dir)
    X, y = ds.train[0][:2000], ds.train[1][:2000]
    # softmax-regression weak learners, one epoch each
    ab = AdaBoost(lambda: MLP(784, (), 10), n_models=6, epochs=1, lr=1e-2, learning_rate=0.5, batch_size=64)
    err = ab.fit(X, y).history_["train_error"]
    assert len(err) == 6
    assert err[-1] < 0.8 * err[0]
    assert all(b <= a + 0.02 for a, b in zip(err, err[1:], strict=False))


def test_adaboost_trains_each_learner_on_reweighted_samples(digits, monkeypatch):
    (X, y), _ = digits
    X, y = X[:400], y[:400]
    seen: list = []
    fit = Trainer.fit

    def spy(self, train, *args, sample_weight=None, **kw):
        seen.append(None if sample_weight is None else np.array(sample_weight))
        out = fit(self, train, *args, sample_weight=sample_weight, **kw)
        seen[-1] = (seen[-1], self.predict(train[0]))
        return out

    monkeypatch.setattr(Trainer, "fit", spy)
    ab = AdaBoost(lambda: MLP(64, (4,), 10), n_models=3, epochs=3, lr=1e-2).fit(X, y)
    assert len(seen) == len(ab) == 3
    (w0, pred0), (w1, _), _ = seen
    np.testing.assert_allclose(w0, np.full(len(X), 1 / len(X)))
    miss = pred0 != y
    assert 0 < miss.sum() < len(y)
    # after round 1 every misclassified sample weighs exp(alpha) times a correct one
    ratio = w1[miss].mean() / w1[~miss].mean()
    assert ratio == pytest.approx(math.exp(ab.history_["alpha"][0]), rel=1e-6)


def test_model_averaging_varies_what_it_is_told(digits):
    (X, y), (Xt, yt) = digits
    X, y = X[:300], y[:300]
    inits: list[np.ndarray] = []

    def make():
        m = MLP(64, (16,), 10)
        inits.append(next(m.parameters()).data.copy())
        return m

    ModelAveraging(make, 3, vary="order", epochs=1).fit(X, y)
    assert all(np.array_equal(inits[0], w) for w in inits[1:3])  # same initial weights
    inits.clear()
    avg = ModelAveraging(make, 3, vary="seed", epochs=3, lr=1e-2).fit(X, y)
    assert not np.array_equal(inits[0], inits[1])
    assert avg.score(Xt, yt) > 0.7

    cfg = [{"model_kwargs": {"hidden": (8,)}}, {"model_kwargs": {"hidden": (24,)}, "lr": 3e-3}]
    het = ModelAveraging(lambda hidden: MLP(64, hidden, 10), configs=cfg, epochs=1).fit(X, y)
    assert [m.hidden for m in het.models_] == [(8,), (24,)]
    assert het.trainers_[1].optimizer.param_groups[0]["lr"] == pytest.approx(3e-3)


@pytest.mark.parametrize("cls", [Bagging, AdaBoost])
def test_ensemble_state_round_trips_through_kn_save(tmp_path, digits, cls):
    (X, y), (Xt, _) = digits
    ens = cls(lambda: MLP(64, (8,), 10), n_models=2, epochs=2, lr=1e-2).fit(X[:200], y[:200])
    kn.save(ens.state_dict(), tmp_path / "ens.npz")
    other = cls(lambda: MLP(64, (8,), 10), n_models=2).load_state_dict(kn.load(tmp_path / "ens.npz"))
    np.testing.assert_array_equal(other.weights_, ens.weights_)
    np.testing.assert_array_equal(other.predict_proba(Xt), ens.predict_proba(Xt))
    np.testing.assert_array_equal(other.predict(Xt), ens.predict(Xt))


def test_invalid_ensemble_settings_raise_at_construction():
    with pytest.raises(KisonetValueError, match="n_models"):
        Bagging(lambda: nn.Linear(2, 2), n_models=0)
    with pytest.raises(KisonetValueError, match="voting"):
        Bagging(lambda: nn.Linear(2, 2), voting="majority")
    with pytest.raises(KisonetValueError, match="max_samples"):
        Bagging(lambda: nn.Linear(2, 2), max_samples=1.5)
    with pytest.raises(KisonetValueError, match="vary"):
        ModelAveraging(lambda: nn.Linear(2, 2), vary="init")
    with pytest.raises(KisonetValueError, match="classification"):
        AdaBoost(lambda: nn.Linear(2, 2), task="regression")
    with pytest.raises(KisonetValueError, match="fit"):
        Bagging(lambda: nn.Linear(2, 2)).predict(np.zeros((1, 2), np.float32))
