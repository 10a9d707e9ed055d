"""Losses: torch parity (values and gradients), gradcheck, reductions, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet import nn


def _torch_grad(torch, fn, x, *args, **kw):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, *args, **kw)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _kn_grad(fn, x, *args, **kw):
    xk = kn.tensor(x, requires_grad=True, dtype=np.float64)
    out = fn(xk, *args, **kw)
    out.sum().backward()
    return out.data, xk.grad


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target_kind", ["index", "prob"])
def test_cross_entropy_matches_torch(torch, rng, reduction, smoothing, weighted, target_kind):
    z = rng.standard_normal((6, 4)) * 3
    y = rng.integers(0, 4, 6)
    if target_kind == "prob":
        t = rng.random((6, 4))
        t /= t.sum(1, keepdims=True)
    else:
        t = y
    w = rng.random(4) + 0.5 if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    ref, gref = _torch_grad(
        torch,
        torch.nn.functional.cross_entropy,
        z,
        torch.tensor(t),
        weight=None if w is None else torch.tensor(w),
        **kw,
    )
    out, g = _kn_grad(F.cross_entropy, z, t, weight=w, **kw)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, gref, rtol=1e-10, atol=1e-12)
    assert out.shape == (() if reduction != "none" else (6,))


def test_cross_entropy_spatial_and_ignore_index(torch, rng):
    z = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, (2, 4, 5))
    y[0, 1, 2] = y[1, 0, 0] = -100
    for red in ("mean", "none"):
        ref, gref = _torch_grad(torch, torch.nn.functional.cross_entropy, z, torch.tensor(y), reduction=red)
        out, g = _kn_grad(F.cross_entropy, z, y, reduction=red)
        np.testing.assert_allclose(out, ref, rtol=1e-10)
        np.testing.assert_allclose(g, gref, rtol=1e-10, atol=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_target_over_n(rng):
    z = rng.standard_normal((5, 3)).astype(np.float32)
    y = np.array([0, 2, 1, 1, 0])
    zk = kn.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zk, kn.tensor(y))
    loss.backward()
    assert loss.shape == () and loss.dtype == np.float32 and zk.grad.dtype == np.float32
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(zk.grad, (p - np.eye(3)[y]) / 5, rtol=1e-5, atol=1e-7)


def test_cross_entropy_notes_smoothing_form(rng):
    z = rng.standard_normal((4, 5))
    y = np.array([1, 0, 4, 2])
    eps = 0.1
    q = np.full((4, 5), eps / 4)
    q[np.arange(4), y] = 1 - eps
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    expected = -(q * logp).sum(1).mean()
    zk = kn.tensor(z, requires_grad=True, dtype=np.float64)
    loss = F.cross_entropy(zk, y, label_smoothing=eps, smoothing_form="notes")
    loss.backward()
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(zk.grad, (np.exp(logp) - q) / 4, atol=1e-12)
    # it differs from PyTorch's form (eps/K everywhere)
    assert F.cross_entropy(z, y, label_smoothing=eps).item() != pytest.approx(expected, rel=1e-6)
    with pytest.raises(kn.KisonetValueError, match="did you mean 'notes'"):
        F.cross_entropy(z, y, smoothing_form="note")


def test_cross_entropy_stable_at_extremes(torch):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], np.float32)
    y = np.array([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zk = kn.tensor(z, requires_grad=True)
        loss = F.cross_entropy(zk, y, label_smoothing=0.1)
        loss.backward()
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y), label_smoothing=0.1)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert np.all(np.isfinite(zk.grad))


def test_label_errors():
    z = np.zeros((3, 4), np.float32)
    with pytest.raises(kn.KisonetValueError, match=r"\[0, 3\].*got 4"):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(kn.KisonetValueError, match=r"\[0, 3\]"):
        nn.NLLLoss()(z, np.array([-1, 0, 1]))
    with pytest.raises(kn.ShapeError, match=r"\(2,\)"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(kn.ShapeError, match=r"\(3, 3\)"):
        F.cross_entropy(z, np.zeros((3, 3), np.float32))
    with pytest.raises(kn.KisonetValueError, match="did you mean 'mean'"):
        F.mse_loss(z, z, reduction="maen")
    with pytest.raises(kn.KisonetValueError, match="did you mean 'sum'"):
        nn.CrossEntropyLoss(reduction="summ")
    with pytest.raises(kn.ShapeError, match=r"\(3, 4\).*\(4, 3\)|\(4, 3\).*\(3, 4\)"):
        F.mse_loss(z, z.T)


def test_nll_matches_torch_and_cross_entropy(torch, rng):
    x = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    w = rng.random(4) + 0.5
    logp = F.log_softmax(kn.tensor(x, dtype=np.float64))
    for red in ("mean", "sum", "none"):
        ref, gref = _torch_grad(
            torch, torch.nn.functional.nll_loss, x, torch.tensor(y), weight=torch.tensor(w), reduction=red
        )
        out, g = _kn_grad(F.nll_loss, x, y, weight=w, reduction=red)
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        np.testing.assert_allclose(g, gref, rtol=1e-12)
    np.testing.assert_allclose(F.nll_loss(logp, y).item(), F.cross_entropy(x, y).item(), rtol=1e-6)


@pytest.mark.parametrize("pos_weight", [None, [1.0, 3.0, 0.5]])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_torch_at_extremes(torch, rng, pos_weight, reduction):
    z = np.array([[-1000.0, -30.0, 0.0], [0.5, 30.0, 1000.0], [-2.0, 1.0, 3.0]])
    t = (rng.random((3, 3)) > 0.5).astype(np.float64)
    w = rng.random((3, 1)) + 0.5
    pw = None if pos_weight is None else np.array(pos_weight)
    ref, gref = _torch_grad(
        torch,
        torch.nn.functional.binary_cross_entropy_with_logits,
        z,
        torch.tensor(t),
        weight=torch.tensor(w),
        reduction=reduction,
        pos_weight=None if pw is None else torch.tensor(pw),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, g = _kn_grad(F.binary_cross_entropy_with_logits, z, t, weight=w, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, gref, rtol=1e-10, atol=1e-12)


def test_bce_probabilities_match_torch_including_clamp(torch, rng):
    p = np.array([[0.0, 0.3, 1.0], [0.999, 0.5, 1e-9]])
    t = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none").numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.binary_cross_entropy(kn.tensor(p, dtype=np.float64), t, reduction="none").data
    np.testing.assert_allclose(out, ref, rtol=1e-10)  # log clamped at -100: finite 100 at p=0, t=1
    q = np.array([0.2, 0.6, 0.9])
    tt = np.array([0.0, 1.0, 1.0])
    ref, gref = _torch_grad(torch, torch.nn.functional.binary_cross_entropy, q, torch.tensor(tt))
    out, g = _kn_grad(F.binary_cross_entropy, q, tt)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_allclose(g, gref, rtol=1e-12)
    with pytest.raises(kn.KisonetValueError, match="with_logits"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_torch(torch, rng, name, reduction):
    y = rng.standard_normal((4, 3))
    t = rng.standard_normal((4, 3))
    ref, gref = _torch_grad(torch, getattr(torch.nn.functional, name), y, torch.tensor(t), reduction=reduction)
    out, g = _kn_grad(getattr(F, name), y, t, reduction=reduction)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_allclose(g, gref, rtol=1e-12)


def test_squared_error_is_the_notes_formula(rng):
    y = rng.standard_normal((8, 3)).astype(np.float32)
    t = rng.standard_normal((8, 3)).astype(np.float32)
    yk = kn.tensor(y, requires_grad=True)
    loss = F.squared_error(yk, t)
    loss.backward()
    assert loss.shape == () and loss.dtype == np.float32
    assert loss.item() == pytest.approx(0.5 * ((y - t) ** 2).sum() / 8, rel=1e-5)
    np.testing.assert_allclose(yk.grad, (y - t) / 8, rtol=1e-5)
    per = F.squared_error(y, t, reduction="none")
    assert per.shape == (8,)
    np.testing.assert_allclose(per.data, 0.5 * ((y - t) ** 2).sum(1), rtol=1e-5)
    assert F.mse_loss(y, t).item() == pytest.approx(2 * loss.item() / 3, rel=1e-5)


LOSS_CASES = [
    (nn.CrossEntropyLoss, {}, "index"),
    (nn.CrossEntropyLoss, {"weight": [1.0, 2.0, 0.5], "label_smoothing": 0.2}, "index"),
    (nn.CrossEntropyLoss, {"label_smoothing": 0.1, "smoothing_form": "notes"}, "prob"),
    (nn.NLLLoss, {"weight": [1.0, 2.0, 0.5]}, "index"),
    (nn.BCEWithLogitsLoss, {"pos_weight": [2.0, 1.0, 0.5]}, "binary"),
    (nn.BCELoss, {}, "binary"),
    (nn.MSELoss, {}, "real"),
    (nn.L1Loss, {}, "real"),
    (nn.SquaredErrorLoss, {}, "real"),
]


@pytest.mark.parametrize("cls,kw,kind", LOSS_CASES, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_every_loss(cls, kw, kind, reduction, rng):
    x = rng.standard_normal((4, 3))
    x[np.abs(x) < 0.05] = 0.2  # away from L1's kink
    target = {
        "index": np.array([0, 2, 1, 2]),
        "prob": np.full((4, 3), 1 / 3),
        "binary": (rng.random((4, 3)) > 0.5).astype(np.float32),
        "real": rng.standard_normal((4, 3)),
    }[kind]
    if cls is nn.BCELoss:
        x = 1 / (1 + np.exp(-x))
    loss_fn = cls(reduction=reduction, **kw)
    xt = kn.tensor(x, requires_grad=True)
    out = loss_fn(xt, target)
    assert out.ndim == (0 if reduction != "none" else out.ndim) and out.dtype == np.float32
    for mode in (True, False):
        loss_fn.train(mode)
        assert kn.gradcheck(lambda a: loss_fn(a, target), xt)


def test_inputs_and_targets_as_arrays_or_tensors(rng):
    z = rng.standard_normal((3, 4)).astype(np.float32)
    y = np.array([1, 0, 3])
    a = F.cross_entropy(z, y).item()
    assert F.cross_entropy(kn.tensor(z), kn.tensor(y)).item() == pytest.approx(a)
    assert nn.CrossEntropyLoss()(z, list(y)).item() == pytest.approx(a)
    assert "label_smoothing=0.1" in repr(nn.CrossEntropyLoss(label_smoothing=0.1))
