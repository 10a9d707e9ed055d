"""Progress output (issue 22, item 5): plain lines off a terminal, a bar that fits 80 columns."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import ProgressBar, Trainer
from kisonet.train.callbacks import format_epoch_line


def _fit(callbacks, epochs=3, progress=False):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    tr = Trainer(
        model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), callbacks=callbacks, progress=progress
    )
    tr.fit((X, y), val=(X[:32], y[:32]), test=(X[:16], y[:16]), epochs=epochs, batch_size=16)
    return tr


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.flushes = 0

    def isatty(self) -> bool:
        return self.tty

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.mark.parametrize(
    ("stdout_tty", "lines", "expected"),
    [(False, None, 3), (True, None, 0), (True, True, 3), (False, False, 0)],
    ids=["log file", "terminal", "forced on", "forced off"],
)
def test_one_plain_flushed_line_per_epoch_when_stdout_is_not_a_terminal(monkeypatch, stdout_tty, lines, expected):
    out, err = _Stream(stdout_tty), _Stream(False)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    _fit([ProgressBar(lines=lines)])
    got = out.getvalue().splitlines()
    assert len(got) == expected
    assert out.flushes >= expected
    for i, line in enumerate(got):
        assert line.startswith(f"epoch {i + 1}/3: train_loss ")
        assert "val_accuracy" in line and "test_loss" in line and line.endswith(" s)")
    assert err.getvalue() == ""  # no bar: stderr is not a terminal


def test_the_default_trainer_progress_prints_lines_to_a_log(monkeypatch):
    out = _Stream(False)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    _fit([], epochs=2, progress=True)
    assert [ln.split(":")[0] for ln in out.getvalue().splitlines()] == ["epoch 1/2", "epoch 2/2"]


@pytest.mark.parametrize("columns", [120, 80, 200])
def test_the_bar_fits_80_columns(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    err = _Stream(True)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", _Stream(True))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    _fit([ProgressBar(refresh=0.0)], epochs=10)
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", err.getvalue())
    shown = [s.rstrip() for s in re.split(r"[\r\n]", text) if s.strip()]
    assert max(len(s) for s in shown) <= 80
    final = shown[-1]
    # the finished bar keeps the epoch's figures, uncut
    assert final.startswith("epoch 10/10") and "val_acc" in final and "..." not in final


def test_format_epoch_line():
    line = format_epoch_line(2, 10, {"train_loss": 0.5, "val_accuracy": 0.875, "lr": 0.001, "epoch_seconds": 1.25})
    assert line == "epoch 3/10: train_loss 0.5000, val_accuracy 0.8750, lr 0.001 (1.2 s)"


def test_one_bar_shared_by_several_models_numbers_them(monkeypatch):
    out = _Stream(False)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    bar = ProgressBar(fit_label="member")
    _fit([bar], epochs=2)
    _fit([bar], epochs=1)
    heads = [ln.split(": train_loss")[0] for ln in out.getvalue().splitlines()]
    assert heads == ["member 1: epoch 1/2", "member 1: epoch 2/2", "member 2: epoch 1/1"]


def test_a_label_names_the_model_on_every_line(monkeypatch):
    out = _Stream(False)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    _fit([ProgressBar(label="plain AE")], epochs=1)
    _fit([ProgressBar(label="students", fit_label="seed")], epochs=1)
    heads = [ln.split(": train_loss")[0] for ln in out.getvalue().splitlines()]
    assert heads == ["plain AE: epoch 1/1", "students seed 1: epoch 1/1"]


def test_kisonet_ensemble_off_a_terminal_prints_each_members_epochs(tmp_path, capsys):
    from kisonet.cli import main

    rc = main(["ensemble", "--n-models", "2", "--epochs", "1", "--threads", "1", "--out", str(tmp_path / "e")])
    out = capsys.readouterr().out
    assert rc == 0
    assert [ln.split(": train_loss")[0] for ln in out.splitlines() if ": epoch " in ln] == [
        "member 1: epoch 1/1",
        "member 2: epoch 1/1",
    ]
