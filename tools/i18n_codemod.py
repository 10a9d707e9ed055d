"""Make kisonet's user-facing messages translatable: f-strings -> ``tr("... {0!r} ...", expr)``.

Rewrites, across ``src/kisonet`` (``ast`` finds the messages; the file is edited by source span,
so everything else keeps its formatting), the message of

* an exception or warning being built: ``SomethingError(msg, ...)``, ``SomethingWarning(msg)``,
  ``SystemExit(msg)`` (anywhere, ``raise`` or not), ``warnings.warn(msg, ...)``;
* the message builders ``validation.fail(where, msg)`` and ``errors.unknown_name(kind, ...)``
  (its ``kind``);

where ``msg`` is a string literal, an f-string, or literals and f-strings joined by ``+``, into
``tr("template", arg0, arg1, ...)`` with numbered placeholders (conversions and format specs kept,
nested specs too: ``{x:.{n}f}`` -> ``{0:.{1}f}``), so the English text is byte-for-byte the
old one. It adds ``from ..lang import tr`` where needed, then runs ``ruff check --fix`` (import
order) and ``ruff format`` on the files it changed.

Left as they are (and listed with ``--report``): ``NotImplementedError`` and ``AssertionError``
(programming errors), a message with no letters in its words (``f"{where}: {msg}"``), and what
cannot be converted safely (a message held in a variable, ``%`` or ``.format`` formatting, a
concatenation with a non-literal): those are converted by hand.

Running it again is safe (already converted messages are ``tr(...)`` calls, not literals): after
a rebase conflicts on raise lines, keep the side whose code you want and re-run the codemod
(``--resolve first FILES`` keeps main's side of each conflict of FILES, then converts them).

``--extract`` collects every ``tr("...")``/``gettext("...")``/``_("...")``/``N_("...")`` literal of src
(and the kinds of ``Registry("...")`` and ``validation.choice(..., "...")``) into the
Japanese catalog (existing entries and translations kept, new msgids appended with an empty
msgstr, to be translated; then ``python -m kisonet.i18n`` compiles it).

Usage::

    python tools/i18n_codemod.py [--check] [--report] [--extract] [--resolve first|second] [files...]
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "kisonet"
PO = SRC / "locale" / "ja" / "LC_MESSAGES" / "kisonet.po"

#: Exceptions that signal a programming error, not something a user did: their messages stay English.
UNTRANSLATED = {"NotImplementedError", "AssertionError"}
#: Modules that define the helper itself.
SKIP_FILES = {"lang.py", "lastwords.py"}  # lastwords runs as a script with no kisonet (python -I -S)
#: Builders whose argument at this index is a message (or part of one); more are found in src by
#: :func:`find_builders` (a function with a ``msg``/``message``/``reason`` parameter that makes an error).
BUILDERS = {"unknown_name": 0, "abort": 1, "_end": 0}
MESSAGE_PARAMS = {"msg", "message", "reason"}
#: Method names of logging (a logger's records are for whoever runs a server, and are %-formatted).
LOGGING = {"debug", "info", "warning", "error", "exception", "critical", "log"}
WARN = {"warn"}


class UnsafeMessageError(Exception):
    """A message the codemod cannot convert safely (the reason is the text)."""


@dataclass
class Found:
    path: Path
    line: int
    reason: str


@dataclass
class Edit:
    start: int  # character offsets in the file's text
    end: int
    text: str


@dataclass
class Result:
    edits: list[Edit] = field(default_factory=list)
    skipped: list[Found] = field(default_factory=list)


def callee(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def message_index(node: ast.Call) -> int | None:
    """Which positional argument of this call is a user-facing message, if any."""
    name = callee(node)
    if name in UNTRANSLATED:
        return None
    if name.endswith(("Error", "Warning", "Exception")) or name in ("SystemExit", "KeyboardInterrupt"):
        return 0
    if name in WARN:
        return 0
    builders = {**find_builders(), **BUILDERS}
    if name in builders:
        return builders[name]
    return None


_builders: dict[str, int] | None = None


def find_builders(src: Path = SRC) -> dict[str, int]:
    """{function name: index of its message parameter} for the functions of src that build an
    error or a warning from a parameter named like a message (``validation.fail(where, msg)``,
    ``serialization._fail(path, reason)``): a literal passed there is a message."""
    global _builders
    if _builders is not None:
        return _builders
    _builders = {}
    for path in sorted(src.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            if params[:1] in (["self"], ["cls"]):
                params = params[1:]
            wanted = [p for p in params if p in MESSAGE_PARAMS]
            if not wanted or fn.name in LOGGING:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and callee(node).endswith(("Error", "Warning")) and node.args:
                    used = {n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name)}
                    if wanted[0] in used:
                        _builders[fn.name] = params.index(wanted[0])
    return _builders


def is_text(node: ast.AST) -> bool:
    """A string literal, an f-string, or such things joined by ``+``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return is_text(node.left) or is_text(node.right)
    return False


