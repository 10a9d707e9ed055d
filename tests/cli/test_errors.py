"""Every bad argument: exit code 2, one line naming the flag and the accepted values, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

BAD = [
    (["trian"], ["unknown command 'trian'", "did you mean 'train'"]),
    (["train", "--optimizer", "adamm"], ["--optimizer", "did you mean 'adam'", "adabelief"]),
    (["train", "--lrr", "0.1"], ["--lrr", "did you mean '--lr'"]),
    (["train", "--lr", "abc"], ["--lr", "expected a number"]),
    (["train", "--lr", "-1"], ["--lr", "expected a number in (0.0"]),
    (["train", "--lr", "nan"], ["--lr", "finite"]),
    (["train", "--epochs", "0"], ["--epochs", "integer"]),
    (["train", "--epochs", "2.5"], ["--epochs", "integer"]),
    (["train", "--batch-size", "x"], ["--batch-size", "integer"]),
    (["train", "--dropout", "1"], ["--dropout", "[0.0, 1.0)"]),
    (["train", "--val-split", "1.5"], ["--val-split"]),
    (["train", "--model", "resnet"], ["--model", "mlp:H1,H2", "simple-cnn"]),
    (["train", "--model", "mlp:256,x"], ["--model", "positive integers"]),
    (["train", "--model", "simple_cnnn"], ["--model", "did you mean 'simple-cnn'"]),
    (["train", "--activation", "rellu"], ["--activation", "did you mean 'relu'", "leaky-relu"]),
    (["train", "--init", "hee"], ["--init", "did you mean 'he'", "normal:STD"]),
    (["train", "--init", "normal:-1"], ["--init", "normal:STD"]),
    (["train", "--schedule", "cosin"], ["--schedule", "did you mean 'cosine'", "warmup-cosine:WARMUP"]),
    (["train", "--schedule", "step:0,0.5"], ["--schedule", "step:EVERY,GAMMA"]),
    (["train", "--schedule", "restarts:a"], ["--schedule", "restarts:T0,TMULT"]),
    (["train", "--augment", "digit"], ["--augment", "did you mean 'digits'", "cifar"]),
    (["train", "--dataset", "digts"], ["--dataset", "did you mean 'digits'", "mnist-t10k"]),
    (["train", "--threads", "0"], ["--threads"]),
    (["train", "--seed", "-3"], ["--seed"]),
    (["train", "--val-split", "0", "--early-stopping", "3"], ["--early-stopping", "--val-split"]),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], ["--momentum", "adam"]),
    (["train", "--config", "/nonexistent/x.toml"], ["--config", "not found"]),
    (["train", "--batch-size"], ["--batch-size", "expected one argument"]),
    (["train", "--model", "simple-cnn", "--dataset", "iris"], ["--model simple-cnn", "iris"]),
    (["evaluate", "/nonexistent/run"], ["RUN_DIR", "not a folder"]),
    (["evaluate"], ["RUN_DIR"]),
    (["predict", "/nonexistent/run", "x.npy"], ["RUN_DIR"]),
    (["augment", "--dataset", "irs"], ["--dataset", "did you mean 'iris'"]),
]


@pytest.mark.parametrize("argv,needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_argument_exits_2_with_one_clear_line(cli, argv, needles):
    code, out, err = cli(*argv)
    assert code == 2
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kisonet")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_bad_config_file_values(cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('optimizr = "adam"\n')
    code, _, err = cli("train", "--config", cfg)
    assert code == 2 and "optimizr" in err and "did you mean 'optimizer'" in err
    cfg.write_text("lr = -0.5\n")
    code, _, err = cli("train", "--config", cfg)
    assert code == 2 and "c.toml: lr" in err and "expected a number" in err
    cfg.write_text("lr = [\n")
    code, _, err = cli("train", "--config", cfg)
    assert code == 2 and "not valid TOML" in err and len(err.strip().splitlines()) == 1


def test_predict_bad_input_file(digits_run, cli, tmp_path):
    import numpy as np

    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    code, _, err = cli("predict", digits_run, tmp_path / "bad.npy")
    assert code == 2 and "INPUT" in err and "(3, 5)" in err and "Traceback" not in err
    code, _, err = cli("predict", digits_run, tmp_path / "missing.npy")
    assert code == 2 and "not found" in err


def test_entry_point_python_m_kisonet():
    proc = subprocess.run(
        [sys.executable, "-m", "kisonet", "train", "--optimizer", "adamm"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "did you mean 'adam'" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "kisonet", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "train" in proc.stdout and "evaluate" in proc.stdout
