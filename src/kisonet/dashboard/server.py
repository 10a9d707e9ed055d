"""The dashboard's HTTP front-end: a Flask app over a read-only runs folder and the playground.

Why Flask (Werkzeug's threaded server): one small, long-maintained dependency with no async
machinery for a learner to follow; a handful of local clients is all a dashboard has, so a
thread per request (and per server-sent-event stream) costs nothing that matters, and the
code stays plain functions.  Server-sent events push the live curves; the page needs no
build step and no JavaScript library.

Safety: binds 127.0.0.1 by default; answers only requests whose Host header names this
server (DNS rebinding) and refuses cross-origin writes; files are served only from inside the
runs folder; every parameter is a registered name or a bounded number; request bodies are
capped and requests rate-limited per client; every error is a JSON object, never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from ..errors import KisonetError
from ..lang import tr
from .catalog import Catalog, safe_file
from .sessions import SessionError, SessionManager
from .strings import LANGUAGES, strings

__all__ = ["create_app", "make_server"]

MAX_BODY = 64 * 1024  # bytes of a request body (a playground setting is < 2 kB)
POLL = 0.5  # s between looks at the running runs while a page listens (live curves within 2 s)
FULL_SCAN = 2.0  # s between walks of the whole runs folder (new runs appear within this)
HEARTBEAT = 15.0  # s: an SSE comment keeps the stream open and notices a closed page


class RateLimiter:
    """A token bucket per client: ``rate`` requests a second, bursts of ``burst``."""

    def __init__(self, rate: float = 50.0, burst: float = 200.0) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 1000:  # forget idle clients
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return True


class RefusedError(Exception):
    """A request the dashboard refuses: ``status`` and a one-line message for the JSON error."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n"


