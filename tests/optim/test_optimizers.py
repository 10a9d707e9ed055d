"""Optimizers: the notes' exercise, hand-computed sequences, PyTorch parity, state round trips, validation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import optim
from kisonet.errors import KisonetTypeError, KisonetValueError

# --- helpers ----------------------------------------------------------------------------------


def notes_energy(w: kn.Tensor) -> kn.Tensor:
    """E(w) = 0.1 w1^2 + 2 w2^2 (the notes' exercise); grad = (0.2 w1, 4 w2)."""
    return 0.1 * w[0] ** 2 + 2 * w[1] ** 2


def notes_grad(w: list[float]) -> list[float]:
    return [0.2 * w[0], 4.0 * w[1]]


def run_steps(opt_cls, kwargs, n=3, w0=(-5.0, -2.0)):
    kn.set_default_dtype(np.float64)
    w = kn.tensor(list(w0), requires_grad=True)
    opt = opt_cls([w], **kwargs)
    out = []
    for _ in range(n):
        opt.zero_grad()
        notes_energy(w).backward()
        opt.step()
        out.append(w.data.copy())
    return out


def test_notes_exercise_one_gd_step_is_exact():
    w = kn.tensor([-5.0, -2.0], requires_grad=True)
    opt = optim.GD([w], lr=0.1)
    notes_energy(w).backward()
    np.testing.assert_array_equal(w.grad, np.float32([-1.0, -8.0]))
    opt.step()
    np.testing.assert_array_equal(w.data, np.float32([-4.9, -1.2]))
    kn.set_default_dtype(np.float64)
    w = kn.tensor([-5.0, -2.0], requires_grad=True)
    optim.SGD([w], lr=0.1)
    notes_energy(w).backward()
    optim.SGD([w], lr=0.1).step()
    assert w.data.tolist() == [-4.9, -1.2]


# --- hand-computed three-step sequences, each from its update formula in scalar Python ---------


def _ref(update, n=3, w0=(-5.0, -2.0)):
    """Apply ``update(i, w_i, g_i, state_i) -> w_i`` coordinate by coordinate, in plain Python."""
    w = list(w0)
    states = [{} for _ in w]
    out = []
    for t in range(1, n + 1):
        g = notes_grad(w)
        w = [update(t, w[i], g[i], states[i]) for i in range(len(w))]
        out.append(list(w))
    return out


def _sgd_momentum(lr, mu, damp=0.0, nesterov=False, wd=0.0):
    def upd(t, w, g, s):
        g = g + wd * w
        s["b"] = g if t == 1 else mu * s["b"] + (1 - damp) * g
        d = g + mu * s["b"] if nesterov else s["b"]
        return w - lr * d

    return upd


def _momentum(lr, rho):
    def upd(t, w, g, s):
        s["dw"] = rho * s.get("dw", 0.0) - lr * g
        return w + s["dw"]

    return upd


def _adagrad(lr, eps=1e-10, lr_decay=0.0, init=0.0):
    def upd(t, w, g, s):
        s["sum"] = s.get("sum", init) + g * g
        return w - lr / (1 + (t - 1) * lr_decay) * g / (math.sqrt(s["sum"]) + eps)

    return upd


def _rmsprop(lr, alpha=0.99, eps=1e-8, mu=0.0, centered=False):
    def upd(t, w, g, s):
        s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
        s["gbar"] = alpha * s.get("gbar", 0.0) + (1 - alpha) * g
        avg = math.sqrt(s["v"] - s["gbar"] ** 2 if centered else s["v"]) + eps
        if mu > 0:
            s["b"] = mu * s.get("b", 0.0) + g / avg
            return w - lr * s["b"]
        return w - lr * g / avg

    return upd


def _adadelta(lr=1.0, rho=0.9, eps=1e-6):
    def upd(t, w, g, s):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        dw = math.sqrt(s.get("u", 0.0) + eps) / math.sqrt(s["v"] + eps) * g
        s["u"] = rho * s.get("u", 0.0) + (1 - rho) * dw * dw
        return w - lr * dw

    return upd


def _adam(lr, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False, wd=0.0, decoupled=False):
    def upd(t, w, g, s):
        if decoupled:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        s["vmax"] = max(s.get("vmax", 0.0), s["v"])
        v = s["vmax"] if amsgrad else s["v"]
        m_hat = s["m"] / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        return w - lr * m_hat / (math.sqrt(v_hat) + eps)

    return upd


def _adabelief(lr, b1=0.9, b2=0.999, eps=1e-16, amsgrad=False, wd=0.0):
    def upd(t, w, g, s):
        w = w * (1 - lr * wd)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["s"] = b2 * s.get("s", 0.0) + (1 - b2) * (g - s["m"]) ** 2 + eps
        s["smax"] = max(s.get("smax", 0.0), s["s"])
        v = s["smax"] if amsgrad else s["s"]
        return w - lr / (1 - b1**t) * s["m"] / (math.sqrt(v) / math.sqrt(1 - b2**t) + eps)

    return upd


HAND = [
    (optim.SGD, dict(lr=0.1), _sgd_momentum(0.1, 0.0)),
    (optim.SGD, dict(lr=0.1, momentum=0.9), _sgd_momentum(0.1, 0.9)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3), _sgd_momentum(0.1, 0.9, damp=0.3)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), _sgd_momentum(0.1, 0.9, nesterov=True)),
    (optim.SGD, dict(lr=0.1, momentum=0.5, weight_decay=0.2), _sgd_momentum(0.1, 0.5, wd=0.2)),
    (optim.Momentum, dict(lr=0.1, rho=0.9), _momentum(0.1, 0.9)),
    (optim.Adagrad, dict(lr=0.5), _adagrad(0.5)),
    (optim.Adagrad, dict(lr=0.5, lr_decay=0.1, initial_accumulator_value=0.3), _adagrad(0.5, lr_decay=0.1, init=0.3)),
    (optim.RMSprop, dict(lr=0.01), _rmsprop(0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True), _rmsprop(0.01, centered=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, alpha=0.9), _rmsprop(0.01, alpha=0.9, mu=0.9)),
    (optim.Adadelta, dict(), _adadelta()),
    (optim.Adadelta, dict(lr=0.5, rho=0.5, eps=1e-3), _adadelta(0.5, 0.5, 1e-3)),
    (optim.Adam, dict(lr=0.1), _adam(0.1)),
    (optim.Adam, dict(lr=0.1, amsgrad=True, betas=(0.5, 0.6)), _adam(0.1, 0.5, 0.6, amsgrad=True)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.3), _adam(0.1, wd=0.3)),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.3), _adam(0.1, wd=0.3, decoupled=True)),
    (optim.AdaBelief, dict(lr=0.1), _adabelief(0.1)),
    (
        optim.AdaBelief,
        dict(lr=0.1, amsgrad=True, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.2),
        _adabelief(0.1, 0.5, 0.6, eps=1e-3, amsgrad=True, wd=0.2),
    ),
]


