"""The tiers of docs/architecture.md, enforced from the source alone (ast: nothing is imported).

The table in docs/architecture.md is the one declaration of the tiers; this test reads it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "kisonet"
DOC = REPO / "docs" / "architecture.md"

# Offences that existed when the test was written and are being removed by open work;
# each entry is (importing module, imported module or name). Keep this list empty.
KNOWN: set[tuple[str, str]] = set()


def read_tiers(text: str) -> dict[str, int]:
    """{top-level part: tier} from the '| tier | name | parts |' table."""
    tiers: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|[^|]*\|(.*)\|\s*$", line)
        if not m:
            continue
        for part in re.findall(r"`([\w.]+)`", m.group(2)):
            if part in tiers:
                raise AssertionError(f"docs/architecture.md places `{part}` in two tiers")
            tiers[part] = int(m.group(1))
    return tiers


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, kisonet.x.y
    target: str  # the imported module (or module.name for a from-import of a name)
    name: str | None  # the name taken by a from-import
    line: int


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def read_imports(src: Path) -> tuple[set[str], list[Import]]:
    modules = {module_name(p, src): p for p in src.rglob("*.py")}
    found: list[Import] = []
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(mod, a.name, None, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    found.append(Import(mod, sub if sub in modules else target, a.name, node.lineno))
    return set(modules), [i for i in found if i.target == "kisonet" or i.target.startswith("kisonet.")]


def part(module: str) -> str:
    """The top-level part: kisonet.nn.functional.conv -> nn; kisonet.io -> io."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else ""


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one part (Tarjan, iterative-safe sizes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def offences(src: Path, tiers: dict[str, int], known: set[tuple[str, str]] = frozenset()) -> list[str]:
    modules, imports = read_imports(src)
    found: list[str] = []
    parts = sorted({part(m) for m in modules} - {""})
    for p in parts:
        if p not in tiers:
            found.append(f"`{p}` is in no tier: add it to the tier table of docs/architecture.md")
    edges: dict[str, set[str]] = {}
    for imp in imports:
        a, b = part(imp.module), part(imp.target)
        if a == "" or b == "" or a == b:
            continue  # the package root is the facade; imports inside one part are free
        where = f"{imp.module} (line {imp.line})"
        edges.setdefault(a, set()).add(b)
        if (imp.module, imp.target) in known or (imp.module, f"{imp.target}.{imp.name}") in known:
            continue
        if b == "cli" and a not in ("cli", "__main__"):
            found.append(f"{where} imports the command line ({imp.target}): only cli/ may")
        if imp.name and imp.name.startswith("_") and not imp.name.startswith("__"):
            found.append(f"{where} takes the private name {imp.name} from {imp.target}: make it public")
        if a in tiers and b in tiers and tiers[b] > tiers[a]:
            found.append(f"{where} imports {imp.target}: tier {tiers[a]} ({a}) may not import tier {tiers[b]} ({b})")
    known_edges = {(part(m), part(t)) for m, t in known}
    for comp in cycles({a: {b for b in bs if (a, b) not in known_edges} for a, bs in edges.items()}):
        found.append("cycle between top-level parts: " + " <-> ".join(comp))
    return found


def test_the_tier_table_is_readable_and_complete():
    tiers = read_tiers(DOC.read_text(encoding="utf-8"))
    assert tiers["autograd"] == 1 and tiers["cli"] == 7, tiers
    assert sorted(set(tiers.values())) == list(range(8))


def test_kisonet_keeps_its_layering():
    found = offences(SRC, read_tiers(DOC.read_text(encoding="utf-8")), KNOWN)
    assert not found, "\n".join(found)


# -- the checker itself, on a small package it writes -------------------------------------


def write_pkg(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "kisonet"
    for rel, text in files.items():
        f = pkg / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return pkg


TOY_TIERS = {"errors": 0, "autograd": 1, "nn": 2, "train": 4, "viz": 5, "cli": 7}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"autograd/__init__.py": "from ..nn import Linear\n", "nn/__init__.py": ""}, "tier 1 (autograd) may not"),
        ({"nn/__init__.py": "def f():\n    from ..viz import plot\n", "viz.py": ""}, "tier 2 (nn) may not"),
        ({"viz.py": "from .nn.functional import _helper\n", "nn/functional.py": ""}, "private name _helper"),
        ({"viz.py": "import kisonet.cli.train\n", "cli/train.py": ""}, "imports the command line"),
        ({"train.py": "from . import viz\n", "viz.py": "from . import train\n"}, "cycle between top-level parts"),
        ({"plugins.py": ""}, "`plugins` is in no tier"),
    ],
)
def test_the_checker_finds_each_kind_of_offence(tmp_path, files, expected):
    src = write_pkg(tmp_path, {"__init__.py": "", "errors.py": "", **files})
    found = offences(src, TOY_TIERS)
    assert any(expected in f for f in found), found


def test_the_checker_accepts_downward_and_same_part_imports(tmp_path):
    src = write_pkg(
        tmp_path,
        {
            "__init__.py": "from . import viz\n",  # the facade may import anything
            "errors.py": "",
            "autograd/__init__.py": "from ..errors import E\nfrom ._ops import _private\n",
            "autograd/_ops.py": "",
            "nn/__init__.py": "from ..autograd import Tensor\n",
            "viz.py": "from .nn import Linear\nfrom .train import fit\n",
            "train.py": "",
            "cli/__init__.py": "from ..viz import plot\nfrom .train import _run\n",
            "cli/train.py": "",
        },
    )
    assert offences(src, TOY_TIERS) == []
