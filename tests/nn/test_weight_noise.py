"""WeightNoise: noisy weights in training forwards only, gradients reach the clean weights."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn as nn
from kisonet.errors import KisonetTypeError, KisonetValueError


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


@pytest.fixture
def x(rng):
    return kn.tensor(rng.standard_normal((8, 6)).astype(np.float32))


def test_noise_in_train_mode_only(x):
    model = _model()
    clean = model(x).data.copy()
    wrapped = nn.WeightNoise(model, std=0.1)
    a, b = wrapped(x).data, wrapped(x).data
    assert not np.allclose(a, clean) and not np.allclose(a, b)  # a fresh draw every forward
    wrapped.eval()
    np.testing.assert_array_equal(wrapped(x).data, clean)
    wrapped.train()
    assert not np.allclose(wrapped(x).data, clean)
    np.testing.assert_array_equal(nn.WeightNoise(model, std=0.0)(x).data, clean)


def test_parameters_are_restored_and_unchanged_after_forward(x):
    model = _model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    wrapped = nn.WeightNoise(model, std=0.5)
    wrapped(x)
    assert isinstance(model[0].weight, nn.Parameter)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert list(wrapped.state_dict()) == ["module." + k for k in before]
    assert [p is q for p, q in zip(wrapped.parameters(), model.parameters(), strict=True)] == [True] * 4


def test_gradient_reaches_the_clean_weights_through_the_noisy_ones(rng):
    lin = nn.Linear(4, 3)
    wrapped = nn.WeightNoise(lin, std=0.3, which="all", seed=0)
    xin = kn.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = wrapped(xin)
    (y * y).sum().backward()
    # L = sum(y^2), y = x W~^T + b~  =>  dL/dW = 2 y^T x, dL/db = 2 sum(y): evaluated at the noisy y.
    np.testing.assert_allclose(lin.weight.grad, 2 * y.data.T @ xin.data, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad, 2 * y.data.sum(axis=0), rtol=1e-4, atol=1e-5)
    # and y really used noisy weights
    assert not np.allclose(y.data, lin(xin).data)


def test_noise_statistics_which_and_seed(x):
    lin = nn.Linear(200, 100, bias=True)
    seen = []

    class Probe(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, z):
            seen.append((self.inner.weight.data.copy(), self.inner.bias.data.copy()))
            return self.inner(z)

    wrapped = nn.WeightNoise(Probe(lin), std=0.05, seed=1)
    wrapped(kn.tensor(np.zeros((1, 200), np.float32)))
    w_noisy, b_noisy = seen[0]
    delta = w_noisy - lin.weight.data
    assert abs(delta.std() - 0.05) < 0.002 and abs(delta.mean()) < 0.002
    np.testing.assert_array_equal(b_noisy, lin.bias.data)  # which='weight' leaves biases alone
    assert wrapped.noisy_parameters() == ["inner.weight"]
    # the same seed gives the same noise
    nn.WeightNoise(Probe(lin), std=0.05, seed=1)(kn.tensor(np.zeros((1, 200), np.float32)))
    np.testing.assert_array_equal(seen[1][0], w_noisy)


def test_weight_noise_skips_normalisation_scales_and_trains(rng):
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    wrapped = nn.WeightNoise(model, std=0.01)
    assert wrapped.noisy_parameters() == ["0.weight", "3.weight"]
    assert len(nn.WeightNoise(model, std=0.01, which="all").noisy_parameters()) == 6
    xs = kn.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    target = kn.tensor(xs.data.sum(axis=1, keepdims=True))
    losses = []
    for _ in range(60):
        loss = ((wrapped(xs) - target) ** 2).mean()
        wrapped.zero_grad()
        loss.backward()
        with kn.no_grad():
            for p in wrapped.parameters():
                p.data = p.data - 0.05 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_invalid_arguments():
    with pytest.raises(KisonetValueError, match="std"):
        nn.WeightNoise(nn.Linear(2, 2), std=-1.0)
    with pytest.raises(KisonetValueError, match="which"):
        nn.WeightNoise(nn.Linear(2, 2), std=0.1, which="bias")
    with pytest.raises(KisonetTypeError, match="Module"):
        nn.WeightNoise(lambda z: z, std=0.1)
    assert repr(nn.WeightNoise(nn.Linear(2, 2), 0.1)).startswith("WeightNoise(std=0.1\n  (module): Linear(")
