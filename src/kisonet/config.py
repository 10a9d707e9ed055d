"""The typed run configuration: every option of a training run in one dataclass.

:class:`RunConfig` is what ``kisonet train`` (its flags and ``--config FILE``), the commands built
on it, the experiments and the dashboard fill in, and what :func:`kisonet.runner.run` turns into
data -> model -> optimizer -> schedule -> regulariser -> callbacks -> Trainer -> run folder::

    import kisonet as kn
    cfg = kn.config.RunConfig(model="lenet", optimizer="sgd", epochs=5, schedule="step:2,0.5")
    kn.runner.run(cfg)                                  # the same run as the command line's

Each field carries its type, default, parser (validation and normalisation: ``'SGD'`` -> ``'sgd'``,
``'step:2'`` -> ``'step:2,0.1'``) and help text; the command line's flags are generated from the
fields (``batch_size`` is ``--batch-size``), so a new option is one field here.  Files:

* :meth:`RunConfig.to_json` / :meth:`RunConfig.to_toml` write the options with the command line's
  spellings (``batch-size``) and ``format_version``; :meth:`RunConfig.from_file` reads TOML (an
  optional ``[train]`` table) or a run folder's ``config.json``, also those written before the
  format version existed.  ``a_b`` and ``a-b`` are the same key.  A key renamed since (see
  :data:`RENAMED`) is refused with a message naming the new key.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from .data.transforms import PRESETS
from .errors import ConfigError, KisonetValueError, closest
from .lang import tr
from .models import MODELS
from .models import parse_spec as parse_model_spec
from .nn.activation import ACTIVATIONS
from .nn.init import init_forms, parse_init
from .optim.lr_scheduler import parse_spec as parse_schedule_spec
from .optim.lr_scheduler import schedule_forms
from .optim.registry import OPTIMIZERS, check_momentum, train_optimizers
from .registry import Registry
from .validation import boolean, choice, from_check, number, text

__all__ = [
    "DISTRIBUTED_MODES",
    "EPS_OPTIMIZERS",
    "EPS_PLACEMENTS",
    "FORMAT_VERSION",
    "RENAMED",
    "AutoencoderOptions",
    "CompressOptions",
    "EnsembleOptions",
    "OptionSet",
    "RunConfig",
    "SemiOptions",
    "default_of",
    "like",
    "option",
    "option_fields",
]

#: Version of the config files written by :meth:`RunConfig.to_json` / :meth:`RunConfig.to_toml`.
#: Files without ``format_version`` (written before it existed) are version 0 and load unchanged.
FORMAT_VERSION = 1

#: Keys renamed since an earlier format: old field name -> new field name (Python spellings).
#: An old key in a file is refused with a message naming the new one (no key has been renamed
#: yet; add one here when renaming a field).
RENAMED: dict[str, str] = {}

#: Keys a run writes into its config.json that are not options (ignored when the file is read back).
RUN_RECORD_KEYS = ("format_version", "world_size")

# The ways a run is spread over MPI ranks (the run setting ``distributed``; kisonet.distributed
# implements them and re-exports this registry as ``kisonet.distributed.MODES``).
# fmt: off
DISTRIBUTED_MODES: Registry[str] = Registry("distributed mode")
DISTRIBUTED_MODES.add("none", "none", "one process (no MPI)", min_ranks=1)
DISTRIBUTED_MODES.add("sync", "sync", "synchronous data parallel: --batch-size is the global batch, one allreduce "
                      "per step", min_ranks=1)
DISTRIBUTED_MODES.add("async", "async", "parameter server on rank 0, asynchronous workers on ranks 1..N-1 "
                      "(--max-staleness)", min_ranks=2)
DISTRIBUTED_MODES.add("pipeline", "pipeline", "the model's layers split into N stages, GPipe micro-batches "
                      "(--micro-batches)", min_ranks=2)
# fmt: on

# Where eps enters the adaptive optimizers' denominator (docs/notes-forms.md): PyTorch's sqrt(v) + eps,
# Keio lecture 4's sqrt(v + eps), or the textbook Adam's eps on sqrt(v) before bias correction.
EPS_PLACEMENTS = ("outside", "inside", "uncorrected")
EPS_OPTIMIZERS = {
    "outside": ("adagrad", "rmsprop", "adam", "adamw"),
    "inside": ("adagrad", "rmsprop", "adam", "adamw"),
    "uncorrected": ("adam", "adamw"),
}
_EPS_ANY = ("adagrad", "rmsprop", "adadelta", "adam", "adamw", "adabelief")


def option(
    default: Any,
    parse: Callable[[Any, str], Any],
    help: str,  # noqa: A002
    metavar: str | None = None,
    switch: bool = False,
    choices: Iterable[str] = (),
) -> Any:
    """A field of an option set (:class:`RunConfig`, :class:`EnsembleOptions`, ...): default, parser
    ``(value, where) -> value``, help text, CLI metavar, on/off ``switch`` (``--name / --no-name``),
    accepted values shown in help.  The command line's flags are generated from these fields."""
    meta = {"parse": parse, "help": help, "metavar": metavar, "switch": switch, "choices": ", ".join(choices)}
    if isinstance(default, list):  # a list default (``--bits 8,6,4``): a fresh copy per instance
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def default_of(f: dataclasses.Field) -> Any:
    """The default value of an option set's field (a fresh list for a list default)."""
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]


