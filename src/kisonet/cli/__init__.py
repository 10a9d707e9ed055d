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

from .. import i18n
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

    def format_help(self) -> str:
        return _translate_headings(super().format_help())

    def format_usage(self) -> str:
        return _translate_headings(super().format_usage())


def _translate_headings(text: str) -> str:
    """argparse's own words ('usage:', 'options:') in the language in force."""
    if i18n.get_language() == "en":
        return text
    _ = i18n.gettext
    text = text.replace("usage: ", _("usage: "), 1)
    for heading in ("options", "positional arguments"):
        text = text.replace(f"\n{heading}:\n", f"\n{_(heading)}:\n")
    return text


def _translate_parser(parser: argparse.ArgumentParser) -> None:
    """Every help line and description of ``parser`` and its sub-commands, translated."""
    parser.description = i18n.translate_help(parser.description or "") or None
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            action.help = i18n.translate_help(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = i18n.translate_help(choice.help or "")
            for sub in action.choices.values():
                _translate_parser(sub)


def _take_lang(argv: list[str]) -> list[str]:
    """``--lang ja`` / ``--lang=ja`` anywhere on the line: set the language, drop the flag."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--lang" or a.startswith("--lang="):
            value = a.split("=", 1)[1] if "=" in a else next(it, "")
            if i18n.normalise_language(value) is None:
                raise UsageError(
                    f"--lang: unknown language {value!r}{closest(value, i18n.LANGUAGES)}; "
                    f"choose from: {', '.join(i18n.LANGUAGES)}"
                )
            i18n.set_language(value)
        else:
            out.append(a)
    return out


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
    parser.add_argument(
        "--lang",
        metavar="LANG",
        help="language of messages, help, tables and figures (en, ja; also KISONET_LANG or a Japanese locale; "
        "before or after the command)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = _command_module(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP, allow_abbrev=False)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    if i18n.get_language() != "en":
        _translate_parser(parser)
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
    chosen = i18n.chosen_language()  # --lang holds for this call only (tests call main in-process)
    try:
        argv = _take_lang(argv)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        return _main(argv, prog)
    finally:
        i18n.set_language(chosen)


def _main(argv: list[str], prog: str) -> int:
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
        print(f"{prog}: {i18n.gettext('error')}: {i18n.translate_message(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: {i18n.gettext('interrupted')}", file=sys.stderr)
        return 130
