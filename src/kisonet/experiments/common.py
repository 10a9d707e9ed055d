"""Shared machinery of the lecture experiments: data choice, output folder, results and figures.

An experiment is a function ``name(quick=False, dataset=None, data_dir=None, out=None, seed=0, ...)``
that starts with :func:`start`, which

* picks the data (:func:`choose_dataset`): ``mnist-t10k`` when its files are found in
  ``data_dir`` or ``$KISONET_DATA``, else ``mnist`` when it is already downloaded, else the
  embedded ``digits``; the choice and the reason are printed;
* creates the output folder (``out``, default ``runs/experiments/<name>``);

and ends with :meth:`Context.finish`, which writes ``results.json`` (every history and number,
JSON-safe) and ``summary.md`` (a short Markdown table) next to the PNG figures saved by
:meth:`Context.savefig`.  Nothing here downloads: an experiment never touches the network.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, KisonetValueError
from ..io import atomic_write
from ..lang import tr
from ..validation import check_int

__all__ = [
    "Args",
    "Context",
    "DataChoice",
    "Lesson",
    "Split",
    "choose_dataset",
    "default_out",
    "markdown_table",
    "new_figure",
    "EvalEachEpoch",
    "accuracy",
    "deep_mlp",
    "experiment",
    "last",
    "mlp_spec",
    "run_config",
    "start",
    "table_rows",
    "train",
    "with_blas_threads",
]

RESULTS, SUMMARY = "results.json", "summary.md"
FIG_DPI = 150  # slide quality without megabyte PNGs
QUICK_DPI = 80  # --quick: a preview; rendering is most of a quick run's time


# --- threads ---------------------------------------------------------------------------------


def with_blas_threads(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run the experiment ``fn`` with ``threads`` BLAS threads (keyword, default 1), restored after.

    The experiments' nets are small (100-unit layers, batches of 100): one BLAS thread is as fast
    as several on an idle machine, and on a busy or shared one multi-threaded OpenBLAS spins and
    can be 100x slower on such products.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, threads: int | None = 1, **kwargs: Any) -> Any:
        with blas_threads(threads, fn.__name__):
            return fn(*args, **kwargs)

    return wrapper


def blas_threads(threads: int | None, owner: str) -> Any:
    """A context limiting BLAS to ``threads`` threads (None: leave it as it is)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    check_int(owner, "threads", threads)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


@dataclass(frozen=True)
class Args:
    """What every experiment is called with (``kisonet experiment NAME [--quick] [--dataset NAME]
    [--data-dir DIR] [--out DIR] [--seed N]``), handed by :func:`experiment` to the function it wraps."""

    name: str
    lesson: Lesson | None
    needs_data: bool
    quick: bool = False
    dataset: str | None = None
    data_dir: str | os.PathLike | None = None
    out: str | os.PathLike | None = None
    seed: int = 0
    verbose: bool = True

    def start(self, dataset: str | None = None) -> Context:
        """:func:`start` the experiment (``dataset`` instead of the one asked for, when given)."""
        data = self.needs_data
        ctx = start(self.name, self.quick, (dataset or self.dataset) if data else None, self.data_dir if data else None,
                    self.out, self.seed, needs_data=data, verbose=self.verbose)  # fmt: skip
        ctx.lesson = self.lesson
        return ctx


