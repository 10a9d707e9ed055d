"""The glossary (用語集): at least 60 terms, Japanese <-> English <-> kisonet, every kisonet name real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kisonet

REPO = Path(__file__).resolve().parents[2]
GLOSSARY = REPO / "docs" / "ja" / "glossary.md"


def rows() -> list[tuple[str, str, list[str]]]:
    out = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("日本語", "---"):
            out.append((cells[0], cells[1], re.findall(r"`([^`]+)`", cells[2])))
    return out


def _flags() -> set[str]:
    import argparse

    from kisonet.cli import build_parser

    flags: set[str] = set()
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for a in sub._actions:
                    flags.update(a.option_strings)
    return flags


def test_at_least_sixty_terms_each_with_a_kisonet_name():
    terms = rows()
    assert len(terms) >= 60, len(terms)
    for ja, en, names in terms:
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ja) or ja.isascii(), ja
        assert en and names, (ja, en, names)
    assert len({ja for ja, _, _ in terms}) == len(terms), "a term is listed twice"
    for word in ("過学習", "勾配消失", "正則化", "誤差逆伝播法", "バッチ正規化"):
        assert any(word in ja for ja, _, _ in terms), word


@pytest.mark.parametrize("name", sorted({n for _, _, names in rows() for n in names}))
def test_kisonet_name_exists(name: str):
    if name.startswith("kn."):
        obj = kisonet
        for part in name[3:].split("."):
            assert hasattr(obj, part), f"{name}: kisonet has no {part!r} here"
            obj = getattr(obj, part)
    elif name.startswith("--"):
        flag = name.split()[0]
        assert flag in _flags(), f"{name}: no such option of any kisonet command"
    elif name.startswith("kisonet ") and len(name.split()) == 2:
        from kisonet.cli import COMMANDS

        assert name.split()[1] in COMMANDS, f"{name}: no such command"
    elif name.startswith("kisonet "):
        from kisonet.cli import build_parser

        args, rest = build_parser().parse_known_args(name.split()[1:])
        assert not rest, f"{name}: unknown arguments {rest}"
        if args.command == "experiment" and getattr(args, "name", None):
            from kisonet.experiments import EXPERIMENTS

            assert args.name in EXPERIMENTS, name
    else:
        pytest.fail(f"{name}: a kisonet name starts with kn., -- or kisonet")
