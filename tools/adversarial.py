"""An adversarial pass over kisonet, as a demanding (or hostile) user would try it.

    python tools/adversarial.py                  # every case, 2 at a time, a table at the end
    python tools/adversarial.py --jobs 1 -k resume -k predict   # the cases whose name holds a word
    python tools/adversarial.py --list           # the cases, one a line
    python tools/adversarial.py --json out.json  # every outcome, machine-readable

Every case runs in its own process (``python -m kisonet ...``, a Python snippet, or
``mpiexec``) in a fresh folder, with a timeout and an address-space limit
(``RLIMIT_AS``), and is classified automatically:

clean        the expected outcome (exit 0, or a refusal with a documented exit code and
             ONE line on stderr, the expected phrase in it), no traceback, and every file
             that was there before and must survive has the same SHA-256 afterwards
traceback    a Python traceback on stderr, exit 70 (an internal error), an undocumented
             exit code, or an error that takes more than one line
wrong        a silently wrong result: exit 0 where it must refuse, a refusal of a valid
             command, another exit code than documented for the case, or output that
             the case's own check finds wrong
lost         a file that must survive was changed, truncated or deleted
hang         no end within the case's timeout (the process group is then killed)
memory       out of memory (exit 4, MemoryError, killed) or a peak resident size above
             --max-rss-mb, where the case does not allow it

It is not part of the test suite (a full pass takes several minutes); the table-driven
subset that guards the important cases lives in tests/reliability/.  The full disk is a
2 MB tmpfs when the pass runs as root and may mount one, else RLIMIT_FSIZE.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PY = sys.executable
DOCUMENTED = {0, 1, 2, 3, 4, 70, 130, 143}
OUTCOMES = ("clean", "traceback", "wrong", "lost", "hang", "memory")
TINY = ["--dataset", "iris", "--model", "mlp:8", "--epochs", "1", "--no-progress"]
API_PRELUDE = """\
import sys, json, os, numpy as np
import kisonet as kn
from kisonet import runs
def refuse(e):
    print(f"{type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
    sys.exit(2)
try:
"""
API_EPILOGUE = """
except kn.KisonetError as e:
    refuse(e)
"""


@dataclass
class Result:
    code: int | None
    out: str
    err: str
    seconds: float
    max_rss_mb: float
    timed_out: bool = False


@dataclass
class Case:
    """One attempt: ``argv`` after ``kisonet`` (or ``py`` a snippet of the Python API, or
    ``cmd`` a full command line), what it must do (``expect``: 'ok' or 'refuse' with
    ``codes``), the phrase its message must hold, what to prepare (``setup(ws)``) and
    what else to verify (``check(ws, result)`` returns a problem or None)."""

    group: str
    name: str
    argv: list[str] | None = None
    py: str | None = None
    cmd: list[str] | None = None
    expect: str = "refuse"
    codes: tuple[int, ...] = (2,)
    phrase: str | None = None
    setup: Callable[[Path], Any] | None = None
    check: Callable[[Path, Result], str | None] | None = None
    keep: bool = True  # files present before must be unchanged (except `changes`)
    changes: tuple[str, ...] = ()  # relative paths (prefixes) allowed to change
    timeout: float = 90.0
    mem_mb: int = 3000
    fsize: int | None = None
    signal_when: tuple[str, int, float] | None = None  # (file to wait for, signal, extra delay)
    env: dict[str, str] = field(default_factory=dict)
    allow_memory: bool = False
    ranks: int | None = None  # an MPI run that must end with one line from each of its ranks (#20 item 6)


# --- fixtures, built once per pass -------------------------------------------------------------


class Fixtures:
    def __init__(self, root: Path) -> None:
        self.root = root / "fixtures"
        self.root.mkdir(parents=True, exist_ok=True)

    def build(self) -> None:
        r = self.root
        steps = [
            ["train", *TINY, "--epochs", "2", "--out", r / "tiny"],
            ["train", "--dataset", "digits", "--model", "mlp:16", "--epochs", "1", "--no-progress", "--out", r / "digits"],
            ["train", "--dataset", "diabetes", "--model", "mlp:8", "--epochs", "1", "--no-progress", "--out", r / "reg"],
            ["ensemble", *TINY, "--n-models", "2", "--out", r / "ens"],
            ["autoencoder", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out", r / "ae"],
            ["compress", "quantize", r / "tiny", "--out", r / "comp", "--no-progress", "--bits", "8"],
        ]
        # an interrupted run: SIGINT once its first checkpoint is written
        d = r / "stopped"
        argv = ["train", "--dataset", "digits", "--model", "mlp:64,64", "--epochs", "400", "--no-progress", "--out", d]
        proc = subprocess.Popen(kisonet_cmd(argv), env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # the others side by side (compress reads `tiny`, so it comes last)
        procs = [(a, subprocess.Popen(kisonet_cmd(a), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=base_env()))
                 for a in steps[:-1]]  # fmt: skip
        procs.append((steps[-1], None))
        for argv_, p in procs:
            if p is None:
                p = subprocess.Popen(kisonet_cmd(argv_), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=base_env())
            _, err = p.communicate(timeout=900)
            if p.returncode != 0:
                raise SystemExit(f"fixture {argv_} failed: {err.decode(errors='replace').strip()[-500:]}")
        t0 = time.time()
        while not (d / "checkpoint.npz").exists() and time.time() - t0 < 120 and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        if not (d / "checkpoint.npz").exists() or (d / "model.npz").exists():
            raise SystemExit(f"fixture 'stopped' not interrupted as expected (exit {proc.returncode})")
        rng = np.random.default_rng(0)
        arrays = {
            "iris_ok": np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32),
            "iris_nan": np.array([[5.1, np.nan, 1.4, 0.2]], np.float32),
            "iris_inf": np.array([[5.1, 3.5, np.inf, 0.2]], np.float32),
            "iris_empty": np.zeros((0, 4), np.float32),
            "iris_big": np.full((2, 4), 1e30, np.float32),
            "iris_f64_overflow": np.full((1, 4), 1e300, np.float64),
            "iris_shape": np.ones((2, 5), np.float32),
            "iris_3d": np.ones((2, 2, 2), np.float32),
            "iris_int": np.array([[5, 3, 1, 0]], np.int64),
            "iris_bool": np.ones((1, 4), bool),
            "iris_str": np.array([["a", "b", "c", "d"]]),
            "iris_complex": np.ones((1, 4), np.complex64),
            "iris_scalar": np.float32(1.0),
            "iris_one": np.array([5.1, 3.5, 1.4, 0.2], np.float32),
            "iris_many": rng.uniform(0, 7, size=(20000, 4)).astype(np.float32),
            "digits_ok": rng.uniform(0, 1, size=(5, 1, 8, 8)).astype(np.float32),
            "digits_255": rng.uniform(0, 255, size=(5, 1, 8, 8)).astype(np.float32),
            "digits_flat": rng.uniform(0, 1, size=(5, 64)).astype(np.float32),
            "diab_ok": rng.normal(0, 0.05, size=(3, 10)).astype(np.float32),
        }
        inp = r / "inputs"
        inp.mkdir(exist_ok=True)
        for k, a in arrays.items():
            np.save(inp / f"{k}.npy", a)
        np.save(inp / "iris_object.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
        with open(inp / "iris_npz.npy", "wb") as f:  # an .npz archive named .npy
            np.savez(f, a=arrays["iris_ok"])
        (inp / "iris.csv").write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
        (inp / "iris.json").write_text("[[5.1,3.5,1.4,0.2]]\n")
        (inp / "garbage.npy").write_bytes(os.urandom(300))
        (inp / "empty.npy").write_bytes(b"")
        # an .npy header that declares 10**12 float64 values in a file of a few bytes
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 4), }"
        header = header + " " * (118 - len(header)) + "\n"
        (inp / "huge_header.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(SRC), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(KISONET_LANG="en", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    env.pop("KISONET_TRACEBACK", None)
    return env


def kisonet_cmd(argv: list[Any]) -> list[str]:
    return [PY, "-m", "kisonet", *(str(a) for a in argv)]


# --- running one case ----------------------------------------------------------------------------


def hash_tree(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, files in os.walk(folder, followlinks=False):
        for name in files:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file() or name.startswith(".kisonet"):
                continue
            with contextlib.suppress(OSError):
                out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_process(argv: list[str], cwd: Path, case: Case) -> Result:
    env = {**base_env(), **case.env}
    mem = case.mem_mb * 1024 * 1024

    def limits() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        if case.fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.fsize, case.fsize))

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        preexec_fn=limits,
    )  # fmt: skip
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def reader(stream: Any, key: str) -> None:
        for block in iter(lambda: stream.read(65536), b""):
            if sum(map(len, chunks[key])) < 1 << 20:
                chunks[key].append(block)

    threads = [threading.Thread(target=reader, args=(s, k), daemon=True) for s, k in ((proc.stdout, "out"), (proc.stderr, "err"))]
    for t in threads:
        t.start()
    signalled = case.signal_when is None
    status = rusage = None
    timed_out = False
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if not signalled:
            target, signum, delay = case.signal_when
            if (cwd / target).exists():
                time.sleep(delay)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
                signalled = True
        if time.perf_counter() - t0 > case.timeout:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            pid, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError):  # leftovers of the group (mpiexec's ranks)
        os.killpg(proc.pid, signal.SIGKILL)
    for t in threads:
        t.join(5)
    return Result(
        proc.returncode,
        b"".join(chunks["out"]).decode(errors="replace"),
        b"".join(chunks["err"]).decode(errors="replace"),
        time.perf_counter() - t0,
        rusage.ru_maxrss / 1024,
        timed_out,
    )


def error_lines(err: str) -> list[str]:
    """The lines of stderr that are not warnings, notes or progress."""
    keep = []
    for ln in err.splitlines():
        s = ln.strip()
        if not s or ": warning:" in s or ": note:" in s or s.startswith(("warning", "note", "\r")) or "it/s" in s:
            continue
        keep.append(s)
    return keep


def classify(case: Case, r: Result, before: dict[str, str], after: dict[str, str], max_rss_mb: float) -> tuple[str, str]:
    if r.timed_out:
        return "hang", f"no end after {case.timeout:g} s"
    mem_signs = r.code in (4, -9, -11, -6) or "MemoryError" in r.err or "out of memory" in r.err
    if not case.allow_memory and (mem_signs or r.max_rss_mb > max_rss_mb):
        return "memory", f"exit {r.code}, peak {r.max_rss_mb:.0f} MB: {r.err.strip()[-200:]}"
    if "Traceback (most recent call last)" in r.err or r.code == 70 or r.code not in {*DOCUMENTED, *case.codes}:
        tail = r.err.strip().splitlines()[-1:] or [""]
        return "traceback", f"exit {r.code}: {tail[0][:300]}"
    lost = [k for k, h in before.items() if not any(k.startswith(c) for c in case.changes) and after.get(k) != h]
    if case.keep and lost:
        return "lost", f"changed or removed: {', '.join(sorted(lost)[:5])}"
    lines = error_lines(r.err)
    if case.expect == "ok":
        if r.code != 0:
            return "wrong", f"refused a valid command (exit {r.code}): {' | '.join(lines)[:300]}"
    else:
        if r.code == 0:
            return "wrong", f"exit 0 where it must refuse (exit {case.codes}); stderr: {r.err.strip()[:200]}"
        if r.code not in case.codes:
            return "wrong", f"exit {r.code}, expected {case.codes}: {' | '.join(lines)[:300]}"
        if case.ranks is not None:  # every rank ends with its own line, tagged with its rank
            tags = sorted(m.groups() for m in (re.match(r"kisonet: rank (\d+)/(\d+):", x) for x in lines) if m)
            if len(lines) != case.ranks or tags != [(str(k), str(case.ranks)) for k in range(case.ranks)]:
                return "traceback", f"{len(lines)} error lines, not one per rank: {' | '.join(lines)[:300]}"
        elif len(lines) != 1:
            return "traceback", f"{len(lines)} error lines: {' | '.join(lines)[:300]}"
    if case.phrase and case.phrase.lower() not in (r.err + r.out).lower():
        return "wrong", f"message lacks {case.phrase!r}: {' | '.join(lines)[:300] or r.out.strip()[:200]}"
    return "clean", ""


def run_case(case: Case, root: Path, fx: Fixtures, max_rss_mb: float) -> dict[str, Any]:
    ws = root / "cases" / case.name
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    ctx = Ctx(ws, fx.root)
    try:
        if case.setup is not None:
            case.setup(ctx)
    except Exception as e:  # a broken case, not a kisonet outcome
        for m in ctx.mounts:
            subprocess.run(["umount", str(m)], capture_output=True)
        return {"group": case.group, "name": case.name, "outcome": "setup-error", "detail": repr(e), "seconds": 0.0}
    before = hash_tree(ws)
    if case.py is not None:
        body = textwrap.indent(textwrap.dedent(case.py).strip("\n"), "    ")
        argv = [PY, "-c", API_PRELUDE + body + API_EPILOGUE]
    elif case.cmd is not None:
        argv = [str(a).replace("{PY}", PY) for a in case.cmd]
    else:
        argv = kisonet_cmd([str(a).replace("{FX}", str(fx.root)) for a in case.argv or []])
    r = run_process(argv, ws, case)
    after = hash_tree(ws)
    outcome, detail = classify(case, r, before, after, max_rss_mb)
    if outcome == "clean" and case.check is not None:
        try:
            problem = case.check(ctx, r)
        except Exception as e:
            problem = f"check failed: {e!r}"
        if problem:
            outcome, detail = "wrong", problem
    for m in ctx.mounts:
        subprocess.run(["umount", str(m)], capture_output=True)
    with contextlib.suppress(OSError):
        _make_writable(ws)
    return {
        "group": case.group, "name": case.name, "outcome": outcome, "detail": detail, "exit": r.code,
        "seconds": round(r.seconds, 2), "max_rss_mb": round(r.max_rss_mb), "stderr": r.err.strip()[-600:],
    }  # fmt: skip


def _make_writable(ws: Path) -> None:
    for dirpath, dirnames, _ in os.walk(ws):
        for d in dirnames:
            p = Path(dirpath) / d
            if not p.is_symlink():
                os.chmod(p, 0o755)
    os.chmod(ws, 0o755)


class Ctx:
    """What a case's setup and check see: its folder ``ws`` and the fixtures ``fx``."""

    def __init__(self, ws: Path, fx: Path) -> None:
        self.ws, self.fx = ws, fx
        self.mounts: list[Path] = []

    def copy(self, name: str, dest: str | None = None) -> Path:
        d = self.ws / (dest or name)
        shutil.copytree(self.fx / name, d, symlinks=True)
        return d

    def input(self, name: str, dest: str | None = None) -> Path:
        d = self.ws / (dest or name)
        shutil.copy(self.fx / "inputs" / name, d)
        return d

    def read_json(self, rel: str) -> Any:
        return json.loads((self.ws / rel).read_text())

    def status(self, rel: str) -> str | None:
        try:
            return self.read_json(f"{rel}/status.json").get("status")
        except (OSError, ValueError):
            return None


# --- the cases ---------------------------------------------------------------------------------


def _write(rel: str, text: str | bytes) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def _both(*steps: Callable[[Ctx], Any]) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        for s in steps:
            s(c)

    return setup


def _copy(name: str, dest: str | None = None) -> Callable[[Ctx], Any]:
    return lambda c: c.copy(name, dest)


def _inp(name: str) -> Callable[[Ctx], Any]:
    return lambda c: c.input(name)


def _flip_byte(rel: str, where: float) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        b = bytearray(p.read_bytes())
        i = int(len(b) * where)
        b[i] ^= 0x10
        p.write_bytes(bytes(b))

    return setup


def _truncate(rel: str, keep: float) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        b = p.read_bytes()
        p.write_bytes(b[: int(len(b) * keep)])

    return setup


def _edit_meta(rel: str, edit: Callable[[dict], None]) -> Callable[[Ctx], None]:
    """Rewrite ``__meta__`` of a kn.save file (checksum left as it was: a tamper)."""

    def setup(c: Ctx) -> None:
        p = c.ws / rel
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays["__meta__"]))
        edit(meta)
        arrays["__meta__"] = np.array(json.dumps(meta))
        with open(p, "wb") as f:
            np.savez(f, **arrays)

    return setup


