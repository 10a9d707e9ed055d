"""Run folders you can trust (issue 20): no silent overwrite, a lock, a true status,
tamper-evident and code-free loading, a resume that checks what it resumes, and one
line with a documented exit code at every boundary.

Most cases are table-driven and run the command line in-process on tiny runs
(iris, ``mlp:8``, one or two epochs); the two-writer and SIGTERM cases use real
processes.  Every CLI case checks the exit code, one line on stderr without a
traceback, and that the files already in the folder are untouched when refused.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import runs
from kisonet.cli import EXIT_CODES, main
from kisonet.train import CHECKPOINT_KIND

TINY = ["--dataset", "iris", "--model", "mlp:8", "--epochs", "1", "--no-progress"]
SRC = str(Path(kn.__file__).resolve().parents[1])


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip() and "warning" not in ln]
    return len(lines) == 1 and "Traceback" not in err


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("runs") / "done"
    code, _, err = cli("train", *TINY, "--out", d)
    assert code == 0, err
    return d


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, finished) -> Path:
    """A folder as an interrupted `kisonet train` leaves it: config, history, checkpoint."""
    d = tmp_path_factory.mktemp("runs") / "stopped"
    d.mkdir()
    for name in ("config.json", "history.csv"):
        (d / name).write_bytes((finished / name).read_bytes())
    kn.save({"epoch": 1}, d / runs.CHECKPOINT, kind="checkpoint")
    (d / runs.STATUS).write_text(json.dumps({"status": "interrupted", "command": "kisonet train"}))
    return d


# --- 1. run folders: refuse, overwrite, lock, status ------------------------------------------


def test_out_refusals_touch_nothing(tmp_path, finished, interrupted, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("keep me")
    cases = [
        ("finished run", ["train", *TINY, "--out", finished], 2, "already holds a run (finished", finished),
        ("interrupted run", ["train", *TINY, "--out", interrupted], 2, "already holds a run (interrupted", interrupted),
        ("ensemble on a run", ["ensemble", *TINY, "--n-models", "2", "--out", finished], 2, "already holds", finished),
        ("a file", ["train", *TINY, "--out", tmp_path / "a_file"], 2, "is a file, not a folder", None),
        ("300-char name", ["train", *TINY, "--out", "x" * 300], 3, "too long", None),
    ]
    failures = []
    for name, argv, code, phrase, folder in cases:
        before = snapshot(folder) if folder else None
        rc, _, err = cli(*argv)
        if rc != code or phrase not in err or not one_line(err):
            failures.append(f"{name}: rc={rc} {err!r}")
        if folder is not None and snapshot(folder) != before:
            failures.append(f"{name}: the folder changed")
    assert (tmp_path / "a_file").read_text() == "keep me"
    assert not failures, "\n".join(failures)


def test_overwrite_replaces_and_status_follows_the_run(tmp_path):
    d = tmp_path / "r"
    assert cli("train", *TINY, "--out", d)[0] == 0
    assert runs.read_status(d)["status"] == "finished"
    assert not (d / runs.LOCK).exists()
    code, _, err = cli("train", *TINY, "--seed", "3", "--out", d, "--overwrite")
    assert code == 0, err
    assert json.loads((d / "config.json").read_text())["seed"] == 3
    # a NaN run: failed, never finished-looking, and evaluate says so
    code, _, err = cli("train", *TINY, "--lr", "1e38", "--optimizer", "sgd", "--out", tmp_path / "nan")
    assert code == 1
    st = runs.read_status(tmp_path / "nan")
    assert st["status"] == "failed" and "NaN" in st["message"]
    assert not (tmp_path / "nan" / "model.npz").exists() and not (tmp_path / "nan" / "metrics.json").exists()
    code, _, err = cli("evaluate", tmp_path / "nan")
    assert code == 2 and "failed" in err and one_line(err)


@pytest.mark.parametrize(
    ("error", "code", "phrase"),
    [
        (errno.EROFS, 3, "read-only"),
        (errno.EACCES, 3, "permission denied"),
        (errno.ENAMETOOLONG, 3, "too long"),
        (errno.ENOSPC, 3, "disk is full"),
    ],
)
def test_os_errors_creating_the_folder_are_one_line(tmp_path, monkeypatch, error, code, phrase):
    real = Path.mkdir

    def mkdir(self, *a, **k):
        if self.name == "new":
            raise OSError(error, os.strerror(error), str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    rc, _, err = cli("train", *TINY, "--out", tmp_path / "new")
    assert rc == code and phrase in err and one_line(err), err


def test_full_disk_mid_run_keeps_the_checkpoint_and_says_how_to_resume(tmp_path, monkeypatch):
    d = tmp_path / "r"
    calls = {"n": 0}
    real = kn.save

    def save(obj, path, kind="state"):
        if kind == CHECKPOINT_KIND:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(obj, path, kind=kind)

    monkeypatch.setattr(kn, "save", save)
    code, _, err = cli("train", *TINY, "--epochs", "3", "--out", d)
    assert code == 3
    assert "disk is full" in err and f"kisonet train --resume {d}" in err and "Traceback" not in err
    assert kn.load(d / runs.CHECKPOINT, kind=CHECKPOINT_KIND)["epoch"] == 1
    assert runs.read_status(d)["status"] == "interrupted"
    monkeypatch.undo()
    code, _, err = cli("train", "--resume", d, "--no-progress")
    assert code == 0, err
    assert runs.read_status(d)["status"] == "finished"


def test_lock_refuses_a_live_writer_and_takes_over_a_dead_ones(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    (d / runs.LOCK).write_text(json.dumps({"pid": os.getpid(), "host": runs._host(), "command": "kisonet train"}))
    code, _, err = cli("train", *TINY, "--out", d)
    assert code == 2 and "being written by pid" in err and one_line(err)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (d / runs.LOCK).write_text(json.dumps({"pid": dead.pid, "host": runs._host(), "command": "kisonet train"}))
    code, _, err = cli("train", *TINY, "--out", d)
    assert code == 0, err
    assert not (d / runs.LOCK).exists()


def test_two_writers_at_once_one_wins_cleanly(tmp_path):
    """Two real processes on one --out: one finishes, the other is refused with one line,
    and the folder holds the winner's config beside the winner's model."""
    d = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kisonet", "train", *TINY, "--epochs", "2", "--seed", str(s), "--out", str(d)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for s in (1, 2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    loser = next(e for c, e in results if c == 2)
    assert ("being written by" in loser or "already holds a run" in loser) and "Traceback" not in loser
    winner_seed = (1, 2)[[c for c, _ in results].index(0)]
    assert json.loads((d / "config.json").read_text())["seed"] == winner_seed
    assert runs.read_status(d)["status"] == "finished"
    model, std = runs.load(d)
    assert model is not None and std is not None


def test_sigterm_during_ensemble_marks_the_folder_interrupted(tmp_path):
    d = tmp_path / "ens"
    env = {**os.environ, "PYTHONPATH": SRC}
    p = subprocess.Popen(
        [sys.executable, "-m", "kisonet", "ensemble", "--dataset", "digits", "--model", "mlp:32", "--n-models", "5",
         "--epochs", "20", "--no-progress", "--out", str(d)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    for _ in range(600):
        if (d / runs.STATUS).exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    st = runs.read_status(d)
    assert st["status"] == "interrupted" and "SIGTERM" in st["message"]
    assert not (d / runs.LOCK).exists()


# --- 2. integrity ---------------------------------------------------------------------------


def _rewrite_meta(path: Path, edit) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("__meta__")[()]))
    edit(meta)
    np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)


def test_edited_metadata_fails_the_checksum(tmp_path, finished):
    model = tmp_path / "model.npz"
    model.write_bytes((finished / "model.npz").read_bytes())

    def set_activation(meta):
        for k, node in meta["structure"]["items"]:
            if k == "model_config":
                for kk, leaf in node["items"]:
                    if kk == "activation":
                        leaf["v"] = "sigmoid"

    _rewrite_meta(model, set_activation)
    with pytest.raises(kn.CheckpointError, match="checksum mismatch"):
        kn.load(model)


def test_metadata_fuzz_never_escapes_checkpoint_error(tmp_path):
    """Random edits of __meta__ (values, types, structure, version): CheckpointError or the
    exact original object, never another exception."""
    rng = np.random.default_rng(0)
    original = {"w": np.arange(4, dtype=np.float32), "cfg": {"act": "relu", "n": 3, "f": 0.5}, "t": (1, None)}
    base = tmp_path / "base.npz"
    kn.save(original, base)
    junk = [None, 0, -1, 2**70, 1.5, "x", "", [], {}, [1, 2], {"t": "dict"}, True, "nan"]

    def nodes(obj, out):
        if isinstance(obj, dict):
            out.append(obj)
            for v in obj.values():
                nodes(v, out)
        elif isinstance(obj, list):
            out.append(obj)
            for v in obj:
                nodes(v, out)
        return out

    for i in range(150):
        path = tmp_path / f"f{i}.npz"
        path.write_bytes(base.read_bytes())

        def edit(meta, i=i):
            targets = nodes(meta, [])
            t = targets[rng.integers(len(targets))]
            if isinstance(t, dict) and t:
                key = list(t)[rng.integers(len(t))]
                if rng.random() < 0.2:
                    del t[key]
                else:
                    t[key] = junk[rng.integers(len(junk))]
            elif isinstance(t, list) and t:
                t[rng.integers(len(t))] = junk[rng.integers(len(junk))]
            if i % 3 == 0:  # also forge a matching checksum: the structure checks must hold alone
                meta["format_version"] = 1

        _rewrite_meta(path, edit)
        try:
            got = kn.load(path)
        except kn.CheckpointError:
            continue
        assert isinstance(got, dict)


def test_old_format_1_files_still_load(tmp_path):
    """A file written before the checksum covered the metadata (format version 1)."""
    path = tmp_path / "old.npz"
    w = np.arange(3, dtype=np.float32)
    h = hashlib.sha256()
    h.update(b"w\0" + w.dtype.str.encode() + b"\0" + repr(w.shape).encode() + b"\0" + w.tobytes())
    meta = {
        "format": "kisonet",
        "format_version": 1,
        "kisonet_version": "0.1.0",
        "kind": "state",
        "checksum": "sha256:" + h.hexdigest(),
        "structure": {"t": "dict", "items": [["w", {"t": "array", "k": "w"}], ["n", {"t": "int", "v": 2}]]},
    }
    np.savez(path, __meta__=np.array(json.dumps(meta)), w=w)
    got = kn.load(path)
    assert got["n"] == 2 and np.array_equal(got["w"], w)


@pytest.mark.parametrize(
    "key",
    ["a/b", "a.b", "x" * 300, "ünï", "sp ace", "", "__meta__", "..", "a\0b", 7, -3, 2**70],
)
def test_every_key_save_accepts_loads_back(tmp_path, key):
    obj = {key: np.ones(2), "k": {key: "v"}}
    kn.save(obj, tmp_path / "k.npz")
    got = kn.load(tmp_path / "k.npz")
    assert list(got) == [key, "k"] and got["k"] == {key: "v"} and np.array_equal(got[key], np.ones(2))


@pytest.mark.parametrize("bad", [{"\udcff": 1}, {"k": "\ud800"}, {(1, 2): 1}, {True: 1}, {1.5: 1}])
def test_keys_that_cannot_round_trip_are_refused_at_save(tmp_path, bad):
    with pytest.raises(kn.KisonetTypeError, match="save"):
        kn.save(bad, tmp_path / "b.npz")
    assert not (tmp_path / "b.npz").exists()


def test_resume_refuses_an_edited_or_invalid_config(tmp_path):
    d = tmp_path / "r"
    real = kn.save

    def save(obj, path, kind="state"):  # stop after the first checkpoint, like a kill
        real(obj, path, kind=kind)
        if kind == CHECKPOINT_KIND:
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kn, "save", save)
        assert cli("train", *TINY, "--epochs", "3", "--out", d)[0] == 130
    assert runs.read_status(d)["status"] == "interrupted"
    cfg_path = d / "config.json"
    good = cfg_path.read_text()
    cases = [
        ({"optimizer": "sgd", "seed": 5}, "optimizer: 'adam' -> 'sgd', seed: 0 -> 5"),
        ({"lrr": 0.1}, "unknown option"),
        ({"epochs": -1}, "epochs"),
        ({"model": "evil:thing"}, "model: 'mlp:8' -> 'evil:thing'"),
    ]
    for edit, phrase in cases:
        cfg_path.write_text(json.dumps({**json.loads(good), **edit}))
        before = snapshot(d)
        code, _, err = cli("train", "--resume", d, "--no-progress")
        assert code == 2 and phrase in err and one_line(err), (edit, err)
        assert snapshot(d) == before, edit
    cfg_path.write_text(good)
    code, _, err = cli("train", "--resume", d, "--no-progress")
    assert code == 0, err


def test_optimizer_state_of_another_class_is_refused():
    m = kn.nn.Linear(2, 2)
    adam = kn.optim.Adam(m.parameters())
    (m(np.ones((1, 2), np.float32)).sum()).backward()
    adam.step()
    state = adam.state_dict()
    with pytest.raises(kn.KisonetValueError, match="Adam optimizer, not SGD"):
        kn.optim.SGD(m.parameters(), lr=0.1).load_state_dict(state)
    legacy = {k: v for k, v in state.items() if k != "optimizer"}  # saved before the class was recorded
    with pytest.raises(kn.KisonetValueError, match="another optimizer"):
        kn.optim.SGD(m.parameters(), lr=0.1).load_state_dict(legacy)
    kn.optim.Adam(m.parameters()).load_state_dict(legacy)


# --- 3. no code from files -------------------------------------------------------------------


def test_reading_a_folder_never_imports_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "ran"
    (tmp_path / "evilmod.py").write_text(
        f"import pathlib, kisonet as kn\npathlib.Path({str(marker)!r}).write_text('x')\n"
        "def build(input_shape, n_classes):\n    return kn.nn.Sequential(kn.nn.Linear(4, n_classes))\n"
    )
    d = tmp_path / "r"
    code, _, err = cli("train", *TINY, "--model", "evilmod:build", "--out", d)
    assert code == 0, err
    marker.unlink()
    sys.modules.pop("evilmod", None)
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    for argv in (["evaluate", d], ["predict", d, tmp_path / "x.npy"]):
        code, _, err = cli(*argv)
        assert code == 2 and "never imports code" in err and one_line(err), err
    with pytest.raises(kn.CheckpointError, match="never imports code"):
        runs.load(d)
    assert not marker.exists() and "evilmod" not in sys.modules
    # named by the user: built
    code, out, err = cli("predict", d, tmp_path / "x.npy", "--model", "evilmod:build")
    assert code == 0, err
    assert runs.load(d, model="evilmod:build").task == "classification"


# --- 4./5. inputs and the one boundary -----------------------------------------------------------


def test_predict_and_evaluate_input_checks(tmp_path, finished):
    arrays = {
        "nan": np.full((3, 4), np.nan, np.float32),
        "inf": np.array([[1, 2, 3, np.inf]], np.float32),
        "empty": np.zeros((0, 4), np.float32),
        "pixels": np.full((2, 4), 255.0, np.float32),
        "ok": np.array([[5.1, 3.5, 1.4, 0.2]], np.float32),
    }
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    os.mkfifo(tmp_path / "fifo.npy")
    cases = [
        ("nan", [], 2, "hold NaN"),
        ("inf", [], 2, "hold Inf"),
        ("empty", [], 2, "no samples"),
        ("pixels", ["--strict"], 2, "far outside the training data's range"),
        ("fifo", [], 2, "FIFO"),
        ("ok", ["--out", tmp_path / "p.xyz"], 2, "must end in one of"),
    ]
    for name, extra, code, phrase in cases:
        rc, _, err = cli("predict", finished, tmp_path / f"{name}.npy", *extra)
        assert rc == code and phrase in err and one_line(err), (name, err)
    rc, _, err = cli("predict", finished, tmp_path / "pixels.npy")
    assert rc == 0 and "warning" in err and "far outside" in err


def test_special_and_hostile_model_files(tmp_path):
    d = tmp_path / "fifo_run"
    d.mkdir()
    os.mkfifo(d / "model.npz")
    with pytest.raises(kn.CheckpointError, match="not a regular file"):
        kn.load(d / "model.npz")
    code, _, err = cli("evaluate", d)
    assert code == 2 and one_line(err)
    # a bzip2 entry (a decompression bomb in the wild) is refused before inflating
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("__meta__.npy", b"\0" * 10_000_000)
    with pytest.raises(kn.CheckpointError, match="compression method"):
        kn.load(bomb)
    assert bomb.stat().st_size < 10_000


@pytest.mark.parametrize(
    ("exc", "code", "phrase"),
    [
        (MemoryError(), 4, "out of memory"),
        (OSError(errno.EISDIR, "Is a directory", "x"), 3, "it is a folder"),
        (RuntimeError("boom"), 70, "internal error"),
        (kn.NumericalError("nan"), 1, "nan"),
    ],
)
def test_every_error_is_one_documented_line(monkeypatch, exc, code, phrase, tmp_path):
    from kisonet.cli import evaluate

    def boom(args):
        raise exc

    monkeypatch.setattr(evaluate, "run", boom)
    rc, _, err = cli("evaluate", tmp_path)
    assert rc == code and phrase in err and one_line(err), err
    assert code in EXIT_CODES


def test_readme_documents_every_exit_code():
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("**Exit codes.**", 1)[1].split("- **", 1)[0]
    for code in EXIT_CODES:
        assert str(code) in section, code


# --- 7./8. combinations, every kind of folder --------------------------------------------------


def test_batch_norm_with_a_last_batch_of_one(tmp_path):
    with pytest.warns(UserWarning, match="merged into the batch before"):
        loader = kn.data.DataLoader((np.ones((9, 2)), np.zeros(9)), batch_size=4, merge_last=True, seed=0)
    assert [len(x) for x, _ in loader] == [4, 5]
    # iris: 108 training samples in batches of 107 -> a lone last sample
    code, _, err = cli("train", *TINY, "--batch-norm", "--batch-size", "107", "--out", tmp_path / "bn")
    assert code == 0, err
    assert err.count("kisonet train: warning: DataLoader: 108 samples in batches of 107") == 1, err
    assert runs.read_status(tmp_path / "bn")["status"] == "finished"


def test_augment_preset_that_does_not_fit_is_refused_up_front(tmp_path):
    code, _, err = cli("train", "--dataset", "digits", "--augment", "cifar", "--out", tmp_path / "a", "--no-progress")
    assert code == 2 and "--augment cifar: does not fit" in err and one_line(err)
    assert not (tmp_path / "a").exists()


def test_every_kind_of_folder_evaluates_and_predicts(tmp_path, finished):
    from kisonet.compress import quantize_model, save_model

    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32)
    np.save(tmp_path / "x.npy", x)
    ens, ae, comp = tmp_path / "ens", tmp_path / "ae", finished / "compress-test"
    assert cli("ensemble", *TINY, "--n-models", "2", "--out", ens)[0] == 0
    code, _, err = cli(
        "autoencoder", "--dataset", "iris", "--encoder", "mlp:4", "--code", "2", "--epochs", "1", "--noise", "none",
        "--no-progress", "--out", ae,
    )  # fmt: skip
    assert code == 0, err
    loaded = runs.load(finished)
    comp.mkdir()
    mcfg = {k: v for k, v in loaded.model_config.items() if k != "input_range"}
    save_model(quantize_model(loaded.model, "int8"), comp / "model.npz", mcfg, loaded.standardizer.state_dict())
    for folder, kind in ((finished, "single"), (ens, "ensemble"), (ae, "autoencoder"), (comp, "compressed")):
        code, out, err = cli("evaluate", folder, "--json")
        assert code == 0, (kind, err)
        assert json.loads(out)["n_samples"] == 30
        for ext in (".npy", ".csv", ".json"):
            code, _, err = cli("predict", folder, tmp_path / "x.npy", "--out", tmp_path / f"{kind}{ext}")
            assert code == 0, (kind, err)
        a = np.load(tmp_path / f"{kind}.npy")
        assert np.array_equal(np.asarray(json.loads((tmp_path / f"{kind}.json").read_text())), a)
        assert np.allclose(np.loadtxt(tmp_path / f"{kind}.csv", delimiter=",", ndmin=1).reshape(a.shape), a, atol=1e-5)
        got = runs.load(folder).predict(x)
        assert np.allclose(got, a, atol=1e-6)
    assert np.load(tmp_path / "autoencoder.npy").shape == (2, 4)  # reconstructions
    model, std = runs.load(finished)
    assert isinstance(model, kn.nn.Module) and std is not None


# --- 6. MPI --------------------------------------------------------------------------------------


def _mpiexec() -> str | None:
    import shutil

    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


@pytest.mark.skipif(_mpiexec() is None, reason="no mpiexec")
def test_mpi_ranks_with_different_options_stop_naming_them(tmp_path):
    pytest.importorskip("mpi4py")
    base = [sys.executable, "-m", "kisonet", "train", "--distributed", "sync", *TINY, "--batch-size", "32"]
    cmd = [_mpiexec(), "-n", "1", *base, "--seed", "1", "--out", str(tmp_path / "r"), ":", "-n", "1", *base,
           "--seed", "2", "--lr", "0.5", "--out", str(tmp_path / "r")]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert p.returncode != 0
    assert "different options (lr, seed differ between rank 0 and rank 1)" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "r").exists()


# a rank killed or stopped, in each mode: test_mpi_ranks.py


@pytest.mark.skipif(_mpiexec() is None, reason="no mpiexec")
def test_mpi_async_run_whose_worker_failed_never_looks_finished(tmp_path):
    pytest.importorskip("mpi4py")
    out = tmp_path / "async"
    cmd = [_mpiexec(), "-n", "3", sys.executable, "-m", "kisonet", "train", "--distributed", "async", *TINY,
           "--epochs", "3", "--batch-size", "16", "--optimizer", "sgd", "--lr", "1e38", "--out", str(out)]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert p.returncode != 0
    assert "Traceback" not in p.stderr and "non-finite gradient" in p.stderr, p.stderr
    assert not (out / "model.npz").exists() and not (out / "metrics.json").exists()
    t0 = time.monotonic()  # rank 0 may outlive mpiexec by a moment while MPI ends it
    while runs.read_status(out)["status"] == "running" and time.monotonic() - t0 < 20:
        time.sleep(0.2)
    assert runs.read_status(out)["status"] == "failed"
