"""``kisonet train``: the run folder, config files, determinism, and the NaN guard."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import runs
from kisonet.cli import main
from kisonet.cli.options import TRAIN_OPTIONS


def test_golden_run_writes_a_complete_run_folder(digits_run):
    files = {p.name for p in digits_run.iterdir()}
    assert {"config.json", "history.csv", "metrics.json", "model.npz", "curves.png"} <= files
    assert not [f for f in files if f.endswith(".tmp")]  # atomic writes leave no temporaries

    config = json.loads((digits_run / "config.json").read_text())
    # every option is resolved, including the optimizer-dependent defaults
    assert {o.name for o in TRAIN_OPTIONS if o.config_key} <= set(config)
    assert config["dataset"] == "digits" and config["model"] == "mlp:256,128"
    assert config["lr"] == 0.001 and config["epochs"] == 3 and config["out"] == str(digits_run)

    metrics = json.loads((digits_run / "metrics.json").read_text())
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key])
    assert metrics["train_seconds"] > 0
    assert metrics["test_accuracy"] > 0.9  # three epochs of the default MLP already learn digits

    with open(digits_run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    # metrics.json is keyed like the history; the final test figure is the last epoch's
    assert float(rows[-1]["test_accuracy"]) == pytest.approx(metrics["test_accuracy"])
    assert (digits_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_final_table_is_printed(tmp_path, cli):
    code, out, err = cli("train", "--epochs", "1", "--out", tmp_path / "r", "--no-progress", "--model", "mlp:32")
    assert code == 0, err
    assert "split" in out and "train" in out and "val" in out and "test" in out and "%" in out
    assert "time" in out and str(tmp_path / "r") in out


def test_same_seed_same_history_to_the_last_digit(tmp_path):
    argv = ["train", "--epochs", "2", "--model", "mlp:64", "--no-progress", "--seed", "3", "--dropout", "0.2"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    a, b = (tmp_path / "a" / "history.csv").read_text(), (tmp_path / "b" / "history.csv").read_text()
    drop_time = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # epoch_seconds is last
    assert drop_time(a) == drop_time(b)
    assert main([*argv[:-2], "--seed", "4", "--out", str(tmp_path / "c")]) == 0
    assert drop_time((tmp_path / "c" / "history.csv").read_text()) != drop_time(a)


def test_history_round_trips_exactly(tmp_path):
    hist = {"train_loss": [0.1 + 1e-17 * i for i in range(3)], "test_accuracy": [1 / 3, 2 / 3, 0.9]}
    runs.write_history(tmp_path, hist)
    back = runs.read_history(tmp_path)
    assert back["train_loss"] == hist["train_loss"] and back["test_accuracy"] == hist["test_accuracy"]


def test_config_file_with_overriding_flag(tmp_path, cli):
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "mlp:16"\nbatch_size = 64\nepochs = 5\noptimizer = "sgd"\nlr = 0.05\n')
    out = tmp_path / "r"
    code, _, err = cli("train", "--config", cfg, "--epochs", "1", "--out", out, "--no-progress")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "mlp:16" and config["batch-size"] == 64  # from the file (underscore key)
    assert config["optimizer"] == "sgd" and config["lr"] == 0.05
    assert config["epochs"] == 1  # the flag wins over the file's 5
    assert len(runs.read_history(out)["train_loss"]) == 1


def test_config_file_table_and_dashed_keys(tmp_path, cli):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[train]\n"val-split" = 0\nepochs = 1\nmodel = "mlp:8"\n')
    code, _, err = cli("train", "--config", cfg, "--out", tmp_path / "r", "--no-progress")
    assert code == 0, err
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert "val_loss" not in metrics and "test_loss" in metrics


def test_cnn_with_batch_norm_dropout_schedule_and_early_stopping(tmp_path, cli):
    out = tmp_path / "cnn"
    code, _, err = cli(
        "train",
        "--model",
        "simple-cnn",
        "--batch-norm",
        "--dropout",
        "0.3",
        "--schedule",
        "step:1,0.5",
        "--epochs",
        "3",
        "--early-stopping",
        "5",
        "--optimizer",
        "momentum",
        "--l1",
        "1e-5",
        "--out",
        out,
        "--no-progress",
        "--augment",
        "digits",
    )
    assert code == 0, err
    hist = runs.read_history(out)
    assert hist["lr"] == [0.01, 0.005, 0.0025]  # step:1,0.5 halves the momentum default lr 0.01 each epoch
    model, mcfg, std = runs.load_run_model(out)
    assert mcfg["batch_norm"] and mcfg["spec"] == "simple-cnn"
    assert any(isinstance(m, kn.nn.BatchNorm2d) for m in model.modules())


def test_nan_guard_exits_1_and_says_why(tmp_path, cli):
    out = tmp_path / "nan"
    code, _, err = cli(
        "train",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
        "--epochs",
        "2",
        "--model",
        "mlp:32",
        "--out",
        out,
        "--no-progress",
        "--no-standardize",
    )
    assert code == 1
    assert "NaN" in err or "nan" in err or "Inf" in err
    assert "--lr" in err and "Traceback" not in err
    assert (out / "config.json").exists()


def test_user_model_builder(tmp_path, cli, monkeypatch):
    (tmp_path / "mymodels.py").write_text(
        "import math\n"
        "import kisonet as kn\n"
        "def tiny(input_shape, n_classes):\n"
        "    return kn.nn.Sequential(kn.nn.Flatten(), kn.nn.Linear(math.prod(input_shape), n_classes))\n"
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("train", "--model", "mymodels:tiny", "--epochs", "1", "--out", "r", "--no-progress")
    assert code == 0, err
    # reading the folder never imports code: the caller names the builder
    with pytest.raises(kn.CheckpointError, match="never imports code"):
        runs.load_run_model(tmp_path / "r")
    model, _, _ = runs.load_run_model(tmp_path / "r", model="mymodels:tiny")
    assert sum(p.data.size for p in model.parameters()) == 64 * 10 + 10


def test_regression_dataset(tmp_path, cli):
    code, out, err = cli(
        "train", "--dataset", "diabetes", "--model", "mlp:16", "--epochs", "2", "--out", tmp_path / "r", "--no-progress"
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert "test_rmse" in metrics and "test_accuracy" not in metrics
    assert np.isfinite(metrics["test_loss"])


def test_config_json_of_a_run_repeats_it(digits_run, tmp_path, cli):
    out = tmp_path / "again"
    code, _, err = cli("train", "--config", digits_run / "config.json", "--out", out, "--no-progress")
    assert code == 0, err
    assert (out / "history.csv").read_text().splitlines()[1].rsplit(",", 1)[0] == (
        (digits_run / "history.csv").read_text().splitlines()[1].rsplit(",", 1)[0]
    )
    assert (digits_run / "config.json").exists() and json.loads((out / "config.json").read_text())["out"] == str(out)