def _edit_config(rel: str, **changes: Any) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        cfg = json.loads(p.read_text())
        cfg.update(changes)
        p.write_text(json.dumps(cfg, indent=2))

    return setup


def _status(rel: str, status: str, pid: int | None = None) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel / "status.json"
        st = json.loads(p.read_text()) if p.exists() else {}
        st["status"] = status
        if pid is not None:
            st["pid"] = pid
        p.write_text(json.dumps(st))

    return setup


def _fifo(rel: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
        os.mkfifo(p)

    return setup


def _symlink(rel: str, target: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists() or p.is_symlink():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        os.symlink(target, p)

    return setup


def _readonly(rel: str, source: str | None = None) -> Callable[[Ctx], None]:
    """``rel`` read-only (holding a copy of fixture ``source``): a read-only tmpfs when run as root
    (root writes through mode 555), else mode 555."""

    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.mkdir(parents=True, exist_ok=True)
        mounted = os.geteuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(p)], capture_output=True).returncode == 0  # fmt: skip
        if mounted:
            c.mounts.append(p)
        if source is not None:
            shutil.copytree(c.fx / source, p, dirs_exist_ok=True)
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(p)], check=True, capture_output=True)
        else:
            os.chmod(p, 0o555)

    return setup


def _zip_entry(rel: str, name: str, n_bytes: int, method: int, declared: int | None = None) -> Callable[[Ctx], None]:
    """An npz whose entry ``name`` (an .npy of ``n_bytes`` zeros) is compressed with ``method``
    (bzip2: a zip bomb; deflate with ``declared`` sizes that lie)."""

    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(p, "w", compression=method) as z, z.open(name, "w", force_zip64=False) as f:
            f.write(_npy_header(n_bytes))
            block = bytes(1 << 20)
            for _ in range(n_bytes >> 20):
                f.write(block)
        if declared is not None:  # lie about the entry's size in both headers
            b = bytearray(p.read_bytes())
            for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
                i = b.find(sig)
                b[i + off : i + off + 4] = struct.pack("<I", declared)
            p.write_bytes(bytes(b))

    return setup


