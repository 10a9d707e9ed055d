"""Parameter tying (penalty), sharing (one Parameter, summed gradient), and the L1 activity penalty."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetValueError
from kisonet.regularizers import ActivityL1, TiedPenalty, tying_penalty, zero_fraction


def test_tying_penalty_value_and_gradients(rng):
    a = kn.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    b = kn.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    p = tying_penalty([a], [b], 0.5)
    assert float(p.data) == pytest.approx(0.5 * np.sum((a.data - b.data) ** 2), rel=1e-5)
    p.backward()
    np.testing.assert_allclose(a.grad, 2 * 0.5 * (a.data - b.data), rtol=1e-5)
    np.testing.assert_allclose(b.grad, -2 * 0.5 * (a.data - b.data), rtol=1e-5)
    a64 = kn.tensor(rng.normal(size=(2, 3)), dtype=np.float64, requires_grad=True)
    b64 = kn.tensor(rng.normal(size=(2, 3)), dtype=np.float64, requires_grad=True)
    assert kn.gradcheck(lambda x, y: tying_penalty(x, y, 0.3), a64, b64)
    with pytest.raises(KisonetValueError, match="shape"):
        tying_penalty([a], [kn.tensor(np.zeros((4, 3), np.float32))], 1.0)


def test_tied_penalty_pulls_a_model_towards_another(digits):
    (X, y), _ = digits
    X, y = X[:300], y[:300]
    kn.manual_seed(1)
    anchor = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    anchor.requires_grad_(False)
    dist = {}
    for lam in (0.0, 0.1):
        kn.manual_seed(2)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        reg = TiedPenalty(model, anchor, lam)
        start = reg.distance()
        t = kn.train.Trainer(model, "cross_entropy", kn.optim.Adam(model.parameters(), lr=1e-2), regularizer=reg,
                             progress=False)  # fmt: skip
        t.fit((X, y), epochs=3)
        dist[lam] = reg.distance() / start
    assert dist[0.1] < 0.5 < dist[0.0]  # without the penalty the weights drift away
    assert anchor[1].weight.grad is None  # the frozen side gets no gradient


def test_one_parameter_in_two_layers_gets_the_sum_of_both_gradients(rng):
    kn.manual_seed(0)
    l1, l2 = nn.Linear(5, 5), nn.Linear(5, 5)
    l2.weight = l1.weight  # share
    model = nn.Sequential(l1, nn.Tanh(), l2)
    assert l2.weight is l1.weight
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.bias"]  # listed once: the optimizer steps it once
    x = kn.tensor(rng.normal(size=(4, 5)).astype(np.float32))
    (model(x) ** 2).sum().backward()
    shared = l1.weight.grad.copy()
    # the same computation with two separate copies of W
    a, b = nn.Linear(5, 5), nn.Linear(5, 5)
    for dst in (a, b):
        dst.weight.data[...] = l1.weight.data
    a.bias.data[...] = l1.bias.data
    b.bias.data[...] = l2.bias.data
    (nn.Sequential(a, nn.Tanh(), b)(x) ** 2).sum().backward()
    np.testing.assert_allclose(shared, a.weight.grad + b.weight.grad, rtol=1e-5, atol=1e-6)
    opt = kn.optim.SGD(model.parameters(), lr=0.1)
    before = l1.weight.data.copy()
    opt.step()
    np.testing.assert_allclose(l2.weight.data, before - 0.1 * shared, rtol=1e-6)


def test_activity_l1_penalty_value_and_gradient(rng):
    kn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    reg = ActivityL1(["1"], 0.5, model=model)
    x = kn.tensor(rng.normal(size=(8, 4)).astype(np.float32))
    model(x)
    h = np.maximum(model[0](x).data, 0)
    p = reg(model)
    assert float(p.data) == pytest.approx(0.5 * np.abs(h).sum() / 8, rel=1e-5)
    p.backward()
    assert model[0].weight.grad is not None and np.abs(model[0].weight.grad).sum() > 0
    assert float(reg(model).data) == 0.0  # outputs are consumed by one call
    frac = reg.zero_fraction()["1"]
    assert frac == pytest.approx(np.mean(h == 0))
    with pytest.raises(KisonetValueError, match="layer"):
        ActivityL1(["7"], 0.1, model=model)


def test_l1_activity_penalty_raises_the_fraction_of_zero_activations(digits):
    (X, y), (Xt, yt) = digits
    frac, acc = {}, {}
    for lam in (0.0, 0.03):
        kn.manual_seed(0)
        mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        reg = ActivityL1(mlp[2], lam)
        t = kn.train.Trainer(mlp, "cross_entropy", kn.optim.Adam(mlp.parameters(), lr=3e-3), regularizer=reg,
                             progress=False)  # fmt: skip
        t.fit((X, y), epochs=6)
        frac[lam] = zero_fraction(mlp, [mlp[2]], Xt)["2"]
        acc[lam] = t.evaluate((Xt, yt))["accuracy"]
    assert frac[0.03] > frac[0.0] + 0.3
    assert acc[0.03] > 0.9  # sparser, still accurate


def test_tied_autoencoder_and_activity_penalty_match_pytorch(torch, rng):
    kn.manual_seed(0)
    ae = nn.Autoencoder.mlp(6, hidden=(), code=3, activation="relu", output="linear", tied=True)
    reg = ActivityL1(ae.encoder[2], 0.1)
    x = rng.normal(size=(5, 6)).astype(np.float32)
    out = ae(kn.tensor(x))
    loss = ((out - kn.tensor(x)) ** 2).mean() + reg(ae)
    loss.backward()

    w = torch.tensor(ae.encoder[1].weight.data, requires_grad=True)
    b = torch.tensor(ae.encoder[1].bias.data, requires_grad=True)
    c = torch.tensor(ae.decoder[0].bias.data, requires_grad=True)
    xt = torch.tensor(x)
    h = torch.relu(xt @ w.T + b)
    r = h @ w + c  # the decoder uses W^T of the encoder's (out, in) weight
    tl = ((r - xt) ** 2).mean() + 0.1 * h.abs().sum() / 5
    tl.backward()
    assert float(loss.data) == pytest.approx(tl.item(), rel=1e-5)
    np.testing.assert_allclose(out.data, r.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ae.encoder[1].weight.grad, w.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ae.decoder[0].bias.grad, c.grad.numpy(), rtol=1e-4, atol=1e-6)