_opt = option  # the tables below stay one line a field


def like(source: type, name: str, default: Any = dataclasses.MISSING, **changes: Any) -> Any:
    """The field ``name`` of the option set ``source`` for another option set, with a new
    ``default`` and metadata ``changes`` (``help=...``): one option, one definition."""
    f = source.__dataclass_fields__[name]  # type: ignore[attr-defined]
    return field(default=f.default if default is dataclasses.MISSING else default, metadata={**f.metadata, **changes})


def _names(reg: Registry) -> tuple[str, ...]:
    return reg.names()


_AUGMENTS = ("none", *PRESETS.names())
_MODEL_FORMS = [*(e.meta["form"] for e in MODELS.entries()), "module:function"]


class OptionSet:
    """Base of the typed option sets: a dataclass whose fields are made with :func:`option`
    (parser, help, metavar), validated and normalised on construction, read from and written to
    ``{key: value}`` with the command line's spellings.  :class:`RunConfig` is the training run's;
    :class:`EnsembleOptions`, :class:`SemiOptions`, :class:`AutoencoderOptions` and
    :class:`CompressOptions` are what those commands add (their flags are generated from them)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, f.metadata["parse"](getattr(self, f.name), f.name))

    # --- keys -----------------------------------------------------------------------------

    @staticmethod
    def key(name: str) -> str:
        """The file/flag spelling of a field: ``batch_size`` -> ``batch-size``."""
        return name.replace("_", "-")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    # --- dicts and files ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config", extra: str = "error") -> Self:
        """Build from ``{key: value}`` with either spelling (``batch-size`` / ``batch_size``).

        ``source`` names the origin in messages (``"config.toml"`` -> ``"config.toml: lr: ..."``).
        ``extra``: ``"error"`` refuses an unknown key with the closest valid one, ``"ignore"``
        skips it (the commands that add options of their own)."""
        names = cls.field_names()
        keys = [cls.key(n) for n in names]
        version = data.get("format_version", data.get("format-version", 0))
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise ConfigError(
                tr(
                    "{0}: written by a newer kisonet (format_version {1}; this one reads up to {2}); upgrade kisonet",
                    source,
                    version,
                    FORMAT_VERSION,
                )
            )
        values: dict[str, Any] = {}
        for raw_key, value in data.items():
            k = str(raw_key).replace("_", "-").lower()
            if k.replace("-", "_") in RUN_RECORD_KEYS:
                continue
            if k.replace("-", "_") in RENAMED:
                new = cls.key(RENAMED[k.replace("-", "_")])
                raise ConfigError(tr("{0}: {1}: this key was renamed to {2!r}; rename it", source, raw_key, new))
            if k not in keys:
                if extra == "ignore":
                    continue
                raise ConfigError(
                    tr(
                        "{0}: {1}: unknown option{2}; valid keys: {3}",
                        source,
                        raw_key,
                        closest(k, keys),
                        ", ".join(keys),
                    )
                )
            values[k.replace("-", "_")] = (value, f"{source}: {raw_key}")
        cfg = cls()
        for name, (value, where) in values.items():
            parse = next(f for f in dataclasses.fields(cls) if f.name == name).metadata["parse"]
            setattr(cfg, name, parse(value, where))
        return cfg

    def to_dict(self, spelling: str = "file") -> dict[str, Any]:
        """``{key: value}``: ``spelling="file"`` uses the CLI's keys (``batch-size``), ``"python"`` the field names."""
        d = dataclasses.asdict(self)
        return d if spelling == "python" else {self.key(k): v for k, v in d.items()}

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (field names), validated."""
        return dataclasses.replace(self, **changes)


@dataclass
class RunConfig(OptionSet):
    """Every option of one training run (the fields of ``kisonet train``), validated and normalised."""

    # fmt: off
    dataset: str = _opt("digits", text(allow_none=False), "dataset name (see `kisonet datasets`)", "NAME")
    data_dir: str | None = _opt(None, text(), "folder holding a dataset's files (default: the cache, $KISONET_DATA)",
                                "DIR")
    model: str = _opt("mlp:256,128", from_check(parse_model_spec), " | ".join(_MODEL_FORMS), "SPEC")
    activation: str = _opt("relu", choice(_names(ACTIVATIONS), "activation"), "hidden activation", "NAME",
                           choices=_names(ACTIVATIONS))
    init: str | None = _opt(None, from_check(parse_init), "weight init (default: PyTorch's layer default)", "NAME",
                            choices=init_forms())
    optimizer: str = _opt("adam", choice(train_optimizers(), "optimizer"), "optimizer", "NAME",
                          choices=train_optimizers())
    lr: float | None = _opt(None, number(float, low=0.0, low_open=True, allow_none=True),
                            "learning rate (default depends on the optimizer: adam 0.001, sgd 0.1, ...)", "LR")
    momentum: float | None = _opt(
        None, number(float, low=0.0, high=1.0, high_open=True, allow_none=True),
        "momentum for sgd/momentum/nesterov/rmsprop (default 0.9 for momentum and nesterov, else 0)", "M")
    eps: float | None = _opt(
        None, number(float, low=0.0, allow_none=True),
        "the adaptive optimizers' eps (default: the optimizer's, PyTorch's: adam 1e-8, adagrad 1e-10, ...)", "EPS")
    eps_placement: str = _opt(
        "outside", choice(EPS_PLACEMENTS, "eps placement"),
        "where eps enters adagrad/rmsprop/adam(w): outside = sqrt(v)+eps (PyTorch, E-cert report), "
        "inside = sqrt(v+eps) (Keio lecture 4), uncorrected = adam with eps on sqrt(v) before bias "
        "correction (the textbook)", "WHERE", choices=EPS_PLACEMENTS)
    weight_decay: float = _opt(0.0, number(float, low=0.0), "L2 weight decay (coupled; decoupled for adamw)", "WD")
    l1: float = _opt(0.0, number(float, low=0.0), "L1 penalty strength on weights (biases excluded)", "LAMBDA")
    l1_half: bool = _opt(False, boolean, "--l1 as Keio lecture 4's (lambda/2)||w||_1 instead of the E-cert deck's "
                         "lambda||w||_1", switch=True)
    schedule: str = _opt("constant", from_check(parse_schedule_spec), "learning-rate schedule", "SPEC",
                         choices=[schedule_forms()])
    epochs: int = _opt(30, number(int, low=1), "number of epochs", "N")
    batch_size: int = _opt(32, number(int, low=1), "mini-batch size", "N")
    dropout: float = _opt(0.0, number(float, low=0.0, high=1.0, high_open=True), "dropout probability", "P")
    dropout_scaling: str = _opt(
        "inverted", choice(("inverted", "test-time"), "dropout scaling"),
        "inverted = survivors x 1/(1-p) while training (PyTorch, Keio lecture 4); test-time = outputs "
        "x (1-p) at test (E-cert DAY 2)", "FORM", choices=("inverted", "test-time"))
    batch_norm: bool = _opt(False, boolean, "batch normalisation after each hidden layer", switch=True)
    bn_inference: str = _opt(
        "running", choice(("running", "average"), "batch-norm inference statistics"),
        "running = EMA (momentum 0.1) of batch mean and unbiased variance (PyTorch); average = mean over "
        "the training batches of their mean and biased variance (Keio lecture 4)", "STATS",
        choices=("running", "average"))
    augment: str = _opt("none", choice(_AUGMENTS, "augmentation"), "training-set augmentation", "NAME",
                        choices=_AUGMENTS)
    early_stopping: int = _opt(0, number(int, low=0), "stop after PATIENCE epochs without val_loss progress (0: off)",
                               "PATIENCE")
    early_stopping_criterion: str = _opt(
        "patience", choice(("patience", "increases"), "early-stopping criterion"),
        "patience = PATIENCE epochs without a new best val_loss; increases = PATIENCE consecutive epochs "
        "whose val_loss rose (Keio lecture 4, E-cert DAY 2)", "RULE", choices=("patience", "increases"))
    val_split: float = _opt(0.1, number(float, low=0.0, high=1.0, high_open=True),
                            "fraction of the training part held out for validation (0: none)", "FRAC")
    standardize: bool = _opt(True, boolean, "standardise inputs with training-set statistics", switch=True)
    grad_norms: bool = _opt(False, boolean, "record each layer's gradient norm ||dE/dW_l|| (history.csv "
                            "grad_norm_l1, ...) and print them", switch=True)
    seed: int = _opt(0, number(int, low=0), "random seed (same seed, same history)", "N")
    # One BLAS thread by default: at mini-batch sizes the products are too small for a second
    # thread to pay, and idle BLAS threads spin (measured: 5x the CPU time on a 2-core box).
    threads: int | None = _opt(1, number(int, low=1, allow_none=True), "BLAS threads", "N")
    out: str | None = _opt(None, text(), "run folder (default runs/<timestamp>)", "DIR")
    overwrite: bool = _opt(False, boolean, "let --out replace a folder that already holds a run (its run files are "
                           "removed first)", switch=True)
    # Distributed training (kisonet.distributed; run under mpiexec -n N, see docs/distributed.md).
    distributed: str = _opt("none", choice(_names(DISTRIBUTED_MODES), "distributed mode"),
                            "train on the MPI ranks of `mpiexec -n N kisonet train ...`", "MODE",
                            choices=_names(DISTRIBUTED_MODES))
    max_staleness: int | None = _opt(
        None, number(int, low=0, allow_none=True),
        "--distributed async: bound on a worker's lead over the slowest one, in pushes (default: unbounded)", "S")
    micro_batches: int = _opt(4, number(int, low=1), "--distributed pipeline: micro-batches per batch (GPipe)", "M")
    rank_timeout: float = _opt(
        60.0, number(float, low=0.0),
        "--distributed: a rank silent for this many seconds (stopped, hung, lost) ends every rank, each with a "
        "message naming it; no training progress for 10x as long does too (0: wait for ever)", "SECONDS")
    progress: bool = _opt(True, boolean, "show a progress bar", switch=True)
    detect_anomaly: bool = _opt(False, boolean, "on a NaN/Inf gradient, name the op that produced it and where it "
                                "was created (slower)", switch=True)
    # fmt: on

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """JSON text (with ``format_version``); written to ``path`` when given."""
        text = json.dumps({"format_version": FORMAT_VERSION, **self.to_dict()}, indent=2) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_toml(self, path: str | os.PathLike | None = None) -> str:
        """TOML text (None values are left out: they mean the default); written to ``path`` when given."""
        lines = [f"format_version = {FORMAT_VERSION}"]
        for k, v in self.to_dict().items():
            if v is None:
                continue
            lines.append(f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}")
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text: str, source: str = "config.json") -> RunConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(tr("{0} is not valid JSON: {1}", source, e)) from None
        if not isinstance(data, dict):
            raise ConfigError(tr("{0} must hold a JSON object of options", source))
        return cls.from_dict(data, source)

    @classmethod
    def from_toml(cls, text: str, source: str = "config.toml") -> RunConfig:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(tr("{0} is not valid TOML: {1}", source, e)) from None
        return cls.from_dict(_train_table(data), source)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunConfig:
        """Read a TOML file or a run folder's config.json (``out`` is kept; clear it to start a new run)."""
        data = read_config_file(path)
        return cls.from_dict(data, os.path.basename(os.fspath(path)))

    # --- options that depend on each other -------------------------------------------

    def finalize(self) -> RunConfig:
        """A copy with the optimizer-dependent defaults filled (lr, momentum) and option
        combinations checked (the messages name the flags)."""
        cfg = self.replace()
        opt = cfg.optimizer
        if cfg.lr is None:
            cfg.lr = OPTIMIZERS.entry(opt).default_lr
        try:
            cfg.momentum = check_momentum(opt, cfg.momentum)
        except KisonetValueError as e:
            raise ConfigError(tr("--momentum: {0}", e)) from None
        placement = cfg.eps_placement
        if placement != "outside" and opt not in EPS_OPTIMIZERS[placement]:
            raise ConfigError(
                tr("--eps-placement {0}: applies to {1}, not {2}", placement, ", ".join(EPS_OPTIMIZERS[placement]), opt)
            )
        if cfg.eps is not None and opt not in _EPS_ANY:
            raise ConfigError(
                tr("--eps: the {0} optimizer has no eps; use it with an adaptive optimizer (adam, ...)", opt)
            )
        if cfg.early_stopping_criterion != "patience" and not cfg.early_stopping:
            raise ConfigError(tr("--early-stopping-criterion: set --early-stopping N (the number of increases) too"))
        if cfg.early_stopping and not cfg.val_split > 0:
            raise ConfigError(tr("--early-stopping: needs a validation set; set --val-split above 0 (e.g. 0.1)"))
        return cfg


