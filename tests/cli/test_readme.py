"""The README's promises: its set-up commands, its Python example (run on a small budget), its option table."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from kisonet.cli.options import TRAIN_OPTIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_setup_commands():
    first = _blocks("bash")[0].splitlines()
    assert first[0].startswith("pip install . && kisonet train")
    assert first[1].startswith('pip install -e ".[test]" && python -m pytest -m "not slow"')


def test_readme_python_example_runs(tmp_path, monkeypatch):
    example = next(b for b in _blocks("python") if "Trainer" in b and "plot_history" in b)
    assert "epochs=20" in example
    small = example.replace("epochs=20", "epochs=2")  # the same code on a CI budget
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(small, "README.md", "exec"), {"__name__": "__readme__"})
    acc = float(re.search(r"'accuracy': ([0-9.]+)", out.getvalue()).group(1))
    assert acc > 0.85
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert (tmp_path / "model.npz").exists()


def test_readme_option_table_lists_every_train_option():
    text = README.read_text()
    for opt in TRAIN_OPTIONS:
        assert f"| `--{opt.name}" in text, opt.name


def test_readme_small_cnn_block_builds_the_lecture_cnn():
    block = next(b for b in _blocks("python") if "nn.Conv2d(1, 30" in b)
    assert len(block.strip().splitlines()) <= 12
    out = io.StringIO()
    ns: dict = {"__name__": "__readme__"}
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), ns)
    cnn = ns["cnn"]
    assert cnn.num_parameters() == 30 * 25 + 30 + 4320 * 100 + 100 + 100 * 10 + 10
    assert "(1, 30, 24, 24)" in out.getvalue() and "(1, 10)" in out.getvalue()


def test_readme_cross_validation_block_runs(monkeypatch):
    block = next(b for b in _blocks("python") if "cross_validate" in b)
    small = block.replace("folds=5, epochs=10", "folds=2, epochs=1")
    assert small != block
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(small, "README.md", "exec"), {"__name__": "__readme__"})
    mean = float(out.getvalue().split()[0])
    assert 0.5 < mean <= 1.0


def test_readme_vanishing_gradient_commands_show_the_first_layer_vanish(tmp_path, capsys):
    """The README's deep sigmoid + Xavier command: layer 1's gradient is orders of magnitude below
    the last layer's and the net stays at chance; ReLU + He at the same depth keeps them of one order."""
    from kisonet.cli import main

    block = _blocks("bash")[1]
    cmds = [ln.split()[1:] for ln in block.splitlines() if ln.startswith("kisonet train") and "--grad-norms" in ln]
    assert len(cmds) == 2 and "sigmoid" in cmds[0] and "relu" in cmds[1]
    firsts = []
    for i, args in enumerate(cmds):
        out = tmp_path / str(i)
        assert main([*args, "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
        printed = capsys.readouterr().out
        ratio = float(re.search(r"first / last layer at step 1: (\S+)", printed).group(1))
        header = (out / "history.csv").read_text().splitlines()[0].split(",")
        assert [h for h in header if h.startswith("grad_norm_l")] == [f"grad_norm_l{k}" for k in range(1, 8)]
        metrics = (out / "metrics.json").read_text()
        firsts.append((ratio, float(re.search(r'"test_accuracy": ([0-9.]+)', metrics).group(1))))
    (sig_ratio, sig_acc), (relu_ratio, relu_acc) = firsts
    assert sig_ratio < 1e-3 and sig_acc < 0.2  # vanished: layer 1 barely moves, the net stays at chance
    assert relu_ratio > 0.1 and relu_acc > 0.8
