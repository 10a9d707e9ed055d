"""kn.nn.utils gradient clipping against torch.nn.utils, and flat parameter vectors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.errors import KisonetValueError, NumericalError, ShapeError
from kisonet.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def _pair(torch, rng, scale=3.0):
    shapes = [(4, 3), (4,), (2, 5)]
    grads = [rng.standard_normal(s).astype(np.float32) * scale for s in shapes]
    kp = [kn.tensor(np.zeros(s), requires_grad=True) for s in shapes]
    tp = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, t, g in zip(kp, tp, grads, strict=False):
        p.grad = g.copy()
        t.grad = torch.tensor(g.copy())
    return kp, tp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_equals_torch(torch, rng, norm_type, max_norm):
    kp, tp = _pair(torch, rng)
    kp.append(kn.tensor([1.0], requires_grad=True))  # no grad: ignored
    total = clip_grad_norm_(kp, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert float(total) == pytest.approx(float(t_total), rel=1e-5)
    for p, t in zip(kp, tp, strict=False):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)
    if max_norm < 1:
        from kisonet.nn.utils import get_total_norm

        assert get_total_norm([p.grad for p in kp if p.grad is not None], norm_type) == pytest.approx(
            max_norm, rel=1e-4
        )


def test_clip_grad_value_equals_torch(torch, rng):
    kp, tp = _pair(torch, rng)
    clip_grad_value_(kp, 1.5)
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for p, t in zip(kp, tp, strict=False):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    assert max(np.abs(p.grad).max() for p in kp) == pytest.approx(1.5)


def test_clip_errors():
    p = kn.tensor([1.0], requires_grad=True)
    p.grad = np.array([np.inf], dtype=np.float32)
    with pytest.raises(NumericalError, match="inf"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(KisonetValueError, match="max_norm"):
        clip_grad_norm_([p], -1.0)
    with pytest.raises(KisonetValueError, match="clip_value"):
        clip_grad_value_([p], -1.0)


def test_parameters_vector_round_trip(rng):
    ps = [
        kn.tensor(rng.standard_normal((2, 3)), requires_grad=True),
        kn.tensor(rng.standard_normal(4), requires_grad=True),
    ]
    v = parameters_to_vector(ps)
    assert v.shape == (10,)
    arrays = [p.data for p in ps]
    vector_to_parameters(v * 2.0, ps)
    assert ps[0].data is arrays[0]
    np.testing.assert_allclose(np.concatenate([p.data.ravel() for p in ps]), 2 * v.data)
    with pytest.raises(ShapeError, match="10 elements"):
        vector_to_parameters(np.zeros(9), ps)
