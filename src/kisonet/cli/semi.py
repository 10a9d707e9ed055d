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

import time
from collections.abc import Callable
from typing import Any

from ..config import SemiOptions
from ..lang import tr
from . import options as O  # noqa: N812
from .options import Option

#: ``kisonet semi``'s own options: the fields of :class:`kisonet.config.SemiOptions`.
SEMI_OPTIONS: list[Option] = O.options_of(SemiOptions)


def semi_from_config(config: dict[str, Any], echo: Callable[[str], None] | None = None) -> int:
    """Run ``kisonet semi`` for a resolved config; returns the exit code."""
    echo = echo or O.say
    from .ensemble import check_unsupported, fit_guarded, setup, write_csv
    from .options import UsageError

    check_unsupported(config, "semi")
    t_start = time.perf_counter()

    from .. import runs
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
        tr(
            "kisonet semi: {0} on {1}: {2} labelled, {3} unlabelled, threshold {4:g}, up to {5} rounds -> {6}",
            config["model"], config["dataset"], len(lab), len(unl), config["threshold"], config["rounds"], run_dir,
        )
    )  # fmt: skip
    if fit_guarded(lambda: st.fit(X[lab], y[lab], X[unl], y_unlabeled_true=y[unl], val=data.test), "semi", echo):
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
        None if data.standardizer is None else data.standardizer.state_dict(), data_range=data.input_range,
    )  # fmt: skip
    echo(st.format_history().replace("val_accuracy", "test_accuracy"))
    echo(
        f"labelled only {100 * metrics['baseline_test_accuracy']:.2f}%  ->  self-training "
        f"{100 * metrics['test_accuracy']:.2f}% ({metrics['pseudo_labels']} pseudo-labels, "
        f"{100 * metrics['pseudo_label_accuracy']:.1f}% right)"
    )
    echo(f"time {time.perf_counter() - t_start:.1f} s")
    echo(tr("run folder: {0}", run_dir))
    return 0


add_arguments, run = O.built_on_train(SEMI_OPTIONS, lambda config: semi_from_config(config))
