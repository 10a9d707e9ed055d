"""Last words for a rank that the MPI launcher kills before it can speak.

When one rank dies without a word (SIGKILL, the OOM killer, a crash inside MPI),
MPICH's launcher (hydra) SIGKILLs every other rank of the job, and their process
groups, about 5 ms later (measured: 4.6-8.3 ms on one host): no signal handler, no
heartbeat and no ``finally`` runs in time.  So each rank starts, at the beginning of
a ``--distributed`` run, a tiny watcher process in a session of its own (outside the
process group hydra kills) that holds the rank's stderr.  The rank keeps it told
(its rank, the ranks' PIDs and hosts, on rank 0 the run folder and the last good
checkpoint) and says goodbye when it ends by itself.  If the rank's pipe closes
without a goodbye, the watcher prints the rank's one line, ``kisonet: rank r/N: ...``,
naming the rank that died first when it saw it die (it watches the PIDs of the ranks
on its host), and on rank 0 marks the run folder ``failed``.  mpiexec forwards the
line: it waits for every holder of a rank's stderr to close it.

This file runs as a script with the standard library only (``python -I -S lastwords.py``):
the watcher starts in milliseconds and holds a few megabytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from typing import Any

__all__ = ["LastWords", "say_bye"]

#: seconds the watcher may take, after its rank died, before it gives up (mpiexec waits for it)
DEADLINE = 3

_ACTIVE: list[LastWords] = []


def say_bye() -> None:
    """Every watcher of this process leaves quietly (the rank printed its own last words)."""
    for w in list(_ACTIVE):
        w.bye()


class LastWords:
    """The rank's side: start the watcher, keep it told, say goodbye (see the module)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, comm: Any) -> LastWords:
        """Start this rank's watcher (collective: the ranks exchange PIDs and hosts)."""
        import socket

        pids = comm.allgather(os.getpid())
        hosts = comm.allgather(socket.gethostname())
        if comm.Get_size() < 2:
            return self
        with contextlib.suppress(OSError, ValueError):
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # hydra kills the rank's process group: not this one
            )
        self.tell(rank=comm.Get_rank(), size=comm.Get_size(), pids=pids, hosts=hosts)
        _ACTIVE.append(self)
        return self

    def tell(self, **news: Any) -> None:
        """Update what the watcher says if this rank dies (``epilogue``, ``status_path``...)."""
        if self._proc is None or self._proc.stdin is None:
            return
        try:
            self._proc.stdin.write((json.dumps(news) + "\n").encode("utf-8"))
            self._proc.stdin.flush()
        except (OSError, ValueError):
            self._proc = None

    def bye(self) -> None:
        """This rank ends by itself (or has printed its own last words): the watcher leaves quietly."""
        if self._proc is not None:
            self.tell(bye=True)
            with contextlib.suppress(OSError, ValueError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            with contextlib.suppress(Exception):
                self._proc.wait(1.0)
            self._proc = None
        if self in _ACTIVE:
            _ACTIVE.remove(self)


# --- the watcher (runs as a script) -----------------------------------------------------------


def _mark_failed(path: str, message: str) -> None:
    """status.json says ``failed`` (if it still said ``running``), written atomically."""
    with open(path, encoding="utf-8") as f:
        st = json.load(f)
    if not isinstance(st, dict) or st.get("status") != "running":
        return
    st.update(status="failed", message=message, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(st, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _note_path(pids: list[int]) -> str:
    """Where the watchers of one job on one host leave the rank that ended first."""
    import hashlib
    import tempfile

    root = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(root, "kisonet-first-" + hashlib.sha1(repr(pids).encode()).hexdigest()[:16])


def _leave_note(path: str, rank: int) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.write(fd, str(rank).encode())
    os.close(fd)
    return True


def _read_note(path: str, wait: float) -> int | None:
    t0 = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError), open(path, encoding="ascii") as f:
            return int(f.read())
        if time.monotonic() - t0 > wait:
            return None
        time.sleep(0.02)


def _watch() -> int:
    fd = sys.stdin.fileno()
    news: dict[str, Any] = {}
    buf = b""
    peers: dict[int, int] = {}  # pidfd -> rank, for the ranks on this host
    first_dead: list[int] = []  # ranks seen dying while this rank still lived
    while True:
        ready, _, _ = select.select([fd, *peers], [], [])
        gone = [peers.pop(f) for f in ready if f in peers]
        chunk = os.read(fd, 1 << 16) if fd in ready else b"-"
        if gone and not first_dead and chunk:
            first_dead = sorted(gone)  # they died before this rank's pipe closed
        if not chunk:
            break
        buf += chunk if fd in ready else b""
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("bye"):
                return 0
            news.update(msg)
            if "pids" in msg and hasattr(os, "pidfd_open"):
                host = news["hosts"][news["rank"]]
                for r, (pid, h) in enumerate(zip(msg["pids"], news["hosts"], strict=True)):
                    if r != news["rank"] and h == host:
                        with contextlib.suppress(OSError):
                            peers[os.pidfd_open(pid)] = r
    if "rank" not in news:
        return 0
    import signal

    signal.alarm(DEADLINE)  # mpiexec waits for this process: never hold it up
    rank, size = news["rank"], news["size"]
    still, _, _ = select.select(list(peers), [], [], 0)
    outlived = [r for f, r in peers.items() if f not in still]  # ranks on this host still alive
    note = _note_path(news["pids"])
    wrote = False
    if outlived and not first_dead:
        wrote = _leave_note(note, rank)  # the watchers that woke too late to tell read it
        said = (
            "this rank ended first, without a word (killed by a signal, e.g. SIGKILL or the out-of-memory killer, "
            "or crashed inside MPI); mpiexec ends the others"
        )
    else:
        if not first_dead and peers:  # woken too late to tell who went first: ask the first one's watcher
            first = _read_note(note, 0.5)
            first_dead = [] if first is None or first == rank else [first]
        if first_dead:
            who = ", ".join(map(str, first_dead))
            said = (
                f"rank {who} ended first (killed, crashed, or aborted after its own message); mpiexec then killed "
                "this rank at once"
            )
        else:
            pids = ", ".join(f"{r}={p}" for r, p in enumerate(news["pids"]))
            said = (
                "this rank was ended without a word (SIGKILL: by mpiexec after another rank died or aborted, "
                f"the one whose PID mpiexec names; the ranks' PIDs: {pids})"
            )
    if news.get("status_path"):
        with contextlib.suppress(OSError, ValueError):
            _mark_failed(news["status_path"], said)
    line = f"kisonet: rank {rank}/{size}: {said}"
    if news.get("epilogue"):
        line += f"; {news['epilogue']}"
    with contextlib.suppress(OSError):
        os.write(2, (line + " [printed by the rank's watcher process]\n").encode("utf-8", "replace"))
    if wrote:  # let the others read the note, without holding mpiexec up
        with contextlib.suppress(OSError):
            os.close(2)
        time.sleep(1.0)
        with contextlib.suppress(OSError):
            os.unlink(note)
    return 1


if __name__ == "__main__":
    sys.exit(_watch())
