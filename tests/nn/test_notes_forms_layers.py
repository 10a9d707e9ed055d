"""The notes' layer forms: dropout scaled by (1-p) at test time (E-cert DAY 2) and batch norm's
inference statistics as the average of the training batches' mean and biased variance (Keio
lecture 4), each beside PyTorch's default. See docs/notes-forms.md."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet.errors import KisonetValueError

# --- dropout ------------------------------------------------------------------------------


def test_test_time_dropout_training_is_a_plain_mask():
    x = kn.tensor(np.ones((200, 50), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, 0.3, training=True, scaling="test-time")
    vals = np.unique(y.data)
    np.testing.assert_array_equal(vals, [0.0, 1.0])  # survivors unscaled: h_j
    assert abs((y.data == 0).mean() - 0.3) < 0.02
    gy = np.full(y.shape, 2.0, dtype=np.float32)
    y.backward(gy)
    np.testing.assert_array_equal(x.grad, gy * y.data)  # dL/dx = gy * m, m in {0, 1}


def test_test_time_dropout_eval_scales_by_keep_probability():
    x = kn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = F.dropout(x, 0.25, training=False, scaling="test-time")
    np.testing.assert_allclose(y.data, 0.75 * x.data)  # (1 - p) h_j
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 0.75))


def test_both_forms_have_the_same_expectation():
    """E[train output] = test output in both forms (the point of either scaling)."""
    kn.manual_seed(1)
    x = kn.tensor(np.full((4000, 25), 2.0, dtype=np.float32))
    for scaling in ("inverted", "test-time"):
        train = F.dropout(x, 0.4, True, scaling).data.mean()
        test = F.dropout(x, 0.4, False, scaling).data.mean()
        assert train == pytest.approx(test, rel=0.02)


def test_inverted_default_unchanged_and_equals_torch_scaling(torch):
    x = np.ones((50, 40), dtype=np.float32)
    y = F.dropout(kn.tensor(x), 0.5, True).data
    np.testing.assert_array_equal(np.unique(y), [0.0, 2.0])
    ty = torch.nn.functional.dropout(torch.tensor(x), 0.5, True).numpy()
    np.testing.assert_array_equal(np.unique(ty), [0.0, 2.0])
    np.testing.assert_array_equal(F.dropout(kn.tensor(x), 0.5, False).data, x)


def test_dropout_module_and_set_dropout_scaling():
    model = kn.models.build_model("mlp:8,8", (5,), 3, dropout=0.5)
    assert kn.nn.set_dropout_scaling(model, "test-time") == 2
    drops = [m for m in model.modules() if isinstance(m, kn.nn.Dropout)]
    assert all(m.scaling == "test-time" for m in drops) and "test-time" in repr(drops[0])
    model.eval()
    x = kn.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    y_notes = model(x).data
    kn.nn.set_dropout_scaling(model, "inverted")
    y_torch = model(x).data
    assert not np.allclose(y_notes, y_torch)  # eval differs: each hidden output times (1 - p)


@pytest.mark.parametrize("bad", ["test", "testtime", None])
def test_bad_scaling_names(bad):
    with pytest.raises(KisonetValueError, match="scaling") as e:
        kn.nn.Dropout(0.5, scaling=bad)
    assert "choose from: inverted, test-time" in str(e.value)
    with pytest.raises(KisonetValueError, match="did you mean 'test-time'"):
        F.dropout(kn.tensor([1.0]), 0.5, True, "test_time")


# --- batch norm inference statistics -----------------------------------------------------


def _batches(rng, n=5, m=8, c=3):
    return [(rng.standard_normal((m, c)) * (i + 1) + i).astype(np.float64) for i in range(n)]


def test_average_form_is_keio_lecture4_mean_of_batch_statistics(rng):
    """Running stats = mean over batches of (mu_B, sigma_B^2) with sigma_B^2 = (1/M) sum (x - mu_B)^2."""
    kn.set_default_dtype(np.float64)
    bn = kn.nn.BatchNorm1d(3)
    assert kn.nn.set_batch_norm_inference(bn, "average") == 1
    batches = _batches(rng)
    for xb in batches:
        bn(kn.tensor(xb))
    mus = [xb.mean(axis=0) for xb in batches]
    variances = [((xb - xb.mean(axis=0)) ** 2).mean(axis=0) for xb in batches]  # biased, as printed
    np.testing.assert_allclose(bn.running_mean, np.mean(mus, axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean(variances, axis=0), rtol=1e-12)
    bn.eval()
    x = rng.standard_normal((4, 3))
    expect = (x - np.mean(mus, axis=0)) / np.sqrt(np.mean(variances, axis=0) + bn.eps)
    np.testing.assert_allclose(bn(kn.tensor(x)).data, expect, rtol=1e-10)


def test_running_form_equals_torch(torch, rng):
    """PyTorch's default: EMA with momentum 0.1 of the mean and the unbiased variance."""
    kn.set_default_dtype(np.float64)
    bn, tbn = kn.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3).double()
    for xb in _batches(rng):
        bn(kn.tensor(xb))
        tbn(torch.tensor(xb))
    np.testing.assert_allclose(bn.running_mean, tbn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-12)


