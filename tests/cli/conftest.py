"""Helpers for the command-line tests: run ``main(argv)`` in-process and capture its output."""

from __future__ import annotations

import pytest

from kisonet.cli import main


@pytest.fixture
def cli(capsys):
    """``cli(*argv) -> (exit_code, stdout, stderr)``."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """One short training run on digits shared by the run-folder, evaluate and predict tests."""
    out = tmp_path_factory.mktemp("runs") / "golden"
    code = main(["train", "--epochs", "3", "--out", str(out), "--no-progress", "--threads", "1"])
    assert code == 0
    return out
