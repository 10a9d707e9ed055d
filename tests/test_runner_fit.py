"""runner.fit: the road of ``kisonet train`` (config -> data -> model -> optimizer -> schedule ->
regulariser -> callbacks -> Trainer) in memory, on the config's dataset or on arrays given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kisonet import runner as R  # noqa: N812
from kisonet.config import RunConfig
from kisonet.errors import ConfigError, NumericalError
from kisonet.optim import lr_scheduler as S  # noqa: N812

TINY = dict(model="mlp:8", epochs=2, progress=False, batch_size=64)


def _arrays(n: int = 96, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def test_fit_takes_the_road_of_kisonet_train_in_memory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = RunConfig(**TINY, optimizer="momentum", schedule="step:1,0.5", l1=1e-4, early_stopping=5)
    res = R.fit(cfg)
    assert not any(tmp_path.iterdir())  # no run folder
    assert res.config == cfg.finalize() and res.config.lr == 0.01  # the optimizer's default lr filled
    assert res.data.input_shape == (1, 8, 8) and len(res.history["train_loss"]) == 2
    assert {"val_loss", "test_accuracy"} <= set(res.history)
    t = res.trainer
    assert type(t.optimizer).__name__ == "Momentum" and isinstance(t.scheduler, S.StepLR)
    assert t.regularizer is not None and res.early_stopping is not None and res.failure is None
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.25)  # stepped once per epoch
    # the same config trains the same model: seed fixes the data, the weights and the batches
    again = R.fit(cfg)
    assert again.history["train_loss"] == res.history["train_loss"]


def test_fit_on_arrays_with_variants_from_replace() -> None:
    X, y = _arrays()
    data = R.prepare_arrays((X[:64], y[:64]), (X[64:], y[64:]))
    assert (data.n_outputs, data.input_shape, data.task, data.metric) == (2, (6,), "classification", "accuracy")
    base = RunConfig(**{**TINY, "batch_size": 16}, optimizer="sgd", lr=0.1, schedule="cosine")
    runs = {}
    for name in ("sgd", "adam"):
        cfg = dataclasses.replace(base, optimizer=name, lr=None if name == "adam" else 0.1)
        runs[name] = R.fit(cfg, data, scheduler_interval="step")
    sched = runs["sgd"].trainer.scheduler
    assert isinstance(sched, S.CosineAnnealingLR) and sched.T_max == 2 * 4  # the run's steps, not epochs
    assert runs["adam"].config.lr == 0.001 and runs["sgd"].history["train_loss"] != runs["adam"].history["train_loss"]
    # a model given is trained as it is (not rebuilt); test_every_epoch=False skips the test pass
    model = R.seeded_model(base, data)
    res = R.fit(base, data, model, test_every_epoch=False)
    assert res.model is model and "test_loss" not in res.history
    with pytest.raises(ConfigError, match="--l1 0.1: fit was also given a regularizer"):
        R.fit(dataclasses.replace(base, l1=0.1), data, regularizer=lambda m: 0)
    with pytest.raises(ConfigError, match="--distributed sync"):
        R.fit(dataclasses.replace(base, distributed="sync"), data)
    with pytest.raises(ValueError, match="scheduler_interval"):
        R.fit(base, data, scheduler_interval="batch")


def test_fit_reports_a_diverging_run_when_asked() -> None:
    X, y = _arrays()
    X *= 1e18
    data = R.prepare_arrays((X, y))
    cfg = RunConfig(**TINY, optimizer="sgd", lr=1e6, init="normal:10")
    with pytest.raises(NumericalError), np.errstate(all="ignore"):
        R.fit(cfg, data)
    res = R.fit(cfg, data, allow_divergence=True)  # quiet: the guard's message says it once
    assert res.failure and len(res.history.get("train_loss", [])) < 2


def test_prepare_arrays_checks_its_pairs() -> None:
    X, y = _arrays()
    with pytest.raises(ValueError, match="train must be an \\(X, y\\) pair"):
        R.prepare_arrays(X)
    reg = R.prepare_arrays((X, np.c_[y, y].astype(np.float32)), task="regression")
    assert reg.n_outputs == 2 and reg.metric == "rmse" and len(reg.test[0]) == 0


def test_the_options_an_experiment_spells_through_the_config() -> None:
    from kisonet.nn.init import parse_init
    from kisonet.optim.lr_scheduler import from_spec, parse_spec

    # the notes' a/k per epoch when stepped per mini-batch: scale = steps per epoch
    assert parse_spec("Inverse-Sqrt:10.0") == "inverse-sqrt:10" and parse_spec("inverse") == "inverse"
    opt = R.make_optimizer(
        RunConfig(optimizer="sgd", lr=0.1).finalize(), R.seeded_model(RunConfig(), _digits()).parameters()
    )
    assert from_spec("inverse:4", opt).scale == 4.0
    with pytest.raises(ValueError, match="SCALE a positive number"):
        parse_spec("inverse:0")
    # an init scale keeps its digits (a log-spaced sweep of N(0, s^2) is run as written)
    s = float(np.logspace(0, -4, 9)[1])
    assert parse_init(f"normal:{s!r}") == f"normal:{s!r}" and parse_init("normal:0.10") == "normal:0.1"


def _digits() -> R.PreparedData:
    return R.prepare_data(RunConfig(val_split=0))
