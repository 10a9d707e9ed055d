"""EarlyStopping(criterion="increases"): the notes' "N consecutive increases of the validation loss"
(Keio lecture 4 "早期終了の基準例", E-cert DAY 2 "早期終了のアルゴリズム"), beside patience."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import Callback, EarlyStopping, Trainer

# a noisy curve drifting upwards after epoch 2: falls interrupt every run of rises
DRIFT = [5.0, 4.0, 3.0, 3.5, 3.4, 3.6, 3.5, 3.7, 3.8, 3.9, 4.0] + [4.5] * 9


class Script(Callback):
    def __init__(self, values):
        self.values, self.snapshots = values, []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_loss"] = self.values[epoch]
        self.snapshots.append(trainer.model.state_dict())


def _fit(callbacks, epochs=20):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)).astype(np.float32), rng.integers(0, 2, 16)
    model = nn.Linear(3, 2)
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.5), callbacks=callbacks, progress=False)
    tr.fit((X, y), epochs=epochs, batch_size=4)
    return tr


def _reference_stop(values, n):
    """The printed rule: stop at the first epoch ending n consecutive increases."""
    run = 0
    for i in range(1, len(values)):
        run = run + 1 if values[i] > values[i - 1] else 0
        if run >= n:
            return i
    return None


def test_increases_stops_after_n_consecutive_rises_and_restores_best():
    script = Script(DRIFT)
    es = EarlyStopping(patience=3, criterion="increases")
    tr = _fit([script, es])
    assert es.stopped_epoch == _reference_stop(DRIFT, 3) == 9  # 3.7, 3.8, 3.9 rise in a row
    assert tr.epoch == 10 and es.best_epoch == 2
    for k, v in tr.model.state_dict().items():
        np.testing.assert_array_equal(v, script.snapshots[2][k])


def test_patience_stops_earlier_on_the_same_curve():
    es = EarlyStopping(patience=3)
    _fit([Script(DRIFT), es])
    assert es.stopped_epoch == 5  # three checks (3.5, 3.4, 3.6) without a new best


@pytest.mark.parametrize("n", [1, 2, 4])
def test_increases_matches_the_rule_on_random_curves(n):
    rng = np.random.default_rng(n)
    values = list(np.cumsum(rng.normal(0.05, 1.0, 20)))
    es = EarlyStopping(patience=n, criterion="increases")
    _fit([Script(values), es])
    assert es.stopped_epoch == _reference_stop(values, n)


def test_increases_state_round_trip():
    es = EarlyStopping(patience=2, criterion="increases")
    es.previous, es.wait = 3.0, 1
    es2 = EarlyStopping(patience=2, criterion="increases")
    es2.load_state_dict(es.state_dict())
    assert es2.previous == 3.0 and es2.wait == 1
    old = es.state_dict()
    del old["previous"]  # a checkpoint written before the criterion existed
    es2.load_state_dict(old)
    assert es2.previous is None


def test_bad_criterion_and_patience():
    with pytest.raises(kn.KisonetValueError, match="did you mean 'increases'"):
        EarlyStopping(criterion="increase")
    with pytest.raises(kn.KisonetValueError, match="patience >= 1"):
        EarlyStopping(patience=0, criterion="increases")
