"""Every page of the docs keeps its promises: links resolve, code blocks run.

- Links: every relative link (and image) of README*.md and docs/**/*.md points at a file that
  exists, and every ``#anchor`` at a heading of the target page (GitHub's slugs).
- Code: every fenced block carries a language. ``python`` blocks of one page run in order in one
  namespace (a page reads like one session), in a temporary folder. ``bash`` blocks: every
  ``kisonet ...`` command (also after ``mpiexec -n N`` or ``python -m``) is parsed by the CLI's
  own argument parser (the fast path: a parse error fails the test, nothing is trained), and every
  ``python path/to/script.py`` names a script of the repository.
- A block may be shrunk to the CI budget by an HTML comment just above it,
  ``<!-- docs-test: replace "epochs=20" "epochs=2" -->`` (single or double quotes; the replaced
  text must occur), or left unrun only with a reason, ``<!-- docs-test: skip because ... -->``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [p for p in REPO.glob("README*.md")] + [p for p in (REPO / "docs").rglob("*.md") if "figures" not in p.parts],
    key=lambda p: str(p),
)
LANGUAGES = {"python", "bash", "text", "toml", "json", "csv", "console", "latex"}
FENCE = re.compile(r"^(?P<indent> {0,3})```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.S | re.M)
REPLACE = re.compile(r"replace\s+([\"'])(.*?)\1\s+([\"'])(.*?)\3")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<what>.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    replacements: list[tuple[str, str]] = field(default_factory=list)
    skip: str | None = None

    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def _rel(p: Path) -> str:
    return str(p.relative_to(REPO))


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        b = Block(page, line, m.group("lang").strip(), m.group("body"))
        d = DIRECTIVE.search(before)
        if d:
            what = d.group("what")
            if what.startswith("skip"):
                b.skip = what
            else:
                b.replacements = [(m.group(2), m.group(4)) for m in re.finditer(REPLACE, what)]
                assert b.replacements, f"{b.where()}: unreadable docs-test directive {what!r}"
        found.append(b)
    return found


def code_outside_fences(text: str) -> str:
    return FENCE.sub("", text)


# ----------------------------------------------------------------------------------- links


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    h = re.sub(r"`|\*\*|\*|__", "", heading.strip())
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)  # a link keeps its text
    h = h.lower()
    kept = []
    for ch in h:
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LNM":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = code_outside_fences(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    out |= set(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    return out


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(page: Path) -> list[str]:
    text = code_outside_fences(page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_links_resolve(page: Path):
    bad = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no such file {dest}")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading with anchor #{anchor} in {_rel(dest)}")
    assert not bad, f"{_rel(page)}: broken links:\n  " + "\n  ".join(bad)


def test_every_page_is_reachable_from_the_readme():
    """README -> docs/index.md -> ... reaches every page of docs/ (and README.ja.md)."""
    seen, todo = set(), [REPO / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        for target in links(page):
            path = target.partition("#")[0]
            if path and not re.match(r"^[a-z]+:", path) and path.endswith(".md"):
                dest = (page.parent / path).resolve()
                if dest.exists():
                    todo.append(dest)
    missing = [_rel(p) for p in PAGES if p.resolve() not in seen]
    assert not missing, f"pages no link leads to: {missing}"


def test_slug_follows_github():
    assert slug("Build, train and plot a model in Python") == "build-train-and-plot-a-model-in-python"
    assert slug("`kisonet train` options") == "kisonet-train-options"
    assert slug("2. 誤差逆伝播 (backprop)") == "2-誤差逆伝播-backprop"


# ------------------------------------------------------------------------------ code blocks


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_code_blocks_name_their_language(page: Path):
    unnamed = [b.where() for b in blocks(page) if b.lang not in LANGUAGES]
    assert not unnamed, f"fenced blocks without a known language ({sorted(LANGUAGES)}): {unnamed}"
    text = code_outside_fences(page.read_text(encoding="utf-8"))
    # an indented block (4 spaces after a blank line, outside lists) would escape this test
    indented = [
        i + 1
        for i, (prev, cur) in enumerate(zip([""] + text.splitlines(), text.splitlines(), strict=False))
        if prev.strip() == "" and cur.startswith("    ") and not re.match(r"\s*([-*+]|\d+\.)\s", cur)
    ]
    assert not indented, f"{_rel(page)}: indented code blocks (use a fenced block with a language): lines {indented}"


def _commands(code: str) -> list[str]:
    """The command lines of a bash block: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.extend(part.strip() for part in re.split(r"&&|;|\|\|", line) if part.strip())
    return out


