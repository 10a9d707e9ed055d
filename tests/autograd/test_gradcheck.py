"""kn.gradcheck must pass correct gradients and fail wrong ones, naming what differs."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn


class WrongSquare(kn.Function):
    """y = x^2 with a deliberately wrong backward (3x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return gy * 3 * self.x


class Scale(kn.Function):
    """y = x * w (w a tensor parameter); correct unless ``wrong_w``."""

    wrong_w = False

    def forward(self, x, w):
        self.x, self.w = x, w
        return x * w

    def backward(self, gy):
        gw = gy * self.x * (1.5 if self.wrong_w else 1.0)
        return gy * self.w, gw


def test_gradcheck_fails_on_wrong_function(rng):
    x = kn.tensor(rng.uniform(1, 2, size=(2, 3)), requires_grad=True)
    with pytest.raises(kn.GradcheckError) as info:
        kn.gradcheck(WrongSquare.apply, x)
    msg = str(info.value)
    assert "input 0" in msg and "index (" in msg and "analytic" in msg and "numeric" in msg
    # the message's numbers are the real ones at the named index: with L = sum(y * R),
    # R = default_rng(seed=0) normals, the numeric gradient is 2 x R and the wrong one 3 x R
    idx = tuple(int(v) for v in msg.split("index (")[1].split(")")[0].split(","))
    r = np.random.default_rng(0).standard_normal((2, 3))[idx]
    x64 = float(x.data.astype(np.float64)[idx])
    analytic = float(msg.split("analytic ")[1].split(",")[0])
    numeric = float(msg.split("numeric ")[1].split(" ")[0])
    assert analytic == pytest.approx(3 * x64 * r, rel=1e-6)
    assert numeric == pytest.approx(2 * x64 * r, rel=1e-5)
    # the worst element is named: |x R| is largest there
    all_r = np.random.default_rng(0).standard_normal((2, 3))
    assert abs(x64 * r) == pytest.approx(np.max(np.abs(x.data.astype(np.float64) * all_r)))
    assert isinstance(info.value, AssertionError) and isinstance(info.value, kn.KisonetError)


def test_gradcheck_names_the_wrong_input(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    assert kn.gradcheck(lambda x, w: Scale.apply(x, w), x, w)
    with pytest.raises(kn.GradcheckError, match="input 1"):
        kn.gradcheck(lambda x, w: Scale.apply(x, w, wrong_w=True), x, w)


def test_gradcheck_checks_params(rng):
    x = kn.tensor(rng.standard_normal((4, 3)))
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    w.name = "weight"
    assert kn.gradcheck(lambda x: Scale.apply(x, w), x, params=[w])
    with pytest.raises(kn.GradcheckError, match="weight"):
        kn.gradcheck(lambda x: Scale.apply(x, w, wrong_w=True), x, params=[w])
    anon = kn.tensor(rng.standard_normal(3), requires_grad=True)
    with pytest.raises(kn.GradcheckError, match="param 0"):
        kn.gradcheck(lambda x: Scale.apply(x, anon, wrong_w=True), x, params=[anon])


def test_gradcheck_restores_dtype_data_and_grad(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    before = x.data.copy()
    x.grad = np.full(3, 7.0, np.float32)
    kn.gradcheck(lambda x: x.exp(), x)
    assert x.dtype == np.float32 and kn.get_default_dtype() == np.float32
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))


def test_gradcheck_runs_in_float64(rng):
    seen = []

    def f(x, c):
        seen.append((x.dtype, c.dtype))
        return x * c

    x = kn.tensor(rng.standard_normal(2), requires_grad=True)
    c = kn.tensor(rng.standard_normal(2))
    kn.gradcheck(f, x, c)
    assert set(seen) == {(np.dtype(np.float64), np.dtype(np.float64))}


def test_gradcheck_passes_float32_inputs_by_checking_in_float64(rng):
    # float32 central differences with eps = 1e-6 would be noise; a correct op passes
    # only because gradcheck recomputes in float64
    x = kn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert kn.gradcheck(lambda x: (x @ x).tanh(), x)


def test_gradcheck_requires_something_to_check():
    with pytest.raises(kn.KisonetValueError, match="no input requires grad"):
        kn.gradcheck(lambda x: x * 2, kn.tensor([1.0]))


def test_gradcheck_output_independent_of_input(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    c = kn.tensor(rng.standard_normal(3))
    assert kn.gradcheck(lambda x: c * 2.0, x)  # the gradient is 0 and so are the differences
