"""Run folders: everything a training run leaves behind, written atomically.

A run folder (``kisonet train --out DIR``, default ``runs/<timestamp>``) holds::

    config.json    every resolved option of the run (defaults, config file and flags merged)
    history.csv    one row per epoch: epoch, train_loss, train_accuracy, val_..., test_..., lr
    metrics.json   the final numbers, keyed like the history (test_accuracy, ...) plus train_seconds
    model.npz      kn.save file: the model's state dict, the arguments that rebuild the model,
                   and the input standardisation, so ``evaluate``/``predict`` need only the folder
    curves.png     learning curves (loss and accuracy per epoch, train vs val vs test)
    status.json    running | interrupted | failed | finished, the command, a message, pid, host, time
    checkpoint.npz the last good state while the run is unfinished (``--resume`` continues from it)

A command that writes a folder opens it with :meth:`RunFolder.open`: a folder that
already holds a run is refused unless the user asked to overwrite or resume it,
``.kisonet.lock`` keeps a second writer out (a lock whose process is gone is taken
over), and ``status.json`` says how the run ended; a failed run never looks
finished.  :func:`load` gives a folder's model back, whatever command wrote it, and
never imports code named by a file: a ``module:function`` model is built only when
the caller names it.

Every file goes through :func:`kisonet.io.atomic_write`: a crash mid-write leaves
the previous file (or none), never half a file.  Floats are written with
``repr`` so that a history read back is bit-identical to the one trained.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib
import io
import json
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, KisonetIOError, KisonetValueError, RunFolderError
from .io import atomic_write, check_regular_file
from .lang import N_, gettext, tr

__all__ = [
    "check_out",
    "CHECKPOINT",
    "CONFIG",
    "LOCK",
    "RUN_FILES",
    "STATUS",
    "LoadedRun",
    "RunFolder",
    "Terminated",
    "changed_options",
    "check_inputs",
    "check_resume",
    "describe_status",
    "find_runs",
    "run_kind",
    "summarize",
    "holds_run",
    "input_range",
    "load",
    "lock_holder",
    "options_digest",
    "range_warning",
    "read_status",
    "stored_range",
    "rebuild_ensemble",
    "run_options",
    "settle_open_folders",
    "CURVES",
    "HISTORY",
    "METRICS",
    "MODEL",
    "load_model_file",
    "load_run_model",
    "jsonable",
    "make_run_dir",
    "model_from_config",
    "read_config",
    "read_history",
    "read_metrics",
    "save_curves",
    "save_run_model",
    "standardizer_from_state",
    "write_config",
    "write_history",
    "write_metrics",
]

CONFIG, HISTORY, METRICS, MODEL, CURVES = "config.json", "history.csv", "metrics.json", "model.npz", "curves.png"
MODEL_KIND = "kisonet-run-model"


def make_run_dir(out: str | os.PathLike | None = None, root: str | os.PathLike = "runs") -> Path:
    """Create (if needed) and return the run folder: ``out``, or ``root/<YYYYmmdd-HHMMSS>``
    (a ``-2``, ``-3`` ... suffix when two runs start in the same second)."""
    if out is not None:
        path = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(root) / stamp
        k = 2
        while path.exists():
            path = Path(root) / f"{stamp}-{k}"
            k += 1
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise KisonetIOError(tr("run folder {0!r} exists and is not a folder", str(path))) from None
    except OSError as e:
        from .io import describe_os_error

        raise KisonetIOError(tr("cannot create run folder {0!r}: {1}", str(path), describe_os_error(e))) from None
    return path


def jsonable(value: Any) -> Any:
    """``value`` made JSON-ready, recursively: mappings to dicts with str keys, tuples and
    arrays to lists, NumPy scalars to Python numbers, NaN/Inf to the strings ``'nan'``/``'inf'``,
    paths to str.  What every JSON file of a run goes through."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n"
    with atomic_write(path, "w") as f:
        f.write(text)


def _regular(path: Path) -> None:
    """A special file (a FIFO would block ``open`` for ever) planted as a run file is refused."""
    if path.exists() and not path.is_file():
        check_regular_file(path, N_("run file"))