# --- what the commands built on a training run add ------------------------------------------
# (``kisonet ensemble``/``semi``/``autoencoder`` take RunConfig's fields too; ``kisonet compress``
# takes its training fields from RunConfig with its own defaults.)

ENSEMBLE_METHODS = ("bagging", "adaboost", "averaging")
AUTOENCODER_NOISES = ("none", "gaussian", "masking", "salt-and-pepper")
COMPRESS_METHODS = ("quantize", "prune", "distill")


def parse_encoder(value: Any, where: str) -> str:
    """``mlp:H1,H2,...`` (hidden sizes before the code) or ``conv:C1,C2,...`` (channels)."""
    s = str(value).strip().lower()
    head, sep, tail = s.partition(":")
    if head not in ("mlp", "conv"):
        raise ConfigError(tr("{0}: expected mlp:H1,H2,... or conv:C1,C2,..., got {1!r}", where, value))
    try:
        sizes = [int(t) for t in tail.split(",") if t.strip()] if sep else []
    except ValueError:
        sizes = [-1]
    if any(k < 1 for k in sizes) or (head == "conv" and not sizes):
        raise ConfigError(
            tr("{0}: sizes must be positive integers like {1}:{2}", where, head, "128" if head == "mlp" else "16,32")
        )
    return f"{head}:{','.join(map(str, sizes))}"


