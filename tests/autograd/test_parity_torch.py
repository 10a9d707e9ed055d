"""Parity with PyTorch autograd: values and every input gradient of random composite expressions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kisonet as kn


def expression(lib, x, w, b, v, idx, mask):
    """A composite of broadcasting, matmul, elementwise functions, reductions and indexing.

    ``lib`` is ``kn`` or a small adapter over ``torch`` so the same code runs on both.
    """
    h = lib.matmul(x, w) + b  # (B, 4, 5) @ (5, 3) + (3,): batched matmul, broadcast add
    h = lib.tanh(h) * lib.sigmoid(h[..., [2, 0, 1]]) + lib.relu(h) ** 2
    s = lib.sum(h, axis=1)  # (B, 3)
    m = lib.max(h, axis=(0, 2), keepdims=True)  # ties unlikely with random data
    g = s[idx] * v  # fancy indexing with a repeated index, (k, 3) * (3,)
    masked = lib.where(mask, h, lib.exp(-h))
    cat = lib.concatenate([g, lib.reshape(lib.mean(masked, axis=(0, 1)), (1, 3))], axis=0)
    q = lib.sqrt(lib.abs(cat) + 1.0) / (1.0 + lib.var(h, axis=-1).mean())
    stacked = lib.stack([q, lib.minimum(q, 0.7), lib.maximum(lib.clip(q, 0.9, 1.3), 1.0)], axis=0)
    p = lib.pad(stacked, ((0, 0), (1, 0), (0, 2)))
    return lib.log(p + 1.5).sum() + (lib.transpose(m, (2, 1, 0)) * 0.5).sum() + lib.std(s, axis=0).sum()


class TorchLib:
    """The few spellings where torch differs from NumPy/kisonet."""

    def __init__(self, torch):
        self.t = torch

    def __getattr__(self, name):
        return getattr(self.t, name)

    def sum(self, x, axis=None):
        return x.sum() if axis is None else x.sum(dim=axis)

    def mean(self, x, axis):
        return x.mean(dim=axis)

    def max(self, x, axis, keepdims=False):
        return x.amax(dim=axis, keepdim=keepdims)

    def var(self, x, axis):
        return x.var(dim=axis, unbiased=False)

    def std(self, x, axis):
        return x.std(dim=axis, unbiased=False)

    def concatenate(self, xs, axis):
        return self.t.cat(xs, dim=axis)

    def stack(self, xs, axis):
        return self.t.stack(xs, dim=axis)

    def transpose(self, x, axes):
        return x.permute(*axes)

    def clip(self, x, lo, hi):
        return self.t.clamp(x, lo, hi)

    def where(self, c, a, b):
        return self.t.where(self.t.as_tensor(c), a, b)

    def minimum(self, a, b):
        return self.t.minimum(a, self.t.as_tensor(b, dtype=a.dtype))

    def maximum(self, a, b):
        return self.t.maximum(a, self.t.as_tensor(b, dtype=a.dtype))

    def pad(self, x, width):
        flat = [int(v) for pair in reversed(width) for v in pair]  # torch pads the last axis first
        return self.t.nn.functional.pad(x, flat)


def run_both(torch, arrays, dtype):
    idx = np.array([2, 0, 2, 1])
    mask = np.random.default_rng(1).standard_normal((3, 4, 3)) > 0
    kn_in = [kn.tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    kn_out = expression(kn, *kn_in, idx, mask)
    kn_out.backward()
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    th_in = [torch.tensor(a, dtype=tdt, requires_grad=True) for a in arrays]
    th_out = expression(TorchLib(torch), *th_in, torch.as_tensor(idx), mask)
    th_out.backward()
    return kn_out, kn_in, th_out, th_in


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_random_expression_matches_torch(torch, rng, dtype, rtol):
    arrays = [
        rng.standard_normal((3, 4, 5)),
        rng.standard_normal((5, 3)) * 0.5,
        rng.standard_normal(3),
        rng.standard_normal(3),
    ]
    kn_out, kn_in, th_out, th_in = run_both(torch, arrays, dtype)
    assert kn_out.dtype == dtype
    np.testing.assert_allclose(kn_out.item(), th_out.item(), rtol=rtol)
    for name, k, t in zip("xwbv", kn_in, th_in, strict=True):
        assert k.grad.dtype == dtype, name
        np.testing.assert_allclose(
            k.grad,
            t.grad.numpy(),
            rtol=rtol,
            atol=rtol * 1e-2 * np.abs(t.grad.numpy()).max(),
            err_msg=f"gradient of {name}",
        )


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5)),
    "maximum": (lambda a, b: kn.maximum(a, b), None),
    "pow": (lambda a, b: (a * a + 0.5) ** b, lambda a, b: (a * a + 0.5) ** b),
}


@given(
    nd=st.integers(1, 4),
    data=st.data(),
    op=st.sampled_from(sorted(BINARY)),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_binary_broadcasting_matches_torch(torch, nd, data, op):
    dims = data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    sa = tuple(d if data.draw(st.booleans()) else 1 for d in dims)
    sb = tuple(d if data.draw(st.booleans()) else 1 for d in dims)[data.draw(st.integers(0, nd)) :]
    rng = np.random.default_rng(nd)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    kfn, tfn = BINARY[op]
    tfn = tfn or (lambda a, b: torch.maximum(a, b))
    ka, kb = kn.tensor(a, requires_grad=True, dtype=np.float64), kn.tensor(b, requires_grad=True, dtype=np.float64)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ky, ty = kfn(ka, kb), tfn(ta, tb)
    assert ky.shape == tuple(ty.shape)
    gy = rng.standard_normal(ky.shape)
    ky.backward(gy)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ky.data, ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ka.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kb.grad, tb.grad.numpy(), rtol=1e-10, atol=1e-12)
