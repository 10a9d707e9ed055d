"""The notes' optimizer forms (``eps_placement``) against NumPy transcriptions of the printed formulas.

Each reference below is the formula as the deck prints it (see docs/notes-forms.md), run in float64
on the same gradient sequence as kisonet's optimizer; PyTorch's default forms are checked against
torch in test_optimizers.py, and again here where torch has the form (Adagrad with h_0 = theta).
"""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.errors import KisonetValueError

STEPS = 40
A = np.array([[3.0, 0.5, 0.0], [0.5, 0.2, 0.1], [0.0, 0.1, 1e-3]])  # ill-conditioned quadratic
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.7, -1.3, 2.0])


def _grad(w: np.ndarray) -> np.ndarray:
    return A @ w + B


def _run(make, steps: int = STEPS) -> np.ndarray:
    """kisonet's iterates on the quadratic, float64."""
    kn.set_default_dtype(np.float64)
    p = kn.tensor(W0.copy(), requires_grad=True)
    opt = make([p])
    out = []
    for _ in range(steps):
        p.grad = _grad(p.data)
        opt.step()
        out.append(p.data.copy())
    return np.array(out)


def _reference(update, state: dict, steps: int = STEPS) -> np.ndarray:
    w = W0.copy()
    out = []
    for t in range(1, steps + 1):
        w = w + update(_grad(w), t, state)
        out.append(w.copy())
    return np.array(out)


# --- Keio lecture 4: eps inside the root ---------------------------------------------------


def test_adagrad_inside_is_keio_lecture4_formula():
    eta, eps = 0.1, 1e-6  # the deck's "0.000001 など"

    def keio(g, t, s):  # Δw_i = -η / sqrt(Σ_τ g_i^2 + ε) g_i
        s["sum"] = s.get("sum", 0.0) + g**2
        return -eta / np.sqrt(s["sum"] + eps) * g

    got = _run(lambda p: kn.optim.Adagrad(p, lr=eta, eps=eps, eps_placement="inside"))
    np.testing.assert_allclose(got, _reference(keio, {}), rtol=1e-12, atol=1e-14)


def test_adagrad_inside_and_outside_differ_where_s_is_small():
    # one coordinate with a tiny gradient: there eps dominates the denominator
    kn.set_default_dtype(np.float64)
    steps = []
    for placement in ("outside", "inside"):
        p = kn.tensor(np.zeros(1), requires_grad=True)
        opt = kn.optim.Adagrad([p], lr=1.0, eps=1e-4, eps_placement=placement)
        p.grad = np.array([1e-4])
        opt.step()
        steps.append(-p.data[0])
    # outside: 1e-4 / (1e-4 + 1e-4) = 0.5; inside: 1e-4 / sqrt(1e-8 + 1e-4) ~ 0.00995
    assert steps[0] == pytest.approx(0.5)
    assert steps[1] == pytest.approx(1e-4 / np.sqrt(1e-8 + 1e-4))


def test_adagrad_ecert_report_h0_theta_equals_torch(torch):
    """E-cert report eqs. 8-10: h_0 = θ, h_t = h_{t-1} + g^2, w <- w - ε g / (sqrt(h_t) + θ)."""
    eta, theta = 0.05, 1e-3

    def report(g, t, s):
        s["h"] = s.get("h", theta) + g**2
        return -eta * g / (np.sqrt(s["h"]) + theta)

    got = _run(lambda p: kn.optim.Adagrad(p, lr=eta, eps=theta, initial_accumulator_value=theta))
    np.testing.assert_allclose(got, _reference(report, {}), rtol=1e-12)
    tp = torch.tensor(W0.copy(), requires_grad=True)
    topt = torch.optim.Adagrad([tp], lr=eta, eps=theta, initial_accumulator_value=theta)
    tw = []
    for _ in range(STEPS):
        tp.grad = torch.tensor(_grad(tp.detach().numpy()))
        topt.step()
        tw.append(tp.detach().numpy().copy())
    np.testing.assert_allclose(got, np.array(tw), rtol=1e-10)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_inside_is_keio_lecture4_formula(centered):
    eta, rho, eps = 0.01, 0.9, 1e-6

    def keio(g, t, s):  # v = ρ v + (1 - ρ) g^2;  Δw = -η / sqrt(v + ε) g
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
        v = s["v"]
        if centered:  # PyTorch's centred variant, with eps moved inside as well
            s["gbar"] = rho * s.get("gbar", 0.0) + (1 - rho) * g
            v = v - s["gbar"] ** 2
        return -eta / np.sqrt(v + eps) * g

    got = _run(lambda p: kn.optim.RMSprop(p, lr=eta, alpha=rho, eps=eps, centered=centered, eps_placement="inside"))
    np.testing.assert_allclose(got, _reference(keio, {}), rtol=1e-11, atol=1e-14)


def test_rmsprop_inside_with_momentum():
    eta, rho, eps, mu = 0.01, 0.9, 1e-6, 0.5

    def ref(g, t, s):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
        s["b"] = mu * s.get("b", 0.0) + g / np.sqrt(s["v"] + eps)
        return -eta * s["b"]

    got = _run(lambda p: kn.optim.RMSprop(p, lr=eta, alpha=rho, eps=eps, momentum=mu, eps_placement="inside"))
    np.testing.assert_allclose(got, _reference(ref, {}), rtol=1e-11)


def test_rmsprop_ecert_report_is_the_default(torch):
    """E-cert report eqs. 11-12: h = α h + (1 - α) g^2, w <- w - ε g / (sqrt(h) + θ): PyTorch's form."""
    eta, alpha, theta = 0.01, 0.99, 1e-8

    def report(g, t, s):
        s["h"] = alpha * s.get("h", 0.0) + (1 - alpha) * g**2
        return -eta * g / (np.sqrt(s["h"]) + theta)

    got = _run(lambda p: kn.optim.RMSprop(p, lr=eta, alpha=alpha, eps=theta))
    np.testing.assert_allclose(got, _reference(report, {}), rtol=1e-12)