def number_list(kind: type, low: float, high: float, what: str) -> Callable[[Any, str], list[Any]]:
    """A parser for a comma-separated list of numbers in [low, high] (``--bits 8,4``)."""

    def parse(value: Any, where: str) -> list[Any]:
        if isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [t for t in str(value).replace(" ", "").split(",") if t]
        if not items:
            raise ConfigError(tr("{0}: expected a comma-separated list of {1}, got {2!r}", where, what, value))
        return [number(kind, low=low, high=high)(t, where) for t in items]

    return parse


def _student(value: Any, where: str) -> str:
    v = str(value).strip().lower()
    return v if v == "auto" else from_check(parse_model_spec)(value, where)


_FRAC = number(float, low=0.0, high=1.0, low_open=True)


@dataclass
class EnsembleOptions(OptionSet):
    """What ``kisonet ensemble`` adds to :class:`RunConfig` (:mod:`kisonet.ensemble`)."""

    # fmt: off
    method: str = _opt("bagging", choice(ENSEMBLE_METHODS, "method"), "ensemble method", "NAME",
                       choices=ENSEMBLE_METHODS)
    n_models: int = _opt(5, number(int, low=1), "number of members (boosting rounds for adaboost)", "N")
    voting: str = _opt("soft", choice(("soft", "hard"), "voting"), "bagging/averaging: average probabilities or "
                       "majority vote", "NAME", choices=("soft", "hard"))
    max_samples: float = _opt(1.0, _FRAC, "bagging: bootstrap sample size as a fraction of the training set", "FRAC")
    vary: str = _opt("seed", choice(("seed", "order", "both"), "vary"), "averaging: what differs between members "
                     "(initial weights, batch order, both)", "WHAT", choices=("seed", "order", "both"))
    boost_lr: float = _opt(1.0, number(float, low=0.0, low_open=True), "adaboost: shrinkage of each round's alpha",
                           "ETA")
    # fmt: on


