"""``kisonet augment --dataset digits --out DIR``: look at an augmentation preset.

Writes ``DIR/grid.png``: the first images of the training set in the top row,
independently augmented copies below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..lang import tr
from . import options as O  # noqa: N812
from .options import UsageError

AUGMENT_OPTIONS = [
    O.Option("dataset", "digits", O.text(allow_none=False), "dataset name", "NAME"),
    O.Option("data-dir", None, O.text(), "folder holding the dataset's files", "DIR"),
    O.Option(
        "augment",
        None,
        O.choice(("digits", "cifar"), "augmentation"),
        "preset (default: cifar for cifar10, else digits)",
        "NAME",
        choices_doc="digits, cifar",
    ),
    O.Option("images", 8, O.number(int, low=1, high=64), "originals per row", "N"),
    O.Option("rows", 3, O.number(int, low=1, high=16), "augmented rows", "N"),
    O.Option("seed", 0, O.number(int, low=0), "random seed", "N"),
    O.Option("out", "augment", O.text(allow_none=False), "output folder (grid.png goes inside)", "DIR"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    O.add_options(parser, AUGMENT_OPTIONS)


def run(args: argparse.Namespace) -> int:
    from .. import data as kd
    from ..errors import DataError, KisonetValueError

    cfg, _ = O.resolve(args, AUGMENT_OPTIONS)
    name = cfg["dataset"].strip().lower().replace("_", "-")
    names = list(kd.DATASET_NAMES)
    if name not in names:
        raise UsageError(
            tr("--dataset: unknown dataset {0!r}{1}; choose from: {2}", name, O.closest(name, names), ", ".join(names))
        )
    preset = cfg["augment"] or ("cifar" if name == "cifar10" else "digits")
    try:
        bundle = kd.load_dataset(name, data_dir=cfg["data-dir"], seed=cfg["seed"])
    except (DataError, KisonetValueError) as e:
        raise UsageError(f"--dataset {name}: {e}".replace("\n", " ")) from None
    if len(bundle.input_shape) < 2:  # rows of features (iris' 4 are not a 2x2 picture)
        raise UsageError(
            tr(
                "--dataset {0}: samples of shape {1} are rows of features, not images; augment "
                "draws image datasets ({2})",
                name,
                tuple(bundle.input_shape),
                ", ".join(n for n in names if len(kd.DATASETS[n].input_shape) >= 2),
            )
        )
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "grid.png"
    kd.transforms.save_augmentation_grid(
        bundle.train[0],
        kd.transforms.preset(preset),
        path,
        n_images=cfg["images"],
        n_augmented=cfg["rows"],
        seed=cfg["seed"],
        title=f"{name}: originals (top), --augment {preset} (below)",
    )
    print(f"wrote {path}")
    return 0
