"""``kisonet compress {quantize,prune,distill} RUN_DIR --out DIR`` end to end on a tiny digits run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kisonet import compress as C  # noqa: N812
from kisonet.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mlp"
    code = main(["train", "--dataset", "digits", "--model", "mlp:64", "--epochs", "1", "--no-progress",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    return out


def _check_outputs(out, n_rows):
    for f in ("model.npz", "table.md", "report.json", "tradeoff.png"):
        assert (out / f).is_file(), f
    report = json.loads((out / "report.json").read_text())
    assert len(report["rows"]) == n_rows
    for row in report["rows"]:
        assert (out / row["file"]).stat().st_size == row["bytes"]
        assert 0.0 <= row["accuracy"] <= 1.0 and row["ms_per_batch"] > 0 and row["nonzero"] <= row["params"]
    table = (out / "table.md").read_text()
    assert "bytes on disk" in table and "non-zero" in table and "ms/batch" in table
    return report


def test_compress_quantize(run_dir, tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["compress", "quantize", str(run_dir), "--out", str(out), "--bits", "8,4",
                 "--calibration-batches", "2"]) == 0  # fmt: skip
    # float32, float16, int8/int4 x per-channel/per-tensor, int8 affine, int8 activations
    report = _check_outputs(out, 8)
    rows = {r["variant"]: r for r in report["rows"]}
    # a tiny model: the file's fixed overhead (standardizer, metadata) is a large share here
    sizes = [rows[k]["bytes"] for k in ("float32 (original)", "float16", "int8 symmetric per-channel",
                                        "int4 symmetric per-channel")]  # fmt: skip
    assert sizes == sorted(sizes, reverse=True) and sizes[2] < 0.65 * sizes[0]
    model, info = C.load_model(out / "model.npz")
    assert info["compression"] == {**info["compression"], "dtype": "int8", "bits": 8, "per_channel": True}


def test_compress_prune(run_dir, tmp_path):
    out = tmp_path / "p"
    assert main(["compress", "prune", str(run_dir), "--out", str(out), "--sparsity", "0.8", "--steps", "2",
                 "--fine-tune-epochs", "1"]) == 0  # fmt: skip
    report = _check_outputs(out, 4)  # dense, dense + same epochs, one-shot, iterative
    final = report["rows"][-1]
    assert final["sparsity"] == pytest.approx(0.8, abs=0.01)
    model, _ = C.load_model(out / "model.npz")
    assert C.sparsity(model)["global"] == pytest.approx(0.8, abs=0.01)


def test_compress_distill(run_dir, tmp_path):
    out = tmp_path / "d"
    assert main(["compress", "distill", str(run_dir), "--out", str(out), "--epochs", "2", "--seeds", "1"]) == 0
    report = _check_outputs(out, 3)
    teacher, *students = report["rows"]
    assert all(s["params"] <= teacher["params"] / 10 for s in students)
    assert set(report["summary"]) == {"labels only", "distilled T=4"}
    model, info = C.load_model(out / "model.npz")
    assert sum(np.size(p.data) for p in model.parameters()) == students[0]["params"]


def test_compress_usage_errors(run_dir, tmp_path, capsys):
    assert main(["compress", "shrink", str(run_dir)]) == 2
    assert "unknown method 'shrink'" in capsys.readouterr().err
    assert main(["compress", "prune", str(tmp_path / "nope")]) == 2
    assert main(["compress", "prune", str(run_dir), "--sparsity", "1.5"]) == 2
    assert "--sparsity" in capsys.readouterr().err


def test_compress_prints_a_labelled_line_per_epoch_off_a_terminal(run_dir, tmp_path):
    """Like kisonet train: progress is on by default; off a terminal each training prints one flushed
    line per epoch naming the model it trains (here in a real process, stdout a pipe)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = ["compress", "prune", str(run_dir), "--out", str(tmp_path / "p"), "--sparsity", "0.5", "--steps", "1",
            "--fine-tune-epochs", "1"]  # fmt: skip
    p = subprocess.run([sys.executable, "-m", "kisonet", *argv], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    epochs = [line for line in p.stdout.splitlines() if ": epoch " in line]
    assert [line.split(": epoch ")[0] for line in epochs] == ["dense + 2 epochs"] * 2 + ["50% iterative"] * 2
    assert all("train_loss" in line for line in epochs)
    assert "\r" not in p.stdout and "\x1b" not in p.stdout  # plain lines, no bar
