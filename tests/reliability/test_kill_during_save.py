"""Kill -9 while saving: the file is always the previous complete one or the new complete one.

A forked child saves checkpoints (and rewrites a run folder's history.csv) in a
tight loop, each version different; the parent SIGKILLs it after a random delay,
so the kill lands at a random point of a save (mostly inside ``np.savez``, the
fsync or the rename).  After every kill the checkpoint must load with a valid
checksum and hold one consistent version, and history.csv must parse with whole
rows only.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import runs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

N_KILLS = 12
N_WEIGHTS = 150_000  # 600 KB per version: a save takes long enough to be hit mid-way


def _state(i: int) -> dict:
    return {"step": i, "model": {"w": np.full(N_WEIGHTS, i, np.float32), "b": np.arange(i, i + 10)}}


def _history(i: int) -> dict:
    return {"train_loss": [1.0 / (k + 1) for k in range(i % 50 + 1)], "lr": [0.1] * (i % 50 + 1)}


def _child(path: Path, run_dir: Path, start: int) -> None:
    try:
        i = start
        while True:
            kn.save(_state(i), path, kind="checkpoint")
            runs.write_history(run_dir, _history(i))
            i += 1
    finally:
        os._exit(0)  # never return into pytest


def test_sigkill_at_random_points_never_leaves_a_torn_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    kn.save(_state(0), path, kind="checkpoint")
    runs.write_history(tmp_path, _history(0))
    rng = np.random.default_rng(0)
    seen_steps = {0}
    previous, start = 0, 1
    for _ in range(N_KILLS):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(path, tmp_path, start)
        time.sleep(float(rng.uniform(0.002, 0.12)))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

        state = kn.load(path, kind="checkpoint")  # raises CheckpointError if torn
        i = state["step"]
        assert i == previous or i >= start, f"version {i} came back (previous {previous}, new >= {start})"
        np.testing.assert_array_equal(state["model"]["w"], np.full(N_WEIGHTS, i, np.float32))
        np.testing.assert_array_equal(state["model"]["b"], np.arange(i, i + 10))
        seen_steps.add(i)

        hist = runs.read_history(tmp_path)
        n = len(hist["epoch"])
        assert hist["train_loss"] == [1.0 / (k + 1) for k in range(n)]
        assert not any(np.isnan(hist["lr"]))  # no half-written row
        previous, start = i, max(i, start) + 1000  # the next child's versions are distinguishable
    # the kills did hit a running save loop: new versions replaced the first one
    assert len(seen_steps) > 1, seen_steps
    # leftovers of killed saves are hidden temporary files, never the target name
    stray = [p.name for p in tmp_path.iterdir() if p.name not in ("checkpoint.npz", "history.csv")]
    assert all(name.startswith(".") and name.endswith(".tmp") for name in stray), stray


def test_exception_mid_save_keeps_previous_file(tmp_path: Path, monkeypatch) -> None:
    """An error (disk full, ^C) inside the write leaves the old file and no temporary file."""
    path = tmp_path / "model.npz"
    kn.save(_state(1), path)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="No space"):
        kn.save(_state(2), path)
    monkeypatch.undo()
    assert kn.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
