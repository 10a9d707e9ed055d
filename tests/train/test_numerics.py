"""Finite numbers in training (issue 20, item 4): overflow-safe gradient norms, parameters checked
after the last update, checkpoints only of finite weights, no accuracy from NaN validation data."""

from __future__ import annotations

import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetValueError, NumericalError
from kisonet.train import Callback, LambdaCallback, ModelCheckpoint, Trainer
from kisonet.train.numerics import check_finite_inputs, grad_norm, nonfinite_parameters


def blobs(rng, n=64, d=4, k=3):
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def mlp(d=4, h=8, k=3):
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k))


def trainer(model, lr=0.1, adam=False, **kw):
    opt = (kn.optim.Adam if adam else kn.optim.SGD)(model.parameters(), lr=lr)
    return Trainer(model, "cross_entropy", opt, progress=False, seed=0, **kw)


# --- gradient norms ------------------------------------------------------------------------

NORM_CASES = [
    ("ordinary", np.array([3.0, 4.0], np.float32), 5.0),
    ("float32 square overflows", np.full(10, 1e30, np.float32), 1e30 * math.sqrt(10)),
    ("near float32 max", np.array([3e38, -3e38], np.float32), 3e38 * math.sqrt(2)),
    ("tiny", np.full(4, 1e-30, np.float32), 2e-30),
    ("zeros", np.zeros(3, np.float32), 0.0),
    ("empty", np.zeros(0, np.float32), 0.0),
    ("float64 square overflows", np.full(4, 1e200), 2e200),
]


@pytest.mark.parametrize(("name", "g", "expected"), NORM_CASES, ids=[c[0] for c in NORM_CASES])
def test_grad_norm_never_overflows(name, g, expected):
    with np.errstate(over="ignore"):
        got = grad_norm(g)
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-45)


@pytest.mark.parametrize(
    ("g", "expected"),
    [(np.array([1.0, np.nan], np.float32), "nan"), (np.array([1.0, np.inf], np.float32), "inf")],
    ids=["nan", "inf"],
)
def test_grad_norm_of_nonfinite_is_nonfinite(g, expected):
    got = grad_norm(g)
    assert math.isnan(got) if expected == "nan" else math.isinf(got)


def test_clipping_huge_gradients_keeps_their_direction(rng):
    """||g|| ~ 1e25 overflows g.g in float32: clipping must still scale to norm c, not to 0."""
    X, y = blobs(rng, n=8)
    model = mlp()
    before = [p.data.copy() for p in model.parameters()]

    def blow_up(t):
        for p in t.model.parameters():
            p.grad[...] = 1e25

    tr = trainer(model, lr=0.5, grad_clip=1.0, callbacks=[LambdaCallback(on_backward_end=blow_up)])
    tr.fit((X, y), epochs=1, batch_size=8)
    delta = np.concatenate([(p.data - b).ravel() for p, b in zip(model.parameters(), before, strict=True)])
    # one SGD step of the clipped gradient: ||delta|| = lr * c, every entry equal (same direction)
    assert np.linalg.norm(delta.astype(np.float64)) == pytest.approx(0.5, rel=1e-4)
    assert np.allclose(delta, delta[0])


# --- parameters after the last update ------------------------------------------------------


def _poison_last_step(value):
    def hook(t):
        if t.global_step + 1 == t.num_train_batches * t.max_epochs:  # the run's very last update
            next(iter(t.model.parameters())).data[0, 0] = value

    return LambdaCallback(on_step_end=hook)


DIVERGE_CASES = [
    ("Adam lr 1e38, one step per epoch", dict(lr=1e38, batch_size=64, epochs=1, callbacks=[], adam=True)),
    ("Adam lr 1e38, three epochs", dict(lr=1e38, batch_size=64, epochs=3, callbacks=[], adam=True)),
    ("SGD lr 1e38, many steps", dict(lr=1e38, batch_size=8, epochs=3, callbacks=[])),
    ("NaN written by the last update", dict(lr=0.1, batch_size=16, epochs=2, callbacks=[_poison_last_step(np.nan)])),
    ("Inf written by the last update", dict(lr=0.1, batch_size=16, epochs=1, callbacks=[_poison_last_step(np.inf)])),
]


@pytest.mark.parametrize("case", DIVERGE_CASES, ids=[c[0] for c in DIVERGE_CASES])
def test_nonfinite_parameters_after_an_update_stop_training(rng, tmp_path, case):
    _, kw = case
    X, y = blobs(rng)
    model = mlp()
    saved = []
    ckpt = ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz")
    ends = []
    cbs = [*kw["callbacks"], ckpt, LambdaCallback(on_epoch_end=lambda t, e, logs: ends.append(e))]
    tr = trainer(model, lr=kw["lr"], adam=kw.get("adam", False), callbacks=cbs)
    with np.errstate(all="ignore"), pytest.raises(NumericalError, match=r"non-finite|NaN|Inf"):
        tr.fit((X, y), epochs=kw["epochs"], batch_size=kw["batch_size"], shuffle=False)
    # every epoch that reached on_epoch_end (and so every checkpoint written) had finite weights
    for path in sorted(tmp_path.glob("ckpt-*.npz")):
        saved.append(path)
        state = kn.load(path)
        assert all(np.isfinite(v).all() for v in state.values()), path
    assert len(saved) == len(ends) == tr.epoch


def test_the_message_names_the_update_that_diverged(rng):
    X, y = blobs(rng)
    tr = trainer(mlp(), lr=1e38, adam=True)
    with np.errstate(all="ignore"), pytest.raises(NumericalError) as exc:
        tr.fit((X, y), epochs=1, batch_size=64)
    msg = str(exc.value)
    assert "after the update of epoch 1, step 1" in msg and "'0.weight'" in msg and "Inf" in msg


