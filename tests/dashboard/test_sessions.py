"""Playground sessions: worker processes, their number and CPU-time caps, their clean-up."""

from __future__ import annotations

import time

import pytest

from kisonet.dashboard.sessions import SessionError, SessionManager


def _events(mgr: SessionManager, sid: str, until: str, timeout: float) -> list[tuple[str, dict]]:
    seen = []
    deadline = time.monotonic() + timeout
    for kind, msg in mgr.stream(sid):
        seen.append((kind, msg))
        if kind == until or time.monotonic() > deadline:
            break
    return seen


def test_a_session_trains_steps_and_reports_frames() -> None:
    mgr = SessionManager(max_sessions=2)
    try:
        sid = mgr.create({"data": {"dataset": "xor", "n_points": 100}})
        events = _events(mgr, sid, "frame", 60)
        assert events[0][0] == "data" and len(events[0][1]["points"]["train"]["y"]) == 70
        mgr.control(sid, {"action": "step", "steps": 5})
        frame = _events(mgr, sid, "frame", 60)[-1][1]
        assert frame["lanes"][0]["step"] == 5 and len(frame["lanes"][0]["weights"]) == 3
        with pytest.raises(SessionError, match="steps"):
            mgr.control(sid, {"action": "step", "steps": 10**6})
        with pytest.raises(SessionError, match="unknown action"):
            mgr.control(sid, {"action": "exec"})
        with pytest.raises(SessionError, match="cannot change while training"):
            mgr.control(sid, {"action": "update", "lanes": [{"hidden": [99]}]})
    finally:
        mgr.close_all()


def test_at_most_max_sessions_and_closing_ends_the_process() -> None:
    mgr = SessionManager(max_sessions=2)
    try:
        a, b = mgr.create({}), mgr.create({})
        with pytest.raises(SessionError, match="at most 2") as e:
            mgr.create({})
        assert e.value.status == 429
        proc = mgr.sessions[a].proc
        mgr.close(a)
        assert proc.poll() is not None
        mgr.create({})  # a slot is free again
        assert b in mgr.sessions
    finally:
        mgr.close_all()


def test_the_cpu_time_cap_ends_a_session() -> None:
    mgr = SessionManager(max_sessions=1, cpu_seconds=1)
    try:
        sid = mgr.create({})
        mgr.control(sid, {"action": "run"})
        events = _events(mgr, sid, "closed", 90)
        errors = [m["error"] for k, m in events if k == "error"]
        assert any("CPU-time cap" in e for e in errors), errors[-3:]
        assert events[-1][0] == "closed"
    finally:
        mgr.close_all()
