"""Newton's method: one step to a quadratic's minimum, damping, the notes' diagonal form."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import optim
from kisonet.errors import KisonetTypeError, KisonetValueError


def _spd(n, seed=0):
    r = np.random.default_rng(seed)
    M = r.standard_normal((n, n))
    return M @ M.T + n * np.eye(n), r.standard_normal(n)


def _closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_newton_step_reaches_the_quadratic_minimum(dtype):
    kn.set_default_dtype(dtype)
    A, b = _spd(5)
    w = kn.tensor(np.ones(5) * 3.0, requires_grad=True)
    opt = optim.Newton([w])
    A_t, b_t = kn.tensor(A), kn.tensor(b)
    f = lambda: 0.5 * (w @ (A_t @ w)) - b_t @ w
    loss = opt.step(_closure(opt, f))
    assert float(loss) == pytest.approx(0.5 * 9 * A.sum() - 3 * b.sum(), rel=1e-5)
    tol = 1e-5 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(w.data, np.linalg.solve(A, b), rtol=tol, atol=tol)
    assert w.data.dtype == dtype
    np.testing.assert_allclose(opt.hessian(_closure(opt, f)), A, rtol=1e-6, atol=1e-6)


def test_newton_over_several_tensors_and_damping():
    kn.set_default_dtype(np.float64)
    A, b = _spd(4, seed=3)
    u = kn.tensor(np.zeros(2), requires_grad=True)
    v = kn.tensor(np.zeros((1, 2)), requires_grad=True)
    A_t, b_t = kn.tensor(A), kn.tensor(b)

    def f():
        w = kn.concatenate([u, v.reshape(-1)])
        return 0.5 * (w @ (A_t @ w)) - b_t @ w

    opt = optim.Newton([u, v], damping=2.0)
    opt.step(_closure(opt, f))
    want = np.linalg.solve(A + 2.0 * np.eye(4), b)  # from w = 0 the gradient is -b
    np.testing.assert_allclose(np.concatenate([u.data, v.data.ravel()]), want, rtol=1e-8)


def test_diagonal_newton_is_the_notes_form():
    kn.set_default_dtype(np.float64)
    # E(w) = 0.1 w1^2 + 2 w2^2 has a diagonal Hessian: one diagonal step reaches (0, 0)
    w = kn.tensor([-5.0, -2.0], requires_grad=True)
    opt = optim.Newton([w], diagonal=True)
    opt.step(_closure(opt, lambda: 0.1 * w[0] ** 2 + 2 * w[1] ** 2))
    np.testing.assert_allclose(w.data, [0.0, 0.0], atol=1e-8)
    # with coupling, the diagonal step is d_i = -g_i / H_ii, not the full Newton step
    A, b = _spd(3, seed=5)
    x = kn.tensor(np.ones(3), requires_grad=True)
    A_t, b_t = kn.tensor(A), kn.tensor(b)
    opt = optim.Newton([x], diagonal=True, lr=0.5)
    opt.step(_closure(opt, lambda: 0.5 * (x @ (A_t @ x)) - b_t @ x))
    g = A @ np.ones(3) - b
    np.testing.assert_allclose(x.data, np.ones(3) - 0.5 * g / np.diag(A), rtol=1e-8)
    assert not np.allclose(x.data, np.linalg.solve(A, b))


def test_newton_converges_fast_on_a_non_quadratic():
    kn.set_default_dtype(np.float64)
    w = kn.tensor([-1.2, 1.0], requires_grad=True)
    opt = optim.Newton([w])
    rosen = lambda: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    for _ in range(8):
        opt.step(_closure(opt, rosen))
    np.testing.assert_allclose(w.data, [1.0, 1.0], atol=1e-6)


def test_newton_needs_a_closure_and_one_group():
    w = kn.tensor([1.0], requires_grad=True)
    with pytest.raises(KisonetTypeError, match="closure"):
        optim.Newton([w]).step()
    with pytest.raises(KisonetValueError, match="one parameter group"):
        optim.Newton([{"params": [w]}, {"params": [kn.tensor([2.0], requires_grad=True)]}])
