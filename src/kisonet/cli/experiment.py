"""``kisonet experiment NAME``: run one of the lectures' experiments end to end.

    kisonet experiment --list
    kisonet experiment vanishing-gradient --quick
    kisonet experiment optimizers --data-dir /path/to/mnist --out results/optimizers

Each writes PNG figures, ``results.json`` and ``summary.md`` into ``--out``
(default ``runs/experiments/NAME``).  Data: ``mnist-t10k`` when its files are in
``--data-dir`` or ``$KISONET_DATA``, else ``mnist`` when downloaded, else ``digits``.
"""

from __future__ import annotations

import argparse
import sys

from ..lang import tr
from . import options as O  # noqa: N812
from .options import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="experiment to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        default=None,
        help="dataset (default: mnist-t10k if found, else mnist if downloaded, else digits)",
    )
    parser.add_argument(
        "--data-dir",
        dest="data_dir",
        metavar="DIR",
        default=None,
        help="folder holding the MNIST files (default: $KISONET_DATA / the cache)",
    )
    parser.add_argument("--out", metavar="DIR", default=None, help="output folder (default runs/experiments/NAME)")
    parser.add_argument("--seed", metavar="N", default="0", help="random seed (default: 0)")


def format_list() -> str:
    from ..experiments import list_experiments

    items = list_experiments()
    width = max(len(n) for n, _ in items)
    return "\n".join(f"  {n.ljust(width)}  {d}" for n, d in items)


def run(args: argparse.Namespace) -> int:
    from ..errors import DataError, KisonetValueError, closest

    if args.list:
        print("experiments (kisonet experiment NAME [--quick]):")
        print(format_list())
        return 0
    from .. import experiments

    if args.name is None:
        raise UsageError(tr("name an experiment, or use --list; choose from: {0}", ", ".join(experiments.EXPERIMENTS)))
    key = args.name.strip().lower().replace("_", "-")
    if key not in experiments.EXPERIMENTS:
        names = list(experiments.EXPERIMENTS)
        raise UsageError(
            tr("unknown experiment {0!r}{1}; choose from: {2}", args.name, closest(key, names), ", ".join(names))
        )
    seed = O.number(int, low=0)(args.seed, "--seed")
    if args.dataset is not None:
        from ..data import DATASET_NAMES

        ds = args.dataset.strip().lower().replace("_", "-")
        if ds not in DATASET_NAMES:
            raise UsageError(tr("--dataset: unknown dataset {0!r}{1}", args.dataset, closest(ds, list(DATASET_NAMES))))
    try:
        experiments.run_experiment(
            key, quick=args.quick, dataset=args.dataset, data_dir=args.data_dir, out=args.out, seed=seed
        )
    except DataError as e:
        raise UsageError(str(e).replace("\n", " ")) from None
    except KisonetValueError as e:
        if isinstance(e, UsageError):
            raise
        print(tr("{0}: error: {1}", f"kisonet experiment {key}", e), file=sys.stderr)
        return 1
    return 0
