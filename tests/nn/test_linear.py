"""Linear: torch parity of forward and every gradient, gradcheck, skipped input gradient."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet import nn
from kisonet.nn.functional.linear import Linear as LinearFn


def test_forward_and_grads_match_torch(torch, rng):
    layer = nn.Linear(7, 5)
    x = rng.standard_normal((4, 7)).astype(np.float32)
    gy = rng.standard_normal((4, 5)).astype(np.float32)
    tl = torch.nn.Linear(7, 5)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(layer.weight.data))
        tl.bias.copy_(torch.from_numpy(layer.bias.data))
    xt = torch.tensor(x, requires_grad=True)
    yt = tl(xt)
    yt.backward(torch.from_numpy(gy))
    xk = kn.tensor(x, requires_grad=True)
    yk = layer(xk)
    yk.backward(gy)
    assert yk.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    np.testing.assert_allclose(yk.data, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xk.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.weight.grad, tl.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.bias.grad, tl.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_default_init_matches_pytorch_bounds():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.data.var() == pytest.approx(bound**2 / 3, rel=0.05)
    he = nn.Linear(400, 300, init="he")
    assert he.weight.data.var() == pytest.approx(2 / 400, rel=0.05) and not he.bias.data.any()


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4,)])
def test_gradcheck_with_params(bias, shape, rng):
    layer = nn.Linear(4, 3, bias=bias)
    x = kn.tensor(rng.standard_normal(shape), requires_grad=True)
    for mode in (True, False):
        layer.train(mode)
        assert kn.gradcheck(layer, x, params=layer.parameters())
    assert (layer.bias is None) == (not bias)


def test_input_gradient_skipped_for_data_input(rng):
    w = kn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = kn.tensor(rng.standard_normal((5, 4)))  # data: no gradient wanted
    y = LinearFn.apply(x, w)
    fn = y.grad_fn
    assert fn.needs_input_grad == (False, True)
    gx, gw = fn.backward(np.ones((5, 3), np.float32))
    assert gx is None and gw.shape == (3, 4)
    # with an input that needs a gradient, it is computed
    x2 = kn.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    gx2, _ = LinearFn.apply(x2, w).grad_fn.backward(np.ones((5, 3), np.float32))
    np.testing.assert_allclose(gx2, np.ones((5, 3)) @ w.data, rtol=1e-6)


def test_shape_error_names_layer_and_shape():
    with pytest.raises(kn.ShapeError, match=r"Linear\(784->100\) got input of shape \(32, 100\)"):
        nn.Linear(784, 100)(kn.zeros((32, 100)))
    with pytest.raises(kn.ShapeError, match="bias"):
        F.linear(kn.zeros((2, 3)), kn.zeros((4, 3)), kn.zeros(5))
    with pytest.raises(kn.KisonetValueError, match="in_features"):
        nn.Linear(0, 3)


def test_repr_and_state_dict():
    layer = nn.Linear(784, 100)
    assert repr(layer) == "Linear(in_features=784, out_features=100, bias=True)  # 78,500 params"
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (100, 784)
    assert "bias=False" in repr(nn.Linear(3, 2, bias=False))


def test_functional_matches_module_and_float64(rng):
    layer = nn.Linear(6, 2)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(F.linear(x, layer.weight, layer.bias).data, layer(x).data, rtol=1e-6)
    layer.to(np.float64)
    y = layer(kn.tensor(x, dtype=np.float64))
    assert y.dtype == np.float64
