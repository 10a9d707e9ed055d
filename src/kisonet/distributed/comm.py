"""MPI plumbing shared by the three modes: lazy ``mpi4py`` import, timed waits, abort on error.

Every blocking exchange in :mod:`kisonet.distributed` is a non-blocking MPI call
followed by :func:`wait`, which polls the request and gives up after
``timeout`` seconds (default :data:`DEFAULT_TIMEOUT`, or ``$KISONET_DIST_TIMEOUT``)
with a :class:`DistributedTimeoutError` naming the operation and the peer.  A
rank that raises, inside :func:`guard` or with :func:`install_excepthook`,
prints ``rank r/N: <error>`` and calls ``comm.Abort()``: the MPI launcher then
ends every rank, so one failing rank never leaves the others waiting forever.

Small metadata (state-dict names, epoch logs) travels as JSON bytes, never pickle.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import KisonetError
from ..lang import tr

__all__ = [
    "launched_by_mpi",
    "DEFAULT_TIMEOUT",
    "DistributedError",
    "DistributedTimeoutError",
    "require_mpi",
    "world",
    "get_rank",
    "get_world_size",
    "is_root",
    "wait",
    "waitall",
    "send_json",
    "recv_json",
    "guard",
    "install_excepthook",
    "abort",
    "last_words",
    "set_epilogue",
    "Watchdog",
]

DEFAULT_TIMEOUT = float(os.environ.get("KISONET_DIST_TIMEOUT", "600"))


class DistributedError(KisonetError, RuntimeError):
    """A distributed run cannot go on (mpi4py missing, a peer failed, a message timed out)."""


class DistributedTimeoutError(DistributedError, TimeoutError):
    """A message or collective did not complete within the timeout."""


def require_mpi() -> Any:
    """``mpi4py.MPI``, or a :class:`DistributedError` naming the ``mpi`` extra."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(
            tr(
                (
                    "kisonet.distributed needs mpi4py and an MPI runtime: pip install 'kisonet[mpi]' "
                    "(mpi4py + the mpich wheel), then launch with mpiexec -n N ... ({0})"
                ),
                e,
            )
        ) from None
    return MPI


def world() -> Any:
    """``MPI.COMM_WORLD`` (imports mpi4py, which initialises MPI)."""
    return require_mpi().COMM_WORLD


def _mpi_loaded() -> bool:
    return "mpi4py.MPI" in sys.modules


def _in_use(comm: Any) -> Any:
    """``comm``, else ``MPI.COMM_WORLD`` when MPI is in use (loaded or launched by mpiexec), else None."""
    if comm is None and (_mpi_loaded() or launched_by_mpi()):
        comm = world()
    return comm


def get_rank(comm: Any = None) -> int:
    """This process's rank (0 when MPI is not in use)."""
    comm = _in_use(comm)
    return 0 if comm is None else int(comm.Get_rank())


def get_world_size(comm: Any = None) -> int:
    """Number of ranks (1 when MPI is not in use)."""
    comm = _in_use(comm)
    return 1 if comm is None else int(comm.Get_size())


def is_root(comm: Any = None) -> bool:
    """True on rank 0: the rank that logs, shows progress and writes files."""
    return get_rank(comm) == 0


def launched_by_mpi() -> bool:
    """True in a process started by mpiexec (before MPI itself is loaded)."""
    # MPICH's hydra sets PMI_RANK, Open MPI sets OMPI_COMM_WORLD_RANK.
    return any(k in os.environ for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"))


def wait(request: Any, what: str, timeout: float | None = None, status: Any = None) -> None:
    """Complete ``request`` or raise :class:`DistributedTimeoutError` after ``timeout`` s.

    ``status`` (an ``MPI.Status``) receives the source and tag of a completed receive.

    Spins on ``Test`` for the first ~millisecond (a collective between busy ranks
    usually finishes by then), then backs off to short sleeps so an idle rank
    leaves the core to a busy one on an oversubscribed machine.
    """
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if request.Test(status):
        return
    t0 = time.perf_counter()
    spins = 0
    pause = 2e-5
    while True:
        if request.Test(status):
            return
        spins += 1
        if spins > 200:
            time.sleep(pause)
            pause = min(pause * 1.5, 2e-3)
            if time.perf_counter() - t0 > timeout:
                raise DistributedTimeoutError(
                    tr(
                        (
                            "{0}: no completion after {1:.0f} s (a peer rank failed, hung or was killed); "
                            "set $KISONET_DIST_TIMEOUT to wait longer"
                        ),
                        what,
                        timeout,
                    )
                )


def waitall(requests: list[Any], what: str, timeout: float | None = None) -> None:
    for r in requests:
        wait(r, what, timeout)


def send_json(comm: Any, obj: Any, dest: int, tag: int) -> None:
    """Send a JSON-serialisable object as bytes (length first, then the payload)."""
    data = np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8)
    comm.Send(np.array([data.size], dtype=np.int64), dest=dest, tag=tag)
    if data.size:
        comm.Send(data, dest=dest, tag=tag)


