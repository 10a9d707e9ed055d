"""`kisonet train` under ^C, SIGTERM and NaN: checkpoint, clear message, exact resume.

* SIGINT in a real subprocess (delivered at a chosen step through the real handler):
  exit 130, a checkpoint in the run folder, the resume command printed; then
  ``kisonet train --resume RUN`` ends with model.npz and history.csv equal, bit for
  bit, to those of an uninterrupted run with the same seed.
* SIGTERM sent from outside at an arbitrary moment: same guarantees.
* NaN at a chosen step: exit 1, the message names epoch, step and parameter, the
  checkpoint of the last good epoch is kept; ``--detect-anomaly`` names the op.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet.cli import main
from kisonet.train import CHECKPOINT_KIND

# spirals: 648 training samples after the 10% hold-out -> 21 steps per epoch at batch 32
ARGS = [
    "train",
    "--dataset",
    "spirals",
    "--model",
    "mlp:16",
    "--epochs",
    "5",
    "--batch-size",
    "32",
    "--dropout",
    "0.2",
    "--schedule",
    "step:2,0.5",
    "--early-stopping",
    "20",
    "--seed",
    "4",
    "--no-progress",
]
STEPS = 21

CHILD = """
import os, signal, sys
from kisonet.train.loop import TrainLoop
at = int(os.environ["KN_SIGNAL_AT"])
orig = TrainLoop.guard
def guard(self, loss, epoch, step):
    out = orig(self, loss, epoch, step)
    if self.trainer.global_step + 1 == at:  # during step `at`, before its update
        os.kill(os.getpid(), signal.SIGINT)
    return out
TrainLoop.guard = guard
from kisonet.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def history_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r.pop("epoch_seconds", None)  # wall-clock time, the only thing allowed to differ
    return rows


