"""The Trainer in parts (issue 19, item 3): fit(X, y), the history callback's order, the public
read-only properties callbacks use, schedules that say whether they need a metric."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetValueError
from kisonet.optim.lr_scheduler import ReduceLROnPlateau, StepLR, step_scheduler
from kisonet.train import AFTER_HISTORY, HISTORY_ORDER, Callback, History, LambdaCallback, Trainer

SRC = Path(kn.__file__).resolve().parent


def blobs(n=96, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def make(callbacks=(), scheduler=None, lr=0.1, seed=0):
    kn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = kn.optim.SGD(model.parameters(), lr=lr)
    sched = scheduler(opt) if scheduler else None
    return Trainer(model, "cross_entropy", opt, callbacks=list(callbacks), scheduler=sched, progress=False, seed=seed)


# --- data adapters: fit(X, y) -------------------------------------------------------------


def test_fit_x_y_is_fit_of_the_pair_bit_for_bit():
    X, y = blobs()
    a, b = make(), make()
    ha = a.fit(X, y, val=(X[:32], y[:32]), epochs=3, batch_size=16)
    hb = b.fit((X, y), val=(X[:32], y[:32]), epochs=3, batch_size=16)
    assert {k: v for k, v in ha.items() if k != "epoch_seconds"} == {
        k: v for k, v in hb.items() if k != "epoch_seconds"
    }
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    assert a.evaluate(X, y) == a.evaluate((X, y))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t, X, y: t.fit(X, epochs=1), r"inputs without targets; call fit\(X, y\)"),
        (lambda t, X, y: t.fit((X, y), (X, y), epochs=1), "already holds the targets; pass validation data as val="),
        (lambda t, X, y: t.evaluate(X), r"Trainer.evaluate: got inputs without targets"),
    ],
    ids=["no targets", "val given positionally", "evaluate without targets"],
)
def test_fit_arguments_that_do_not_fit_say_so(call, match):
    X, y = blobs()
    with pytest.raises(KisonetValueError, match=match):
        call(make(), X, y)


def test_fit_x_y_takes_lists_and_dicts_of_arrays():
    X, y = blobs(n=32)
    tr = make()
    tr.fit(X.tolist(), y.tolist(), epochs=1, batch_size=8)
    assert tr.epoch == 1


# --- history: recorded by a callback with a defined order -------------------------------------


def test_what_a_callback_adds_at_epoch_end_is_in_the_history():
    X, y = blobs()
    seen_before, seen_after = [], []

    class AddFigure(Callback):  # default order 0: runs before History
        def on_epoch_end(self, trainer, epoch, logs):
            logs["val_margin"] = 0.5 + epoch
            logs["train_loss"] = 1000.0 + epoch  # a change is recorded too
            seen_before.append(len(trainer.history.get("train_loss", [])))

    class Reader(Callback):
        order = AFTER_HISTORY

        def on_epoch_end(self, trainer, epoch, logs):
            seen_after.append((len(trainer.history["train_loss"]), trainer.history["val_margin"][-1]))

    tr = make([Reader(), AddFigure()])  # list order does not matter: `order` does
    tr.fit(X, y, val=(X, y), epochs=3, batch_size=32)
    assert tr.history["val_margin"] == [0.5, 1.5, 2.5]
    assert tr.history["train_loss"] == [1000.0, 1001.0, 1002.0]
    assert seen_before == [0, 1, 2]  # below HISTORY_ORDER: the epoch is not recorded yet
    assert seen_after == [(1, 0.5), (2, 1.5), (3, 2.5)]  # above: it is, additions included


def test_callbacks_run_by_order_then_list_order():
    calls = []

    def cb(name, order):
        return LambdaCallback(order=order, on_epoch_end=lambda t, e, logs: calls.append(name))

    X, y = blobs(n=16)
    tr = make([cb("late", AFTER_HISTORY), cb("a", 0), cb("b", 0), cb("early", -10)])
    tr._history = _Spy(calls)
    tr.fit(X, y, epochs=1, batch_size=16)
    assert calls == ["early", "a", "b", "history", "late"]


class _Spy(History):
    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append("history")
        super().on_epoch_end(trainer, epoch, logs)


def test_history_order_constants():
    assert History.order == HISTORY_ORDER < AFTER_HISTORY == kn.train.CSVLogger.order == kn.train.ProgressBar.order
    assert kn.train.ModelCheckpoint.order == kn.train.TerminateOnNaN.order == AFTER_HISTORY
    assert Callback.order == kn.train.EarlyStopping.order == 0


def test_a_key_first_seen_later_is_padded_with_nan():
    h = History()
    h.record({"train_loss": 1.0})
    h.record({"train_loss": 0.5, "val_extra": 2.0})
    h.record({"val_extra": 3.0})
    assert h.history["train_loss"][:2] == [1.0, 0.5] and np.isnan(h.history["train_loss"][2])
    assert np.isnan(h.history["val_extra"][0]) and h.history["val_extra"][1:] == [2.0, 3.0]


# --- public read-only properties ---------------------------------------------------------------


def test_properties_callbacks_read():
    X, y = blobs(n=40)
    seen = {}

    class Look(Callback):
        def on_train_begin(self, trainer):
            seen.setdefault("resuming", []).append(trainer.resuming)
            seen["batches"] = trainer.num_train_batches
            seen["max_epochs"] = trainer.max_epochs

        def on_epoch_begin(self, trainer, epoch, logs):
            seen.setdefault("lr", []).append(trainer.lr)

    tr = make([Look()], scheduler=lambda opt: StepLR(opt, 1, 0.5))
    tr.fit(X, y, epochs=2, batch_size=16)
    assert seen["batches"] == 3 and seen["max_epochs"] == 2 and seen["resuming"] == [False]
    assert seen["lr"] == [0.1, 0.05]
    state = tr.state_dict()
    again = make([Look()], scheduler=lambda opt: StepLR(opt, 1, 0.5))
    again.load_state_dict(state)
    again.fit(X, y, epochs=3, batch_size=16)
    assert seen["resuming"] == [False, True] and seen["max_epochs"] == 3 and again.epoch == 3
    for name in ("num_train_batches", "max_epochs", "resuming", "interrupted", "lr", "history", "train_loader"):
        assert isinstance(getattr(Trainer, name), property), name
    for name in ("num_train_batches", "max_epochs", "resuming", "interrupted", "lr", "train_loader"):
        with pytest.raises(AttributeError):
            setattr(tr, name, 1)


def test_interrupted_is_true_only_for_a_resumable_stop():
    X, y = blobs(n=64)

    def stop(t, batch, logs):
        if t.global_step == 3:
            t.interrupt_training = True

    tr = make([LambdaCallback(on_batch_end=stop)])
    tr.fit(X, y, epochs=2, batch_size=16)
    assert tr.interrupted and tr.epoch == 0
    tr.fit(X, y, epochs=2, batch_size=16)
    assert not tr.interrupted and tr.epoch == 2


PRIVATE_READS = re.compile(r"\b(trainer|tr|t)\._[a-z]\w*|getattr\((trainer|tr|t), \"_|\._trainer\b")


def test_no_module_outside_the_trainer_reads_its_private_fields():
    own = {"train/trainer.py", "train/loop.py", "train/resume.py"}
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in own:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in PRIVATE_READS.finditer(line):
                if not m.group(0).startswith(("t._data", "t._version", "t._vc", "t._ctx", "t._hooks", "t._retain")):
                    if "t._source_map" not in line:  # a transform, not a trainer
                        offenders.append(f"{rel}:{i}: {m.group(0)}")
    assert offenders == []


# --- schedules say whether they need a metric ---------------------------------------------------


def test_step_scheduler_dispatches_on_needs_metric_not_on_the_class_name():
    got = []

    class Plateau:  # a user's schedule that wants the metric, under any name
        needs_metric = True

        def step(self, *args):
            got.append(args)

    class ReduceLROnPlateauLookalike:
        def step(self, *args):
            got.append(args)

    step_scheduler(Plateau(), {"val_loss": 0.25})
    step_scheduler(ReduceLROnPlateauLookalike(), {"val_loss": 0.25})
    assert got == [(0.25,), ()]
    with pytest.raises(kn.KisonetError, match="monitor"):
        step_scheduler(Plateau(), {"train_loss": 1.0}, "val_los")
    assert ReduceLROnPlateau.needs_metric and not StepLR.needs_metric


PLATEAU_CASES = [
    {},
    {"mode": "max", "patience": 1, "factor": 0.5},
    {"patience": 0, "cooldown": 2, "threshold_mode": "abs", "threshold": 0.05},
    {"patience": 1, "min_lr": 0.02, "factor": 0.3},
]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_reduce_lr_on_plateau_matches_pytorch(torch, kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.5, 0.6, 0.7, 0.7, 0.8, 0.9, 0.2, 0.2, float("nan"), 0.2] * 2
    w = nn.Linear(2, 2)
    ours = ReduceLROnPlateau(kn.optim.SGD(w.parameters(), lr=0.1), **kw)
    p = torch.nn.Parameter(torch.zeros(2))
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([p], lr=0.1), **kw)
    for m in metrics:
        ours.step(m)
        theirs.step(m)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_trainer_steps_a_plateau_schedule_with_val_loss_and_resumes_it_exactly():
    X, y = blobs()

    def sched(opt):
        return ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)

    full = make(scheduler=sched)
    full.fit(X, y, val=(X[:32], y[:32]), epochs=4, batch_size=16)
    assert full.history["lr"][0] == 0.1 and min(full.history["lr"]) < 0.1  # it did reduce
    part = make(scheduler=sched)
    part.fit(X, y, val=(X[:32], y[:32]), epochs=2, batch_size=16)
    state = part.state_dict()
    again = make(scheduler=sched, seed=1)
    again.load_state_dict(state)
    again.fit(X, y, val=(X[:32], y[:32]), epochs=4, batch_size=16)
    assert again.history["lr"] == full.history["lr"]
    assert again.history["val_loss"] == full.history["val_loss"]


def test_cli_schedule_plateau_reduces_the_lr_on_a_stalled_val_loss(tmp_path, capsys):
    import csv

    from kisonet.cli import main

    d = tmp_path / "run"
    argv = ["train", "--schedule", "plateau:0,0.5", "--epochs", "6", "--lr", "0.05", "--no-progress"]
    rc = main([*argv, "--threads", "1", "--out", str(d)])
    assert rc == 0, capsys.readouterr().err
    with open(d / "history.csv") as f:
        rows = list(csv.DictReader(f))
    lrs, val = [float(r["lr"]) for r in rows], [float(r["val_loss"]) for r in rows]
    # patience 0: every epoch whose val_loss is not a new best halves the next epoch's lr
    expected, best = [0.05], float("inf")
    for v in val[:-1]:
        expected.append(expected[-1] if v < best * (1 - 1e-4) else expected[-1] * 0.5)
        best = min(best, v)
    assert lrs == pytest.approx(expected)
    assert min(lrs) < 0.05  # it did reduce