@dataclass
class SemiOptions(OptionSet):
    """What ``kisonet semi`` adds to :class:`RunConfig` (:class:`kisonet.semi.SelfTraining`)."""

    # fmt: off
    labelled: float = _opt(0.1, number(float, low=0.0, high=1.0, low_open=True, high_open=True),
                           "fraction of the training part that keeps its labels", "FRAC")
    threshold: float = _opt(0.9, _FRAC, "minimum confidence (max class probability) for a pseudo-label", "P")
    rounds: int = _opt(4, number(int, low=0), "pseudo-labelling rounds after the labelled-only round", "N")
    max_per_round: int | None = _opt(None, number(int, low=1, allow_none=True), "at most this many pseudo-labels "
                                     "per round, most confident first (default: no cap)", "N")
    # fmt: on


@dataclass
class AutoencoderOptions(OptionSet):
    """What ``kisonet autoencoder`` adds to :class:`RunConfig` (:mod:`kisonet.nn.autoencoder`)."""

    # fmt: off
    encoder: str = _opt("mlp:128", parse_encoder, "architecture: mlp:H1,... or conv:C1,...", "SPEC",
                        choices=("mlp:H1,H2,...", "conv:C1,C2,..."))
    code: int = _opt(32, number(int, low=0), "code size (for conv: a linear bottleneck of this size; 0 keeps the "
                     "feature maps)", "N")
    noise: str = _opt("gaussian", choice(AUTOENCODER_NOISES, "noise"), "input corruption of the denoising AE (none: "
                      "plain AE)", "KIND", choices=AUTOENCODER_NOISES)
    noise_level: float = _opt(0.3, number(float, low=0.0), "gaussian std, or masking / salt-and-pepper probability",
                              "LEVEL")
    tied: bool = _opt(False, boolean, "mlp: decoder weights are the transposed encoder weights", switch=True)
    compare: bool = _opt(True, boolean, "also train a plain AE and compare on the noisy test inputs", switch=True)
    # fmt: on


