"""The notebooks: committed without outputs, one per lecture deck plus "first hour", and each
runs top to bottom on embedded data (no download) within its budget, with no error, no
warning and no missing glyph in its outputs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BUDGET_SECONDS = 120  # per notebook, on 2 cores


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    dirty = [
        i for i, c in enumerate(_cells(path)) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])
    ]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; clear them before committing"


def test_one_notebook_per_deck_and_a_first_hour():
    notes_map = json.loads((REPO / "docs" / "notes-map.json").read_text(encoding="utf-8"))
    names = {p.stem for p in NOTEBOOKS}
    assert "first_hour" in names
    for deck in notes_map["decks"]:
        assert any(n.startswith(deck["short"] + "_") for n in names), f"no notebook for deck {deck['key']}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_headings_in_english_text_in_japanese(path: Path):
    md = [("".join(c["source"])) for c in _cells(path) if c["cell_type"] == "markdown"]
    headings = [line for cell in md for line in cell.splitlines() if line.startswith("#")]
    assert headings and all(re.search(r"[A-Za-z]", h) for h in headings), headings
    assert sum(bool(re.search(r"[\u3040-\u30ff]", cell)) for cell in md) >= len(md) // 2  # kana in the prose


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_links_resolve(path: Path):
    for cell in _cells(path):
        if cell["cell_type"] != "markdown":
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", "".join(cell["source"])):
            if not re.match(r"^[a-z]+:", target):
                assert (path.parent / target.partition("#")[0]).exists(), f"{path.name}: broken link {target}"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernel spec that runs *this* interpreter, so the notebooks see the kisonet under test."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "kisonet tests", "language": "python"})
    )
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND", "PYTHONPATH")}
    os.environ["JUPYTER_PATH"] = str(root)
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend
    src = str(REPO / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join([src] + ([old["PYTHONPATH"]] if old["PYTHONPATH"] else []))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# Run in a child process: nbclient imports ipykernel, and "ipykernel" in sys.modules tells
# kisonet it is inside Jupyter, which would change the output of every later test.
RUNNER = """
import sys, nbformat, nbclient
path, out, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(path, as_version=4)
client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}})
try:
    client.execute()
finally:
    nbformat.write(nb, out)
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, kernel_env, tmp_path):
    import subprocess

    for module in ("nbformat", "nbclient", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    executed = tmp_path / "executed.ipynb"
    start = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(path), str(executed), str(tmp_path), str(BUDGET_SECONDS)],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the runner and its kernel
    kernel_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"{path.name}: {seconds:.1f} s wall, {kernel_cpu:.1f} s CPU")
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stderr[-3000:]}"
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    problems = []
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) if out.get("output_type") == "stream" else ""
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out['ename']}: {out['evalue']}")
            if "missing from font" in text or re.search(r"\w+Warning:", text):
                problems.append(f"cell {i}: {text.strip()[:200]}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)
    assert seconds <= BUDGET_SECONDS, f"{path.name} took {seconds:.0f} s (budget {BUDGET_SECONDS} s)"
    assert "ipykernel" not in sys.modules