@pytest.mark.parametrize("cls,kwargs,update", HAND, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(HAND)])
def test_three_steps_match_the_formula(cls, kwargs, update):
    got = run_steps(cls, kwargs)
    want = _ref(update)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=1e-14)
    # the iterates move: a no-op optimizer would fail here
    assert not np.allclose(got[0], [-5.0, -2.0])


def test_momentum_equals_sgd_momentum_under_constant_lr_but_not_under_a_schedule():
    a = run_steps(optim.Momentum, dict(lr=0.05, rho=0.9), n=10)
    b = run_steps(optim.SGD, dict(lr=0.05, momentum=0.9), n=10)
    np.testing.assert_allclose(a, b, rtol=1e-12)

    def scheduled(cls, kwargs):
        w = kn.tensor([-5.0, -2.0], requires_grad=True)
        opt = cls([w], **kwargs)
        for k in range(6):
            opt.param_groups[0]["lr"] = 0.05 / (k + 1)
            opt.zero_grad()
            notes_energy(w).backward()
            opt.step()
        return w.data.copy()

    assert not np.allclose(
        scheduled(optim.Momentum, dict(lr=0.05, rho=0.9)), scheduled(optim.SGD, dict(lr=0.05, momentum=0.9)), rtol=1e-6
    )


def test_float32_stays_float32_and_updates_in_place():
    for cls, kwargs, _ in HAND:
        w = kn.tensor([-5.0, -2.0], requires_grad=True)
        arr = w.data
        opt = cls([w], **kwargs)
        notes_energy(w).backward()
        opt.step()
        assert w.data is arr and w.data.dtype == np.float32, cls.__name__
        for v in opt.state[w].values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32, (cls.__name__, v.dtype)


# --- parity with torch.optim: 100 steps on a quadratic and on a small MLP, float64 ---------------

PARITY = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


def _quadratic(n=6, seed=1):
    r = np.random.default_rng(seed)
    M = r.standard_normal((n, n))
    A = M @ M.T / n + 0.5 * np.eye(n)
    b = r.standard_normal(n)
    return [r.standard_normal(n)], lambda lib, ps: 0.5 * (ps[0] @ (lib.tensor(A) @ ps[0])) - lib.tensor(b) @ ps[0]