@dataclass
class CompressOptions(OptionSet):
    """The options of ``kisonet compress METHOD RUN_DIR`` (:mod:`kisonet.compress`): the fine-tuning and
    training take RunConfig's fields (Adam, ``lr``, ``seed``, ``augment``...) with these defaults."""

    # fmt: off
    out: str | None = like(RunConfig, "out", help="output folder (default RUN_DIR/compress-METHOD)")
    overwrite: bool = like(RunConfig, "overwrite")
    batch_size: int = like(RunConfig, "batch_size", 256, help="batch size for the inference timing")
    lr: float = like(RunConfig, "lr", 1e-3, help="Adam learning rate for fine-tuning / training")
    train_batch_size: int = like(RunConfig, "batch_size", 64, help="mini-batch size for fine-tuning / training")
    seed: int = like(RunConfig, "seed")
    threads: int | None = like(RunConfig, "threads")
    progress: bool = like(RunConfig, "progress")
    # quantize
    bits: list[int] = _opt([8, 6, 4, 3, 2], number_list(int, 2, 16, "bit widths"), "quantize: weight bit widths for "
                           "the curve (2-16; int16 codes above 8)", "LIST")
    rounding: str = _opt("nearest", choice(("nearest", "truncate", "floor"), "rounding"), "quantize: codes rounded to "
                         "the nearest, or truncated toward zero as the E-cert DAY 2 deck", "MODE",
                         choices=("nearest", "truncate", "floor"))
    calibration_batches: int = _opt(4, number(int, low=0), "quantize: batches to calibrate int8 activations (0: no "
                                    "activation variant)", "N")
    qat_epochs: int = _opt(0, number(int, low=0), "quantize: epochs of quantisation-aware fine-tuning at the "
                           "smallest --bits (0: none)", "N")
    # prune
    sparsity: list[float] = _opt([0.5, 0.8, 0.9, 0.95], number_list(float, 0.0, 0.999, "fractions"),
                                 "prune: target sparsities", "LIST")
    scope: str = _opt("global", choice(("global", "layer"), "scope"), "prune: one threshold for all layers or per "
                      "layer", "NAME", choices=("global", "layer"))
    structured: bool = _opt(False, boolean, "prune: whole units/filters by L2 norm (layer-wise)", switch=True)
    steps: int = _opt(4, number(int, low=1), "prune: pruning steps of the cubic schedule", "N")
    epochs_per_step: int = _opt(1, number(int, low=1), "prune: fine-tuning epochs after each step", "N")
    fine_tune_epochs: int = _opt(3, number(int, low=0), "prune: fine-tuning epochs after the last step", "N")
    # distill
    student: str = _opt("auto", _student, "distill: student model (auto: the widest mlp:H with at most 1/10 of the "
                        "teacher's parameters)", "SPEC")
    temperature: float = _opt(4.0, number(float, low=0, low_open=True), "distill: temperature T", "T")
    alpha: float = _opt(0.1, number(float, low=0, high=1), "distill: weight of the hard-label loss", "A")
    epochs: int = like(RunConfig, "epochs", 20, help="distill: training epochs (both students)")
    seeds: int = _opt(3, number(int, low=1), "distill: seeds to average over", "N")
    augment: str = _opt("run", choice(("run", *_AUGMENTS), "augmentation"), "augmentation while fine-tuning / "
                        "training students (run: the run's own --augment)", "NAME", choices=("run", *_AUGMENTS))
    # fmt: on


