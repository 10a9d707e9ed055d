"""Interrupt a run with a real SIGINT/SIGTERM, save, restore in a fresh Trainer, finish:
the final parameters and the history equal those of an uninterrupted run, bit for bit.

What must be restored for that: the model, the optimizer's moments, the
learning-rate schedule, the global RNG (dropout, augmentation), the training
loader's permutation and position inside the epoch, the running sums of the
interrupted epoch, the metrics' state and EarlyStopping's state.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import CHECKPOINT_KIND, EarlyStopping, GracefulInterrupt, LambdaCallback, Trainer

EPOCHS, BATCH = 3, 8  # 48 samples: 6 steps per epoch, 18 in all


def blobs(seed: int, n: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None].astype(np.float32)
    return X, y


TRAIN, VAL = blobs(1, 48), blobs(2, 16)


def noisy(xb: np.ndarray) -> np.ndarray:
    """Augmentation drawing from kisonet's global generator (restored on resume)."""
    return xb + 0.05 * kn.random.get_generator().standard_normal(xb.shape).astype(np.float32)


def make(callbacks=()) -> Trainer:
    kn.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    opt = kn.optim.Adam(model.parameters(), lr=0.02)
    sched = kn.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    return Trainer(
        model,
        "cross_entropy",
        opt,
        metrics=("accuracy", "f1"),
        scheduler=sched,
        scheduler_interval="step",
        callbacks=[EarlyStopping(patience=100), *callbacks],
        progress=False,
        seed=3,
    )


def fit(trainer: Trainer) -> None:
    trainer.fit(TRAIN, val=VAL, epochs=EPOCHS, batch_size=BATCH, transform=noisy)


def params(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in trainer.model.state_dict().items()}


def assert_same_run(a: Trainer, b: Trainer) -> None:
    assert a.epoch == b.epoch == EPOCHS and a.global_step == b.global_step
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)  # bit for bit
    keys = [k for k in a.history if k != "epoch_seconds"]
    assert sorted(keys) == sorted(k for k in b.history if k != "epoch_seconds")
    for k in keys:
        assert a.history[k] == b.history[k], k  # exact floats, not approx


@pytest.fixture(scope="module")
def uninterrupted() -> Trainer:
    t = make()
    fit(t)
    return t


@pytest.mark.parametrize(("signame", "at_step"), [("SIGINT", 8), ("SIGTERM", 3), ("SIGINT", 12)])
def test_signal_then_resume_in_fresh_trainer_equals_uninterrupted(uninterrupted, tmp_path: Path, signame, at_step):
    sig = getattr(signal, signame)

    def send(t, step, logs):
        if t.global_step == at_step:
            os.kill(os.getpid(), sig)  # delivered to this (main) thread before the next bytecode

    messages: list[str] = []
    part = make([LambdaCallback(on_batch_end=send)])
    handler_before = signal.getsignal(sig)
    with GracefulInterrupt(part, notify=messages.append) as stop:
        fit(part)
    assert signal.getsignal(sig) is handler_before  # the previous handler is back
    assert stop.signal == signame and signame in messages[0] and "finishing the current step" in messages[0]
    assert part.global_step == at_step  # the step in progress was finished, and no more
    assert part.epoch == at_step // 6  # ... inside the epoch, not at its end (except on a boundary)
    kn.save(part.state_dict(), tmp_path / "checkpoint.npz", kind=CHECKPOINT_KIND)

    kn.manual_seed(999)  # another process: a different global state
    np.random.default_rng(7).random(100)
    resumed = make()
    resumed.load_state_dict(kn.load(tmp_path / "checkpoint.npz", kind=CHECKPOINT_KIND))
    fit(resumed)
    assert_same_run(uninterrupted, resumed)


def test_resume_is_not_trivially_equal(uninterrupted, tmp_path: Path):
    """Restarting from the saved model alone (no optimizer, RNG, loader state) diverges:
    the equality above is earned by the restored state, not by luck."""

    def send(t, step, logs):
        if t.global_step == 8:
            os.kill(os.getpid(), signal.SIGINT)

    part = make([LambdaCallback(on_batch_end=send)])
    with GracefulInterrupt(part, notify=lambda m: None):
        fit(part)
    state = part.state_dict()
    partial = {
        "model": state["model"],
        "epoch": state["epoch"],
        "global_step": state["global_step"],
        "history": state["history"],
    }
    resumed = make()
    resumed.load_state_dict(partial)
    fit(resumed)
    differs = any(
        not np.array_equal(a, b) for a, b in zip(params(uninterrupted).values(), params(resumed).values(), strict=True)
    )
    assert differs


def test_second_signal_aborts_at_once():
    calls = []

    def send_twice(t, step, logs):
        calls.append(step)
        if t.global_step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    t = make([LambdaCallback(on_batch_end=send_twice)])
    with pytest.raises(KeyboardInterrupt, match="second SIGINT"), GracefulInterrupt(t, notify=lambda m: None):
        fit(t)
    assert len(calls) == 2


def test_outside_the_block_sigint_is_a_keyboardinterrupt():
    t = make()
    before = signal.getsignal(signal.SIGINT)  # an earlier test in the process may have set its own
    with GracefulInterrupt(t, notify=lambda m: None):
        pass
    assert signal.getsignal(signal.SIGINT) is before  # the block gives the old handler back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            for _ in range(1000):  # give the interpreter a bytecode boundary to run the handler
                pass
    finally:
        signal.signal(signal.SIGINT, before)
