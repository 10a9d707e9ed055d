"""MultiTask: a shared trunk, heads, the weighted loss sum, through the Trainer with dict outputs/targets."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetValueError
from kisonet.nn import functional as F  # noqa: N812


def _model(seed: int = 0) -> nn.MultiTask:
    kn.manual_seed(seed)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU())
    return nn.MultiTask(trunk, {"digit": nn.Linear(48, 10), "even": nn.Linear(48, 2)})


def _targets(y):
    return {"digit": y, "even": (y % 2 == 0).astype(np.int64)}


def test_digit_and_is_even_heads_both_train(digits):
    (X, y), (Xt, yt) = digits
    m = _model()
    t = kn.train.Trainer(m, m.loss_spec("cross_entropy"), kn.optim.Adam(m.parameters(), lr=3e-3), progress=False)
    h = t.fit((X, _targets(y)), val=(Xt, _targets(yt)), epochs=6)
    assert h["train_digit_loss"][-1] < 0.5 * h["train_digit_loss"][0]
    assert h["train_even_loss"][-1] < 0.7 * h["train_even_loss"][0]
    # total loss is the (unit-)weighted sum of the heads' losses
    np.testing.assert_allclose(h["train_loss"], np.add(h["train_digit_loss"], h["train_even_loss"]), rtol=1e-5)
    assert h["val_digit_accuracy"][-1] > 0.9
    assert h["val_even_accuracy"][-1] > 0.85
    pred = t.predict(Xt)
    assert set(pred) == {"digit", "even"} and pred["even"].shape == yt.shape


def test_trunk_gradient_is_the_weighted_sum_of_the_heads(digits):
    (X, y), _ = digits
    xb = kn.tensor(X[:32])
    tb = _targets(y[:32])
    grads = {}
    for wd, we in ((1.0, 0.0), (0.0, 1.0), (2.0, 0.5)):
        m = _model()
        out = m(xb)
        loss = wd * F.cross_entropy(out["digit"], tb["digit"]) + we * F.cross_entropy(out["even"], tb["even"])
        loss.backward()
        grads[(wd, we)] = m.trunk[1].weight.grad.copy()
        if we == 0.0:
            assert m.heads["even"].weight.grad is None or not m.heads["even"].weight.grad.any()
    np.testing.assert_allclose(grads[(2.0, 0.5)], 2 * grads[(1.0, 0.0)] + 0.5 * grads[(0.0, 1.0)], rtol=1e-4, atol=1e-7)


def test_a_zero_weight_head_is_not_trained(digits):
    (X, y), _ = digits
    m = _model()
    before = m.heads["even"].weight.data.copy()
    spec = m.loss_spec("cross_entropy", weights={"even": 0.0})
    assert spec["even"][1] == 0.0 and spec["digit"][1] == 1.0
    # plain SGD: a zero gradient leaves the head exactly where it started
    kn.train.Trainer(m, spec, kn.optim.SGD(m.parameters(), lr=0.1), progress=False).fit(
        (X[:256], _targets(y[:256])), epochs=1
    )
    np.testing.assert_array_equal(m.heads["even"].weight.data, before)
    assert not np.array_equal(m.heads["digit"].weight.data, _model().heads["digit"].weight.data)


def test_multitask_validation():
    with pytest.raises(KisonetValueError, match="heads"):
        nn.MultiTask(nn.Identity(), {})
    m = _model()
    with pytest.raises(KisonetValueError, match="task"):
        m.loss_spec("cross_entropy", weights={"odd": 1.0})
    with pytest.raises(KisonetValueError, match="no loss"):
        m.loss_spec({"digit": "cross_entropy"})
    assert m.tasks == ["digit", "even"]
    assert m.features(kn.tensor(np.zeros((2, 1, 8, 8), np.float32))).shape == (2, 48)
