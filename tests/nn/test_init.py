"""Initialisers: empirical moments match the formulas; fans, gains, names, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import kisonet as kn
from kisonet.nn import init


def _w(*shape, dtype=np.float32):
    return kn.tensor(np.zeros(shape, dtype=dtype), dtype=dtype)


# (function, shape, expected variance) on large tensors: sampling error of var ~ var*sqrt(2/n)
FAN_CASES = [
    (init.xavier_uniform_, (400, 600), 2 / (400 + 600)),
    (init.xavier_normal_, (400, 600), 2 / (400 + 600)),
    (init.he_uniform_, (400, 600), 2 / 600),
    (init.he_normal_, (400, 600), 2 / 600),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), (400, 600), 1 / (3 * 600)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), (400, 600), 2 / 400),
    (lambda t: init.kaiming_normal_(t, nonlinearity="tanh"), (400, 600), (5 / 3) ** 2 / 600),
    # conv kernel (out, in, kh, kw): fan_in = in*kh*kw, fan_out = out*kh*kw
    (init.he_normal_, (64, 32, 5, 5), 2 / (32 * 25)),
    (init.xavier_uniform_, (64, 32, 5, 5), 2 / (32 * 25 + 64 * 25)),
]


@pytest.mark.parametrize("fn,shape,var", FAN_CASES)
def test_empirical_variance_matches_formula(fn, shape, var):
    w = _w(*shape)
    out = fn(w)
    assert out is w and w.dtype == np.float32
    d = w.data.astype(np.float64)
    assert abs(d.mean()) < 4 * math.sqrt(var / d.size)
    assert d.var() == pytest.approx(var, rel=0.03)


def test_uniform_bounds_are_exact():
    w = _w(300, 300)
    init.he_uniform_(w)
    b = math.sqrt(6 / 300)
    assert np.abs(w.data).max() <= b
    assert np.abs(w.data).max() > 0.99 * b
    init.uniform_(w, -2.0, 3.0)
    assert w.data.min() >= -2 and w.data.max() <= 3 and w.data.mean() == pytest.approx(0.5, abs=0.02)


def test_normal_constant_zeros_ones():
    w = _w(500, 400)
    init.normal_(w, mean=3.0, std=0.5)
    assert w.data.mean() == pytest.approx(3.0, abs=0.01) and w.data.std() == pytest.approx(0.5, rel=0.02)
    init.constant_(w, 1.5)
    assert np.all(w.data == 1.5)
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    assert np.all(w.data == 1)


def test_fan_in_fan_out():
    assert init._calculate_fan_in_and_fan_out(_w(100, 784)) == (784, 100)
    assert init._calculate_fan_in_and_fan_out(_w(30, 1, 5, 5)) == (25, 750)
    with pytest.raises(kn.ShapeError, match=r"\(7,\)"):
        init._calculate_fan_in_and_fan_out(_w(7))


def test_calculate_gain_matches_torch(torch):
    for name, param in [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
        ("conv2d", None),
    ]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(kn.KisonetValueError, match="did you mean 'relu'"):
        init.calculate_gain("reluu")


def test_keeps_dtype_and_follows_seed():
    w64 = _w(50, 40, dtype=np.float64)
    init.xavier_normal_(w64)
    assert w64.dtype == np.float64
    kn.manual_seed(7)
    a = init.he_normal_(_w(20, 30)).data.copy()
    kn.manual_seed(7)
    b = init.he_normal_(_w(20, 30)).data
    np.testing.assert_array_equal(a, b)


def test_inplace_works_on_parameter_under_grad_mode():
    p = kn.nn.Parameter(np.zeros((10, 10), np.float32))
    v0 = p._version
    init.he_normal_(p)  # a Parameter requires grad; init runs under no_grad
    assert p.data.std() > 0 and p._version > v0 and p.requires_grad


@pytest.mark.parametrize(
    "name,var",
    [
        ("he", 2 / 500),
        ("he_uniform", 2 / 500),
        ("xavier", 2 / 900),
        ("xavier_normal", 2 / 900),
        ("normal", 1e-4),
        ("normal:0.1", 1e-2),
    ],
)
def test_init_layer_named(name, var):
    w, b = _w(400, 500), kn.ones(400)
    init.init_layer_(w, b, name)
    assert w.data.var() == pytest.approx(var, rel=0.03)
    assert not b.data.any()  # named inits zero the bias


def test_init_layer_default_is_pytorch():
    w, b = _w(400, 500), kn.zeros(400)
    init.init_layer_(w, b)
    bound = 1 / math.sqrt(500)
    assert np.abs(w.data).max() <= bound and w.data.var() == pytest.approx(bound**2 / 3, rel=0.03)
    assert np.abs(b.data).max() <= bound and b.data.std() > 0


def test_init_layer_zeros_callable_and_errors():
    w, b = _w(4, 5), kn.ones(4)
    init.init_layer_(w, b, "zeros")
    assert not w.data.any()
    init.init_layer_(w, b, lambda t: init.constant_(t, 2.0))
    assert np.all(w.data == 2) and not b.data.any()
    with pytest.raises(kn.KisonetValueError, match="did you mean 'xavier'"):
        init.init_layer_(w, b, "xavir")
    with pytest.raises(kn.KisonetValueError, match="normal:"):
        init.init_layer_(w, b, "normal:abc")
    with pytest.raises(kn.KisonetTypeError):
        init.init_layer_(w, b, 3)
