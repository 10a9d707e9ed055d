"""The CLI's quality bars (issue 7), as slow tests: accuracy of the default run and of the
mnist-t10k set-ups, averaged over seeds 0, 1, 2.  Run with ``pytest -m slow tests/cli``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from kisonet.cli import main


@pytest.mark.slow
def test_default_train_reaches_97_percent_on_digits_in_under_30_seconds(tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kisonet", "train", "--out", str(tmp_path / "r"), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.97
    assert seconds < 30, f"{seconds:.1f} s including start-up"


@pytest.mark.slow
@pytest.mark.parametrize("model,epochs,bar", [("mlp:256,128", 15, 0.955), ("simple-cnn", 12, 0.980)])
def test_mnist_t10k_mean_accuracy_over_three_seeds(mnist_dir, tmp_path, model, epochs, bar):
    accs = []
    for seed in (0, 1, 2):
        out = tmp_path / f"s{seed}"
        argv = ["train", "--dataset", "mnist-t10k", "--data-dir", str(mnist_dir), "--val-split", "0",
                "--optimizer", "adam", "--lr", "0.001", "--batch-size", "100", "--model", model,
                "--epochs", str(epochs), "--seed", str(seed), "--no-progress", "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        accs.append(json.loads((out / "metrics.json").read_text())["test_accuracy"])
    assert np.mean(accs) >= bar, accs
