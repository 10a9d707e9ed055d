"""``kisonet datasets``: every dataset name, its size, and whether it works offline now."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from ..data import format_datasets_table

    print(format_datasets_table())
    print("(set KISONET_DATA to move the cache; `kisonet train --data-dir DIR` uses files you already have)")
    return 0