def assert_same_run(a: Path, b: Path) -> None:
    ma, mb = kn.load(a / "model.npz"), kn.load(b / "model.npz")
    assert ma["model"].keys() == mb["model"].keys()
    for k in ma["model"]:
        np.testing.assert_array_equal(ma["model"][k], mb["model"][k], err_msg=k)
    assert history_rows(a) == history_rows(b)  # the CSV holds repr() floats: exact
    ja, jb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    ja.pop("train_seconds"), jb.pop("train_seconds")
    assert ja == jb


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("uninterrupted")
    rc, _, err = run([*ARGS, "--out", str(d)])
    assert rc == 0, err
    assert not (d / "checkpoint.npz").exists()  # a finished run keeps model.npz, not the checkpoint
    return d


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(kn.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check_interrupted(d: Path, at: int, stderr: str, signame: str = "SIGINT") -> None:
    assert f"interrupted by {signame}" in stderr and f"kisonet train --resume {d}" in stderr
    assert "Traceback" not in stderr
    state = kn.load(d / "checkpoint.npz", kind=CHECKPOINT_KIND)
    assert state["global_step"] == at  # the step in progress was finished, no more
    assert not (d / "model.npz").exists()


def _resume_and_compare(reference: Path, d: Path) -> None:
    rc, out, err = run(["train", "--resume", str(d), "--no-progress"])
    assert rc == 0, err
    assert "resuming" in out
    assert_same_run(reference, d)
    assert not (d / "checkpoint.npz").exists()


def test_sigint_in_subprocess_then_resume_equals_uninterrupted(reference: Path, tmp_path: Path):
    d, at = tmp_path / "run", STEPS + 9  # mid-epoch 2
    env = {**child_env(), "KN_SIGNAL_AT": str(at)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *ARGS, "--out", str(d)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 130, proc.stderr
    _check_interrupted(d, at, proc.stderr)
    rc, _, err = run(["evaluate", str(d)])  # nothing to evaluate yet: say how to finish the run
    assert rc == 2 and f"kisonet train --resume {d}" in err
    _resume_and_compare(reference, d)


def test_sigint_on_the_last_step_of_an_epoch_then_resume(reference: Path, tmp_path: Path, monkeypatch):
    """In-process (the CLI's handler, a real signal): interrupted as an epoch ends."""
    from kisonet.train.loop import TrainLoop

    d, at = tmp_path / "run", 3 * STEPS
    orig = TrainLoop.guard

    def guard(self, loss, epoch, step):
        out = orig(self, loss, epoch, step)
        if self.trainer.global_step + 1 == at:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(TrainLoop, "guard", guard)
    rc, _, err = run([*ARGS, "--out", str(d)])
    monkeypatch.undo()
    assert rc == 130, err
    _check_interrupted(d, at, err)
    assert "end of epoch 3" in err
    _resume_and_compare(reference, d)


def test_sigterm_from_outside_then_resume_equals_uninterrupted(tmp_path: Path):
    args = [a if a != "5" else "25" for a in ARGS]  # long enough to be caught mid-run
    ref = tmp_path / "ref"
    rc, _, err = run([*args, "--out", str(ref)])
    assert rc == 0, err

    d = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kisonet", *args, "--out", str(d)],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()  # "kisonet train: ... -> RUN": training starts now
    deadline = time.monotonic() + 60
    while not (d / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # at least one epoch done: the signal lands in the middle of the run
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted by SIGTERM" in stderr and "--resume" in stderr

    rc, _, err = run(["train", "--resume", str(d), "--no-progress"])
    assert rc == 0, err
    assert_same_run(ref, d)


def _poison_at(monkeypatch, at: int) -> None:
    """Make the first parameter's gradient NaN during global step ``at`` (a divergence)."""
    from kisonet.train.loop import TrainLoop

    orig = TrainLoop.guard

    def guard(self, loss, epoch, step):
        if self.trainer.global_step + 1 == at:
            self.named_params[0][1].grad[0, 0] = np.nan
        return orig(self, loss, epoch, step)

    monkeypatch.setattr(TrainLoop, "guard", guard)


def test_nan_exits_1_naming_epoch_step_parameter_and_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch):
    _poison_at(monkeypatch, 2 * STEPS + 5)  # step 5 of epoch 3
    d = tmp_path / "run"
    rc, _, err = run([*ARGS, "--out", str(d)])
    assert rc == 1
    assert "epoch 3, step 5" in err and "parameter 'layers.1.weight' (shape (16, 2)) has 1 NaN" in err
    assert f"last good checkpoint: {d / 'checkpoint.npz'} (end of epoch 2)" in err
    state = kn.load(d / "checkpoint.npz", kind=CHECKPOINT_KIND)
    assert state["epoch"] == 2 and state["global_step"] == 2 * STEPS
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert not (d / "model.npz").exists()
    assert len(history_rows(d)) == 2


def test_detect_anomaly_names_the_op(tmp_path: Path, monkeypatch):
    from kisonet.autograd import ops

    calls = {"n": 0}
    orig = ops.ReLU.backward

    def backward(self, gy):
        calls["n"] += 1
        g = orig(self, gy)
        if calls["n"] == 20:
            g = np.full_like(g, np.nan)
        return g

    monkeypatch.setattr(ops.ReLU, "backward", backward)
    rc, _, err = run([*ARGS, "--out", str(tmp_path / "run"), "--detect-anomaly"])
    assert rc == 1
    assert "detect_anomaly: ReLU backward returned a non-finite gradient" in err
    assert "created at" in err


def test_resume_refuses_options_that_would_change_the_run(reference: Path, tmp_path: Path):
    rc, _, err = run(["train", "--resume", str(reference), "--lr", "0.5"])
    assert rc == 2 and "--lr" in err and "config.json" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = run(["train", "--resume", str(empty)])
    assert rc == 2 and "no checkpoint.npz" in err
    rc, _, err = run(["train", "--resume", str(reference)])
    assert rc == 2 and "already finished" in err
