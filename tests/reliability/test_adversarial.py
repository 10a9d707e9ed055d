"""The table-driven subset of the adversarial pass (tools/adversarial.py, docs/reliability.md).

Each row is a command line a demanding user tried, what it must do (exit code, the phrase of
its one-line message) and, where the case needs one, the folder it runs in.  The command line
runs in-process; the files there before must be unchanged afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kisonet.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
TINY = ["--dataset", "iris", "--model", "mlp:8", "--epochs", "1", "--no-progress"]


def cli(*argv, cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
            code = main([str(a) for a in argv])
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".kisonet")
    }


# (name, files to write {path: bytes}, argv, exit code, phrase in the one-line message)
CONFIG_CASES = [
    ("toml-bom", {"c.toml": "\ufeffepochs = 1\n".encode()}, ["--dataset", "nope"], 2, "unknown dataset"),
    ("toml-binary", {"c.toml": b"\x00\xff\xfe" * 50}, [], 2, "not UTF-8 text"),
    ("toml-newer", {"c.toml": b"format_version = 99\nepochs = 1\n"}, [], 2, "newer kisonet"),
    ("json-newer", {"c.json": b'{"format_version": 99}'}, [], 2, "newer kisonet"),
    ("json-bom", {"c.json": '\ufeff{"dataset": "nope"}'.encode()}, [], 2, "unknown dataset"),
    ("toml-version-text", {"c.toml": b'format_version = "2"\n'}, [], 2, "format_version"),
    ("toml-wrong-type", {"c.toml": b'epochs = "ten"\n'}, [], 2, "epochs"),
    ("json-wrong-type", {"c.json": b'{"epochs": "ten"}'}, [], 2, "epochs"),
    ("toml-nan-lr", {"c.toml": b"lr = nan\n"}, [], 2, "lr"),
    ("toml-huge-epochs", {"c.toml": b"epochs = 100000000000000000000\n"}, [], 2, "epochs"),
]


@pytest.mark.parametrize("name,files,extra,code,phrase", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_files(tmp_path, name, files, extra, code, phrase):
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    before = hashes(tmp_path)
    rc, _, err = cli("train", "--config", next(iter(files)), "--out", "run", "--no-progress", *extra, cwd=tmp_path)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == code and len(lines) == 1 and phrase in err and "Traceback" not in err, err
    assert hashes(tmp_path) == before and not (tmp_path / "run").exists()


def test_output_piped_into_head_is_quiet():
    """`kisonet experiment --list | head -1`: the reader leaves; no 'Broken pipe' error line."""
    env = {**os.environ, "PYTHONPATH": SRC}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        p = subprocess.run(
            [sys.executable, "-m", "kisonet", "experiment", "--list"], stdout=write_end, stderr=subprocess.PIPE,
            env=env, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert p.returncode == 0 and b"Broken pipe" not in p.stderr and b"Traceback" not in p.stderr, p.stderr


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("adv") / "tiny"
    code, _, err = cli("train", *TINY, "--out", d, cwd=d.parent)
    assert code == 0, err
    return d


def _npy_declaring_terabytes() -> bytes:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 4), }"
    header = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


# (name, input file name, its bytes, extra argv, exit code, phrase (None: must print the predictions))
PREDICT_CASES = [
    ("csv", "x.csv", b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", [], 0, None),
    ("json", "x.json", b"[[5.1, 3.5, 1.4, 0.2]]", [], 0, None),
    ("json-text", "x.json", b'[[5.1, "a", 1.4, 0.2]]', [], 2, "not a JSON array of numbers"),
    ("csv-text", "x.csv", b"a,b,c,d\n", [], 2, "not a CSV file of numbers"),
    ("random-bytes", "x.npy", bytes(range(256)), [], 2, "no .npy header"),
    ("header-lies", "x.npy", _npy_declaring_terabytes(), [], 2, "declares an array of shape (1000000000000, 4)"),
    ("out-is-folder", "x.csv", b"5.1,3.5,1.4,0.2\n", ["--out", "d.npy"], 2, "is a folder"),
]


@pytest.mark.parametrize("name,file,data,extra,code,phrase", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
def test_predict_inputs(tmp_path, tiny, name, file, data, extra, code, phrase):
    (tmp_path / file).write_bytes(data)
    (tmp_path / "d.npy").mkdir()
    before = hashes(tmp_path)
    rc, out, err = cli("predict", tiny, file, *extra, cwd=tmp_path)
    assert rc == code and "Traceback" not in err, err
    if phrase is None:
        assert err == "" and out.strip(), err
    else:
        assert phrase in err and len(err.strip().splitlines()) == 1, err
    assert hashes(tmp_path) == before


def test_special_files_are_never_replaced(tmp_path, tiny):
    import kisonet as kn

    (tmp_path / "x.csv").write_bytes(b"5.1,3.5,1.4,0.2\n")
    os.mkfifo(tmp_path / "out.npy")
    rc, _, err = cli("predict", tiny, "x.csv", "--out", "out.npy", cwd=tmp_path)
    assert rc == 3 and "FIFO" in err and len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "out.npy").is_fifo()
    (tmp_path / "d").mkdir()
    with pytest.raises(kn.KisonetIOError, match="is a folder"):
        kn.save({"a": 1}, tmp_path / "d")
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["k"] = {}
        node = node["k"]
    with pytest.raises(kn.KisonetError, match="nested too deeply"):
        kn.save(deep, tmp_path / "deep.npz")
    assert not (tmp_path / "deep.npz").exists()


def test_other_boundaries(tmp_path, tiny):
    from kisonet import runs

    cases = [
        (["augment", "--dataset", "iris", "--out", "a"], 2, "rows of features, not images"),
        (["train", *TINY, "--seed", str(2**70), "--out", "r"], 2, "fits in 64 bits"),
        (["experiment", "weight-init", "--quick", "--out", "f"], 3, "not a folder"),
    ]
    (tmp_path / "f").write_text("mine")
    for argv, code, phrase in cases:
        rc, _, err = cli(*argv, cwd=tmp_path)
        assert rc == code and phrase in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert not (tmp_path / "a").exists() and not (tmp_path / "r").exists() and (tmp_path / "f").read_text() == "mine"
    # a folder a live process writes: --overwrite cannot take it, and the message says why
    held = runs.RunFolder.open(tmp_path / "busy", "kisonet train")
    try:
        rc, _, err = cli("train", *TINY, "--out", "busy", "--overwrite", cwd=tmp_path)
        assert rc == 2 and "is locked: being written by pid" in err and "--overwrite" not in err, err
    finally:
        held.close()


def test_nan_guard_says_it_in_one_error_line(tmp_path):
    rc, _, err = cli("train", *TINY, "--lr", "1e38", "--out", "r", cwd=tmp_path)
    errors = [ln for ln in err.splitlines() if ln.strip() and ": note:" not in ln and ": warning:" not in ln]
    assert rc == 1 and len(errors) == 1 and "NaN/Inf guard" in errors[0], err
    assert "note: try a smaller --lr" in err and not (tmp_path / "r" / "model.npz").exists()
