"""Numerical faults: ``kn.detect_anomaly()`` names the op whose backward made the first
NaN/Inf (and the line that created it); the Trainer's guard stops at the first bad step."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import NumericalError


def _line_of(marker: str) -> int:
    src = inspect.getsource(inspect.getmodule(_line_of)).splitlines()
    return next(i + 1 for i, line in enumerate(src) if marker in line and "_line_of" not in line)


def test_names_the_op_its_input_and_the_line_that_created_it():
    x = kn.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    lin = nn.Linear(2, 3)
    with kn.detect_anomaly(), np.errstate(all="ignore"):
        h = lin(x).relu()  # some outputs are exactly 0
        h.data[0, 0] = 0.0  # (make sure: sqrt'(0) = inf)
        y = h.sqrt()  # ANOMALY-HERE
        loss = (y * 2.0).sum()
        with pytest.raises(NumericalError) as info:
            loss.backward()
    msg = str(info.value)
    assert "Sqrt backward returned a non-finite gradient for its input 0" in msg
    assert "the gradient flowing into Sqrt was finite" in msg
    assert "Inf" in msg and "(2, 3)" in msg
    assert f"line {_line_of('# ANOMALY-HERE')}" in msg and "test_anomaly.py" in msg
    assert lin.weight.grad is None  # stopped before the NaN reached the parameters


def test_without_detect_anomaly_the_nan_passes_silently():
    """What the feature is for: the same graph without it hands NaN/Inf to the parameters."""
    x = kn.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x.sqrt() * 0.0).sum().backward()
    assert not np.isfinite(x.grad).all()
    x2 = kn.tensor([0.0, 4.0], requires_grad=True)
    with kn.detect_anomaly(), np.errstate(all="ignore"), pytest.raises(NumericalError, match="^detect_anomaly: Sqrt"):
        (x2.sqrt() * 0.0).sum().backward()  # Mul passes a finite 0; Sqrt makes 0 / 0


def test_the_first_non_finite_op_is_named_not_a_later_one():
    x = kn.tensor([1.0, 2.0], requires_grad=True)
    w = kn.tensor([3.0, 4.0], requires_grad=True)
    with kn.detect_anomaly(), np.errstate(all="ignore"):
        z = (x * w).log() * kn.tensor([np.inf, 1.0])  # the Mul by inf is the culprit (nearest the loss)
        with pytest.raises(NumericalError) as info:
            z.sum().backward()
    assert str(info.value).startswith("detect_anomaly: Mul backward")
    assert x.grad is None and w.grad is None


def test_a_non_finite_seed_gradient_is_reported_as_coming_from_outside():
    x = kn.tensor([1.0, 2.0], requires_grad=True)
    with kn.detect_anomaly(), pytest.raises(NumericalError, match="outside the graph"):
        (x * 2).backward(np.array([np.nan, 1.0], np.float32))


def test_an_exception_in_backward_gets_the_creation_site_as_a_note():
    class Broken(kn.Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            raise ZeroDivisionError("bug in my backward")

    x = kn.tensor([1.0], requires_grad=True)
    with kn.detect_anomaly():
        y = Broken.apply(x)  # BROKEN-HERE
        with pytest.raises(ZeroDivisionError) as info:
            y.sum().backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Broken backward" in notes and f"line {_line_of('# BROKEN-HERE')}" in notes


def test_context_restores_and_costs_nothing_when_off():
    assert not kn.is_anomaly_enabled()
    with kn.detect_anomaly():
        assert kn.is_anomaly_enabled()
        with kn.set_detect_anomaly(False):
            assert not kn.is_anomaly_enabled()
            y = kn.tensor([1.0], requires_grad=True) * 2
            assert not hasattr(y.grad_fn, "_anomaly_site")  # no stack capture when off
        assert kn.is_anomaly_enabled()
    assert not kn.is_anomaly_enabled()

    @kn.detect_anomaly()
    def f():
        return kn.is_anomaly_enabled()

    assert f() and not kn.is_anomaly_enabled()
    with pytest.raises(RuntimeError), kn.detect_anomaly():
        raise RuntimeError("the flag is reset even when the block raises")
    assert not kn.is_anomaly_enabled()


def test_gradients_are_unchanged_under_detect_anomaly():
    kn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    x = kn.randn(4, 5)
    y = np.array([0, 1, 2, 1])
    nn.functional.cross_entropy(model(x), y).backward()
    ref = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    with kn.detect_anomaly():
        nn.functional.cross_entropy(model(x), y).backward()
    for g, r in zip((p.grad for p in model.parameters()), ref, strict=True):
        np.testing.assert_array_equal(g, r)


# --- the Trainer's guard ---------------------------------------------------------------------


def test_trainer_guard_names_epoch_step_and_first_parameter_and_keeps_last_good_weights():
    kn.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 2, 32)
    X[21] = np.nan  # one bad sample: its batch's gradients are NaN
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = kn.optim.SGD(model.parameters(), lr=0.1)
    snapshots = []
    cb = kn.train.LambdaCallback(on_step_end=lambda t: snapshots.append(t.model.state_dict()))
    tr = kn.train.Trainer(model, "cross_entropy", opt, callbacks=[cb], progress=False, seed=0)
    with pytest.raises(NumericalError) as info:
        tr.fit((X, y), epochs=3, batch_size=8)
    msg = str(info.value)
    step = tr.global_step  # steps completed before the bad one
    assert f"epoch 1, step {step + 1}" in msg
    assert "parameter '0.weight'" in msg  # the first parameter (model order) with a NaN gradient
    assert "before the update" in msg
    last_good = snapshots[-1] if snapshots else None
    for k, v in model.state_dict().items():
        assert np.isfinite(v).all()
        if last_good is not None:
            np.testing.assert_array_equal(v, last_good[k])
