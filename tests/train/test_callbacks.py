"""Callbacks: early stopping on scripted losses, atomic checkpoints, CSV logging, progress bar."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import AFTER_HISTORY, Callback, CSVLogger, EarlyStopping, ModelCheckpoint, ProgressBar, Trainer


class Script(Callback):
    """Writes a scripted value into the epoch logs and snapshots the weights each epoch."""

    def __init__(self, values, key="val_score"):
        self.values, self.key = values, key
        self.snapshots = []

    def on_epoch_end(self, trainer, epoch, logs):
        logs[self.key] = self.values[epoch]
        self.snapshots.append(trainer.model.state_dict())


def run(rng, callbacks, epochs=20):
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = nn.Linear(3, 2)
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.5), callbacks=callbacks, progress=False)
    tr.fit((X, y), epochs=epochs, batch_size=4)
    return tr


def assert_weights(model, state):
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


def test_early_stopping_stops_after_patience_and_restores_best(rng):
    script = Script([5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0, 0.5] + [0.1] * 12)
    es = EarlyStopping(monitor="val_score", patience=3)
    tr = run(rng, [script, es])
    # best at epoch index 2; indices 3, 4, 5 fail to improve -> stop after index 5
    assert len(tr.history["train_loss"]) == 6 and tr.epoch == 6
    assert es.best_epoch == 2 and es.stopped_epoch == 5 and es.best == 3.0
    assert_weights(tr.model, script.snapshots[2])
    # the weights really moved after the best epoch, so restoring did something
    assert not np.array_equal(script.snapshots[5]["weight"], script.snapshots[2]["weight"])


def test_early_stopping_honours_check_every(rng):
    # Only odd indices (epochs 2, 4, 6, ...) are checked; the tiny even values must be ignored.
    vals = [0.0, 4.0, 0.0, 3.5, 0.0, 3.6, 0.0, 3.7, 0.0, 3.8] + [0.0] * 10
    script = Script(vals)
    es = EarlyStopping(monitor="val_score", patience=2, check_every=2)
    tr = run(rng, [script, es])
    assert tr.epoch == 8 and es.best_epoch == 3 and es.stopped_epoch == 7
    assert_weights(tr.model, script.snapshots[3])


def test_early_stopping_min_delta_mode_and_no_restore(rng):
    script = Script([1.0, 0.95, 0.92, 0.9, 0.89] + [0.0] * 15)
    es = EarlyStopping(monitor="val_score", patience=2, min_delta=0.1, restore_best=False)
    tr = run(rng, [script, es])
    assert es.best_epoch == 0 and tr.epoch == 3  # 0.95 and 0.92 are not better by > 0.1
    assert_weights(tr.model, script.snapshots[-1])  # not restored
    script = Script([0.5, 0.7, 0.6, 0.65, 0.69] + [0.0] * 15, key="val_accuracy")
    es = EarlyStopping(monitor="val_accuracy", patience=3)  # 'auto' -> max for accuracy
    tr = run(rng, [script, es])
    assert es.mode == "max" and es.best_epoch == 1 and tr.epoch == 5


def test_early_stopping_bad_arguments_and_unknown_monitor(rng):
    with pytest.raises(kn.KisonetValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(kn.KisonetValueError, match="check_every"):
        EarlyStopping(check_every=0)
    with pytest.raises(kn.KisonetValueError, match="unknown EarlyStopping monitor 'val_loss'.*train_loss"):
        run(rng, [EarlyStopping()], epochs=2)


def test_model_checkpoint_best_only_and_formatted_paths(rng, tmp_path):
    script = Script([3.0, 2.0, 2.5, 1.0, 1.5])
    ck = ModelCheckpoint(tmp_path / "best.npz", monitor="val_score", save_best_only=True)
    every = ModelCheckpoint(str(tmp_path / "ep{epoch:02d}.npz"))
    saved = []

    class Record(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            saved.append(os.path.getmtime(tmp_path / "best.npz") if (tmp_path / "best.npz").exists() else None)

    tr = run(rng, [script, ck, Record(), every], epochs=5)
    assert sorted(p.name for p in tmp_path.glob("ep*.npz")) == [f"ep0{i}.npz" for i in range(1, 6)]
    best = kn.load(tmp_path / "best.npz")
    for k, v in script.snapshots[3].items():
        np.testing.assert_array_equal(best[k], v)
    assert ck.best == 1.0
    assert tr.epoch == 5


def test_checkpoint_interrupted_mid_save_leaves_previous_file_loadable(rng, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    ck = ModelCheckpoint(path, monitor="train_loss")
    script = Script([0.0] * 5)
    tr = run(rng, [script, ck], epochs=1)
    good = kn.load(path)
    real_savez = np.savez

    def torn_savez(f, *args, **kwargs):
        real_savez(f, *args, **kwargs)
        f.truncate(37)  # half-written bytes, then the "crash"
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(np, "savez", torn_savez)
    with pytest.raises(KeyboardInterrupt):
        tr.fit(tr.train_loader, epochs=1)
    monkeypatch.undo()
    assert tr.epoch == 2  # the second epoch ran; only its save failed
    still = kn.load(path)
    for k, v in good.items():
        np.testing.assert_array_equal(still[k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary file left behind


def test_full_trainer_checkpoint_can_resume(rng, tmp_path):
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = nn.Linear(3, 2)
    ck = ModelCheckpoint(tmp_path / "new" / "dir" / "state.npz", save_weights_only=False, monitor="train_loss")
    tr = Trainer(
        model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9), callbacks=[ck], progress=False
    )
    tr.fit((X, y), epochs=2, batch_size=4)
    state = kn.load(tmp_path / "new" / "dir" / "state.npz", kind="checkpoint")
    assert state["epoch"] == 2 and len(state["history"]["train_loss"]) == 2 and "optimizer" in state
    again = Trainer(nn.Linear(3, 2), "cross_entropy", None, progress=False)
    again.optimizer = kn.optim.SGD(again.model.parameters(), lr=0.5, momentum=0.9)
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.model.weight.data, model.weight.data)
    assert again.history == tr.history and again.epoch == 2


def test_csv_logger_writes_every_epoch(rng, tmp_path):
    path = tmp_path / "history.csv"
    rows_seen = []

    class Peek(Callback):
        order = AFTER_HISTORY + 1  # after the CSVLogger (AFTER_HISTORY) wrote the epoch

        def on_epoch_end(self, trainer, epoch, logs):
            rows_seen.append(len(path.read_text().splitlines()))

    tr = run(rng, [CSVLogger(path), Peek()], epochs=3)
    assert rows_seen == [2, 3, 4]  # header + one row per finished epoch, written as it goes
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert float(rows[2]["train_loss"]) == pytest.approx(tr.history["train_loss"][2])
    assert set(rows[0]) == {"epoch", *tr.history}


def test_progress_bar_shows_live_loss_and_metric(rng, capsys):
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    model = nn.Linear(3, 2)
    tr = Trainer(
        model,
        "cross_entropy",
        kn.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[ProgressBar(refresh=0.0, force=True)],
        progress=True,
    )
    assert sum(isinstance(c, ProgressBar) for c in tr.callbacks) == 1  # no second bar added
    tr.fit((X, y), val=(X, y), epochs=2, batch_size=8)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss 0." in err and "val_acc 0." in err


def test_progress_bar_is_quiet_when_not_a_terminal(rng, capsys):
    run(rng, [ProgressBar()], epochs=1)
    assert "epoch 1/" not in capsys.readouterr().err