def recv_json(comm: Any, source: int, tag: int, timeout: float | None = None) -> Any:
    """Receive an object sent by :func:`send_json` (timed)."""
    n = np.zeros(1, dtype=np.int64)
    wait(comm.Irecv(n, source=source, tag=tag), f"receive metadata from rank {source}", timeout)
    buf = np.empty(int(n[0]), dtype=np.uint8)
    if buf.size:
        wait(comm.Irecv(buf, source=source, tag=tag), f"receive metadata from rank {source}", timeout)
    return json.loads(buf.tobytes().decode("utf-8")) if buf.size else None


_EPILOGUE: list[Callable[[], str]] = []


def set_epilogue(text: Callable[[], str] | None) -> None:
    """What this rank adds to its last words whatever ends it (rank 0: the run folder, its last
    good checkpoint and how to resume); None removes it."""
    _EPILOGUE[:] = [] if text is None else [text]


def last_words(comm: Any, message: str, code: int = 1, status: str | None = None, aborting: bool = False) -> None:
    """Print ``kisonet: rank r/N: <message>`` to stderr (flushed) and mark a run folder this
    rank has open as failed (with ``status``, default the message's first line): what a rank
    says before it ends (``aborting``: before it aborts the job)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    first, _, rest = message.partition("\n")
    if "kisonet.runs" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["kisonet.runs"].settle_open_folders(DistributedError(status or first), code)
    for text in _EPILOGUE:  # after the folder is settled: it may say "marked failed"
        with contextlib.suppress(Exception):
            first = f"{first}; {text()}"
    message = f"{first}\n{rest}" if rest else first
    sys.stderr.write(tr("kisonet: rank {0}/{1}: {2}", rank, size, message) + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    from .lastwords import say_bye

    say_bye(aborting)  # this rank has spoken: its watcher process must not speak for it too


def abort(comm: Any, message: str, code: int = 1, grace: float = 0.2, status: str | None = None) -> None:
    """Print ``message`` with this rank's id to stderr and abort every rank of ``comm``
    (a run folder this rank has open is marked failed first, with ``status``).  ``grace``
    seconds pass between the message and the abort (the other ranks' own messages, the
    launcher's pipes)."""
    size = comm.Get_size()
    if size > 1 and status is None:
        first, nl, rest = message.partition("\n")
        message = tr("{0}; aborting all {1} ranks", first, size) + f"{nl}{rest}"
    last_words(comm, message, code, status, aborting=True)
    if size > 1:
        # The launcher forwards each rank's stderr through a pipe; Abort makes it kill every
        # process at once, and text still in transit (or a peer's last words) would be lost.
        time.sleep(grace)
    comm.Abort(code)
    os._exit(code)  # Abort may return before the launcher ends this process: nothing more may run here


TAG_BEAT, TAG_SILENT = 7001, 7002
#: a rank running a Trainer that makes no step for this many times --rank-timeout ends the job
PROGRESS_FACTOR = 10


class Watchdog:
    """Ends every rank, each with a message, when one rank stops responding.

    Two checks, both with ``timeout`` seconds (``--rank-timeout``):

    - **Heartbeats** (every rank, every mode): a thread sends a small message to every
      other rank every ``timeout / 6`` seconds (at most 1 s) on a communicator of its own
      and watches theirs.  A peer silent for ``timeout`` seconds (stopped, swapped out,
      killed while mpiexec keeps the others, its node gone) is named: this rank tells
      the others (so each survivor prints its own line within one beat), prints
      ``rank k stopped responding ...`` (plus :func:`set_epilogue`'s text), waits
      :attr:`grace` seconds for the others to print theirs, and aborts the job.  Needs
      ``MPI_THREAD_MULTIPLE`` (mpi4py asks for it); without it only the progress check runs.
    - **Progress** (``progress=True``: ranks whose main loop calls :meth:`tick`, i.e.
      run a Trainer): no tick for :data:`PROGRESS_FACTOR` ``* timeout`` seconds ends the job
      too: a peer that still beats but never answers (a deadlock), or one step (or one
      epoch's evaluation) slower than that budget.
    """

    def __init__(self, comm: Any, timeout: float, progress: bool = True) -> None:
        self.comm, self.timeout, self.progress = comm, float(timeout), bool(progress)
        self.period = min(1.0, max(0.05, self.timeout / 6))
        self.grace = 2 * self.period + 0.5
        self.detected: tuple[int, float] | None = None  # (silent rank, seconds) once seen
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._beats: Any = None
        self._thread = threading.Thread(target=self._watch, name="kisonet-watchdog", daemon=True)

    @property
    def active(self) -> bool:
        return self.timeout > 0 and self.comm.Get_size() > 1

    def start(self) -> Watchdog:
        """Start watching (collective: every rank calls it at the same point)."""
        if self.active:
            if require_mpi().Query_thread() >= require_mpi().THREAD_MULTIPLE:
                self._beats = self.comm.Dup()  # heartbeats never match the run's own messages
            self._last = time.monotonic()
            self._thread.start()
        return self

    def tick(self) -> None:
        self._last = time.monotonic()

    def on_batch_end(self, trainer: Any, batch: int, logs: Any) -> None:
        self.tick()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
        self.tick()  # evaluation at the end of an epoch counts as progress too

    def stop(self) -> None:
        """Stop watching (every rank at the same point: a rank that stops early looks silent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5 * self.period)

    def _say(self, silent: int, idle: float, told_by: int | None) -> None:
        seen = "" if told_by is None else tr(", seen by rank {0}", told_by)
        self._end(
            tr(
                "rank {0} stopped responding (no heartbeat for {1:.1f} s{2}; --rank-timeout {3:g})",
                silent,
                idle,
                seen,
                self.timeout,
            )
        )

    def _end(self, what: str) -> None:
        """Print this rank's line, give the others :attr:`grace` seconds to print theirs, abort the job."""
        abort(self.comm, tr("{0}: ending all {1} ranks", what, self.comm.Get_size()), 1, self.grace, status=what)

    def _watch(self) -> None:
        MPI = require_mpi()
        beats, rank = self._beats, self.comm.Get_rank()
        peers = [r for r in range(self.comm.Get_size()) if r != rank]
        one = np.ones(1, dtype=np.int64)
        inbox = {p: np.zeros(1, dtype=np.int64) for p in peers}
        news = np.zeros(2, dtype=np.float64)
        recvs: dict[int, Any] = {}
        sends: dict[int, Any] = {}
        news_req = None
        seen = dict.fromkeys(peers, time.monotonic())
        if beats is not None:
            recvs = {p: beats.Irecv(inbox[p], source=p, tag=TAG_BEAT) for p in peers}
            news_req = beats.Irecv(news, source=MPI.ANY_SOURCE, tag=TAG_SILENT)
        status = MPI.Status()
        while not self._stop.wait(self.period):
            now = time.monotonic()
            if beats is not None:
                for p in peers:
                    if sends.get(p) is None or sends[p].Test():
                        sends[p] = beats.Isend(one, dest=p, tag=TAG_BEAT)
                    while recvs[p].Test():
                        seen[p] = now
                        recvs[p] = beats.Irecv(inbox[p], source=p, tag=TAG_BEAT)
                if news_req.Test(status):  # another survivor named a silent rank first
                    self.detected = (int(news[0]), float(news[1]))
                    self._say(int(news[0]), float(news[1]), int(status.Get_source()))
                silent = [p for p in peers if now - seen[p] > self.timeout]
                if silent:
                    p, idle = silent[0], now - seen[silent[0]]
                    self.detected = (p, idle)
                    tell = np.array([p, idle], dtype=np.float64)
                    for q in peers:
                        if q not in silent:
                            beats.Isend(tell, dest=q, tag=TAG_SILENT)
                    self._say(p, idle, None)
            idle = now - self._last
            if self.progress and idle > PROGRESS_FACTOR * self.timeout:
                self._end(
                    tr(
                        "no progress for {0:.0f} s while every rank still answers: a rank is stuck (or "
                        "one step takes longer than {1} x --rank-timeout {2:g})",
                        idle,
                        PROGRESS_FACTOR,
                        self.timeout,
                    )
                )
        if beats is not None:
            for r in [*recvs.values(), news_req]:
                with contextlib.suppress(Exception):
                    r.Cancel()


@contextlib.contextmanager
def guard(comm: Any = None) -> Iterator[None]:
    """Run a block so that an exception on this rank ends every rank.

    The error (with its traceback) goes to stderr tagged with the rank, then
    ``comm.Abort(1)``: peers blocked in a collective or a receive are killed by
    the launcher instead of hanging.  ``KeyboardInterrupt`` aborts with 130.
    On a single rank the exception simply propagates.
    """
    comm = world() if comm is None else comm
    try:
        yield
    except KeyboardInterrupt:
        if comm.Get_size() == 1:
            raise
        abort(comm, tr("interrupted"), 130)
    except SystemExit as e:
        if comm.Get_size() == 1 or e.code in (0, None):
            raise
        abort(comm, tr("exited with status {0}", e.code), e.code if isinstance(e.code, int) else 1)
    except BaseException as e:
        if comm.Get_size() == 1:
            raise
        if isinstance(e, KisonetError):  # a deliberate, self-explaining error: one line
            abort(comm, tr("error: {0}", e), 2 if type(e).__name__ == "UsageError" else 1)
        elif type(e).__module__ == "mpi4py.MPI":  # MPI itself failed: a peer died or its link broke
            from .lastwords import dead_peers

            gone = dead_peers()
            who = (
                tr("rank {0} died", ", ".join(map(str, gone))) if gone else tr("a peer rank died or cannot be reached")
            )
            abort(comm, tr("MPI error ({0}): {1}", who, str(e).splitlines()[0]))
        else:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            abort(comm, f"{type(e).__name__}: {e}\n{tb}")


def install_excepthook(comm: Any = None) -> None:
    """Make an uncaught exception on this rank abort every rank (for scripts)."""
    comm = world() if comm is None else comm
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        previous(kind, value, tb)
        if comm.Get_size() > 1:
            abort(comm, tr("uncaught {0}: {1}", kind.__name__, value), 130 if kind is KeyboardInterrupt else 1)

    sys.excepthook = hook
