"""The norms as functions (E-cert DAY 2 "ノルムとは") against torch.linalg.vector_norm, and the lasso
penalty with Keio lecture 4's (lambda/2) factor beside the E-cert deck's lambda."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import regularizers as reg
from kisonet.errors import KisonetValueError

X = np.array([[0.5, -2.0, 0.0], [1.5, 0.0, -0.25]])


@pytest.mark.parametrize("p", [0, 0.5, 1, 1.5, 2, 3, float("inf")])
def test_norm_value_and_gradient_equal_torch(torch, p):
    kx = kn.tensor(X.copy(), requires_grad=True, dtype=np.float64)
    y = reg.norm(kx, p)
    y.backward()
    tx = torch.tensor(X.copy(), requires_grad=True)
    ty = torch.linalg.vector_norm(tx, ord=p)
    if ty.requires_grad:
        ty.backward()
    tgrad = np.zeros_like(X) if tx.grad is None else tx.grad.numpy()  # torch's L0 has no gradient: 0
    assert float(y.data) == pytest.approx(float(ty.detach()), rel=1e-12)
    np.testing.assert_allclose(kx.grad, tgrad, rtol=1e-12, atol=1e-15)


def test_named_norms_are_the_printed_formulas():
    """E-cert DAY 2: ||x||_p = (sum |x_k|^p)^(1/p); ||x||_1 = sum |x_k|; ||x||_2 = sqrt(sum x_k^2);
    ||x||_inf = max |x_k|; ||x||_0 = sum delta(x_k), delta(i) = 1 (i != 0), 0 (i = 0)."""
    x = X.ravel()
    assert float(reg.l1_norm(kn.tensor(X)).data) == pytest.approx(np.sum(np.abs(x)))
    assert float(reg.l2_norm(kn.tensor(X)).data) == pytest.approx(np.sqrt(np.sum(x**2)))
    assert float(reg.linf_norm(kn.tensor(X)).data) == pytest.approx(np.max(np.abs(x)))
    assert float(reg.l0_norm(kn.tensor(X)).data) == np.sum([1 if v != 0 else 0 for v in x]) == 4
    assert float(reg.lp_norm(kn.tensor(X), 3).data) == pytest.approx(np.sum(np.abs(x) ** 3) ** (1 / 3))
    assert float(reg.lp_norm(X, 1).data) == pytest.approx(np.sum(np.abs(x)))  # arrays too


def test_l2_norm_gradient_at_zero_is_zero(torch):
    kx = kn.tensor(np.zeros(3), requires_grad=True)
    reg.l2_norm(kx).backward()
    np.testing.assert_array_equal(kx.grad, np.zeros(3))
    tx = torch.zeros(3, requires_grad=True)
    torch.linalg.vector_norm(tx).backward()
    np.testing.assert_array_equal(tx.grad.numpy(), np.zeros(3))


def test_norm_of_a_model_joins_its_weights():
    model = kn.nn.Sequential(kn.nn.Linear(3, 4), kn.nn.ReLU(), kn.nn.Linear(4, 2))
    w = np.concatenate([model[0].weight.data.ravel(), model[2].weight.data.ravel()])
    assert float(reg.l2_norm(model).data) == pytest.approx(np.linalg.norm(w), rel=1e-6)
    with_bias = np.concatenate([p.data.ravel() for p in model.parameters()])
    assert float(reg.l1_norm(model, include_bias=True).data) == pytest.approx(np.abs(with_bias).sum(), rel=1e-6)
    reg.l2_norm(model).backward()
    assert model[0].weight.grad is not None and model[0].bias.grad is None


def test_l0_has_zero_gradient():
    kx = kn.tensor(X.copy(), requires_grad=True)
    reg.l0_norm(kx).backward()
    np.testing.assert_array_equal(kx.grad, np.zeros_like(X))


@pytest.mark.parametrize("bad", [-1, float("nan"), "2", True])
def test_bad_p(bad):
    with pytest.raises(KisonetValueError, match="p must"):
        reg.norm(kn.tensor(X), bad)


# --- lasso: lambda (E-cert) and lambda/2 (Keio lecture 4) -----------------------------------


def test_lasso_half_is_keio_lecture4_form():
    """Keio 4: E~(w) = 1/2 sum (y - y^)^2 + (lambda/2) ||w||;  E-cert: lambda ||w||_1."""
    lam = 0.3
    w = kn.tensor(X.copy(), requires_grad=True, dtype=np.float64)
    keio = reg.L1(lam, half=True)(w)
    keio.backward()
    assert float(keio.data) == pytest.approx(lam / 2 * np.abs(X).sum())
    np.testing.assert_allclose(w.grad, lam / 2 * np.sign(X))
    w.grad = None
    ecert = reg.L1(lam)(w)
    ecert.backward()
    assert float(ecert.data) == pytest.approx(lam * np.abs(X).sum())
    np.testing.assert_allclose(w.grad, lam * np.sign(X))
    assert "half=True" in repr(reg.L1(lam, half=True))
