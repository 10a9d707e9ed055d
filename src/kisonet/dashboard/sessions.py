"""Playground sessions: one worker process per page, capped in number and in CPU time.

A session starts when a page opens the playground and ends when the page goes away (its event
stream closes and no new one attaches within :data:`GRACE` seconds, or the page says goodbye),
when it has had no stream for :data:`IDLE` seconds, or when its worker dies (its CPU-time cap).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..lang import tr

__all__ = ["Session", "SessionError", "SessionManager"]

GRACE = 10.0  # s a session survives without a page (a reload re-attaches within this)
IDLE = 60.0  # s a session may exist without ever being streamed
MAX_CONTROL = 20.0  # control messages a second per session


class SessionError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _limit_cpu(pid: int, seconds: float) -> None:
    """The kernel's CPU-time cap on the worker: SIGXCPU at ``seconds``, SIGKILL 5 s later."""
    try:
        import resource

        soft = max(1, int(seconds))
        resource.prlimit(pid, resource.RLIMIT_CPU, (soft, soft + 5))
    except (ImportError, AttributeError, OSError):  # not Linux: the session's wall-clock limits still apply
        pass


class Session:
    """A worker process, the last frame it sent, and who is listening."""

    def __init__(self, sid: str, cpu_seconds: float) -> None:
        self.sid = sid
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kisonet.dashboard.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the server, which closes us
        )
        _limit_cpu(self.proc.pid, cpu_seconds)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=64)
        self.data: dict[str, Any] | None = None
        self.listeners = 0
        self.last_seen = time.monotonic()
        self.created = time.monotonic()
        self.ever_streamed = False
        self.lock = threading.Lock()
        self.controls: list[float] = []
        threading.Thread(target=self._read, daemon=True, name=f"playground-{sid}").start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            kind = msg.pop("event", "frame")
            if kind == "data":
                self.data = msg
            self._put(kind, msg)
        self._put("closed", {"error": "the session ended"})

    def _put(self, kind: str, msg: Any) -> None:
        # Keep the stream current: when the page reads slower than the worker sends, drop
        # the oldest frames (a frame is a full picture; nothing is lost by skipping one).
        while True:
            try:
                self.events.put_nowait((kind, msg))
                return
            except queue.Full:
                try:
                    self.events.get_nowait()
                except queue.Empty:
                    pass

    def send(self, msg: dict[str, Any]) -> None:
        if self.proc.poll() is not None or self.proc.stdin is None:
            raise SessionError(tr("the playground session has ended; reload the page"), 410)
        try:
            with self.lock:  # one line at a time from the request threads
                self.proc.stdin.write((json.dumps(msg) + "\n").encode())
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SessionError(tr("the playground session has ended; reload the page"), 410) from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=1.0)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class SessionManager:
    """At most ``max_sessions`` live sessions, each capped at ``cpu_seconds`` of CPU time."""

    def __init__(self, max_sessions: int = 3, cpu_seconds: float = 600.0) -> None:
        self.max_sessions = max_sessions
        self.cpu_seconds = cpu_seconds
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self._reaper: threading.Thread | None = None

    def _reap(self) -> None:
        while True:
            time.sleep(2.0)
            with self.lock:
                now = time.monotonic()
                dead = [
                    s
                    for s in self.sessions.values()
                    if not s.alive() or (s.listeners == 0 and now - s.last_seen > (GRACE if s.ever_streamed else IDLE))
                ]
                for s in dead:
                    del self.sessions[s.sid]
                if not self.sessions:
                    self._reaper = None
            for s in dead:
                s.close()
            if self._reaper is None:
                return  # no sessions: the reaper sleeps no more (an idle dashboard uses no CPU)

    def create(self, config: dict[str, Any]) -> str:
        from ..playground import parse_config

        cfg = parse_config(config)  # refuse a bad setting before starting a process
        with self.lock:
            live = [s for s in self.sessions.values() if s.alive()]
            if len(live) >= self.max_sessions:
                raise SessionError(
                    tr("{0} playground sessions are open (at most {1}); close a tab", len(live), self.max_sessions), 429
                )
            sid = secrets.token_urlsafe(12)
            s = Session(sid, self.cpu_seconds)
            self.sessions[sid] = s
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, daemon=True, name="playground-reaper")
                self._reaper.start()
        s.send({"action": "config", "config": cfg})
        return sid

    def get(self, sid: str) -> Session:
        with self.lock:
            s = self.sessions.get(sid)
        if s is None or not s.alive():
            raise SessionError(tr("no such playground session (it ended); reload the page"), 404)
        return s

    def control(self, sid: str, msg: dict[str, Any]) -> None:
        from ..playground import parse_config

        s = self.get(sid)
        now = time.monotonic()
        with s.lock:
            s.controls = [t for t in s.controls if now - t < 1.0]
            if len(s.controls) >= MAX_CONTROL:
                raise SessionError(tr("too many playground commands; slow down"), 429)
            s.controls.append(now)
        action = msg.get("action")
        if action not in ("run", "pause", "step", "reset", "config", "update"):
            raise SessionError(
                tr("unknown action {0!r}; choose from: run, pause, step, reset, config, update", str(action)[:20])
            )
        out: dict[str, Any] = {"action": action}
        if action == "config":
            out["config"] = parse_config(msg.get("config"))
        elif action == "step":
            steps = msg.get("steps", 1)
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000:
                raise SessionError(tr("steps: expected an integer in [1, 1000], got {0!r}", str(steps)[:20]))
            out["steps"] = steps
        elif action == "update":
            lanes = msg.get("lanes")
            if not isinstance(lanes, list) or len(lanes) > 4 or not all(isinstance(x, dict) for x in lanes):
                raise SessionError(tr("update: expected lanes, a list of up to 4 objects"))
            from ..playground import LIMITS

            for i, live in enumerate(lanes):
                for k, v in live.items():
                    if k not in ("lr", "l1", "l2", "input_noise"):
                        raise SessionError(tr("update: lanes[{0}].{1} cannot change while training", i, str(k)[:20]))
                    lo, hi = LIMITS[k]
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                        raise SessionError(
                            tr("update: lanes[{0}].{1} expected a number in [{2:g}, {3:g}]", i, k, lo, hi)
                        )
            out["lanes"] = lanes
        s.send(out)

    def close(self, sid: str) -> None:
        with self.lock:
            s = self.sessions.pop(sid, None)
        if s is not None:
            s.close()

    def close_all(self) -> None:
        with self.lock:
            all_s = list(self.sessions.values())
            self.sessions.clear()
        for s in all_s:
            s.close()

    def stream(self, sid: str) -> Iterator[tuple[str, Any]]:
        s = self.get(sid)

        def gen() -> Iterator[tuple[str, Any]]:
            with s.lock:
                s.listeners += 1
                s.ever_streamed = True
            try:
                if s.data is not None:
                    yield "data", s.data
                while True:
                    try:
                        kind, msg = s.events.get(timeout=15.0)
                    except queue.Empty:
                        yield "beat", {}
                        continue
                    yield kind, msg
                    if kind == "closed":
                        return
            finally:
                with s.lock:
                    s.listeners -= 1
                    s.last_seen = time.monotonic()

        return gen()
