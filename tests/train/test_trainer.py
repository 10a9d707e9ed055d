"""The Trainer loop: history, NaN guard, sample weights, hooks, schedulers, multi-task, resume."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
import kisonet.nn.functional as F  # noqa: N812 - the PyTorch convention
from kisonet import nn
from kisonet.train import Callback, LambdaCallback, Trainer


def blobs(rng, n=120, d=4, k=3):
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, n)
    X = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    return X, y.astype(np.int64)


def mlp(d=4, h=8, k=3, dropout=0.0):
    layers = [nn.Linear(d, h), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(h, k))
    return nn.Sequential(*layers)


def params(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_fit_records_history_keys_for_every_split(rng):
    X, y = blobs(rng)
    model = mlp()
    tr = Trainer(
        model,
        F.cross_entropy,
        kn.optim.SGD(model.parameters(), lr=0.1),
        metrics=("accuracy", "f1"),
        progress=False,
        seed=0,
    )
    hist = tr.fit((X[:80], y[:80]), val=(X[80:100], y[80:100]), test=(X[100:], y[100:]), epochs=3, batch_size=16)
    expected = {f"{s}_{m}" for s in ("train", "val", "test") for m in ("loss", "accuracy", "f1")} | {
        "lr",
        "epoch_seconds",
    }
    assert set(hist) == expected
    assert hist is tr.history
    assert all(len(v) == 3 for v in hist.values())
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    # val figures are those evaluate() gives at the end (eval mode, no graph)
    ev = tr.evaluate((X[80:100], y[80:100]))
    assert ev["loss"] == pytest.approx(hist["val_loss"][-1], rel=1e-6)
    assert ev["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    # calling fit again continues: 2 more epochs appended
    tr.fit((X[:80], y[:80]), val=(X[80:100], y[80:100]), test=(X[100:], y[100:]), epochs=2, batch_size=16)
    assert len(tr.history["train_loss"]) == 5 and tr.epoch == 5


def test_train_loss_is_the_batch_size_weighted_mean_of_batch_losses(rng):
    X, y = blobs(rng, n=50)
    model = mlp()
    seen = []
    cb = LambdaCallback(on_batch_end=lambda t, b, logs: seen.append((logs["loss"], logs["size"])))
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.05), callbacks=[cb], progress=False)
    hist = tr.fit((X, y), epochs=1, batch_size=16)  # batches of 16, 16, 16, 2
    assert [n for _, n in seen] == [16, 16, 16, 2]
    expected = sum(v * n for v, n in seen) / 50
    assert hist["train_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_predict_and_predict_proba(rng):
    X, y = blobs(rng)
    model = mlp()
    tr = Trainer(model, "cross_entropy", kn.optim.Adam(model.parameters(), lr=0.05), progress=False, seed=0)
    tr.fit((X, y), epochs=15, batch_size=32)
    proba = tr.predict_proba(X)
    assert proba.shape == (120, 3) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    pred = tr.predict(X, batch_size=7)
    np.testing.assert_array_equal(pred, proba.argmax(1))
    assert np.mean(pred == y) > 0.9


def test_regression_default_metric_dropped_and_predict_returns_values(rng):
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float64)  # float64 targets become float32
    model = nn.Linear(3, 1)
    tr = Trainer(model, "mse", kn.optim.SGD(model.parameters(), lr=0.1), progress=False)
    hist = tr.fit((X, y), val=(X, y), epochs=30, batch_size=16)
    assert "train_accuracy" not in hist and "val_loss" in hist
    assert hist["val_loss"][-1] < 1e-3  # y of shape (N,) against outputs (N, 1) is matched, not broadcast
    out = tr.predict(X)
    assert out.shape == (64, 1) and out.dtype == np.float32


def test_nan_guard_names_epoch_step_and_parameter(rng):
    X, y = blobs(rng, n=64)
    X[2 * 8 + 3, 1] = np.nan  # in the third batch of the second epoch (no shuffling)
    X_first = X.copy()
    X_first[2 * 8 + 3, 1] = 0.0
    model = nn.Sequential()
    model.append(nn.Linear(4, 8))
    model.append(nn.ReLU())
    model.append(nn.Linear(8, 3))
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), progress=False)
    tr.fit((X_first, y), epochs=1, batch_size=8, shuffle=False)
    before = []

    class Snap(Callback):
        def on_batch_begin(self, trainer, batch, logs):
            before.append(params(trainer.model))

    tr.callbacks.append(Snap())
    with pytest.raises(kn.NumericalError) as exc:
        tr.fit((X, y), epochs=1, batch_size=8, shuffle=False)
    msg = str(exc.value)
    assert "epoch 2" in msg and "step 3" in msg and "'0.weight'" in msg
    # the bad step was not applied: parameters are those before the NaN batch
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, before[-1][k])
        assert np.isfinite(v).all()


def test_nan_guard_catches_an_infinite_gradient_injected_after_backward(rng):
    X, y = blobs(rng, n=32)
    model = mlp()
    cb = LambdaCallback(
        on_backward_end=lambda t: t.model[2].bias.grad.__setitem__(0, np.inf) if t.global_step == 1 else None
    )
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), callbacks=[cb], progress=False)
    with pytest.raises(kn.NumericalError, match=r"epoch 1, step 2 .*'2\.bias'.*1 Inf"):
        tr.fit((X, y), epochs=1, batch_size=8)


def test_backward_and_step_hooks_can_change_gradients_and_parameters(rng):
    X, y = blobs(rng, n=32)
    model = mlp()
    frozen = model[0].weight.data.copy()
    mask = (np.arange(model[2].weight.size).reshape(model[2].weight.shape) % 2).astype(np.float32)

    class Pruner(Callback):
        def on_backward_end(self, trainer):
            trainer.model[0].weight.grad[...] = 0.0  # e.g. gradient averaging across workers

        def on_step_end(self, trainer):
            trainer.model[2].weight.data *= mask  # pruning masks re-applied after the update

    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), callbacks=[Pruner()], progress=False)
    tr.fit((X, y), epochs=2, batch_size=8)
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert np.all(model[2].weight.data[mask == 0] == 0)
    assert np.any(model[2].weight.data[mask == 1] != 0)


def test_sample_weights_travel_with_shuffled_batches(rng):
    # Full-batch GD with integer weights c_i equals GD on the data with sample i repeated c_i times.
    X, y = blobs(rng, n=30)
    c = rng.integers(1, 4, 30)
    Xr, yr = np.repeat(X, c, axis=0), np.repeat(y, c)

    def run(data, w, bs):
        kn.manual_seed(3)
        model = mlp()
        tr = Trainer(model, F.cross_entropy, kn.optim.SGD(model.parameters(), lr=0.2), progress=False, seed=1)
        tr.fit(data, epochs=5, batch_size=bs, sample_weight=w, shuffle=True)
        return params(model), tr.history

    pw, hw = run((X, y), c, 30)
    pr, hr = run((Xr, yr), None, len(yr))
    for k in pw:
        np.testing.assert_allclose(pw[k], pr[k], rtol=1e-4, atol=1e-5)
    # the recorded loss is the weighted one
    assert hw["train_loss"][0] == pytest.approx(hr["train_loss"][0], rel=1e-5)


def test_sample_weight_zero_removes_samples(rng):
    X, y = blobs(rng, n=40)
    w = np.ones(40)
    w[20:] = 0

    def run(data, w):
        kn.manual_seed(5)
        model = mlp()
        Trainer(model, nn.CrossEntropyLoss(), kn.optim.SGD(model.parameters(), lr=0.1), progress=False).fit(
            data, epochs=3, batch_size=40, sample_weight=w, shuffle=False
        )
        return params(model)

    a, b = run((X, y), w), run((X[:20], y[:20]), None)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_scheduler_per_epoch_and_per_step(rng):
    X, y = blobs(rng, n=32)
    model = mlp()
    opt = kn.optim.SGD(model.parameters(), lr=1.0)
    sched = kn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    tr = Trainer(model, "cross_entropy", opt, scheduler=sched, progress=False)
    hist = tr.fit((X, y), epochs=3, batch_size=8)
    assert hist["lr"] == [1.0, 0.5, 0.25]
    model = mlp()
    opt = kn.optim.SGD(model.parameters(), lr=1.0)
    sched = kn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    tr = Trainer(model, "cross_entropy", opt, scheduler=sched, scheduler_interval="step", progress=False)
    hist = tr.fit((X, y), epochs=2, batch_size=8)  # 4 steps per epoch
    assert hist["lr"] == [1.0, 0.5**4]


def test_regularizer_and_grad_clip(rng):
    X, y = blobs(rng, n=32)
    kn.manual_seed(1)
    m1 = mlp()
    kn.manual_seed(1)
    m2 = mlp()
    h1 = Trainer(m1, "cross_entropy", kn.optim.SGD(m1.parameters(), lr=0.0), progress=False).fit((X, y), epochs=1)
    reg = kn.regularizers.L2(1.0)
    h2 = Trainer(m2, "cross_entropy", kn.optim.SGD(m2.parameters(), lr=0.0), regularizer=reg, progress=False).fit(
        (X, y), epochs=1
    )
    assert h2["train_loss"][0] == pytest.approx(h1["train_loss"][0] + float(reg(m1).data), rel=1e-5)

    norms = []
    model = mlp()

    class Norm(Callback):
        def on_step_end(self, trainer):
            norms.append(np.sqrt(sum(float((p.grad**2).sum()) for p in trainer.model.parameters())))

    Trainer(
        model,
        "cross_entropy",
        kn.optim.SGD(model.parameters(), lr=0.1),
        grad_clip=0.01,
        callbacks=[Norm()],
        progress=False,
    ).fit((X * 100, y), epochs=1, batch_size=8)
    assert max(norms) <= 0.01 * (1 + 1e-4)
    with pytest.raises(kn.KisonetValueError, match="grad_clip"):
        Trainer(model, "cross_entropy", None, grad_clip=-1)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.cls = nn.Linear(8, 3)
        self.reg = nn.Linear(8, 1)

    def forward(self, x):
        h = self.body(x).relu()
        return {"cls": self.cls(h), "reg": self.reg(h)}


def test_multitask_dict_outputs_losses_and_metrics(rng):
    X, y = blobs(rng, n=64)
    t = (X[:, 0] * 0.5).astype(np.float32)
    model = TwoHeads()
    tr = Trainer(
        model,
        {"cls": F.cross_entropy, "reg": (F.mse_loss, 0.5)},
        kn.optim.Adam(model.parameters(), lr=0.02),
        metrics={"cls": ("accuracy",), "reg": ("r2",)},
        progress=False,
        seed=0,
    )
    hist = tr.fit((X, {"cls": y, "reg": t}), val=(X, {"cls": y, "reg": t}), epochs=30, batch_size=16)
    for key in ("train_loss", "train_cls_loss", "train_reg_loss", "val_cls_accuracy", "val_reg_r2"):
        assert key in hist, key
    assert hist["val_loss"][-1] == pytest.approx(hist["val_cls_loss"][-1] + 0.5 * hist["val_reg_loss"][-1], rel=1e-5)
    assert hist["val_cls_accuracy"][-1] > 0.8 and hist["val_reg_r2"][-1] > 0.8
    pred = tr.predict(X)
    assert set(pred) == {"cls", "reg"} and pred["cls"].shape == (64,)

    # a plain callable loss receives the dicts whole
    def joint(out, tgt):
        return F.cross_entropy(out["cls"], tgt["cls"]) + F.mse_loss(out["reg"], tgt["reg"].reshape(-1, 1))

    tr2 = Trainer(TwoHeads(), joint, None, metrics=("accuracy",), progress=False)
    ev = tr2.evaluate((X, {"cls": y, "reg": t}))
    assert "loss" in ev and "cls_accuracy" in ev


def test_dataset_and_loader_inputs(rng):
    X, y = blobs(rng, n=40)
    model = mlp()
    tr = Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), progress=False)
    loader = kn.data.DataLoader((X, y), batch_size=10, seed=0)
    h = tr.fit(loader, val=kn.data.ArrayDataset(X, y), epochs=2)
    assert len(h["val_accuracy"]) == 2
    assert tr.evaluate(kn.data.ArrayDataset(X, y))["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-6)


def test_errors_are_kisonet_errors():
    model = mlp()
    with pytest.raises(kn.KisonetValueError, match="unknown loss 'cross_entropi'.*did you mean 'cross_entropy'"):
        Trainer(model, "cross_entropi", None)
    with pytest.raises(kn.KisonetValueError, match="unknown metric"):
        Trainer(model, "cross_entropy", None, metrics=("acc5",), progress=False).evaluate(
            (np.zeros((2, 4), np.float32), np.zeros(2, np.int64))
        )
    with pytest.raises(kn.KisonetValueError, match="no optimizer"):
        Trainer(model, "cross_entropy", None, progress=False).fit((np.zeros((2, 4)), np.zeros(2, np.int64)))
    with pytest.raises(kn.KisonetValueError, match="scheduler_interval"):
        Trainer(model, "cross_entropy", None, scheduler_interval="batch")


def test_state_round_trip_resumes_identically(rng, tmp_path):
    X, y = blobs(rng, n=48)
    Xv, yv = blobs(rng, n=16)

    def make():
        kn.manual_seed(7)
        model = mlp(dropout=0.3)  # the global RNG drives dropout: it must be restored too
        opt = kn.optim.Adam(model.parameters(), lr=0.01)
        sched = kn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        es = kn.train.EarlyStopping(patience=50)
        return Trainer(model, "cross_entropy", opt, scheduler=sched, callbacks=[es], progress=False)

    full = make()
    full.fit((X, y), val=(Xv, yv), epochs=4, batch_size=8)

    part = make()
    part.fit((X, y), val=(Xv, yv), epochs=2, batch_size=8)
    kn.save(part.state_dict(), tmp_path / "trainer.npz")
    kn.manual_seed(123)  # a different process, a different global state

    resumed = make()
    resumed.load_state_dict(kn.load(tmp_path / "trainer.npz"))
    resumed.fit((X, y), val=(Xv, yv), epochs=4, batch_size=8)
    assert resumed.epoch == 4
    for k, v in params(full.model).items():
        np.testing.assert_array_equal(params(resumed.model)[k], v)
    for k in full.history:
        if k != "epoch_seconds":
            assert resumed.history[k] == full.history[k], k


@pytest.mark.parametrize("where", ["other_process", "same_process"])
def test_interrupt_mid_epoch_then_resume_equals_uninterrupted(rng, tmp_path, where):
    X, y = blobs(rng, n=40)
    Xv, yv = blobs(rng, n=12)

    def make(callbacks=()):
        kn.manual_seed(11)
        model = mlp(dropout=0.2)
        opt = kn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = kn.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return Trainer(
            model,
            "cross_entropy",
            opt,
            metrics=("accuracy", "f1"),
            scheduler=sched,
            scheduler_interval="step",
            callbacks=list(callbacks),
            progress=False,
        )

    full = make()
    full.fit((X, y), val=(Xv, yv), epochs=3, batch_size=8)  # 5 steps per epoch

    def stop_at_step_7(t, batch, logs):
        if t.global_step == 7:  # the 2nd step of epoch 2
            t.interrupt_training = True

    part = make([LambdaCallback(on_batch_end=stop_at_step_7)])
    part.fit((X, y), val=(Xv, yv), epochs=3, batch_size=8)
    assert part.epoch == 1 and part.global_step == 7 and len(part.history["train_loss"]) == 1
    if where == "other_process":
        kn.save(part.state_dict(), tmp_path / "interrupted.npz")
        kn.manual_seed(99)
        resumed = make()
        resumed.load_state_dict(kn.load(tmp_path / "interrupted.npz"))
    else:
        part.callbacks.clear()
        resumed = part
    resumed.fit((X, y), val=(Xv, yv), epochs=3, batch_size=8)
    assert resumed.epoch == 3 and resumed.global_step == full.global_step
    for k, v in params(full.model).items():
        np.testing.assert_array_equal(params(resumed.model)[k], v)
    for k in full.history:
        if k != "epoch_seconds":
            np.testing.assert_allclose(resumed.history[k], full.history[k], rtol=1e-12, err_msg=k)


def test_sample_weight_updated_in_place_is_seen_by_the_next_fit():
    X = np.zeros((8, 2), np.float32)
    y = np.r_[np.zeros(4), np.full(4, 10.0)].astype(np.float32)
    model = nn.Linear(2, 1)
    model.weight.data[...] = 0
    model.bias.data[...] = 0
    tr = Trainer(model, "mse", kn.optim.SGD(model.parameters(), lr=0.0), progress=False)
    w = np.r_[np.ones(4), np.zeros(4)]
    assert tr.fit((X, y), epochs=1, batch_size=8, sample_weight=w)["train_loss"][-1] == 0.0
    w[:] = w[::-1].copy()  # AdaBoost-style re-weighting of the same array
    assert tr.fit((X, y), epochs=1, batch_size=8, sample_weight=w)["train_loss"][-1] == pytest.approx(100.0)
