"""Quantisation as the E-cert DAY 2 deck prints it: truncation beside rounding, bit widths beyond 8,
and its 16-bit fixed-point example (0.12492940522023 -> 0000 0000 . 0001 1111 -> 0.12109375)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kisonet as kn
from kisonet import compress as C  # noqa: N812
from kisonet.cli import main
from kisonet.compress.quantize import code_dtype, quantize, round_codes
from kisonet.errors import KisonetValueError

W45 = 0.12492940522023


def test_ecert_fixed_point_example():
    x_hat, code = C.fixed_point(np.array([W45]), total_bits=16, frac_bits=8, rounding="truncate")
    assert code.dtype == np.int16 and int(code[0]) == 31
    assert float(x_hat[0]) == 0.12109375
    assert C.fixed_point_bits(31, 16, 8) == "0000 0000 . 0001 1111"
    nearest, c = C.fixed_point(np.array([W45]), 16, 8, rounding="nearest")
    assert int(c[0]) == 32 and float(nearest[0]) == 0.125
    # the deck's 32-bit line [0000 0000 . 0001 1111] 1111 1011 0101 1111 is W45 with 24 fractional
    # bits; keeping its upper 16 bits is the truncation above
    deck32 = 0b0000_0000_0001_1111_1111_1011_0101_1111
    assert int(np.trunc(W45 * 2**24)) == deck32 and deck32 >> 16 == int(code[0])


def test_fixed_point_saturates_and_formats_negatives():
    x_hat, code = C.fixed_point(np.array([200.0, -200.0, -0.5]), 16, 8)
    np.testing.assert_array_equal(code, [32767, -32768, -128])
    assert x_hat[0] == pytest.approx(32767 / 256)
    assert C.fixed_point_bits(-128, 16, 8) == "1111 1111 . 1000 0000"
    assert C.fixed_point_bits(5, 8, 0) == "0000 0101"
    with pytest.raises(KisonetValueError, match="frac_bits"):
        C.fixed_point(np.zeros(2), 16, 16)


def test_truncation_against_the_printed_rule(rng):
    x = rng.standard_normal(1000).astype(np.float32)
    s, z = C.compute_qparams(x, bits=6)
    q_trunc = quantize(x, s, z, bits=6, rounding="truncate")
    q_near = quantize(x, s, z, bits=6)
    np.testing.assert_array_equal(q_trunc, np.clip(np.trunc(x / s), -31, 31))  # digits dropped
    np.testing.assert_array_equal(q_near, np.clip(np.rint(x / s), -31, 31))
    xt, xn = C.dequantize(q_trunc, s, z), C.dequantize(q_near, s, z)
    assert np.all(np.abs(xt) <= np.abs(x) + 1e-7)  # toward zero
    assert np.abs(xt - x).max() < s and np.abs(xn - x).max() <= s / 2 + 1e-7
    assert np.abs(xt - x).mean() > 1.5 * np.abs(xn - x).mean()  # truncation's error is about twice
    np.testing.assert_array_equal(round_codes(np.array([-1.5, 1.5]), "floor"), [-2.0, 1.0])


def test_nearest_equals_torch(torch, rng):
    x = rng.standard_normal(500).astype(np.float32)
    s, z = C.compute_qparams(x, bits=8)
    tq = torch.quantize_per_tensor(torch.tensor(x), float(s), 0, torch.qint8).int_repr().numpy()
    np.testing.assert_array_equal(quantize(x, s, z, 8), np.clip(tq, -127, 127))


@pytest.mark.parametrize("bits", [9, 12, 16])
def test_more_than_8_bits(rng, bits):
    x = rng.standard_normal((20, 30)).astype(np.float32)
    x_hat, q, s, z = C.quantize_dequantize(x, bits=bits, axis=0)
    assert q.dtype == code_dtype(bits) == np.int16
    assert np.abs(q).max() == 2 ** (bits - 1) - 1
    assert np.abs(x_hat - x).max() <= s.max() / 2 + 1e-6


def test_16_bit_model_round_trip_and_integer_path(tmp_path, rng):
    kn.manual_seed(0)
    model = kn.nn.Sequential(kn.nn.Linear(12, 16), kn.nn.ReLU(), kn.nn.Linear(16, 3))
    x = rng.standard_normal((40, 12)).astype(np.float32)
    ref = model(kn.tensor(x)).data
    q16 = C.quantize_model(model, "int8", bits=16, rounding="truncate")
    assert "int16 symmetric per-channel truncate" in repr(q16)
    assert q16[0].weight_q.dtype == np.int16
    np.testing.assert_allclose(q16(kn.tensor(x)).data, ref, atol=2e-3)
    q4 = C.quantize_model(model, "int8", bits=4)
    assert np.abs(q4(kn.tensor(x)).data - ref).max() > np.abs(q16(kn.tensor(x)).data - ref).max()
    act = C.quantize_model(model, "int8", bits=16, calibration_data=x, num_calibration_batches=1)
    deq = C.quantize_model(model, "int8", bits=16)
    np.testing.assert_allclose(act(kn.tensor(x)).data, deq(kn.tensor(x)).data, atol=0.05)  # int8 inputs
    cfg = {"spec": "x", "input_shape": [12], "n_classes": 3}
    C.save_model(q16, tmp_path / "m.npz", cfg)
    obj = kn.load(tmp_path / "m.npz")
    assert obj["compression"]["bits"] == 16 and obj["compression"]["rounding"] == "truncate"


def test_bad_rounding_and_bits():
    with pytest.raises(KisonetValueError, match="did you mean 'truncate'"):
        round_codes(np.zeros(2), "trunc")
    with pytest.raises(KisonetValueError, match=r"\[2, 16\]"):
        C.quant_range(17)


def test_compress_cli_truncate_16_bits(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--model", "mlp:32", "--epochs", "1", "--no-progress",
                 "--out", str(run)]) == 0  # fmt: skip
    out = tmp_path / "q"
    assert main(["compress", "quantize", str(run), "--out", str(out), "--bits", "16,4", "--rounding", "truncate",
                 "--calibration-batches", "0"]) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    rows = {r["variant"]: r for r in report["rows"]}
    assert "int16 symmetric per-channel truncate" in rows and "int4 symmetric per-channel truncate" in rows
    assert (
        rows["int16 symmetric per-channel truncate"]["accuracy"]
        >= rows["int4 symmetric per-channel truncate"]["accuracy"]
    )
    model, info = C.load_model(out / "model.npz")
    assert info["compression"]["rounding"] == "truncate" and info["compression"]["bits"] == 8


def test_compress_cli_bad_rounding(capsys):
    assert main(["compress", "quantize", "nowhere", "--rounding", "round"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--rounding" in err[0] and "nearest, truncate, floor" in err[0]
