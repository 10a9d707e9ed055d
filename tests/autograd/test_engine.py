"""The engine: tensor creation rules, backward, graph freeing, in-place detection, grad mode."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn

# --- kn.tensor and dtypes ----------------------------------------------------------------


def test_float_data_becomes_float32_whatever_its_width():
    assert kn.tensor(np.ones(3, dtype=np.float64)).dtype == np.float32
    assert kn.tensor(np.ones(3, dtype=np.float16)).dtype == np.float32
    assert kn.tensor([1.0, 2.0]).dtype == np.float32
    assert kn.tensor(3.5).dtype == np.float32 and kn.tensor(3.5).shape == ()


def test_dtype_argument_is_honoured():
    assert kn.tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert kn.tensor([1, 2], dtype="float32").dtype == np.float32
    assert kn.tensor([1.5, 2.5], dtype=np.int32).dtype == np.int32
    with pytest.raises(kn.KisonetTypeError, match="not a dtype"):
        kn.tensor([1.0], dtype="nonsense")
    with pytest.raises(kn.KisonetTypeError, match="not numeric"):
        kn.tensor([1.0], dtype=object)


def test_set_default_dtype_float64():
    kn.set_default_dtype(np.float64)
    x = kn.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert x.dtype == np.float64
    assert kn.randn(2, 3).dtype == np.float64
    assert kn.zeros((2,)).dtype == np.float64
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float64
    with pytest.raises(kn.KisonetValueError, match="float32 or float64"):
        kn.set_default_dtype(np.int32)
    assert kn.get_default_dtype() == np.float64


def test_integer_and_bool_tensors_are_data_only():
    t = kn.tensor([1, 2, 3])
    assert t.dtype == np.int64
    assert kn.tensor([True, False]).dtype == np.bool_
    with pytest.raises(kn.KisonetTypeError, match="floating"):
        kn.tensor([1, 2], requires_grad=True)
    with pytest.raises(kn.KisonetTypeError, match="floating"):
        t.requires_grad_()


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([1, None], dtype=object), "text", [[1, 2], [3]]])
def test_object_and_string_data_refused(bad):
    with pytest.raises(kn.KisonetTypeError, match="tensor"):
        kn.tensor(bad)


def test_ops_keep_float32(rng):
    x = kn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    c64 = rng.standard_normal((3, 4))  # float64 constant must not upcast the result
    outs = [x + c64, c64 * x, x / 2.0, 2 - x, x**2, x @ c64.T, kn.where(x > 0, x, 0.0), x.mean(), x.std()]
    for out in outs:
        assert out.dtype == np.float32, out
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.float32


def test_attributes_and_conversions(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    x = kn.tensor(a)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2)
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(np.asarray(x), a)
    assert np.asarray(x) is x.data and not np.shares_memory(np.array(x), x.data)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert kn.tensor([[4.0]]).item() == 4.0
    assert float(kn.tensor(2.5)) == 2.5 and int(kn.tensor(7)) == 7
    with pytest.raises(kn.KisonetValueError, match="6 elements"):
        x.item()
    with pytest.raises(kn.KisonetValueError, match="ambiguous"):
        bool(x)
    assert "requires_grad=True" in repr(kn.tensor([1.0], requires_grad=True))
    assert "grad_fn=<Mul>" in repr(kn.tensor([1.0], requires_grad=True) * 2)


def test_reflected_operators_return_tensors(rng):
    x = kn.tensor([1.0, 2.0, 4.0], requires_grad=True)
    arr = np.array([1.0, 1.0, 1.0])
    for out, expected in [
        (2 - x, [1.0, 0.0, -2.0]),
        (1 / x, [1.0, 0.5, 0.25]),
        (arr + x, [2.0, 3.0, 5.0]),
        (arr * x, [1.0, 2.0, 4.0]),
        (arr - x, [0.0, -1.0, -3.0]),
        (arr / x, [1.0, 0.5, 0.25]),
        (2**x, [2.0, 4.0, 16.0]),
        (3 * x, [3.0, 6.0, 12.0]),
    ]:
        assert isinstance(out, kn.Tensor), type(out)
        np.testing.assert_allclose(out.data, expected)
    assert kn.gradcheck(lambda x: 2 - x, x)
    assert kn.gradcheck(lambda x: 1 / x, x)
    assert kn.gradcheck(lambda x: arr + x, x)
    assert kn.gradcheck(lambda x: arr / x, x)


def test_comparisons_are_non_differentiable_bool_tensors(rng):
    x = kn.tensor(rng.standard_normal(5), requires_grad=True)
    y = kn.tensor(rng.standard_normal(5), requires_grad=True)
    for c in (x < y, x <= 0, x > y, x >= 0.1, x == y, x != y, 0 < x):
        assert isinstance(c, kn.Tensor)
        assert c.dtype == np.bool_ and not c.requires_grad and c.grad_fn is None
    np.testing.assert_array_equal((x > y).data, x.data > y.data)
    with pytest.raises(kn.KisonetValueError, match=r"\(5,\).*\(3,\)"):
        _ = x < kn.tensor(np.ones(3))


def test_full_reductions_are_0d(rng):
    x = kn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    for r in (x.sum(), x.mean(), x.max(), x.min(), x.var(), x.std(), kn.sum(x), (x @ x.T).sum()):
        assert isinstance(r, kn.Tensor) and r.shape == () and r.ndim == 0
        assert isinstance(r.data, np.ndarray)


def test_shape_mismatch_errors_name_op_and_shapes():
    a, b = kn.tensor(np.ones((3, 4))), kn.tensor(np.ones((2, 5)))
    for op, name in [
        (kn.add, "add"),
        (kn.sub, "sub"),
        (kn.mul, "mul"),
        (kn.div, "div"),
        (kn.maximum, "maximum"),
        (kn.minimum, "minimum"),
        (kn.pow, "pow"),
    ]:
        with pytest.raises(ValueError, match=rf"{name}: shapes \(3, 4\) and \(2, 5\)") as info:
            op(a, b)
        assert isinstance(info.value, kn.ShapeError)
    with pytest.raises(kn.ShapeError, match="add"):
        a + np.ones(7)


# --- backward ----------------------------------------------------------------------------------


def test_backward_scalar_default_and_nonscalar_needs_grad(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    y = x * 3
    with pytest.raises(kn.GraphError, match=r"shape \(3,\).*grad="):
        y.backward()
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad, [3.0, 6.0, 9.0])
    with pytest.raises(kn.KisonetValueError, match=r"grad has shape \(2,\)"):
        (x * 3).backward(np.ones(2))
    (x * 1).sum(keepdims=True).backward()  # a one-element output of shape (1,) implies 1 too
    np.testing.assert_allclose(x.grad, [4.0, 7.0, 10.0])


def test_backward_without_requires_grad_is_clear():
    with pytest.raises(kn.GraphError, match="does not require grad"):
        (kn.tensor([1.0]) * 2).sum().backward()


def test_grad_accumulates_until_zeroed(rng):
    x = kn.tensor(rng.standard_normal(4), requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(4, 5.0))
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(4, 3.0))


def test_grad_of_broadcast_leaf_is_own_array():
    # d(sum)/dx is a broadcast view internally; .grad must be a writable array of x's shape
    x = kn.tensor(np.ones((2, 3)), requires_grad=True)
    x.sum().backward()
    assert x.grad.flags.writeable and x.grad.flags.owndata
    x.grad[0, 0] = 5.0
    assert x.grad[1, 1] == 1.0


def test_retain_graph_and_freed_graph_error(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    g1 = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * g1, rtol=1e-6)
    with pytest.raises(kn.GraphError, match=r"retain_graph=True"):
        loss.backward()


def test_graph_nodes_are_freed_after_backward(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    y = x.exp()
    y.sum().backward()
    assert y.grad_fn.inputs is None and not hasattr(y.grad_fn, "y")  # saved arrays released


def test_ten_thousand_op_chain_no_recursion_error():
    x = kn.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**10_000], rtol=1e-3)


def test_shared_node_visited_once_with_summed_gradients():
    x = kn.tensor([2.0], requires_grad=True)
    y = x * x  # y is used by many consumers: each path's gradient is summed once
    z = y + y + y * y
    z.sum().backward()
    # z = 2x^2 + x^4 -> dz/dx = 4x + 4x^3 = 8 + 32
    np.testing.assert_allclose(x.grad, [40.0])


def test_retain_grad_and_hooks():
    x = kn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    remove = x.register_hook(lambda g: seen.append(g.copy()) or g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(seen[0], 6 * h.data)
    np.testing.assert_allclose(x.grad, 60 * h.data)
    remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])
    assert (x * 1).grad is None  # non-leaf without retain_grad keeps no .grad


def test_detach_cuts_the_graph(rng):
    x = kn.tensor(rng.standard_normal(3), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and np.shares_memory(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad, x.data)  # d acts as a constant


def test_needs_input_grad_skips_unneeded_gradients(rng):
    calls = []

    class Spy(kn.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            calls.append(self.needs_input_grad)
            return (gy if self.needs_input_grad[0] else None), (gy if self.needs_input_grad[1] else None)

    a = kn.tensor([1.0], requires_grad=True)
    b = kn.tensor([2.0])
    Spy.apply(a, b).sum().backward()
    assert calls == [(True, False)]
    assert b.grad is None


# --- in-place changes ---------------------------------------------------------------------------


def _needs_x(x, w):
    return (x * w).sum()  # Mul saves x for w's gradient


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.add_(1.0),
        lambda t: t.mul_(2.0),
        lambda t: t.copy_(np.zeros(3)),
        lambda t: t.__setitem__(0, 5.0),
        lambda t: t.zero_(),
        lambda t: t.fill_(1.0),
        lambda t: setattr(t, "data", np.zeros(3, np.float32)),
        lambda t: t.detach().add_(1.0),  # the detached tensor shares the version counter
        lambda t: t.reshape(3, 1).mul_(0.0),  # and so do views
        lambda t: t[1:].add_(1.0),
    ],
    ids=["add_", "mul_", "copy_", "setitem", "zero_", "fill_", "data=", "detach", "reshape-view", "slice-view"],
)
def test_inplace_on_saved_data_detected_at_backward(rng, mutate):
    x = kn.tensor(rng.standard_normal(3))
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    loss = _needs_x(x, w)
    mutate(x)
    with pytest.raises(kn.GraphError, match=r"Mul.*modified in place"):
        loss.backward()


def test_inplace_on_saved_output_detected(rng):
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    y = w.exp()  # Exp's backward reuses y
    loss = y.sum()
    with kn.no_grad():
        y.add_(1.0)
    with pytest.raises(kn.GraphError, match=r"Exp.*output"):
        loss.backward()


def test_inplace_on_unsaved_input_is_fine(rng):
    # add's gradient does not read its inputs: changing one afterwards is harmless (as in PyTorch)
    x = kn.tensor(rng.standard_normal(3))
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    loss = (x + w).sum()
    x.add_(1.0)
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.ones(3))


def test_copy_of_fancy_index_does_not_share_version(rng):
    x = kn.tensor(rng.standard_normal(3))
    w = kn.tensor(rng.standard_normal(3), requires_grad=True)
    loss = (x * w).sum()
    x[[0, 1]].add_(1.0)  # a copy: x itself is untouched
    loss.backward()
    np.testing.assert_allclose(w.grad, x.data)


def test_inplace_on_requires_grad_tensor_refused_under_grad_mode():
    w = kn.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.copy_([0.0, 0.0]), lambda: w.zero_()):
        with pytest.raises(kn.GraphError, match="in-place"):
            op()
    with pytest.raises(kn.GraphError, match="__setitem__"):
        w[0] = 3.0
    with kn.no_grad():  # an optimizer step
        w.add_(np.array([1.0, 1.0]), alpha=-0.5)
        w[1] = 7.0
    np.testing.assert_allclose(w.data, [0.5, 7.0])
    assert w._version == 2


# --- grad mode ------------------------------------------------------------------------------------


def test_no_grad_context_and_decorator():
    x = kn.tensor([1.0], requires_grad=True)
    with kn.no_grad():
        y = x * 2
        assert not kn.is_grad_enabled()
        with kn.enable_grad():
            assert (x * 2).requires_grad
    assert kn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @kn.no_grad()
    def infer(t):
        return t * 3

    z = infer(x)
    assert not z.requires_grad and kn.is_grad_enabled()
    with kn.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    with kn.set_grad_enabled(True):
        assert (x * 1).requires_grad


def test_no_grad_restored_after_exception():
    with pytest.raises(RuntimeError):
        with kn.no_grad():
            raise RuntimeError("boom")
    assert kn.is_grad_enabled()


def test_constructors_and_randomness():
    kn.manual_seed(3)
    a = kn.randn(2, 3)
    kn.manual_seed(3)
    b = kn.randn((2, 3))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and kn.rand(4).dtype == np.float32
    assert kn.ones((2,), requires_grad=True).requires_grad
    assert kn.arange(5).dtype == np.int64 and kn.arange(0.0, 1.0, 0.5).dtype == np.float32


def test_leaf_grads_never_alias(rng):
    # add's backward hands the same array to both inputs; each .grad must be its own
    a = kn.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = kn.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    c = kn.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    (a + b).backward(np.ones((3, 2)))
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, np.ones((3, 2)))
    user_grad = np.ones((3, 2), np.float32)
    c.backward(user_grad)  # a leaf's own backward: .grad must not be the caller's array
    user_grad[:] = 5.0
    np.testing.assert_array_equal(c.grad, np.ones((3, 2)))
    w = kn.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    loss = (a @ w).sum()
    loss.backward(retain_graph=True)
    g1 = w.grad
    w.grad = None
    loss.backward()
    assert not np.shares_memory(g1, w.grad)


def test_wrong_number_of_gradients_from_custom_function():
    class Bad(kn.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy  # one gradient for two inputs

    a = kn.tensor([1.0], requires_grad=True)
    with pytest.raises(kn.GraphError, match=r"Bad.backward returned 1 gradient\(s\) for 2 input"):
        Bad.apply(a, a).sum().backward()


def test_tensor_copies_but_as_tensor_shares():
    arr = np.ones(3, dtype=np.float32)
    t = kn.tensor(arr)
    arr[0] = 5.0
    assert t.data[0] == 1.0  # like torch.tensor: a copy
    shared = kn.as_tensor(arr)
    arr[1] = 7.0
    assert shared.data[1] == 7.0  # like torch.as_tensor: no copy when the dtype fits
    w = kn.tensor(arr, requires_grad=True)
    with kn.no_grad():
        w.add_(1.0)
    assert arr[2] == 1.0  # an optimizer step does not write into the user's array
    assert not np.shares_memory(kn.tensor(t).data, t.data)


def test_each_node_backward_runs_once_however_many_paths():
    calls = []

    class Double(kn.Function):
        saves_inputs = False

        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            calls.append(gy.copy())
            return 2 * gy

    x = kn.tensor([1.0, 3.0], requires_grad=True)
    y = Double.apply(x)
    z = y
    for _ in range(50):  # 50 paths from y to the output
        z = z + y
    z.sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [51.0, 51.0])  # summed over all paths first
    np.testing.assert_array_equal(x.grad, [102.0, 102.0])
