"""Normal equation vs numpy.linalg.lstsq, polynomial fits, and SGD through the Trainer reaching the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import LinearRegression, Trainer, polynomial_fit, polynomial_predict


def test_normal_equation_matches_lstsq(rng):
    X = rng.normal(size=(100, 5))
    y = X @ rng.normal(size=5) + 2.0 + 0.1 * rng.normal(size=100)
    lr = LinearRegression().fit(X, y)
    A = np.column_stack([X, np.ones(100)])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(lr.coef_, ref[:5], rtol=1e-10)
    assert lr.intercept_ == pytest.approx(ref[5], rel=1e-10)
    np.testing.assert_allclose(lr.predict(X), A @ ref, rtol=1e-10)
    assert lr.coef_.shape == (5,) and isinstance(lr.intercept_, float)


def test_without_intercept_multi_output_and_sklearn(rng):
    skl = pytest.importorskip("sklearn.linear_model")
    X = rng.normal(size=(60, 3))
    Y = X @ rng.normal(size=(3, 2)) + rng.normal(size=(60, 2))
    ours = LinearRegression(fit_intercept=False).fit(X, Y)
    np.testing.assert_allclose(ours.coef_.T, np.linalg.lstsq(X, Y, rcond=None)[0], rtol=1e-10)
    ref = skl.LinearRegression().fit(X, Y)
    mine = LinearRegression().fit(X, Y)
    np.testing.assert_allclose(mine.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(mine.intercept_, ref.intercept_, rtol=1e-10, atol=1e-12)
    assert mine.score(X, Y) == pytest.approx(ref.score(X, Y))
    ridge = skl.Ridge(alpha=3.0).fit(X, Y)
    np.testing.assert_allclose(LinearRegression(alpha=3.0).fit(X, Y).coef_, ridge.coef_, rtol=1e-8)


def test_rank_deficient_design_falls_back_to_minimum_norm_solution(rng):
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, X[:, 0]])  # duplicated column: X^T X is singular
    y = X[:, 0] + X[:, 1]
    lr = LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(lr.coef_, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-10)
    np.testing.assert_allclose(lr.predict(X), y, atol=1e-10)


def test_errors():
    with pytest.raises(kn.ShapeError, match="3 samples but y"):
        LinearRegression().fit(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(kn.KisonetValueError, match="NaN"):
        LinearRegression().fit(np.array([[np.nan], [1.0]]), np.zeros(2))
    with pytest.raises(kn.KisonetValueError, match="fit\\(\\) first"):
        LinearRegression().predict(np.zeros((1, 1)))
    with pytest.raises(kn.ShapeError, match="fitted on 2 features"):
        LinearRegression().fit(np.eye(3)[:, :2], np.ones(3)).predict(np.zeros((1, 3)))
    with pytest.raises(kn.KisonetValueError, match="degree"):
        polynomial_fit([0, 1], [0, 1], degree=-1)


def test_polynomial_fit_recovers_a_cubic_and_matches_polyfit(rng):
    x = np.linspace(0, 1, 40)
    coef = np.array([1.0, -2.0, 0.5, 3.0])
    y = polynomial_predict(coef, x)
    np.testing.assert_allclose(polynomial_fit(x, y, 3), coef, atol=1e-9)
    noisy = y + 0.1 * rng.normal(size=40)
    np.testing.assert_allclose(polynomial_fit(x, noisy, 5), np.polyfit(x, noisy, 5)[::-1], rtol=1e-6, atol=1e-8)
    # the L2 penalty shrinks the wild degree-9 coefficients
    assert (
        np.abs(polynomial_fit(x[:10], noisy[:10], 9, alpha=1e-3)).max()
        < np.abs(polynomial_fit(x[:10], noisy[:10], 9)).max()
    )


def test_sgd_through_the_trainer_reaches_the_normal_equation_weights(rng):
    X = rng.normal(size=(256, 3)).astype(np.float32)
    y = (X @ np.array([1.5, -2.0, 0.7]) + 0.4 + 0.3 * rng.normal(size=256)).astype(np.float32)
    exact = LinearRegression().fit(X, y)

    model = nn.Linear(3, 1)  # the same linear unit y = w.x + b
    opt = kn.optim.SGD(model.parameters(), lr=0.1)
    # mini-batch noise shrinks as the learning rate decays (Robbins-Monro), so SGD settles on the optimum
    sched = kn.optim.lr_scheduler.ExponentialLR(opt, gamma=0.93)
    tr = Trainer(model, "squared_error", opt, scheduler=sched, progress=False, seed=0)
    tr.fit((X, y), epochs=60, batch_size=32)
    np.testing.assert_allclose(model.weight.data[0], exact.coef_, atol=1e-3)
    assert float(model.bias.data[0]) == pytest.approx(exact.intercept_, abs=1e-3)
