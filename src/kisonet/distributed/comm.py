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
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import KisonetError

__all__ = [
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
            "kisonet.distributed needs mpi4py and an MPI runtime: pip install 'kisonet[mpi]' "
            f"(mpi4py + the mpich wheel), then launch with mpiexec -n N ... ({e})"
        ) from None
    return MPI


def world() -> Any:
    """``MPI.COMM_WORLD`` (imports mpi4py, which initialises MPI)."""
    return require_mpi().COMM_WORLD


def _mpi_loaded() -> bool:
    return "mpi4py.MPI" in sys.modules


def get_rank(comm: Any = None) -> int:
    """This process's rank (0 when MPI is not in use)."""
    if comm is None:
        if not _mpi_loaded() and not _launched_by_mpi():
            return 0
        comm = world()
    return int(comm.Get_rank())


def get_world_size(comm: Any = None) -> int:
    """Number of ranks (1 when MPI is not in use)."""
    if comm is None:
        if not _mpi_loaded() and not _launched_by_mpi():
            return 1
        comm = world()
    return int(comm.Get_size())


def is_root(comm: Any = None) -> bool:
    """True on rank 0: the rank that logs, shows progress and writes files."""
    return get_rank(comm) == 0


def _launched_by_mpi() -> bool:
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
                    f"{what}: no completion after {timeout:.0f} s (a peer rank failed, hung or was killed); "
                    "set $KISONET_DIST_TIMEOUT to wait longer"
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


def abort(comm: Any, message: str, code: int = 1) -> None:
    """Print ``message`` with this rank's id to stderr and abort every rank of ``comm``
    (a run folder this rank has open is marked failed first)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    if "kisonet.runs" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["kisonet.runs"].settle_open_folders(RuntimeError(message.splitlines()[0]), code)
    sys.stderr.write(f"kisonet: rank {rank}/{size}: {message}\n")
    if size > 1:
        sys.stderr.write(f"kisonet: rank {rank}/{size}: aborting all {size} ranks\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if size > 1:
        # The launcher forwards each rank's stderr through a pipe; Abort makes it kill every
        # process at once, and text still in transit can be lost: give it a moment.
        time.sleep(0.2)
    comm.Abort(code)
    os._exit(code)  # Abort may return before the launcher ends this process: nothing more may run here


class Watchdog:
    """Ends every rank when this one makes no progress for ``timeout`` seconds.

    A rank that stops responding (stopped, swapped out, stuck) leaves its peers blocked
    in a collective for ever; their watchdogs see no :meth:`tick` (called after every
    training step) for ``timeout`` seconds and abort the job with a message naming the
    wait.  Also a Trainer callback: ``on_batch_end`` ticks.
    """

    def __init__(self, comm: Any, timeout: float) -> None:
        self.comm, self.timeout = comm, float(timeout)
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="kisonet-watchdog", daemon=True)

    def start(self) -> Watchdog:
        if self.timeout > 0 and self.comm.Get_size() > 1:
            self._thread.start()
        return self

    def tick(self) -> None:
        self._last = time.monotonic()

    def on_batch_end(self, trainer: Any, batch: int, logs: Any) -> None:
        self.tick()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
        self.tick()  # evaluation at the end of an epoch counts as progress too

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.timeout / 4)):
            idle = time.monotonic() - self._last
            if idle > self.timeout:
                abort(
                    self.comm,
                    f"no progress for {idle:.0f} s: another rank stopped responding (or one step takes longer "
                    f"than --rank-timeout {self.timeout:g}); the run is marked failed",
                    1,
                )


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
        abort(comm, "interrupted", 130)
    except SystemExit as e:
        if comm.Get_size() == 1 or e.code in (0, None):
            raise
        abort(comm, f"exited with status {e.code}", e.code if isinstance(e.code, int) else 1)
    except BaseException as e:
        if comm.Get_size() == 1:
            raise
        if isinstance(e, KisonetError):  # a deliberate, self-explaining error: one line
            abort(comm, f"error: {e}", 2 if type(e).__name__ == "UsageError" else 1)
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
            abort(comm, f"uncaught {kind.__name__}: {value}", 130 if kind is KeyboardInterrupt else 1)

    sys.excepthook = hook
