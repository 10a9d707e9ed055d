"""Option specs shared by the subcommands: one table drives argparse, the TOML
config file, validation and the resolved ``config.json``.

Each :class:`Option` knows its flag name, its default, and a ``parse`` function
that turns a command-line string (or a TOML value) into the resolved value or
raises :class:`UsageError` with a one-line message naming the accepted values.
Resolution order: defaults < ``--config FILE`` (TOML) < command-line flags.

A later command reuses train's option set with ``add_options(parser,
TRAIN_OPTIONS + [...])``; a later feature adds a train option by appending an
:class:`Option` to :data:`TRAIN_OPTIONS` (e.g. ``--resume``) before the parser
is built.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data.transforms import PRESETS
from ..distributed.modes import MODES
from ..errors import KisonetValueError, closest
from ..models import MODELS
from ..models import parse_spec as parse_model_spec
from ..nn.activation import ACTIVATIONS as ACTIVATION_REGISTRY
from ..nn.init import init_forms
from ..nn.init import parse_init as lib_parse_init
from ..optim.lr_scheduler import SCHEDULES as SCHEDULE_REGISTRY
from ..optim.lr_scheduler import parse_spec as lib_parse_schedule
from ..optim.lr_scheduler import schedule_forms
from ..optim.registry import OPTIMIZERS as OPTIMIZER_REGISTRY
from ..optim.registry import train_optimizers


class UsageError(KisonetValueError):
    """A bad command-line argument or config value: printed as one line, exit code 2."""


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
# ``where`` is how the user wrote the option ("--lr" or "config.toml: lr"), so messages
# name what the user typed.


def _fail(where: str, msg: str) -> UsageError:
    return UsageError(f"{where}: {msg}")


def choice(choices: Sequence[str], kind: str) -> Callable[[Any, str], str]:
    """A parser that accepts one of ``choices`` (case-insensitive, '_' == '-')."""

    def parse(value: Any, where: str) -> str:
        v = str(value).strip().lower().replace("_", "-")
        if v in choices:
            return v
        raise _fail(where, f"unknown {kind} {str(value)!r}{closest(v, choices)}; choose from: {', '.join(choices)}")

    parse.choices = tuple(choices)  # type: ignore[attr-defined]
    return parse


def number(
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Callable[[Any, str], Any]:
    """A parser for an int or float within ``[low, high]`` (``low_open``: ``(low, ...``)."""
    lo_b, hi_b = "(" if low_open else "[", ")" if high_open else "]"
    rng = f"{lo_b}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_b}"
    what = "an integer" if kind is int else "a number"

    def parse(value: Any, where: str) -> Any:
        if allow_none and (value is None or str(value).lower() in ("none", "auto", "default")):
            return None
        if isinstance(value, bool):
            raise _fail(where, f"expected {what} in {rng}, got {value!r}")
        try:
            if kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(value) if not isinstance(value, str) else int(value.strip())
            else:
                v = float(value)
        except (TypeError, ValueError):
            raise _fail(where, f"expected {what} in {rng}, got {value!r}") from None
        if kind is float and not math.isfinite(v):
            raise _fail(where, f"expected a finite number in {rng}, got {value!r}")
        bad = (low is not None and (v <= low if low_open else v < low)) or (
            high is not None and (v >= high if high_open else v > high)
        )
        if bad:
            raise _fail(where, f"expected {what} in {rng}, got {value!r}")
        return v

    return parse


def text(allow_none: bool = True) -> Callable[[Any, str], Any]:
    def parse(value: Any, where: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise _fail(where, f"expected a string, got {value!r}")
        s = os.fspath(value)
        if not s.strip():
            if allow_none:
                return None
            raise _fail(where, "expected a non-empty string")
        return s

    return parse


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise _fail(where, f"expected true or false, got {value!r}")


# --- the domain parsers (models, schedules, optimizers, ...) -------------------------

# Value lists come from the families' registries (one home each): a new optimizer, schedule,
# activation, init, augmentation preset or distributed mode is offered here without an edit.
ACTIVATIONS = ACTIVATION_REGISTRY.names()
OPTIMIZERS = train_optimizers()
SCHEDULES = SCHEDULE_REGISTRY.names()
SCHEDULE_FORMS = schedule_forms()
AUGMENTS = ("none", *PRESETS.names())
INITS = init_forms()
DISTRIBUTED_MODES = MODES.names()
# Where eps enters the adaptive optimizers' denominator (docs/notes-forms.md): PyTorch's sqrt(v) + eps,
# Keio lecture 4's sqrt(v + eps), or the textbook Adam's eps on sqrt(v) before bias correction.
EPS_PLACEMENTS = ("outside", "inside", "uncorrected")
EPS_OPTIMIZERS = {
    "outside": ("adagrad", "rmsprop", "adam", "adamw"),
    "inside": ("adagrad", "rmsprop", "adam", "adamw"),
    "uncorrected": ("adam", "adamw"),
}

# The learning rate a learner gets when they switch optimizer without choosing one.
DEFAULT_LR = {name: OPTIMIZER_REGISTRY.entry(name).default_lr for name in OPTIMIZERS}
DEFAULT_MOMENTUM = {
    e.name: e.default_momentum for e in OPTIMIZER_REGISTRY.entries() if e.meta.get("default_momentum") is not None
}


def _from_library(check: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    """A parser from a library check that raises KisonetValueError: the message gets the option's name."""

    def parse(value: Any, where: str) -> Any:
        try:
            return check(value)
        except KisonetValueError as e:
            raise _fail(where, str(e)) from None

    return parse


#: ``he | he-uniform | xavier | xavier-normal | normal:STD | zeros`` (:data:`kisonet.nn.init.INITS`)
parse_init = _from_library(lib_parse_init)
#: ``constant | step:EVERY,GAMMA | ...`` (:data:`kisonet.optim.lr_scheduler.SCHEDULES`), normalised
parse_schedule = _from_library(lib_parse_schedule)
#: ``mlp:256,128 | simple-cnn | lenet | package.module:function`` (:data:`kisonet.models.MODELS`)
parse_model = _from_library(parse_model_spec)


def parse_threads(value: Any, where: str) -> int | None:
    return number(int, low=1, allow_none=True)(value, where)


#: ``--overwrite``: every command that writes a run folder takes it (refused otherwise when
#: ``--out`` already holds a run).  Not a number of the run (kisonet.runs.RESULT_NEUTRAL).
OVERWRITE = Option(
    "overwrite",
    False,
    boolean,
    "let --out replace a folder that already holds a run (its run files are removed first)",
    switch=True,
)


# --- the train option set -----------------------------------------------------------

TRAIN_OPTIONS: list[Option] = [
    Option("dataset", "digits", text(allow_none=False), "dataset name (see `kisonet datasets`)", "NAME"),
    Option("data-dir", None, text(), "folder holding a dataset's files (default: the cache, $KISONET_DATA)", "DIR"),
    Option(
        "model",
        "mlp:256,128",
        parse_model,
        " | ".join([*(e.meta["form"] for e in MODELS.entries()), "module:function"]),
        "SPEC",
    ),
    Option(
        "activation",
        "relu",
        choice(ACTIVATIONS, "activation"),
        "hidden activation",
        "NAME",
        choices_doc=", ".join(ACTIVATIONS),
    ),
    Option(
        "init", None, parse_init, "weight init (default: PyTorch's layer default)", "NAME", choices_doc=", ".join(INITS)
    ),
    Option(
        "optimizer", "adam", choice(OPTIMIZERS, "optimizer"), "optimizer", "NAME", choices_doc=", ".join(OPTIMIZERS)
    ),
    Option(
        "lr",
        None,
        number(float, low=0.0, low_open=True, allow_none=True),
        "learning rate (default depends on the optimizer: adam 0.001, sgd 0.1, ...)",
        "LR",
    ),
    Option(
        "momentum",
        None,
        number(float, low=0.0, high=1.0, high_open=True, allow_none=True),
        "momentum for sgd/momentum/nesterov/rmsprop (default 0.9 for momentum and nesterov, else 0)",
        "M",
    ),
    Option(
        "eps",
        None,
        number(float, low=0.0, allow_none=True),
        "the adaptive optimizers' eps (default: the optimizer's, PyTorch's: adam 1e-8, adagrad 1e-10, ...)",
        "EPS",
    ),
    Option(
        "eps-placement",
        "outside",
        choice(EPS_PLACEMENTS, "eps placement"),
        "where eps enters adagrad/rmsprop/adam(w): outside = sqrt(v)+eps (PyTorch, E-cert report), "
        "inside = sqrt(v+eps) (Keio lecture 4), uncorrected = adam with eps on sqrt(v) before bias "
        "correction (the textbook)",
        "WHERE",
        choices_doc=", ".join(EPS_PLACEMENTS),
    ),
    Option("weight-decay", 0.0, number(float, low=0.0), "L2 weight decay (coupled; decoupled for adamw)", "WD"),
    Option("l1", 0.0, number(float, low=0.0), "L1 penalty strength on weights (biases excluded)", "LAMBDA"),
    Option(
        "l1-half",
        False,
        boolean,
        "--l1 as Keio lecture 4's (lambda/2)||w||_1 instead of the E-cert deck's lambda||w||_1",
        switch=True,
    ),
    Option("schedule", "constant", parse_schedule, "learning-rate schedule", "SPEC", choices_doc=SCHEDULE_FORMS),
    Option("epochs", 30, number(int, low=1), "number of epochs", "N"),
    Option("batch-size", 32, number(int, low=1), "mini-batch size", "N"),
    Option("dropout", 0.0, number(float, low=0.0, high=1.0, high_open=True), "dropout probability", "P"),
    Option(
        "dropout-scaling",
        "inverted",
        choice(("inverted", "test-time"), "dropout scaling"),
        "inverted = survivors x 1/(1-p) while training (PyTorch, Keio lecture 4); test-time = outputs "
        "x (1-p) at test (E-cert DAY 2)",
        "FORM",
        choices_doc="inverted, test-time",
    ),
    Option("batch-norm", False, boolean, "batch normalisation after each hidden layer", switch=True),
    Option(
        "bn-inference",
        "running",
        choice(("running", "average"), "batch-norm inference statistics"),
        "running = EMA (momentum 0.1) of batch mean and unbiased variance (PyTorch); average = mean over "
        "the training batches of their mean and biased variance (Keio lecture 4)",
        "STATS",
        choices_doc="running, average",
    ),
    Option(
        "augment",
        "none",
        choice(AUGMENTS, "augmentation"),
        "training-set augmentation",
        "NAME",
        choices_doc=", ".join(AUGMENTS),
    ),
    Option(
        "early-stopping",
        0,
        number(int, low=0),
        "stop after PATIENCE epochs without val_loss progress (0: off)",
        "PATIENCE",
    ),
    Option(
        "early-stopping-criterion",
        "patience",
        choice(("patience", "increases"), "early-stopping criterion"),
        "patience = PATIENCE epochs without a new best val_loss; increases = PATIENCE consecutive epochs "
        "whose val_loss rose (Keio lecture 4, E-cert DAY 2)",
        "RULE",
        choices_doc="patience, increases",
    ),
    Option(
        "val-split",
        0.1,
        number(float, low=0.0, high=1.0, high_open=True),
        "fraction of the training part held out for validation (0: none)",
        "FRAC",
    ),
    Option("standardize", True, boolean, "standardise inputs with training-set statistics", switch=True),
    Option(
        "grad-norms",
        False,
        boolean,
        "record each layer's gradient norm ||dE/dW_l|| (history.csv grad_norm_l1, ...) and print them",
        switch=True,
    ),
    Option("seed", 0, number(int, low=0), "random seed (same seed, same history)", "N"),
    # One BLAS thread by default: at mini-batch sizes the products are too small for a second
    # thread to pay, and idle BLAS threads spin (measured: 5x the CPU time on a 2-core box).
    Option("threads", 1, parse_threads, "BLAS threads", "N"),
    Option("out", None, text(), "run folder (default runs/<timestamp>)", "DIR"),
    OVERWRITE,
    # Distributed training (kisonet.distributed; run under mpiexec -n N, see docs/distributed.md).
    Option(
        "distributed",
        "none",
        choice(DISTRIBUTED_MODES, "distributed mode"),
        "train on the MPI ranks of `mpiexec -n N kisonet train ...`",
        "MODE",
        choices_doc=", ".join(DISTRIBUTED_MODES),
    ),
    Option(
        "max-staleness",
        None,
        number(int, low=0, allow_none=True),
        "--distributed async: bound on a worker's lead over the slowest one, in pushes (default: unbounded)",
        "S",
    ),
    Option("micro-batches", 4, number(int, low=1), "--distributed pipeline: micro-batches per batch (GPipe)", "M"),
    Option(
        "rank-timeout",
        300.0,
        number(float, low=0.0),
        "--distributed: end every rank when one makes no progress for this many seconds (0: wait for ever)",
        "SECONDS",
    ),
    Option("progress", True, boolean, "show a progress bar", switch=True),
    Option("config", None, text(), "TOML file of options (command-line flags win)", "FILE", config_key=False),
]


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


def load_toml(path: str) -> dict[str, Any]:
    """Read a TOML config file; a missing or malformed file is a UsageError naming it.

    A run folder's ``config.json`` is accepted too, to repeat a run
    (``--config runs/X/config.json``); its ``out`` is dropped so the old run is not overwritten.
    """
    import json
    import tomllib

    from ..errors import KisonetIOError
    from ..io import check_regular_file

    try:
        check_regular_file(path, "--config:")
    except KisonetIOError as e:
        raise UsageError(str(e)) from None
    try:
        if str(path).lower().endswith(".json"):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict):
                raise UsageError(f"--config: {path} must hold a JSON object of options")
            data.pop("out", None)
            data.pop("overwrite", None)  # repeating a run never clobbers a folder by itself
            return data
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except json.JSONDecodeError as e:
        raise UsageError(f"--config: {path} is not valid JSON: {e}") from None
    except FileNotFoundError:
        raise UsageError(f"--config: file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"--config: {path} is a folder, expected a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"--config: {path} is not valid TOML: {e}") from None
    except OSError as e:
        raise UsageError(f"--config: cannot read {path}: {e.strerror}") from None
    # a [train] table is accepted too, so one file can hold several commands' options
    if isinstance(data.get("train"), dict):
        data = {**{k: v for k, v in data.items() if k != "train"}, **data["train"]}
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
            if key not in keys:
                raise UsageError(f"{where}: unknown option{closest(key, keys)}; valid keys: {', '.join(keys)}")
            config[key] = by_name[key].parse(value, where)
            sources[key] = "config"
    given = vars(ns)
    for opt in options:
        if opt.config_key and opt.dest in given:
            config[opt.name] = opt.parse(given[opt.dest], opt.flag)
            sources[opt.name] = "flag"
    return config, sources
