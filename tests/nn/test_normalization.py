"""Normalisation layers: torch parity (train and eval, running statistics after several
steps, every gradient), gradcheck in both modes, state dicts, errors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - PyTorch convention
from kisonet import nn
from kisonet.errors import KisonetValueError, ShapeError


def _close(a, b, tol=1e-4):
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


def _randomise_affine(m, tm, torch, rng):
    if getattr(tm, "weight", None) is None:
        return
    w = rng.uniform(0.5, 1.5, tm.weight.shape).astype(np.float32)
    b = rng.standard_normal(tm.bias.shape).astype(np.float32)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
        tm.bias.copy_(torch.tensor(b))
    m.weight.data, m.bias.data = w.copy(), b.copy()


def _steps(m, tm, shape, torch, rng, train: bool, steps: int = 3):
    """Run `steps` forward/backward passes on both; compare the last outputs and gradients."""
    m.train(train)
    tm.train(train)
    for _ in range(steps):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        xt, tx = kn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = m(xt), tm(tx)
        gy = rng.standard_normal(y.shape).astype(np.float32)
        m.zero_grad()
        tm.zero_grad()
        y.backward(gy)
        ty.backward(torch.tensor(gy))
    assert y.dtype == np.float32
    _close(y.data, ty)
    _close(xt.grad, tx.grad)
    for p, tp in zip(m.parameters(), tm.parameters(), strict=True):
        _close(p.grad, tp.grad, 2e-4)
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    for k in tsd:
        _close(sd[k], tsd[k].numpy())


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm2d_train_then_eval_matches_torch_including_running_stats(momentum, torch, rng):
    m, tm = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    _randomise_affine(m, tm, torch, rng)
    _steps(m, tm, (4, 3, 5, 6), torch, rng, train=True, steps=4)
    assert int(m.num_batches_tracked) == 4
    assert m.running_mean.dtype == np.float32 and m.num_batches_tracked.dtype == np.int64
    _steps(m, tm, (4, 3, 5, 6), torch, rng, train=False)
    assert int(m.num_batches_tracked) == 4  # eval does not update the statistics


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 7)], ids=str)
def test_batchnorm1d_matches_torch(shape, torch, rng):
    m, tm = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    _randomise_affine(m, tm, torch, rng)
    _steps(m, tm, shape, torch, rng, train=True)
    _steps(m, tm, shape, torch, rng, train=False)


def test_batchnorm_without_affine_or_running_stats(torch, rng):
    m = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    tm = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    _steps(m, tm, (4, 3, 3, 3), torch, rng, train=True)
    _steps(m, tm, (4, 3, 3, 3), torch, rng, train=False)  # eval still uses batch statistics
    assert list(m.state_dict()) == []


def test_running_var_is_unbiased_and_momentum_weighs_the_new_batch(rng):
    m = nn.BatchNorm1d(2, momentum=0.25)
    x = rng.standard_normal((10, 2)).astype(np.float32)
    m(kn.tensor(x))
    np.testing.assert_allclose(m.running_mean, 0.25 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(m.running_var, 0.75 + 0.25 * x.var(0, ddof=1), rtol=1e-5)
    with kn.no_grad():  # statistics are updated in training mode even without a graph
        m(kn.tensor(x))
    assert int(m.num_batches_tracked) == 2


def test_layernorm_matches_torch(torch, rng):
    for ns, shape in [((5,), (4, 5)), ((3, 4), (2, 6, 3, 4))]:
        m, tm = nn.LayerNorm(ns), torch.nn.LayerNorm(ns)
        _randomise_affine(m, tm, torch, rng)
        _steps(m, tm, shape, torch, rng, train=True, steps=1)
    m, tm = nn.LayerNorm(6, elementwise_affine=False), torch.nn.LayerNorm(6, elementwise_affine=False)
    _steps(m, tm, (3, 6), torch, rng, train=True, steps=1)


@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
def test_instancenorm2d_matches_torch(affine, track, torch, rng):
    m = nn.InstanceNorm2d(3, affine=affine, track_running_stats=track)
    tm = torch.nn.InstanceNorm2d(3, affine=affine, track_running_stats=track)
    _randomise_affine(m, tm, torch, rng)
    _steps(m, tm, (4, 3, 5, 5), torch, rng, train=True)
    _steps(m, tm, (4, 3, 5, 5), torch, rng, train=False)


@pytest.mark.parametrize(
    "groups,channels,shape", [(2, 4, (3, 4, 5, 5)), (1, 3, (2, 3, 4, 4)), (6, 6, (2, 6, 3, 3)), (2, 4, (5, 4))], ids=str
)
def test_groupnorm_matches_torch(groups, channels, shape, torch, rng):
    m, tm = nn.GroupNorm(groups, channels), torch.nn.GroupNorm(groups, channels)
    _randomise_affine(m, tm, torch, rng)
    _steps(m, tm, shape, torch, rng, train=True, steps=1)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3)),
        (lambda: nn.BatchNorm1d(3), (5, 3)),
        (lambda: nn.BatchNorm1d(2), (3, 2, 4)),
        (lambda: nn.LayerNorm((3, 4)), (2, 3, 4)),
        (lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True), (2, 2, 3, 3)),
        (lambda: nn.InstanceNorm2d(2), (2, 2, 3, 3)),
        (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 2)),
    ],
    ids=["bn2d", "bn1d", "bn1d-seq", "ln", "in-affine", "in", "gn"],
)
def test_gradcheck_train_and_eval(make, shape, rng):
    m = make()
    for p in m.parameters():  # non-trivial gamma/beta so their gradients matter
        p.data = rng.uniform(0.5, 1.5, p.shape).astype(np.float32)
    x = kn.tensor(rng.standard_normal(shape) * 2 + 0.5, requires_grad=True)
    for mode in (True, False):
        m.train(mode)
        buffers = {k: v.copy() for k, v in m._buffers.items() if v is not None}

        def fresh_stats_forward(t, buffers=buffers):
            # gradcheck calls forward many times: each call starts from the same statistics
            for k, v in buffers.items():
                m._buffers[k][...] = v
            return m(t)

        assert kn.gradcheck(fresh_stats_forward, x, params=m.parameters())


def test_functional_forms(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = F.batch_norm(x, None, None, training=True).data
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    z = F.layer_norm(x, 4).data
    np.testing.assert_allclose(z.mean(1), 0, atol=1e-5)


def test_state_dict_round_trip_and_eval_uses_running_stats(rng):
    a = nn.BatchNorm2d(2)
    for _ in range(3):
        a(kn.tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32) + 3))
    b = nn.BatchNorm2d(2)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.running_mean, a.running_mean)
    assert int(b.num_batches_tracked) == 3
    x = kn.tensor(rng.standard_normal((1, 2, 3, 3)).astype(np.float32))
    expect = (x.data - a.running_mean[None, :, None, None]) / np.sqrt(a.running_var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(b.eval()(x).data, expect, rtol=1e-5, atol=1e-6)


def test_errors_name_layer_and_shape():
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3\) got input of shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(kn.zeros((2, 4, 5, 5)))
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(3\) got input of shape \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(kn.zeros((2, 3, 4, 4)))
    with pytest.raises(KisonetValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(kn.zeros((1, 3)))
    with pytest.raises(ShapeError, match="normalized_shape"):
        nn.LayerNorm(5)(kn.zeros((2, 4)))
    with pytest.raises(ShapeError, match=r"GroupNorm\(2, 4\) got input of shape \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(kn.zeros((2, 6, 3)))
    for bad in (
        lambda: nn.BatchNorm2d(3, eps=0),
        lambda: nn.BatchNorm2d(3, momentum=1.5),
        lambda: nn.GroupNorm(3, 4),
        lambda: nn.BatchNorm2d(0),
        lambda: nn.LayerNorm(()),
    ):
        with pytest.raises(ValueError):
            bad()
