"""kisonet.backend: the array-module seam and the one-pass ``axpy`` the optimizers use."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

from kisonet import backend


def _reference(a, x, y):
    """y + a x in extended precision, then rounded once to y's dtype."""
    return (y.astype(np.longdouble) + np.longdouble(a) * x.astype(np.longdouble)).astype(y.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_axpy_updates_y_in_place(dtype, layout):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 23)).astype(dtype)
    y = np.array(rng.standard_normal((37, 23)), dtype=dtype, order=layout)
    expected = _reference(-0.01, x, y)
    out = backend.axpy(-0.01, x, y)
    assert out is y
    assert y.flags[f"{'C' if layout == 'C' else 'F'}_CONTIGUOUS"]
    # A fused multiply-add rounds once; an unfused kernel rounds a*x first, which under
    # cancellation can cost a few ulps of the (small) result.
    np.testing.assert_allclose(y, expected, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)


def test_axpy_result_does_not_depend_on_layouts():
    """A transposed gradient meets a C-ordered weight: the same numbers as C meets C."""
    rng = np.random.default_rng(1)
    g = rng.standard_normal((64, 48)).astype(np.float32)
    w0 = rng.standard_normal((64, 48)).astype(np.float32)
    ref = backend.axpy(-0.1, g, w0.copy())
    g_t = np.asfortranarray(g)  # the same values, column-major
    assert not g_t.flags.c_contiguous
    np.testing.assert_array_equal(backend.axpy(-0.1, g_t, w0.copy()), ref)
    w_f = np.asfortranarray(w0)
    np.testing.assert_array_equal(backend.axpy(-0.1, g, w_f), ref)


def test_axpy_falls_back_for_strided_or_mixed_inputs():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((10, 10)).astype(np.float32)
    y = base[::2, ::3]  # strided: not contiguous in any order
    x = np.ones(y.shape, np.float32)
    expected = y + 0.5 * x
    backend.axpy(0.5, x, y)
    np.testing.assert_allclose(base[::2, ::3], expected, rtol=1e-6)
    y64 = np.zeros(4)
    backend.axpy(2.0, np.ones(4, np.float32), y64)  # mixed dtypes
    np.testing.assert_array_equal(y64, [2.0] * 4)
    empty = np.zeros((0, 3), np.float32)
    assert backend.axpy(1.0, empty, empty) is empty


def test_axpy_keeps_scipy_blas_at_one_thread():
    """Even after something raised every BLAS library to 2 threads (threadpool_limits does,
    as kn.set_num_threads does), SciPy's BLAS is back at one thread after an axpy."""
    x = np.ones(100_000, np.float32)
    y = np.zeros(100_000, np.float32)
    backend.axpy(1.0, x, y)  # loads SciPy's BLAS
    with threadpool_limits(limits=2, user_api="blas"):
        backend.axpy(1.0, x, y)
        libs = ThreadpoolController().select(user_api="blas").lib_controllers
        scipy_blas = [c for c in libs if "scipy.libs" in c.filepath]
        assert scipy_blas, "SciPy's BLAS should be loaded by now"
        assert all(c.num_threads == 1 for c in scipy_blas)
    np.testing.assert_array_equal(y, np.full(100_000, 2.0, np.float32))
