"""The im2col column cache (nn.functional._workspace) and the thread-count getter conv2d uses."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812
from kisonet.nn.functional import _workspace


@pytest.fixture(autouse=True)
def _empty_cache():
    _workspace.clear()
    yield
    _workspace.clear()


def test_take_give_reuses_the_same_memory():
    a = _workspace.take((64, 4096), np.float32)  # 1 MiB: large enough to be cached
    _workspace.give(a.reshape(-1))  # a reshaped view hands back its base array
    b = _workspace.take((64, 4096), np.float32)
    assert b is a
    c = _workspace.take((64, 4096), np.float32)  # nothing idle any more: a new array
    assert c is not a


def test_cache_is_bounded_and_ignores_small_or_foreign_arrays(monkeypatch):
    monkeypatch.setattr(_workspace, "MAX_BYTES", 3 * 2**20)
    arrays = [np.empty(2**18, np.float32) for _ in range(5)]  # 1 MiB each
    for a in arrays:
        _workspace.give(a)
    assert _workspace._idle_bytes[0] <= 3 * 2**20
    assert _workspace.take((2**18,), np.float32) is arrays[2]  # the oldest were dropped
    small = np.empty(10, np.float32)
    _workspace.give(small)
    assert _workspace._idle_bytes[0] == 2 * 2**20  # the small one was not kept
    _workspace.give(np.empty((2**10, 2**9), np.float32)[:, ::2])  # not contiguous: refused
    assert _workspace._idle_bytes[0] == 2 * 2**20


def _conv_grads(x, w, b, gy, layout, retain=False, twice=False):
    x.grad = w.grad = b.grad = None
    y = F.conv2d(x, w, b, padding=1, layout=layout)
    y.backward(gy, retain_graph=retain)
    if twice:
        y.backward(gy)
    return y.numpy().copy(), x.grad.copy(), w.grad.copy(), b.grad.copy()


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
def test_conv2d_steps_reusing_columns_match_fresh_ones(rng, layout):
    # (32, 8, 16, 16) with a 3x3 kernel: 32*72*256 floats of columns, cached between steps
    x = kn.tensor(rng.standard_normal((32, 8, 16, 16)).astype(np.float32), requires_grad=True)
    w = kn.tensor(rng.standard_normal((12, 8, 3, 3)).astype(np.float32), requires_grad=True)
    b = kn.tensor(rng.standard_normal(12).astype(np.float32), requires_grad=True)
    gy = rng.standard_normal((32, 12, 16, 16)).astype(np.float32)
    first = _conv_grads(x, w, b, gy, layout)
    assert _workspace._idle_bytes[0] > 0  # backward handed the columns back
    # a different input in between dirties the cached arrays
    other = kn.tensor(rng.standard_normal((32, 8, 16, 16)).astype(np.float32), requires_grad=True)
    F.conv2d(other, w, b, padding=1, layout=layout).sum().backward()
    second = _conv_grads(x, w, b, gy, layout)
    for a, c in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
def test_conv2d_retain_graph_keeps_its_columns(rng, layout):
    x = kn.tensor(rng.standard_normal((16, 8, 16, 16)).astype(np.float32), requires_grad=True)
    w = kn.tensor(rng.standard_normal((12, 8, 3, 3)).astype(np.float32), requires_grad=True)
    b = kn.tensor(rng.standard_normal(12).astype(np.float32), requires_grad=True)
    gy = rng.standard_normal((16, 12, 16, 16)).astype(np.float32)
    once = _conv_grads(x, w, b, gy, layout)
    _, gx2, gw2, gb2 = _conv_grads(x, w, b, gy, layout, retain=True, twice=True)
    np.testing.assert_allclose(gw2, 2 * once[2], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gx2, 2 * once[1], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb2, 2 * once[3], rtol=1e-5, atol=1e-4)


def test_conv2d_float64_gradcheck_with_cache(rng):
    x = kn.tensor(rng.standard_normal((2, 3, 6, 6)), dtype=np.float64, requires_grad=True)
    w = kn.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=np.float64, requires_grad=True)
    for layout in ("nchw", "batch_last"):
        assert kn.gradcheck(lambda a, b, lay=layout: F.conv2d(a, b, padding=1, layout=lay), x, w)


def test_get_num_threads_sees_threadpoolctl_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not any(i.get("user_api") == "blas" for i in threadpoolctl.threadpool_info()):
        pytest.skip("no BLAS library reported by threadpoolctl")
    before = kn.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert kn.get_num_threads() == 1  # a limit set outside kisonet is seen at once
    assert kn.get_num_threads() == before


def test_conv2d_image_blocks_match_the_whole_batch(rng):
    # With 2 BLAS threads conv2d (NCHW) runs blocks of images in parallel threads, each with
    # single-threaded BLAS; with 1 thread it is one whole-batch pass: same numbers.
    from kisonet import threads

    x = kn.tensor(rng.standard_normal((9, 3, 10, 10)).astype(np.float32), requires_grad=True)
    w = kn.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = kn.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    gy = rng.standard_normal((9, 5, 10, 10)).astype(np.float32)
    results = []
    for n in (1, 2):
        with threads.blas_threads(n):
            assert kn.get_num_threads() == n
            results.append(_conv_grads(x, w, b, gy, "nchw"))
    for a, c in zip(*results, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
