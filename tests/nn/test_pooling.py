"""Pooling and upsampling: torch parity (values and gradients, ties), gradcheck, errors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - PyTorch convention
from kisonet import nn
from kisonet.errors import KisonetValueError, ShapeError

POOL_CASES = [
    # (kernel, stride, padding, H, W)
    (2, None, 0, 8, 8),  # fast path: windows tile the image
    (2, None, 0, 9, 7),  # odd sizes: last row/column dropped, like PyTorch
    (3, 2, 1, 8, 8),  # overlapping and padded
    (3, 1, 0, 6, 7),
    (2, 3, 0, 8, 8),  # gaps between windows
    ((2, 3), (1, 2), (1, 1), 7, 9),
]


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=tol, atol=tol)


def _parity(module, tfn, x, torch, rng):
    xt, tx = kn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = module(xt), tfn(tx)
    assert y.shape == tuple(ty.shape) and y.dtype == x.dtype
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    _close(y.data, ty)
    _close(xt.grad, tx.grad)


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_max_and_avg_pool_match_torch(case, torch, rng):
    k, s, p, H, W = case
    x = rng.standard_normal((3, 4, H, W)).astype(np.float32)
    tk = dict(kernel_size=k, stride=s if s is not None else k, padding=p)
    _parity(nn.MaxPool2d(k, s, p), lambda t: torch.nn.functional.max_pool2d(t, **tk), x, torch, rng)
    _parity(nn.AvgPool2d(k, s, p), lambda t: torch.nn.functional.avg_pool2d(t, **tk), x, torch, rng)


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (3, 2)])
def test_max_pool_ties_send_gradient_to_one_element_like_torch(k, s, torch, rng):
    # Integer-valued inputs make many windows hold several equal maxima.
    x = rng.integers(-1, 2, size=(2, 3, 8, 8)).astype(np.float32)
    xt, tx = kn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, k, s).backward(np.ones((2, 3, (8 - k) // s + 1, (8 - k) // s + 1), np.float32))
    torch.nn.functional.max_pool2d(tx, k, s).sum().backward()
    np.testing.assert_array_equal(xt.grad, tx.grad.numpy())
    if k == s:  # non-overlapping: each window passes exactly one gradient of 1
        assert xt.grad.sum() == (8 // k) ** 2 * 6


@pytest.mark.parametrize(
    "module",
    [
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, 2, 1),
        nn.AvgPool2d(2),
        nn.AvgPool2d(3, 2, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.AdaptiveAvgPool2d((2, 3)),
        nn.Upsample(scale_factor=2),
        nn.Upsample(size=(7, 5)),
    ],
    ids=repr,
)
def test_gradcheck_pool_modules(module, rng):
    x = kn.tensor(rng.standard_normal((2, 2, 6, 6)), requires_grad=True)
    for mode in (True, False):
        module.train(mode)
        assert kn.gradcheck(module, x)


@pytest.mark.parametrize("size", [1, (3, 2), (4, 4), (None, 2)], ids=str)
def test_adaptive_avg_pool_matches_torch(size, torch, rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    _parity(nn.AdaptiveAvgPool2d(size), lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size), x, torch, rng)


def test_global_average_pool_is_the_mean(rng):
    x = rng.standard_normal((4, 5, 6, 7)).astype(np.float32)
    y = nn.AdaptiveAvgPool2d(1)(kn.tensor(x))
    assert y.shape == (4, 5, 1, 1)
    np.testing.assert_allclose(y.data[:, :, 0, 0], x.mean(axis=(2, 3)), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [dict(scale_factor=2), dict(scale_factor=(3, 2)), dict(scale_factor=1.5), dict(size=(7, 11)), dict(size=8)],
    ids=str,
)
def test_upsample_nearest_matches_torch(kwargs, torch, rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    _parity(
        nn.Upsample(**kwargs), lambda t: torch.nn.functional.interpolate(t, mode="nearest", **kwargs), x, torch, rng
    )


def test_upsample_backward_sums_blocks(rng):
    x = kn.tensor(rng.standard_normal((1, 1, 2, 2)).astype(np.float32), requires_grad=True)
    y = F.interpolate(x, scale_factor=3)
    assert y.shape == (1, 1, 6, 6)
    np.testing.assert_array_equal(y.data[0, 0, :3, :3], np.full((3, 3), x.data[0, 0, 0, 0]))
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.grad, np.full((1, 1, 2, 2), 9.0))


def test_pool_output_size_and_errors():
    x = kn.zeros((2, 30, 24, 24))
    assert nn.MaxPool2d(2)(x).shape == (2, 30, 12, 12)
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 30, 12, 12)
    with pytest.raises(ShapeError, match=r"MaxPool2d\(3\) got input of shape \(1, 1, 2, 2\).*does not fit"):
        nn.MaxPool2d(3)(kn.zeros((1, 1, 2, 2)))
    with pytest.raises(ShapeError, match=r"AvgPool2d\(2\) got input of shape \(4, 4\)"):
        nn.AvgPool2d(2)(kn.zeros((4, 4)))
    with pytest.raises(KisonetValueError, match="padding"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError):
        nn.AvgPool2d(0)
    with pytest.raises(KisonetValueError, match="nearest"):
        nn.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(KisonetValueError, match="exactly one"):
        nn.Upsample()


def test_pooling_keeps_float32_and_needs_no_float64(rng):
    x = kn.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    for m in (nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1), nn.AdaptiveAvgPool2d(1), nn.Upsample(scale_factor=2)):
        y = m(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32
        x.grad = None