def experiment(name: str, lesson: Lesson | None = None, needs_data: bool = True) -> Callable[[Callable], Callable]:
    """The experiments' one signature: ``@experiment("weight-init", LESSON)`` on
    ``def weight_init(args: Args, epochs=None, ...)`` makes ``weight_init(quick=False, dataset=None,
    data_dir=None, out=None, seed=0, *, epochs=None, ..., verbose=True, threads=1)``; the function
    gets those five (and ``verbose``) as :class:`Args`, checks its own options, then calls
    ``args.start()`` (the data choice, the output folder, the seed).  BLAS is limited to
    ``threads`` threads for the run (:func:`with_blas_threads`).  ``needs_data=False``: the
    experiment makes its own data, ``dataset``/``data_dir`` are ignored."""
    import functools
    import inspect

    def wrap(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def run(
            quick: bool = False,
            dataset: str | None = None,
            data_dir: str | os.PathLike | None = None,
            out: str | os.PathLike | None = None,
            seed: int = 0,
            *,
            verbose: bool = True,
            threads: int | None = 1,
            **options: Any,
        ) -> dict[str, Any]:
            args = Args(name, lesson, needs_data, quick, dataset, data_dir, out, seed, verbose)
            with blas_threads(threads, fn.__name__):
                return fn(args, **options)

        # help() and inspect show every option: the five shared ones, the experiment's, verbose, threads
        shared = list(inspect.signature(run).parameters.values())
        functools.update_wrapper(run, fn)
        own = [p.replace(kind=p.KEYWORD_ONLY) for p in list(inspect.signature(fn).parameters.values())[1:]]
        run.__signature__ = inspect.signature(fn).replace(parameters=[*shared[:5], *own, *shared[5:7]])  # type: ignore[attr-defined]
        return run

    return wrap


# --- data ---------------------------------------------------------------------------------


@dataclass
class DataChoice:
    """Which dataset an experiment uses, and why."""

    name: str
    data_dir: str | None
    reason: str
    bundle: Any = field(default=None, repr=False, compare=False)  # the loaded data, when the check loaded it


def choose_dataset(dataset: str | None = None, data_dir: str | os.PathLike | None = None) -> DataChoice:
    """The data rule of the experiments.

    ``dataset`` given: that dataset (with ``data_dir``).  Otherwise ``mnist-t10k`` when its two
    files are in ``data_dir`` (or, without it, in ``$KISONET_DATA`` / the cache), else ``mnist``
    when it is already in the cache, else ``digits`` (embedded, always there).  A ``data_dir``
    that holds no MNIST files at all is an error, not a silent fall-back: it is surely a typo.
    """
    from ..data import load_dataset

    ddir = None if data_dir is None else os.fspath(Path(data_dir).expanduser())
    if dataset is not None:
        key = str(dataset).strip().lower().replace("_", "-")
        return DataChoice(key, ddir, "asked for with dataset=/--dataset")

    def present(name: str) -> Any:
        try:
            return load_dataset(name, data_dir=ddir, download=False)
        except DataError:
            return None

    where = ddir or "$KISONET_DATA / the kisonet cache"
    if (bundle := present("mnist-t10k")) is not None:
        return DataChoice("mnist-t10k", ddir, f"the MNIST test files were found in {where}", bundle)
    if (bundle := present("mnist")) is not None:
        return DataChoice("mnist", ddir, f"the full MNIST was found in {where}", bundle)
    if ddir is not None:
        raise DataError(
            tr(
                (
                    "--data-dir {0}: no MNIST files there (expected t10k-images-idx3-ubyte.gz and "
                    "t10k-labels-idx1-ubyte.gz); drop --data-dir to use the embedded digits"
                ),
                ddir,
            )
        )
    return DataChoice("digits", None, "no MNIST files found (use --data-dir DIR or $KISONET_DATA); embedded 8x8 digits")


@dataclass
class Split:
    """Flattened classification data: inputs (N, D) float32 in [0, 1], labels (N,) int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    input_shape: tuple[int, ...]

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_test, self.y_test

    def prepared(self, val: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
        """These arrays as the runner's :class:`kisonet.runner.PreparedData` (with ``val`` held out)."""
        from ..runner import prepare_arrays

        return prepare_arrays(self.train, self.test, val, input_shape=self.input_shape, n_outputs=self.n_classes)


def _subsample(X: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(y):
        return X, y
    # stratified: the same class proportions in a small quick subset as in the whole
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    share = n * counts / len(y)
    take = np.floor(share).astype(int)
    take[np.argsort(take - share)[: n - take.sum()]] += 1  # largest remainders: exactly n in all
    idx = [rng.choice(np.flatnonzero(y == c), size=int(t), replace=False) for c, t in zip(classes, take, strict=True)]
    sel = np.sort(np.concatenate(idx))
    return X[sel], y[sel]


# --- the experiment context -----------------------------------------------------------------


@dataclass(frozen=True)
class Lesson:
    """What an experiment shows, and the headline numbers of its full run.

    ``shows`` is the lesson in a few sentences (the same for the full and the ``--quick`` run: a
    quick run is sized so that it shows the same thing, and a test asserts it).  ``reference`` is
    the full run's command and headline numbers, as measured (its figures are in
    ``docs/figures/experiments/<name>/``), so that a quick run's summary can be read against it.
    """

    shows: str
    reference: str


def default_out(name: str) -> Path:
    """``runs/experiments/<name>`` (relative to the working directory)."""
    return Path("runs") / "experiments" / name


@dataclass
class Context:
    """What an experiment run knows: its name, mode, seed, data choice and output folder."""

    name: str
    quick: bool
    seed: int
    out: Path
    data_choice: DataChoice | None
    echo: Callable[[str], None]
    started: float = field(default_factory=time.perf_counter)
    figures: list[str] = field(default_factory=list)
    lesson: Lesson | None = None  # the module's LESSON: finish() writes it into summary.md

    # data
    def load(self, n_train: int | None = None, n_test: int | None = None) -> Split:
        """The chosen dataset, flattened, optionally a stratified subset of ``n_train``/``n_test``."""
        from ..data import load_dataset

        if self.data_choice is None:
            raise KisonetValueError(tr("experiment {0!r} was started without data", self.name))
        dc = self.data_choice
        bundle = dc.bundle  # MNIST splits are fixed (no seed), so the copy loaded by the check is the one
        if bundle is None:
            bundle = load_dataset(dc.name, data_dir=dc.data_dir, seed=self.seed, download=False)
        if bundle.task != "classification":
            raise KisonetValueError(
                tr("experiment {0!r} needs a classification dataset, got {1!r}", self.name, dc.name)
            )
        Xtr, ytr = bundle.train
        Xte, yte = bundle.test
        Xtr, ytr = _subsample(np.asarray(Xtr), np.asarray(ytr), n_train, self.seed)
        Xte, yte = _subsample(np.asarray(Xte), np.asarray(yte), n_test, self.seed + 1)
        flat = lambda a: np.ascontiguousarray(a.reshape(len(a), -1), dtype=np.float32)  # noqa: E731
        split = Split(
            flat(Xtr),
            ytr.astype(np.int64),
            flat(Xte),
            yte.astype(np.int64),
            int(bundle.n_classes),
            tuple(bundle.input_shape),
        )
        self.echo(
            f"  {dc.name}: {len(split.y_train)} train / {len(split.y_test)} test samples, {split.n_features} features"
        )
        return split

    # output
    def path(self, filename: str) -> Path:
        return self.out / filename

    def savefig(self, fig: Any, filename: str) -> Path:
        """Save ``fig`` as ``out/filename`` (PNG, tight; 150 dpi, 80 for quick runs) and remember it."""
        from ..viz import save_figure

        path = self.path(filename)
        save_figure(fig, path, dpi=QUICK_DPI if self.quick else FIG_DPI, close=True)  # atomic
        self.figures.append(filename)
        self.echo(f"  wrote {path}")
        return path

    def finish(
        self,
        results: dict[str, Any],
        summary_headers: Sequence[str],
        summary_rows: Sequence[Sequence[Any]],
        notes: str = "",
        title: str | None = None,
        json_results: dict[str, Any] | None = None,
        lesson: Lesson | None = None,
    ) -> dict[str, Any]:
        """Write ``results.json`` and ``summary.md``; return ``results`` with the run's metadata.

        ``lesson`` adds the "What it shows" paragraph and, to a quick run's, the full run's
        reference numbers to ``summary.md`` (and both texts to ``results.json``).

        ``json_results`` (default ``results``) is what goes into ``results.json``, for experiments
        that keep long arrays in a side file and a thinned copy in the JSON.
        """
        seconds = time.perf_counter() - self.started
        meta = {
            "experiment": self.name,
            "quick": self.quick,
            "seed": self.seed,
            "dataset": None if self.data_choice is None else self.data_choice.name,
            "out": str(self.out),
            "figures": list(self.figures),
            "seconds": round(seconds, 2),
            "command": command_line(self),
            "versions": {"python": platform.python_version(), "numpy": np.__version__},
        }
        lesson = lesson if lesson is not None else self.lesson
        if lesson is not None:
            meta["shows"] = lesson.shows
            meta["full_run_reference"] = lesson.reference
        full = {**meta, **results}
        text = dumps({**meta, **(results if json_results is None else json_results)}) + "\n"
        with atomic_write(self.path(RESULTS), "w") as f:
            f.write(text)
        lines = [f"# {title or self.name}", ""]
        data = "" if self.data_choice is None else f", data `{self.data_choice.name}`"
        lines.append(
            f"`{meta['command']}` ({'quick' if self.quick else 'full'} run{data}, seed {self.seed}, {seconds:.0f} s)"
        )
        lines += ["", markdown_table(summary_headers, summary_rows), ""]
        if notes:
            lines += [notes.strip(), ""]
        if lesson is not None:
            lines += ["## What it shows", "", lesson.shows.strip(), ""]
            if self.quick:  # a full run's own table is the reference
                lines += ["## Full run (reference numbers)", "", lesson.reference.strip(), ""]
        lines += [f"![{f}]({f})" for f in self.figures]
        with atomic_write(self.path(SUMMARY), "w") as f:
            f.write("\n".join(lines).rstrip() + "\n")
        self.echo(markdown_table(summary_headers, summary_rows))
        self.echo(f"{self.name}: {seconds:.1f} s, results in {self.out}")
        full["out"] = self.out
        return full


def command_line(ctx: Context) -> str:
    """The CLI command that reproduces this run."""
    parts = ["kisonet experiment", ctx.name]
    if ctx.quick:
        parts.append("--quick")
    dc = ctx.data_choice
    if dc is not None:
        if dc.data_dir is not None:
            parts.append(f"--data-dir {dc.data_dir}")
        elif dc.reason.startswith("asked"):
            parts.append(f"--dataset {dc.name}")
    if ctx.seed:
        parts.append(f"--seed {ctx.seed}")
    if ctx.out != default_out(ctx.name):
        parts.append(f"--out {ctx.out}")
    return " ".join(parts)


def start(
    name: str,
    quick: bool = False,
    dataset: str | None = None,
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    seed: int = 0,
    needs_data: bool = True,
    verbose: bool = True,
) -> Context:
    """Begin experiment ``name``: choose and announce the data, create the output folder, seed."""
    from .. import random as kr

    seed = check_int(f"experiment {name!r}", "seed", seed, low=0)
    echo = (lambda s: print(s, flush=True)) if verbose else (lambda s: None)
    choice = choose_dataset(dataset, data_dir) if needs_data else None
    path = Path(out) if out is not None else default_out(name)
    path.mkdir(parents=True, exist_ok=True)
    mode = "quick" if quick else "full"
    if choice is None:
        echo(f"kisonet experiment {name} ({mode}): no dataset needed -> {path}")
    else:
        echo(f"kisonet experiment {name} ({mode}): dataset {choice.name} ({choice.reason}) -> {path}")
    kr.manual_seed(int(seed))
    return Context(name, bool(quick), int(seed), path, choice, echo)


# --- figures and tables --------------------------------------------------------------------------


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.6, 3.6), **kw: Any) -> tuple[Any, Any]:
    """A headless-safe Figure (``kisonet.viz``'s) with an ``nrows x ncols`` grid of axes (a 2-D array)."""
    from ..viz import new_figure

    fig = new_figure((size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


_ATOM = r'(?:-?\d[\d.eE+-]*|null|true|false|"-?(?:nan|inf)")'
_FLAT_LIST = re.compile(r"\[\s*(" + _ATOM + r"(?:\s*,\s*" + _ATOM + r")*)\s*\]")


def dumps(obj: Any) -> str:
    """JSON for ``results.json``: dicts indented, lists of numbers on one line, NaN/Inf as strings."""
    from ..runs import jsonable

    text = json.dumps(jsonable(obj), indent=1, ensure_ascii=False)
    return _FLAT_LIST.sub(lambda m: "[" + ", ".join(a.strip() for a in m.group(1).split(",")) + "]", text)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.2e}"
        return f"{v:.4g}"
    return str(v)


def table_rows(runs: dict[str, dict[str, Any]], *columns: tuple[Any, str]) -> list[tuple[Any, ...]]:
    """The summary table's rows, one per run: its name, then per ``(key, spec)`` column the run's
    ``key`` (or ``key(run)`` for a callable) formatted by ``format(value, spec)`` (``".2%"`` a percentage)."""

    def cell(run: dict[str, Any], key: Any, spec: str) -> str:
        return format(key(run) if callable(key) else run[key], spec)

    return [(name, *(cell(r, key, spec) for key, spec in columns)) for name, r in runs.items()]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats shown with 4 significant digits."""
    out = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


# --- training: through the runner ----------------------------------------------------------------


def run_config(ctx: Context, **fields: Any) -> Any:
    """The :class:`kisonet.config.RunConfig` of an experiment's training runs: its seed, its data's
    name, no progress bar, no BLAS limit of its own (:func:`with_blas_threads` set one for the
    whole experiment), then ``fields``; the variants it compares are ``dataclasses.replace`` of it."""
    from ..config import RunConfig

    base: dict[str, Any] = {"seed": ctx.seed, "progress": False, "threads": None}
    if ctx.data_choice is not None:
        base["dataset"] = ctx.data_choice.name
    return RunConfig(**{**base, **fields})


def mlp_spec(depth: int, width: int) -> str:
    """The registry's spec of the lectures' deep net: ``depth`` hidden layers of ``width`` units."""
    return "mlp:" + ",".join([str(int(width))] * int(depth))


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of ``X`` classified as ``y``, in eval mode (dropout and noise off), no graph."""
    from ..autograd import Tensor, no_grad

    was = model.training
    model.eval()
    correct = 0
    try:
        with no_grad():
            for i in range(0, len(y), batch_size):
                out = model(Tensor(X[i : i + batch_size]))
                correct += int((out.data.argmax(axis=1) == y[i : i + batch_size]).sum())
    finally:
        model.train(was)
    return correct / max(len(y), 1)


class EvalEachEpoch:
    """Trainer callback: eval-mode accuracy on a fixed set after every epoch (``values``).

    The Trainer's ``train_accuracy`` is averaged over the epoch's batches in training mode, i.e.
    *with* dropout and input noise; the gap is about the network itself, so it is measured here
    in eval mode on the whole training set.
    """

    def __init__(self, key: str, X: np.ndarray, y: np.ndarray) -> None:
        self.key, self.X, self.y = key, X, y
        self.values: list[float] = []

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.values.append(accuracy(trainer.model, self.X, self.y))


def train(
    cfg: Any,
    data: Split,
    model: Any = None,
    *,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[Any] = (),
    regularizer: Any = None,
    scheduler_interval: str = "epoch",
    eval_train: bool = False,
    test_every_epoch: bool = True,
) -> tuple[dict[str, Any], Any]:
    """Train ``cfg`` on ``data`` through :func:`kisonet.runner.fit` (cross-entropy, accuracy; the
    model from the registry, seeded by ``cfg.seed``, unless ``model`` is given).

    Returns ``(run, result)``: ``result`` is the runner's :class:`~kisonet.runner.FitResult`
    (``.model``, ``.trainer``); ``run`` (JSON-safe) holds the ``history`` (``train_eval_accuracy``, the eval-mode
    training accuracy after each epoch, with ``eval_train``; ``train_loss`` includes a penalty),
    ``failure`` (the NaN/Inf guard's message when training blew up: a diverging configuration is a
    result worth showing, not an error), the final eval-mode ``train_acc`` / ``test_acc`` / ``gap``,
    ``epochs_run``, ``steps`` and, with early stopping, ``best_epoch`` (1-based).
    """
    from ..runner import fit

    cbs = list(callbacks)
    ev = EvalEachEpoch("train_eval_accuracy", data.X_train, data.y_train) if eval_train else None
    if ev is not None:
        cbs.append(ev)
    res = fit(
        cfg, data.prepared(val), model, callbacks=cbs, regularizer=regularizer, scheduler_interval=scheduler_interval,
        test_every_epoch=test_every_epoch, allow_divergence=True,
    )  # fmt: skip
    hist: dict[str, Any] = {k: [float(x) for x in v] for k, v in res.history.items() if k != "epoch_seconds"}
    if ev is not None:
        hist["train_eval_accuracy"] = ev.values
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged net's logits overflow
        train_acc = accuracy(res.model, data.X_train, data.y_train)
        test_acc = accuracy(res.model, data.X_test, data.y_test)
    run = {"history": hist, "failure": res.failure, "train_acc": train_acc, "test_acc": test_acc,
           "gap": train_acc - test_acc, "epochs_run": len(hist.get("train_loss", [])),
           "steps": int(res.trainer.global_step)}  # fmt: skip
    early = res.early_stopping
    if early is not None:
        run["best_epoch"] = None if early.best_epoch is None else early.best_epoch + 1
    return run, res


def last(hist: dict[str, list[float]], key: str) -> float:
    """The last value of ``hist[key]``, NaN when there is none (a run that diverged at once)."""
    values = hist.get(key)
    return float(values[-1]) if values else float("nan")


# --- models and probes -------------------------------------------------------------------------

ACTIVATION_TYPES = ("ReLU", "Sigmoid", "Tanh", "LeakyReLU")


def deep_mlp(
    n_in: int,
    n_classes: int,
    activation: str = "relu",
    init: Any = None,
    depth: int = 5,
    width: int = 100,
    batch_norm: bool = False,
) -> Any:
    """The lectures' deep net: ``depth`` hidden layers of ``width`` units (the registry's
    :func:`mlp_spec`, the model a RunConfig with ``model=mlp_spec(depth, width)`` builds)."""
    from ..models import build_model

    return build_model(mlp_spec(depth, width), (n_in,), n_classes, activation, init, batch_norm=batch_norm)


def probe(model: Any, X: np.ndarray, y: np.ndarray) -> dict[str, list[Any]]:
    """One forward/backward pass on ``(X, y)`` observed through module hooks.

    Forward hooks on every ``Linear`` keep its input ``x_l``; full backward hooks keep
    ``delta_l = dE/du_l`` (the gradient at the layer's output).  Then per layer

        dE/dW_l = delta_l^T x_l          (the same product Linear's backward computes)
        grad_norm[l] = ||dE/dW_l||_F

    Forward hooks on the activation modules keep the hidden activations (for histograms).
    Returns ``{'grad_norm': [...], 'delta_norm': [...], 'activations': [array, ...]}``, layer 1
    (next to the input) first.  The model's parameter gradients are left as the pass made them.
    """
    from .. import nn
    from ..autograd import as_tensor
    from ..nn import functional as F  # noqa: N812

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    acts = [m for m in model.modules() if type(m).__name__ in ACTIVATION_TYPES]
    inputs: dict[int, np.ndarray] = {}
    deltas: dict[int, np.ndarray] = {}
    activations: list[np.ndarray] = []
    removers = []
    for i, lin in enumerate(linears):
        removers.append(lin.register_forward_hook(lambda m, args, out, i=i: inputs.__setitem__(i, args[0].data)))
        removers.append(lin.register_full_backward_hook(lambda m, gin, gout, i=i: deltas.__setitem__(i, gout[0])))
    for a in acts:
        removers.append(a.register_forward_hook(lambda m, args, out: activations.append(np.array(out.data))))
    try:
        model.train()
        model.zero_grad()
        loss = F.cross_entropy(model(as_tensor(np.asarray(X, dtype=np.float32))), np.asarray(y))
        loss.backward()
    finally:
        for r in removers:
            r()
    grad_norm, delta_norm = [], []
    for i in range(len(linears)):
        x = inputs[i].reshape(len(inputs[i]), -1)
        d = deltas[i]
        grad_norm.append(float(np.linalg.norm(d.T @ x)))
        delta_norm.append(float(np.linalg.norm(d)))
    return {"grad_norm": grad_norm, "delta_norm": delta_norm, "activations": activations, "loss": float(loss.data)}


class StepLog:
    """A Trainer callback keeping the loss (and lr) of every training step."""

    def __init__(self) -> None:
        self.loss: list[float] = []
        self.lr: list[float] = []

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        self.loss.append(float(logs["loss"]))

    def on_batch_begin(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        self.lr.append(float(trainer.optimizer.param_groups[0]["lr"]))


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average over ``window`` steps (shorter at the start), for noisy per-step curves."""
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)