class Template:
    """Builds a str.format template and its positional arguments from string nodes."""

    def __init__(self) -> None:
        self.args: list[str] = []

    def index(self, expr: ast.AST) -> int:
        src = ast.unparse(expr)
        if src in self.args and not _has_call(expr):  # the same value twice: one argument
            return self.args.index(src)
        self.args.append(src)
        return len(self.args) - 1

    def part(self, node: ast.AST, in_spec: bool = False) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value.replace("{", "{{").replace("}", "}}")
        if isinstance(node, ast.JoinedStr):
            return "".join(self.part(v, in_spec) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            if in_spec and node.format_spec is not None:
                raise UnsafeMessageError("a format spec nested two levels deep")
            out = "{" + str(self.index(node.value))
            if node.conversion != -1:
                out += "!" + chr(node.conversion)
            if node.format_spec is not None:
                out += ":" + self.part(node.format_spec, in_spec=True)
            return out + "}"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and not in_spec:
            if not (is_text(node.left) and is_text(node.right)):
                raise UnsafeMessageError("a message concatenated with a non-literal (use an f-string)")
            return self.part(node.left) + self.part(node.right)
        raise UnsafeMessageError(f"cannot convert {type(node).__name__}")


def translated(node: ast.AST) -> bool:
    """A message already in the language in force: a ``tr``/``gettext`` call, or a choice
    between such messages (or text with no words)."""
    if isinstance(node, ast.Call):
        return callee(node) in ("tr", "gettext", "_", "unknown_name", "str")  # str(e): a caught error
    if isinstance(node, ast.IfExp):
        return translated(node.body) and translated(node.orelse)
    if isinstance(node, ast.Subscript):  # tr(...)[:200]: a translated message, cut short
        return translated(node.value)
    if isinstance(node, ast.JoinedStr | ast.Constant):
        try:
            t = Template().part(node)
        except UnsafeMessageError:
            return False
        return not has_words(t)
    return False


def _has_call(expr: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(expr))


def has_words(template: str) -> bool:
    """Whether the template has text to translate (letters outside its placeholders)."""
    bare = re.sub(r"\{[^{}]*(\{[^{}]*\}[^{}]*)*\}", "", template.replace("{{", "").replace("}}", ""))
    return bool(re.search(r"[A-Za-z]{2,}", bare))


def literal(text: str) -> str:
    """A Python string literal for ``text``, split into implicit-concatenated pieces when long."""
    if len(text) <= 90:
        return repr(text)
    pieces, rest = [], text
    while len(rest) > 80:
        cut = rest.rfind(" ", 40, 80)
        cut = 80 if cut < 0 else cut + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return " ".join(repr(p) for p in pieces)


def convert(node: ast.AST) -> str | None:
    """The ``tr(...)`` call for a message node; None when it has nothing to translate."""
    t = Template()
    template = t.part(node)
    if not has_words(template):
        return None
    return "tr(" + ", ".join([literal(template), *t.args]) + ")"


class Offsets:
    """ast (line, UTF-8 byte column) -> character offset in the text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def __call__(self, line: int, col: int) -> int:
        raw = self.lines[line - 1].encode("utf-8")[:col]
        return self.starts[line - 1] + len(raw.decode("utf-8"))


def scan(path: Path, text: str) -> Result:
    tree = ast.parse(text, str(path))
    off = Offsets(text)
    res = Result()
    done: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            i = message_index(node)
            if i is None or i >= len(node.args):
                continue
            msg = node.args[i]
            if isinstance(msg, ast.Starred) or id(msg) in done:
                continue
            if not is_text(msg):
                if translated(msg):
                    continue
                if isinstance(msg, (ast.Name, ast.Attribute, ast.Subscript, ast.IfExp, ast.Call, ast.BinOp)):
                    if callee(node) == "unknown_name":
                        continue  # a kind passed on from elsewhere: its home translates it
                    res.skipped.append(Found(path, node.lineno, f"message is an expression: {ast.unparse(msg)[:60]}"))
                continue
            try:
                new = convert(msg)
            except UnsafeMessageError as e:
                res.skipped.append(Found(path, msg.lineno, str(e)))
                continue
            done.add(id(msg))
            if new is None:
                continue
            start = off(msg.lineno, msg.col_offset)
            end = off(msg.end_lineno, msg.end_col_offset)
            res.edits.append(Edit(start, end, new))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str) and has_words(node.left.value):
                pass  # %-formatting is reported only when it is a message (below)
    # a message formatted with % or .format inside an error: report
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and message_index(node) is not None and node.args:
            a = node.args[message_index(node) or 0] if len(node.args) > (message_index(node) or 0) else None
            if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Mod):
                res.skipped.append(Found(path, node.lineno, "%-formatted message"))
            if isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute) and a.func.attr == "format":
                res.skipped.append(Found(path, node.lineno, ".format() message"))
    return res


def import_line(path: Path) -> str:
    rel = path.relative_to(SRC)
    depth = len(rel.parts) - 1
    if rel.name == "errors.py" and depth == 0:
        return "from .lang import tr\n"
    return "from " + "." * (depth + 1) + "lang import tr\n"


def binds_tr(tree: ast.Module) -> bool:
    """Whether the module already has a name ``tr`` of its own (a local variable, say)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "tr" and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.arg) and node.arg == "tr":
            return True
    return False