def _kisonet_argv(cmd: str) -> list[str] | None:
    words = shlex.split(cmd, comments=True)
    while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value prefixes
        words = words[1:]
    if words[:1] == ["mpiexec"]:
        i = 1
        while i < len(words) and words[i].startswith("-"):
            i += 2  # -n 4, -f hosts
        words = words[i:]
    if words[:3] == ["python", "-m", "kisonet"]:
        return words[3:]
    if words[:1] == ["kisonet"]:
        return words[1:]
    return None


def _bash_blocks():
    return [b for p in PAGES for b in blocks(p) if b.lang in ("bash", "console") and not b.skip]


@pytest.mark.parametrize("block", _bash_blocks(), ids=lambda b: b.where())
def test_bash_commands_parse(block: Block):
    from kisonet.cli import build_parser

    parser = build_parser()
    for cmd in _commands(block.code):
        argv = _kisonet_argv(cmd)
        if argv is not None:
            if "..." in argv:  # "kisonet train ... " in prose-like commands: parse up to the ellipsis
                argv = argv[: argv.index("...")]
            if "--help" in argv or "-h" in argv or not argv:
                continue
            try:
                args, rest = parser.parse_known_args(argv)
            except (SystemExit, Exception) as e:  # UsageError or argparse's exit
                pytest.fail(f"{block.where()}: `{cmd}` does not parse: {e}")
            assert not rest, f"{block.where()}: `{cmd}`: unknown arguments {rest}"
            continue
        words = shlex.split(cmd, comments=True)
        while words and (re.match(r"^[A-Z_]+=", words[0]) or words[0] in ("env", "-u") or words[0].isupper()):
            words = words[1:]
        if words[:1] in (["python"], ["python3"]) and len(words) > 1 and words[1].endswith(".py"):
            assert (REPO / words[1]).exists(), f"{block.where()}: `{cmd}`: no script {words[1]}"


def _python_pages():
    return [p for p in PAGES if any(b.lang == "python" for b in blocks(p))]


def _code_only(code: str) -> str:
    """The code without comments and blank lines: what a translated block must keep."""
    lines = [re.sub(r"\s+#.*$|^\s*#.*$", "", line).rstrip() for line in code.splitlines()]
    return "\n".join(line for line in lines if line.strip())


# a Japanese page and the English page it translates: its python blocks are the English
# page's code (comments translated), which runs there
TRANSLATIONS = {REPO / "README.ja.md": REPO / "README.md"} | {
    p: REPO / "docs" / p.name for p in (REPO / "docs" / "ja").glob("*.md") if (REPO / "docs" / p.name).exists()
}


def test_translations_show_the_english_pages_code():
    for ja, en in TRANSLATIONS.items():
        en_lines = {line for b in blocks(en) if b.lang == "python" for line in _code_only(b.code).splitlines()}
        en_lines = {line.strip() for line in en_lines}
        for b in blocks(ja):
            if b.lang == "python":
                missing = [line for line in _code_only(b.code).splitlines() if line.strip() not in en_lines]
                assert not missing, f"{b.where()}: lines not in {_rel(en)}'s code: {missing}"