def _mlp(seed=2):
    r = np.random.default_rng(seed)
    x, y = r.standard_normal((16, 4)), r.standard_normal((16, 3))
    params = [
        r.standard_normal((8, 4)) * 0.5,
        r.standard_normal(8) * 0.1,
        r.standard_normal((3, 8)) * 0.5,
        r.standard_normal(3) * 0.1,
    ]

    def loss(lib, ps):
        W1, b1, W2, b2 = ps
        h = (lib.tensor(x) @ W1.T + b1).relu()
        d = h @ W2.T + b2 - lib.tensor(y)
        return (d * d).mean()

    return params, loss


@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
@pytest.mark.parametrize("name,kwargs", PARITY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PARITY)])
def test_parity_with_torch(torch, problem, name, kwargs):
    kn.set_default_dtype(np.float64)
    init, loss = _quadratic() if problem == "quadratic" else _mlp()
    kp = [kn.tensor(a.copy(), requires_grad=True) for a in init]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    ko = getattr(optim, name)(kp, **kwargs)
    to = getattr(torch.optim, name)(tp, **kwargs)
    sign = -1.0 if kwargs.get("maximize") else 1.0  # maximize -f: same minimum, and it stays bounded
    for _ in range(100):
        ko.zero_grad()
        (loss(kn, kp) * sign).backward()
        ko.step()
        to.zero_grad()
        (loss(torch, tp) * sign).backward()
        to.step()
    for a, b, a0 in zip(kp, tp, init, strict=False):
        assert not np.allclose(a.data, a0)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-6, atol=1e-10)


# --- base-class behaviour ---------------------------------------------------------------------


def test_param_groups_skip_none_grads_and_closure():
    a = kn.tensor([1.0, 2.0], requires_grad=True)
    b = kn.tensor([3.0], requires_grad=True)
    c = kn.tensor([4.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}, {"params": c}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0, 0.1]
    assert opt.param_groups[1]["momentum"] == 0.5

    def closure():
        opt.zero_grad()
        loss = (a * a).sum() + (b * b).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == pytest.approx(14.0)
    np.testing.assert_allclose(a.data, [0.8, 1.6], rtol=1e-6)
    np.testing.assert_allclose(b.data, [-3.0])
    assert c.data.tolist() == [4.0] and c not in opt.state  # no grad: untouched, no state
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0] and c.grad is None
    opt.zero_grad()
    assert a.grad is None
    d = kn.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [d], "lr": 0.5})
    assert opt.param_groups[-1]["momentum"] == 0.5 and opt.param_groups[-1]["lr"] == 0.5
    with pytest.raises(KisonetValueError, match="more than one"):
        opt.add_param_group({"params": [a]})
    assert "lr: 0.1" in repr(opt) and "momentum: 0.5" in repr(opt)


def test_named_parameters_are_accepted_and_kept_in_the_state_dict():
    a = kn.tensor([1.0], requires_grad=True)
    b = kn.tensor([2.0], requires_grad=True)
    opt = optim.Adam([("fc.weight", a), ("fc.bias", b)], lr=0.1)
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(a), id(b)]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["fc.weight", "fc.bias"]
    (a * b).sum().backward()
    opt.step()
    assert a.data[0] < 1.0 and b.data[0] < 2.0


