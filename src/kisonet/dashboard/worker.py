"""A playground session's process: trains a :class:`kisonet.playground.Playground` and reports.

Started by :class:`kisonet.dashboard.sessions.SessionManager` as ``python -m
kisonet.dashboard.worker``, one process per page, so training never holds the server's GIL and
each session has its own CPU-time cap (RLIMIT_CPU, set by the parent).  Protocol: one JSON object
a line both ways.  In: ``{"action": "run" | "pause" | "step" | "reset" | "config" | "update",
...}``.  Out: ``{"event": "data" | "frame" | "error", ...}``.  While running it trains in slices
of ~1/FPS s and sends a frame after each; paused it sleeps in ``select`` (no CPU).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Any

from ..lang import tr

FPS = 15.0  # frames a second while training (the boundary redraws this often)
MAX_LINE = 64 * 1024


def _send(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.flush()


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from ..errors import KisonetError
    from ..playground import Playground, parse_config
    from ..threads import set_num_threads

    set_num_threads(1)

    def cpu_cap(signum: int, frame: Any) -> None:
        _send({"event": "error", "error": "this session reached its CPU-time cap; reload the page for a new one"})
        os._exit(3)

    signal.signal(signal.SIGXCPU, cpu_cap)
    pg: Playground | None = None
    running = False
    chunk = 50  # steps per slice, adapted so that a slice lasts ~1/FPS s
    fd = sys.stdin.fileno()
    buf = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0 if (running and pg is not None) else None)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                return 0  # the server closed the pipe: the session is over
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                    action = msg.get("action")
                    if action in ("config", "reset"):
                        cfg = parse_config(msg["config"]) if action == "config" else pg.config  # type: ignore[union-attr]
                        pg = Playground(cfg)
                        _send({"event": "data", "points": pg.points(), "config": cfg})
                        _send({"event": "frame", "running": running, **pg.frame()})
                    elif pg is None:
                        raise KisonetError(tr("no setting yet"))
                    elif action == "run":
                        running = True
                    elif action == "pause":
                        running = False
                        _send({"event": "frame", "running": False, **pg.frame()})
                    elif action == "step":
                        running = False
                        pg.train(int(min(max(msg.get("steps", 1), 1), 1000)))
                        _send({"event": "frame", "running": False, **pg.frame()})
                    elif action == "update":
                        for i, live in enumerate(msg.get("lanes", [])):
                            if i < len(pg.lanes) and isinstance(live, dict):
                                pg.update(
                                    i, **{k: v for k, v in live.items() if k in ("lr", "l1", "l2", "input_noise")}
                                )
                        if not running:
                            _send({"event": "frame", "running": False, **pg.frame()})
                    else:
                        raise KisonetError(tr("unknown action {0!r}", str(action)[:20]))
                except KisonetError as e:
                    _send({"event": "error", "error": str(e)})
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    _send({"event": "error", "error": f"bad message: {type(e).__name__}"})
            if len(buf) > MAX_LINE:
                buf = b""
            continue
        if running and pg is not None:
            t0 = time.perf_counter()
            pg.train(chunk)
            dt = time.perf_counter() - t0
            chunk = int(min(5000, max(1, chunk * (0.8 / FPS) / max(dt, 1e-4))))
            if all(ln.diverged for ln in pg.lanes):
                running = False
            _send({"event": "frame", "running": running, **pg.frame()})


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
