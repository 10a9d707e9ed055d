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


def dead_peers() -> list[int]:
    """The ranks on this host whose process has ended (known once a watcher is started)."""
    dead = []
    for w in _ACTIVE:
        for r, pid in w._peers.items():
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                        dead.append(r)
            except ProcessLookupError:
                dead.append(r)
            except (OSError, IndexError):
                pass
    return sorted(set(dead))


def say_bye(aborting: bool = False) -> None:
    """Every watcher of this process leaves quietly (the rank printed its own last words).
    ``aborting``: this rank is about to abort the job; the watchers of the ranks mpiexec
    will kill for it (on this host) are told who ended the job."""
    for w in list(_ACTIVE):
        w.bye(aborting)


class LastWords:
    """The rank's side: start the watcher, keep it told, say goodbye (see the module)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._note: str | None = None
        self._rank = 0
        self._peers: dict[int, int] = {}  # rank -> pid, the other ranks on this host

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
        from ..lang import gettext  # in the package only: the watcher itself imports no kisonet

        texts = {
            "first": gettext(
                "rank {0} ended first (killed, crashed, or aborted after its own message); mpiexec then killed "
                "this rank at once"
            ),
            "abort": gettext("rank {0} ended the job after printing why; mpiexec then killed this rank"),
            "self": gettext(
                "this rank ended first, without a word (killed by a signal, e.g. SIGKILL or the out-of-memory "
                "killer, or crashed inside MPI); mpiexec ends the others"
            ),
            "unknown": gettext(
                "this rank was ended without a word (SIGKILL: by mpiexec after another rank died or aborted, the "
                "one whose PID mpiexec names; the ranks' PIDs: {0})"
            ),
            "line": gettext("kisonet: rank {0}/{1}: {2}"),
            "by": gettext("{0} [printed by the rank's watcher process]"),
        }
        self._note, self._rank = _note_path(pids), comm.Get_rank()
        mine = hosts[self._rank]
        self._peers = {r: p for r, (p, h) in enumerate(zip(pids, hosts, strict=True)) if h == mine and r != self._rank}
        self.tell(rank=self._rank, size=comm.Get_size(), pids=pids, hosts=hosts, texts=texts)
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

    def bye(self, aborting: bool = False) -> None:
        """This rank ends by itself (or has printed its own last words): the watcher leaves quietly.
        ``aborting``: see :func:`say_bye` (the watcher removes the note a moment later)."""
        if self._proc is not None:
            noted = aborting and self._note is not None and _leave_note(self._note, "abort", self._rank)
            self.tell(bye=True, note=self._note if noted else None)
            if not noted:  # else the pipe stays open: the watcher removes the note once this rank is gone
                with contextlib.suppress(OSError, ValueError):
                    if self._proc.stdin is not None:
                        self._proc.stdin.close()
            if not aborting:
                with contextlib.suppress(Exception):
                    self._proc.wait(1.0)
            self._proc = None
        if self in _ACTIVE:
            _ACTIVE.remove(self)


# --- the watcher (runs as a script) -----------------------------------------------------------

#: the watcher's words when its rank sent none (the rank sends them in the language in force)
_TEXTS = {
    "first": "rank {0} ended first; mpiexec then killed this rank at once",
    "abort": "rank {0} ended the job after printing why; mpiexec then killed this rank",
    "self": "this rank ended first, without a word; mpiexec ends the others",
    "unknown": "this rank was ended without a word by mpiexec (the ranks' PIDs: {0})",
    "line": "kisonet: rank {0}/{1}: {2}",
    "by": "{0} [printed by the rank's watcher process]",
}


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


def _leave_note(path: str, kind: str, rank: int) -> bool:
    """``kind`` is ``first`` (this rank ended first) or ``abort`` (it aborts the job); the first note stays."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.write(fd, f"{kind}:{rank}".encode())
    os.close(fd)
    return True


def _read_note(path: str, wait: float) -> tuple[str, int] | None:
    t0 = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError), open(path, encoding="ascii") as f:
            kind, rank = f.read().split(":")
            return kind, int(rank)
        if time.monotonic() - t0 > wait:
            return None
        time.sleep(0.02)


def _drop_note_later(path: str, until_eof: int | None = None) -> None:
    """Give the other watchers a moment to read the note (after ``until_eof`` closes: once this
    rank is gone), without holding mpiexec up, then remove it."""
    with contextlib.suppress(OSError):
        os.close(2)
    with contextlib.suppress(OSError):
        while until_eof is not None and os.read(until_eof, 1 << 16):
            pass
    time.sleep(1.5)
    with contextlib.suppress(OSError):
        os.unlink(path)


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
                if msg.get("note"):
                    _drop_note_later(msg["note"], fd)
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
    texts = {**_TEXTS, **news.get("texts", {})}
    known = _read_note(note, 0)
    if known is not None and known[0] == "abort" and known[1] != rank:
        said = texts["abort"].format(known[1])
    elif outlived and not first_dead:
        wrote = _leave_note(note, "first", rank)  # the watchers that woke too late to tell read it
        said = texts["self"]
    else:
        if not first_dead and peers:  # woken too late to tell who went first: ask the first one's watcher
            known = _read_note(note, 0.5)
            if known is not None and known[1] != rank:
                first_dead = [known[1]]
        if known is not None and known[0] == "abort" and known[1] != rank:
            said = texts["abort"].format(known[1])
        elif first_dead:
            said = texts["first"].format(", ".join(map(str, first_dead)))
        else:
            said = texts["unknown"].format(", ".join(f"{r}={p}" for r, p in enumerate(news["pids"])))
    line = texts["line"].format(rank, size, said)
    if news.get("status_path"):
        with contextlib.suppress(OSError, ValueError):
            _mark_failed(news["status_path"], line.split(": ", 1)[1])
    if news.get("epilogue"):
        line += f"; {news['epilogue']}"
    with contextlib.suppress(OSError):
        os.write(2, (texts["by"].format(line) + "\n").encode("utf-8", "replace"))
    if wrote:
        _drop_note_later(note)
    return 1


if __name__ == "__main__":
    sys.exit(_watch())
