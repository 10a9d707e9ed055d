"""MPI ranks that die or stop (issue 20, item 6), in each of the three modes.

- SIGKILL of one rank: mpiexec SIGKILLs the others about 5 ms later, before any of them
  can run a line; each rank's watcher process (kisonet.distributed.lastwords) prints the
  rank's own line, rank 0's names the run folder (marked failed) and its last good checkpoint.
- SIGSTOP of one rank: the heartbeats find it silent within --rank-timeout (3 s here);
  every other rank prints its own line naming it, then the job is aborted.

The three modes run concurrently in one test per signal (the waits overlap), on digits
with mlp:32, so the whole file takes two launches' time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import runs
from kisonet.train import CHECKPOINT_KIND

SRC = str(Path(kn.__file__).resolve().parents[1])
TIMEOUT = 3  # --rank-timeout of these runs


def _mpiexec() -> str | None:
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(
    _mpiexec() is None or not Path("/proc/self/environ").exists(), reason="no mpiexec or /proc"
)


def _rank_pids(out: str) -> dict[int, int]:
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_text()
            if out in cmd and "kisonet" in cmd and "mpiexec" not in cmd:
                env = Path(f"/proc/{pid}/environ").read_text().split("\0")
                rank = [e for e in env if e.startswith("PMI_RANK=")]
                if rank:
                    found[int(rank[0].split("=")[1])] = int(pid)
    return found


def _hit(tmp_path: Path, sig: str, cases: list[tuple[str, int, int, list[str]]]) -> list[dict]:
    """Launch every case at once; as soon as a case's first checkpoint is written, send ``sig``
    to its victim rank; return each case's exit code, stderr, seconds from the signal to the
    end of mpiexec, folder and victim's pid."""
    pytest.importorskip("mpi4py")
    jobs = []
    for mode, n, victim, extra in cases:
        out = str(tmp_path / f"{mode}-{sig}")
        cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "kisonet", "train", "--distributed", mode,
               "--dataset", "digits", "--model", "mlp:32", "--batch-size", "32", "--no-progress",
               "--rank-timeout", str(TIMEOUT), "--out", out, *extra]  # fmt: skip
        err = open(tmp_path / f"{mode}-{sig}.err", "w+")  # noqa: SIM115 (closed below)
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONPATH": SRC})
        jobs.append({"mode": mode, "n": n, "victim": victim, "out": out, "p": p, "err": err, "t": None})
    try:
        t0 = time.monotonic()
        while any(j["t"] is None for j in jobs) and time.monotonic() - t0 < 120:
            for j in jobs:
                if j["t"] is None and Path(j["out"], runs.CHECKPOINT).exists():
                    pids = _rank_pids(j["out"])
                    assert len(pids) == j["n"], (j["mode"], pids, j["p"].poll())
                    j["pid"] = pids[j["victim"]]
                    os.kill(j["pid"], getattr(signal, sig))
                    j["t"] = time.monotonic()
            time.sleep(0.05)
        for j in jobs:
            assert j["t"] is not None, f"{j['mode']}: no checkpoint within 120 s"
            j["code"] = j["p"].wait(timeout=60)
            j["waited"] = time.monotonic() - j["t"]
            j["err"].seek(0)
            j["stderr"] = j["err"].read()
    finally:
        for j in jobs:
            with contextlib.suppress(Exception):
                j["p"].kill()
            j["err"].close()
            for pid in _rank_pids(j["out"]).values():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    return jobs


def _lines(stderr: str, n: int) -> dict[int, str]:
    """Each rank's ``kisonet: rank r/N: ...`` line (exactly one per rank that spoke)."""
    said: dict[int, list[str]] = {}
    for line in stderr.splitlines():
        for r in range(n):
            if line.startswith(f"kisonet: rank {r}/{n}: "):
                said.setdefault(r, []).append(line)
    assert all(len(v) == 1 for v in said.values()), said
    return {r: v[0] for r, v in said.items()}


def _folder_failed_with_checkpoint(out: str) -> None:
    assert runs.read_status(out)["status"] == "failed", runs.read_status(out)
    assert kn.load(Path(out, runs.CHECKPOINT), kind=CHECKPOINT_KIND)["epoch"] >= 1
    assert not Path(out, runs.METRICS).exists() and not Path(out, runs.MODEL).exists()


