"""Conv2d / ConvTranspose2d: torch parity of outputs and every gradient, gradcheck,
im2col/col2im adjointness, the skipped input gradient, errors and hyper-parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - PyTorch convention
from kisonet import nn
from kisonet.errors import KisonetValueError, ShapeError
from kisonet.nn.functional import conv as conv_mod

CONV_CASES = [
    # (in, out, kernel, stride, padding, input H, W)
    (3, 4, 3, 1, 0, 9, 8),
    (3, 4, 3, 2, 1, 9, 8),
    (2, 5, 5, 3, 2, 11, 10),
    (3, 4, 4, 1, "same", 7, 6),  # even kernel: the extra pixel goes bottom/right
    (2, 3, (3, 2), (2, 1), (0, 2), 8, 9),
    (1, 30, 5, 1, 0, 12, 12),
]


def _copy_from_torch(module, tmodule):
    module.weight.data = tmodule.weight.detach().numpy().copy()
    if tmodule.bias is not None:
        module.bias.data = tmodule.bias.detach().numpy().copy()


def _close(a, b, tol=1e-4):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("bias,layout", [(True, None), (False, None), (True, "nchw"), (True, "batch_last")])
def test_conv2d_matches_torch_forward_and_all_gradients(case, bias, layout, torch, rng):
    cin, cout, k, s, p, H, W = case
    tconv = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    _copy_from_torch(conv, tconv)
    x = rng.standard_normal((3, cin, H, W)).astype(np.float32)
    xt = kn.tensor(x, requires_grad=True)
    y = conv(xt) if layout is None else F.conv2d(xt, conv.weight, conv.bias, s, p, layout=layout)
    tx = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the even kernel's 'same' padding copy
        ty = tconv(tx)
    assert y.shape == tuple(ty.shape) and y.dtype == np.float32
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    _close(y.data, ty)
    _close(xt.grad, tx.grad)
    _close(conv.weight.grad, tconv.weight.grad, 2e-4)
    if bias:
        _close(conv.bias.grad, tconv.bias.grad, 2e-4)
    else:
        assert conv.bias is None and list(conv.state_dict()) == ["weight"]


@pytest.mark.parametrize("stride,padding,kernel", [(1, 0, 3), (2, 1, 3), (1, "same", 2), ((1, 2), (1, 0), (2, 3))])
def test_conv2d_gradcheck_with_params(stride, padding, kernel, rng):
    conv = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding)
    x = kn.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    for mode in (True, False):
        conv.train(mode)
        assert kn.gradcheck(conv, x, params=conv.parameters())
    for layout in ("nchw", "batch_last"):

        def f(t, layout=layout):
            return F.conv2d(t, conv.weight, conv.bias, conv.stride, conv.padding, layout=layout)

        assert kn.gradcheck(f, x, params=conv.parameters())


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
def test_first_layer_skips_input_gradient(layout, monkeypatch, rng):
    """With an input that needs no gradient (the data), backward computes dW and db but
    never runs col2im (the dx path): the 20% of FLOPs torch also skips."""
    conv = nn.Conv2d(1, 4, 3)
    x = kn.tensor(rng.standard_normal((2, 1, 6, 6)).astype(np.float32))

    def boom(*a, **k):
        raise AssertionError("col2im must not run for an input that needs no gradient")

    monkeypatch.setattr(conv_mod, "col2im", boom)
    monkeypatch.setattr(conv_mod, "_col2im_batch_last", boom)
    F.conv2d(x, conv.weight, conv.bias, layout=layout).sum().backward()
    assert x.grad is None
    assert conv.weight.grad is not None and np.abs(conv.weight.grad).sum() > 0
    # ... while an input that needs a gradient does go through col2im
    x.requires_grad = True
    with pytest.raises(AssertionError, match="col2im must not run"):
        F.conv2d(x, conv.weight, conv.bias, layout=layout).sum().backward()


@pytest.mark.parametrize(
    "kernel,stride,pad",
    [
        ((3, 3), (1, 1), (1, 1, 1, 1)),
        ((2, 3), (2, 2), (0, 1, 2, 0)),
        ((2, 2), (2, 2), (0, 0, 0, 0)),
        ((2, 2), (3, 3), (0, 0, 0, 0)),
    ],
)
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, pad, rng):
    # <im2col(x), c> == <x, col2im(c)> for all x, c: col2im is exactly the transpose.
    x = rng.standard_normal((2, 3, 8, 9))
    xp = conv_mod.pad_array(x, pad)
    out_hw = conv_mod.conv_output_size("t", x.shape, kernel, stride, pad)
    col = F.im2col(xp, kernel, stride, out_hw)
    c = rng.standard_normal(col.shape)
    back = F.col2im(c, xp.shape, kernel, stride, out_hw)
    assert np.isclose(np.sum(col * c), np.sum(xp * back))


def test_conv_output_size_rule_and_errors():
    x = kn.zeros((2, 1, 28, 28))
    assert nn.Conv2d(1, 30, 5)(x).shape == (2, 30, 24, 24)
    assert nn.Conv2d(1, 8, 3, stride=2, padding=1)(x).shape == (2, 8, 14, 14)  # (28+2-3)//2+1
    assert nn.Conv2d(1, 8, 4, padding="same")(x).shape == (2, 8, 28, 28)
    with pytest.raises(ShapeError, match=r"Conv2d\(1->30, 5x5\) got input of shape \(2, 3, 28, 28\)"):
        nn.Conv2d(1, 30, 5)(kn.zeros((2, 3, 28, 28)))
    with pytest.raises(ShapeError, match=r"Conv2d\(1->30, 5x5\) got input of shape \(2, 28, 28\)"):
        nn.Conv2d(1, 30, 5)(kn.zeros((2, 28, 28)))
    with pytest.raises(ShapeError, match=r"\(1, 1, 4, 4\).*5x5 window does not fit.*4x4"):
        nn.Conv2d(1, 30, 5)(kn.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=0),
        dict(kernel_size=3, stride=0),
        dict(kernel_size=3, padding=-1),
        dict(kernel_size=3, padding="same", stride=2),
        dict(kernel_size=3, padding="full"),
    ],
)
def test_conv2d_invalid_hyperparameters_raise_at_construction(kwargs):
    with pytest.raises(ValueError):
        nn.Conv2d(1, 2, **kwargs)
    with pytest.raises(KisonetValueError):
        nn.Conv2d(0, 2, 3)


def test_conv2d_init_default_and_named(rng):
    conv = nn.Conv2d(3, 16, 5)
    bound = 1 / np.sqrt(3 * 25)  # PyTorch default: U(+-1/sqrt(fan_in)) for weight and bias
    assert conv.weight.shape == (16, 3, 5, 5) and conv.weight.dtype == np.float32
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.8 * bound
    assert np.abs(conv.bias.data).max() <= bound and np.abs(conv.bias.data).max() > 0
    he = nn.Conv2d(16, 64, 3, init="he")
    assert np.isclose(he.weight.data.var(), 2 / (16 * 9), rtol=0.1)
    assert np.all(he.bias.data == 0)


def test_conv2d_float64_module(rng):
    conv = nn.Conv2d(2, 3, 3).double()
    y = conv(kn.tensor(rng.standard_normal((1, 2, 5, 5)), dtype=np.float64))
    assert y.dtype == np.float64


CONVT_CASES = [
    (3, 4, 3, 1, 0, 0),
    (3, 2, 3, 2, 1, 1),
    (2, 3, 2, 2, 0, 0),
    (2, 3, 4, 3, 1, 2),
    (1, 2, (3, 2), (2, 1), (1, 0), (1, 0)),
]


@pytest.mark.parametrize("case", CONVT_CASES, ids=str)
def test_conv_transpose2d_matches_torch(case, torch, rng):
    cin, cout, k, s, p, op = case
    tm = torch.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op)
    m = nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op)
    assert m.weight.shape == tuple(tm.weight.shape)  # (in, out, kh, kw)
    _copy_from_torch(m, tm)
    x = rng.standard_normal((2, cin, 5, 4)).astype(np.float32)
    xt, tx = kn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xt), tm(tx)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    _close(y.data, ty)
    _close(xt.grad, tx.grad)
    _close(m.weight.grad, tm.weight.grad, 2e-4)
    _close(m.bias.grad, tm.bias.grad, 2e-4)


def test_conv_transpose2d_gradcheck_and_adjoint(rng):
    m = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
    x = kn.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    assert kn.gradcheck(m, x, params=m.parameters())
    # With the same weight and no bias, conv_transpose2d is the adjoint of conv2d:
    # <conv2d(u, w), v> == <u, conv_transpose2d(v, w)>.
    w = rng.standard_normal((4, 3, 3, 3))
    u = rng.standard_normal((2, 3, 8, 8))
    cu = F.conv2d(u, w, stride=2, padding=1).data
    v = rng.standard_normal(cu.shape)
    tv = F.conv_transpose2d(v, w, stride=2, padding=1, output_padding=1).data
    assert tv.shape == u.shape
    assert np.isclose(np.sum(cu * v), np.sum(u * tv))


def test_conv_transpose2d_errors():
    with pytest.raises(KisonetValueError, match="output_padding"):
        nn.ConvTranspose2d(1, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ShapeError, match=r"ConvTranspose2d\(3->2, 3x3\) got input of shape \(1, 2, 4, 4\)"):
        nn.ConvTranspose2d(3, 2, 3)(kn.zeros((1, 2, 4, 4)))


def test_frozen_conv_weights_still_give_the_input_gradient(rng):
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    x = kn.tensor(rng.standard_normal((2, 2, 7, 7)).astype(np.float32), requires_grad=True)
    conv(x).sum().backward()
    expected = x.grad.copy()
    x.grad = None
    conv.requires_grad_(False)
    conv(x).sum().backward()
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_small_cnn_from_these_modules_gradchecks(rng):
    # conv - tanh - pool - affine, as in the README's SimpleCNN (tanh keeps it smooth for gradcheck)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 3)
    )
    x = kn.tensor(rng.standard_normal((2, 1, 6, 6)), requires_grad=True)
    assert kn.gradcheck(model, x, params=model.parameters())
