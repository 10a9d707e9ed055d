"""RunConfig (typed options, files, versions) and the runner (config -> run folder), every mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kisonet import config as C  # noqa: N812
from kisonet import runner as R  # noqa: N812
from kisonet.config import FORMAT_VERSION, RunConfig
from kisonet.errors import ConfigError

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = dict(model="mlp:8", epochs=1, progress=False, batch_size=64)


def test_fields_validate_and_normalise() -> None:
    cfg = RunConfig(optimizer="SGD", schedule="step:2", init="he_normal", activation="Leaky_ReLU", epochs="3")
    assert (cfg.optimizer, cfg.schedule, cfg.init, cfg.activation, cfg.epochs) == (
        "sgd", "step:2,0.1", "he", "leaky-relu", 3,
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"^optimizer: unknown optimizer 'adm' \(did you mean 'adam'\?\)"):
        RunConfig(optimizer="adm")
    with pytest.raises(ConfigError, match=r"^batch_size: expected an integer in \[1, inf\], got 0"):
        RunConfig(batch_size=0)
    with pytest.raises(ConfigError, match="^schedule: unknown schedule 'cosin'.*did you mean 'cosine'"):
        RunConfig().replace(schedule="cosin")


def test_the_cli_options_are_the_fields() -> None:
    from kisonet.cli.options import TRAIN_OPTIONS

    by_flag = {o.name: o for o in TRAIN_OPTIONS if o.config_key}
    fields = {RunConfig.key(n) for n in RunConfig.field_names()} - {"detect-anomaly"}
    assert set(by_flag) == fields
    for name, value in RunConfig().to_dict().items():
        if name in by_flag:
            assert by_flag[name].default == value, name


def test_finalize_fills_defaults_and_checks_combinations() -> None:
    cfg = RunConfig(optimizer="nesterov").finalize()
    assert cfg.lr == 0.01 and cfg.momentum == 0.9
    assert RunConfig(optimizer="adam").finalize().momentum == 0.0
    with pytest.raises(ConfigError, match="^--momentum: the adam optimizer has no momentum option"):
        RunConfig(optimizer="adam", momentum=0.5).finalize()
    with pytest.raises(ConfigError, match="^--early-stopping: needs a validation set"):
        RunConfig(early_stopping=2, val_split=0).finalize()
    with pytest.raises(ConfigError, match="^--eps-placement uncorrected: applies to adam, adamw, not sgd"):
        RunConfig(optimizer="sgd", eps_placement="uncorrected").finalize()


def test_json_and_toml_round_trips_with_format_version(tmp_path: Path) -> None:
    cfg = RunConfig(model="lenet", optimizer="rmsprop", momentum=0.5, schedule="restarts:3,2", batch_norm=True)
    text = cfg.to_json(tmp_path / "c.json")
    assert json.loads(text)["format_version"] == FORMAT_VERSION and json.loads(text)["batch-norm"] is True
    assert RunConfig.from_json(text) == cfg
    toml = cfg.to_toml(tmp_path / "c.toml")
    assert toml.startswith(f"format_version = {FORMAT_VERSION}\n") and 'schedule = "restarts:3,2"' in toml
    assert RunConfig.from_toml(toml) == cfg
    assert RunConfig.from_file(tmp_path / "c.toml") == cfg
    assert RunConfig.from_file(tmp_path / "c.json") == cfg  # a run folder's config.json, out dropped


def test_older_files_load_and_bad_keys_say_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    # a config.json written before format_version existed, with the CLI's hyphenated keys
    old = {"dataset": "iris", "batch-size": 16, "val-split": 0.2, "lr": 0.01, "out": "runs/x", "world_size": 2}
    cfg = RunConfig.from_dict(old, "config.json")
    assert (cfg.dataset, cfg.batch_size, cfg.val_split, cfg.out) == ("iris", 16, 0.2, "runs/x")
    assert RunConfig.from_toml("batch_size = 8\n[train]\nepochs = 2\n").epochs == 2
    with pytest.raises(ConfigError, match=r"^c.toml: bacth-size: unknown option \(did you mean 'batch-size'\?\)"):
        RunConfig.from_dict({"bacth-size": 3}, "c.toml")
    with pytest.raises(ConfigError, match="written by a newer kisonet"):
        RunConfig.from_dict({"format_version": FORMAT_VERSION + 1})
    monkeypatch.setitem(C.RENAMED, "minibatch", "batch_size")
    with pytest.raises(ConfigError, match="^c.toml: minibatch: this key was renamed to 'batch-size'"):
        RunConfig.from_dict({"minibatch": 3}, "c.toml")
    with pytest.raises(ConfigError, match="c.toml: epochs: expected an integer"):
        RunConfig.from_toml("epochs = 'many'", "c.toml")


def test_renamed_key_in_a_cli_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from kisonet.cli import main

    monkeypatch.setitem(C.RENAMED, "minibatch", "batch_size")
    (tmp_path / "c.toml").write_text("minibatch = 8\n")
    assert main(["train", "--config", str(tmp_path / "c.toml")]) == 2
    assert "c.toml: minibatch: this key was renamed to 'batch-size'" in capsys.readouterr().err


def test_runner_single_process_writes_the_run_folder(tmp_path: Path) -> None:
    cfg = RunConfig(**TINY, out=str(tmp_path / "run"), schedule="step:1,0.5", l1=1e-4)
    lines: list[str] = []
    assert R.run(cfg, echo=lines.append) == 0
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.json", "history.csv", "metrics.json", "model.npz"}
    saved = json.loads((run / "config.json").read_text())
    assert saved["format_version"] == FORMAT_VERSION and saved["batch-size"] == 64 and saved["lr"] == 0.001
    again = RunConfig.from_dict(saved)
    assert again.replace(out=None) == cfg.finalize().replace(out=None)
    assert lines[-1] == f"run folder: {run}" and any(line.startswith("split") for line in lines)


def test_runner_pieces_build_what_the_config_names() -> None:
    from kisonet import nn, optim
    from kisonet.optim import lr_scheduler as S  # noqa: N812

    cfg = RunConfig(**TINY, optimizer="momentum", schedule="cosine", l1=0.1, augment="digits").finalize()
    data, model = R.prepare_data_and_model(cfg)
    assert data.input_shape == (1, 8, 8) and data.n_outputs == 10 and data.metric == "accuracy"
    assert isinstance(model, nn.Module)
    opt = R.make_optimizer(cfg, model.parameters())
    assert isinstance(opt, optim.Momentum) and opt.param_groups[0]["rho"] == 0.9
    assert isinstance(R.make_scheduler(cfg, opt), S.CosineAnnealingLR)
    assert R.make_regularizer(cfg) is not None and R.make_augmenter(cfg, data.standardizer) is not None
    with pytest.raises(ConfigError, match="^--model lenet: .* \\(dataset iris\\)"):
        R.prepare_data_and_model(RunConfig(model="lenet", dataset="iris"))
    with pytest.raises(ConfigError, match="--distributed sync: run it with"):
        R.run(RunConfig(**TINY, distributed="sync"))


@pytest.mark.parametrize(
    ("mode", "size", "extra", "message"),
    [
        ("async", 1, {}, "needs at least 2 MPI ranks, got 1"),
        ("pipeline", 1, {}, "needs at least 2 MPI ranks, got 1"),
        ("sync", 3, {"batch_size": 32}, "must be divisible by the 3 ranks"),
        ("async", 2, {"early_stopping": 2}, "--early-stopping: not available with --distributed async"),
        ("pipeline", 2, {"l1": 0.1}, "--l1: not available with --distributed pipeline"),
    ],
)
def test_distributed_runner_checks_each_mode(mode: str, size: int, extra: dict, message: str) -> None:
    from kisonet.distributed.runner import _check

    with pytest.raises(ConfigError, match=message):
        _check(RunConfig(distributed=mode, **extra), size)
    _check(RunConfig(distributed=mode), 2 if mode != "sync" else 1)  # a fitting world passes


def test_distributed_runner_sync_on_one_rank(tmp_path: Path) -> None:
    pytest.importorskip("mpi4py")
    code = (
        "from kisonet.config import RunConfig\n"
        "from kisonet.distributed.runner import run_distributed\n"
        f"raise SystemExit(run_distributed(RunConfig(distributed='sync', out={str(tmp_path / 'r')!r}, "
        "model='mlp:8', epochs=1, progress=False, batch_size=64)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["distributed"] == "sync" and saved["format_version"] == FORMAT_VERSION
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["world_size"] == 1