@needs_mpi
def test_sigkill_of_a_rank_every_rank_says_its_line_folder_failed_checkpoint_kept(tmp_path):
    long = ["--epochs", "300"]
    jobs = _hit(
        tmp_path,
        "SIGKILL",
        [("sync", 2, 1, ["--epochs", "8"]), ("async", 2, 1, long), ("pipeline", 2, 0, long)],
    )
    for j in jobs:
        mode, n, victim, err = j["mode"], j["n"], j["victim"], j["stderr"]
        assert j["code"] != 0 and j["waited"] < 30, (mode, j["code"], j["waited"], err)
        assert "Traceback" not in err, err
        said = _lines(err, n)
        assert set(said) == set(range(n)), (mode, err)  # the killed rank's watcher speaks too
        for r in range(n):
            if r != victim:  # named (by the rank, or by its watcher that saw the victim die first), else by PID
                assert f"rank {victim} " in said[r] or f"{victim}={j['pid']}" in said[r], (mode, err)
        assert "marked failed" in said[0] and runs.CHECKPOINT in said[0], (mode, said[0])
        _folder_failed_with_checkpoint(j["out"])
    sync = jobs[0]
    assert f"resume with mpiexec -n 2 kisonet train --resume {sync['out']}" in _lines(sync["stderr"], 2)[0]
    resume = [_mpiexec(), "-n", "2", sys.executable, "-m", "kisonet", "train", "--resume", sync["out"], "--no-progress"]
    r = subprocess.run(resume, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert r.returncode == 0, r.stderr
    assert runs.read_status(sync["out"])["status"] == "finished" and not Path(sync["out"], runs.CHECKPOINT).exists()
    assert len(runs.read_history(sync["out"])["train_loss"]) == 8


@needs_mpi
def test_sigstop_of_a_rank_is_detected_within_rank_timeout_and_every_other_rank_names_it(tmp_path):
    long = ["--epochs", "500"]
    jobs = _hit(
        tmp_path,
        "SIGSTOP",
        [("sync", 3, 1, ["--epochs", "500", "--batch-size", "30"]), ("async", 2, 1, long), ("pipeline", 2, 1, long)],
    )
    for j in jobs:
        mode, n, victim, err = j["mode"], j["n"], j["victim"], j["stderr"]
        # detection after TIMEOUT s of silence (beats every 0.5 s), 1.5 s for every rank to print, then the abort
        assert j["code"] != 0 and TIMEOUT <= j["waited"] < TIMEOUT + 20, (mode, j["code"], j["waited"], err)
        assert "Traceback" not in err, err
        said = _lines(err, n)
        for r in range(n):
            if r != victim:
                assert f"rank {victim} stopped responding (no heartbeat for" in said.get(r, ""), (mode, r, err)
        assert "marked failed" in said[0] and runs.CHECKPOINT in said[0], (mode, said[0])
        if mode == "sync":
            assert "resume with mpiexec -n 3 kisonet train --resume" in said[0]
        else:
            assert f"--distributed {mode} runs do not resume" in said[0]
        _folder_failed_with_checkpoint(j["out"])


def test_distributed_loader_merges_a_lone_last_sample_under_batch_norm_on_every_rank():
    """Shards of 647 samples in batches of 17 end with one sample: every rank merges it
    (same number of steps everywhere), the shard of sampler rank 0 says so once."""
    from kisonet.distributed import DistributedLoader, DistributedSampler

    X, y = np.arange(1293 * 2, dtype=np.float32).reshape(1293, 2), np.arange(1293) % 3
    shards = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for r in range(2):
            loader = DistributedLoader((X, y), 17, DistributedSampler(1293, 2, r, seed=0), merge_last=True)
            shards.append([len(xb) for xb, _ in loader])
    said = [w for w in caught if "DistributedLoader" in str(w.message)]
    assert len(said) == 1 and "merged into the batch before (18 samples)" in str(said[0].message)
    assert shards[0] == shards[1] == [17] * 37 + [18]
    assert len(loader) == 38
    plain = DistributedLoader((X, y), 17, DistributedSampler(1293, 2, 0, seed=0))
    assert [len(xb) for xb, _ in plain][-2:] == [17, 1] and len(plain) == 39
    # nothing to merge into: a shard of one sample stays one batch
    assert len(DistributedLoader((X[:2], y[:2]), 4, DistributedSampler(2, 2, 0), merge_last=True)) == 1


@needs_mpi
def test_a_refusal_every_rank_agrees_on_is_said_once_with_exit_2(tmp_path):
    """An --out that holds a run, options that differ between ranks, a batch the ranks
    cannot share, a bad option value: rank 0 says it in one line and every rank ends with exit 2 (no MPI_Abort,
    whose own line and exit 1 would follow)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    base = [sys.executable, "-m", "kisonet", "train", "--dataset", "iris", "--model", "mlp:8", "--epochs", "1",
            "--no-progress", "--distributed", "sync"]  # fmt: skip
    held = tmp_path / "held"
    subprocess.run([*base[:-2], "--out", str(held)], env=env, check=True, capture_output=True, timeout=120)
    before = {p.name: p.read_bytes() for p in held.iterdir() if p.is_file()}
    cases = {
        "holds a run": [_mpiexec(), "-n", "2", *base, "--out", str(held)],
        "different options": [
            _mpiexec(),
            "-genv",
            "PYTHONPATH",
            SRC,
            "-n",
            "1",
            *base,
            "--lr",
            "0.1",
            "--out",
            str(tmp_path / "a"),
            ":",
            "-n",
            "1",
            *base,
            "--lr",
            "0.2",
            "--out",
            str(tmp_path / "a"),
        ],  # fmt: skip
        "must be divisible": [_mpiexec(), "-n", "3", *base, "--batch-size", "32", "--out", str(tmp_path / "b")],
        # refused by the option parser on every rank before MPI starts: the ranks meet once, rank 0 says it
        "--max-staleness": [
            _mpiexec(),
            "-n",
            "2",
            *base[:-1],
            "async",
            "--max-staleness",
            "-1",
            "--out",
            str(tmp_path / "b"),
        ],
    }
    for phrase, argv in cases.items():
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2, (phrase, proc.returncode, proc.stderr)
        assert len(lines) == 1 and phrase in lines[0], (phrase, lines)
        assert "Abort" not in proc.stderr
    assert {p.name: p.read_bytes() for p in held.iterdir() if p.is_file()} == before
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