@pytest.mark.parametrize("page", [p for p in _python_pages() if p not in TRANSLATIONS], ids=_rel)
def test_python_blocks_run(page: Path, tmp_path, monkeypatch):
    """The page's python blocks, in order, in one namespace, in a temporary folder."""
    import kisonet as kn

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    kn.manual_seed(0)
    ns: dict = {"__name__": "__docs__"}
    for b in blocks(page):
        if b.lang != "python" or b.skip:
            continue
        code = b.code
        for old, new in b.replacements:
            assert old in code, f"{b.where()}: replace {old!r}: not in the block"
            code = code.replace(old, new)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, b.where(), "exec"), ns)
        except Exception as e:
            raise AssertionError(f"{b.where()}: the python block fails: {type(e).__name__}: {e}") from e
    import matplotlib.pyplot as plt

    plt.close("all")


def test_skipped_blocks_say_why():
    for p in PAGES:
        for b in blocks(p):
            if b.skip:
                assert re.match(r"skip because \S+", b.skip), f"{b.where()}: a skip names its reason"


@pytest.mark.skipif(os.name != "posix", reason="paths")
def test_docs_use_placeholders_not_this_machines_paths():
    """Data paths are placeholders the reader fills in, never a folder of the machine that wrote the docs."""
    bad = []
    for p in PAGES:
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"/work/|/home/\w|~/mnist|/tmp/\w", line):
                bad.append(f"{_rel(p)}:{i}: {line.strip()[:100]}")
    assert not bad, "machine paths in the docs:\n  " + "\n  ".join(bad)


def test_readme_lists_every_command_and_links_every_page():
    from kisonet.cli import COMMANDS

    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## The commands", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in COMMANDS if f"| `kisonet {c}" not in table]
    assert not missing, f"README's command table lacks {missing}"
    ja = (REPO / "README.ja.md").read_text(encoding="utf-8").split("## コマンド", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in COMMANDS if f"| `kisonet {c}" not in ja]
    assert not missing, f"README.ja.md's command table lacks {missing}"
    linked = {(REPO / t.partition("#")[0]).resolve() for t in links(REPO / "README.md") if t.startswith("docs/")}
    unlinked = [_rel(p) for p in sorted((REPO / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"README links none of {unlinked}"


def test_the_checks_catch_what_they_should(tmp_path):
    """A wrong flag, a missing script, a broken anchor and a bare fence are each caught."""
    from kisonet.cli import UsageError, build_parser

    assert _kisonet_argv("mpiexec -n 4 kisonet train --epochs 2") == ["train", "--epochs", "2"]
    assert _commands("kisonet train \\\n  --lr 0.1  # c\n# only a comment") == ["kisonet train  --lr 0.1  # c"]
    assert build_parser().parse_known_args(["train", "--lrr", "0.1"])[1] == ["--lrr", "0.1"]
    with pytest.raises(UsageError):
        build_parser().parse_known_args(["no-such-command"])
    page = tmp_path / "p.md"
    page.write_text("# A title\n\n[x](#a-title) [y](#nope) [z](missing.md)\n\n```\nkisonet\n```\n", encoding="utf-8")
    assert anchors(page) == {"a-title"} and links(page) == ["#a-title", "#nope", "missing.md"]
    assert [b.lang for b in blocks(page)] == [""]


def test_committed_experiment_summaries_say_what_they_show():
    """Each committed full-run summary.md carries its experiment's "What it shows" text, word for
    word as the experiment's code writes it (its module's LESSON), so a reader of docs/figures sees
    the lesson beside the measured table."""
    import importlib

    from kisonet.experiments import EXPERIMENTS

    root = REPO / "docs" / "figures" / "experiments"
    dirs = sorted(p for p in root.iterdir() if (p / "summary.md").is_file())
    assert dirs
    for d in dirs:
        assert d.name in EXPERIMENTS, d.name
        lesson = importlib.import_module("kisonet.experiments." + d.name.replace("-", "_")).LESSON
        text = (d / "summary.md").read_text(encoding="utf-8")
        assert f"## What it shows\n\n{lesson.shows.strip()}\n" in text, d.name
        assert "(full run" in text, d.name  # committed summaries are full runs
