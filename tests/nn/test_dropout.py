"""Noise layers: Dropout, DropConnect, GaussianNoise (statistics, modes, gradients, seeds)."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet import nn
from kisonet.nn.functional.dropout import dropout_mask


def test_dropout_statistics_and_scaling():
    x = kn.ones((200, 500))
    y = nn.Dropout(0.3)(x).data
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert (y == 0).mean() == pytest.approx(0.3, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the expectation


def test_dropout_eval_is_identity_and_p_zero():
    d = nn.Dropout(0.5).eval()
    x = kn.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(d(x).data, x.data)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).data, x.data)
    np.testing.assert_array_equal(F.dropout(x, 0.0).data, x.data)


def test_dropout_backward_uses_same_mask():
    x = kn.tensor(np.full((50, 40), 2.0), requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data / 2.0)


def test_dropout_seeded():
    kn.manual_seed(3)
    a = F.dropout(kn.ones((10, 10)), 0.5).data
    kn.manual_seed(3)
    b = F.dropout(kn.ones((10, 10)), 0.5).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(kn.ones((10, 10)), 0.5).data)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True])
def test_invalid_p_raises_value_error(p):
    with pytest.raises(kn.KisonetValueError, match=r"Dropout: p must be a probability in \[0, 1\), got "):
        nn.Dropout(p)
    with pytest.raises(ValueError):
        nn.DropConnect(nn.Linear(2, 2), p)


def _seeded(module, seed=11):
    def fn(x):
        kn.manual_seed(seed)  # the same mask at every finite-difference evaluation
        return module(x)

    return fn


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_noise_layers(training, rng):
    x = kn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    for m in (nn.Dropout(0.4), nn.GaussianNoise(0.3)):
        m.train(training)
        assert kn.gradcheck(_seeded(m), x)
    dc = nn.DropConnect(nn.Linear(4, 3), p=0.5).train(training)
    assert kn.gradcheck(_seeded(dc), x, params=dc.parameters())


def test_dropconnect_drops_weights_not_units(rng):
    lin = nn.Linear(6, 4)
    dc = nn.DropConnect(lin, p=0.5)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    kn.manual_seed(5)
    y = dc(kn.tensor(x))
    kn.manual_seed(5)
    m = dropout_mask(lin.weight.shape, 0.5, np.float32)
    np.testing.assert_allclose(y.data, x @ (lin.weight.data * m).T + lin.bias.data, rtol=1e-5, atol=1e-6)
    assert (m == 0).any() and (m != 0).any()
    gy = rng.standard_normal((5, 4)).astype(np.float32)
    y.backward(gy)
    np.testing.assert_allclose(lin.weight.grad, m * (gy.T @ x), rtol=1e-5, atol=1e-5)
    # same parameters: the wrapper shares the Linear's
    assert dc.weight is lin.weight and list(dc.state_dict()) == ["linear.weight", "linear.bias"]
    dc.eval()
    np.testing.assert_allclose(dc(x).data, lin(x).data)
    with pytest.raises(kn.ShapeError, match=r"Linear\(6->4\)"):
        dc.train()(kn.zeros((2, 5)))
    with pytest.raises(kn.KisonetTypeError):
        nn.DropConnect(nn.ReLU(), 0.5)


def test_gaussian_noise_layer_and_array():
    g = nn.GaussianNoise(0.5)
    x = kn.zeros((300, 300))
    y = g(x).data
    assert y.dtype == np.float32 and y.std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(g.eval()(x).data, x.data)
    a64 = np.ones((200, 200))
    out = F.gaussian_noise_array(a64, 2.0, np.random.default_rng(0))
    assert (
        out.dtype == np.float64
        and out.std() == pytest.approx(2.0, rel=0.02)
        and out.mean() == pytest.approx(1, abs=0.05)
    )
    a32 = np.zeros(5, np.float32)
    assert F.gaussian_noise_array(a32, 1.0, np.random.default_rng(0)).dtype == np.float32
    np.testing.assert_array_equal(a32, 0)  # the input is not modified
    with pytest.raises(kn.KisonetValueError, match="std"):
        nn.GaussianNoise(-1)
    assert repr(nn.GaussianNoise(0.5)) == "GaussianNoise(std=0.5)"
