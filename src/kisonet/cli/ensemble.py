"""``kisonet ensemble``: train an ensemble (bagging, AdaBoost, model averaging) and write a run folder.

    kisonet ensemble                                   # bagging of 5 MLPs on digits
    kisonet ensemble --method adaboost --model mlp:4 --n-models 10 --epochs 8 --boost-lr 0.5
    kisonet ensemble --method averaging --vary both --dataset mnist-t10k --data-dir DIR

Options are ``kisonet train``'s (dataset, model, optimizer, ...; same defaults, same
config file) plus the ensemble's own.  The run folder holds config.json,
metrics.json (ensemble and per-member test accuracy), members.csv (one row per member),
model.npz (every member's weights, ``kn.load``-able, never pickled) and
members.png (member vs ensemble accuracy).

The helpers here (:func:`setup`, :func:`write_csv`, :func:`check_unsupported`) are
shared by ``kisonet semi`` and ``kisonet autoencoder``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import ENSEMBLE_METHODS, EnsembleOptions
from ..lang import N_, tr
from . import options as O  # noqa: N812
from .options import Option, UsageError

METHODS = ENSEMBLE_METHODS
#: ``kisonet ensemble``'s own options: the fields of :class:`kisonet.config.EnsembleOptions`.
ENSEMBLE_OPTIONS: list[Option] = O.options_of(EnsembleOptions)


# --- shared by the three commands -------------------------------------------------------


def check_unsupported(config: dict[str, Any], command: str, names: Sequence[str] = ()) -> None:
    """Train options that this command cannot honour yet: a clear UsageError instead of ignoring them."""
    unsupported = {"schedule": "constant", "augment": "none", "early-stopping": 0}
    for name in names:
        unsupported.pop(name, None)
    for name, default in unsupported.items():
        if name in config and config[name] != default:
            raise UsageError(tr("--{0}: not supported by `kisonet {1}` (leave it at {2})", name, command, default))


def setup(
    config: dict[str, Any], command: str, classification_only: str | None = None
) -> tuple[dict[str, Any], Any, Any, Callable[..., Any], dict[str, Any]]:
    """Seed, threads, data, the run folder (config.json written), a ``make_model()`` from --model
    & co., and Trainer options (optimizer factory, L1): :func:`kisonet.runner.prepare_members`,
    with the resolved options (the command's own included) as a dict."""
    from ..runner import prepare_members

    label = {"ensemble": "member", "semi": "model"}.get(command)
    cfg, data, run_dir, make_model, train_kw = prepare_members(config, classification_only, label, f"kisonet {command}")
    return {**config, **cfg.to_dict()}, data, run_dir, make_model, train_kw


def fit_guarded(
    fit: Callable[[], Any],
    command: str,
    echo: Callable[[str], None],
    stopped: str = N_("training stopped by the NaN/Inf guard: {0}"),
) -> bool:
    """Run ``fit()``; True (the command exits with code 1) when the NaN/Inf guard stopped it (the
    line says ``stopped``, a template of the catalog) or a value was refused, after one line."""
    import numpy as np

    from ..errors import KisonetValueError, NumericalError

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            fit()
    except NumericalError as e:
        echo(tr("{0}: error: {1}", f"kisonet {command}", tr(stopped, e)))
        return True
    except KisonetValueError as e:
        echo(tr("{0}: error: {1}", f"kisonet {command}", e))
        return True
    return False


def write_csv(path: Any, rows: list[dict[str, Any]]) -> None:
    """Rows of dicts as a CSV file (columns in first-seen order), written atomically."""
    from ..io import atomic_write

    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([repr(v) if isinstance(v, float) else ("" if v is None else v) for v in (r.get(c) for c in cols)])
    with atomic_write(path, "w") as f:
        f.write(buf.getvalue())


def load_run_ensemble(run_dir: Any, model: str | None = None) -> tuple[Any, Any]:
    """Rebuild the ensemble of a ``kisonet ensemble`` run folder: ``(ensemble, standardizer or None)``.

    The members are rebuilt from the saved model arguments and get their trained weights;
    apply the standardizer to new inputs before ``ensemble.predict``.
    """
    from .. import runs

    obj = runs.load_model_file(run_dir, runs.ENSEMBLE_KIND, N_("kisonet ensemble run folder"))
    ens, _, std = runs.rebuild_ensemble(obj, Path(run_dir) / runs.MODEL, model)
    return ens, std


# --- the command -------------------------------------------------------------------------


def ensemble_from_config(config: dict[str, Any], echo: Callable[[str], None] | None = None) -> int:
    """Run ``kisonet ensemble`` for a resolved config; returns the exit code."""
    echo = echo or O.say
    check_unsupported(config, "ensemble")
    t_start = time.perf_counter()
    import numpy as np

    from .. import ensemble as E  # noqa: N812
    from .. import runs
    from ..serialization import save
    from ..viz import save_figure
    from .train import _model_config

    method, n = config["method"], int(config["n-models"])
    only = "--method adaboost" if method == "adaboost" else None
    config, data, run_dir, make_model, kw = setup(config, "ensemble", classification_only=only)
    task = "classification" if data.task == "classification" else "regression"
    common = dict(kw, task=task, seed=int(config["seed"]))
    if method == "bagging":
        ens = E.Bagging(make_model, n, max_samples=config["max-samples"], voting=config["voting"], **common)
    elif method == "averaging":
        ens = E.ModelAveraging(make_model, n, vary=config["vary"], voting=config["voting"], **common)
    else:
        ens = E.AdaBoost(make_model, n, learning_rate=config["boost-lr"], **common)
    echo(
        tr(
            "kisonet ensemble: {0} of {1} x {2} on {3} ({4} train, {5} test), {6} epochs each -> {7}",
            method, n, config["model"], config["dataset"], len(data.train[0]), len(data.test[0]),
            config["epochs"], run_dir,
        )
    )  # fmt: skip
    Xtr, ytr = data.train
    extra = {"n_classes": data.n_outputs} if method == "adaboost" else {}
    if fit_guarded(lambda: ens.fit(Xtr, ytr, val=data.val, **extra), "ensemble", echo,
                   N_("a member's training stopped by the NaN/Inf guard: {0}")):  # fmt: skip
        return 1
    key = "accuracy" if task == "classification" else "rmse"
    rows = []
    test_members = ens.member_scores(*data.test)
    train_members = ens.member_scores(Xtr, ytr)
    for i in range(len(ens)):
        row: dict[str, Any] = {"member": i + 1, f"train_{key}": train_members[i], f"test_{key}": test_members[i]}
        if method == "adaboost":
            for h in ("weighted_error", "alpha", "train_error", "val_error"):
                if h in ens.history_:
                    row[h if h != "train_error" else "ensemble_train_error"] = ens.history_[h][i]
        elif method == "bagging":
            row["oob_samples"] = int(len(ens.oob_indices_[i]))
        rows.append(row)
    write_csv(run_dir / "members.csv", rows)
    metrics: dict[str, Any] = {
        "method": method,
        "n_members": len(ens),
        f"train_{key}": ens.score(Xtr, ytr),
        f"test_{key}": ens.score(*data.test),
        f"test_member_{key}": test_members,
        f"test_mean_member_{key}": float(np.mean(test_members)),
        "train_seconds": ens.fit_seconds_,
    }
    if data.val is not None:
        metrics[f"val_{key}"] = ens.score(*data.val)
    runs.write_metrics(run_dir, metrics)
    model_config = runs.jsonable({**_model_config(config, data), "task": task})
    std_state = None if data.standardizer is None else data.standardizer.state_dict()
    save(
        {
            "ensemble": ens.state_dict(),
            "model_config": model_config,
            "standardizer": std_state,
            "input_range": data.input_range,
        },
        run_dir / runs.MODEL,
        kind="kisonet-ensemble",
    )
    try:
        fig = _members_figure(test_members, metrics[f"test_{key}"], key, method)
        save_figure(fig, run_dir / "members.png", close=True)
    except ImportError as e:  # matplotlib missing: the run itself is complete
        echo(tr("{0}: warning: {1}", "kisonet ensemble", tr("no members.png ({0})", e)))
    fmt = (lambda v: f"{100 * v:.2f}%") if key == "accuracy" else (lambda v: f"{v:.4f}")
    echo(f"members  test {key}: " + "  ".join(fmt(v) for v in test_members))
    echo(f"mean member    {fmt(float(np.mean(test_members)))}")
    echo(f"ensemble       {fmt(metrics[f'test_{key}'])}")
    if method == "adaboost":
        echo("ensemble train error by round: " + " ".join(f"{e:.3f}" for e in ens.history_["train_error"]))
    echo(f"time {time.perf_counter() - t_start:.1f} s")
    echo(tr("run folder: {0}", run_dir))
    return 0


add_arguments, run = O.built_on_train(ENSEMBLE_OPTIONS, lambda config: ensemble_from_config(config))


def _members_figure(members: list[float], ensemble: float, key: str, method: str) -> Any:
    from ..viz import new_figure

    fig = new_figure((6, 3.2))
    ax = fig.subplots()
    xs = range(1, len(members) + 1)
    ax.bar(xs, members, color="tab:blue", alpha=0.7, label="member")
    ax.axhline(sum(members) / len(members), color="tab:gray", ls="--", label="mean member")
    ax.axhline(ensemble, color="tab:red", label="ensemble")
    lo = min(min(members), ensemble)
    hi = max(max(members), ensemble)
    pad = max(0.01, 0.2 * (hi - lo))
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("member")
    ax.set_ylabel(f"test {key}")
    ax.set_title(f"{method}: members vs ensemble")
    ax.legend(fontsize=8)
    return fig
