"""Every op's gradient against central finite differences (kn.gradcheck, float64)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kisonet as kn

FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def leaf(rng, *shape, low=None, high=None):
    data = rng.uniform(low, high, size=shape) if low is not None else rng.standard_normal(shape)
    return kn.tensor(data, requires_grad=True)


# --- elementwise arithmetic and broadcasting ----------------------------------------


@pytest.mark.parametrize(
    "sa, sb",
    [((3, 1), (1, 4)), ((5, 4), (4,)), ((2, 3), (2, 3)), ((), (3,)), ((4, 1, 3), (2, 1))],
)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_binary_ops_broadcast(rng, op, sa, sb):
    a = leaf(rng, *sa)
    b = leaf(rng, *sb, low=0.5, high=2.0) if op == "div" else leaf(rng, *sb)
    out = getattr(kn, op)(a, b)
    assert out.shape == np.broadcast_shapes(sa, sb)
    assert kn.gradcheck(getattr(kn, op), a, b)


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b])
def test_operators_match_functions(rng, op):
    a, b = leaf(rng, 3, 4), leaf(rng, 4, low=0.5, high=2.0)
    assert kn.gradcheck(op, a, b)


def test_neg_and_pos(rng):
    x = leaf(rng, 3, 2)
    np.testing.assert_array_equal((-x).data, -x.data)
    assert (+x) is x
    assert kn.gradcheck(lambda x: -x, x)
    assert kn.gradcheck(kn.neg, x)


@given(
    shapes=st.integers(1, 3).flatmap(
        lambda nd: st.tuples(
            st.lists(st.integers(1, 3), min_size=nd, max_size=nd),
            st.lists(st.booleans(), min_size=nd, max_size=nd),
            st.lists(st.booleans(), min_size=nd, max_size=nd),
            st.integers(0, nd),
        )
    ),
    op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]),
)
@FEW
def test_binary_ops_random_broadcastable_shapes(shapes, op):
    dims, ones_a, ones_b, drop = shapes
    sa = tuple(1 if o else d for d, o in zip(dims, ones_a, strict=True))
    sb = tuple(1 if o else d for d, o in zip(dims, ones_b, strict=True))[drop:]
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a = leaf(rng, *sa)
    b = leaf(rng, *sb, low=0.5, high=2.0)
    out = getattr(kn, op)(a, b)
    assert out.shape == np.broadcast_shapes(sa, sb)
    assert kn.gradcheck(getattr(kn, op), a, b)


def test_pow_scalar_exponents(rng):
    x = leaf(rng, 3, 4, low=0.5, high=2.0)
    for c in (2, 3, 0.5, -1.5, 1, 0):
        assert kn.gradcheck(lambda x, c=c: x**c, x)
    z = kn.tensor([0.0, 1.0, -2.0], requires_grad=True)
    (z**0).sum().backward()  # x^0 is constant: zero gradient, no 0 * inf = nan at x = 0
    np.testing.assert_array_equal(z.grad, [0.0, 0.0, 0.0])


def test_pow_tensor_exponent(rng):
    a = leaf(rng, 3, 4, low=0.5, high=2.0)
    b = leaf(rng, 4)
    assert kn.gradcheck(lambda a, b: a**b, a, b)
    assert kn.gradcheck(lambda b: 2.0**b, b)  # reflected: scalar base, tensor exponent
    assert kn.gradcheck(kn.pow, a, b)


def test_pow_zero_base_gradients_finite():
    a = kn.tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = kn.tensor([2.0, 1.0, 3.0], requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(a.grad, [0.0, 1.0, 12.0])
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 8 * np.log(2)], rtol=1e-6)


# --- matmul ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((4,), (4,)),  # 1-D . 1-D -> scalar
        ((4,), (4, 3)),  # vector @ matrix
        ((3, 4), (4,)),  # matrix @ vector
        ((3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),  # batched
        ((2, 3, 4), (4, 5)),  # broadcast batch
        ((3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),  # batch (2,1) with (5,)
        ((4,), (2, 4, 3)),
        ((2, 3, 4), (4,)),
    ],
)
def test_matmul_shapes(rng, sa, sb):
    a, b = leaf(rng, *sa), leaf(rng, *sb)
    out = a @ b
    np.testing.assert_allclose(out.data, np.matmul(a.data, b.data), rtol=1e-5, atol=1e-6)
    assert kn.gradcheck(lambda a, b: a @ b, a, b)


def test_matmul_with_constant_operand(rng):
    a = leaf(rng, 3, 4)
    w = rng.standard_normal((4, 2))
    out = w.T @ a.T  # ndarray @ Tensor goes to Tensor.__rmatmul__
    assert isinstance(out, kn.Tensor)
    assert kn.gradcheck(lambda a: kn.matmul(a, w), a)


def test_matmul_shape_errors(rng):
    a, b = kn.tensor(rng.standard_normal((3, 4))), kn.tensor(rng.standard_normal((5, 2)))
    with pytest.raises(kn.ShapeError, match=r"matmul.*\(3, 4\).*\(5, 2\)"):
        a @ b
    with pytest.raises(kn.ShapeError, match="batch"):
        kn.tensor(np.ones((2, 3, 4))) @ kn.tensor(np.ones((3, 4, 5)))
    with pytest.raises(kn.ShapeError, match="0-d"):
        kn.matmul(kn.tensor(2.0), a)


# --- elementwise functions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, low, high",
    [
        ("exp", -2, 2),
        ("log", 0.2, 3),
        ("sqrt", 0.2, 3),
        ("abs", -2, 2),
        ("tanh", -3, 3),
        ("sigmoid", -5, 5),
        ("relu", -2, 2),
    ],
)
def test_unary_functions_and_methods(rng, name, low, high):
    x = leaf(rng, 4, 5, low=low, high=high)
    # keep finite differences away from the kinks of abs and relu
    x.data[np.abs(x.data) < 1e-3] = 0.1
    fn, method = getattr(kn, name), getattr(kn.Tensor, name)
    np.testing.assert_array_equal(fn(x).data, method(x).data)
    assert fn(x).dtype == np.float32
    assert kn.gradcheck(fn, x)


def test_unary_values_against_numpy(rng):
    x = kn.tensor(rng.uniform(0.1, 3, size=(6,)))
    d = x.data
    np.testing.assert_allclose(kn.exp(x).data, np.exp(d), rtol=1e-6)
    np.testing.assert_allclose(kn.log(x).data, np.log(d), rtol=1e-6)
    np.testing.assert_allclose(kn.sqrt(x).data, np.sqrt(d), rtol=1e-6)
    np.testing.assert_allclose(kn.sigmoid(-x).data, 1 / (1 + np.exp(d)), rtol=1e-6)
    np.testing.assert_allclose(kn.relu(x - 1).data, np.maximum(d - 1, 0))


def test_sigmoid_is_stable_at_extremes():
    x = kn.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = kn.sigmoid(x)
    np.testing.assert_allclose(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    assert np.isfinite(x.grad).all()


def test_relu_and_abs_gradient_at_zero():
    x = kn.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (kn.relu(x) + kn.abs(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 2.0])  # relu'(0) = abs'(0) = 0, as in PyTorch


def test_maximum_minimum_ties_split_gradient():
    a = kn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = kn.tensor([1.0, 5.0, 0.0], requires_grad=True)
    kn.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])
    a.grad = b.grad = None
    a.minimum(b).sum().backward()  # method spelling
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])


def test_maximum_with_scalar(rng):
    x = leaf(rng, 3, 4)
    x.data[np.abs(x.data) < 1e-3] = 0.5
    assert kn.gradcheck(lambda x: kn.maximum(x, 0.0), x)
    np.testing.assert_array_equal(x.maximum(0.0).data, kn.relu(x).data)


def test_where(rng):
    a, b = leaf(rng, 3, 4), leaf(rng, 4)
    cond = rng.standard_normal((3, 4)) > 0
    out = kn.where(cond, a, b)
    np.testing.assert_array_equal(out.data, np.where(cond, a.data, b.data))
    assert kn.gradcheck(lambda a, b: kn.where(cond, a, b), a, b)
    assert kn.gradcheck(lambda a, b: a.where(kn.tensor(cond), b), a, b)  # tensor condition, method
    assert kn.gradcheck(lambda a: kn.where(a > 0, a, 0.0), a)
    with pytest.raises(kn.ShapeError, match="where"):
        kn.where(np.ones((2, 2), bool), a, b)


def test_clip_including_boundary_ties(rng):
    x = leaf(rng, 4, 5)
    x.data[np.abs(np.abs(x.data) - 0.5) < 1e-3] = 0.0
    assert kn.gradcheck(lambda x: kn.clip(x, -0.5, 0.5), x)
    assert kn.gradcheck(lambda x: x.clip(a_min=0.0), x)
    assert kn.gradcheck(lambda x: x.clip(None, 0.2), x)
    t = kn.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], requires_grad=True)
    t.clip(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(t.grad, [0, 1, 1, 1, 0])  # at the bounds the gradient passes (PyTorch)
    with pytest.raises(kn.KisonetValueError, match="clip"):
        kn.clip(t)


# --- reductions ------------------------------------------------------------------------------


REDUCTIONS = ["sum", "mean", "max", "min", "var", "std"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_each_axis(rng, name, axis, keepdims):
    x = leaf(rng, 2, 3, 4)
    out = getattr(kn, name)(x, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(x.data, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    assert kn.gradcheck(lambda x: getattr(kn, name)(x, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_methods_dim_alias_and_full_reduction(rng, name):
    x = leaf(rng, 3, 4)
    full = getattr(x, name)()
    assert isinstance(full, kn.Tensor) and full.shape == ()
    np.testing.assert_array_equal(getattr(x, name)(dim=1).data, getattr(kn, name)(x, axis=1).data)
    np.testing.assert_array_equal(getattr(x, name)(axis=0, keepdims=True).data, getattr(kn, name)(x, 0, True).data)
    assert kn.gradcheck(lambda x: getattr(x, name)(dim=(0, 1)), x)
    with pytest.raises(kn.KisonetValueError, match="not both"):
        getattr(kn, name)(x, axis=0, dim=0)
    with pytest.raises(kn.KisonetValueError, match="out of range"):
        getattr(x, name)(axis=2)


@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    data=st.data(),
    name=st.sampled_from(REDUCTIONS),
    keepdims=st.booleans(),
)
@FEW
def test_reductions_random_axes(shape, data, name, keepdims):
    nd = len(shape)
    axes = data.draw(st.lists(st.integers(-nd, nd - 1), unique_by=lambda a: a % nd, max_size=nd))
    axis = tuple(axes) if len(axes) != 1 else axes[0]
    x = kn.tensor(np.random.default_rng(nd).standard_normal(shape), requires_grad=True)
    if name in ("var", "std") and np.prod([shape[a] for a in axes]) == 1:
        return  # the variance of one element has no useful gradient (std's is infinite)
    out = getattr(kn, name)(x, axis=axis, keepdims=keepdims)
    assert out.shape == getattr(np, name)(x.data, axis=axis, keepdims=keepdims).shape
    assert kn.gradcheck(lambda x: getattr(kn, name)(x, axis=axis, keepdims=keepdims), x)


def test_max_min_ties_split_like_amax():
    x = kn.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    x.grad = None
    x.min().backward()
    np.testing.assert_allclose(x.grad, [[1, 0, 0], [0, 0, 0]])


def test_var_std_ddof(rng):
    x = leaf(rng, 4, 5)
    np.testing.assert_allclose(x.var(axis=0, ddof=1).data, np.var(x.data, axis=0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(kn.std(x, 1, ddof=1).data, np.std(x.data, axis=1, ddof=1), rtol=1e-5)
    assert kn.gradcheck(lambda x: x.std(axis=1, ddof=1), x)
    with pytest.raises(kn.KisonetValueError, match="ddof"):
        kn.tensor([1.0]).var(ddof=1)


def test_integer_mean_stays_default_float():
    assert kn.tensor([1, 2, 4]).mean().dtype == np.float32
    assert kn.tensor([1, 2, 4]).var().dtype == np.float32


def test_max_of_empty_raises():
    with pytest.raises(kn.KisonetValueError, match="empty"):
        kn.tensor(np.zeros((0, 3))).max()


# --- shape ops and indexing ------------------------------------------------------------------


def test_reshape_spellings(rng):
    x = leaf(rng, 3, 4)
    assert x.reshape(4, 3).shape == (4, 3)
    assert x.reshape((2, 6)).shape == (2, 6)
    assert x.reshape([-1]).shape == (12,)
    assert x.reshape(-1, 2).shape == (6, 2)
    assert kn.reshape(x, 12).shape == (12,)
    assert x.flatten().shape == (12,)
    assert kn.gradcheck(lambda x: x.reshape(2, 6) * kn.tensor(np.arange(12.0).reshape(2, 6)), x)
    with pytest.raises(kn.ShapeError, match=r"reshape.*\(3, 4\).*\(5, 2\)"):
        x.reshape(5, 2)


def test_transpose_permute_T(rng):
    x = leaf(rng, 2, 3, 4)
    assert x.T.shape == (4, 3, 2)
    assert x.transpose().shape == (4, 3, 2)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert kn.permute(x, (0, 2, 1)).shape == (2, 4, 3)
    assert x.swapaxes(0, -1).shape == (4, 3, 2)
    w = kn.tensor(rng.standard_normal((4, 2, 3)))
    assert kn.gradcheck(lambda x: x.permute(2, 0, 1) * w, x)
    assert kn.gradcheck(lambda x: x.transpose(-1, 0, 1) * w, x)  # negative axes
    assert kn.gradcheck(lambda x: x.T, x)
    assert kn.gradcheck(lambda x: kn.swapaxes(x, 0, 1), x)
    with pytest.raises(kn.ShapeError, match="permutation"):
        x.transpose(0, 0, 1)


def test_squeeze_expand_dims_unsqueeze_broadcast_to(rng):
    x = leaf(rng, 3, 1, 4)
    assert x.squeeze().shape == (3, 4)
    assert x.squeeze(1).shape == (3, 4)
    assert kn.expand_dims(x, 0).shape == (1, 3, 1, 4)
    assert x.expand_dims((0, -1)).shape == (1, 3, 1, 4, 1)
    assert x.unsqueeze(2).shape == (3, 1, 1, 4)
    assert kn.gradcheck(lambda x: x.squeeze(1), x)
    assert kn.gradcheck(lambda x: kn.expand_dims(x, -1), x)
    assert kn.gradcheck(lambda x: kn.broadcast_to(x, (2, 3, 5, 4)), x)
    with pytest.raises(kn.ShapeError, match="squeeze"):
        x.squeeze(0)
    with pytest.raises(kn.ShapeError, match="broadcast_to"):
        x.broadcast_to((3, 2, 5))


@pytest.mark.parametrize(
    "index",
    [
        (slice(1, None), slice(None, None, -2)),
        (1,),
        (Ellipsis, 2),
        (None, slice(0, 2)),
        (np.array([0, 2, 0, 0]),),  # repeated rows accumulate
        (np.array([0, 1, 1]), np.array([3, 2, 2])),  # repeated (row, col) pairs
        (slice(None), [1, 1, 3]),  # list inside a tuple: fancy on axis 1
        (np.array([[0, 1], [1, 1]]),),
    ],
    ids=["slices", "int", "ellipsis", "newaxis", "rows", "pairs", "list", "2d-index"],
)
def test_getitem_gradients(rng, index):
    x = leaf(rng, 3, 4)
    index = index[0] if len(index) == 1 else index
    np.testing.assert_array_equal(x[index].data, x.data[index])
    assert kn.gradcheck(lambda x: x[index], x)


def test_fancy_index_repeated_indices_accumulate():
    x = kn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    x.grad = None
    idx = kn.tensor([2, 2])  # an integer tensor as index
    (x[idx] * kn.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 11.0])


def test_boolean_mask(rng):
    x = leaf(rng, 3, 4)
    mask = x.data > 0
    np.testing.assert_array_equal(x[mask].data, x.data[mask])
    assert kn.gradcheck(lambda x: x[mask], x)
    assert kn.gradcheck(lambda x: x[kn.tensor(mask)], x)
    assert kn.gradcheck(lambda x: x[x.data[:, 0] > 0], x)  # row mask
    y = x[x > 0]  # comparison tensor as mask
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, mask.astype(np.float32))


def test_getitem_out_of_range_raises_kisonet_error(rng):
    x = kn.tensor(rng.standard_normal((3,)))
    with pytest.raises(kn.KisonetValueError, match=r"getitem.*\(3,\)"):
        x[5]


def test_iteration_yields_rows():
    x = kn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and rows[1].shape == (2,)
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2], [1, 1]])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(rng, axis):
    a, b, c = leaf(rng, 2, 3), leaf(rng, 2, 3), leaf(rng, 2, 3)
    out = kn.concatenate([a, b, c], axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data, c.data], axis=axis))
    assert kn.gradcheck(lambda a, b, c: kn.concatenate([a, b, c], axis=axis), a, b, c)


def test_concatenate_uneven_and_constant(rng):
    a, b = leaf(rng, 2, 3), leaf(rng, 5, 3)
    const = np.ones((1, 3))
    assert kn.concatenate([a, const, b]).shape == (8, 3)
    assert kn.gradcheck(lambda a, b: kn.concatenate([a, const, b], axis=0), a, b)
    with pytest.raises(kn.ShapeError, match=r"concatenate.*\(2, 3\).*\(2, 4\)"):
        kn.concatenate([a, kn.tensor(np.ones((2, 4)))], axis=0)
    with pytest.raises(kn.KisonetValueError, match="at least one"):
        kn.concatenate([])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(rng, axis):
    a, b = leaf(rng, 2, 3), leaf(rng, 2, 3)
    out = kn.stack([a, b], axis=axis)
    np.testing.assert_array_equal(out.data, np.stack([a.data, b.data], axis=axis))
    assert kn.gradcheck(lambda a, b: kn.stack([a, b], axis=axis), a, b)


def test_stack_errors(rng):
    with pytest.raises(kn.ShapeError, match=r"stack: shapes \[\(2,\), \(3,\)\]"):
        kn.stack([kn.tensor(np.ones(2)), kn.tensor(np.ones(3))])
    with pytest.raises(kn.ShapeError, match="axis 3"):
        kn.stack([kn.tensor(np.ones(2)), kn.tensor(np.ones(2))], axis=3)
    with pytest.raises(kn.KisonetValueError, match="at least one"):
        kn.stack([])


@pytest.mark.parametrize("pad_width", [1, ((1, 2), (0, 3)), ((2, 0), (1, 1))])
def test_pad(rng, pad_width):
    x = leaf(rng, 2, 3)
    out = kn.pad(x, pad_width, value=0.5)
    np.testing.assert_array_equal(out.data, np.pad(x.data, pad_width, constant_values=0.5))
    assert kn.gradcheck(lambda x: kn.pad(x, pad_width), x)


def test_pad_errors(rng):
    x = kn.tensor(np.ones((2, 3)))
    with pytest.raises(kn.KisonetValueError, match="negative"):
        kn.pad(x, -1)
    with pytest.raises(kn.ShapeError, match="pad"):
        kn.pad(x, ((1, 1), (1, 1), (1, 1)))


def test_astype_between_floats(rng):
    x = leaf(rng, 3)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2, 2, 2])


# --- composites -------------------------------------------------------------------------------


def test_shared_subexpression(rng):
    x = leaf(rng, 5)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1, rtol=1e-6)
    assert kn.gradcheck(lambda x: x * x + x, x)


def test_diamond_graph_reaches_each_node_once(rng):
    x = leaf(rng, 4)

    def f(x):
        y = x.exp()  # one node feeding three consumers
        return y * y + y.tanh()

    assert kn.gradcheck(f, x)
    f(x).sum().backward()
    e = np.exp(x.data)
    np.testing.assert_allclose(x.grad, (2 * e + 1 - np.tanh(e) ** 2) * e, rtol=1e-5)


def test_composite_expression(rng):
    x, w, b = leaf(rng, 4, 3), leaf(rng, 3, 2), leaf(rng, 2)

    def f(x, w, b):
        h = kn.tanh(x @ w + b)
        return (kn.sigmoid(h) * h).mean(axis=0) + h.max(axis=1).sum() / kn.sqrt(h.var() + 1.0)

    assert kn.gradcheck(f, x, w, b)