def test_momentum_none_unbiased_equals_torch_cumulative(torch, rng):
    kn.set_default_dtype(np.float64)
    bn = kn.nn.BatchNorm1d(3, momentum=None)
    tbn = torch.nn.BatchNorm1d(3, momentum=None).double()
    for xb in _batches(rng):
        bn(kn.tensor(xb))
        tbn(torch.tensor(xb))
    np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-12)
    # the notes' form differs from it only by the factor (M - 1) / M on the variance
    bn2 = kn.nn.BatchNorm1d(3, momentum=None, unbiased_var=False)
    for xb in _batches(np.random.default_rng(0)):
        bn2(kn.tensor(xb))
    np.testing.assert_allclose(bn2.running_var, bn.running_var * 7 / 8, rtol=1e-12)


def test_batchnorm2d_average_and_model_setter(rng):
    kn.set_default_dtype(np.float64)
    model = kn.models.build_model("simple-cnn", (1, 8, 8), 3, batch_norm=True)
    assert kn.nn.set_batch_norm_inference(model, "average") == 2
    bn2 = next(m for m in model.modules() if isinstance(m, kn.nn.BatchNorm2d))
    assert bn2.momentum is None and bn2.unbiased_var is False
    assert kn.nn.set_batch_norm_inference(model, "running") == 2
    assert bn2.momentum == 0.1 and bn2.unbiased_var is True
    with pytest.raises(KisonetValueError, match="did you mean 'average'"):
        kn.nn.set_batch_norm_inference(model, "averge")


# --- initialisers: the notes' He uniform and Xavier N(0, 1/n) ---------------------------------


def test_he_uniform_is_keio_lecture4_bound():
    """Keio 4: w ~ U(-sqrt(6/d_{l-1}), sqrt(6/d_{l-1})), the same bound as torch's kaiming_uniform_(relu)."""
    w = np.empty((400, 300), dtype=np.float64)
    kn.nn.init.init_layer_(w, init="he_uniform")
    bound = np.sqrt(6.0 / 300)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)  # = 2 / fan_in


def test_xavier_fan_in_is_the_ecert_report_normal():
    """E-cert report: a standard normal draw divided by sqrt(n) -> N(0, 1/n), n = fan_in."""
    w = np.empty((300, 500), dtype=np.float64)
    kn.nn.init.init_layer_(w, init="xavier_fan_in")
    assert w.mean() == pytest.approx(0.0, abs=3e-3)
    assert w.std() == pytest.approx(1 / np.sqrt(500), rel=0.02)
    v = np.empty((300, 500), dtype=np.float64)
    kn.nn.init.xavier_normal_(v)  # PyTorch's: 2 / (fan_in + fan_out)
    assert v.std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)
    with pytest.raises(KisonetValueError, match="did you mean 'fan_in'"):
        kn.nn.init.xavier_normal_(v, mode="fanin")


def test_conv_fan_in_counts_the_kernel():
    w = np.empty((64, 16, 3, 3), dtype=np.float64)
    kn.nn.init.xavier_normal_(w, mode="fan_in")
    assert w.std() == pytest.approx(1 / np.sqrt(16 * 9), rel=0.03)