def option_fields(cls: type = RunConfig) -> list[dataclasses.Field]:
    """The fields of an option set (default :class:`RunConfig`) in order, with ``metadata``: parse,
    help, metavar, switch, choices."""
    return list(dataclasses.fields(cls))


def _train_table(data: dict[str, Any]) -> dict[str, Any]:
    # a [train] table is accepted too, so one file can hold several commands' options
    if isinstance(data.get("train"), dict):
        data = {**{k: v for k, v in data.items() if k != "train"}, **data["train"]}
    return data


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The raw ``{key: value}`` of a TOML config file or a run folder's ``config.json``
    (whose ``out`` is dropped so the old run is not overwritten); a missing or malformed file is
    a ConfigError naming it."""
    import tomllib

    from .errors import KisonetIOError
    from .io import check_regular_file

    path = os.fspath(path)
    try:
        check_regular_file(path, "--config:")
    except KisonetIOError as e:
        raise ConfigError(str(e)) from None
    try:
        with open(path, "rb") as f:
            # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the options
            text = f.read().decode("utf-8-sig")
        if str(path).lower().endswith(".json"):
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ConfigError(tr("--config: {0} must hold a JSON object of options", path))
            data.pop("out", None)
            data.pop("overwrite", None)  # repeating a run never clobbers a folder by itself
            _check_format_version(data, path)
            return data
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ConfigError(tr("--config: {0} is not UTF-8 text (byte {1}: {2})", path, e.start, e.reason)) from None
    except json.JSONDecodeError as e:
        raise ConfigError(tr("--config: {0} is not valid JSON: {1}", path, e)) from None
    except FileNotFoundError:
        raise ConfigError(tr("--config: file not found: {0}", path)) from None
    except IsADirectoryError:
        raise ConfigError(tr("--config: {0} is a folder, expected a TOML file", path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(tr("--config: {0} is not valid TOML: {1}", path, e)) from None
    except OSError as e:
        raise ConfigError(tr("--config: cannot read {0}: {1}", path, e.strerror)) from None
    data = _train_table(data)
    _check_format_version(data, path)
    return data


def _check_format_version(data: Mapping[str, Any], path: Any) -> None:
    """Refuse a config file written by a newer kisonet (its options may mean something else)."""
    version = data.get("format_version", data.get("format-version", 0))
    if isinstance(version, bool) or not isinstance(version, (int, float)):
        raise ConfigError(tr("--config: {0}: format_version must be a whole number, got {1!r}", path, version))
    if version > FORMAT_VERSION:
        raise ConfigError(
            tr(
                "--config: {0} was written by a newer kisonet (format_version {1:g}; this one "
                "reads up to {2}); upgrade kisonet",
                path,
                version,
                FORMAT_VERSION,
            )
        )
