"""`kisonet ensemble`, `kisonet semi`, `kisonet autoencoder`: run folders and one-line usage errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import kisonet as kn
from kisonet.cli import COMMANDS, main
from kisonet.cli.ensemble import load_run_ensemble
from kisonet.runs import load_run_model


@pytest.fixture
def cli(capsys):
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_commands_are_registered():
    assert {"ensemble", "semi", "autoencoder"} <= set(COMMANDS)


def test_ensemble_bagging_writes_a_run_folder(cli, tmp_path):
    out = tmp_path / "bag"
    code, stdout, err = cli("ensemble", "--n-models", "3", "--epochs", "2", "--model", "mlp:16", "--out", out,
                            "--no-progress", "--val-split", "0")  # fmt: skip
    assert code == 0, err
    assert {"config.json", "metrics.json", "members.csv", "model.npz", "members.png"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "bagging" and config["n-models"] == 3 and config["lr"] == 0.001
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["test_member_accuracy"]) == 3
    assert metrics["test_accuracy"] > 0.5
    rows = list(csv.DictReader(open(out / "members.csv")))
    assert [int(r["member"]) for r in rows] == [1, 2, 3]
    assert all(int(r["oob_samples"]) > 0 for r in rows)
    saved = kn.load(out / "model.npz", kind="kisonet-ensemble")
    assert len(saved["ensemble"]["members"]) == 3
    # the run folder alone rebuilds the ensemble: same test accuracy as reported
    ens, std = load_run_ensemble(out)
    Xt, yt = kn.data.load_dataset("digits").test
    assert ens.score(std.transform(Xt), yt) == pytest.approx(metrics["test_accuracy"])
    assert ens.member_scores(std.transform(Xt), yt) == pytest.approx(metrics["test_member_accuracy"])
    assert "ensemble" in stdout and "mean member" in stdout


def test_ensemble_adaboost_reports_rounds(cli, tmp_path):
    out = tmp_path / "ada"
    code, stdout, err = cli("ensemble", "--method", "adaboost", "--n-models", "3", "--epochs", "2", "--model",
                            "mlp:4", "--out", out, "--no-progress", "--lr", "0.01")  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(open(out / "members.csv")))
    assert {"weighted_error", "alpha", "ensemble_train_error"} <= set(rows[0])
    assert "train error by round" in stdout


def test_semi_writes_rounds_and_a_run_model(cli, tmp_path):
    out = tmp_path / "semi"
    code, stdout, err = cli("semi", "--rounds", "1", "--epochs", "3", "--model", "mlp:32", "--threshold", "0.6",
                            "--out", out, "--no-progress", "--lr", "0.01")  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labelled"] + metrics["unlabelled"] == 1294  # 90% of digits' training part
    rows = list(csv.DictReader(open(out / "rounds.csv")))
    assert rows[0]["round"] == "0" and int(rows[0]["added"]) == metrics["pseudo_labels"] > 0
    assert float(rows[0]["added_accuracy"]) == pytest.approx(metrics["pseudo_label_accuracy"])
    # the final model is a regular run model: kisonet evaluate can read it
    model, cfg, _ = load_run_model(out)
    assert cfg["spec"] == "mlp:32"
    assert "labelled only" in stdout


def test_autoencoder_compares_denoising_and_plain(cli, tmp_path):
    out = tmp_path / "ae"
    code, stdout, err = cli("autoencoder", "--epochs", "2", "--encoder", "mlp:16", "--code", "8", "--out", out,
                            "--no-progress", "--lr", "0.01")  # fmt: skip
    assert code == 0, err
    assert {"reconstructions.png", "history.csv", "metrics.json", "model.npz"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    for k in ("denoising_test_mse_noisy", "plain_test_mse_noisy", "denoising_test_mse_clean"):
        assert np.isfinite(metrics[k])
    hist = list(csv.DictReader(open(out / "history.csv")))
    assert len(hist) == 2 and "plain_train_loss" in hist[0] and "train_loss" in hist[0]
    saved = kn.load(out / "model.npz", kind="kisonet-autoencoder")
    assert saved["config"]["encoder"] == "mlp:16"


def test_autoencoder_epoch_lines_name_their_model(cli, tmp_path):
    # off a terminal (captured stdout): one line per epoch, saying which autoencoder it trains
    code, stdout, err = cli("autoencoder", "--epochs", "1", "--encoder", "mlp:8", "--code", "4", "--out", tmp_path)
    assert code == 0, err
    lines = [line for line in stdout.splitlines() if ": epoch " in line]
    assert [line.split(": epoch ")[0] for line in lines] == ["denoising AE", "plain AE"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ensemble", "--method", "boosting"], "unknown method 'boosting'"),
        (["ensemble", "--schedule", "cosine"], "--schedule: not supported"),
        (["ensemble", "--n-models", "0"], "--n-models"),
        (["semi", "--labelled", "1.0"], "--labelled"),
        (["semi", "--threshold", "0"], "--threshold"),
        (["autoencoder", "--encoder", "conv:16", "--tied"], "--tied"),
        (["autoencoder", "--encoder", "rnn:3"], "--encoder"),
        (["autoencoder", "--model", "lenet"], "--encoder"),
        (["autoencoder", "--noise", "pink"], "unknown noise"),
    ],
)
def test_bad_options_are_one_line_usage_errors(cli, argv, message, tmp_path):
    code, _, err = cli(*argv, "--out", tmp_path / "x", "--no-progress")
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["semi"], ["ensemble", "--method", "adaboost"]])
def test_classification_only_commands_refuse_regression_data_before_making_a_run_folder(cli, argv, tmp_path):
    code, _, err = cli(*argv, "--dataset", "diabetes", "--out", tmp_path / "r", "--no-progress")
    assert code == 2 and "needs a classification dataset" in err
    assert not (tmp_path / "r").exists()
