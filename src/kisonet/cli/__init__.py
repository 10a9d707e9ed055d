"""The ``kisonet`` command line: ``kisonet <command> [options]``.

Each command is a module of this package exposing ``add_arguments(parser)`` and
``run(args) -> int``; :data:`COMMANDS` maps the command's name to its module and its
one-line help.  Adding a command is one new module plus one line in :data:`COMMANDS`.
Only the command being run (or whose ``--help`` is asked) is imported and given its
options, so ``kisonet --help`` and argument errors stay quick; command modules import
the heavy parts of kisonet (layers, data, matplotlib) inside ``run``.

Every error ends as one line on stderr (``kisonet <command>: error: ...``), never a
traceback, with one of these exit codes (:data:`EXIT_CODES`, listed in the README):

    0    success
    1    the run failed (the NaN/Inf guard stopped training, a distributed worker or rank failed)
    2    a bad argument, option value, input file or run folder (one that holds another run,
         is being written by another process, or whose config.json changed before --resume)
    3    the file system refused: disk full, read-only, permission denied, name too long, ...
    4    out of memory
    70   an internal error (a bug in kisonet: please report it; KISONET_TRACEBACK=1 shows it)
    130  interrupted by ^C (SIGINT); 143 by SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Sequence

from .. import i18n
from ..errors import closest
from ..errors import ConfigError as UsageError
from ..lang import N_, tr

# One line per command: its name (its module is ``.name``) and its one-line help.  The help lives
# here so that `kisonet --help` lists the commands without importing them.
_COMMAND_TABLE = """
train        train a model and write a run folder (config.json, history.csv, metrics.json, model.npz, curves.png)
evaluate     evaluate a saved run's model on a dataset's test split
predict      predict classes (or probabilities) for the samples in an .npy file with a saved run's model
datasets     list the datasets: name, size, and whether each is available offline or cached
augment      draw a grid of original and augmented training images to DIR/grid.png
experiment   run a lecture experiment (figures, results.json, summary.md); --list shows them
compress     quantise, prune or distil a trained run; writes the models, a size/accuracy/speed table and a plot
ensemble     train an ensemble (bagging, adaboost, averaging) and write a run folder
semi         self-training (pseudo-labels) with a fraction of the labels; reports each round
autoencoder  train a (denoising) autoencoder; reconstruction figure and error on noisy inputs
notes        the lecture notes' formulas mapped to kisonet: list the topics, or show one with a live demonstration
runs         list the run folders under DIR: kind, status, epochs, best and last metric, start time
dashboard    serve the runs (live learning curves) and a training playground at http://127.0.0.1:PORT
"""
#: name -> (module relative to this package, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    name: (f".{name}", help_line.strip())
    for name, help_line in (row.split(None, 1) for row in _COMMAND_TABLE.strip().splitlines())
}

__all__ = ["COMMANDS", "EXIT_CODES", "UsageError", "build_parser", "exit_code", "main"]

EXIT_CODES = {
    0: "success",
    1: "the run failed (NaN/Inf guard, a failed worker or rank)",
    2: "bad argument, option value, input file or run folder",
    3: "file system error (disk full, read-only, permission, name too long)",
    4: "out of memory",
    70: "internal error (a bug; KISONET_TRACEBACK=1 shows the traceback)",
    130: "interrupted by ^C",
    143: "terminated by SIGTERM",
}


def exit_code(exc: BaseException) -> int:
    """The documented exit code of an exception reaching the command line."""
    from ..errors import CheckpointError, DataError, KisonetError, NumericalError, RunFolderError

    if isinstance(exc, NumericalError):
        return 1
    if isinstance(exc, (UsageError, RunFolderError, CheckpointError, DataError)):
        return 2
    if isinstance(exc, OSError):
        return 3
    if isinstance(exc, KisonetError):
        return 2
    if isinstance(exc, MemoryError):
        return 4
    return 70


def _one_line(exc: BaseException) -> str:
    from ..errors import KisonetError
    from ..io import describe_os_error

    if isinstance(exc, OSError) and not isinstance(exc, KisonetError):
        text = describe_os_error(exc)
    elif isinstance(exc, MemoryError):
        text = f"out of memory{': ' + str(exc) if str(exc) else ''}; try a smaller --batch-size or a smaller model"
    elif isinstance(exc, KisonetError):
        text = str(exc)
    else:
        text = (
            f"internal error {type(exc).__name__}: {exc} (a bug in kisonet; please report it with the command; "
            "KISONET_TRACEBACK=1 shows the traceback)"
        )
    return " ".join(text.split()) or type(exc).__name__


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with help text wrapped by terminal columns (a kanji takes two), not
    by characters, so Japanese help fits the terminal's width as English does."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return i18n.wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in i18n.wrap(text, max(width - len(indent), 11)))


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one-line :class:`UsageError`s."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(argparse_message(message))

    def format_help(self) -> str:
        if i18n.get_language() != "en":
            _translate_parser(self)  # only the parser being shown: no cost for a run
        return _translate_headings(super().format_help())

    def format_usage(self) -> str:
        return _translate_headings(super().format_usage())


#: argparse's own error messages (the standard library writes them in English), as templates:
#: each is matched against argparse's text and shown through the catalog.
ARGPARSE_MESSAGES = (
    N_("argument {0}: expected one argument"),
    N_("argument {0}: expected at most one argument"),
    N_("argument {0}: expected at least one argument"),
    N_("argument {0}: invalid choice: {1} (choose from {2})"),
    N_("argument {0}: invalid {1} value: {2}"),
    N_("argument {0}: not allowed with argument {1}"),
    N_("argument {0}: ignored explicit argument {1}"),
    N_("the following arguments are required: {0}"),
    N_("one of the arguments {0} is required"),
    N_("ambiguous option: {0} could match {1}"),
    N_("unrecognized arguments: {0}"),
)


def argparse_message(message: str) -> str:
    """An argparse error message in the language in force (as it is in English)."""
    if i18n.get_language() == "en":
        return message
    for template in ARGPARSE_MESSAGES:
        pattern = "(.+?)".join(re.escape(part) for part in re.split(r"\{\d\}", template))
        m = re.fullmatch(pattern, message)
        if m:
            return i18n.gettext(template).format(*m.groups())
    return message


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
    """The help lines and description of ``parser`` (and its sub-commands' one-liners), translated once."""
    if getattr(parser, "_kisonet_language", "en") == i18n.get_language():
        return
    parser._kisonet_language = i18n.get_language()  # type: ignore[attr-defined]
    parser.description = i18n.translate_help(parser.description or "") or None
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            action.help = i18n.translate_help(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = i18n.translate_help(choice.help or "")


def _take_lang(argv: list[str]) -> list[str]:
    """``--lang ja`` / ``--lang=ja`` anywhere on the line: set the language, drop the flag."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--lang" or a.startswith("--lang="):
            value = a.split("=", 1)[1] if "=" in a else next(it, "")
            if i18n.normalise_language(value) is None:
                raise UsageError(
                    tr(
                        "--lang: unknown language {0!r}{1}; choose from: {2}",
                        value,
                        closest(value, i18n.LANGUAGES),
                        ", ".join(i18n.LANGUAGES),
                    )
                )
            i18n.set_language(value)
        else:
            out.append(a)
    return out


def _command_module(name: str):
    return importlib.import_module(COMMANDS[name][0], __name__)


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The parser of every command (``command="*"``), or with only ``command``'s options
    (None: none, for ``kisonet --help``); the other commands are listed with their help."""
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
    for name, (_, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line, allow_abbrev=False)
        if command in ("*", name):
            mod = _command_module(name)
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
        return tr("unexpected argument {0!r}; see `{1} --help`", argv[0], f"kisonet {command or ''}".strip())
    first = bad[0].split("=", 1)[0]
    hint = closest(first, flags)
    if hint:
        return tr("unknown option {0!r}{1}", first, hint)
    return tr("unknown option {0!r}; see `{1} --help`", first, f"kisonet {command or ''}".strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "kisonet"
    chosen = i18n.chosen_language()  # --lang holds for this call only (tests call main in-process)
    try:
        argv = _take_lang(argv)
    except UsageError as e:
        print(f"{prog}: {i18n.gettext('error')}: {e}", file=sys.stderr)
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
                tr(
                    "unknown command {0!r}{1}; choose from: {2}",
                    command,
                    closest(command, COMMANDS),
                    ", ".join(COMMANDS),
                )
            )
        parser = build_parser(command if command in COMMANDS else None)
        args, rest = parser.parse_known_args(argv)
        if rest:
            raise UsageError(_unrecognized(rest, parser, getattr(args, "command", None)))
        if getattr(args, "command", None) is None:
            parser.print_help()
            return 0
        with warnings.catch_warnings():
            # a warning is one line too: `kisonet train: warning: ...`, not Python's file:line form
            warnings.showwarning = lambda message, *a, **k: print(
                tr("{0}: warning: {1}", prog, message), file=sys.stderr
            )
            code = int(args._run(args) or 0)
            sys.stdout.flush()  # a reader that went away shows here, not in Python's flush at exit
        _settle(None, code)
        return code
    except KeyboardInterrupt as e:
        sig = getattr(e, "signame", None)
        _settle(e, 130)
        print(f"{prog}: {i18n.gettext('interrupted')}{' by ' + sig if sig else ''}", file=sys.stderr)
        return 143 if sig == "SIGTERM" else 130
    except SystemExit:
        raise
    except BrokenPipeError as e:
        # whoever read stdout stopped (`kisonet experiment --list | head -1`): nothing is wrong and
        # no one is listening; Python's own flush at exit must not complain either
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _settle(e, 1)
        return 0
    except BaseException as e:  # noqa: BLE001 - the one boundary: every error becomes one line
        if os.environ.get("KISONET_TRACEBACK"):
            traceback.print_exc()
        _settle(e, exit_code(e))
        if exit_code(e) == 2 and _another_rank_says_it(argv):
            return 2
        print(f"{prog}: {i18n.gettext('error')}: {i18n.translate_message(_one_line(e))}", file=sys.stderr)
        if _LEFT_WAITING:
            sys.stderr.flush()
            _LEFT_WAITING.pop().Abort(exit_code(e))
        return exit_code(e)


#: ranks started without this one (its options failed where rank 0's did not): aborted once it has spoken
_LEFT_WAITING: list = []


def _another_rank_says_it(argv: list[str]) -> bool:
    """Under mpiexec, a bad option of ``train --distributed`` fails on every rank before MPI
    starts: the ranks meet once (the runner's first step is the same broadcast from rank 0)
    so that rank 0 says it and the others leave quietly with the same exit code.  True on a
    rank that should stay quiet."""
    if not any(a == "--distributed" or a.startswith("--distributed=") for a in argv):
        return False
    if "mpi4py.MPI" in sys.modules:  # MPI was running: the distributed runner ended the ranks itself
        return False
    from ..distributed.comm import launched_by_mpi, world

    if not launched_by_mpi():
        return False
    try:
        comm = world()
        if comm.Get_size() == 1:
            return False
        failed_on_0 = comm.bcast(2 if comm.Get_rank() == 0 else None, root=0)
    except Exception:  # noqa: BLE001 - no MPI to agree through: every rank speaks for itself
        return False
    if comm.Get_rank() == 0:
        return False
    if failed_on_0 is None:  # rank 0 started (a launch with other options per rank): say it, then end them
        _LEFT_WAITING.append(comm)
        return False
    time.sleep(0.5)  # rank 0 speaks first
    return True


def _settle(exc: BaseException | None, code: int) -> None:
    """Run folders a command left open get the status of how it ended (finished, failed, interrupted)."""
    if "kisonet.runs" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["kisonet.runs"].settle_open_folders(exc, code)
