"""Load, run and render the notes map (``notes_map.toml``).

Each entry carries three small programs, run in separate namespaces:

* ``setup``: NumPy only; defines the inputs (arrays, numbers, functions) both sides share;
* ``call``: the kisonet side; sees the setup's names, ``np``, ``kn`` (kisonet), ``F``
  (``kn.nn.functional``), :func:`optimizer_steps` and :func:`lr_schedule`, and sets ``result``;
* ``reference``: the printed formula in plain NumPy; sees the setup's names and ``np`` only
  (no kisonet) and sets ``result``;
* ``printed`` (entries with a misprint, optional): the formula exactly as printed, to show that
  the misprint changes the numbers.

``result`` is a list with one value per demonstration step (``steps``, three by default); the
check compares the call's and the reference's values step by step with ``rtol``/``atol``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import numpy as np

from ..errors import KisonetValueError, closest
from ..lang import tr

KINDS = ("formula", "algorithm", "experiment", "claim")
MAP_FILE = "notes_map.toml"
#: The fields written in English prose; each has a Japanese counterpart ``<field>_ja``.
PROSE = ("note", "default", "option", "misprint", "demo", "steps")
#: Those always written as sentences: each needs its Japanese text; ``option`` and ``steps``
#: need one only when they hold English words besides code (see :func:`has_english_prose`).
ALWAYS_PROSE = ("note", "default", "misprint", "demo")
_REQUIRED = ("id", "deck", "section", "kind", "title_en", "title_ja", "latex", "api", "code", "call")


@dataclass(frozen=True)
class Deck:
    """One lecture deck: ``key`` is the seed file's number (``'000'``)."""

    key: str
    file: str
    short: str
    title_en: str
    title_ja: str