def _clean(obj: Any) -> Any:
    """NaN/Inf -> None, recursively, so every JSON answer is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def create_app(
    runs_dir: str | Path,
    *,
    max_sessions: int = 3,
    session_cpu: float = 600.0,
    allowed_hosts: tuple[str, ...] | None = None,
    rate: float = 50.0,
) -> Flask:
    """The dashboard app for ``runs_dir``.  ``allowed_hosts``: the Host header values accepted
    (None: any host name of a loopback server, i.e. ``127.0.0.1``, ``localhost``, ``[::1]``)."""
    static = resources.files("kisonet.dashboard") / "static"
    app = Flask("kisonet.dashboard", static_folder=str(static), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    catalog = Catalog(runs_dir)
    sessions = SessionManager(max_sessions=max_sessions, cpu_seconds=session_cpu)
    limiter = RateLimiter(rate=rate, burst=4 * rate)
    app.extensions["kisonet"] = {"catalog": catalog, "sessions": sessions}
    summaries: dict[str, tuple[tuple[float, ...], dict[str, Any]]] = {}
    summaries_lock = threading.Lock()

    def summary_rows() -> list[dict[str, Any]]:
        rows = []
        with summaries_lock:
            seen = set()
            for run in catalog.scan():
                seen.add(run.rel)
                cached = summaries.get(run.rel)
                if cached is None or cached[0] != run.stamp or cached[1]["status"] == "running":
                    cached = (run.stamp, _clean(catalog.summary(run)))
                    summaries[run.rel] = cached
                rows.append(cached[1])
            for gone in set(summaries) - seen:
                del summaries[gone]
        return rows

    # --- guards ---------------------------------------------------------------------------

    @app.before_request
    def guard() -> Any:
        host = (request.host or "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        ok_names = allowed_hosts or ("127.0.0.1", "localhost", "[::1]")
        if name not in ok_names:
            raise RefusedError(tr("host {0!r} not served (the dashboard answers {1})", host, ", ".join(ok_names)), 403)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin and origin.split("://", 1)[-1].lower() != host:
                raise RefusedError(tr("cross-origin request refused"), 403)
        if not limiter.allow(request.remote_addr or "?"):
            raise RefusedError(tr("too many requests; slow down"), 429)
        return None

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        )
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @app.errorhandler(RefusedError)
    def bad_request(e: RefusedError) -> Any:
        return jsonify(error=str(e)), e.status

    @app.errorhandler(SessionError)
    def session_error(e: SessionError) -> Any:
        return jsonify(error=str(e)), e.status

    @app.errorhandler(KisonetError)
    def kisonet_error(e: KisonetError) -> Any:
        return jsonify(error=str(e)), 400

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        return jsonify(error=f"{e.code} {e.name}"), e.code or 500

    @app.errorhandler(Exception)
    def internal(e: Exception) -> Any:  # never a traceback to the client
        logging.getLogger("kisonet.dashboard").error("internal error: %s: %s", type(e).__name__, e)
        return jsonify(error="internal error (see the dashboard's terminal)"), 500

    def arg(name: str, default: str | None = None, max_len: int = 512) -> str:
        v = request.args.get(name, default)
        if v is None:
            raise RefusedError(tr("missing parameter {0!r}", name))
        if len(v) > max_len:
            raise RefusedError(tr("parameter {0!r} longer than {1} characters", name, max_len))
        return v

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise RefusedError(tr("expected a JSON object body"))
        return data

    # --- pages ----------------------------------------------------------------------------

    @app.get("/")
    def index() -> Any:
        return send_file(str(static / "index.html"), mimetype="text/html", max_age=0)

    @app.get("/api/language")
    def api_language() -> Any:
        """The language kisonet speaks here (``--lang``, ``KISONET_LANG``, the locale): the page's default."""
        from ..i18n import get_language

        return jsonify(lang=get_language())

    @app.get("/api/strings")
    def api_strings() -> Any:
        lang = arg("lang", "en", 8)
        if lang not in LANGUAGES:
            raise RefusedError(tr("unknown language {0!r}; choose from: {1}", lang, ", ".join(LANGUAGES)))
        return jsonify(lang=lang, strings=strings(lang))

    # --- runs -----------------------------------------------------------------------------

    @app.get("/api/runs")
    def api_runs() -> Any:
        return jsonify(root=str(catalog.root), runs=summary_rows())

    def run_path(rel: str) -> Path:
        p = catalog.resolve_run(rel)
        if p is None:
            raise RefusedError(tr("no run folder {0!r} in the runs folder", rel), 404)
        return p

    @app.get("/api/run")
    def api_run() -> Any:
        rel = arg("run")
        return jsonify(run=rel, **_clean(catalog.detail(run_path(rel))))

    @app.get("/api/file")
    def api_file() -> Any:  # ?run=REL&name=FILE (&v=mtime, ignored: it only defeats the browser's cache)
        rel = arg("run")
        name = arg("name")
        run_path(rel)
        found = safe_file(catalog.root, f"{rel}/{name}")
        if found is None:
            raise RefusedError(tr("no servable file {0!r} in run {1!r}", name, rel), 404)
        path, ctype = found
        return send_file(str(path), mimetype=ctype, max_age=0, conditional=True)

    @app.get("/api/events")
    def api_events() -> Any:
        """Server-sent events: ``runs`` (changed rows) and ``history`` (curves of changed runs)."""

        def stream() -> Iterator[str]:
            # Every POLL seconds the running runs are looked at (a few stats); the whole folder
            # (new and removed runs) every FULL_SCAN seconds.
            stamps: dict[str, tuple[float, ...]] = {}
            running: dict[str, Path] = {}
            last_beat = last_full = time.monotonic()
            first = True
            yield "retry: 1000\n\n"
            while True:
                full = first or time.monotonic() - last_full >= FULL_SCAN
                if full:
                    runs = catalog.scan()
                    last_full = time.monotonic()
                    gone = set(stamps) - {r.rel for r in runs}
                else:
                    runs = [catalog.run_info(rel, p) for rel, p in running.items()]
                    gone = set()
                changed = [r for r in runs if stamps.get(r.rel) != r.stamp]
                if changed or gone:
                    stamps.update({r.rel: r.stamp for r in runs})
                    for g in gone:
                        stamps.pop(g, None)
                    rows = {row["run"]: row for row in summary_rows()}
                    running = {rel: catalog.root / rel for rel, row in rows.items() if row["status"] == "running"}
                    if not first:
                        yield _sse("runs", {"changed": [rows[r.rel] for r in changed if r.rel in rows],
                                            "gone": sorted(gone)})  # fmt: skip
                        for r in changed:
                            hist = _clean(catalog.detail(r.path)["history"]) if r.path.is_dir() else {}
                            yield _sse("history", {"run": r.rel, "history": hist})
                    last_beat = time.monotonic()
                elif time.monotonic() - last_beat > HEARTBEAT:
                    yield ": beat\n\n"
                    last_beat = time.monotonic()
                first = False
                time.sleep(POLL)

        return Response(stream(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})

    # --- playground -----------------------------------------------------------------------

    @app.get("/api/play/options")
    def api_play_options() -> Any:
        from ..playground import options

        return jsonify(options())

    @app.post("/api/play/new")
    def api_play_new() -> Any:
        sid = sessions.create(body())
        return jsonify(session=sid)

    @app.post("/api/play/<sid>/control")
    def api_play_control(sid: str) -> Any:
        sessions.control(sid, body())
        return jsonify(ok=True)

    @app.post("/api/play/<sid>/close")
    def api_play_close(sid: str) -> Any:
        sessions.close(sid)
        return jsonify(ok=True)

    @app.get("/api/play/<sid>/stream")
    def api_play_stream(sid: str) -> Any:
        it = sessions.stream(sid)

        def events() -> Iterator[str]:
            try:
                for kind, data in it:
                    yield _sse(kind, data)
            finally:  # the page went away (the server closes this generator): let the session know now
                it.close()

        return Response(events(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/api/paths")
    def api_paths() -> Any:
        from ..playground import optimizer_paths_request

        return jsonify(_clean(optimizer_paths_request(dict(request.args))))

    return app


def make_server(app: Flask, host: str, port: int) -> Any:
    """A threaded Werkzeug server for ``app`` on ``host:port`` (port 0: a free one)."""
    from werkzeug.serving import make_server as _mk

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return _mk(host, port, app, threaded=True)
