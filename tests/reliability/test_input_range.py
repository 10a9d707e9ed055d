"""The per-feature range check of ``predict``/``evaluate`` (issue 20, item 4).

A run folder records each feature's training minimum, maximum, mean and standard
deviation; inputs whose features lie more than :data:`kisonet.runs.FEATURE_SLACK` widths
outside them are reported (refused with ``--strict``), naming how many features and
which.  Normal test data of every embedded dataset (and of the real MNIST test set)
must not warn; a folder written before the per-feature range falls back to the
overall range and says so.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import kisonet as kn
from kisonet import data as kd
from kisonet import runner, runs
from kisonet.cli import main


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_input_range_statistics_match_numpy(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(257, 2, 3)).astype(np.float32)
    X[5, 0, 1] = np.nan  # non-finite training values are left out of every statistic
    X[9, 1, 2] = np.inf
    monkeypatch.setattr(runs, "_STATS_CHUNK_VALUES", 60)  # many blocks of rows
    r = runs.input_range(X)
    flat = X.reshape(len(X), -1).astype(np.float64)
    masked = np.ma.masked_invalid(flat)
    np.testing.assert_allclose(r["feature_min"], masked.min(axis=0).filled(), rtol=1e-6)
    np.testing.assert_allclose(r["feature_max"], masked.max(axis=0).filled(), rtol=1e-6)
    np.testing.assert_allclose(r["feature_mean"], masked.mean(axis=0).filled(), rtol=1e-5)
    np.testing.assert_allclose(r["feature_std"], masked.std(axis=0).filled(), rtol=1e-4)
    assert r["min"] == pytest.approx(float(masked.min())) and r["max"] == pytest.approx(float(masked.max()))
    assert all(r[k].dtype == np.float32 and r[k].shape == (6,) for k in ("feature_min", "feature_std"))
    assert runs.input_range(np.zeros((0, 3))) == {"min": 0.0, "max": 0.0}


@pytest.mark.parametrize("name", [n for n in kd.DATASET_NAMES if kd.DATASETS[n].remote is None])
@pytest.mark.parametrize("val_split", [0.0, 0.2])
def test_normal_data_of_every_offline_dataset_does_not_warn(name, val_split):
    data = runner.prepare_data({"dataset": name, "val-split": val_split})
    bundle = kd.load_dataset(name, seed=0)
    for X in (bundle.train[0], bundle.test[0], bundle.test[0][:1]):
        assert runs.range_warning(X, data.input_range, name) is None


def test_real_mnist_test_set_does_not_warn_but_255_pixels_do(mnist_dir):
    data = runner.prepare_data({"dataset": "mnist-t10k", "data-dir": str(mnist_dir), "val-split": 0.1})
    bundle = kd.load_dataset("mnist-t10k", data_dir=str(mnist_dir), seed=0)
    X = np.concatenate([bundle.train[0], bundle.test[0]])  # the whole t10k file
    assert runs.range_warning(X, data.input_range) is None
    msg = runs.range_warning(X * 255, data.input_range, "INPUT x.npy")
    assert msg is not None and msg.startswith("INPUT x.npy: ") and " of 784 features " in msg and "0-255" in msg


def test_which_features_and_by_how_much():
    rng = np.random.default_rng(1)
    Xtr = rng.uniform(0, 1, size=(200, 6)).astype(np.float32)
    Xtr[:, 4] *= 1000  # features on different scales: the overall range alone misses a wrong unit
    stats = runs.input_range(Xtr)
    X = rng.uniform(0, 1, size=(50, 6)).astype(np.float32)
    X[:, 4] *= 1000
    assert runs.range_warning(X, stats) is None
    X[:, 1] *= 100  # centimetres for metres
    msg = runs.range_warning(X, stats, "inputs")
    assert msg is not None and "1 of 6 features" in msg and "feature 1: [" in msg and "widths out" in msg
    X[:, 2] -= 5
    X[:, 3] += 9
    X[:, 5] *= 50
    msg = runs.range_warning(X, stats)
    assert "4 of 6 features" in msg and "1 more" in msg  # the three furthest out are named
    # the same inputs against a folder that recorded only the overall range: within [0, 1000]
    assert runs.range_warning(X, {"min": stats["min"], "max": stats["max"]}) is None


def test_old_and_malformed_ranges_fall_back():
    X = np.full((3, 4), 255.0, np.float32)
    msg = runs.range_warning(X, {"min": 0.0, "max": 1.0})
    assert "far outside" in msg and "records no per-feature range" in msg
    assert runs.range_warning(X, None) is None
    assert runs.range_warning(X, {"min": "a", "max": 1.0}) is None
    # per-feature arrays of another length (or broken ones) fall back to the overall range
    bad = {"min": 0.0, "max": 1.0, **{k: np.zeros(3, np.float32) for k in ("feature_min", "feature_max")}}
    assert "records no per-feature range" in runs.range_warning(X, bad)
    odd = dict(runs.input_range(np.ones((5, 4), np.float32)))
    odd["feature_max"] = odd["feature_max"] - 2  # max below min: ignored
    assert runs.stored_range(odd).keys() == {"min", "max"}


def test_cli_per_feature_warning_strict_and_old_folder(tmp_path):
    d = tmp_path / "run"
    code, _, err = cli("train", "--dataset", "digits", "--model", "mlp:8", "--epochs", "1", "--no-progress", "--out", d)
    assert code == 0, err
    loaded = kn.runs.load(d)
    assert loaded.input_range["feature_min"].shape == (64,)
    X = kd.load_dataset("digits", seed=0).test[0]
    np.save(tmp_path / "ok.npy", X)
    np.save(tmp_path / "px.npy", X * 255)
    code, _, err = cli("predict", d, tmp_path / "ok.npy", "--out", tmp_path / "p.npy")
    assert code == 0 and err == ""
    code, _, err = cli("predict", d, tmp_path / "px.npy", "--out", tmp_path / "p.npy")
    assert code == 0 and "warning" in err and "of 64 features" in err and len(err.splitlines()) == 1
    code, _, err = cli("predict", d, tmp_path / "px.npy", "--strict")
    assert code == 2 and "of 64 features" in err and len(err.splitlines()) == 1
    code, _, err = cli("evaluate", d, "--strict")
    assert code == 0 and err == ""
    # a folder written before per-feature ranges: the overall range, and the message says so
    obj = kn.load(d / "model.npz")
    obj["input_range"] = {"min": 0.0, "max": 1.0}
    kn.save(obj, d / "model.npz", kind=runs.MODEL_KIND)
    code, _, err = cli("predict", d, tmp_path / "px.npy", "--out", tmp_path / "p.npy")
    assert code == 0 and "records no per-feature range" in err


@pytest.mark.parametrize("command", ["ensemble", "autoencoder"])
def test_other_folder_kinds_record_the_range(tmp_path, command):
    d = tmp_path / command
    extra = ["--n-models", "2", "--model", "mlp:8"] if command == "ensemble" else []
    code, _, err = cli(command, "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", d, *extra)
    assert code == 0, err
    rng = kn.runs.load(d).input_range
    assert rng is not None and rng["feature_max"].shape == (4,)