def _read_json(path: Path) -> dict[str, Any]:
    _regular(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise KisonetIOError(
            tr("{0!r} not found (is {1!r} a kisonet run folder?)", str(path), str(path.parent))
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise KisonetIOError(tr("{0!r} is not valid JSON: {1}", str(path), e)) from None
    except OSError as e:
        raise KisonetIOError(tr("{0!r} is unreadable: {1}", str(path), e.strerror or e)) from None


def write_config(run_dir: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / CONFIG
    _write_json(path, dict(config))
    return path


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    return _read_json(Path(run_dir) / CONFIG)


def write_metrics(run_dir: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / METRICS
    _write_json(path, dict(metrics))
    return path


def read_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    return _read_json(Path(run_dir) / METRICS)


def _column_order(keys: Sequence[str]) -> list[str]:
    """train_*, then val_*, then test_*, then the rest (lr, ...), each group in first-seen order."""
    groups: list[list[str]] = [[], [], [], []]
    for k in keys:
        i = 0 if k.startswith("train_") else 1 if k.startswith("val_") else 2 if k.startswith("test_") else 3
        groups[i].append(k)
    return [k for g in groups for k in g]


def write_history(run_dir: str | os.PathLike, history: Mapping[str, Sequence[Any]]) -> Path:
    """``history`` maps a key (``train_loss``, ...) to its per-epoch values; one CSV row per epoch.

    Floats are written with ``repr`` (shortest exact round trip); a key missing for
    an epoch leaves an empty cell.
    """
    keys = _column_order([k for k in history if k != "epoch"])
    n = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        row: list[Any] = [i + 1]
        for k in keys:
            col = history[k]
            if i < len(col) and col[i] is not None:
                v = col[i]
                v = v.item() if isinstance(v, np.generic) else v
                row.append(repr(float(v)) if isinstance(v, float) else v)
            else:
                row.append("")
        w.writerow(row)
    path = Path(run_dir) / HISTORY
    with atomic_write(path, "w") as f:
        f.write(buf.getvalue())
    return path


def read_history(run_dir: str | os.PathLike) -> dict[str, list[float]]:
    """The history written by :func:`write_history`, as ``{key: [float per epoch]}`` (with ``epoch``)."""
    path = Path(run_dir) / HISTORY
    _regular(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise KisonetIOError(
            tr("{0!r} not found (is {1!r} a kisonet run folder?)", str(path), str(path.parent))
        ) from None
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    out: dict[str, list[float]] = {k: [] for k in header}
    for row in body:
        for k, cell in zip(header, row, strict=False):
            out[k].append(float(cell) if cell != "" else math.nan)
    return out


def save_run_model(
    run_dir: str | os.PathLike,
    model: Any,
    model_config: Mapping[str, Any],
    standardizer: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    data_range: Mapping[str, float] | None = None,
) -> Path:
    """Write ``model.npz``: the state dict plus what rebuilds the model.

    ``data_range``: :func:`input_range` of the raw training inputs, so ``predict`` can
    warn about inputs scaled differently.

    ``model_config`` holds :func:`kisonet.models.build_model`'s arguments (spec,
    input_shape, n_classes, activation, init, dropout, batch_norm);
    ``standardizer`` the input standardisation's ``state_dict()`` (or None).
    """
    from .serialization import save

    obj: dict[str, Any] = {
        "model": model.state_dict(),
        "model_config": jsonable(dict(model_config)),
        "standardizer": None if standardizer is None else dict(standardizer),
    }
    if data_range is not None:
        obj["input_range"] = dict(data_range)
    if extra:
        obj["extra"] = dict(extra)
    path = Path(run_dir) / MODEL
    save(obj, path, kind=MODEL_KIND)
    return path


def model_from_config(cfg: Mapping[str, Any], model: str | None = None) -> Any:
    """A fresh (untrained) model from a saved ``model_config``: :func:`kisonet.models.build_model`
    with its arguments (``spec``, ``input_shape``, ``n_classes``, optional ``activation``,
    ``init``, ``dropout``, ``batch_norm``), then the notes' forms ``dropout_scaling`` and
    ``bn_inference`` when given (configs saved before them use PyTorch's).

    A file never makes kisonet import code: when the saved spec is a user's
    ``module:function`` builder, the caller must name it (``model``, e.g. from the
    command line's ``--model``); otherwise a :class:`CheckpointError` says so.
    """
    from .errors import KisonetError
    from .models import apply_layer_forms, build_model, is_custom_spec

    try:
        spec = cfg["spec"]
        if not isinstance(spec, str):
            raise KisonetValueError(tr("spec must be a string, got {0!r}", spec))
        if is_custom_spec(spec):
            if model is None:
                raise CheckpointError(
                    tr(
                        (
                            "the model is built by your own code ({0!r}); kisonet never imports code named "
                            "by a file: name it yourself (--model {0} on the command line, model={0!r} in "
                            "Python)"
                        ),
                        spec,
                    )
                )
            spec = model
        elif model is not None and model != spec:
            from .models import parse_spec

            if parse_spec(model) != spec:
                raise KisonetValueError(tr("model {0!r} given, but the saved model is {1!r}", model, spec))
        shape = tuple(int(d) for d in cfg["input_shape"])
        built = build_model(
            spec,
            shape,
            int(cfg["n_classes"]),
            activation=str(cfg.get("activation", "relu")),
            init=cfg.get("init"),
            dropout=float(cfg.get("dropout", 0.0)),
            batch_norm=bool(cfg.get("batch_norm", False)),
        )
        return apply_layer_forms(
            built, str(cfg.get("dropout_scaling", "inverted")), str(cfg.get("bn_inference", "running"))
        )
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, KisonetError) as e:
        what = tr("no {0!r} entry", e.args[0]) if isinstance(e, KeyError) else str(e)
        raise CheckpointError(tr("the saved model_config cannot rebuild a model: {0}", what)) from None


def load_model_file(run_dir: str | os.PathLike, kind: str = MODEL_KIND, what: str = N_("kisonet run folder")) -> Any:
    """``kn.load`` of the folder's ``model.npz`` saved as ``kind``; a CheckpointError saying
    the folder may not be a ``what`` when the file is absent."""
    from .serialization import load

    path = Path(run_dir) / MODEL
    if not path.exists():
        if (Path(run_dir) / "checkpoint.npz").exists():  # an interrupted `kisonet train`
            raise CheckpointError(
                tr(
                    "{0!r} not found: the run in {1!r} was interrupted; finish it with `kisonet train --resume {2}`",
                    str(path),
                    str(run_dir),
                    run_dir,
                )
            )
        raise CheckpointError(tr("{0!r} not found (is {1!r} a {2}?)", str(path), str(run_dir), gettext(what)))
    return load(path, kind=kind)


def standardizer_from_state(state: Mapping[str, Any] | None) -> Any:
    """The :class:`kisonet.data.Standardizer` saved as ``state`` (None when none was saved)."""
    if state is None:
        return None
    from .data import Standardizer

    std = Standardizer()
    std.load_state_dict(state)
    return std


def load_run_model(run_dir: str | os.PathLike, model: str | None = None) -> tuple[Any, dict[str, Any], Any]:
    """Rebuild the model of a ``kisonet train`` run folder: returns ``(model, model_config,
    standardizer or None)``, the model in eval mode with the trained weights.  ``model``:
    the ``module:function`` spec when the run used the caller's own builder."""
    obj = load_model_file(run_dir)
    return _rebuild_single(obj, Path(run_dir) / MODEL, model)


def _rebuild_single(obj: Any, path: Path, model: str | None) -> tuple[Any, dict[str, Any], Any]:
    from .errors import KisonetError

    try:
        cfg = dict(obj["model_config"])
        net = model_from_config(cfg, model)
        net.load_state_dict(obj["model"])
        std = standardizer_from_state(obj.get("standardizer"))
    except CheckpointError as e:
        raise CheckpointError(tr("cannot load {0!r}: {1}", str(path), e)) from None
    except (KeyError, TypeError, ValueError, KisonetError) as e:
        what = tr("no {0!r} entry", e.args[0]) if isinstance(e, KeyError) else str(e)
        raise CheckpointError(tr("cannot load {0!r}: {1}", str(path), what)) from None
    net.eval()
    return net, cfg, std


def save_curves(
    run_dir: str | os.PathLike,
    history: Mapping[str, Sequence[float]],
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Path:
    """Draw the learning curves (``metrics`` vs epoch, train/val/test) to ``curves.png``, atomically."""
    from .viz import plot_history, save_figure

    path = Path(run_dir) / CURVES
    hist = {k: list(v) for k, v in history.items()}
    present = [m for m in metrics if any(f"{s}_{m}" in hist for s in ("train", "val", "test"))]
    fig = plot_history(hist, metrics=present or ("loss",), title=title)
    save_figure(fig, path, close=True)  # only written: not kept open in pyplot
    return path


# --- the life of a run folder: refuse to clobber, lock, status ----------------------------

STATUS, LOCK, CHECKPOINT = "status.json", ".kisonet.lock", "checkpoint.npz"
#: The files whose presence means "this folder holds a run" (what --out must not clobber).
RUN_FILES = (CONFIG, HISTORY, METRICS, MODEL, CURVES, CHECKPOINT, STATUS)
STATUSES = (N_("running"), N_("interrupted"), N_("failed"), N_("finished"))


def _host() -> str:
    return socket.gethostname()


def _proc_start(pid: int) -> str | None:
    """The process's start time (Linux /proc), so a reused pid is not taken for the writer."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    with contextlib.suppress(OSError, IndexError):
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False  # a zombie: it has ended, only its exit status is left
    now = _proc_start(pid)
    return start is None or now is None or now == start


def holds_run(path: str | os.PathLike) -> bool:
    """Whether the folder ``path`` holds (part of) a run: any of :data:`RUN_FILES`."""
    p = Path(path)
    return p.is_dir() and any((p / name).exists() for name in RUN_FILES)


def read_status(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The folder's ``status.json`` (``status``, ``command``, ``message``, ``updated`` ...).

    A folder written before kisonet recorded statuses gets one inferred from its files
    (``finished`` with a model.npz, ``interrupted`` with only a checkpoint) and
    ``"recorded": False``.  A status that says ``running`` while no live process holds
    the folder's lock is reported as ``failed`` (the writer died without a word).
    """
    p = Path(run_dir)
    path = p / STATUS
    if path.is_file():
        try:
            st = _read_json(path)
        except KisonetIOError:
            st = {"status": "unknown", "message": f"{STATUS} is unreadable"}
        if not isinstance(st, dict) or st.get("status") not in STATUSES:
            return {"status": "unknown", "message": f"{STATUS} is not kisonet's", "recorded": True}
        st["recorded"] = True
        if st["status"] == "running" and lock_holder(p) is None:
            st = {**st, "status": "failed", "message": "the process writing it died (no live lock holder)"}
        return st
    if (p / MODEL).is_file():
        return {"status": "finished", "recorded": False}
    if (p / CHECKPOINT).is_file():
        return {"status": "interrupted", "recorded": False}
    if (p / CONFIG).is_file() or (p / HISTORY).is_file():
        return {"status": "failed", "recorded": False, "message": "no model.npz and no checkpoint"}
    return {"status": "unknown", "recorded": False}


def describe_status(run_dir: str | os.PathLike, st: Mapping[str, Any] | None = None) -> str:
    """One phrase for messages: ``finished``, ``interrupted at epoch 3 (kisonet train)``, ..."""
    st = read_status(run_dir) if st is None else st
    words = gettext(str(st.get("status")))  # in the language in force
    if st.get("command"):
        words += f" ({st['command']})"
    if st.get("message"):
        words += f": {st['message']}"
    return words


def lock_holder(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The live process holding the folder's lock (``pid``, ``host``, ``command``), or None
    when the folder is free or its lock is stale (its process is gone)."""
    path = Path(run_dir) / LOCK
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": None, "host": None, "command": "unknown (unreadable lock)"}
    if not isinstance(info, dict):
        return {"pid": None, "host": None, "command": "unknown (unreadable lock)"}
    if info.get("host") == _host() and isinstance(info.get("pid"), int) and not _alive(info["pid"], info.get("start")):
        return None
    return info


def _acquire_lock(run_dir: Path, command: str) -> Path:
    """Create ``run_dir/.kisonet.lock`` atomically (write a temporary file, hard-link it: the
    link fails if the lock exists), taking over a stale lock of a dead process."""
    path = run_dir / LOCK
    info = {"pid": os.getpid(), "host": _host(), "start": _proc_start(os.getpid()), "command": command,
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
    tmp = run_dir / f".kisonet.lock.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
    try:
        for _ in range(3):
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                holder = lock_holder(run_dir)
                if holder is not None:
                    who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder.get("pid") else "another process"
                    raise RunFolderError(
                        tr(
                            (
                                "run folder {0!r} is being written by {1} ({2}, since {3}); wait for it to end, "
                                "or choose another folder (if no run is writing it, delete {4!r})"
                            ),
                            str(run_dir),
                            who,
                            holder.get("command"),
                            holder.get("since", "?"),
                            str(path),
                        )
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # stale: its process is gone
        raise RunFolderError(
            tr("run folder {0!r}: could not take its lock (another writer keeps racing)", str(run_dir))
        )
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception, so the folder is marked interrupted on the way out."""

    def __init__(self, signame: str = "SIGTERM") -> None:
        super().__init__(signame)
        self.signame = signame


def check_out(
    out: str | os.PathLike | None, *, overwrite: bool = False, resume: bool = False, flag: str = "--out"
) -> None:
    """Refuse ``out`` as :meth:`RunFolder.open` would, touching nothing: a file; a folder another
    live process is writing; a folder holding a run when neither ``overwrite`` nor ``resume`` is set."""
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise RunFolderError(tr("{0}: {1!r} is a file, not a folder; choose a folder name", flag, str(path)))
        holder = lock_holder(path) if path.is_dir() else None
        if holder is not None:  # --overwrite cannot take a folder from a live writer: say so first
            raise RunFolderError(
                tr(
                    "{0}: {1!r} is locked: being written by pid {2} ({3}); wait for it to end (or "
                    "stop it), or choose another {0}",
                    flag,
                    str(path),
                    holder.get("pid"),
                    holder.get("command", "kisonet"),
                )
            )
        if holds_run(path) and not (overwrite or resume):
            raise RunFolderError(
                tr(
                    "{0}: {1!r} already holds a run ({2}); pass --overwrite to replace it, continue "
                    "it with --resume, or choose another {0}",
                    flag,
                    str(path),
                    describe_status(path),
                )
            )


class RunFolder:
    """A run folder opened for writing: locked, with its ``status.json`` kept true.

    Use :meth:`open` (it refuses a folder that holds a run unless ``overwrite`` or
    ``resume``), then as a context manager: leaving the block normally marks the run
    ``finished`` unless :meth:`fail` or :meth:`interrupt` said otherwise; an exception
    marks it ``failed`` (``interrupted`` for ^C or SIGTERM) and the lock is released.
    """

    def __init__(self, path: Path, command: str, lock: Path | None) -> None:
        self.path = path
        self.command = command
        self._lock = lock
        self._status: dict[str, Any] = {}
        self._old_term: Any = None

    @classmethod
    def open(
        cls,
        out: str | os.PathLike | None,
        command: str,
        *,
        overwrite: bool = False,
        resume: bool = False,
        root: str | os.PathLike = "runs",
        flag: str = "--out",
    ) -> RunFolder:
        """Create or take ``out`` (default ``root/<timestamp>``) for ``command``.

        Refuses, touching nothing: ``out`` is a file; it holds a run and neither
        ``overwrite`` nor ``resume`` is set; another live process is writing it.  With
        ``overwrite`` the old run's files are removed once the folder is locked.
        """
        check_out(out, overwrite=overwrite, resume=resume, flag=flag)
        path = make_run_dir(out, root)
        lock = _acquire_lock(path, command)
        rf = cls(path, command, lock)
        if resume:  # a resumed run keeps the time it first started
            with contextlib.suppress(KisonetIOError, OSError, AttributeError):
                rf._status = {"started": _read_json(path / STATUS).get("started")}
        if overwrite and not resume:
            for name in RUN_FILES:
                if name != STATUS:
                    with contextlib.suppress(FileNotFoundError):
                        (path / name).unlink()
        rf.set_status("running")
        rf._catch_sigterm()
        _OPEN.append(rf)
        return rf

    def _catch_sigterm(self) -> None:
        # SIGTERM's default ends the process without a word; here it unwinds like ^C, so the
        # folder is marked interrupted.  (kisonet train installs its own graceful handler inside.)
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                    self._old_term = signal.signal(signal.SIGTERM, _raise_terminated)

    def set_status(self, status: str, message: str | None = None, **extra: Any) -> None:
        """Write ``status.json`` (atomically): the status, the command, pid, host and time."""
        if status not in STATUSES:
            raise KisonetValueError(tr("status must be one of {0}, got {1!r}", ", ".join(STATUSES), status))
        self._status = {
            "status": status,
            "command": self.command,
            "message": message,
            "pid": os.getpid(),
            "host": _host(),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "started": self._status.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        }
        _write_json(self.path / STATUS, self._status)

    @property
    def status(self) -> str:
        return str(self._status.get("status"))

    def finish(self, message: str | None = None) -> None:
        self.set_status("finished", message)

    def fail(self, message: str) -> None:
        self.set_status("failed", message)

    def interrupt(self, message: str) -> None:
        self.set_status("interrupted", message)

    def close(self) -> None:
        """Release the lock and the SIGTERM handler (the status stays as last set)."""
        if self._old_term is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, self._old_term)
            self._old_term = None
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.unlink()
            self._lock = None
        if self in _OPEN:
            _OPEN.remove(self)

    @property
    def closed(self) -> bool:
        return self._lock is None

    def __enter__(self) -> RunFolder:
        return self

    def settle(self, exc: BaseException | None = None, code: int = 0) -> None:
        """Record how the command ended (an exception, or its exit code) and close the folder."""
        if self.closed:
            return
        self.__exit__(type(exc) if exc is not None else None, exc, None, code)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any, code: int = 0) -> None:
        try:
            with contextlib.suppress(OSError):  # a full disk must not hide the original error
                if exc is None:
                    if self.status == "running":
                        self.finish() if code == 0 else self.fail(f"the command ended with exit code {code}")
                elif isinstance(exc, KeyboardInterrupt):
                    if self.status == "running":
                        sig = getattr(exc, "signame", "^C")
                        self.interrupt(f"stopped by {sig}")
                elif self.status in ("running", "finished"):
                    self.fail(f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
        finally:
            self.close()


_OPEN: list[RunFolder] = []


def settle_open_folders(exc: BaseException | None = None, code: int = 0) -> None:
    """Close every folder a command opened and left open, recording how the command ended
    (the command line calls this once a command returns or raises)."""
    for rf in list(_OPEN):
        rf.settle(exc, code)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signal.Signals(signum).name)


# --- what a run's numbers depend on --------------------------------------------------------

#: Options that change no number of a run (where it is written, how it is shown, threads).
RESULT_NEUTRAL = (
    "out", "progress", "threads", "detect-anomaly", "resume", "config", "overwrite", "strict", "rank-timeout",
)  # fmt: skip


def run_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The options a run's result depends on: ``config`` without :data:`RESULT_NEUTRAL`, JSON-ready."""
    return {str(k): jsonable(v) for k, v in sorted(config.items()) if k not in RESULT_NEUTRAL}


def options_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of :func:`run_options` (canonical JSON): equal digests, equal options."""
    text = json.dumps(run_options(config), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def changed_options(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The keys whose values differ between two option sets (both through :func:`run_options`)."""
    a, b = run_options(saved), run_options(now)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


# --- inputs: finite, non-empty, and in the range the model was trained on ------------------


#: Rows read at a time when summarising training inputs (bounds the float64 temporaries).
_STATS_CHUNK_VALUES = 1 << 22


def input_range(X: Any) -> dict[str, Any]:
    """What ``predict``/``evaluate`` check inputs against, recorded in model.npz: ``min``/``max``
    of all finite training values and, per feature (the sample's values, flattened),
    ``feature_min``, ``feature_max``, ``feature_mean`` and ``feature_std`` (float32 arrays).

    Read in blocks of rows, so a large training set needs no full-size temporary.
    """
    a = np.asarray(X)
    if a.size == 0 or a.ndim == 0:
        return {"min": 0.0, "max": 0.0}
    flat = a.reshape(len(a), -1)
    n_feat = flat.shape[1]
    lo = np.full(n_feat, np.inf)
    hi = np.full(n_feat, -np.inf)
    total = np.zeros(n_feat)
    total_sq = np.zeros(n_feat)
    count = np.zeros(n_feat)
    step = max(1, _STATS_CHUNK_VALUES // max(n_feat, 1))
    for i in range(0, len(flat), step):
        block = flat[i : i + step].astype(np.float64)
        finite = np.isfinite(block)
        if not finite.all():
            lo = np.minimum(lo, np.where(finite, block, np.inf).min(axis=0))
            hi = np.maximum(hi, np.where(finite, block, -np.inf).max(axis=0))
            block = np.where(finite, block, 0.0)
        else:
            lo = np.minimum(lo, block.min(axis=0))
            hi = np.maximum(hi, block.max(axis=0))
        total += block.sum(axis=0)
        total_sq += np.square(block).sum(axis=0)
        count += finite.sum(axis=0)
    seen = count > 0
    if not seen.any():
        return {"min": 0.0, "max": 0.0}
    lo, hi = np.where(seen, lo, 0.0), np.where(seen, hi, 0.0)
    mean = np.where(seen, total / np.maximum(count, 1), 0.0)
    std = np.sqrt(np.maximum(np.where(seen, total_sq / np.maximum(count, 1), 0.0) - mean**2, 0.0))
    return {
        "min": float(lo[seen].min()),
        "max": float(hi[seen].max()),
        "feature_min": lo.astype(np.float32),
        "feature_max": hi.astype(np.float32),
        "feature_mean": mean.astype(np.float32),
        "feature_std": std.astype(np.float32),
    }


def stored_range(rng: Any) -> dict[str, Any] | None:
    """A model file's ``input_range`` entry as :func:`range_warning` reads it: None when absent
    or malformed; the per-feature arrays dropped when they do not agree with each other."""
    if not isinstance(rng, Mapping):
        return None
    try:
        out: dict[str, Any] = {"min": float(rng["min"]), "max": float(rng["max"])}
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(out["min"]) and math.isfinite(out["max"]) and out["min"] <= out["max"]):
        return None
    feats = {k: rng.get(k) for k in ("feature_min", "feature_max", "feature_mean", "feature_std")}
    if all(isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f" for v in feats.values()):
        if len({v.shape for v in feats.values()}) == 1 and all(np.isfinite(v).all() for v in feats.values()):
            if bool(np.all(feats["feature_min"] <= feats["feature_max"])):
                out.update(feats)
    return out


def check_inputs(X: Any, what: str = N_("inputs")) -> None:
    """Refuse an empty array or one holding NaN or Inf (a model would answer class 0 for them)."""
    a = np.asarray(X)
    if a.size == 0 or (a.ndim >= 1 and len(a) == 0):
        raise KisonetValueError(tr("{0}: no samples (shape {1})", gettext(what), a.shape))
    if a.dtype.kind in "fc":
        bad = ~np.isfinite(a)
        if bad.any():
            n = int(np.count_nonzero(bad.reshape(len(a), -1).any(axis=1)) if a.ndim else 1)
            first = int(np.argmax(bad.reshape(len(a), -1).any(axis=1))) if a.ndim else 0
            kinds = tr(" and ").join(k for k, m in (("NaN", np.isnan(a)), ("Inf", np.isinf(a))) if m.any())
            raise KisonetValueError(
                tr(
                    "{0}: {1} of {2} samples hold {3} (first: sample {4})",
                    gettext(what),
                    n,
                    len(a) if a.ndim else 1,
                    kinds,
                    first,
                )
            )


#: How far outside the training data's overall range (in multiples of its width) inputs may lie.
RANGE_SLACK = 0.5
#: How far outside a feature's own training range (in multiples of that feature's width, at
#: least the median width of all features) its inputs may lie.
FEATURE_SLACK = 1.0
#: Features named in a range warning (the count says how many in all).
_SHOWN_FEATURES = 3


def range_warning(X: Any, rng: Mapping[str, Any] | None, what: str = N_("inputs")) -> str | None:
    """A message when ``X`` lies far outside the training data's range ``rng`` (:func:`input_range`,
    as recorded in model.npz), e.g. 0-255 pixels given to a model trained on [0, 1]; None when
    it fits or no range is known.

    Two tolerances, either of which warns: all values within the overall range widened by
    :data:`RANGE_SLACK` of its width on each side, and each feature ``j`` within
    ``[min_j - t w_j, max_j + t w_j]``, ``t`` = :data:`FEATURE_SLACK`, ``w_j`` its width
    ``max_j - min_j`` but at least the median width of all features (so a pixel that happened
    to be dark in every training image may still be lit).  A folder written before kisonet
    recorded each feature's range is checked against the overall range, and the message
    says so.  Costs one pass over ``X`` (a minimum and a maximum per feature).
    """
    rng = stored_range(rng)
    if rng is None:
        return None
    a = np.asarray(X)
    if a.size == 0 or a.ndim == 0:
        return None
    flat = a.reshape(len(a), -1)
    xmin, xmax = flat.min(axis=0).astype(np.float64), flat.max(axis=0).astype(np.float64)
    what = gettext(what)
    if "feature_min" in rng and len(rng["feature_min"]) == flat.shape[1]:
        lo, hi = rng["feature_min"].astype(np.float64), rng["feature_max"].astype(np.float64)
        width = hi - lo
        floor = float(np.median(width))
        if floor <= 0:
            floor = max(float(rng["max"] - rng["min"]), abs(float(rng["max"])), abs(float(rng["min"])), 1e-12)
        w = np.maximum(width, floor)
        excess = np.maximum(lo - xmin, xmax - hi) / w  # in widths beyond the nearer bound
        bad = np.flatnonzero(excess > FEATURE_SLACK)
        if bad.size:
            shown = "; ".join(
                tr("feature {0}: [{1:g}, {2:g}] vs trained [{3:g}, {4:g}], {5:.3g} widths out",
                   int(j), xmin[j], xmax[j], lo[j], hi[j], excess[j])
                for j in bad[np.argsort(-excess[bad], kind="stable")][:_SHOWN_FEATURES]
            )  # fmt: skip
            if bad.size > _SHOWN_FEATURES:
                shown += tr("; ... {0} more", int(bad.size - _SHOWN_FEATURES))
            return tr(
                "{0}: far outside the training data's range: {1} of {2} features lie more than {3:g} width "
                "outside their own ({4}); values overall in [{5:g}, {6:g}] vs trained [{7:g}, {8:g}]; "
                "the predictions are unreliable (scaled differently? e.g. 0-255 pixels for a model trained on [0, 1])",
                what, int(bad.size), int(flat.shape[1]), FEATURE_SLACK, shown,
                float(xmin.min()), float(xmax.max()), rng["min"], rng["max"],
            )  # fmt: skip
        older = False
    else:
        older = True
    lo_all, hi_all = rng["min"], rng["max"]
    xlo, xhi = float(xmin.min()), float(xmax.max())
    slack = RANGE_SLACK * max(hi_all - lo_all, abs(hi_all), abs(lo_all), 1e-12)
    if xlo < lo_all - slack or xhi > hi_all + slack:
        if older:
            return tr(
                "{0}: values lie in [{1:g}, {2:g}], far outside the training data's range [{3:g}, {4:g}] "
                "(checked against the overall range only: this run folder records no per-feature range, "
                "it was written by an older kisonet); "
                "the predictions are unreliable (scaled differently? e.g. 0-255 pixels for a model trained on [0, 1])",
                what, xlo, xhi, lo_all, hi_all,
            )  # fmt: skip
        return tr(
            "{0}: values lie in [{1:g}, {2:g}], far outside the training data's range [{3:g}, {4:g}]; "
            "the predictions are unreliable (scaled differently? e.g. 0-255 pixels for a model trained on [0, 1])",
            what, xlo, xhi, lo_all, hi_all,
        )  # fmt: skip
    return None


# --- the run folders under a folder, one summary each ----------------------------------------

#: The kinds of run folder :func:`summarize` tells apart (the command that wrote it).
RUN_KINDS = ("train", "semi", "ensemble", "autoencoder", "compress", "distributed")
# files only one command writes: older folders (no status.json command) are told apart by them
_KIND_FILES = (("members.csv", "ensemble"), ("rounds.csv", "semi"), ("reconstructions.png", "autoencoder"),
               ("report.json", "compress"))  # fmt: skip
# the number a run is judged by, first found: (history or metrics key, higher is better)
_MONITORED = (("val_accuracy", True), ("val_rmse", False), ("val_loss", False), ("test_accuracy", True),
              ("test_rmse", False), ("train_accuracy", True), ("train_loss", False))  # fmt: skip


def find_runs(root: str | os.PathLike, depth: int = 3) -> list[Path]:
    """The run folders at or below ``root`` (``depth`` levels down; ``kisonet compress`` writes
    inside the run it compresses), sorted by path; hidden folders are skipped."""
    root = Path(root)
    found: list[Path] = []

    def walk(p: Path, level: int) -> None:
        if holds_run(p):
            found.append(p)
        if level >= depth:
            return
        with contextlib.suppress(OSError):
            for child in sorted(p.iterdir()):
                if child.is_dir() and not child.is_symlink() and not child.name.startswith("."):
                    walk(child, level + 1)

    walk(root, 0)
    return found


def run_kind(run_dir: str | os.PathLike, status: Mapping[str, Any] | None = None) -> str:
    """Which command wrote the folder (:data:`RUN_KINDS`): from status.json's command, else its files."""
    p = Path(run_dir)
    st = read_status(p) if status is None else status
    words = str(st.get("command") or "").split()
    if "--distributed" in words:
        return "distributed"
    if len(words) > 1 and words[1] in RUN_KINDS:
        return words[1]
    for name, kind in _KIND_FILES:
        if (p / name).is_file():
            return kind
    with contextlib.suppress(KisonetIOError, AttributeError):
        if read_config(p).get("distributed", "none") != "none":
            return "distributed"
    return "train"


def _quiet(read: Any, p: Path) -> dict[str, Any]:
    try:
        out = read(p)
    except (KisonetIOError, OSError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def summarize(run_dir: str | os.PathLike) -> dict[str, Any]:
    """One run folder in a few fields (what ``kisonet runs`` prints): ``path``, ``kind``, ``status``
    (:func:`read_status`: status.json and the lock), ``message``, ``epochs`` done and ``epochs_planned``,
    the ``metric`` it is judged by with its ``best`` and ``last`` value (from history.csv, else
    metrics.json or a compress report's headline), and ``started`` (ISO time; the folder's
    config.json time for runs written before it was recorded).  Unreadable files give ``None``s."""
    p = Path(run_dir)
    st = read_status(p)
    history = _quiet(read_history, p) if (p / HISTORY).is_file() else {}
    config = _quiet(read_config, p) if (p / CONFIG).is_file() else {}
    out: dict[str, Any] = {
        "path": str(p), "kind": run_kind(p, st), "status": st.get("status"), "message": st.get("message"),
        "epochs": len(history.get("epoch", [])) if history else None, "epochs_planned": config.get("epochs"),
        "metric": None, "best": None, "last": None, "started": st.get("started"),
    }  # fmt: skip
    for key, higher in _MONITORED:
        values = [v for v in history.get(key, []) if math.isfinite(v)]
        if values:
            out.update(metric=key, best=max(values) if higher else min(values), last=values[-1])
            break
    else:
        metrics = _quiet(read_metrics, p) if (p / METRICS).is_file() else {}
        report = _quiet(lambda q: _read_json(q / "report.json"), p) if out["kind"] == "compress" else {}
        head = next((r for r in report.get("rows", []) if r.get("variant") == report.get("headline")), None)
        if head is not None and isinstance(head.get("accuracy"), (int, float)):
            metrics = {"test_accuracy": head["accuracy"]}
        for key, _ in _MONITORED:
            if isinstance(metrics.get(key), (int, float)) and not isinstance(metrics.get(key), bool):
                out.update(metric=key, last=float(metrics[key]))
                break
    if out["started"] is None:
        first = p / CONFIG if (p / CONFIG).exists() else p
        with contextlib.suppress(OSError):
            out["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(first.stat().st_mtime))
    return out


# --- every kind of run folder, back in Python ------------------------------------------------

ENSEMBLE_KIND, AUTOENCODER_KIND, COMPRESSED_KIND = "kisonet-ensemble", "kisonet-autoencoder", "kisonet-compressed-model"
#: The kind of a model.npz -> the kind of run folder, as messages say it.
FOLDER_KINDS = {
    MODEL_KIND: "single model (kisonet train / semi)",
    ENSEMBLE_KIND: "ensemble (kisonet ensemble)",
    AUTOENCODER_KIND: "autoencoder (kisonet autoencoder)",
    COMPRESSED_KIND: "compressed model (kisonet compress)",
}


#: Kinds whose rebuilding lives in a part above this module: kind -> (module, function).
REBUILDERS = {COMPRESSED_KIND: ("kisonet.compress.report", "rebuild_model")}


@dataclass
class LoadedRun:
    """A run folder's model, ready to predict: ``model`` (eval mode; an ensemble object for
    ensemble folders), ``standardizer`` (apply it to raw inputs first; None when the run did
    not standardise), ``kind`` (the model.npz kind), ``task`` (classification, regression
    or reconstruction), ``model_config``, ``input_shape``, ``input_range`` (the raw training
    inputs' :func:`input_range`: ``min``, ``max`` and, in folders written since kisonet
    records them, ``feature_min``, ``feature_max``, ``feature_mean``, ``feature_std``
    arrays, one value per feature; None for folders that record no range),
    ``config`` (config.json, {} when absent) and ``status`` (:func:`read_status`).

    Unpacks as ``model, standardizer = kn.runs.load(run_dir)``.
    """

    model: Any
    standardizer: Any
    kind: str
    task: str
    model_config: dict[str, Any]
    input_shape: tuple[int, ...]
    input_range: dict[str, Any] | None
    config: dict[str, Any]
    status: dict[str, Any]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.model, self.standardizer))

    def predict(self, X: Any, batch_size: int = 256, proba: bool = False) -> np.ndarray:
        """Outputs for raw inputs ``X`` (standardised here): classes (or probabilities with
        ``proba``) for classifiers, values for regression, reconstructions for autoencoders."""
        from .autograd import no_grad

        X = np.asarray(X, dtype=np.float32)
        check_inputs(X)
        if self.standardizer is not None:
            X = self.standardizer.transform(X)
        if self.kind == ENSEMBLE_KIND:
            return np.asarray(self.model.predict_proba(X) if proba else self.model.predict(X))
        outs = []
        with no_grad():
            for i in range(0, len(X), batch_size):
                outs.append(np.asarray(self.model(X[i : i + batch_size]).data))
        out = np.concatenate(outs)
        if self.task != "classification":
            return out.reshape(len(out)) if out.ndim == 2 and out.shape[1] == 1 else out
        if proba:
            z = out - out.max(axis=1, keepdims=True)
            e = np.exp(z)
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return out.argmax(axis=1)


def load(run_dir: str | os.PathLike, model: str | None = None) -> LoadedRun:
    """The model of any run folder (``kisonet train``, ``semi``, ``ensemble``, ``autoencoder``,
    ``compress``), rebuilt with its trained weights: a :class:`LoadedRun`.

    Reading the folder never imports code: a run whose model came from a user's
    ``module:function`` builder needs ``model='module:function'`` from the caller.
    Raises :class:`CheckpointError` for a folder without a readable model.npz.
    """
    from .serialization import load as load_file
    from .serialization import read_meta

    path = Path(run_dir)
    if not path.is_dir():
        raise CheckpointError(tr("{0!r} is not a folder (expected a kisonet run folder)", str(path)))
    status = read_status(path)
    file = path / MODEL
    if not file.exists():
        st = status.get("status")
        if st == "interrupted" and (path / CHECKPOINT).is_file():
            raise CheckpointError(
                tr(
                    "{0!r} not found: the run in {1!r} was interrupted; finish it with `kisonet train --resume {2}`",
                    str(file),
                    str(path),
                    path,
                )
            )
        if st in ("running", "failed", "interrupted"):
            raise CheckpointError(tr("{0!r} has no model: the run is {1}", str(path), describe_status(path, status)))
        raise CheckpointError(tr("{0!r} not found (is {1!r} a kisonet run folder?)", str(file), str(path)))
    kind = str(read_meta(file).get("kind"))
    if kind not in FOLDER_KINDS:
        raise CheckpointError(
            tr(
                "cannot load {0!r}: it holds {1!r}, not a model of a run folder (expected one of {2})",
                str(file),
                kind,
                ", ".join(FOLDER_KINDS),
            )
        )
    obj = load_file(file, kind=kind)
    try:
        config = read_config(path) if (path / CONFIG).is_file() else {}
    except KisonetIOError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    if not config and kind == COMPRESSED_KIND:
        config = _source_config(path)
    if kind == MODEL_KIND:
        net, cfg, std = _rebuild_single(obj, file, model)
        task = str(cfg.get("task", "classification"))
    elif kind == COMPRESSED_KIND:
        # kisonet.compress sits above this module (it saves through it): look its loader up by name
        rebuild_model = getattr(importlib.import_module(REBUILDERS[kind][0]), REBUILDERS[kind][1])
        net, info = rebuild_model(obj, file, model)
        cfg, std = dict(info["model_config"]), standardizer_from_state(info.get("standardizer"))
        task = str(cfg.get("task", "classification"))
    elif kind == ENSEMBLE_KIND:
        net, cfg, std = rebuild_ensemble(obj, file, model)
        task = str(cfg.get("task", "classification"))
    else:
        net, cfg, std = _rebuild_autoencoder(obj, file)
        task = "reconstruction"
    rng = stored_range(obj.get("input_range")) if isinstance(obj, dict) else None
    try:
        shape = tuple(int(d) for d in cfg["input_shape"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(tr("cannot load {0!r}: no valid input_shape", str(file))) from None
    return LoadedRun(net, std, kind, task, cfg, shape, rng, config, status)


def _source_config(path: Path) -> dict[str, Any]:
    """A ``kisonet compress`` folder's data options: the config.json of the run it compressed
    (named in its report.json, or the parent folder, where compress writes by default)."""
    candidates = []
    with contextlib.suppress(KisonetIOError, AttributeError, TypeError):
        candidates.append(Path(str(_read_json(path / "report.json")["run_dir"])))
    candidates.append(path.parent)
    for c in candidates:
        with contextlib.suppress(KisonetIOError, OSError, TypeError):
            cfg = read_config(c)
            if isinstance(cfg, dict):
                return cfg
    return {}


def rebuild_ensemble(obj: Any, file: Path, model: str | None) -> tuple[Any, dict[str, Any], Any]:
    from . import ensemble as E  # noqa: N812
    from .errors import KisonetError

    try:
        cfg, state = dict(obj["model_config"]), obj["ensemble"]
        classes = {"Bagging": E.Bagging, "AdaBoost": E.AdaBoost, "ModelAveraging": E.ModelAveraging}
        if state.get("kind") not in classes:
            raise KisonetValueError(tr("unknown ensemble kind {0!r}", state.get("kind")))
        cls = classes[state["kind"]]
        kwargs: dict[str, Any] = {"task": state["task"]}
        if cls is not E.AdaBoost:
            kwargs["voting"] = state["voting"]
        model_from_config(cfg, model)  # refuses a custom builder the caller did not name
        ens = cls(lambda: model_from_config(cfg, model), len(state["members"]), **kwargs).load_state_dict(state)
        std = standardizer_from_state(obj.get("standardizer"))
    except CheckpointError as e:
        raise CheckpointError(tr("cannot load {0!r}: {1}", str(file), e)) from None
    except (KeyError, TypeError, ValueError, AttributeError, KisonetError) as e:
        what = tr("no {0!r} entry", e.args[0]) if isinstance(e, KeyError) else str(e)
        raise CheckpointError(tr("cannot load {0!r}: {1}", str(file), what)) from None
    return ens, cfg, std


def _rebuild_autoencoder(obj: Any, file: Path) -> tuple[Any, dict[str, Any], Any]:
    from .errors import KisonetError
    from .nn import Autoencoder

    try:
        c = dict(obj["config"])
        shape = tuple(int(d) for d in obj["input_shape"])
        head, _, tail = str(c["encoder"]).partition(":")
        sizes = [int(t) for t in tail.split(",") if t]
        act, output = str(c.get("activation", "relu")), str(obj.get("output", "sigmoid"))
        if head == "mlp":
            net = Autoencoder.mlp(shape, sizes, int(c["code"]), act, output, tied=bool(c.get("tied", False)))
        elif head == "conv":
            net = Autoencoder.conv(shape, sizes, int(c["code"]) or None, act, output)
        else:
            raise KisonetValueError(tr("unknown encoder {0!r}", c["encoder"]))
        net.load_state_dict(obj["model"])
        std = standardizer_from_state(obj.get("standardizer"))
    except (KeyError, TypeError, ValueError, AttributeError, KisonetError) as e:
        what = tr("no {0!r} entry", e.args[0]) if isinstance(e, KeyError) else str(e)
        raise CheckpointError(tr("cannot load {0!r}: {1}", str(file), what)) from None
    cfg = {**c, "input_shape": list(shape), "task": "reconstruction"}
    return net.eval(), cfg, std


def check_resume(run_dir: str | os.PathLike, saved: Mapping[str, Any] | None, config: Mapping[str, Any]) -> None:
    """Refuse to resume when the folder's options (``config``, from config.json) differ from
    those the checkpoint was written with (``saved``: the checkpoint's ``run`` entry),
    naming the keys.  A checkpoint written before kisonet recorded its options passes."""
    if not saved:
        return
    options = saved.get("options") if isinstance(saved, Mapping) else None
    if not isinstance(options, Mapping):
        raise RunFolderError(tr("--resume: the checkpoint in {0!r} has a malformed options record", str(run_dir)))
    if saved.get("options_digest") != options_digest(options):
        raise RunFolderError(
            tr("--resume: the checkpoint in {0!r} has an options record that fails its digest", str(run_dir))
        )
    keys = changed_options(options, config)
    if keys:
        now = run_options(config)
        shown = ", ".join(f"{k}: {options.get(k)!r} -> {now.get(k)!r}" for k in keys[:6])
        more = f" (and {len(keys) - 6} more)" if len(keys) > 6 else ""
        raise RunFolderError(
            tr(
                (
                    "--resume: {0} in {1!r} changed since its checkpoint was written ({2}{3}); "
                    "restore those values to resume, or start a new run with another --out"
                ),
                CONFIG,
                str(run_dir),
                shown,
                more,
            )
        )
