"""Masked backward passes give exact zeros where the mask is off, even for a NaN/Inf upstream
gradient (``0 * NaN`` is NaN): ReLU, clip, maximum/minimum, max/min reductions and max pooling,
each against PyTorch's backward for the same NaN-carrying gradient."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention

X = np.array([-1.0, 0.0, 2.0, 1.0, -3.0, 0.5], dtype=np.float32)


def _nan_grad_parity(torch, kfn, tfn, x=X, upstream=np.nan):
    kx = kn.tensor(x.copy(), requires_grad=True)
    ky = kfn(kx)
    ky.backward(np.full(ky.shape, upstream, dtype=np.float32))
    tx = torch.tensor(x.copy(), requires_grad=True)
    ty = tfn(tx)
    ty.backward(torch.full_like(ty, upstream))
    np.testing.assert_array_equal(kx.grad, tx.grad.numpy())  # NaNs compare equal position by position
    return kx.grad


@pytest.mark.parametrize("upstream", [np.nan, np.inf])
def test_relu_backward_is_zero_where_off(torch, upstream):
    g = _nan_grad_parity(torch, kn.relu, torch.relu, upstream=upstream)
    assert np.all(g[X <= 0] == 0)
    assert np.all(~np.isfinite(g[X > 0]))


def test_relu_module_in_a_network_keeps_dead_units_clean():
    """The textbook's Relu.backward (dout[mask] = 0) gives 0 where x <= 0 for any dout."""
    x = kn.tensor(np.array([[-2.0, 3.0]], dtype=np.float32), requires_grad=True)
    y = kn.nn.ReLU()(x)
    y.backward(np.array([[np.nan, 1.0]], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0]])


def test_relu_finite_gradient_unchanged(torch, rng):
    x = rng.standard_normal((7, 5)).astype(np.float32)
    gy = rng.standard_normal((7, 5)).astype(np.float32)
    kx = kn.tensor(x, requires_grad=True)
    kn.relu(kx).backward(gy)
    np.testing.assert_array_equal(kx.grad, gy * (x > 0))


def test_clip_backward(torch):
    _nan_grad_parity(torch, lambda t: kn.clip(t, -0.5, 1.0), lambda t: t.clamp(-0.5, 1.0))


def test_maximum_minimum_backward(torch):
    zk, zt = np.zeros_like(X), torch.zeros(len(X))
    _nan_grad_parity(torch, lambda t: kn.maximum(t, kn.tensor(zk)), lambda t: torch.maximum(t, zt))
    _nan_grad_parity(torch, lambda t: kn.minimum(t, kn.tensor(zk)), lambda t: torch.minimum(t, zt))


def test_max_min_reduction_backward(torch):
    x = X.reshape(2, 3)
    _nan_grad_parity(torch, lambda t: kn.max(t, axis=1), lambda t: t.max(1).values, x=x)
    _nan_grad_parity(torch, lambda t: kn.min(t), lambda t: t.min(), x=x)


@pytest.mark.parametrize(("k", "s"), [(2, 2), (3, 1)])
def test_max_pool_backward(torch, rng, k, s):
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    _nan_grad_parity(torch, lambda t: F.max_pool2d(t, k, s), lambda t: torch.nn.functional.max_pool2d(t, k, s), x=x)