def _storable(obj) -> bool:
    """Only what kn.save can store: dicts, lists, arrays, numbers, strings, bools, None."""
    if isinstance(obj, dict):
        return all(isinstance(k, (str, int)) and _storable(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_storable(v) for v in obj)
    return obj is None or isinstance(obj, (np.ndarray, int, float, str, bool))


ALL_OPTIMIZERS = [(c, k) for c, k, _ in HAND] + [(optim.Adam, dict(lr=0.1, amsgrad=True))]


@pytest.mark.parametrize(
    "cls,kwargs", ALL_OPTIMIZERS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(ALL_OPTIMIZERS)]
)
def test_state_dict_round_trip_resumes_exactly(cls, kwargs, tmp_path):
    params, loss = _mlp()
    kn.set_default_dtype(np.float32)

    def make(arrays):
        ps = [kn.tensor(a.copy(), requires_grad=True) for a in arrays]
        return ps, cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05}], **kwargs)

    def train(ps, opt, n):
        for _ in range(n):
            opt.zero_grad()
            loss(kn, ps).backward()
            opt.step()

    ps, opt = make(params)
    train(ps, opt, 5)
    sd = opt.state_dict()
    assert _storable(sd)
    kn.save(sd, tmp_path / "opt.npz")  # through the real checkpoint format
    saved = kn.load(tmp_path / "opt.npz")
    live_copy = copy.deepcopy(sd)
    snapshot = [p.data.copy() for p in ps]
    train(ps, opt, 5)
    # the live state dict must not alias the optimizer's buffers
    for k, st in sd["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(v, live_copy["state"][k][name])

    ps2, opt2 = make(snapshot)
    opt2.param_groups[0]["lr"] = 123.0  # overwritten by the load
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    train(ps2, opt2, 5)
    for a, b in zip(ps, ps2, strict=False):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_rejects_mismatch():
    a = kn.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([a])
    (a * a).sum().backward()
    opt.step()
    other = optim.Adam([kn.tensor([1.0, 2.0, 3.0], requires_grad=True)])
    with pytest.raises(KisonetValueError, match="shape"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(KisonetValueError, match="groups"):
        optim.Adam(
            [{"params": [kn.tensor([1.0], requires_grad=True)]}, {"params": [kn.tensor([1.0], requires_grad=True)]}]
        ).load_state_dict(opt.state_dict())


BAD = [
    (optim.SGD, dict(lr=-1), "SGD: lr must be a number >= 0, got -1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "momentum"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "nesterov"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (optim.Momentum, dict(lr=0.1, rho=1.5), r"rho must be a number in \[0, 1\), got 1.5"),
    (optim.Adagrad, dict(lr=0.1, eps=-1.0), "eps"),
    (optim.Adagrad, dict(lr_decay=-0.1), "lr_decay"),
    (optim.RMSprop, dict(alpha=-0.1), "alpha"),
    (optim.RMSprop, dict(momentum=-1), "momentum"),
    (optim.Adadelta, dict(rho=1.1), "rho"),
    (optim.Adam, dict(lr=-1), "Adam: lr must be a number >= 0, got -1"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (optim.Adam, dict(betas=(0.9,)), r"betas must be a pair \(beta1, beta2\), got \(0.9,\)"),
    (optim.AdamW, dict(weight_decay=-0.01), "AdamW: weight_decay"),
    (optim.AdaBelief, dict(eps=float("nan")), "eps"),
    (optim.Newton, dict(damping=-1), "damping"),
    (optim.Adam, dict(lr="fast"), "Adam: lr must be a number >= 0, got 'fast'"),
]


@pytest.mark.parametrize("cls,kwargs,msg", BAD, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BAD)])
def test_invalid_hyper_parameters_raise_at_construction(cls, kwargs, msg):
    w = kn.tensor([1.0], requires_grad=True)
    with pytest.raises(KisonetValueError, match=msg) as info:
        cls([w], **kwargs)
    assert isinstance(info.value, ValueError)


def test_bad_params_argument():
    w = kn.tensor([1.0], requires_grad=True)
    with pytest.raises(KisonetTypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(KisonetValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(KisonetValueError, match="required 'lr'"):
        optim.GD([w])
    with pytest.raises(KisonetTypeError, match="Tensors"):
        optim.Adam([np.zeros(3)])


def test_coupled_weight_decay_equals_l2_penalty_for_sgd():
    kn.set_default_dtype(np.float64)
    init, loss = _mlp()
    a = [kn.tensor(x.copy(), requires_grad=True) for x in init]
    b = [kn.tensor(x.copy(), requires_grad=True) for x in init]
    oa = optim.SGD(a, lr=0.05, momentum=0.9, weight_decay=0.1)
    ob = optim.SGD(b, lr=0.05, momentum=0.9)
    reg = kn.regularizers.L2(0.1, include_bias=True)
    for _ in range(10):
        oa.zero_grad()
        loss(kn, a).backward()
        oa.step()
        ob.zero_grad()
        (loss(kn, b) + reg(b)).backward()
        ob.step()
    for x, y in zip(a, b, strict=False):
        np.testing.assert_allclose(x.data, y.data, rtol=1e-12)


def test_adamw_decay_is_decoupled_from_the_adaptive_scaling():
    # With zero gradient, Adam's coupled decay is normalised away (step ~ lr), AdamW shrinks w by lr*wd*w.
    kn.set_default_dtype(np.float64)
    w1 = kn.tensor([10.0], requires_grad=True)
    w2 = kn.tensor([10.0], requires_grad=True)
    o1 = optim.Adam([w1], lr=0.1, weight_decay=0.01)
    o2 = optim.AdamW([w2], lr=0.1, weight_decay=0.01)
    for w in (w1, w2):
        w.grad = np.zeros(1)
    o1.step()
    o2.step()
    assert w1.data[0] == pytest.approx(10.0 - 0.1, rel=1e-6)
    assert w2.data[0] == pytest.approx(10.0 * (1 - 0.1 * 0.01), rel=1e-12)
