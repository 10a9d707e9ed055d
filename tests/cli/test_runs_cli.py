"""``kisonet runs``: one line per run folder, with the status kisonet.runs reads (status.json and the lock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kisonet import runs


def _folder(path, command, status="finished", epochs=3, planned=5, val=(0.5, 0.9, 0.8)):
    rf = runs.RunFolder.open(path, command)
    runs.write_config(rf.path, {"epochs": planned, "dataset": "digits"})
    runs.write_history(rf.path, {"train_loss": [1.0] * epochs, "val_accuracy": list(val)[:epochs]})
    if status == "running":
        return rf  # still open: its lock is held by this live process
    rf.set_status(status, "why" if status != "finished" else None)
    rf.close()
    return rf


def test_runs_lists_kind_status_epochs_metric_and_start(tmp_path, cli):
    root = tmp_path / "runs"
    _folder(root / "a", "kisonet train")
    _folder(root / "b", "kisonet train", status="interrupted", epochs=2)
    _folder(root / "c", "kisonet autoencoder", status="failed", epochs=1)
    _folder(root / "d", "kisonet train --distributed sync")
    live = _folder(root / "e", "kisonet train", status="running", epochs=1)
    dead = _folder(root / "f", "kisonet train", status="running", epochs=1)
    dead.close()  # status.json still says running, but no live process holds the lock
    comp = runs.RunFolder.open(root / "a" / "compress-prune", "kisonet compress prune")
    (comp.path / "report.json").write_text(json.dumps({"headline": "x", "rows": [{"variant": "x", "accuracy": 0.75}]}))
    comp.finish()
    comp.close()
    (root / "not-a-run").mkdir()
    try:
        code, out, err = cli("runs", root)
    finally:
        live.close()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["run", "folder", "kind", "status", "epochs", "metric", "best", "last", "started"]
    by = {line.split()[0].removeprefix(str(root) + os.sep): line.split() for line in lines[1:]}
    assert set(by) == {"a", "a/compress-prune", "b", "c", "d", "e", "f"}
    assert by["a"][1:7] == ["train", "finished", "3/5", "val_accuracy", "90.00%", "80.00%"]
    assert by["b"][1:4] == ["train", "interrupted", "2/5"]
    assert by["c"][1:3] == ["autoencoder", "failed"]
    assert by["d"][1:3] == ["distributed", "finished"]
    assert by["e"][1:3] == ["train", "running"]
    assert by["f"][1:3] == ["train", "failed"]  # the writer died: never shown as running
    assert by["a/compress-prune"][1:7] == ["compress", "finished", "-", "test_accuracy", "-", "75.00%"]
    assert all(len(v) == 9 for v in by.values())  # started: date and time on every line

    code, out, _ = cli("runs", root / "a", "--depth", "0", "--json")
    (one,) = json.loads(out)
    assert code == 0 and one["kind"] == "train" and one["best"] == 0.9 and one["started"]


def test_runs_refuses_a_bad_path_in_one_line(tmp_path, cli):
    (tmp_path / "file").write_text("x")
    code, out, err = cli("runs", tmp_path / "file")
    assert code == 2 and out == "" and err == f"kisonet runs: error: DIR: {str(tmp_path / 'file')!r} is not a folder\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the real process: one line, no traceback
    p = subprocess.run([sys.executable, "-m", "kisonet", "runs", str(tmp_path / "nope")], capture_output=True,
                       text=True, env=env)  # fmt: skip
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"kisonet runs: error: DIR: {str(tmp_path / 'nope')!r} does not exist\n"


def test_runs_in_an_empty_folder_says_so(tmp_path, cli):
    code, out, _ = cli("runs", tmp_path)
    assert code == 0 and out.strip() == f"no run folders under {tmp_path}"
