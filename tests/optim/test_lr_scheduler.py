"""Learning-rate schedules: step-by-step parity with torch.optim.lr_scheduler, the notes' forms, state round trips."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import kisonet as kn
from kisonet import optim
from kisonet.errors import KisonetValueError
from kisonet.optim import lr_scheduler as ls

BASE_LRS = (0.1, 0.02)


def _kn_opt():
    return optim.SGD(
        [
            {"params": [kn.tensor([1.0], requires_grad=True)]},
            {"params": [kn.tensor([1.0], requires_grad=True)], "lr": BASE_LRS[1]},
        ],
        lr=BASE_LRS[0],
        momentum=0.9,
    )


def _torch_opt(torch):
    return torch.optim.SGD(
        [
            {"params": [torch.zeros(1, requires_grad=True)]},
            {"params": [torch.zeros(1, requires_grad=True)], "lr": BASE_LRS[1]},
        ],
        lr=BASE_LRS[0],
        momentum=0.9,
    )


# name -> (builder(module, opt) using that module's lr_scheduler, number of steps covering 3 cycles)
SCHEDULES = {
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=10), 60),
    "CosineAnnealingLR-eta_min": (lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 45),
    "CosineAnnealingWarmRestarts-Tmult1": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001), 16),
    "CosineAnnealingWarmRestarts-Tmult2": (
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
        3 + 6 + 12 + 2,
    ),
    "StepLR": (lambda m, o: m.StepLR(o, step_size=4, gamma=0.5), 13),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 12),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.9), 10),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4), 8),
    "LinearLR-warmup": (lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=5), 10),
    "LinearLR-decay": (lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=7), 10),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lambda k: 0.95**k), 6),
    "Sequential-warmup-cosine": (
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=10)], milestones=[5]
        ),
        5 + 60,
    ),
    "Sequential-warmup-restarts-step": (
        lambda m, o: m.SequentialLR(
            o,
            [
                m.LinearLR(o, start_factor=0.2, total_iters=4),
                m.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
                m.StepLR(o, step_size=3, gamma=0.5),
            ],
            milestones=[4, 4 + 4 + 8 + 16],
        ),
        4 + 4 + 8 + 16 + 9,
    ),
}


def _run(module, opt, build, n):
    s = build(module, opt)
    lrs = [[g["lr"] for g in opt.param_groups]]
    for _ in range(n):
        opt.step()
        s.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        assert s.get_last_lr() == lrs[-1]
    return np.array(lrs), s


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_equals_torch_at_every_step(torch, name):
    build, n = SCHEDULES[name]
    got, s = _run(ls, _kn_opt(), build, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, ts = _run(torch.optim.lr_scheduler, _torch_opt(torch), build, n)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert s.last_epoch == ts.last_epoch
    assert len(np.unique(got[:, 0].round(12))) >= 2  # the schedule really moves


def test_warm_restarts_fractional_epochs_equal_torch(torch):
    ko = _kn_opt()
    to = _torch_opt(torch)
    ks = ls.CosineAnnealingWarmRestarts(ko, T_0=2, T_mult=2, eta_min=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(to, T_0=2, T_mult=2, eta_min=0.001)
        for e in [0.25, 0.5, 1.0, 1.75, 2.0, 3.5, 5.9, 6.0, 13.3, 14.0, 3.0, 0.0]:
            to.step()
            ts.step(e)
            ks.step(e)
            assert ks.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), e
            assert ks.last_epoch == ts.last_epoch


def test_closed_form_step_epoch_equals_torch(torch):
    for build in (
        lambda m, o: m.StepLR(o, 3, 0.5),
        lambda m, o: m.CosineAnnealingLR(o, 8),
        lambda m, o: m.LinearLR(o, 0.1, 1.0, 6),
        lambda m, o: m.ExponentialLR(o, 0.8),
        lambda m, o: m.MultiStepLR(o, [3, 7]),
        lambda m, o: m.ConstantLR(o, 0.5, 3),
    ):
        ks = build(ls, _kn_opt())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = build(torch.optim.lr_scheduler, _torch_opt(torch))
            for e in (5, 2, 11, 0):
                ks.step(e)
                ts.step(e)
                assert ks.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


def test_notes_linear_interpolation_schedule():
    opt = _kn_opt()
    s = ls.LinearInterpolationLR(opt, end_lr=0.01, total_iters=4)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        s.step()
        seen.append(opt.param_groups[0]["lr"])
    a0, a1, K = 0.1, 0.01, 4
    want = [(k / K) * a1 + (1 - k / K) * a0 if k <= K else a1 for k in range(7)]
    assert seen == pytest.approx(want, rel=1e-12)
    # the second group interpolates from its own base lr to the same end value
    assert opt.param_groups[1]["lr"] == pytest.approx(0.01)


def test_inverse_and_inverse_sqrt_schedules():
    opt = _kn_opt()
    s = ls.InverseLR(opt)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(4):
        s.step()
        got.append(opt.param_groups[0]["lr"])
    assert got == pytest.approx([0.1 / k for k in range(1, 6)])  # the notes' a/k with k = step + 1
    opt = _kn_opt()
    s = ls.InverseSqrtLR(opt, scale=2.0)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(4):
        s.step()
        got.append(opt.param_groups[0]["lr"])
    assert got == pytest.approx([0.1 / math.sqrt(1 + k / 2) for k in range(5)])


def test_warmup_cosine_matches_sequential_composition_then_holds():
    W, T = 4, 14
    a = _kn_opt()
    s = ls.WarmupCosineLR(a, warmup_iters=W, total_iters=T, eta_min=0.001, warmup_start_factor=0.1)
    b = _kn_opt()
    seq = ls.SequentialLR(b, [ls.LinearLR(b, 0.1, 1.0, W), ls.CosineAnnealingLR(b, T - W, eta_min=0.001)], [W])
    for k in range(T + 3):
        if k <= T:
            assert a.param_groups[0]["lr"] == pytest.approx(b.param_groups[0]["lr"], rel=1e-9), k
        else:
            assert a.param_groups[0]["lr"] == pytest.approx(0.001)
        s.step()
        seq.step()
    assert max(ls_lr for ls_lr in [a.param_groups[0]["lr"]]) < 0.1


def _train(opt, sched, w, n):
    out = []
    for _ in range(n):
        opt.zero_grad()
        ((w - 3.0) ** 2).sum().backward()
        opt.step()
        sched.step()
        out.append((w.data.copy(), opt.param_groups[0]["lr"]))
    return out


@pytest.mark.parametrize(
    "name",
    [
        "Sequential-warmup-restarts-step",
        "CosineAnnealingLR",
        "StepLR",
        "CosineAnnealingWarmRestarts-Tmult2",
        "LinearLR-warmup",
    ],
)
def test_scheduler_and_optimizer_state_round_trip(name, tmp_path):
    build, _ = SCHEDULES[name]
    kn.set_default_dtype(np.float64)

    def make(w0):
        w = kn.tensor(np.array(w0, dtype=np.float64), requires_grad=True)
        opt = optim.Adam([w], lr=0.1)
        return w, opt, build(ls, opt)

    w, opt, s = make([0.0, 1.0])
    _train(opt, s, w, 7)
    kn.save({"w": w.data.copy(), "opt": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = kn.load(tmp_path / "ckpt.npz")
    saved = (ckpt["w"], ckpt["opt"], ckpt["sched"])
    rest = _train(opt, s, w, 12)

    w2, opt2, s2 = make(saved[0])
    opt2.load_state_dict(saved[1])
    s2.load_state_dict(saved[2])
    rest2 = _train(opt2, s2, w2, 12)
    for (wa, la), (wb, lb) in zip(rest, rest2, strict=False):
        np.testing.assert_array_equal(wa, wb)
        assert la == lb


def test_scheduler_validation():
    opt = _kn_opt()
    with pytest.raises(KisonetValueError, match="T_0"):
        ls.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(KisonetValueError, match="T_mult"):
        ls.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(KisonetValueError, match="step_size"):
        ls.StepLR(opt, step_size=0)
    with pytest.raises(KisonetValueError, match="milestones"):
        ls.SequentialLR(opt, [ls.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(KisonetValueError, match="start_factor"):
        ls.LinearLR(opt, start_factor=0)
    with pytest.raises(KisonetValueError, match="total_iters must be > warmup_iters"):
        ls.WarmupCosineLR(opt, warmup_iters=5, total_iters=5)
    with pytest.raises(KisonetValueError, match="initial_lr"):
        ls.StepLR(optim.SGD([kn.tensor([1.0], requires_grad=True)], lr=0.1), 2, last_epoch=3)
    other = _kn_opt()
    with pytest.raises(KisonetValueError, match="another optimizer"):
        ls.SequentialLR(opt, [ls.StepLR(opt, 2), ls.StepLR(other, 2)], milestones=[3])


def test_warmup_cosine_default_ramp_never_wastes_a_step():
    opt = _kn_opt()
    s = ls.WarmupCosineLR(opt, warmup_iters=3, total_iters=8)
    got = []
    for _ in range(5):
        got.append(opt.param_groups[0]["lr"])
        s.step()
    assert got == pytest.approx([0.1 * (k + 1) / 4 for k in range(4)] + [0.1 * (1 + math.cos(math.pi / 5)) / 2])
