"""Activations: gradients, torch parity, stability at +-1000, modules and Flatten."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet import nn

MODULES = [
    nn.Sigmoid(),
    nn.Tanh(),
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.Identity(),
    nn.Softmax(dim=1),
    nn.LogSoftmax(dim=0),
    nn.Softmax(),
    nn.LogSoftmax(),
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: repr(m))
def test_gradcheck_modules(module, rng):
    # keep away from ReLU's kink at 0
    x = rng.standard_normal((3, 5))
    x[np.abs(x) < 0.05] = 0.3
    xt = kn.tensor(x, requires_grad=True)
    for mode in (True, False):
        module.train(mode)
        assert kn.gradcheck(module, xt)


def test_extreme_inputs_are_stable_and_match_torch(torch):
    x = np.array([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -999.0, -1000.0]], np.float32)
    xt = torch.tensor(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow / invalid-value warning fails the test
        out = {
            "softmax": F.softmax(x, dim=1).data,
            "log_softmax": F.log_softmax(x, axis=-1).data,
            "sigmoid": F.sigmoid(x).data,
            "tanh": F.tanh(x).data,
            "leaky_relu": F.leaky_relu(x, 0.1).data,
        }
        xk = kn.tensor(x, requires_grad=True)
        F.log_softmax(xk).sum().backward()
        xs = kn.tensor(x, requires_grad=True)
        (F.softmax(xs) * kn.tensor(np.arange(4.0))).sum().backward()
    ref = {
        "softmax": torch.softmax(xt, 1),
        "log_softmax": torch.log_softmax(xt, 1),
        "sigmoid": torch.sigmoid(xt),
        "tanh": torch.tanh(xt),
        "leaky_relu": torch.nn.functional.leaky_relu(xt, 0.1),
    }
    for k, v in out.items():
        assert np.all(np.isfinite(v)), k
        np.testing.assert_allclose(v, ref[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert np.all(np.isfinite(xk.grad)) and np.all(np.isfinite(xs.grad))
    xt.requires_grad_(True)
    torch.log_softmax(xt, 1).sum().backward()
    np.testing.assert_allclose(xk.grad, xt.grad.numpy(), atol=1e-6)


def test_softmax_axis_and_grad_parity(torch, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    g = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for ax in (0, 1, -1):
        xk = kn.tensor(x, requires_grad=True)
        F.softmax(xk, axis=ax).backward(g)
        xt = torch.tensor(x, requires_grad=True)
        torch.softmax(xt, ax).backward(torch.tensor(g))
        np.testing.assert_allclose(xk.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(F.softmax(x, axis=1).data.sum(axis=1), 1, rtol=1e-6)
    with pytest.raises(kn.KisonetValueError):
        F.softmax(x, axis=3)


def test_leaky_relu_slope_and_dtype():
    x = kn.tensor([-2.0, 3.0], requires_grad=True)
    y = F.leaky_relu(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(y.data, [-0.5, 3.0])
    np.testing.assert_allclose(x.grad, [0.25, 1.0])
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def test_flatten():
    x = kn.tensor(np.arange(120.0).reshape(2, 3, 4, 5), requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    nn.Flatten()(x).sum().backward()
    assert x.grad.shape == (2, 3, 4, 5)
    with pytest.raises(kn.KisonetValueError, match="Flatten"):
        nn.Flatten(3, 1)(x)
