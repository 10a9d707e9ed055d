"""Norm penalties (values, gradients, bias exclusion) and the max-norm constraint."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import regularizers as reg_mod
from kisonet.errors import KisonetTypeError, KisonetValueError
from kisonet.nn.module import Module, Parameter


class TinyNet(Module):
    def __init__(self, rng):
        super().__init__()
        self.W1 = Parameter(rng.standard_normal((4, 3)))
        self.b1 = Parameter(rng.standard_normal(4))
        self.W2 = Parameter(rng.standard_normal((2, 4, 2)))
        self.scale = Parameter(rng.standard_normal(2))  # a normalisation-style vector


def _weights(net, include_bias=False):
    return [p.data.astype(np.float64) for p in net.parameters() if include_bias or p.ndim > 1]


CASES = [
    (lambda: reg_mod.L1(0.3), lambda ws: 0.3 * sum(np.abs(w).sum() for w in ws)),
    (lambda: reg_mod.L2(0.3), lambda ws: 0.15 * sum((w * w).sum() for w in ws)),
    (lambda: reg_mod.ElasticNet(0.2, 0.4), lambda ws: sum(0.2 * np.abs(w).sum() + 0.2 * (w * w).sum() for w in ws)),
    (lambda: reg_mod.Lp(3, 0.6), lambda ws: 0.2 * sum((np.abs(w) ** 3).sum() for w in ws)),
    (lambda: reg_mod.Lp(1.5, 0.6), lambda ws: 0.4 * sum((np.abs(w) ** 1.5).sum() for w in ws)),
    (lambda: reg_mod.Lp(2, 0.3), lambda ws: 0.15 * sum((w * w).sum() for w in ws)),
]


@pytest.mark.parametrize("reg,formula", CASES, ids=[repr(c[0]()) for c in CASES])
def test_penalty_value_excludes_biases_by_default(rng, reg, formula):
    reg = reg()
    net = TinyNet(rng)
    val = reg(net)
    assert isinstance(val, kn.Tensor) and val.shape == () and val.dtype == np.float32
    assert float(val) == pytest.approx(formula(_weights(net)), rel=1e-5)
    reg.include_bias = True
    assert float(reg(net)) == pytest.approx(formula(_weights(net, True)), rel=1e-5)
    assert float(reg(list(net.parameters()))) == pytest.approx(formula(_weights(net, True)), rel=1e-5)


@pytest.mark.parametrize("reg,formula", CASES, ids=[repr(c[0]()) for c in CASES])
def test_penalty_gradient_gradcheck(rng, reg, formula):
    reg = reg()
    net = TinyNet(rng)
    params = list(net.parameters())
    assert kn.gradcheck(lambda: reg(net), params=params)
    (reg(net) * 1.0).backward()
    assert net.b1.grad is None and net.scale.grad is None  # biases excluded: no gradient at all
    assert np.abs(net.W1.grad).sum() > 0


def test_l2_gradient_is_lambda_w_and_l1_is_lambda_sign(rng):
    w = kn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    reg_mod.L2(0.5)(w).backward()
    np.testing.assert_allclose(w.grad, 0.5 * w.data, rtol=1e-6)
    w.grad = None
    w.data[0, 0] = 0.0
    reg_mod.L1(0.5)(w).backward()
    np.testing.assert_array_equal(w.grad, 0.5 * np.sign(w.data))


def test_no_selected_parameters_gives_zero(rng):
    b = kn.tensor(rng.standard_normal(3), requires_grad=True)
    assert float(reg_mod.L2(1.0)([b])) == 0.0


def test_maxnorm_rescales_only_rows_above_the_limit(rng):
    net = TinyNet(rng)
    net.W1.data[...] = rng.standard_normal((4, 3)) * np.array([[0.1], [5.0], [0.2], [9.0]], dtype=np.float32)
    before = net.W1.data.copy()
    b_before = net.b1.data.copy()
    arr = net.W1.data
    reg_mod.MaxNorm(1.0).apply(net)
    norms = np.linalg.norm(net.W1.data, axis=1)
    old = np.linalg.norm(before, axis=1)
    assert net.W1.data is arr
    assert np.all(norms <= 1.0 + 1e-6)
    np.testing.assert_allclose(net.W1.data[old <= 1], before[old <= 1])
    np.testing.assert_allclose(norms[old > 1], 1.0, rtol=1e-5)
    # direction kept
    np.testing.assert_allclose(net.W1.data[old > 1] * old[old > 1, None], before[old > 1], rtol=1e-5)
    np.testing.assert_array_equal(net.b1.data, b_before)
    # per output unit of a 3-d weight: norm over all axes but 0
    assert np.all(np.sqrt((net.W2.data**2).sum(axis=(1, 2))) <= 1.0 + 1e-6)
    # L-infinity: every weight clipped to [-c, c]
    reg_mod.MaxNorm(0.05, norm_type=float("inf")).apply(net)
    assert np.abs(net.W1.data).max() <= 0.05


def test_regularizer_validation():
    with pytest.raises(KisonetValueError, match="L2: lam must be a number >= 0, got -1"):
        reg_mod.L2(-1)
    with pytest.raises(KisonetValueError, match="Lp: p must be a number > 0, got 0"):
        reg_mod.Lp(0, 0.1)
    with pytest.raises(KisonetValueError, match="max_norm"):
        reg_mod.MaxNorm(0)
    with pytest.raises(KisonetTypeError):
        reg_mod.L1(0.1)(3.0)