def test_an_interrupted_epoch_with_nonfinite_parameters_is_not_resumable(rng):
    X, y = blobs(rng)

    def stop_broken(t):
        if t.global_step == 1:
            next(iter(t.model.parameters())).data[...] = np.nan
            t.interrupt_training = True

    tr = trainer(mlp(), callbacks=[LambdaCallback(on_step_end=stop_broken)])
    with pytest.raises(NumericalError, match="epoch 1, step 2"):
        tr.fit((X, y), epochs=2, batch_size=16)


def test_model_checkpoint_never_writes_nonfinite_weights(tmp_path):
    model = mlp()
    path = tmp_path / "ckpt.npz"
    ckpt = ModelCheckpoint(path)

    class Fake:
        pass

    t = Fake()
    t.model = model
    ckpt.on_epoch_end(t, 0, {})
    good = kn.load(path)
    next(iter(model.parameters())).data[0, 0] = np.inf
    with pytest.raises(NumericalError, match="not saving epoch 2.*'0.weight'.*1 Inf"):
        ckpt.on_epoch_end(t, 1, {})
    for k, v in kn.load(path).items():  # the previous checkpoint is intact
        np.testing.assert_array_equal(v, good[k])


def test_nonfinite_parameters_lists_name_shape_and_counts():
    model = mlp()
    assert nonfinite_parameters(model) == []
    w = model[2].weight.data
    w[0, 0], w[1, 1], w[2, 2] = np.nan, np.inf, -np.inf
    assert nonfinite_parameters(model) == [("2.weight", (3, 8), 1, 2)]


# --- no accuracy from NaN validation data --------------------------------------------------


class ArrayDataset:
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def _nan_at(X, row):
    X = X.copy()
    X[row, 1] = np.nan
    return X


VAL_CASES = [
    ("val arrays with NaN", lambda X, y: dict(val=(_nan_at(X, 5), y)), "the val inputs hold 1 NaN"),
    ("test arrays with Inf", lambda X, y: dict(test=(np.where(X > 2, np.inf, X), y)), "the test inputs hold 0 NaN"),
    ("val dataset with NaN", lambda X, y: dict(val=ArrayDataset(_nan_at(X, 40), y)), "the first is sample 40"),
    ("val loader with NaN", lambda X, y: dict(val=kn.data.DataLoader(ArrayDataset(_nan_at(X, 3), y), 8)), "val"),
]


@pytest.mark.parametrize("case", VAL_CASES, ids=[c[0] for c in VAL_CASES])
def test_nan_validation_data_is_refused_not_scored(rng, case):
    _, make, match = case
    X, y = blobs(rng)
    tr = trainer(mlp())
    with pytest.raises(KisonetValueError, match=match):
        tr.fit((X, y), epochs=2, batch_size=16, **make(X, y))
    assert not tr.history.get("val_accuracy") and not tr.history.get("test_accuracy")


def test_val_arrays_with_nan_are_refused_before_any_training(rng):
    X, y = blobs(rng)
    model = mlp()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(KisonetValueError, match="Trainer.fit: the val inputs"):
        trainer(model).fit((X, y), val=(_nan_at(X, 0), y), epochs=1)
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (lambda X, y: (_nan_at(X, 7), y), "evaluation inputs hold 1 NaN.*sample 7"),
        (lambda X, y: (X, y.astype(np.float32) * np.nan), "evaluation targets hold 64 NaN.*sample 0"),
        (lambda X, y: ArrayDataset(_nan_at(X, 60), y), "sample 60"),
    ],
    ids=["inputs", "targets", "dataset"],
)
def test_evaluate_refuses_nan(rng, data, match):
    X, y = blobs(rng)
    tr = trainer(mlp())
    with pytest.raises(KisonetValueError, match=match):
        tr.evaluate(data(X, y), batch_size=16)


def test_overflowing_outputs_report_no_accuracy(rng):
    X, y = blobs(rng)
    model = mlp()
    tr = trainer(model)
    model[2].weight.data[...] = 3e38  # finite weights, logits overflow to Inf
    with np.errstate(all="ignore"):
        res = tr.evaluate((X, y))
    assert math.isnan(res["accuracy"])


def test_check_finite_inputs_accepts_integers_and_dicts():
    check_finite_inputs(np.arange(6, dtype=np.uint8).reshape(2, 3), "x")
    with pytest.raises(KisonetValueError, match=r"x \['b'\] hold 1 NaN"):
        check_finite_inputs({"a": np.zeros((2, 2)), "b": np.array([[0.0, np.nan]])}, "x")


def test_cli_lr_1e38_exits_1_and_saves_no_model(tmp_path, capsys):
    from kisonet.cli import main

    for epochs in ("1", "3"):
        d = tmp_path / f"run{epochs}"
        argv = ["train", "--lr", "1e38", "--epochs", epochs, "--batch-size", "2000", "--no-progress"]
        rc = main([*argv, "--threads", "1", "--out", str(d)])
        err = capsys.readouterr().err
        assert rc == 1, err
        assert "non-finite parameters after the update of epoch 1, step 1" in err
        assert not (d / "model.npz").exists() and not (d / "checkpoint.npz").exists()


class _Unused(Callback):
    pass


def test_clip_grad_norm_of_huge_float32_gradients_keeps_them():
    """kn.nn.utils.clip_grad_norm_ (the Python API): ||g|| = 2e25 squares to Inf in float32."""
    w = kn.tensor(np.zeros(4, np.float32), requires_grad=True)
    w.grad = np.full(4, 1e25, np.float32)
    total = kn.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    assert float(total.data) == pytest.approx(2e25, rel=1e-6)
    np.testing.assert_allclose(w.grad, np.full(4, 0.5, np.float32), rtol=1e-5)