@dataclass(frozen=True)
class Entry:
    """One formula, algorithm, experiment or claim of a deck (see the module docstring)."""

    id: str
    deck: str
    section: str
    kind: str
    title_en: str
    title_ja: str
    latex: str
    api: str
    code: str
    setup: str
    call: str
    reference: str = ""
    printed: str = ""
    topics: tuple[str, ...] = ()
    option: str = ""
    default: str = ""
    shown_by: tuple[str, ...] = ()
    note: str = ""
    misprint: str = ""
    demo: str = ""
    steps: tuple[str, ...] = ("step 1", "step 2", "step 3")
    rtol: float = 1e-6
    atol: float = 1e-9
    also_in: tuple[str, ...] = ()
    note_ja: str = ""
    default_ja: str = ""
    option_ja: str = ""
    misprint_ja: str = ""
    demo_ja: str = ""
    steps_ja: tuple[str, ...] = ()
    order: int = 0

    def text(self, field: str, lang: str = "en") -> Any:
        """A prose field (one of :data:`PROSE`) in ``lang``: the Japanese text under 'ja' where
        the map has one, else the English (a field with no English prose needs no translation)."""
        if field not in PROSE:
            raise KisonetValueError(tr("unknown prose field {0!r}{1}", field, closest(field, PROSE)))
        if lang == "ja" and getattr(self, f"{field}_ja"):
            return getattr(self, f"{field}_ja")
        return getattr(self, field)

    def untranslated(self) -> list[str]:
        """The prose fields with English prose and no Japanese counterpart (empty when done)."""
        return [
            f
            for f in PROSE
            if getattr(self, f)
            and not getattr(self, f"{f}_ja")
            and (f in ALWAYS_PROSE or has_english_prose(getattr(self, f)))
        ]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every normalised name this entry answers to (id, topics, titles)."""
        names = (self.id, *self.topics, self.title_en, self.title_ja)
        return tuple(dict.fromkeys(_norm(n) for n in names if n))


@dataclass(frozen=True)
class DemoRow:
    """One step of a demonstration: kisonet's value next to the printed formula's."""

    label: str
    kisonet: Any
    reference: Any
    printed: Any = None


_CODE = re.compile(r"`[^`]*`|(?<![A-Za-z])'[^']*'|\"[^\"]*\"|--[\w-]+|\b[\w.]+\([^()]*\)")
_WORDS = re.compile(
    r"\b[A-Za-z]{2,}[ ]+[A-Za-z]{2,}\b|\b(?:the|of|from|with|within|by|and|or|is|to|at|on|for|after|before|"
    r"per|each|every|only|not|than|default|defaults|samples?)\b",
    re.IGNORECASE,
)


def has_english_prose(text: str | tuple[str, ...]) -> bool:
    """True when ``text`` (or one of a tuple's strings) has English words outside code (quoted
    strings, backticks, ``--flags``, calls): two words in a row, or a common English word.
    Formulas and code alone (``reduction='sum'``, ``w(1)``, ``lambda = 0.1``) are not prose."""
    if not isinstance(text, str):
        return any(has_english_prose(t) for t in text)
    return bool(_WORDS.search(_CODE.sub(" ", text)))


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


class NotesMap:
    """The decks and entries of ``notes_map.toml``, in deck then print order."""

    def __init__(self, decks: dict[str, Deck], entries: list[Entry]) -> None:
        self.decks = decks
        self.entries = entries
        self._by_id = {e.id: e for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __getitem__(self, entry_id: str) -> Entry:
        if entry_id not in self._by_id:
            raise KisonetValueError(tr("unknown notes entry {0!r}{1}", entry_id, closest(entry_id, self._by_id)))
        return self._by_id[entry_id]

    def topics(self) -> dict[str, list[str]]:
        """``{normalised topic: [entry ids]}`` over ids, topics and titles (English and Japanese)."""
        out: dict[str, list[str]] = {}
        for e in self.entries:
            for k in e.keys:
                out.setdefault(k, []).append(e.id)
        return out

    def find(self, topic: str) -> list[Entry]:
        """The entries a topic names: exact id/topic/title first, else those whose names contain it.

        Raises ``KisonetValueError`` (one line, the closest topic suggested) when nothing matches."""
        key = _norm(topic)
        index = self.topics()
        if key in index:
            return [self._by_id[i] for i in index[key]]
        if len(key) >= 2:
            hits = [e for e in self.entries if any(key in k for k in e.keys)]
            if hits:
                return hits
        raise KisonetValueError(
            tr("unknown notes topic {0!r}{1}; `kisonet notes` lists the topics", topic, closest(key, index))
        )

    def by_deck(self) -> dict[str, dict[str, list[Entry]]]:
        """``{deck key: {section: [entries]}}`` in print order (the guide's pages follow it)."""
        out: dict[str, dict[str, list[Entry]]] = {k: {} for k in self.decks}
        for e in self.entries:
            out[e.deck].setdefault(e.section, []).append(e)
        return out


def _tuple(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    return tuple(v)


def parse_map(data: dict[str, Any], source: str = MAP_FILE) -> NotesMap:
    """Build a :class:`NotesMap` from the parsed TOML, checking every entry's fields."""
    decks = {}
    for key, d in data.get("decks", {}).items():
        decks[key] = Deck(key=key, file=d["file"], short=d["short"], title_en=d["title_en"], title_ja=d["title_ja"])
    entries: list[Entry] = []
    seen: set[str] = set()
    names = {f.name for f in Entry.__dataclass_fields__.values()}
    for i, raw in enumerate(data.get("entry", [])):
        where = f"{source}: entry {i} ({raw.get('id', '?')})"
        missing = [k for k in _REQUIRED if not raw.get(k)]
        if missing:
            raise KisonetValueError(tr("{0}: missing {1}", where, ", ".join(missing)))
        unknown = set(raw) - names
        if unknown:
            bad = sorted(unknown)[0]
            raise KisonetValueError(tr("{0}: unknown field {1!r}{2}", where, bad, closest(bad, names)))
        if raw["id"] in seen:
            raise KisonetValueError(tr("{0}: duplicate id", where))
        if raw["deck"] not in decks:
            raise KisonetValueError(
                tr("{0}: unknown deck {1!r}; choose from: {2}", where, raw["deck"], ", ".join(decks))
            )
        if raw["kind"] not in KINDS:
            raise KisonetValueError(tr("{0}: kind must be one of {1}, got {2!r}", where, ", ".join(KINDS), raw["kind"]))
        if not raw.get("reference"):
            raise KisonetValueError(tr("{0}: missing reference (plain NumPy of the printed formula)", where))
        seen.add(raw["id"])
        fields = dict(raw)
        for field in PROSE[:-1]:  # (steps has a default)
            if raw.get(f"{field}_ja") and not raw.get(field):
                raise KisonetValueError(tr("{0}: {1}_ja without {1}", where, field))
        if "steps_ja" in raw and len(_tuple(raw["steps_ja"])) != len(_tuple(raw.get("steps", Entry.steps))):
            raise KisonetValueError(
                tr(
                    "{0}: steps_ja has {1} labels, steps has {2}",
                    where,
                    len(raw["steps_ja"]),
                    len(raw.get("steps", Entry.steps)),
                )
            )
        for k in ("topics", "shown_by", "steps", "also_in", "steps_ja"):
            if k in fields:
                fields[k] = _tuple(fields[k])
        fields["order"] = i
        entries.append(Entry(**fields))
    order = list(decks)
    entries.sort(key=lambda e: (order.index(e.deck), e.order))
    return NotesMap(decks, entries)


@functools.lru_cache(maxsize=1)
def _load_default() -> NotesMap:
    import tomllib

    text = resources.files(__package__).joinpath(MAP_FILE).read_text(encoding="utf-8")
    return parse_map(tomllib.loads(text))


def load_map(path: str | os.PathLike | None = None) -> NotesMap:
    """The map shipped with kisonet (or the TOML file at ``path``)."""
    if path is None:
        return _load_default()
    import tomllib

    with open(path, "rb") as f:
        return parse_map(tomllib.load(f), source=str(path))


# --------------------------------------------------------------------------------------------
# running an entry


def optimizer_steps(
    make_optimizer: Callable[[list[Any]], Any],
    w0: Any,
    loss: Callable[[Any], Any],
    n: int = 3,
    scheduler: Callable[[Any], Any] | None = None,
) -> list[np.ndarray]:
    """``n`` optimizer steps on ``loss(w)`` from ``w0`` (float64), the parameters after each step.

    The gradient comes from kisonet's ``backward``; ``scheduler(opt)`` (optional) makes a
    learning-rate scheduler stepped after each update."""
    import kisonet as kn

    w = kn.tensor(np.asarray(w0, dtype=np.float64), requires_grad=True, dtype=np.float64)
    opt = make_optimizer([w])
    sched = scheduler(opt) if scheduler is not None else None
    out = []
    for _ in range(n):
        opt.zero_grad()
        loss(w).backward()
        opt.step()
        if sched is not None:
            sched.step()
        out.append(np.array(w.data, dtype=np.float64))
    return out


def lr_schedule(make_scheduler: Callable[[Any], Any], base_lr: float, n: int) -> np.ndarray:
    """The learning rates ``make_scheduler(optimizer)`` gives at steps ``k = 0 .. n-1``."""
    import kisonet as kn

    opt = kn.optim.SGD([kn.tensor(np.zeros(1), requires_grad=True)], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs, dtype=np.float64)


def _run(code: str, namespace: dict[str, Any], what: str, entry: Entry) -> list[Any]:
    try:
        exec(compile(code, f"<notes {entry.id} {what}>", "exec"), namespace)  # noqa: S102 - the shipped map's code
    except Exception as e:
        raise RuntimeError(
            tr("notes entry {0}: the {1} code failed: {2}: {3}", entry.id, what, type(e).__name__, e)
        ) from e
    if "result" not in namespace:
        raise RuntimeError(tr("notes entry {0}: the {1} code sets no `result`", entry.id, what))
    result = list(namespace["result"])
    if len(result) != len(entry.steps):
        raise RuntimeError(
            tr(
                "notes entry {0}: the {1} code gives {2} values for {3} steps",
                entry.id,
                what,
                len(result),
                len(entry.steps),
            )
        )
    return result


def _setup(entry: Entry) -> dict[str, Any]:
    ns: dict[str, Any] = {"np": np}
    try:
        exec(compile(entry.setup, f"<notes {entry.id} setup>", "exec"), ns)  # noqa: S102
    except Exception as e:
        raise RuntimeError(tr("notes entry {0}: the setup code failed: {1}: {2}", entry.id, type(e).__name__, e)) from e
    return {k: v for k, v in ns.items() if k != "__builtins__" and not isinstance(v, types.ModuleType)}


def run_entry(entry: Entry) -> tuple[list[Any], list[Any], list[Any] | None]:
    """Run an entry's kisonet call, its NumPy reference and (if any) its as-printed code.

    Returns ``(kisonet values, reference values, printed values or None)``, one value per step."""
    import kisonet as kn

    shared = _setup(entry)
    kn.manual_seed(0)
    call_ns = {"np": np, "kn": kn, "F": kn.nn.functional}
    call_ns.update(optimizer_steps=optimizer_steps, lr_schedule=lr_schedule)
    call_ns.update(copy.deepcopy(shared))
    got = _run(entry.call, call_ns, "call", entry)
    ref = _run(entry.reference, {"np": np, **copy.deepcopy(shared)}, "reference", entry)
    printed = _run(entry.printed, {"np": np, **copy.deepcopy(shared)}, "printed", entry) if entry.printed else None
    return got, ref, printed


def demonstrate(entry: Entry) -> list[DemoRow]:
    """The entry's steps, computed now: kisonet's value, the reference's, and the misprint's."""
    got, ref, printed = run_entry(entry)
    return [
        DemoRow(label, g, r, None if printed is None else p)
        for label, g, r, p in zip(entry.steps, got, ref, printed or [None] * len(got), strict=True)
    ]


def _as_float(v: Any) -> np.ndarray:
    if hasattr(v, "data") and not isinstance(v, np.ndarray):  # a kisonet Tensor
        v = v.data
    return np.asarray(v, dtype=np.float64)


def close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Same shape and equal to the tolerances (NaN equals NaN)."""
    x, y = _as_float(a), _as_float(b)
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


def check_entry(entry: Entry) -> list[DemoRow]:
    """Assert the kisonet call equals the reference at every step (and a misprint really differs)."""
    rows = demonstrate(entry)
    for row in rows:
        if not close(row.kisonet, row.reference, entry.rtol, entry.atol):
            raise AssertionError(
                f"notes entry {entry.id}, {row.label}: kisonet gives {_as_float(row.kisonet)!r}, "
                f"the printed formula {_as_float(row.reference)!r}"
            )
    if entry.printed and all(close(r.kisonet, r.printed, entry.rtol, entry.atol) for r in rows):
        raise AssertionError(f"notes entry {entry.id}: the as-printed code gives the same numbers as kisonet")
    return rows


def format_value(v: Any, precision: int = 6) -> str:
    """A short one-line rendering of a demonstration value."""
    a = _as_float(v)
    if a.ndim == 0:
        return f"{float(a):.{precision}g}"
    flat = np.array2string(
        a, precision=precision, separator=", ", max_line_width=10_000, threshold=8, edgeitems=3, suppress_small=True
    )
    return re.sub(r"\s+([\],])", r"\1", re.sub(r"\s+", " ", flat))


# --------------------------------------------------------------------------------------------
# rendering (docs/notes-map.md and docs/notes-map.json are generated from the map)


def render_json(m: NotesMap) -> str:
    """The machine-readable copy: decks and entries with every field (code included)."""
    payload = {
        "generated_from": f"src/kisonet/notes/{MAP_FILE}",
        "decks": [asdict(d) for d in m.decks.values()],
        "entries": [asdict(e) for e in m.entries],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


_MD = {
    "en": {
        "title": "# The lecture notes, formula by formula, in kisonet",
        "intro": "{n} entries ({kinds}), every one checked by `tests/notes/test_notes_map.py`: the kisonet call "
        "against a plain-NumPy reference of the printed formula.  `kisonet notes TOPIC` shows an entry with a live "
        "three-step demonstration; `docs/notes-map.json` is the machine-readable copy.",
        "kinds": "{n} {kind}s",
        "sep": ", ",
        "other": "[日本語](ja/notes-map.md)",
        "misprints": "Misprints found in the decks: ",
        "kind": {k: k for k in KINDS},
        "kisonet": "kisonet", "code": "code", "default": "kisonet's default", "option": "the notes' form",
        "shown_by": "shown by", "note": "note", "misprint": "**misprint**", "also_in": "also printed in",
    },
    "ja": {
        "title": "# 講義資料の数式と kisonet の対応表",
        "intro": "{n} 項目（{kinds}）。どの項目も `tests/notes/test_notes_map.py` が、kisonet の呼び出しを印刷された"
        "数式の NumPy による参照実装と照合しています。`kisonet --lang ja notes トピック` で一つの項目を 3 ステップの"
        "計算例つきで表示します。機械可読版は `docs/notes-map.json` です。",
        "kinds": "{kind} {n}",
        "sep": "・",
        "other": "[English](../notes-map.md) · [用語集](glossary.md) · [講義ごとのページ](index.md#講義ごとのページ)",
        "misprints": "講義資料に見つかった誤植：",
        "kind": {"formula": "数式", "algorithm": "アルゴリズム", "claim": "主張", "experiment": "実験"},
        "kisonet": "kisonet", "code": "コード", "default": "kisonet の既定値", "option": "ノートの形",
        "shown_by": "確認", "note": "補足", "misprint": "**誤植**", "also_in": "他の講義資料",
    },
}  # fmt: skip


def render_markdown(m: NotesMap, lang: str = "en") -> str:
    """A readable page: per deck and section, each entry's printed formula, call, option and notes
    (``lang='ja'``: the Japanese page, with the Japanese prose of every entry)."""
    L = _MD[lang]
    kinds = {k: sum(e.kind == k for e in m) for k in KINDS}
    counts = L["sep"].join(L["kinds"].format(n=n, kind=L["kind"][k]) for k, n in kinds.items() if n)
    lines = [
        L["title"],
        "",
        f"<!-- generated from src/kisonet/notes/{MAP_FILE} by kisonet.notes.write_docs('docs'); do not edit -->",
        "",
    ]
    if L["other"]:
        lines += [L["other"], ""]
    lines += [
        L["intro"].format(n=len(m), kinds=counts),
        "",
        L["misprints"] + ", ".join(f"[{e.id}](#{_anchor(e.id)})" for e in m if e.misprint) + ".",
        "",
    ]
    for key, sections in m.by_deck().items():
        d = m.decks[key]
        first, second = (d.title_en, d.title_ja) if lang == "en" else (d.title_ja, d.title_en)
        lines += [f"## {key} {first}", "", f"{second} (`seeds/{d.file}`)", ""]
        for section, entries in sections.items():
            lines += [f"### {section}", ""]
            for e in entries:
                titles = f"**{e.title_en}** / {e.title_ja}" if lang == "en" else f"**{e.title_ja}** / {e.title_en}"
                lines += [f"#### {e.id}", "", f"{titles} ({L['kind'][e.kind]})", ""]
                lines += ["$$", e.latex.strip(), "$$", ""]
                lines.append(f"- {L['kisonet']}: `{_cell(e.api)}` ({L['code']}: `{e.code}`)")
                if e.default:
                    lines.append(f"- {L['default']}: {_cell(e.text('default', lang))}")
                if e.option:
                    option = e.text("option", lang)
                    lines.append(f"- {L['option']}: " + (f"`{_cell(option)}`" if option == e.option else _cell(option)))
                if e.shown_by:
                    lines.append(f"- {L['shown_by']}: " + ", ".join(f"`{s}`" for s in e.shown_by))
                if e.note:
                    lines.append(f"- {L['note']}: {_cell(e.text('note', lang))}")
                if e.misprint:
                    lines.append(f"- {L['misprint']}: {_cell(e.text('misprint', lang))}")
                if e.also_in:
                    lines.append(f"- {L['also_in']}: " + ", ".join(_cell(a) for a in e.also_in))
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _anchor(entry_id: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", entry_id.lower())


def write_docs(folder: str | os.PathLike, m: NotesMap | None = None) -> list[str]:
    """Write ``notes-map.md``, ``notes-map.json`` and the Japanese page ``ja/notes-map.md`` into
    ``folder``; returns the paths."""
    m = load_map() if m is None else m
    paths = []
    for name, text in (
        ("notes-map.md", render_markdown(m)),
        ("notes-map.json", render_json(m)),
        (os.path.join("ja", "notes-map.md"), render_markdown(m, "ja")),
    ):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        paths.append(path)
    return paths
