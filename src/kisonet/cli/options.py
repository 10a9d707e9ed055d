"""Option specs shared by the subcommands: one table drives argparse, the TOML
config file, validation and the resolved ``config.json``.

Each :class:`Option` knows its flag name, its default, and a ``parse`` function
that turns a command-line string (or a TOML value) into the resolved value or
raises :class:`UsageError` with a one-line message naming the accepted values.
Resolution order: defaults < ``--config FILE`` (TOML) < command-line flags.

A later command reuses train's option set with ``add_options(parser,
TRAIN_OPTIONS + [...])``.  :data:`TRAIN_OPTIONS` is generated from the fields of
:class:`kisonet.config.RunConfig`: a new train option is a new field there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import DISTRIBUTED_MODES as _MODES
from ..config import (  # noqa: F401 - O.RENAMED ...
    EPS_OPTIMIZERS,
    EPS_PLACEMENTS,
    RENAMED,
    RunConfig,
    default_of,
    option_fields,
    read_config_file,
)
from ..data.transforms import PRESETS
from ..errors import ConfigError, closest  # noqa: F401 - O.closest
from ..lang import tr
from ..nn.activation import ACTIVATIONS as ACTIVATION_REGISTRY
from ..nn.init import init_forms
from ..nn.init import parse_init as lib_parse_init
from ..optim.lr_scheduler import SCHEDULES as SCHEDULE_REGISTRY
from ..optim.lr_scheduler import parse_spec as lib_parse_schedule
from ..optim.lr_scheduler import schedule_forms
from ..optim.registry import OPTIMIZERS as OPTIMIZER_REGISTRY
from ..optim.registry import train_optimizers
from ..validation import boolean, choice, fail, from_check, number, text  # noqa: F401 - the command modules use O.choice ...

#: A bad command-line argument or config value: printed as one line, exit code 2
#: (the library's :class:`kisonet.errors.ConfigError`, so the runner's errors are the CLI's).
UsageError = ConfigError


@dataclass
class Option:
    """One option: ``--name`` on the command line, ``name`` (or ``name`` with
    underscores) in a TOML config file."""

    name: str
    default: Any
    parse: Callable[[Any, str], Any]
    help: str
    metavar: str | None = None
    switch: bool = False  # an on/off flag: --name / --no-name
    config_key: bool = True  # False for options that make no sense inside a config file (--config)
    choices_doc: str = ""  # accepted values, shown in --help

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


# --- value parsers: (value, where) -> resolved value ----------------------------------
# They live in kisonet.validation (choice, number, text, boolean, from_check); ``where`` is how
# the user wrote the option ("--lr" or "config.toml: lr"), so messages name what the user typed.


# --- the domain parsers (models, schedules, optimizers, ...) -------------------------

# Value lists come from the families' registries (one home each): a new optimizer, schedule,
# activation, init, augmentation preset or distributed mode is offered here without an edit.
ACTIVATIONS = ACTIVATION_REGISTRY.names()
OPTIMIZERS = train_optimizers()
SCHEDULES = SCHEDULE_REGISTRY.names()
SCHEDULE_FORMS = schedule_forms()
AUGMENTS = ("none", *PRESETS.names())
INITS = init_forms()
DISTRIBUTED_MODES = _MODES.names()

# The learning rate a learner gets when they switch optimizer without choosing one.
DEFAULT_LR = {name: OPTIMIZER_REGISTRY.entry(name).default_lr for name in OPTIMIZERS}
DEFAULT_MOMENTUM = {
    e.name: e.default_momentum for e in OPTIMIZER_REGISTRY.entries() if e.meta.get("default_momentum") is not None
}


#: ``he | he-uniform | xavier | xavier-normal | normal:STD | zeros`` (:data:`kisonet.nn.init.INITS`)
parse_init = from_check(lib_parse_init)
#: ``constant | step:EVERY,GAMMA | ...`` (:data:`kisonet.optim.lr_scheduler.SCHEDULES`), normalised
parse_schedule = from_check(lib_parse_schedule)
#: ``mlp:256,128 | simple-cnn | lenet | package.module:function`` (:data:`kisonet.models.MODELS`)
parse_model = RunConfig.__dataclass_fields__["model"].metadata["parse"]


def parse_threads(value: Any, where: str) -> int | None:
    return number(int, low=1, allow_none=True)(value, where)


# --- the train option set -----------------------------------------------------------


def _field_option(f: Any, default: Any) -> Option:
    m = f.metadata
    return Option(RunConfig.key(f.name), default, m["parse"], m["help"], m["metavar"], m["switch"],
                  choices_doc=m["choices"])  # fmt: skip


def options_of(option_set: type, skip: Iterable[str] = (), **defaults: Any) -> list[Option]:
    """The options of an option set (:class:`kisonet.config.RunConfig`, ``EnsembleOptions``, ...): one
    per field, in order, but those in ``skip``; ``defaults`` (field names) changes a command's defaults."""
    return [
        _field_option(f, defaults[f.name] if f.name in defaults else default_of(f))
        for f in option_fields(option_set)
        if f.name not in skip
    ]


