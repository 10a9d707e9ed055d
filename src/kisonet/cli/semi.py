"""``kisonet semi``: self-training with a few labels, against the labelled-only baseline.

    kisonet semi                                    # 10% of digits labelled, threshold 0.9
    kisonet semi --labelled 0.05 --threshold 0.95 --rounds 5 --model mlp:64

Keeps ``--labelled`` of the training part labelled (stratified), hides the other
labels, and runs :class:`kisonet.semi.SelfTraining`.  The hidden labels are used
only to report how accurate the pseudo-labels were.  Options are ``kisonet
train``'s plus the ones below.  The run folder holds config.json, metrics.json
(baseline = round 0, final test accuracy), rounds.csv (per round: pseudo-labels
added, their accuracy, test accuracy) and model.npz (the final model, readable by
``kisonet evaluate`` / ``kisonet predict``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from ..lang import tr
from . import options as O  # noqa: N812
from .options import Option

SEMI_OPTIONS: list[Option] = [
    Option(
        "labelled",
        0.1,
        O.number(float, low=0.0, high=1.0, low_open=True, high_open=True),
        "fraction of the training part that keeps its labels",
        "FRAC",
    ),  # fmt: skip
    Option(
        "threshold",
        0.9,
        O.number(float, low=0.0, high=1.0, low_open=True),
        "minimum confidence (max class probability) for a pseudo-label",
        "P",
    ),  # fmt: skip
    Option("rounds", 4, O.number(int, low=0), "pseudo-labelling rounds after the labelled-only round", "N"),
    Option(
        "max-per-round",
        None,
        O.number(int, low=1, allow_none=True),
        "at most this many pseudo-labels per round, most confident first (default: no cap)",
        "N",
    ),  # fmt: skip
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    O.add_options(parser, O.TRAIN_OPTIONS + SEMI_OPTIONS)


def run(args: argparse.Namespace) -> int:
    config, _ = O.resolve(args, O.TRAIN_OPTIONS + SEMI_OPTIONS, getattr(args, "config", None))
    return semi_from_config(config)


def semi_from_config(config: dict[str, Any], echo: Callable[[str], None] | None = None) -> int:
    """Run ``kisonet semi`` for a resolved config; returns the exit code."""
    echo = echo or (lambda s: print(s, flush=True))
    from .ensemble import check_unsupported, setup, write_csv
    from .options import UsageError

    check_unsupported(config, "semi")
    t_start = time.perf_counter()

    from .. import runs
    from ..errors import KisonetValueError, NumericalError
    from ..semi import SelfTraining, labelled_split
    from .train import _model_config

    config, data, run_dir, make_model, kw = setup(config, "semi", classification_only="--dataset")
    X, y = data.train
    lab, unl = labelled_split(y, config["labelled"], seed=int(config["seed"]))
    if len(unl) == 0:
        raise UsageError(tr("--labelled {0}: leaves no unlabelled sample out of {1}", config["labelled"], len(y)))
    st = SelfTraining(
        make_model, config["threshold"], int(config["rounds"]), max_per_round=config["max-per-round"],
        seed=int(config["seed"]), **kw,
    )  # fmt: skip
    echo(
        f"kisonet semi: {config['model']} on {config['dataset']}: {len(lab)} labelled, {len(unl)} unlabelled, "
        f"threshold {config['threshold']:g}, up to {config['rounds']} rounds -> {run_dir}"
    )
    try:
        st.fit(X[lab], y[lab], X[unl], y_unlabeled_true=y[unl], val=data.test)
    except NumericalError as e:
        echo(tr("{0}: error: {1}", "kisonet semi", tr("training stopped by the NaN/Inf guard: {0}", e)))
        return 1
    except KisonetValueError as e:
        echo(tr("{0}: error: {1}", "kisonet semi", e))
        return 1
    rows = [{("test_accuracy" if k == "val_accuracy" else k): v for k, v in r.items()} for r in st.history_]
    write_csv(run_dir / "rounds.csv", rows)
    metrics = {
        "labelled": int(len(lab)),
        "unlabelled": int(len(unl)),
        "baseline_test_accuracy": rows[0]["test_accuracy"],
        "test_accuracy": st.score(*data.test),
        "pseudo_labels": int(len(st.pseudo_labels_)),
        "pseudo_label_accuracy": st.pseudo_accuracy_,
        "train_seconds": st.fit_seconds_,
    }
    runs.write_metrics(run_dir, metrics)
    runs.save_run_model(
        run_dir, st.model_, _model_config(config, data),
        None if data.standardizer is None else data.standardizer.state_dict(),
    )  # fmt: skip
    echo(st.format_history().replace("val_accuracy", "test_accuracy"))
    echo(
        f"labelled only {100 * metrics['baseline_test_accuracy']:.2f}%  ->  self-training "
        f"{100 * metrics['test_accuracy']:.2f}% ({metrics['pseudo_labels']} pseudo-labels, "
        f"{100 * metrics['pseudo_label_accuracy']:.1f}% right)"
    )
    echo(f"time {time.perf_counter() - t_start:.1f} s")
    echo(f"run folder: {run_dir}")
    return 0
