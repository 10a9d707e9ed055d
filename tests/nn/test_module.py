"""Module machinery: registration, sharing, modes, hooks, state dicts, repr, dtype."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", np.zeros(1, np.int64))
        self.scale = 2.0  # a plain attribute, not state

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(x))))


def test_parameter_registration_and_names():
    m = MLP()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert m.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert "scale" not in m.state_dict() and "steps" in m.state_dict()
    assert all(p.requires_grad for p in m.parameters())


def test_shared_parameter_gets_sum_of_grads_and_is_listed_once(rng):
    a = nn.Linear(3, 3, bias=False)
    b = nn.Linear(3, 3, bias=False)
    b.weight = a.weight  # tie
    net = nn.Sequential(a, b)
    assert [n for n, _ in net.named_parameters()] == ["0.weight"]
    assert net.num_parameters() == 9
    x = rng.standard_normal((2, 3)).astype(np.float32)
    net(kn.tensor(x)).sum().backward()
    W = a.weight.data
    # y = x W^T W^T; dL/dW = sum of the two uses' gradients
    g_out = np.ones((2, 3), np.float32)
    h = x @ W.T
    expected = g_out.T @ h + (g_out @ W).T @ x
    np.testing.assert_allclose(a.weight.grad, expected, rtol=1e-5)


def test_train_eval_propagate_and_change_behaviour():
    m = MLP()
    m.eval()
    assert not any(mod.training for mod in m.modules())
    x = kn.ones((2, 4))
    np.testing.assert_array_equal(m(x).data, m(x).data)  # dropout off: deterministic
    m.train()
    assert all(mod.training for mod in m.modules())


def test_zero_grad_and_requires_grad():
    m = MLP()
    m(kn.ones((2, 4))).sum().backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert not m.fc1.weight.grad.any()
    m.zero_grad()
    assert m.fc1.weight.grad is None
    m.fc1.requires_grad_(False)
    m(kn.ones((2, 4))).sum().backward()
    assert m.fc1.weight.grad is None and m.fc2.weight.grad is not None


def test_forward_hooks_fire_with_shapes_and_can_be_removed():
    m = MLP()
    seen = []
    removers = [
        mod.register_forward_hook(lambda mod, args, out: seen.append((type(mod).__name__, args[0].shape, out.shape)))
        for mod in (m.fc1, m.act, m.fc2)
    ]
    m(kn.ones((5, 4)))
    assert seen == [("Linear", (5, 4), (5, 8)), ("ReLU", (5, 8), (5, 8)), ("Linear", (5, 8), (5, 3))]
    for r in removers:
        r()
    m(kn.ones((5, 4)))
    assert len(seen) == 3
    # a forward hook may replace the output
    m.fc2.register_forward_hook(lambda mod, args, out: out * 0)
    assert not m(kn.ones((1, 4))).data.any()


def test_backward_hooks_receive_gradients(rng):
    m = MLP().eval()
    got = {}
    m.fc2.register_full_backward_hook(lambda mod, gin, gout: got.update(fc2=(gin[0].shape, gout[0].shape)))
    m.fc1.register_full_backward_hook(lambda mod, gin, gout: got.update(fc1=(len(gin), gout[0].shape)))
    m(kn.tensor(rng.standard_normal((6, 4)))).sum().backward()
    assert got["fc2"] == ((6, 8), (6, 3))
    assert got["fc1"] == (0, (6, 8))  # the data input needs no gradient


def test_state_dict_roundtrip_is_a_copy():
    a, b = MLP(), MLP()
    sd = a.state_dict()
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]  # PyTorch order
    a.fc1.weight.data[...] = 0  # the state dict holds copies
    assert sd["fc1.weight"].any()
    b.load_state_dict(sd)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    x = kn.ones((2, 4))
    a.load_state_dict(sd)
    np.testing.assert_array_equal(a.eval()(x).data, b.eval()(x).data)


def test_load_state_dict_errors_name_key_and_shapes():
    m = MLP()
    sd = m.state_dict()
    bad = dict(sd, **{"fc1.weight": np.zeros((8, 5), np.float32)})
    with pytest.raises(kn.ShapeError, match=r"fc1\.weight.*\(8, 5\).*\(8, 4\)"):
        m.load_state_dict(bad)
    missing = {k: v for k, v in sd.items() if k != "fc2.bias"}
    with pytest.raises(kn.KisonetValueError, match=r"missing: fc2\.bias"):
        m.load_state_dict(missing)
    with pytest.raises(kn.KisonetValueError, match=r"unexpected: extra\.w"):
        m.load_state_dict(dict(sd, **{"extra.w": np.zeros(1)}))
    assert m.load_state_dict(missing, strict=False) == (["fc2.bias"], [])


def test_to_float64_and_back(rng):
    m = MLP().to(np.float64)
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.steps.dtype == np.int64  # integer buffers untouched
    y = m(kn.tensor(rng.standard_normal((2, 4)), dtype=np.float64))
    assert y.dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    with pytest.raises(kn.KisonetValueError, match="float16"):
        m.to(np.float16)


def test_sequential_modulelist_and_repr():
    seq = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and len(seq[:2]) == 2
    assert seq(kn.zeros((2, 784))).shape == (2, 10)
    text = repr(seq)
    assert "(0): Linear(in_features=784, out_features=100, bias=True)  # 78,500 params" in text
    assert text.endswith("# 79,510 params")
    named = nn.Sequential(OrderedDict(enc=nn.Linear(2, 3), act=nn.Tanh()))
    assert [n for n, _ in named.named_children()] == ["enc", "act"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    holder = nn.Module()
    holder.layers = ml
    assert len(list(holder.parameters())) == 6 and "layers.2.bias" in holder.state_dict()
    with pytest.raises(kn.KisonetTypeError):
        nn.Sequential(nn.ReLU(), "not a module")


def test_summary_table():
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Dropout(0.5), nn.Linear(100, 10))
    lines = []
    text = nn.summary(model, (1, 784), print_fn=lines.append)
    assert lines == [text]
    assert "Linear" in text and "(1, 100)" in text and "78,500" in text and "Total params: 79,510" in text
    assert model.training  # mode restored after the eval-mode pass
