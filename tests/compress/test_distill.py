"""Distillation: the Hinton loss by hand, its gradients, torch parity, the Trainer helper."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import compress as C  # noqa: N812
from kisonet.compress.distill import distill
from kisonet.models import MLP

S = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
T_ = [[2.0, 1.0, 0.0], [0.5, 0.5, 2.0]]
Y = [1, 2]


def _hand(s, t, y, T, alpha):
    """The definition, written out with math.exp one number at a time."""
    total = 0.0
    for si, ti, yi in zip(s, t, y, strict=True):
        zs = sum(math.exp(v) for v in si)
        ce = -math.log(math.exp(si[yi]) / zs)
        p = [math.exp(v / T) / sum(math.exp(u / T) for u in ti) for v in ti]
        q = [math.exp(v / T) / sum(math.exp(u / T) for u in si) for v in si]
        kl = sum(pc * math.log(pc / qc) for pc, qc in zip(p, q, strict=True))
        total += alpha * ce + (1 - alpha) * T * T * kl
    return total / len(s)


@pytest.mark.parametrize("T,alpha", [(4.0, 0.1), (1.0, 0.5), (2.0, 0.0), (3.0, 1.0)])
def test_loss_equals_hand_computed_values(T, alpha):
    got = float(C.distillation_loss(kn.tensor(S), np.array(T_), np.array(Y), T=T, alpha=alpha).data)
    assert got == pytest.approx(_hand(S, T_, Y, T, alpha), rel=1e-5)


def test_loss_hand_value_spelled_out():
    # one sample, T = 2, alpha = 0.5: s = (0, ln 3) -> softmax (1/4, 3/4); s/T -> (1/(1+sqrt3), sqrt3/(1+sqrt3));
    # t = (0, 0) -> p = (1/2, 1/2); label 1.
    r3 = math.sqrt(3)
    q = (1 / (1 + r3), r3 / (1 + r3))
    kl = 0.5 * math.log(0.5 / q[0]) + 0.5 * math.log(0.5 / q[1])
    want = 0.5 * -math.log(0.75) + 0.5 * 4 * kl
    got = C.distillation_loss(kn.tensor([[0.0, math.log(3)]]), np.zeros((1, 2)), np.array([1]), T=2.0, alpha=0.5)
    assert float(got.data) == pytest.approx(want, rel=1e-6)


def test_identical_teacher_and_pure_soft_loss_is_zero():
    z = np.array(S, dtype=np.float32)
    assert float(C.distillation_loss(kn.tensor(z), z, np.array(Y), T=4.0, alpha=0.0).data) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_gradcheck_student_and_teacher(rng, alpha):
    s = kn.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    t = kn.tensor(rng.standard_normal((5, 4)) * 3, requires_grad=True)
    y = rng.integers(0, 4, 5)
    assert kn.gradcheck(lambda a, b: C.distillation_loss(a, b, y, T=2.5, alpha=alpha), s, t)


def test_torch_parity(torch, rng):
    s = rng.standard_normal((8, 10)).astype(np.float32)
    t = (rng.standard_normal((8, 10)) * 4).astype(np.float32)
    y = rng.integers(0, 10, 8)
    T, alpha = 4.0, 0.2
    ks = kn.tensor(s, requires_grad=True)
    loss = C.distillation_loss(ks, t, y, T=T, alpha=alpha)
    loss.backward()
    F = torch.nn.functional
    ts = torch.tensor(s, requires_grad=True)
    tl = alpha * F.cross_entropy(ts, torch.tensor(y)) + (1 - alpha) * T * T * F.kl_div(
        F.log_softmax(ts / T, dim=1), F.softmax(torch.tensor(t) / T, dim=1), reduction="batchmean"
    )
    tl.backward()
    assert float(loss.data) == pytest.approx(tl.item(), rel=1e-5)
    np.testing.assert_allclose(ks.grad, ts.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_alpha_one_is_cross_entropy(rng):
    s = rng.standard_normal((6, 3)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    got = C.distillation_loss(kn.tensor(s), rng.standard_normal((6, 3)), y, T=7.0, alpha=1.0)
    assert float(got.data) == pytest.approx(float(kn.nn.functional.cross_entropy(kn.tensor(s), y).data), rel=1e-6)


def test_distill_helper_trains_student_towards_the_teacher(rng):
    X = rng.standard_normal((256, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    teacher = MLP(8, (32,), 2)
    kn.train.Trainer(
        teacher, "cross_entropy", kn.optim.Adam(teacher.parameters(), lr=0.01), progress=False, seed=0
    ).fit((X, y), epochs=10, batch_size=32)
    t_before = copy.deepcopy(teacher.state_dict())
    student = MLP(8, (4,), 2)
    # with alpha = 0 the student learns from the teacher alone: its loss must fall towards 0
    hist = distill(teacher, student, (X, y), T=4.0, alpha=0.0, epochs=15, batch_size=32, lr=0.02)
    assert hist["train_loss"][-1] < 0.2 * hist["train_loss"][0]
    assert hist["train_accuracy"][-1] > 0.9
    for k, v in teacher.state_dict().items():  # the teacher is never updated
        np.testing.assert_array_equal(v, t_before[k])
    assert not student._forward_hooks  # the helper cleans up its hook


def test_distiller_uses_teacher_logits_of_the_same_batch(rng):
    teacher = MLP(4, (3,), 2)
    d = C.Distiller(teacher, T=2.0, alpha=0.0).attach(student := copy.deepcopy(teacher))
    x = kn.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    out = student(x)
    # student == teacher on this very batch: the soft loss is zero
    assert float(d(out, np.zeros(5, dtype=np.int64)).data) == pytest.approx(0.0, abs=1e-6)
    d.detach()


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="temperature"):
        C.Distiller(MLP(2, (2,), 2), T=0.0)
    with pytest.raises(ValueError, match="alpha"):
        C.distillation_loss(kn.tensor(S), np.array(T_), np.array(Y), alpha=1.5)
    with pytest.raises(ValueError, match="labels"):
        C.distillation_loss(kn.tensor(S), np.array(T_), np.array([0, 5]))
