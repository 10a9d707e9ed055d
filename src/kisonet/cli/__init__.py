"""The ``kisonet`` command line: ``kisonet <command> [options]``.

Each command is a module of this package exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` maps the
command's name to its module.  Adding a command is one new module plus one line
in :data:`COMMANDS`.  Command modules import the heavy parts of kisonet
(layers, data, matplotlib) inside ``run`` so that ``kisonet --help`` and argument
errors stay instant.

Exit codes: 0 success; 1 the run failed (e.g. the NaN/Inf guard stopped
training); 2 a bad argument or value (one line on stderr, never a traceback);
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import closest
from .options import UsageError

# name -> module (relative to this package). One line per command.
COMMANDS: dict[str, str] = {
    "train": ".train",
    "evaluate": ".evaluate",
    "predict": ".predict",
    "datasets": ".datasets",
    "augment": ".augment",
    "experiment": ".experiment",
    "compress": ".compress",
    "ensemble": ".ensemble",
    "semi": ".semi",
    "autoencoder": ".autoencoder",
    "notes": ".notes",
    "dashboard": ".dashboard",
}

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one-line :class:`UsageError`s."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _command_module(name: str):
    return importlib.import_module(COMMANDS[name], __name__)


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = _Parser(
        prog="kisonet",
        description="kisonet: deep learning from first principles, on NumPy.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"kisonet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = _command_module(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP, allow_abbrev=False)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _unrecognized(argv: list[str], parser: argparse.ArgumentParser, command: str | None) -> str:
    """'unrecognized arguments: --lrr 0.1' with the closest known flag suggested."""
    flags: list[str] = []
    target = parser
    if command:
        for action in parser._actions:  # the sub-parser of ``command``
            if isinstance(action, argparse._SubParsersAction):
                target = action.choices[command]
    for action in target._actions:
        flags.extend(s for s in action.option_strings if s.startswith("--"))
    bad = [a for a in argv if a.startswith("-")]
    if not bad:
        return f"unexpected argument {argv[0]!r}; see `kisonet {command or ''} --help`".replace("  ", " ")
    first = bad[0].split("=", 1)[0]
    hint = closest(first, flags)
    return f"unknown option {first!r}{hint}" + (
        "" if hint else f"; see `kisonet {command or ''} --help`".replace("  ", " ")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "kisonet"
    # name the command early so error lines say `kisonet train: ...`
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and command in COMMANDS:
        prog = f"kisonet {command}"
    try:
        if command is not None and command not in COMMANDS and not argv[0].startswith("-"):
            raise UsageError(
                f"unknown command {command!r}{closest(command, COMMANDS)}; choose from: {', '.join(COMMANDS)}"
            )
        parser = build_parser()
        args, rest = parser.parse_known_args(argv)
        if rest:
            raise UsageError(_unrecognized(rest, parser, getattr(args, "command", None)))
        if getattr(args, "command", None) is None:
            parser.print_help()
            return 0
        return int(args._run(args) or 0)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