def imports_tr(tree: ast.Module) -> bool:
    return any(
        isinstance(n, ast.ImportFrom) and any(a.name == "tr" and a.asname is None for a in n.names) for n in tree.body
    )


def add_import(text: str, path: Path) -> str:
    tree = ast.parse(text)
    if imports_tr(tree):
        return text
    body = tree.body
    last = None
    for i, node in enumerate(body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            last = node
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node
            continue
        break
    lines = text.splitlines(keepends=True)
    at = last.end_lineno if last is not None else 0
    lines.insert(at, import_line(path))
    return "".join(lines)


def uses_tr(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "tr" for n in ast.walk(tree))


def rewrite(path: Path, check: bool) -> tuple[int, list[Found]]:
    text = path.read_text(encoding="utf-8")
    res = scan(path, text)
    if not res.edits:
        tree = ast.parse(text)
        if not check and uses_tr(tree) and not imports_tr(tree) and not binds_tr(tree):
            path.write_text(add_import(text, path), encoding="utf-8")  # e.g. a conflict resolved to main's imports
            return 0, [*res.skipped, Found(path, 1, "import of tr added")]
        return 0, res.skipped
    tree = ast.parse(text)
    if binds_tr(tree):
        return 0, [*res.skipped, Found(path, 1, f"module binds a name 'tr' of its own: {len(res.edits)} messages")]
    if check:
        return len(res.edits), res.skipped
    for e in sorted(res.edits, key=lambda e: e.start, reverse=True):
        text = text[: e.start] + e.text + text[e.end :]
    text = add_import(text, path)
    ast.parse(text)  # never write a file that does not parse
    path.write_text(text, encoding="utf-8")
    return len(res.edits), res.skipped


# -- extraction: tr/gettext literals -> the .po ------------------------------------------------


#: Calls whose literal argument at this index is a catalog entry: the message helpers, and the
#: names of families that are translated when a message shows them (``Registry("optimizer")``,
#: ``validation.choice(names, "optimizer")``: their ``kind``).
CATALOGUED = {"tr": 0, "gettext": 0, "_": 0, "N_": 0, "Registry": 0, "choice": 1}


def templates(src: Path = SRC) -> dict[str, list[str]]:
    """{msgid: ["path:line", ...]} of every catalogued literal of src (see :data:`CATALOGUED`)."""
    out: dict[str, list[str]] = {}
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or callee(node) not in CATALOGUED:
                continue
            i = CATALOGUED[callee(node)]
            arg = node.args[i] if len(node.args) > i else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                where = f"{path.relative_to(src.parent).as_posix()}:{node.lineno}"
                out.setdefault(arg.value, []).append(where)
    return out


def po_quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


def extract(po: Path = PO) -> int:
    """Append the msgids of src missing from ``po`` (empty msgstr); returns how many."""
    sys.path.insert(0, str(SRC.parent))
    from kisonet.i18n import read_po

    text = po.read_text(encoding="utf-8")
    have = set(_all_msgids(text))
    found = templates()
    new = [m for m in found if m not in have]
    if not new:
        return 0
    blocks = []
    for m in new:
        refs = " ".join(found[m][:3])
        blocks.append(f'#: {refs}\nmsgid {po_quote(m)}\nmsgstr ""\n')
    po.write_text(text.rstrip("\n") + "\n\n" + "\n".join(blocks), encoding="utf-8")
    read_po(po)  # still readable
    return len(new)


def _all_msgids(text: str) -> list[str]:
    """Every msgid of a .po text, translated or not."""
    out, cur, in_id = [], [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("msgid "):
            cur, in_id = [ast.literal_eval(line[6:])], True
        elif line.startswith('"') and in_id:
            cur.append(ast.literal_eval(line))
        else:
            if in_id:
                out.append("".join(cur))
            in_id = False
    if in_id:
        out.append("".join(cur))
    return out


_CONFLICT = re.compile(
    r"^<<<<<<< [^\n]*\n(?P<first>.*?)(?:^\|\|\|\|\|\|\| [^\n]*\n.*?)?^=======\n(?P<second>.*?)^>>>>>>> [^\n]*\n",
    re.S | re.M,
)


def resolve(path: Path, keep: str) -> int:
    """Replace each git conflict in ``path`` by one side: ``first`` (in a rebase, main's) or
    ``second`` (the commit being replayed). Returns the number of conflicts resolved."""
    text = path.read_text(encoding="utf-8")
    new, n = _CONFLICT.subn(lambda m: m.group(keep), text)
    if n:
        path.write_text(new, encoding="utf-8")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, help="files to convert (default: all of src/kisonet)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if something would change")
    ap.add_argument("--report", action="store_true", help="list the messages left for a hand conversion")
    ap.add_argument("--extract", action="store_true", help="add the new msgids of src to the Japanese .po")
    ap.add_argument(
        "--resolve",
        choices=("first", "second"),
        help="first resolve the git conflicts of the files by keeping one side (in a rebase 'first' is main's, "
        "'second' the commit being replayed): keep the side whose code you want, the codemod then converts "
        "its messages",
    )
    args = ap.parse_args(argv)
    files = [p.resolve() for p in args.files] or sorted(SRC.rglob("*.py"))
    if args.resolve:
        for path in files:
            n = resolve(path, args.resolve)
            if n:
                print(f"{path.relative_to(REPO)}: {n} conflicts resolved to the {args.resolve} side")
    total, skipped, changed = 0, [], []
    for path in files:
        if path.name in SKIP_FILES:
            continue
        n, s = rewrite(path, args.check)
        total += n
        skipped += s
        if n or any(f.reason == "import of tr added" for f in s):
            changed.append(path)
    verb = "would convert" if args.check else "converted"
    print(f"{verb} {total} messages in {len(changed)} files; {len(skipped)} left for a hand conversion")
    if args.report:
        for f in skipped:
            print(f"  {f.path.relative_to(REPO)}:{f.line}: {f.reason}")
    if changed and not args.check:
        paths = [str(p) for p in changed]
        subprocess.run(["ruff", "check", "--fix", "--select", "I,F401", "-q", *paths], cwd=REPO, check=False)
        subprocess.run(["ruff", "format", "-q", *paths], cwd=REPO, check=False)
    if args.extract:
        print(f"{extract()} new msgids added to {PO.relative_to(REPO)}")
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
