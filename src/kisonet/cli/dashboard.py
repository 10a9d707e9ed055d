"""``kisonet dashboard [RUNS_DIR]``: the runs, their live curves and the playground, in the browser.

Needs the web extra (``pip install "kisonet[web]"``).  Binds 127.0.0.1 unless ``--host`` says
otherwise (then it warns: anyone who can reach the port can read the runs folder and use CPU).
Exit codes: 0 stopped with Ctrl-C; 2 a bad argument, a missing web extra or a port in use.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from ..lang import tr
from .options import UsageError

DEFAULT_PORT = 8765


def _port(value: str) -> int:
    try:
        p = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("expected an integer in [0, 65535], got {0!r}", value)) from None
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(tr("expected an integer in [0, 65535], got {0!r}", value))
    return p


def _bounded(kind: type, low: float, high: float):  # noqa: ANN202
    def parse(value: str) -> float:
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                tr("expected a number in [{0:g}, {1:g}], got {2!r}", low, high, value)
            ) from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(tr("expected a number in [{0:g}, {1:g}], got {2!r}", low, high, value))
        return v

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs_dir", nargs="?", default="runs", metavar="RUNS_DIR", help="folder of run folders (default: runs)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, metavar="N", help=f"port (default {DEFAULT_PORT}; 0: any free one)"
    )
    parser.add_argument(
        "--max-sessions", type=_bounded(int, 1, 16), default=3, metavar="N",
        help="playground sessions open at once (default 3)",
    )  # fmt: skip
    parser.add_argument(
        "--session-cpu", type=_bounded(float, 1, 86400), default=600.0, metavar="SECONDS",
        help="CPU-time cap of one playground session (default 600)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    root = Path(args.runs_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(tr("RUNS_DIR {0!r} is not a folder", str(root)))
    host = str(args.host).strip()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        raise UsageError(tr("--host: expected an IP address such as 127.0.0.1, got {0!r}", host)) from None
    try:
        from ..dashboard.server import create_app, make_server
    except ImportError as e:
        raise UsageError(
            tr('the dashboard needs the web extra ({0} is missing): pip install "kisonet[web]"', e.name)
        ) from None
    allowed = None if loopback else (host, "127.0.0.1", "localhost")
    app = create_app(
        root, max_sessions=int(args.max_sessions), session_cpu=float(args.session_cpu), allowed_hosts=allowed
    )
    try:
        server = make_server(app, host, args.port)
    except OSError as e:
        raise UsageError(tr("--port {0}: cannot listen on {1}:{0} ({2})", args.port, host, e.strerror or e)) from None
    port = server.server_port
    shown = f"[{host}]" if ":" in host else host
    if not loopback:
        print(
            tr(
                "{0}: warning: {1}",
                "kisonet dashboard",
                tr(
                    "listening on {0}, not only this machine: anyone who reaches port {1} can read {2!r} "
                    "and use this computer's CPU",
                    host,
                    port,
                    str(root),
                ),
            ),
            file=sys.stderr,
        )
    if not root.exists():
        print(f"kisonet dashboard: {str(root)!r} does not exist yet; runs appear when they start", file=sys.stderr)
    print(f"kisonet dashboard: serving {str(root)!r} at http://{shown}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["kisonet"]["sessions"].close_all()
        server.server_close()
    return 0
