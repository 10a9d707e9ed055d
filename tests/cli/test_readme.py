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