def _npy_header(n_bytes: int) -> bytes:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % (n_bytes // 8)
    header = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def _hold_lock(rel: str) -> Callable[[Ctx], None]:
    """A live process holds the folder's lock (a sleeping child of the harness)."""

    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.mkdir(parents=True, exist_ok=True)
        code = (
            "import sys, time; sys.path.insert(0, %r)\n"
            "from kisonet import runs\n"
            "f = runs.RunFolder.open(%r, 'kisonet train', resume=True)\n"
            "print('held', flush=True); time.sleep(60)\n"
        ) % (str(SRC), str(p))
        proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, env=base_env(), start_new_session=True)
        proc.stdout.readline()
        HELD.append(proc)

    return setup


HELD: list[subprocess.Popen] = []


def _stale_lock(rel: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        p.mkdir(parents=True, exist_ok=True)
        (p / ".kisonet.lock").write_text(json.dumps({"pid": 999999, "host": os.uname().nodename, "start": "0"}))
        (p / "status.json").write_text(json.dumps({"status": "running", "pid": 999999, "host": os.uname().nodename}))

    return setup


def _status_is(rel: str, want: str) -> Callable[[Ctx, Result], str | None]:
    def check(c: Ctx, r: Result) -> str | None:
        got = c.status(rel)
        return None if got == want else f"status.json says {got!r}, expected {want!r}"

    return check


def _files(rel: str, present: tuple[str, ...] = (), absent: tuple[str, ...] = ()) -> Callable[[Ctx, Result], str | None]:
    def check(c: Ctx, r: Result) -> str | None:
        missing = [n for n in present if not (c.ws / rel / n).exists()]
        extra = [n for n in absent if (c.ws / rel / n).exists()]
        if missing or extra:
            return f"missing {missing}, should not exist {extra}"
        return None

    return check


def _all(*checks: Callable[[Ctx, Result], str | None]) -> Callable[[Ctx, Result], str | None]:
    def check(c: Ctx, r: Result) -> str | None:
        for ch in checks:
            p = ch(c, r)
            if p:
                return p
        return None

    return check


def _finite_model(rel: str) -> Callable[[Ctx, Result], str | None]:
    def check(c: Ctx, r: Result) -> str | None:
        for name in ("model.npz", "checkpoint.npz"):
            p = c.ws / rel / name
            if p.exists():
                with np.load(p, allow_pickle=False) as z:
                    for k in z.files:
                        a = z[k]
                        if a.dtype.kind == "f" and not np.isfinite(a).all():
                            return f"{name} holds non-finite {k}"
        return None

    return check


def _out_lines(n: int) -> Callable[[Ctx, Result], str | None]:
    return lambda c, r: None if len(r.out.strip().splitlines()) == n else f"{len(r.out.strip().splitlines())} lines out, expected {n}"


def build_cases(full_disk: Path | None) -> list[Case]:
    C: list[Case] = []
    add = C.append

    # --- the front door -------------------------------------------------------------------------
    add(Case("cli", "no-command", [], expect="ok", check=lambda c, r: None if "train" in r.out else "no help shown"))
    add(Case("cli", "help", ["--help"], expect="ok", check=lambda c, r: None if "train" in r.out else "no commands listed"))
    add(Case("cli", "version", ["--version"], expect="ok"))
    add(Case("cli", "unknown-command", ["trian"], phrase="train"))
    add(Case("cli", "empty-command", [""]))
    add(Case("cli", "bad-lang", ["--lang", "xx", "datasets"], phrase="language"))
    add(Case("cli", "lang-ja-error", ["--lang", "ja", "train", "--epochs", "x"]))
    add(Case("cli", "unknown-flag", ["train", "--epoch", "1"], phrase="--epochs"))
    add(Case("cli", "huge-argv", ["train", *(["--seed", "1"] * 5000), "--epochs", "abc"]))
    add(Case("cli", "nul-byte-arg", ["train", "--out", "a\x01b", "--epochs", "x"]))
    add(Case("cli", "datasets", ["datasets"], expect="ok"))
    add(Case("cli", "datasets-extra-arg", ["datasets", "--bogus"]))
    add(Case("cli", "help-piped-to-head", cmd=["sh", "-c", "{PY} -m kisonet experiment --list | head -1"], expect="ok",
             check=lambda c, r: "stderr: " + r.err.strip() if r.err.strip() else None))  # fmt: skip

    # --- option values, each training command ---------------------------------------------------
    bad_values = [
        ("epochs", "-1"), ("epochs", "abc"), ("epochs", "1e99"), ("epochs", "nan"), ("epochs", ""),
        ("lr", "nan"), ("lr", "-0.1"), ("lr", "inf"), ("batch-size", "0"), ("batch-size", "-5"),
        ("dataset", "irsi"), ("model", "mlp:0"), ("model", "banana"), ("seed", "-1"), ("val-split", "1.5"),
        ("val-split", "1.0"), ("threads", "0"), ("dropout", "1.0"), ("optimizer", "adma"), ("activation", "rleu"),
        ("init", "hee"), ("schedule", "step:oops"), ("augment", "nosuchpreset"), ("momentum", "-1"),
        ("weight-decay", "nan"), ("early-stopping", "-3"),
    ]  # fmt: skip
    few = {"epochs=abc", "lr=nan", "batch-size=0", "val-split=1.5"}
    for command in ("train", "ensemble", "semi", "autoencoder"):
        for key, value in bad_values:
            if command != "train" and f"{key}={value}" not in few:
                continue
            add(Case(f"options-{command}", f"{command}-{key}={value or 'empty'}",
                     [command, "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", "run", f"--{key}", value],
                     check=_files(".", absent=("run",))))  # fmt: skip
    add(Case("options", "train-huge-model", ["train", "--dataset", "iris", "--model", "mlp:2000000000", "--epochs", "1",
             "--no-progress", "--out", "run"], codes=(2, 4), allow_memory=True, timeout=60))  # fmt: skip
    add(Case("options", "train-huge-batch", ["train", *TINY, "--batch-size", "1000000000000", "--out", "run"], expect="ok"))
    add(Case("options", "train-huge-seed", ["train", *TINY, "--seed", str(2**70), "--out", "run"], phrase="64 bits"))
    add(Case("options", "train-threads-1000", ["train", *TINY, "--threads", "1000", "--out", "run"], expect="ok"))
    add(Case("options", "train-data-dir-missing", ["train", "--dataset", "mnist", "--data-dir", "/nonexistent/dir",
             "--epochs", "1", "--no-progress", "--out", "run"], check=_files(".", absent=("run",))))  # fmt: skip
    add(Case("options", "train-lr-1e38", ["train", *TINY, "--lr", "1e38", "--out", "run"], codes=(1,),
             keep=False, check=_all(_status_is("run", "failed"), _files("run", absent=("model.npz",)), _finite_model("run"))))  # fmt: skip
    add(Case("options", "train-lr-1e38-3-epochs", ["train", *TINY, "--epochs", "3", "--lr", "1e38", "--out", "run"],
             codes=(1,), check=_all(_status_is("run", "failed"), _finite_model("run"))))  # fmt: skip
    add(Case("options", "train-batchnorm-last-batch-1", ["train", "--dataset", "iris", "--model", "mlp:8", "--batch-norm",
             "--batch-size", "119", "--val-split", "0", "--epochs", "1", "--no-progress", "--out", "run"], expect="ok"))  # fmt: skip
    add(Case("options", "train-augment-misfit", ["train", *TINY, "--augment", "flip", "--out", "run"],
             check=_files(".", absent=("run",))))  # fmt: skip
    add(Case("options", "semi-regression", ["semi", "--dataset", "diabetes", "--epochs", "1", "--no-progress", "--out", "run"]))
    add(Case("options", "semi-labelled-0", ["semi", *TINY, "--labelled", "0", "--out", "run"]))
    add(Case("options", "semi-threshold-2", ["semi", *TINY, "--threshold", "2", "--out", "run"]))
    add(Case("options", "ensemble-n-models-0", ["ensemble", *TINY, "--n-models", "0", "--out", "run"]))
    add(Case("options", "ensemble-method-typo", ["ensemble", *TINY, "--method", "bagign", "--out", "run"], phrase="bagging"))
    add(Case("options", "autoencoder-code-0", ["autoencoder", "--dataset", "digits", "--epochs", "1", "--no-progress",
             "--code", "0", "--out", "run"]))  # fmt: skip
    add(Case("options", "autoencoder-noise-level-nan", ["autoencoder", "--dataset", "digits", "--epochs", "1",
             "--no-progress", "--noise-level", "nan", "--out", "run"]))  # fmt: skip
    add(Case("options", "distributed-bad-mode", ["train", *TINY, "--distributed", "syncc", "--out", "run"], phrase="sync"))
    add(Case("options", "rank-timeout-negative", ["train", *TINY, "--rank-timeout", "-1", "--out", "run"]))

    # --- config files ---------------------------------------------------------------------------
    cfgs = [
        ("toml-wrong-type", "c.toml", 'epochs = "ten"\n', "refuse", "epochs"),
        ("toml-unknown-key", "c.toml", "epoch = 1\n", "refuse", "epochs"),
        ("toml-syntax", "c.toml", "epochs = = 1\n", "refuse", None),
        ("toml-newer-version", "c.toml", "format_version = 99\nepochs = 1\n", "refuse", "newer"),
        ("toml-huge-epochs", "c.toml", "epochs = 100000000000000000000\n", "refuse", None),
        ("toml-nan-lr", "c.toml", "lr = nan\n", "refuse", "lr"),
        ("toml-list-value", "c.toml", "epochs = [1, 2]\n", "refuse", "epochs"),
        ("toml-table-typo", "c.toml", "[trian]\nepochs = 1\n", "refuse", None),
        ("toml-empty", "c.toml", "", "ok", None),
        ("toml-binary", "c.toml", b"\x00\xff\xfe" * 50, "refuse", None),
        ("toml-bom", "c.toml", "\ufeffepochs = 1\n", "ok", None),
        ("toml-old-format", "c.toml", "format_version = 0\n[train]\nepochs = 1\n", "ok", None),
        ("json-config", "c.json", '{"epochs": 1}', "ok", None),
        ("json-wrong-type", "c.json", '{"epochs": "ten"}', "refuse", "epochs"),
        ("json-not-object", "c.json", "[1, 2]", "refuse", None),
        ("json-truncated", "c.json", '{"epochs": ', "refuse", None),
        ("toml-dataset-number", "c.toml", "dataset = 5\n", "refuse", "dataset"),
        ("toml-out-in-file", "c.toml", 'epochs = 1\nout = "fromfile"\n', "ok", None),
    ]
    for name, file, text, expect, phrase in cfgs:
        argv = ["train", "--dataset", "iris", "--model", "mlp:8", "--no-progress", "--config", file]
        if "epochs" not in str(text):
            argv += ["--epochs", "1"]
        if name != "toml-out-in-file":
            argv += ["--out", "run"]
        add(Case("config", name, argv, expect=expect, phrase=phrase, setup=_write(file, text)))
    add(Case("config", "config-missing", ["train", *TINY, "--config", "nope.toml", "--out", "run"]))
    add(Case("config", "config-is-dir", ["train", *TINY, "--config", "d", "--out", "run"], setup=lambda c: (c.ws / "d").mkdir()))
    add(Case("config", "config-fifo", ["train", *TINY, "--config", "f.toml", "--out", "run"], setup=_fifo("f.toml"), timeout=30))
    add(Case("config", "config-dev-zero", ["train", *TINY, "--config", "/dev/zero", "--out", "run"], timeout=30))
    add(Case("config", "config-run-folder-json", ["train", "--config", "tiny/config.json", "--out", "run2",
             "--no-progress"], expect="ok", setup=_copy("tiny")))  # fmt: skip

    # --- --out ----------------------------------------------------------------------------------
    add(Case("out", "out-holds-finished-run", ["train", *TINY, "--out", "tiny"], setup=_copy("tiny"), phrase="overwrite"))
    add(Case("out", "out-overwrite", ["train", *TINY, "--out", "tiny", "--overwrite"], expect="ok", keep=False,
             setup=_copy("tiny"), check=_status_is("tiny", "finished")))  # fmt: skip
    add(Case("out", "out-holds-interrupted-run", ["train", *TINY, "--out", "stopped"], setup=_copy("stopped"),
             phrase="resume"))  # fmt: skip
    add(Case("out", "out-locked", ["train", *TINY, "--out", "busy"], setup=_hold_lock("busy"), phrase="locked"))
    add(Case("out", "out-locked-overwrite", ["train", *TINY, "--out", "busy", "--overwrite"], setup=_hold_lock("busy"),
             phrase="locked"))  # fmt: skip
    add(Case("out", "out-stale-lock", ["train", *TINY, "--out", "stale", "--overwrite"], expect="ok", keep=False,
             setup=_stale_lock("stale"), check=_status_is("stale", "finished")))  # fmt: skip
    add(Case("out", "out-is-file", ["train", *TINY, "--out", "f"], setup=_write("f", "data")))
    add(Case("out", "out-parent-is-file", ["train", *TINY, "--out", "f/run"], setup=_write("f", "data"), codes=(2, 3)))
    add(Case("out", "out-read-only", ["train", *TINY, "--out", "ro/run"], setup=_readonly("ro"), codes=(2, 3)))
    add(Case("out", "out-300-chars", ["train", *TINY, "--out", "r" * 300], codes=(2, 3)))
    add(Case("out", "out-deep-path", ["train", *TINY, "--out", "/".join(["d"] * 2100)], codes=(2, 3)))
    add(Case("out", "out-empty-string", ["train", *TINY, "--out", ""], expect="ok"))  # empty: the default folder
    add(Case("out", "out-unrelated-files", ["train", *TINY, "--out", "mine"], expect="ok",
             setup=_write("mine/notes.txt", "my notes")))  # fmt: skip
    add(Case("out", "out-symlink-to-dir", ["train", *TINY, "--out", "link"], expect="ok",
             setup=_both(lambda c: (c.ws / "real").mkdir(), _symlink("link", "real"))))  # fmt: skip
    add(Case("out", "out-dangling-symlink", ["train", *TINY, "--out", "link"], codes=(2, 3), setup=_symlink("link", "nowhere")))
    add(Case("out", "out-dev-null", ["train", *TINY, "--out", "/dev/null"], codes=(2, 3)))
    add(Case("out", "out-proc", ["train", *TINY, "--out", "/proc/kisonet-run"], codes=(2, 3)))
    add(Case("out", "out-fsize-limit", ["train", "--dataset", "digits", "--model", "mlp:64", "--epochs", "3",
             "--no-progress", "--out", "run"], codes=(3,), fsize=20_000, keep=False,
             check=_status_is("run", "failed"), phrase="file")) # fmt: skip
    if full_disk is not None:
        add(Case("out", "out-full-disk", ["train", "--dataset", "digits", "--model", "mlp:512,512", "--epochs", "2",
                 "--no-progress", "--out", str(full_disk / "run"), "--overwrite"], codes=(3,), phrase="space"))  # fmt: skip

    # --- --resume -------------------------------------------------------------------------------
    add(Case("resume", "resume-changed-epochs", ["train", "--resume", "stopped", "--epochs", "3"], phrase="drop --epochs",
             setup=_copy("stopped")))  # fmt: skip
    add(Case("resume", "resume-plain", ["train", "--resume", "stopped", "--no-progress"], expect="ok",
             setup=_copy("stopped"), keep=False, timeout=300, check=_status_is("stopped", "finished")))  # fmt: skip
    add(Case("resume", "resume-missing", ["train", "--resume", "nope"]))
    add(Case("resume", "resume-finished", ["train", "--resume", "tiny"], setup=_copy("tiny")))
    add(Case("resume", "resume-edited-optimizer", ["train", "--resume", "stopped"], phrase="optimizer",
             setup=_both(_copy("stopped"), _edit_config("stopped/config.json", optimizer="sgd"))))  # fmt: skip
    add(Case("resume", "resume-edited-seed", ["train", "--resume", "stopped"], phrase="seed",
             setup=_both(_copy("stopped"), _edit_config("stopped/config.json", seed=7))))  # fmt: skip
    add(Case("resume", "resume-config-garbage", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), _write("stopped/config.json", "{not json"))))  # fmt: skip
    add(Case("resume", "resume-config-wrong-type", ["train", "--resume", "stopped"], phrase="epochs",
             setup=_both(_copy("stopped"), _edit_config("stopped/config.json", epochs="many"))))  # fmt: skip
    add(Case("resume", "resume-config-unknown-key", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), _edit_config("stopped/config.json", bogus=1))))  # fmt: skip
    add(Case("resume", "resume-checkpoint-truncated", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), _truncate("stopped/checkpoint.npz", 0.5))))  # fmt: skip
    add(Case("resume", "resume-checkpoint-bitflip", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), _flip_byte("stopped/checkpoint.npz", 0.5))))  # fmt: skip
    add(Case("resume", "resume-checkpoint-missing", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), lambda c: (c.ws / "stopped/checkpoint.npz").unlink())))  # fmt: skip
    add(Case("resume", "resume-checkpoint-is-dir", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), lambda c: (c.ws / "stopped/checkpoint.npz").unlink(),
                         lambda c: (c.ws / "stopped/checkpoint.npz").mkdir())))  # fmt: skip
    add(Case("resume", "resume-checkpoint-fifo", ["train", "--resume", "stopped"], timeout=30,
             setup=_both(_copy("stopped"), _fifo("stopped/checkpoint.npz"))))  # fmt: skip
    add(Case("resume", "resume-checkpoint-foreign-kind", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), lambda c: shutil.copy(c.fx / "tiny/model.npz", c.ws / "stopped/checkpoint.npz"))))  # fmt: skip
    add(Case("resume", "resume-checkpoint-meta-edit", ["train", "--resume", "stopped"],
             setup=_both(_copy("stopped"), _edit_meta("stopped/checkpoint.npz", lambda m: m.update(kisonet_version="9.9")))))  # fmt: skip
    add(Case("resume", "resume-changed-flag", ["train", "--resume", "stopped", "--lr", "0.5"],
             setup=_copy("stopped")))  # fmt: skip
    add(Case("resume", "resume-locked", ["train", "--resume", "busy"], phrase="lock",
             setup=_both(_copy("stopped", "busy"), _hold_lock("busy"))))  # fmt: skip
    add(Case("resume", "resume-read-only", ["train", "--resume", "stopped", "--no-progress"], codes=(2, 3),
             setup=_readonly("stopped", "stopped")))  # fmt: skip

    # --- evaluate / predict: run folders (one loader: evaluate tries the folder-level half) ------
    n_before = len(C)
    for cmd, extra in (("evaluate", []), ("predict", ["in.npy"])):
        pre = _inp("iris_ok.npy") if cmd == "predict" else None

        def s(*steps, _pre=pre):
            return _both(*(x for x in ((_pre and (lambda c: c.input("iris_ok.npy", "in.npy"))), *steps) if x))

        add(Case(f"{cmd}-folder", f"{cmd}-missing-folder", [cmd, "nope", *extra], setup=s()))
        add(Case(f"{cmd}-folder", f"{cmd}-file-as-folder", [cmd, "f", *extra], setup=s(_write("f", "x"))))
        add(Case(f"{cmd}-folder", f"{cmd}-empty-folder", [cmd, "e", *extra], setup=s(lambda c: (c.ws / "e").mkdir())))
        add(Case(f"{cmd}-folder", f"{cmd}-running", [cmd, "tiny", *extra], setup=s(_copy("tiny"), _status("tiny", "running", os.getpid()))))
        add(Case(f"{cmd}-folder", f"{cmd}-failed", [cmd, "tiny", *extra], setup=s(_copy("tiny"), _status("tiny", "failed"))))
        add(Case(f"{cmd}-folder", f"{cmd}-interrupted", [cmd, "stopped", *extra], setup=s(_copy("stopped")), phrase="resume"))
        add(Case(f"{cmd}-folder", f"{cmd}-model-truncated", [cmd, "tiny", *extra], setup=s(_copy("tiny"), _truncate("tiny/model.npz", 0.6))))
        add(Case(f"{cmd}-folder", f"{cmd}-model-bitflip", [cmd, "tiny", *extra], setup=s(_copy("tiny"), _flip_byte("tiny/model.npz", 0.3))))
        add(Case(f"{cmd}-folder", f"{cmd}-model-empty", [cmd, "tiny", *extra], setup=s(_copy("tiny"), _write("tiny/model.npz", b""))))
        add(Case(f"{cmd}-folder", f"{cmd}-model-is-dir", [cmd, "tiny", *extra],
                 setup=s(_copy("tiny"), lambda c: (c.ws / "tiny/model.npz").unlink(), lambda c: (c.ws / "tiny/model.npz").mkdir())))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-model-fifo", [cmd, "tiny", *extra], timeout=30, setup=s(_copy("tiny"), _fifo("tiny/model.npz"))))
        add(Case(f"{cmd}-folder", f"{cmd}-model-dev-zero", [cmd, "tiny", *extra], timeout=30,
                 setup=s(_copy("tiny"), _symlink("tiny/model.npz", "/dev/zero"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-model-symlink-loop", [cmd, "tiny", *extra],
                 setup=s(_copy("tiny"), _symlink("tiny/model.npz", "model.npz"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-model-symlink-ok", [cmd, "tiny", *extra], expect="ok",
                 setup=s(_copy("tiny"), _copy("tiny", "other"), _symlink("tiny/model.npz", "../other/model.npz"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-meta-activation", [cmd, "tiny", *extra], phrase="checksum",
                 setup=s(_copy("tiny"), _edit_meta("tiny/model.npz", _set_activation))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-meta-custom-spec", [cmd, "tiny", *extra],
                 setup=s(_copy("tiny"), _write("evil.py", "open('PWNED','w').write('x')\ndef build(*a, **k): raise SystemExit(9)\n"),
                         _edit_meta("tiny/model.npz", _set_custom_spec)),
                 check=lambda c, r: "code ran" if (c.ws / "PWNED").exists() else None))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-meta-newer-format", [cmd, "tiny", *extra], phrase="newer",
                 setup=s(_copy("tiny"), _edit_meta("tiny/model.npz", lambda m: m.update(format_version=99)))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-meta-garbage", [cmd, "tiny", *extra],
                 setup=s(_copy("tiny"), _edit_meta("tiny/model.npz", lambda m: m.clear()))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-bzip2-bomb", [cmd, "tiny", *extra], mem_mb=1500,
                 setup=s(_copy("tiny"), _zip_entry("tiny/model.npz", "__meta__.npy", 1 << 30, zipfile.ZIP_BZIP2))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-deflate-size-lie", [cmd, "tiny", *extra], mem_mb=1500,
                 setup=s(_copy("tiny"), _zip_entry("tiny/model.npz", "__meta__.npy", 1 << 29, zipfile.ZIP_DEFLATED, declared=1000))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-pickled-entry", [cmd, "tiny", *extra],
                 setup=s(_copy("tiny"), _pickled_npz("tiny/model.npz"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-config-garbage", [cmd, "tiny", *extra], expect="ok" if cmd == "predict" else "refuse",
                 setup=s(_copy("tiny"), _write("tiny/config.json", "{oops"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-config-dataset-number", [cmd, "tiny", *extra], expect="ok" if cmd == "predict" else "refuse",
                 setup=s(_copy("tiny"), _edit_config("tiny/config.json", dataset=5))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-status-garbage", [cmd, "tiny", *extra], expect="ok",
                 setup=s(_copy("tiny"), _write("tiny/status.json", "\x00\x01garbage"))))  # fmt: skip
        for kind in ("ens", "ae", "comp", "reg"):
            inp = {"ens": "iris_ok.npy", "comp": "iris_ok.npy", "ae": "digits_ok.npy", "reg": "diab_ok.npy"}[kind]
            add(Case(f"{cmd}-folder", f"{cmd}-kind-{kind}", [cmd, kind, *extra], expect="ok",
                     setup=_both(_copy(kind), lambda c, _i=inp: c.input(_i, "in.npy"))))  # fmt: skip
        add(Case(f"{cmd}-folder", f"{cmd}-300-char-folder", [cmd, "r" * 300, *extra], setup=s(), codes=(2, 3)))

    shared = ("model-empty", "model-is-dir", "model-dev-zero", "model-symlink-loop", "model-symlink-ok", "meta-newer-format",
              "meta-garbage", "deflate-size-lie", "pickled-entry", "status-garbage", "300-char-folder", "file-as-folder")
    C[n_before:] = [c for c in C[n_before:] if not (c.name.startswith("evaluate-") and c.name.endswith(shared))]

    # --- evaluate options -----------------------------------------------------------------------
    ev = [
        ("evaluate-dataset-mismatch", ["--dataset", "digits"], "refuse", "shape"),
        ("evaluate-dataset-typo", ["--dataset", "irsi"], "refuse", "iris"),
        ("evaluate-split-val-none", ["--split", "val"], "ok", None),
        ("evaluate-split-bogus", ["--split", "bogus"], "refuse", None),
        ("evaluate-batch-0", ["--batch-size", "0"], "refuse", None),
        ("evaluate-json", ["--json"], "ok", None),
        ("evaluate-model-wrong", ["--model", "mlp:32"], "refuse", None),
        ("evaluate-strict-ok", ["--strict"], "ok", None),
        ("evaluate-data-dir-missing", ["--data-dir", "/nonexistent"], "ok", None),
    ]
    for name, extra, expect, phrase in ev:
        add(Case("evaluate", name, ["evaluate", "tiny", *extra], expect=expect, phrase=phrase, setup=_copy("tiny")))
    add(Case("evaluate", "evaluate-json-parses", ["evaluate", "tiny", "--json"], expect="ok", setup=_copy("tiny"),
             check=lambda c, r: None if "test_accuracy" in json.loads(r.out) else "no test_accuracy"))  # fmt: skip

    # --- predict inputs -------------------------------------------------------------------------
    pin = [
        ("iris_ok.npy", [], "ok", None), ("iris_nan.npy", [], "refuse", "NaN"), ("iris_inf.npy", [], "refuse", "Inf"),
        ("iris_empty.npy", [], "refuse", "no samples"), ("iris_big.npy", [], "ok", "far outside"),
        ("iris_big.npy", ["--strict"], "refuse", "far outside"), ("iris_f64_overflow.npy", [], "refuse", "Inf"),
        ("iris_shape.npy", [], "refuse", "shape"), ("iris_3d.npy", [], "refuse", "shape"), ("iris_int.npy", [], "ok", None),
        ("iris_bool.npy", [], "ok", None), ("iris_str.npy", [], "refuse", "numeric"), ("iris_complex.npy", [], "refuse", None),
        ("iris_scalar.npy", [], "refuse", "shape"), ("iris_one.npy", [], "ok", None), ("iris_many.npy", [], "ok", None),
        ("iris_object.npy", [], "refuse", None), ("iris_npz.npy", [], "refuse", None), ("iris.csv", [], "ok", None),
        ("iris.json", [], "ok", None), ("garbage.npy", [], "refuse", None), ("empty.npy", [], "refuse", None),
        ("huge_header.npy", [], "refuse", None),
    ]  # fmt: skip
    for file, extra, expect, phrase in pin:
        tag = file.replace(".", "-") + ("-strict" if extra else "")
        add(Case("predict-input", f"predict-{tag}", ["predict", "tiny", file, *extra], expect=expect, phrase=phrase,
                 setup=_both(_copy("tiny"), _inp(file)), mem_mb=1500))  # fmt: skip
    add(Case("predict-input", "predict-input-fifo", ["predict", "tiny", "f.npy"], timeout=30,
             setup=_both(_copy("tiny"), _fifo("f.npy"))))  # fmt: skip
    add(Case("predict-input", "predict-input-dir", ["predict", "tiny", "d.npy"],
             setup=_both(_copy("tiny"), lambda c: (c.ws / "d.npy").mkdir())))  # fmt: skip
    add(Case("predict-input", "predict-input-dev-zero", ["predict", "tiny", "/dev/zero"], timeout=30, setup=_copy("tiny")))
    add(Case("predict-input", "predict-input-missing", ["predict", "tiny", "nope.npy"], setup=_copy("tiny")))
    add(Case("predict-input", "predict-digits-255", ["predict", "digits", "digits_255.npy"], expect="ok",
             phrase="far outside", setup=_both(_copy("digits"), _inp("digits_255.npy"))))  # fmt: skip
    add(Case("predict-input", "predict-digits-255-strict", ["predict", "digits", "digits_255.npy", "--strict"],
             phrase="features", setup=_both(_copy("digits"), _inp("digits_255.npy"))))  # fmt: skip
    add(Case("predict-input", "predict-digits-normal-quiet", ["predict", "digits", "digits_ok.npy", "--strict"], expect="ok",
             setup=_both(_copy("digits"), _inp("digits_ok.npy")), check=lambda c, r: r.err.strip() or None))  # fmt: skip
    add(Case("predict-input", "predict-digits-flat", ["predict", "digits", "digits_flat.npy"], expect="ok",
             setup=_both(_copy("digits"), _inp("digits_flat.npy")), check=_out_lines(5)))  # fmt: skip
    outs = [
        ("p.npy", "ok"), ("p.csv", "ok"), ("p.json", "ok"), ("p.xyz", "refuse"), ("nodir/p.npy", "refuse"),
        ("adir", "refuse"), ("ro/p.npy", "refuse"), ("f.npy", "refuse"),
    ]  # fmt: skip
    for out, expect in outs:
        steps = [_copy("tiny"), _inp("iris_ok.npy")]
        if out == "adir":
            steps.append(lambda c: (c.ws / "adir").mkdir())
        if out.startswith("ro/"):
            steps.append(_readonly("ro"))
        if out == "f.npy":
            steps.append(_fifo("f.npy"))
        add(Case("predict-out", f"predict-out-{out.replace('/', '-')}", ["predict", "tiny", "iris_ok.npy", "--out", out],
                 expect=expect, codes=(2, 3), setup=_both(*steps), timeout=30))  # fmt: skip
    add(Case("predict-out", "predict-out-overwrites-input", ["predict", "tiny", "iris_ok.npy", "--out", "iris_ok.npy"],
             expect="ok", keep=False, setup=_both(_copy("tiny"), _inp("iris_ok.npy"))))  # fmt: skip
    add(Case("predict-out", "predict-proba-regression", ["predict", "reg", "diab_ok.npy", "--proba"],
             setup=_both(_copy("reg"), _inp("diab_ok.npy")), phrase="regression"))  # fmt: skip
    add(Case("predict-out", "predict-proba-sums", ["predict", "tiny", "iris_ok.npy", "--proba", "--out", "p.json"],
             expect="ok", setup=_both(_copy("tiny"), _inp("iris_ok.npy")),
             check=lambda c, r: None if np.allclose(np.sum(json.loads((c.ws / "p.json").read_text()), axis=1), 1, atol=1e-4) else "rows do not sum to 1"))  # fmt: skip

    # --- model files through the Python API ------------------------------------------------------
    api = [
        ("api-save-dotted-key", "kn.save({'a.b': np.ones(2), 'a': {'b': np.zeros(2)}}, 'x.npz')\n"
         "back = kn.load('x.npz'); assert back['a.b'].sum() == 2 and back['a']['b'].sum() == 0", "ok"),
        ("api-save-int-str-collide", "kn.save({0: 1, '0': 2}, 'x.npz'); assert kn.load('x.npz') == {0: 1, '0': 2}", "ok"),
        ("api-save-tuple-key", "kn.save({(1, 2): 1}, 'x.npz')", "refuse"),
        ("api-save-slash-key", "kn.save({'a/b': np.ones(2)}, 'x.npz'); assert kn.load('x.npz')['a/b'].shape == (2,)", "ok"),
        ("api-save-lambda", "kn.save({'f': lambda: 1}, 'x.npz')", "refuse"),
        ("api-save-object-array", "kn.save({'a': np.array([1, 'x'], dtype=object)}, 'x.npz')", "refuse"),
        ("api-save-nan-float", "kn.save({'a': float('nan')}, 'x.npz'); import math; assert math.isnan(kn.load('x.npz')['a'])", "ok"),
        ("api-save-deep", "d = {}\nx = d\nfor i in range(5000):\n    x['k'] = {}; x = x['k']\nkn.save(d, 'x.npz')", "refuse"),
        ("api-save-to-dir", "os.mkdir('d'); kn.save({'a': 1}, 'd')", "refuse"),
        ("api-save-unicode-key", "kn.save({'重み': np.ones(2)}, 'x.npz'); assert kn.load('x.npz')['重み'].shape == (2,)", "ok"),
        ("api-save-empty-key", "kn.save({'': 1}, 'x.npz'); assert kn.load('x.npz') == {'': 1}", "ok"),
        ("api-save-bytes", "kn.save({'a': b'xx'}, 'x.npz')", "refuse"),
        ("api-save-numpy-scalar", "kn.save({'a': np.float32(2)}, 'x.npz'); assert float(kn.load('x.npz')['a']) == 2", "ok"),
        ("api-load-missing", "kn.load('nope.npz')", "refuse"),
        ("api-load-kind-mismatch", "kn.save({'a': 1}, 'x.npz', kind='state'); kn.load('x.npz', kind='checkpoint')", "refuse"),
        ("api-load-plain-npz", "np.savez('x.npz', a=np.ones(2)); kn.load('x.npz')", "refuse"),
        ("api-runs-load-file", "open('f', 'w').write('x'); runs.load('f')", "refuse"),
        ("api-runs-load-missing", "runs.load('nope')", "refuse"),
        ("api-runs-load-ok", "m, s = runs.load(%r); assert m is not None" % "tiny", "ok"),
        ("api-runs-load-predict-nan", "runs.load('tiny').predict(np.full((1, 4), np.nan))", "refuse"),
        ("api-runs-load-custom-spec", "runs.load('tiny')", "refuse"),
        ("api-optimizer-state-mismatch",
         "p = [kn.nn.Parameter(np.ones(3, np.float32))]\na = kn.optim.Adam(p); a.zero_grad()\n"
         "p[0].grad = np.ones(3, np.float32); a.step()\nkn.optim.SGD(p, lr=0.1).load_state_dict(a.state_dict())", "refuse"),
        ("api-load-fifo", "os.mkfifo('f.npz'); kn.load('f.npz')", "refuse"),
    ]  # fmt: skip
    for name, code, expect in api:
        setup = _copy("tiny") if "runs-load" in name else None
        if name == "api-runs-load-custom-spec":
            setup = _both(_copy("tiny"), _edit_meta("tiny/model.npz", _set_custom_spec))
        add(Case("api", name, py=code, expect=expect, setup=setup, timeout=30))

    # --- signals and concurrency -----------------------------------------------------------------
    long_train = ["train", "--dataset", "digits", "--model", "mlp:64,64", "--epochs", "300", "--no-progress", "--out", "run"]
    add(Case("signals", "sigint-train", long_train, codes=(130,), signal_when=("run/checkpoint.npz", signal.SIGINT, 0.3),
             check=_all(_status_is("run", "interrupted"), _files("run", present=("checkpoint.npz", "config.json"))), timeout=120))  # fmt: skip
    add(Case("signals", "sigterm-train", long_train, codes=(143,), signal_when=("run/checkpoint.npz", signal.SIGTERM, 0.3),
             check=_all(_status_is("run", "interrupted"), _files("run", present=("checkpoint.npz",))), timeout=120))  # fmt: skip
    add(Case("signals", "sigterm-ensemble", ["ensemble", "--dataset", "digits", "--model", "mlp:64", "--n-models", "30",
             "--epochs", "5", "--no-progress", "--out", "run"], codes=(143,), timeout=120,
             signal_when=("run/config.json", signal.SIGTERM, 1.5), check=_status_is("run", "interrupted")))  # fmt: skip
    add(Case("signals", "sigterm-compress", ["compress", "prune", "digits", "--out", "cmp", "--no-progress", "--steps", "50",
             "--fine-tune-epochs", "20"], codes=(143,), timeout=120, setup=_copy("digits"),
             signal_when=("cmp/status.json", signal.SIGTERM, 1.5), check=_status_is("cmp", "interrupted")))  # fmt: skip
    add(Case("signals", "sigterm-autoencoder", ["autoencoder", "--dataset", "digits", "--epochs", "300", "--no-progress",
             "--out", "run"], codes=(143,), timeout=120, signal_when=("run/config.json", signal.SIGTERM, 1.5),
             check=_status_is("run", "interrupted")))  # fmt: skip
    add(Case("signals", "sigterm-semi", ["semi", "--dataset", "digits", "--epochs", "50", "--rounds", "20", "--no-progress",
             "--out", "run"], codes=(143,), timeout=120, signal_when=("run/config.json", signal.SIGTERM, 1.5),
             check=_status_is("run", "interrupted")))  # fmt: skip
    add(Case("signals", "sigkill-then-rerun", cmd=["sh", "-c",
             "{PY} -m kisonet train --dataset digits --model mlp:64,64 --epochs 300 --no-progress --out run & p=$!; "
             "while [ ! -f run/checkpoint.npz ]; do sleep 0.05; done; sleep 0.3; kill -9 $p; { wait $p; } 2>/dev/null; "
             "{PY} -m kisonet train --dataset digits --epochs 1 --no-progress --out run"], codes=(2,), phrase="resume",
             timeout=120, keep=False))  # fmt: skip
    add(Case("signals", "sigkill-then-resume", cmd=["sh", "-c",
             "{PY} -m kisonet train --dataset digits --model mlp:64,64 --epochs 6 --no-progress --out run & p=$!; "
             "while [ ! -f run/checkpoint.npz ]; do sleep 0.05; done; kill -9 $p; { wait $p; } 2>/dev/null; "
             "exec {PY} -m kisonet train --resume run --no-progress"], expect="ok", timeout=180, keep=False,
             check=_status_is("run", "finished")))  # fmt: skip
    add(Case("concurrency", "two-writers", cmd=["sh", "-c",
             "{PY} -m kisonet train --dataset digits --model mlp:32 --epochs 3 --no-progress --out run > a.log 2>&1 & "
             "{PY} -m kisonet train --dataset digits --model mlp:16 --epochs 3 --seed 5 --no-progress --out run > b.log 2>&1 & "
             "wait; cat a.log b.log >&2; exit 0"], expect="ok", timeout=180, keep=False, check=_two_writers))  # fmt: skip
    add(Case("concurrency", "evaluate-while-training", cmd=["sh", "-c",
             "{PY} -m kisonet train --dataset digits --model mlp:64,64 --epochs 40 --no-progress --out run 2>train.log & p=$!; "
             "while [ ! -f run/status.json ]; do sleep 0.05; done; {PY} -m kisonet evaluate run; rc=$?; kill $p; wait $p; exit $rc"],
             codes=(2,), phrase="running", timeout=120, keep=False))  # fmt: skip

    # --- the other commands ----------------------------------------------------------------------
    other = [
        ("experiment-unknown", ["experiment", "weight-int"], "refuse", "weight-init"),
        ("experiment-list", ["experiment", "--list"], "ok", None),
        ("experiment-no-name", ["experiment"], "refuse", None),
        ("experiment-bad-dataset", ["experiment", "weight-init", "--quick", "--dataset", "nope", "--out", "e"], "refuse", None),
        ("experiment-out-file", ["experiment", "weight-init", "--quick", "--out", "f"], "refuse", "not a folder"),
        ("notes-unknown", ["notes", "zzzz-no-such-topic"], "refuse", None),
        ("notes-list", ["notes"], "ok", None),
        ("dashboard-port-neg", ["dashboard", "--port", "-1"], "refuse", None),
        ("dashboard-port-big", ["dashboard", "--port", "99999"], "refuse", None),
        ("dashboard-runs-file", ["dashboard", "f", "--port", "0"], "refuse", None),
        ("dashboard-host-bad", ["dashboard", "--host", "no.such.host.invalid", "--port", "0"], "refuse", None),
        ("augment-unknown", ["augment", "--augment", "nosuch", "--out", "a"], "refuse", None),
        ("augment-iris", ["augment", "--dataset", "iris", "--out", "a"], "refuse", None),
        ("augment-out-file", ["augment", "--dataset", "digits", "--out", "f"], "refuse", "not a folder"),
        ("augment-images-0", ["augment", "--dataset", "digits", "--images", "0", "--out", "a"], "refuse", None),
        ("augment-ok", ["augment", "--dataset", "digits", "--out", "a"], "ok", None),
        ("compress-unknown-method", ["compress", "squash", "tiny"], "refuse", "quantize"),
        ("compress-ensemble-folder", ["compress", "quantize", "ens"], "refuse", None),
        ("compress-regression", ["compress", "quantize", "reg"], "refuse", "classification"),
        ("compress-bits-bad", ["compress", "quantize", "tiny", "--bits", "0,99"], "refuse", None),
        ("compress-sparsity-bad", ["compress", "prune", "tiny", "--sparsity", "1.5"], "refuse", None),
        ("compress-twice", ["compress", "quantize", "comp", "--bits", "8"], "refuse", None),
        ("compress-out-holds-run", ["compress", "quantize", "tiny", "--out", "tiny", "--bits", "8"], "refuse", None),
    ]
    for name, argv, expect, phrase in other:
        setup = _both(_copy("tiny"), _copy("ens"), _copy("reg"), _copy("comp"), _write("f", "x"))
        add(Case("other", name, argv, expect=expect, phrase=phrase, setup=setup, timeout=120, codes=(2, 3)))

    # --- MPI -------------------------------------------------------------------------------------
    if shutil.which("mpiexec"):
        mpi = ["mpiexec", "-n", "2", "{PY}", "-m", "kisonet", "train", "--dataset", "iris", "--model", "mlp:8",
               "--epochs", "2", "--no-progress", "--distributed", "sync"]  # fmt: skip
        add(Case("mpi", "mpi-sync-ok", cmd=[*mpi, "--out", "run"], expect="ok", timeout=180,
                 check=_status_is("run", "finished"), mem_mb=8000))  # fmt: skip
        add(Case("mpi", "mpi-mismatched-options", cmd=["mpiexec", "-n", "1", "{PY}", "-m", "kisonet", "train", "--dataset",
                 "iris", "--model", "mlp:8", "--epochs", "2", "--no-progress", "--distributed", "sync", "--out", "run",
                 "--lr", "0.1", ":", "-n", "1", "{PY}", "-m", "kisonet", "train", "--dataset", "iris", "--model", "mlp:8",
                 "--epochs", "2", "--no-progress", "--distributed", "sync", "--out", "run", "--lr", "0.2"],
                 codes=(2,), phrase="lr", timeout=180, mem_mb=8000))  # fmt: skip
        add(Case("mpi", "mpi-killed-rank", cmd=[PY, "-c", KILL_RANK], codes=(1, 9), timeout=180, keep=False,
                 mem_mb=8000, check=_status_is("run", "failed"), ranks=2))  # fmt: skip
        add(Case("mpi", "mpi-async-bad-staleness", cmd=[*mpi[:-1], "async", "--max-staleness", "-1", "--out", "run"],
                 timeout=120, mem_mb=8000))  # fmt: skip
        add(Case("mpi", "mpi-out-holds-run", cmd=[*mpi, "--out", "tiny"], setup=_copy("tiny"), phrase="overwrite",
                 timeout=120, mem_mb=8000))  # fmt: skip
    return C


#: mpiexec -n 2 on a long run; once it checkpoints, SIGKILL one rank (found by walking mpiexec's
#: children by pid, nothing by name); mpiexec's exit code is the case's.
KILL_RANK = r"""
import os, signal, subprocess, sys, time
from pathlib import Path
argv = ["mpiexec", "-n", "2", sys.executable, "-m", "kisonet", "train", "--dataset", "digits", "--model", "mlp:64,64",
        "--epochs", "200", "--no-progress", "--distributed", "sync", "--rank-timeout", "10", "--out", "run"]
p = subprocess.Popen(argv)
t0 = time.time()
while not Path("run/checkpoint.npz").exists() and time.time() - t0 < 120 and p.poll() is None:
    time.sleep(0.1)
time.sleep(0.5)
def children(pid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, ValueError, IndexError):
                pass
    return out
todo, ranks = [p.pid], []
while todo:
    pid = todo.pop()
    for c in children(pid):
        todo.append(c)
        try:
            if b"kisonet\x00train" in Path(f"/proc/{c}/cmdline").read_bytes():  # a rank, not its watcher
                ranks.append(c)
        except OSError:
            pass
if ranks:
    os.kill(max(ranks), signal.SIGKILL)
sys.exit(p.wait())
"""


def _set_activation(meta: dict) -> None:
    text = json.dumps(meta)
    assert '"relu"' in text
    meta.update(json.loads(text.replace('"relu"', '"sigmoid"', 1)))


def _set_custom_spec(meta: dict) -> None:
    text = json.dumps(meta)
    meta.update(json.loads(text.replace('"mlp:8"', '"evil:build"', 1)))


def _pickled_npz(rel: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.ws / rel
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        key = next(k for k in arrays if k != "__meta__")
        arrays[key] = np.array([{"x": 1}], dtype=object)
        with open(p, "wb") as f:
            np.savez(f, **arrays)

    return setup


def _two_writers(c: Ctx, r: Result) -> str | None:
    logs = [(c.ws / n).read_text() for n in ("a.log", "b.log")]
    refused = [lg for lg in logs if "error" in lg]
    if len(refused) != 1:
        return f"{len(refused)} of the two writers refused (expected exactly one): {[lg[-200:] for lg in logs]}"
    if len([ln for ln in refused[0].splitlines() if ln.strip()]) != 1:
        return "the refusal takes more than one line"
    cfg = c.read_json("run/config.json")
    with np.load(c.ws / "run/model.npz", allow_pickle=False) as z:
        meta = json.loads(str(z["__meta__"]))
    spec = json.dumps(meta)
    want = cfg["model"].split(":")[1]
    if f"mlp:{want}" not in spec:
        return f"config.json says {cfg['model']} but model.npz holds another model"
    return _status_is("run", "finished")(c, r)


# --- the pass ------------------------------------------------------------------------------------


def mount_full_disk(root: Path) -> Path | None:
    d = root / "full"
    d.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        return None
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(d)], capture_output=True)
    return d if p.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], help="only the cases whose name holds this word (repeatable)")
    ap.add_argument("--jobs", type=int, default=3, help="cases at a time (default 3)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--json", help="write every outcome here")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--max-rss-mb", type=float, default=1500.0)
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="kisonet-adversarial-"))
    full = None if args.list else mount_full_disk(root)
    cases = build_cases(full)
    if args.k:
        cases = [c for c in cases if any(k in c.name or k in c.group for k in args.k)]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    if args.list:
        for c in cases:
            print(f"{c.group:<18} {c.name}")
        print(f"{len(cases)} cases")
        return 0
    t0 = time.perf_counter()
    fx = Fixtures(root)
    print(f"building fixtures in {fx.root} ...", flush=True)
    fx.build()
    print(f"fixtures: {time.perf_counter() - t0:.0f} s; {len(cases)} cases, {args.jobs} at a time", flush=True)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    queue = list(cases)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                case = queue.pop(0)
            res = run_case(case, root, fx, args.max_rss_mb)
            with lock:
                results.append(res)
                mark = "." if res["outcome"] == "clean" else res["outcome"][0].upper()
                print(f"{mark} {res['name']:<42} {res['outcome']:<9} {res.get('seconds', 0):6.1f}s {res['detail'][:150]}",
                      flush=True)  # fmt: skip

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for proc in HELD:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wall = time.perf_counter() - t0
    counts = {k: sum(r["outcome"] == k for r in results) for k in (*OUTCOMES, "setup-error")}
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print()
    print(f"kisonet {commit}: {len(results)} cases in {wall:.0f} s wall")
    print("  ".join(f"{k} {v}" for k, v in counts.items()))
    bad = sorted((r for r in results if r["outcome"] != "clean"), key=lambda r: (r["outcome"], r["name"]))
    for r in bad:
        print(f"  {r['outcome']:<10} {r['name']:<42} {r['detail'][:300]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"commit": commit, "wall_seconds": round(wall, 1), "counts": counts,
                                               "cases": sorted(results, key=lambda r: r["name"])}, indent=1))  # fmt: skip
    if full is not None:
        subprocess.run(["umount", str(full)], capture_output=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
