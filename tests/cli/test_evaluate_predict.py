"""``kisonet evaluate`` and ``kisonet predict`` from the run folder alone; ``kisonet datasets``; ``augment``."""

from __future__ import annotations

import json

import numpy as np

import kisonet as kn
from kisonet import runs


def test_evaluate_matches_the_runs_metrics(digits_run, cli):
    code, out, err = cli("evaluate", digits_run, "--json")
    assert code == 0, err
    res = json.loads(out)
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert res["test_accuracy"] == metrics["test_accuracy"]
    assert abs(res["test_loss"] - metrics["test_loss"]) < 1e-6
    code, out, _ = cli("evaluate", digits_run)
    assert code == 0 and "digits test" in out and "%" in out


def test_evaluate_on_another_split_and_a_wrong_dataset(digits_run, cli):
    code, out, _ = cli("evaluate", digits_run, "--split", "train", "--json")
    assert code == 0 and json.loads(out)["train_accuracy"] > 0.9
    code, _, err = cli("evaluate", digits_run, "--dataset", "iris")
    assert code == 2 and "--dataset iris" in err and "shape" in err


def test_predict_prints_and_writes(digits_run, cli, tmp_path):
    X, y = kn.data.load_dataset("digits").test
    np.save(tmp_path / "x.npy", X[:20])
    code, out, err = cli("predict", digits_run, tmp_path / "x.npy")
    assert code == 0, err
    printed = np.array([int(line) for line in out.split()])
    assert printed.shape == (20,) and (printed == y[:20]).mean() >= 0.8

    code, _, err = cli("predict", digits_run, tmp_path / "x.npy", "--out", tmp_path / "p.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), printed)

    code, _, _ = cli("predict", digits_run, tmp_path / "x.npy", "--proba", "--out", tmp_path / "p.npy")
    proba = np.load(tmp_path / "p.npy")
    assert code == 0 and proba.shape == (20, 10)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), printed)

    # flat rows of 64 pixels are accepted for 1x8x8 samples
    np.save(tmp_path / "flat.npy", X[:5].reshape(5, -1))
    code, out, _ = cli("predict", digits_run, tmp_path / "flat.npy")
    assert code == 0 and [int(v) for v in out.split()] == list(printed[:5])


def test_model_npz_rebuilds_without_config_json(digits_run, tmp_path):
    import shutil

    only = tmp_path / "only_model"
    only.mkdir()
    shutil.copy(digits_run / "model.npz", only / "model.npz")
    model, mcfg, std = runs.load_run_model(only)
    assert mcfg["spec"] == "mlp:256,128" and tuple(mcfg["input_shape"]) == (1, 8, 8) and std is not None
    assert not model.training


def test_datasets_lists_names_sizes_and_availability(cli):
    code, out, _ = cli("datasets")
    assert code == 0
    assert "digits" in out and "mnist-t10k" in out and "cifar10" in out
    rows = {r.name: r for r in kn.data.datasets()}
    digits_line = next(line for line in out.splitlines() if line.startswith("digits "))
    assert f"{rows['digits'].n_train:,}" in digits_line and "yes" in digits_line


def test_augment_writes_a_grid(cli, tmp_path):
    code, out, err = cli("augment", "--dataset", "digits", "--out", tmp_path / "aug")
    assert code == 0, err
    assert (tmp_path / "aug" / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_val_split_is_the_runs_validation_set(digits_run, cli):
    code, out, _ = cli("evaluate", digits_run, "--split", "val", "--json")
    assert code == 0
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert json.loads(out)["val_accuracy"] == metrics["val_accuracy"]
