"""The notes' forms reached from ``kisonet train`` (flags and TOML): each option lands on the object
it selects, bad values get one line with the closest name (exit 2). See docs/notes-forms.md."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import kisonet as kn
from kisonet import optim
from kisonet.cli import options as cli_options
from kisonet.cli.train import finalize_config, make_optimizer


def _config(argv: list[str], toml: str | None = None, tmp_path=None) -> dict:
    parser = argparse.ArgumentParser()
    cli_options.add_options(parser, cli_options.TRAIN_OPTIONS)
    ns = parser.parse_args(argv)
    path = None
    if toml is not None:
        path = tmp_path / "c.toml"
        path.write_text(toml)
    config, _ = cli_options.resolve(ns, cli_options.TRAIN_OPTIONS, None if path is None else str(path))
    return finalize_config(config)


def _params():
    return [kn.tensor([1.0, 2.0], requires_grad=True)]


@pytest.mark.parametrize(
    ("argv", "cls", "placement", "eps"),
    [
        (["--optimizer", "adam", "--eps-placement", "inside"], optim.Adam, "inside", 1e-8),
        (["--optimizer", "adam", "--eps-placement", "uncorrected", "--eps", "1e-7"], optim.Adam, "uncorrected", 1e-7),
        (["--optimizer", "adamw", "--eps-placement", "inside"], optim.AdamW, "inside", 1e-8),
        (["--optimizer", "adagrad", "--eps-placement", "inside", "--eps", "1e-6"], optim.Adagrad, "inside", 1e-6),
        (["--optimizer", "rmsprop", "--eps-placement", "inside"], optim.RMSprop, "inside", 1e-8),
        (["--optimizer", "rmsprop"], optim.RMSprop, "outside", 1e-8),
    ],
)
def test_eps_placement_flags_build_the_notes_optimizer(argv, cls, placement, eps):
    opt = make_optimizer(_config(argv), _params())
    assert type(opt) is cls
    assert opt.param_groups[0]["eps_placement"] == placement
    assert opt.param_groups[0]["eps"] == pytest.approx(eps)


def test_eps_placement_from_toml(tmp_path):
    cfg = _config([], 'optimizer = "adagrad"\neps_placement = "inside"\neps = 1e-6\n', tmp_path)
    opt = make_optimizer(cfg, _params())
    assert opt.param_groups[0]["eps_placement"] == "inside" and opt.param_groups[0]["eps"] == 1e-6


def test_old_config_without_the_new_keys_still_builds():
    cfg = _config(["--optimizer", "adam"])
    for k in ("eps", "eps-placement"):
        cfg.pop(k)
    opt = make_optimizer(cfg, _params())
    assert opt.param_groups[0]["eps_placement"] == "outside" and opt.param_groups[0]["eps"] == 1e-8


def test_dropout_scaling_and_bn_inference_reach_the_model(tmp_path):
    from kisonet.cli.train import apply_notes_forms

    cfg = _config([], 'dropout_scaling = "test-time"\nbn_inference = "average"\n', tmp_path)
    model = kn.models.build_model("mlp:8,8", (4,), 3, dropout=0.5, batch_norm=True)
    apply_notes_forms(cfg, model)
    assert all(m.scaling == "test-time" for m in model.modules() if isinstance(m, kn.nn.Dropout))
    bns = [m for m in model.modules() if isinstance(m, kn.nn.BatchNorm1d)]
    assert len(bns) == 2 and all(m.momentum is None and not m.unbiased_var for m in bns)


def test_saved_model_config_rebuilds_the_notes_forms():
    from kisonet import runs

    mcfg = {"spec": "mlp:8", "input_shape": [4], "n_classes": 3, "dropout": 0.5, "batch_norm": True}
    plain = runs.model_from_config(mcfg)  # a config saved before these options: PyTorch's forms
    assert [m.scaling for m in plain.modules() if isinstance(m, kn.nn.Dropout)] == ["inverted"]
    notes = runs.model_from_config({**mcfg, "dropout_scaling": "test-time", "bn_inference": "average"})
    assert [m.scaling for m in notes.modules() if isinstance(m, kn.nn.Dropout)] == ["test-time"]
    assert [m.unbiased_var for m in notes.modules() if isinstance(m, kn.nn.BatchNorm1d)] == [False]


def test_l1_half_and_early_stopping_criterion(tmp_path):
    from kisonet.cli.train import make_regularizer

    cfg = _config(["--l1", "0.01", "--l1-half", "--early-stopping", "3", "--early-stopping-criterion", "increases"])
    reg = make_regularizer(cfg)
    assert reg.lam == 0.01 and reg.half is True
    assert cfg["early-stopping-criterion"] == "increases"
    cfg = _config([], "l1 = 0.02\nl1_half = true\n", tmp_path)
    assert make_regularizer(cfg).half is True


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("he-uniform", "he-uniform"),
        ("xavier_fan_in", "xavier-fan-in"),
        ("xavier-normal", "xavier-normal"),
        ("xavier_uniform", "xavier"),
        ("he", "he"),
    ],
)
def test_init_names(flag, name):
    cfg = _config(["--init", flag])
    assert cfg["init"] == name
    model = kn.models.build_model("mlp:16", (8,), 3, init=cfg["init"])  # the name reaches init_layer_
    assert model is not None
    assert _config(["--init", cfg["init"]])["init"] == name  # a saved config.json reads back


def test_bad_init_suggests_the_notes_names(cli):
    code, _, err = cli("train", "--init", "he-unifrom")
    assert code == 2 and "did you mean 'he-uniform'" in err and "xavier-fan-in" in err


@pytest.mark.parametrize(
    ("spec", "norm", "K"), [("linear:0.0001", "linear:0.0001", 5), ("linear:0,3", "linear:0,3", 3)]
)
def test_linear_schedule_is_the_nakata_formula(spec, norm, K):
    """Nakata "学習率": a_k = (k/K) a_end + (1 - k/K) a_start for k <= K, then a_end (k in epochs)."""
    from kisonet.cli.train import make_scheduler

    cfg = _config(["--schedule", spec, "--epochs", "5", "--optimizer", "sgd", "--lr", "0.1"])
    assert cfg["schedule"] == norm
    opt = make_optimizer(cfg, _params())
    sched = make_scheduler(cfg, opt)
    end = float(norm.split(":")[1].split(",")[0])
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expect = [(min(k, K) / K) * end + (1 - min(k, K) / K) * 0.1 for k in range(7)]
    np.testing.assert_allclose(lrs, expect, rtol=1e-12)


@pytest.mark.parametrize("bad", ["linear", "linear:-1", "linear:0.1,0", "linear:a", "linear:0.1,2,3"])
def test_linear_schedule_bad_specs(cli, bad):
    code, _, err = cli("train", "--schedule", bad)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "linear:END_LR[,K]" in err


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["train", "--eps-placement", "insde"], ["--eps-placement", "did you mean 'inside'", "uncorrected"]),
        (["train", "--optimizer", "rmsprop", "--eps-placement", "uncorrected"], ["uncorrected", "adam", "rmsprop"]),
        (["train", "--optimizer", "sgd", "--eps-placement", "inside"], ["--eps-placement inside", "sgd"]),
        (["train", "--optimizer", "sgd", "--eps", "1e-6"], ["--eps", "sgd"]),
        (["train", "--eps", "-1"], ["--eps", "expected a number"]),
        (["train", "--dropout-scaling", "test"], ["--dropout-scaling", "did you mean 'test-time'"]),
        (["train", "--bn-inference", "mean"], ["--bn-inference", "running, average"]),
        (["train", "--dropout-scaling", "test-time", "--epochs", "1"], ["--dropout-scaling", "--dropout P"]),
        (["train", "--bn-inference", "average", "--epochs", "1"], ["--bn-inference", "--batch-norm"]),
        (["train", "--early-stopping-criterion", "increase"], ["did you mean 'increases'"]),
        (["train", "--early-stopping-criterion", "increases"], ["--early-stopping N"]),
        (["train", "--l1-half", "--epochs", "1"], ["--l1-half", "--l1 LAMBDA"]),
    ],
)
def test_bad_values_one_line_exit_2(cli, argv, needles):
    code, out, err = cli(*argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0]


def test_a_run_with_every_notes_form_and_evaluate_reproduces_it(cli, tmp_path):
    out = tmp_path / "notes"
    code, stdout, err = cli(
        "train", "--model", "mlp:32", "--epochs", "2", "--eps-placement", "inside", "--eps", "1e-6",
        "--dropout", "0.2", "--dropout-scaling", "test-time", "--batch-norm", "--bn-inference", "average",
        "--l1", "1e-4", "--l1-half", "--early-stopping", "2", "--early-stopping-criterion", "increases",
        "--init", "he-uniform", "--schedule", "linear:0.0001", "--out", out, "--no-progress", "--threads", "1",
    )  # fmt: skip
    assert code == 0, err
    test_line = next(line for line in stdout.splitlines() if line.startswith("test "))
    loss, acc = test_line.split()[1:3]
    code, ev, err = cli("evaluate", out)
    assert code == 0, err
    # the rebuilt model scales its dropout by (1-p) and uses the averaged batch-norm statistics
    assert f"loss {loss}, accuracy {acc}" in ev
