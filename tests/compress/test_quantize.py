"""Quantisation: rounding error bounds, per-channel vs per-tensor, integer inference, file size, QAT."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import compress as C  # noqa: N812
from kisonet import nn
from kisonet.compress.quantize import _int_matmul
from kisonet.models import MLP, SimpleCNN


def _uneven(rng, rows=16, cols=40):
    # channel o has weights of scale 10^(o/4 - 2): ranges from 0.01 to ~56
    return (rng.standard_normal((rows, cols)) * (10.0 ** (np.arange(rows) / 4 - 2))[:, None]).astype(np.float32)


@pytest.mark.parametrize("scheme", ["symmetric", "affine"])
@pytest.mark.parametrize("axis", [None, 0])
@pytest.mark.parametrize("bits", [8, 4, 3])
def test_quantize_dequantize_error_at_most_half_a_step(rng, scheme, axis, bits):
    x = _uneven(rng)
    x[3] = np.abs(x[3])  # a one-sided channel: affine's zero point is not 0 there
    x_hat, q, s, z = C.quantize_dequantize(x, bits, scheme, axis)
    qmin, qmax = C.quant_range(bits, scheme)
    assert q.dtype == np.int8 and q.min() >= qmin and q.max() <= qmax
    step = s.reshape(-1, 1) if axis == 0 else s
    err = np.abs(x - x_hat)
    assert np.all(err <= step / 2 * (1 + 1e-5) + 1e-12)
    # and the bound is tight: some entry is rounded by more than a quarter step
    assert np.any(err > step / 4)
    # zero is always exact (zero padding, pruned weights)
    assert np.all(
        C.quantize.quantize(np.zeros_like(x), s, z, bits, scheme, axis)
        == np.broadcast_to(z.reshape(-1, 1) if axis == 0 else z, x.shape)
    )


def test_qparams_hand_values():
    x = np.array([-1.0, 0.5, 2.54], dtype=np.float32)
    s, z = C.compute_qparams(x, 8, "symmetric")
    assert s == pytest.approx(2.54 / 127) and z == 0
    s, z = C.compute_qparams(x, 8, "affine")
    assert s == pytest.approx(3.54 / 255)
    assert z == round(-128 + 1.0 / (3.54 / 255))  # -56
    q = C.quantize.quantize(x, s, z, 8, "affine")
    assert q[0] == -128 and q[2] == 127


def test_per_channel_beats_per_tensor_on_uneven_channels(rng):
    w = _uneven(rng)
    lin = nn.Linear(40, 16)
    lin.weight.data = w
    x = rng.standard_normal((64, 40)).astype(np.float32)
    ref = lin(kn.tensor(x)).data
    errs = {}
    for per_channel in (True, False):
        w_hat, *_ = C.quantize_dequantize(w, 8, "symmetric", 0 if per_channel else None)
        q = C.QuantizedLinear.from_float(lin, per_channel=per_channel)
        np.testing.assert_allclose(q.dequantized_weight(), w_hat, rtol=0, atol=0)
        rel = np.sqrt(((w - w_hat) ** 2).mean(axis=1) / (w**2).mean(axis=1))  # per channel
        errs[per_channel] = (np.mean((w - w_hat) ** 2), np.mean((q(kn.tensor(x)).data - ref) ** 2), rel.max())
    # per tensor, the small channels collapse to zero; per channel each keeps 8 bits of precision
    assert errs[True][2] < 0.01 and errs[False][2] > 0.5
    assert errs[True][0] < errs[False][0]
    assert errs[True][1] < errs[False][1]
    small = np.abs(w[:4]).max()
    assert small < C.compute_qparams(w, 8)[0] / 2  # the smallest channels all round to 0 per tensor


@pytest.mark.filterwarnings("ignore:.*quantize_per_channel.*:UserWarning")
def test_torch_quantize_per_channel_parity(torch, rng):
    w = _uneven(rng)
    s, z = C.compute_qparams(w, 8, "affine", axis=0)
    q = C.quantize.quantize(w, s, z, 8, "affine", axis=0)
    tq = torch.quantize_per_channel(
        torch.from_numpy(w),
        torch.from_numpy(s.astype(np.float64)),
        torch.from_numpy(z.astype(np.int64)),
        0,
        torch.qint8,
    )
    np.testing.assert_array_equal(q, tq.int_repr().numpy())
    np.testing.assert_allclose(C.dequantize(q, s, z, 0), tq.dequantize().numpy(), rtol=1e-6, atol=1e-7)


def test_int_matmul_is_exact_int32_accumulation(rng):
    a = rng.integers(-255, 256, size=(7, 4320)).astype(np.int16)
    b = rng.integers(-255, 256, size=(4320, 5)).astype(np.int16)
    exact = np.matmul(a.astype(np.int32), b.astype(np.int32))
    np.testing.assert_array_equal(_int_matmul(a, b).astype(np.int64), exact)


def test_int8_activations_linear_matches_the_integer_formula(rng):
    lin = nn.Linear(20, 6)
    x = rng.standard_normal((9, 20)).astype(np.float32)
    q = C.QuantizedLinear.from_float(lin, scheme="affine", per_channel=True)
    q.set_input_qparams(float(x.min()), float(x.max()))
    xs, xz = q.input_scale, q.input_zero_point
    xq = np.clip(np.rint(x / xs) + xz, -128, 127).astype(np.int32)
    acc = (xq - xz) @ (q.weight_q.astype(np.int32) - q.weight_zero_point[:, None]).T  # int32 accumulation
    want = acc * (np.float64(xs) * q.weight_scale) + lin.bias.data
    got = q(kn.tensor(x)).data
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # and it approximates the float layer to about a quantisation step of the output
    assert np.abs(got - lin(kn.tensor(x)).data).max() < 0.05


def test_quantized_conv_both_paths_close_to_float(rng):
    conv = nn.Conv2d(3, 8, 3, padding=1)
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    ref = conv(kn.tensor(x)).data
    q = C.QuantizedConv2d.from_float(conv)
    y1 = q(kn.tensor(x)).data
    assert y1.shape == ref.shape and np.abs(y1 - ref).max() < 0.02
    q.set_input_qparams(float(x.min()), float(x.max()))
    y2 = q(kn.tensor(x)).data
    assert np.abs(y2 - ref).max() < 0.05
    assert not np.array_equal(y1, y2)  # the input really was quantised


def test_quantize_model_file_size_and_round_trip(tmp_path, rng):
    model = MLP(784, (256, 128), 10)
    cfg = {"spec": "mlp:256,128", "input_shape": [784], "n_classes": 10}
    f32 = C.save_model(model, tmp_path / "f32.npz", cfg)
    x = kn.tensor(rng.standard_normal((5, 784)).astype(np.float32))
    sizes = {}
    for name, kw in {"int8": {}, "int4": {"bits": 4}, "fp16": {"dtype": "float16"}}.items():
        q = C.quantize_model(model, **kw)
        assert not any(isinstance(m, nn.Linear) for m in q.modules())
        assert any(isinstance(m, nn.Linear) for m in model.modules())  # the original is untouched
        path = C.save_model(q, tmp_path / f"{name}.npz", cfg)
        sizes[name] = path.stat().st_size / f32.stat().st_size
        back, info = C.load_model(path)
        np.testing.assert_array_equal(back(x).data, q(x).data)
    assert sizes["int8"] <= 0.30 and sizes["int4"] <= 0.17 and 0.45 < sizes["fp16"] <= 0.55


def test_calibrated_model_round_trip(tmp_path, rng):
    model = SimpleCNN((1, 12, 12), 4)
    X = rng.standard_normal((64, 1, 12, 12)).astype(np.float32)
    q = C.quantize_model(model, calibration_data=X, num_calibration_batches=2)
    assert all(m.activations_quantized for _, m in C.quantized_layers(q))
    path = C.save_model(q, tmp_path / "q.npz", {"spec": "simple-cnn", "input_shape": [1, 12, 12], "n_classes": 4})
    back, _ = C.load_model(path)
    np.testing.assert_array_equal(back(kn.tensor(X[:5])).data, q(kn.tensor(X[:5])).data)


def test_fake_quantize_straight_through_gradient():
    x = kn.tensor([-1.0, -0.3, 0.02, 0.7, 1.0], requires_grad=True)
    y = C.fake_quantize(x, bits=3, scheme="symmetric")
    np.testing.assert_allclose(y.data, np.rint(x.data / (1 / 3)) / 3, atol=1e-6)
    (y * kn.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 2, 3, 4, 5])  # passed straight through
    # outside the representable range (clipped) the gradient is zero
    from kisonet.compress.quantize import FakeQuantize

    z = kn.tensor([0.5, 3.0], requires_grad=True)
    FakeQuantize.apply(z, scale=np.float32(1 / 3), zero_point=0, qmin=-3, qmax=3).sum().backward()
    np.testing.assert_array_equal(z.grad, [1.0, 0.0])


def test_qat_fine_tuning_improves_the_low_bit_model(rng):
    X = rng.standard_normal((256, 10)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    model = MLP(10, (16,), 2)
    qat = C.prepare_qat(model, bits=2)
    assert [n for n, _ in qat.named_parameters()] == [n for n, _ in model.named_parameters()]
    trainer = kn.train.Trainer(qat, "cross_entropy", kn.optim.Adam(qat.parameters(), lr=0.02), progress=False, seed=0)
    before = trainer.evaluate((X, y))["loss"]
    trainer.fit((X, y), epochs=15, batch_size=32)
    assert trainer.evaluate((X, y))["loss"] < before * 0.7
    q = C.convert(qat)
    np.testing.assert_allclose(q(kn.tensor(X)).data, qat.eval()(kn.tensor(X)).data, atol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="bits"):
        C.quant_range(17)  # up to 16 bits since the E-cert deck's 16-bit example
    with pytest.raises(ValueError, match="scheme"):
        C.compute_qparams(np.ones(3), scheme="asym")
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        C.quantize_model(nn.ReLU())
