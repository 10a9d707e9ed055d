"""The runner: a :class:`~kisonet.config.RunConfig` in, a run folder out.

One road from options to a training run, taken by ``kisonet train``, the commands built on it
(``ensemble``, ``semi``, ``autoencoder``, ``compress``), the MPI modes
(:mod:`kisonet.distributed.runner` builds on the pieces here), the experiments and the dashboard::

    config -> data -> model -> optimizer -> schedule -> regulariser -> callbacks -> Trainer -> run folder

    import kisonet as kn
    from kisonet.config import RunConfig
    code = kn.runner.run(RunConfig(epochs=5, optimizer="sgd"))     # 0: done; the folder is printed
    res = kn.runner.fit(RunConfig(epochs=5, model="mlp:100"))       # the same road in memory, no folder
    res.model, res.history                                          # the trained model, its history

Each step is a public function (:func:`prepare_data`, :func:`build_model`, :func:`make_optimizer`,
:func:`make_scheduler`, :func:`make_regularizer`, :func:`make_augmenter`, :func:`create_run_folder`,
:func:`finish_run`), so a command that trains differently reuses the rest.  Bad option values raise
:class:`~kisonet.errors.ConfigError` naming the option (the command line prints it, exit code 2).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError
from .lang import N_, tr
from .validation import check_sequence

__all__ = [
    "CHECKPOINT",
    "PreparedData",
    "as_run_config",
    "build_model",
    "command_options",
    "create_run_folder",
    "evaluate_splits",
    "finish_run",
    "FitResult",
    "fit",
    "format_table",
    "make_augmenter",
    "make_optimizer",
    "make_regularizer",
    "make_scheduler",
    "model_config",
    "prepare_arrays",
    "prepare_data",
    "prepare_data_and_model",
    "prepare_members",
    "run",
    "seeded_model",
]

STANDARDIZE_EPS = 0.1  # std floor for per-feature standardisation: near-constant border pixels stay O(1)
CHECKPOINT = "checkpoint.npz"  # the run's last good state, rewritten after every epoch

Echo = Callable[[str], None]


def _say(s: str) -> None:
    print(s, flush=True)


def _warn(s: str) -> None:
    print(s, file=sys.stderr, flush=True)


def as_run_config(config: RunConfig | Mapping[str, Any]) -> RunConfig:
    """``config`` as a RunConfig: a mapping (a command's resolved options, keys like ``batch-size``)
    keeps the run's fields and leaves the command's own options aside."""
    if isinstance(config, RunConfig):
        return config
    return RunConfig.from_dict(config, "config", extra="ignore")


# --- data and model ------------------------------------------------------------------------


@dataclass
class PreparedData:
    train: tuple[Any, Any]
    val: tuple[Any, Any] | None
    test: tuple[Any, Any]
    n_outputs: int
    input_shape: tuple[int, ...]
    task: str
    standardizer: Any
    description: str
    input_range: dict[str, Any] | None = None  # runs.input_range of the raw training inputs, recorded in model.npz

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "classification" else "rmse"

    @property
    def loss(self) -> str:
        return "cross_entropy" if self.task == "classification" else "mse"


def prepare_data(config: RunConfig | Mapping[str, Any]) -> PreparedData:
    """Load ``dataset``, hold out ``val_split``, standardise with training statistics."""
    from . import data as kd
    from .errors import DataError, KisonetValueError

    cfg = as_run_config(config)
    name = cfg.dataset
    names = list(kd.DATASET_NAMES)
    key = str(name).strip().lower().replace("_", "-")
    if key not in kd.DATASETS:
        from .errors import closest

        raise ConfigError(
            tr("--dataset: unknown dataset {0!r}{1}; choose from: {2}", name, closest(key, names), ", ".join(names))
        )
    key = kd.DATASETS.canonical(key)
    try:
        bundle = kd.load_dataset(key, data_dir=cfg.data_dir, seed=cfg.seed)
    except DataError as e:
        raise ConfigError(f"--dataset {key}: {e}".replace("\n", " ")) from None
    except KisonetValueError as e:
        raise ConfigError(tr("--dataset {0}: {1}", key, e)) from None
    (Xtr, ytr), test, val = bundle.train, bundle.test, bundle.val
    frac = float(cfg.val_split)
    if frac > 0 and val is None:
        if round(len(Xtr) * frac) < 1 or round(len(Xtr) * (1 - frac)) < 1:
            raise ConfigError(tr("--val-split: {0} of {1} training samples leaves an empty split", frac, len(Xtr)))
        (Xtr, ytr), val = kd.split_train_val(Xtr, ytr, frac, seed=cfg.seed)
    elif frac == 0:
        val = None
    from .runs import input_range

    raw_range = input_range(Xtr)
    _check_augment(cfg, Xtr)
    std = None
    if cfg.standardize:
        std = kd.Standardizer(axis=0, eps=STANDARDIZE_EPS).fit(Xtr)
        Xtr = std.transform(Xtr)
        val = None if val is None else (std.transform(val[0]), val[1])
        test = (std.transform(test[0]), test[1])
    if bundle.task == "classification":
        n_out = int(bundle.n_classes)
    else:
        n_out = 1 if ytr.ndim == 1 else int(ytr.shape[1])
    return PreparedData(
        (Xtr, ytr), val, test, n_out, tuple(bundle.input_shape), bundle.task, std, bundle.description, raw_range
    )


def _check_augment(cfg: RunConfig, X: Any) -> None:
    """Refuse an ``augment`` preset that does not fit the dataset's samples now, with the
    options, rather than at the first training batch."""
    if cfg.augment == "none" or len(X) == 0:
        return
    import numpy as np

    from .data import transforms
    from .errors import KisonetError
    from .random import get_rng_state, set_rng_state

    state = get_rng_state()  # the trial draws random numbers; the run's stream must not shift
    try:
        with np.errstate(all="ignore"):
            transforms.preset(cfg.augment)(np.asarray(X[:2], dtype=np.float32))
    except (KisonetError, ValueError, IndexError, TypeError) as e:
        raise ConfigError(
            tr(
                "--augment {0}: does not fit {1}'s samples of shape {2} ({3})",
                cfg.augment,
                cfg.dataset,
                tuple(X.shape[1:]),
                e,
            )
        ) from None
    finally:
        set_rng_state(state)


def build_model(config: RunConfig | Mapping[str, Any], data: PreparedData) -> Any:
    """A fresh model of ``model`` for ``data`` (the current seed draws its weights); a model
    that does not fit the data is a ConfigError naming ``--model`` and the dataset."""
    from .errors import KisonetValueError, ShapeError
    from .models import build_model as build

    cfg = as_run_config(config)
    try:
        model = build(
            cfg.model, data.input_shape, data.n_outputs, activation=cfg.activation, init=cfg.init,
            dropout=cfg.dropout, batch_norm=cfg.batch_norm,
        )  # fmt: skip
    except ShapeError as e:
        raise ConfigError(tr("--model {0}: {1} (dataset {2})", cfg.model, e, cfg.dataset)) from None
    except KisonetValueError as e:
        raise ConfigError(tr("--model: {0}", e)) from None
    apply_notes_forms(cfg, model)
    return model


def apply_notes_forms(config: RunConfig | Mapping[str, Any], model: Any) -> None:
    """``dropout_scaling`` and ``bn_inference`` on every layer they concern (docs/notes-forms.md)."""
    from .nn import set_batch_norm_inference, set_dropout_scaling

    cfg = as_run_config(config)
    if set_dropout_scaling(model, cfg.dropout_scaling) == 0 and cfg.dropout_scaling != "inverted":
        raise ConfigError(tr("--dropout-scaling {0}: the model has no dropout; add --dropout P", cfg.dropout_scaling))
    if set_batch_norm_inference(model, cfg.bn_inference) == 0 and cfg.bn_inference != "running":
        raise ConfigError(tr("--bn-inference {0}: the model has no batch norm; add --batch-norm", cfg.bn_inference))


def prepare_data_and_model(config: RunConfig | Mapping[str, Any]) -> tuple[PreparedData, Any]:
    """The run's data and its freshly initialised model, both fixed by ``seed``
    (the initial weights depend on the seed only, not on how much randomness the data used)."""
    from .random import manual_seed

    cfg = as_run_config(config)
    manual_seed(cfg.seed)
    data = prepare_data(cfg)
    return data, seeded_model(cfg, data)


def seeded_model(config: RunConfig | Mapping[str, Any], data: PreparedData) -> Any:
    """A fresh model of ``model`` for ``data`` whose weights ``seed`` alone fixes (the generator is
    re-seeded first): the variants an experiment compares start from the same weights."""
    from .random import manual_seed

    cfg = as_run_config(config)
    manual_seed(cfg.seed)
    return build_model(cfg, data)


def _as_is(owner: str, name: str, value: Any) -> Any:
    return value


def prepare_arrays(
    train: tuple[Any, Any],
    test: tuple[Any, Any] | None = None,
    val: tuple[Any, Any] | None = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    n_outputs: int | None = None,
    task: str = "classification",
    description: str = "arrays",
) -> PreparedData:
    """Arrays already loaded (and scaled) as :class:`PreparedData`, for :func:`fit`: ``(X, y)`` pairs;
    ``input_shape`` defaults to one sample's shape, ``n_outputs`` to the number of classes
    (``max(y) + 1``) or the regression targets' width.  Nothing is standardised."""
    import numpy as np

    from .errors import unknown_name

    if task not in ("classification", "regression"):
        raise unknown_name(tr("task"), task, ("classification", "regression"))
    pairs = {"train": train, "test": test, "val": val}
    for name, pair in pairs.items():
        if pair is not None:
            check_sequence("prepare_arrays", name, pair, _as_is, length=2, what=N_("an (X, y) pair"))
    X, y = np.asarray(train[0]), np.asarray(train[1])
    if n_outputs is None:
        if task == "classification":
            n_outputs = int(max(int(np.max(np.asarray(p[1]))) for p in pairs.values() if p is not None)) + 1
        else:
            n_outputs = 1 if y.ndim == 1 else int(y.shape[1])
    shape = tuple(int(d) for d in (X.shape[1:] if input_shape is None else input_shape))
    return PreparedData(
        (train[0], train[1]), None if val is None else (val[0], val[1]),
        (X[:0], y[:0]) if test is None else (test[0], test[1]), int(n_outputs), shape, task, None, description,
    )  # fmt: skip


def model_config(config: RunConfig | Mapping[str, Any], data: PreparedData) -> dict[str, Any]:
    """The arguments that rebuild the model (saved in model.npz: ``evaluate``/``predict`` need only the folder)."""
    cfg = as_run_config(config)
    return {
        "spec": cfg.model,
        "input_shape": list(data.input_shape),
        "n_classes": data.n_outputs,
        "activation": cfg.activation,
        "init": cfg.init,
        "dropout": cfg.dropout,
        "batch_norm": cfg.batch_norm,
        "dropout_scaling": cfg.dropout_scaling,
        "bn_inference": cfg.bn_inference,
        "task": data.task,
    }


# --- optimisation ----------------------------------------------------------------------------


def make_optimizer(config: RunConfig | Mapping[str, Any], params: Any) -> Any:
    """``optimizer`` with ``lr``, ``momentum``, ``weight_decay``, ``eps`` and ``eps_placement``
    (:data:`kisonet.optim.OPTIMIZERS`); ``config`` should be finalized (lr filled)."""
    from .optim import make_optimizer as make

    cfg = as_run_config(config)
    options: dict[str, Any] = {}
    if cfg.eps is not None:  # None: the optimizer's own eps
        options["eps"] = cfg.eps
    if cfg.eps_placement != "outside":
        options["eps_placement"] = cfg.eps_placement
    return make(cfg.optimizer, params, cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **options)


def make_scheduler(config: RunConfig | Mapping[str, Any], optimizer: Any, steps: int | None = None) -> Any:
    """``schedule`` on ``optimizer``, stepped once per epoch (its numbers count epochs); None if constant.
    ``steps``: the run's number of optimizer steps, for a schedule stepped once per mini-batch
    (its numbers then count steps, and ``cosine`` spans ``steps``)."""
    from .errors import KisonetValueError
    from .optim.lr_scheduler import from_spec

    cfg = as_run_config(config)
    try:
        return from_spec(cfg.schedule, optimizer, cfg.epochs if steps is None else int(steps))
    except KisonetValueError as e:
        raise ConfigError(tr("--schedule: {0}", e)) from None


def make_regularizer(config: RunConfig | Mapping[str, Any]) -> Any:
    """The ``l1`` penalty added to the loss (``l1_half``: Keio lecture 4's lambda/2), or None."""
    cfg = as_run_config(config)
    if cfg.l1 > 0:
        from .regularizers import L1

        return L1(cfg.l1, half=cfg.l1_half)
    if cfg.l1_half:
        raise ConfigError(tr("--l1-half: halves the --l1 penalty; set --l1 LAMBDA above 0"))
    return None


def make_augmenter(config: RunConfig | Mapping[str, Any], std: Any) -> Callable | None:
    """``augment``: the preset on raw [0, 1] images, then the same standardisation as the data."""
    cfg = as_run_config(config)
    if cfg.augment == "none":
        return None
    from .data import transforms

    aug = transforms.preset(cfg.augment)
    if std is None:
        return aug
    # The loader hands over standardised batches; the presets expect raw pixels
    # (zero background for the affine fill), so undo, augment, redo.
    return lambda xb: std.transform(aug(std.inverse_transform(xb)))


def make_early_stopping(config: RunConfig | Mapping[str, Any]) -> Any:
    """``early_stopping N`` on val_loss, restoring the best weights; ``early_stopping_criterion``
    chooses patience or the notes' N consecutive increases."""
    from .train import EarlyStopping

    cfg = as_run_config(config)
    return EarlyStopping(
        monitor="val_loss", patience=int(cfg.early_stopping), restore_best=True, criterion=cfg.early_stopping_criterion
    )


def make_callbacks(cfg: RunConfig) -> list[Any]:
    """The callbacks every run's options ask for (early stopping)."""
    return [make_early_stopping(cfg)] if cfg.early_stopping else []


# --- in memory: the same road without a run folder -------------------------------------------


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model, its history, the Trainer that trained it, the
    data and the finalized config; ``failure`` is the NaN/Inf guard's message when training
    diverged and ``fit(allow_divergence=True)`` was asked (the history then holds the epochs done)."""

    model: Any
    history: dict[str, list[float]]
    trainer: Any
    data: PreparedData
    config: RunConfig
    failure: str | None = None

    @property
    def early_stopping(self) -> Any:
        """The run's :class:`~kisonet.train.EarlyStopping` callback (``best_epoch``...), or None."""
        from .train import EarlyStopping

        return next((cb for cb in self.trainer.callbacks if isinstance(cb, EarlyStopping)), None)


def fit(
    config: RunConfig | Mapping[str, Any],
    data: PreparedData | None = None,
    model: Any = None,
    *,
    callbacks: Sequence[Any] = (),
    regularizer: Any = None,
    scheduler_interval: str = "epoch",
    test_every_epoch: bool = True,
    allow_divergence: bool = False,
    progress: bool = False,
) -> FitResult:
    """Train as ``kisonet train`` does, in memory: no run folder, nothing printed.

    The same road as :func:`run`: ``data`` (default :func:`prepare_data`; or arrays already made,
    :func:`prepare_arrays`) -> ``model`` (default :func:`seeded_model`: the registry's ``model``,
    ``activation``, ``init``, ``dropout``, ``batch_norm``, weights fixed by ``seed``) ->
    :func:`make_optimizer` -> :func:`make_scheduler` -> :func:`make_regularizer` (or
    ``regularizer``, a penalty the options cannot spell: L2 in the loss, the elastic net) ->
    :func:`make_callbacks` then ``callbacks`` -> :class:`~kisonet.train.Trainer` (``seed``
    shuffles the batches) -> ``fit`` for ``epochs`` with ``batch_size`` and ``augment``.

    ``scheduler_interval="step"`` steps the schedule after every mini-batch, its numbers counting
    steps (``step:EVERY`` steps, ``cosine`` over the run's steps).  ``test_every_epoch`` records
    ``test_loss``/``test_<metric>`` in the history after each epoch.  ``allow_divergence``
    returns a run the NaN/Inf guard stopped (``failure`` says why) instead of raising
    :class:`~kisonet.errors.NumericalError`.  BLAS threads are the caller's (``threads`` is not
    applied here).  ``distributed`` must be ``'none'``."""
    import numpy as np

    from .errors import NumericalError, unknown_name
    from .train import Trainer

    if scheduler_interval not in ("epoch", "step"):
        raise unknown_name(tr("scheduler_interval"), scheduler_interval, ("epoch", "step"))
    cfg = as_run_config(config).finalize()
    if cfg.distributed != "none":
        raise ConfigError(tr("--distributed {0}: fit trains in one process; use 'none'", cfg.distributed))
    if data is None:
        from .random import manual_seed

        manual_seed(cfg.seed)
        data = prepare_data(cfg)
    if model is None:
        model = seeded_model(cfg, data)
    optimizer = make_optimizer(cfg, model.parameters())
    steps = None
    if scheduler_interval == "step":
        steps = cfg.epochs * -(-len(data.train[0]) // cfg.batch_size)
    penalty = make_regularizer(cfg)
    if regularizer is not None and penalty is not None:
        raise ConfigError(tr("--l1 {0:g}: fit was also given a regularizer; put both penalties in one", cfg.l1))
    trainer = Trainer(
        model, data.loss, optimizer, metrics=(data.metric,), callbacks=[*make_callbacks(cfg), *callbacks],
        scheduler=make_scheduler(cfg, optimizer, steps), scheduler_interval=scheduler_interval,
        regularizer=penalty if regularizer is None else regularizer, progress=progress, seed=cfg.seed,
    )  # fmt: skip
    failure = None
    # a diverging set-up overflows on its way to NaN; the guard reports it once
    quiet = np.errstate(over="ignore", invalid="ignore") if allow_divergence else contextlib.nullcontext()
    try:
        with quiet:
            trainer.fit(
                data.train, val=data.val, test=data.test if test_every_epoch and len(data.test[0]) else None,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size, transform=make_augmenter(cfg, data.standardizer),
            )  # fmt: skip
    except NumericalError as e:
        if not allow_divergence:
            raise
        failure = str(e)
    return FitResult(model, dict(trainer.history), trainer, data, cfg, failure)


# --- the run folder ------------------------------------------------------------------------


def create_run_folder(
    cfg: RunConfig, record: Mapping[str, Any] | None = None, command: str = "kisonet train", resume: bool = False
) -> Any:
    """Open the run folder (``out``, or ``runs/<timestamp>``; ``cfg.out`` is set to it) as a locked
    :class:`kisonet.runs.RunFolder` (a folder holding another run is refused unless ``overwrite``
    or ``resume``) and, for a new run, write its config.json: every option with the command line's
    keys, then ``record`` (a command's own options, ``world_size``...) and ``format_version``.
    The one place a run folder is born; returns the RunFolder (``.path`` is the folder)."""
    from . import runs
    from .config import FORMAT_VERSION

    folder = runs.RunFolder.open(cfg.out, command, overwrite=cfg.overwrite and not resume, resume=resume)
    cfg.out = str(folder.path)
    if not resume:
        runs.write_config(folder.path, {**cfg.to_dict(), **(record or {}), "format_version": FORMAT_VERSION})
    return folder


def run_record(cfg: RunConfig) -> dict[str, Any]:
    """What a checkpoint records of the options it belongs to: ``--resume`` refuses an edited config.json."""
    from . import runs

    options = cfg.to_dict()
    return {"options_digest": runs.options_digest(options), "options": runs.run_options(options)}


def command_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``config`` that are not RunConfig fields (a command's own: ``method``, ``n-models``...)."""
    keys = {RunConfig.key(n) for n in RunConfig.field_names()}
    return {k: v for k, v in config.items() if str(k).replace("_", "-") not in keys}


def prepare_members(
    config: RunConfig | Mapping[str, Any],
    classification_only: str | None = None,
    progress_label: str | None = None,
    command: str = "kisonet train",
) -> tuple[RunConfig, PreparedData, Path, Callable[[], Any], dict[str, Any]]:
    """For the commands that train several models or train differently (ensemble, semi, autoencoder):
    seed, threads, data, a ``make_model()`` from the model options (checked once on the data), the
    training settings (``optimizer`` factory, ``epochs``, ``batch_size``, the L1 regulariser) and the
    run folder with config.json (the command's own options recorded too).  ``classification_only``
    names what needs a classification dataset (checked before the folder is made); ``progress_label``
    (``'member'``, ``'model'``) gives every model trained one shared progress bar."""
    from .random import manual_seed
    from .threads import set_num_threads

    cfg = as_run_config(config).finalize()
    if cfg.threads:
        set_num_threads(int(cfg.threads))
    manual_seed(cfg.seed)
    data = prepare_data(cfg)
    if classification_only and data.task != "classification":
        raise ConfigError(
            tr("{0}: needs a classification dataset, {1} is {2}", classification_only, cfg.dataset, data.task)
        )

    def make_model() -> Any:
        return build_model(cfg, data)  # the notes' dropout/batch-norm forms applied

    make_model()  # fail early, with the option's name, on a model that does not fit the data
    train_kw: dict[str, Any] = {
        "optimizer": lambda params: make_optimizer(cfg, params),
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
    }
    regularizer = make_regularizer(cfg)
    if regularizer is not None:
        train_kw["trainer_kwargs"] = {"regularizer": regularizer}
    if progress_label and cfg.progress:
        from .train import ProgressBar

        # one bar for every model trained: a line per epoch off a terminal, numbered by model
        bar = ProgressBar(fit_label=progress_label)
        train_kw.setdefault("trainer_kwargs", {})["callbacks"] = [bar]
    record = command_options(config) if isinstance(config, Mapping) else None
    run_dir = create_run_folder(cfg, record, command).path
    return cfg, data, run_dir, make_model, train_kw


def evaluate_splits(evaluator: Any, data: PreparedData) -> dict[str, float]:
    """``{train_loss, train_accuracy, val_..., test_...}`` of the model as it ends."""
    final: dict[str, float] = {}
    for split, pair in (("train", data.train), ("val", data.val), ("test", data.test)):
        if pair is not None:
            for k, v in evaluator.evaluate(pair).items():
                final[f"{split}_{k}"] = float(v)
    return final


def finish_run(
    cfg: RunConfig,
    run_dir: Path,
    data: PreparedData,
    model: Any,
    history: dict[str, list[float]],
    final: dict[str, Any],
    title: str,
    warn: Echo = _warn,
    name: str = "kisonet train",
) -> None:
    """Write the finished run's history.csv, metrics.json, model.npz and curves.png."""
    from . import runs

    runs.write_history(run_dir, history)
    runs.write_metrics(run_dir, final)
    std_state = None if data.standardizer is None else data.standardizer.state_dict()
    runs.save_run_model(run_dir, model, model_config(cfg, data), std_state, data_range=data.input_range)
    try:
        runs.save_curves(run_dir, history, ("loss", data.metric), title=title)
    except ImportError as e:  # matplotlib missing: the run itself is complete
        warn(tr("{0}: warning: no curves.png ({1})", name, e))


def format_table(final: dict[str, float], seconds: float, metric: str) -> str:
    """The closing table: one row per split with loss and the main metric (in the language
    in force; columns line up in a terminal with wide characters too)."""
    from . import i18n

    _ = i18n.gettext
    rows = [(_("split"), _("loss"), _(metric))]
    for split in ("train", "val", "test"):
        if f"{split}_loss" in final:
            loss = final[f"{split}_loss"]
            val = final.get(f"{split}_{metric}")
            shown = "" if val is None else (f"{100 * val:.2f}%" if metric == "accuracy" else f"{val:.4f}")
            rows.append((_(split), f"{loss:.4f}", shown))
    lines = i18n.align(rows, rule=True)
    lines.append(f"{_('time')} {seconds:.1f} s")
    return "\n".join(lines)


def format_grad_norms(log: Any, history: dict[str, list[float]]) -> str:
    """``grad_norms``: per layer, ||dE/dW_l|| at the first step and averaged over the last epoch."""
    last = [_last(history, f"grad_norm_l{i + 1}") for i in range(len(log.names))]
    lines = ["gradient norm ||dE/dW_l||  (layer 1 = next to the input)", "layer  at step 1   last epoch (mean)"]
    for i, (first, end) in enumerate(zip(log.first_step or [], last, strict=False)):
        lines.append(f"{i + 1:5d}  {first:9.2e}   {float('nan') if end is None else end:9.2e}")
    if log.first_step and log.first_step[-1] > 0:
        ratio = log.first_step[0] / log.first_step[-1]
        lines.append(f"first / last layer at step 1: {ratio:.1e}")
    return "\n".join(lines)


def _last(history: dict[str, list[float]], key: str) -> float | None:
    vals = history.get(key)
    return float(vals[-1]) if vals else None


@contextlib.contextmanager
def blas_threads(cfg: RunConfig):
    """``threads`` limits BLAS only for the duration of the run (the caller's setting comes back)."""
    if not cfg.threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(cfg.threads), user_api="blas"):
        yield


# --- the single-process run ------------------------------------------------------------------


def run(
    config: RunConfig | Mapping[str, Any],
    echo: Echo | None = None,
    resume: str | Path | None = None,
    warn: Echo | None = None,
) -> int:
    """Train as ``kisonet train`` does and write the run folder; returns the exit code
    (0 done, 1 stopped by the NaN/Inf guard, 128 + signal when interrupted, checkpoint saved).

    ``resume`` is a checkpoint written by an interrupted run (``config`` is then that run's saved
    config, ``out`` its folder): training continues from it exactly.  ``config.distributed`` must be
    ``'none'`` (the MPI modes run through :func:`kisonet.distributed.runner.run_distributed`)."""
    cfg = as_run_config(config).finalize()
    if cfg.distributed != "none":
        raise ConfigError(
            tr(
                (
                    "--distributed {0}: run it with kisonet.distributed.runner.run_distributed "
                    "(mpiexec -n N kisonet train --distributed MODE)"
                ),
                cfg.distributed,
            )
        )
    with blas_threads(cfg):
        from . import runs

        t_start = time.perf_counter()
        # refuse a folder holding another run before loading any data (nothing is touched)
        if cfg.out is not None and resume is None and not cfg.overwrite and runs.holds_run(cfg.out):
            runs.RunFolder.open(cfg.out, "kisonet train")  # raises, naming the folder's status
        data, model = prepare_data_and_model(cfg)
        folder = create_run_folder(cfg, resume=resume is not None)
        with folder:
            return _run(cfg, echo or _say, warn or _warn, resume, folder, data, model, t_start)


def _run(
    cfg: RunConfig,
    echo: Echo,
    warn: Echo,
    resume: str | Path | None,
    folder: Any,
    data: PreparedData,
    model: Any,
    t_start: float,
) -> int:
    import numpy as np

    from . import runs
    from .autograd import detect_anomaly
    from .errors import KisonetError, NumericalError
    from .i18n import gettext
    from .serialization import load

    def save(obj: Any, path: Any, kind: str) -> None:
        import kisonet  # the package's save: tests stand in a full disk there

        kisonet.save(obj, path, kind=kind)

    from .train import AFTER_HISTORY, CHECKPOINT_KIND, GracefulInterrupt, LambdaCallback, Trainer
    from .viz import LivePlot

    optimizer = make_optimizer(cfg, model.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    callbacks = make_callbacks(cfg)
    grad_norms = None
    if cfg.grad_norms:
        from .train import LayerGradNorms

        grad_norms = LayerGradNorms()
        callbacks.insert(0, grad_norms)
    run_dir = folder.path
    record = run_record(cfg)
    # history.csv is rewritten (atomically) after every epoch: a long run can be watched or killed
    callbacks.append(
        LambdaCallback(order=AFTER_HISTORY, on_epoch_end=lambda t, e, logs: runs.write_history(run_dir, t.history))
    )
    # curves.png too, every epoch (a few ms: LivePlot repaints only the curves); finish_run
    # draws it once more in full
    title = gettext("{model} on {dataset}").format(model=cfg.model, dataset=cfg.dataset)
    live = LivePlot(
        ("loss", data.metric), path=run_dir / runs.CURVES, display=False, max_overhead=None, final=False, title=title
    )
    callbacks.append(live)
    # The last good state, rewritten (atomically) after every epoch: --resume continues from it
    # after a kill, and the NaN guard leaves it untouched.
    ckpt_path = run_dir / CHECKPOINT
    last_good: dict[str, str | None] = {"at": None}

    def save_checkpoint(t: Any, epoch: int, logs: Any) -> None:
        save({**t.state_dict(), "run": record}, ckpt_path, kind=CHECKPOINT_KIND)
        last_good["at"] = tr("end of epoch {0}", t.epoch)

    callbacks.append(LambdaCallback(order=AFTER_HISTORY, on_epoch_end=save_checkpoint))
    trainer = Trainer(
        model, data.loss, optimizer, metrics=(data.metric,), callbacks=callbacks, scheduler=scheduler,
        regularizer=make_regularizer(cfg), progress=cfg.progress, seed=cfg.seed,
    )  # fmt: skip
    if resume is not None:
        try:
            state = load(resume, kind=CHECKPOINT_KIND)
            trainer.load_state_dict(state)
        except KisonetError as e:
            msg = str(e)
            raise ConfigError(msg if msg.startswith("--resume") else f"--resume: {msg}") from None
        inner = state.get("in_epoch")
        last_good["at"] = (
            tr("end of epoch {0}", trainer.epoch) if inner is None else tr("saved when the run was interrupted")
        )
        where = tr("epoch {0}", trainer.epoch + 1) + ("" if inner is None else tr(", step {0}", int(inner["step"]) + 1))
        echo(tr("kisonet train: resuming {0} at {1} (global step {2})", run_dir, where, trainer.global_step + 1))
    echo(
        tr(
            "kisonet train: {0} on {1} ({2} train, {3} val, {4} test), {5} lr={6:g}, {7} epochs -> {8}",
            cfg.model, cfg.dataset, len(data.train[0]), 0 if data.val is None else len(data.val[0]),
            len(data.test[0]), cfg.optimizer, cfg.lr, cfg.epochs, run_dir,
        )
    )  # fmt: skip
    t_fit = time.perf_counter()
    failure = None
    # ^C / SIGTERM: finish the step, checkpoint, exit with the resume command (a second one aborts)
    interrupt = GracefulInterrupt(trainer, notify=lambda m: warn(m.replace("kisonet:", "kisonet train:", 1)))
    anomaly = detect_anomaly() if cfg.detect_anomaly else contextlib.nullcontext()
    try:
        # overflow warnings would bury the guard's one clear message; the guard checks every step
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), anomaly, interrupt:
            trainer.fit(
                data.train, val=data.val, test=data.test, epochs=cfg.epochs, batch_size=cfg.batch_size,
                transform=make_augmenter(cfg, data.standardizer),
            )  # fmt: skip
    except NumericalError as e:
        failure = e
    except OSError as e:  # disk full, folder made read-only, ...: the last checkpoint is intact
        from .io import describe_os_error

        where = tr(" (end of epoch {0})", trainer.epoch) if ckpt_path.is_file() else ""
        keep = tr("the last checkpoint{0} is kept; ", where) if ckpt_path.is_file() else ""
        msg = f"writing the run folder failed: {describe_os_error(e)}"
        with contextlib.suppress(OSError):
            folder.interrupt(msg) if ckpt_path.is_file() else folder.fail(msg)
        warn(tr("kisonet train: error: {0}", msg))
        # one error line; what to do next is a note (scripts read the line after 'error:')
        warn(
            tr("kisonet train: note: {0}fix it, then continue with: kisonet train --resume {1}", keep, run_dir)
            if keep
            else tr("kisonet train: note: no checkpoint was written yet; fix it, then start the run again")
        )
        return 3
    train_seconds = time.perf_counter() - t_fit
    history = trainer.history
    runs.write_history(run_dir, history)
    if failure is not None:
        warn(tr("kisonet train: error: training stopped by the NaN/Inf guard: {0}", failure))
        if last_good["at"] is not None and ckpt_path.is_file():
            warn(tr("kisonet train: note: last good checkpoint: {0} ({1})", ckpt_path, last_good["at"]))
        warn(tr("kisonet train: note: try a smaller --lr (now {0:g}); partial history in {1}", cfg.lr, run_dir))
        folder.fail(f"stopped by the NaN/Inf guard: {failure}".splitlines()[0][:500])
        return 1
    if interrupt.signal is not None and trainer.epoch < cfg.epochs and not trainer.stop_training:
        state = trainer.state_dict()
        save({**state, "run": record}, ckpt_path, kind=CHECKPOINT_KIND)
        inner = state.get("in_epoch")
        where = f"end of epoch {trainer.epoch}" if inner is None else f"epoch {trainer.epoch + 1}, step {inner['step']}"
        shown = (
            tr("end of epoch {0}", trainer.epoch)
            if inner is None
            else tr("epoch {0}, step {1}", trainer.epoch + 1, inner["step"])
        )
        warn(
            tr(
                "kisonet train: interrupted by {0} at {1} (global step {2}); checkpoint saved to {3}",
                interrupt.signal,
                shown,
                trainer.global_step,
                ckpt_path,
            )
        )
        warn(tr("kisonet train: note: continue with: kisonet train --resume {0}", run_dir))
        folder.interrupt(f"by {interrupt.signal} at {where}; continue with: kisonet train --resume {run_dir}")
        return 128 + int(getattr(signal, interrupt.signal))

    # Final figures: the model as it ends (best weights when early stopping restored them).
    final: dict[str, Any] = evaluate_splits(trainer, data)
    final["epochs"] = len(history.get("train_loss", []))
    final["train_seconds"] = train_seconds
    finish_run(cfg, run_dir, data, model, history, final, title, warn)
    ckpt_path.unlink(missing_ok=True)  # the run is complete: model.npz is its result
    echo(format_table(final, time.perf_counter() - t_start, data.metric))
    if grad_norms is not None:
        echo(format_grad_norms(grad_norms, history))
    echo(tr("run folder: {0}", run_dir))
    return 0