#: ``--config FILE``: the commands built on train take a TOML file of their options.
CONFIG = Option("config", None, text(), "TOML file of options (command-line flags win)", "FILE", config_key=False)
#: The options of ``kisonet train`` and the commands built on it: the fields of
#: :class:`kisonet.config.RunConfig` (a new option is a new field there), then ``--config``.
#: ``--detect-anomaly`` is a field too, offered by ``kisonet train`` alone.
TRAIN_OPTIONS: list[Option] = [*options_of(RunConfig, skip=("detect_anomaly",)), CONFIG]
RUN_FIELD_OPTIONS: dict[str, Option] = {o.name: o for o in options_of(RunConfig)}
#: ``--overwrite``: every command that writes a run folder takes it (refused otherwise when
#: ``--out`` already holds a run).  Not a number of the run (kisonet.runs.RESULT_NEUTRAL).
OVERWRITE = RUN_FIELD_OPTIONS["overwrite"]


# --- argparse plumbing ---------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Add each option to ``parser`` as a raw string flag (defaults suppressed, so we
    can tell which flags the user typed; values are parsed by :func:`resolve`)."""
    for opt in options:
        doc = opt.help + (f" ({opt.choices_doc})" if opt.choices_doc else "")
        if opt.switch:
            parser.add_argument(
                opt.flag,
                dest=opt.dest,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"{doc} (default: {'on' if opt.default else 'off'})",
            )
        else:
            # options whose help explains their own default say so themselves
            shown = "" if "default" in opt.help else f" (default: {'none' if opt.default is None else opt.default})"
            parser.add_argument(
                opt.flag, dest=opt.dest, metavar=opt.metavar, default=argparse.SUPPRESS, help=doc + shown
            )


def built_on_train(
    own: Sequence[Option], from_config: Callable[[dict[str, Any]], int], train: Sequence[Option] | None = None
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    """``(add_arguments, run)`` of a command built on train's options (ensemble, semi, autoencoder):
    ``train`` (default :data:`TRAIN_OPTIONS`) then its ``own``, a ``--config`` file, then
    ``from_config(resolved options)``."""
    options = [*(TRAIN_OPTIONS if train is None else train), *own]

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_options(parser, options)

    def run(args: argparse.Namespace) -> int:
        config, _ = resolve(args, options, getattr(args, "config", None))
        return from_config(config)

    return add_arguments, run


def say(line: str) -> None:
    """A command's line of output, flushed (it reaches a log or a notebook as it happens)."""
    print(line, flush=True)


def load_toml(path: str) -> dict[str, Any]:
    """Read a TOML config file (or a run folder's ``config.json``, its ``out`` dropped, to repeat a
    run); a missing or malformed file is a UsageError naming it (:func:`kisonet.config.read_config_file`)."""
    data = read_config_file(path)
    for key in ("format_version", "format-version", "world_size", "world-size"):  # written by runs, not options
        data.pop(key, None)
    return data


def resolve(
    ns: argparse.Namespace, options: Sequence[Option], config_path: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge defaults < TOML config < flags; parse and validate every value.

    Returns ``(config, sources)``: ``config`` maps each option name (with dashes)
    to its resolved value, ``sources`` says where each came from.
    """
    by_name = {o.name: o for o in options}
    config = {o.name: o.default for o in options if o.config_key}
    sources = {name: "default" for name in config}
    if config_path is not None:
        data = load_toml(config_path)
        keys = [n for n, o in by_name.items() if o.config_key]
        for raw_key, value in data.items():
            key = str(raw_key).replace("_", "-").lower()
            where = f"{os.path.basename(config_path)}: {raw_key}"
            if key.replace("-", "_") in RENAMED:
                new = RunConfig.key(RENAMED[key.replace("-", "_")])
                raise UsageError(tr("{0}: this key was renamed to {1!r}; rename it", where, new))
            if key not in keys:
                raise UsageError(
                    tr("{0}: unknown option{1}; valid keys: {2}", where, closest(key, keys), ", ".join(keys))
                )
            config[key] = by_name[key].parse(value, where)
            sources[key] = "config"
    given = vars(ns)
    for opt in options:
        if opt.config_key and opt.dest in given:
            config[opt.name] = opt.parse(given[opt.dest], opt.flag)
            sources[opt.name] = "flag"
    return config, sources