@pytest.mark.parametrize("cls", [kn.optim.Adam, kn.optim.AdamW])
def test_adam_inside_is_keio_lecture4_formula(cls):
    eta, r1, r2, eps = 0.01, 0.9, 0.999, 1e-8
    wd = 0.0 if cls is kn.optim.Adam else 0.01

    def keio(g, t, s):  # m̂ = m/(1-ρ1^t), v̂ = v/(1-ρ2^t), Δw = -η m̂ / sqrt(v̂ + ε)
        decay = -eta * wd * s.setdefault("w", W0.copy())
        s["m"] = r1 * s.get("m", 0.0) + (1 - r1) * g
        s["v"] = r2 * s.get("v", 0.0) + (1 - r2) * g**2
        mh, vh = s["m"] / (1 - r1**t), s["v"] / (1 - r2**t)
        dw = decay - eta * mh / np.sqrt(vh + eps)
        s["w"] = s["w"] + dw
        return dw

    got = _run(lambda p: cls(p, lr=eta, betas=(r1, r2), eps=eps, weight_decay=wd, eps_placement="inside"))
    np.testing.assert_allclose(got, _reference(keio, {}), rtol=1e-11, atol=1e-14)


def test_adam_uncorrected_is_the_textbook_form():
    """「ゼロから作るDeep Learning」common/optimizer.py Adam: lr_t = lr sqrt(1-b2^t)/(1-b1^t),
    m += (1-b1)(g-m), v += (1-b2)(g^2-v), w -= lr_t m / (sqrt(v) + 1e-7)."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7

    def textbook(g, t, s):
        lr_t = lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        s["m"] = s.get("m", 0.0) + (1 - b1) * (g - s.get("m", 0.0))
        s["v"] = s.get("v", 0.0) + (1 - b2) * (g**2 - s.get("v", 0.0))
        return -lr_t * s["m"] / (np.sqrt(s["v"]) + eps)

    got = _run(lambda p: kn.optim.Adam(p, lr=lr, betas=(b1, b2), eps=eps, eps_placement="uncorrected"))
    np.testing.assert_allclose(got, _reference(textbook, {}), rtol=1e-11, atol=1e-14)


def test_adam_three_placements_differ_only_through_eps():
    forms = {
        pl: _run(lambda p, pl=pl: kn.optim.Adam(p, lr=0.01, eps=1e-3, eps_placement=pl))
        for pl in ("outside", "inside", "uncorrected")
    }
    assert not np.allclose(forms["outside"], forms["inside"])
    assert not np.allclose(forms["outside"], forms["uncorrected"])
    same = {pl: _run(lambda p, pl=pl: kn.optim.Adam(p, lr=0.01, eps=0.0, eps_placement=pl)) for pl in forms}
    np.testing.assert_allclose(same["inside"], same["outside"], rtol=1e-12)
    np.testing.assert_allclose(same["uncorrected"], same["outside"], rtol=1e-12)


def test_adam_amsgrad_inside():
    eta, r1, r2, eps = 0.05, 0.9, 0.99, 1e-6

    def ref(g, t, s):
        s["m"] = r1 * s.get("m", 0.0) + (1 - r1) * g
        s["v"] = r2 * s.get("v", 0.0) + (1 - r2) * g**2
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        return -eta * (s["m"] / (1 - r1**t)) / np.sqrt(s["vmax"] / (1 - r2**t) + eps)

    got = _run(lambda p: kn.optim.Adam(p, lr=eta, betas=(r1, r2), eps=eps, amsgrad=True, eps_placement="inside"))
    np.testing.assert_allclose(got, _reference(ref, {}), rtol=1e-11)


def test_eps_placement_default_is_pytorch(torch):
    kp = _run(lambda p: kn.optim.Adam(p, lr=0.01, eps=1e-3))
    tp = torch.tensor(W0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.01, eps=1e-3)
    tw = []
    for _ in range(STEPS):
        tp.grad = torch.tensor(_grad(tp.detach().numpy()))
        topt.step()
        tw.append(tp.detach().numpy().copy())
    np.testing.assert_allclose(kp, np.array(tw), rtol=1e-10)


@pytest.mark.parametrize(
    ("cls", "bad", "hint"),
    [
        (kn.optim.Adam, "insid", "inside"),
        (kn.optim.AdamW, "uncorected", "uncorrected"),
        (kn.optim.Adagrad, "outsde", "outside"),
        (kn.optim.RMSprop, "uncorrected", None),  # Adam's third form does not apply to RMSprop
    ],
)
def test_bad_eps_placement_is_one_line_with_closest_name(cls, bad, hint):
    p = kn.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(KisonetValueError) as e:
        cls([p], eps_placement=bad)
    msg = str(e.value)
    assert "\n" not in msg and "eps_placement" in msg and repr(bad) in msg and "choose from" in msg
    if hint:
        assert f"did you mean {hint!r}" in msg


def test_eps_placement_survives_state_dict_and_param_groups():
    p, q = (kn.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    opt = kn.optim.Adam([{"params": [p]}, {"params": [q], "eps_placement": "outside"}], eps_placement="inside")
    assert [g["eps_placement"] for g in opt.param_groups] == ["inside", "outside"]
    sd = opt.state_dict()
    opt2 = kn.optim.Adam([{"params": [p]}, {"params": [q]}])
    opt2.load_state_dict(sd)
    assert [g["eps_placement"] for g in opt2.param_groups] == ["inside", "outside"]
