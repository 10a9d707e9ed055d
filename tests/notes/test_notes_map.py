"""The notes map: every entry's kisonet call equals its plain-NumPy reference of the printed
formula, every pointer (code, tests, experiments, seed file, section heading) is real, and the
generated docs are in sync with ``src/kisonet/notes/notes_map.toml``."""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path

import pytest

import kisonet.notes as notes
from kisonet.cli import COMMANDS
from kisonet.errors import KisonetValueError
from kisonet.experiments import EXPERIMENTS
from kisonet.notes.core import ALWAYS_PROSE, PROSE, has_english_prose, parse_map

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
MAP = notes.load_map()
IDS = [e.id for e in MAP]
CLI_SOURCE = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "kisonet" / "cli").glob("*.py"))


@pytest.mark.parametrize("entry_id", IDS)
def test_call_equals_reference(entry_id):
    rows = notes.check_entry(MAP[entry_id])
    assert len(rows) == len(MAP[entry_id].steps)


def test_whole_map_runs_fast():
    start = time.process_time()  # CPU time: the shared machine's load does not make it flaky
    for e in MAP:
        notes.run_entry(e)
    assert time.process_time() - start < 10, "the whole map must check well within the 30 s budget of CI"


@pytest.mark.parametrize("entry_id", IDS)
def test_reference_is_plain_numpy(entry_id):
    e = MAP[entry_id]
    for code in (e.reference, e.printed, e.setup):
        assert not re.search(r"\bkn\b|\bkisonet\b|\bF\.|optimizer_steps|lr_schedule", code), code


@pytest.mark.parametrize("entry_id", IDS)
def test_pointers_are_real(entry_id):
    e = MAP[entry_id]
    module, _, attr = e.code.rpartition(".")
    obj = None
    while module:  # kisonet.optim.sgd.Momentum or kisonet.autograd.tensor.Tensor.backward
        try:
            obj = importlib.import_module(module)
            break
        except ModuleNotFoundError:
            module, _, outer = module.rpartition(".")
            attr = f"{outer}.{attr}"
    assert obj is not None, e.code
    for part in attr.split("."):
        obj = getattr(obj, part)
    for s in e.shown_by:
        if s.startswith("kisonet experiment "):
            assert s.split()[2] in EXPERIMENTS, s
        elif s.startswith("tests/"):
            assert (ROOT / s.split("::")[0]).is_file(), s
        else:
            words = s.split()
            assert words[0] == "kisonet" and words[1] in COMMANDS, s
            for flag in re.findall(r"--[a-z][a-z0-9-]*", s):
                assert flag in CLI_SOURCE, f"{e.id}: {s!r} names an unknown option {flag}"
    assert e.id.split(".")[0] == MAP.decks[e.deck].short
    for name, value in vars(e).items():  # a TOML basic string turns "\times" into a tab: use '...'
        assert not any(c in str(value) for c in "\t\b\f\r"), f"{e.id}.{name} has a control character"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the lecture notes are not next to the repository")
@pytest.mark.parametrize("entry_id", IDS)
def test_section_heading_is_printed_in_the_deck(entry_id):
    e = MAP[entry_id]
    text = _plain((SEEDS / MAP.decks[e.deck].file).read_text(encoding="utf-8"))
    for part in e.section.split(" / "):
        assert _plain(part) in text, f"{e.id}: section {part!r} not in {MAP.decks[e.deck].file}"


def _plain(text: str) -> str:
    """The text without Markdown marks, escapes and line breaks (a heading may span two lines)."""
    return " ".join(re.sub(r"[#*■]", " ", text.replace("\\_", "_")).split())


def test_every_deck_has_entries_and_ids_are_unique():
    assert len(set(IDS)) == len(IDS)
    assert {e.deck for e in MAP} == set(MAP.decks)


def test_topics_in_english_and_japanese():
    assert "keio4.momentum" in [e.id for e in MAP.find("momentum")]
    assert "keio4.momentum" in [e.id for e in MAP.find("モーメンタム")]
    assert [e.id for e in MAP.find("keio4.dropout")] == ["keio4.dropout"]
    with pytest.raises(KisonetValueError, match="did you mean 'momentum'"):
        MAP.find("momentun")


def test_docs_are_generated_from_the_map(tmp_path):
    notes.write_docs(tmp_path)
    for name in ("notes-map.md", "notes-map.json", "ja/notes-map.md"):
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        shipped = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert fresh == shipped, f"docs/{name} is stale: python -c \"import kisonet.notes as n; n.write_docs('docs')\""


def _entry(**over):
    base = dict(
        id="keio4.x", deck="000", section="s", kind="formula", title_en="t", title_ja="t", latex="x", api="a",
        code="kisonet.optim.SGD", setup="", call="result = [1, 2, 3]", reference="result = [1, 2, 3]",
    )  # fmt: skip
    base.update(over)
    return base


DECKS = {"000": dict(file="f", short="keio4", title_en="t", title_ja="t")}


@pytest.mark.parametrize(
    "entries,needle",
    [
        ([_entry(kind="figure")], "kind must be one of"),
        ([_entry(), _entry()], "duplicate id"),
        ([_entry(deck="009")], "unknown deck"),
        ([_entry(latexx="y")], "unknown field 'latexx'"),
        ([_entry(reference="")], "missing reference"),
        ([{k: v for k, v in _entry().items() if k != "api"}], "missing api"),
        ([_entry(note_ja="補足")], "note_ja without note"),
        ([_entry(steps=["a", "b", "c"], steps_ja=["一", "二"])], "steps_ja has 2 labels, steps has 3"),
    ],
)
def test_malformed_map_is_refused_with_one_line(entries, needle):
    with pytest.raises(KisonetValueError, match=needle):
        parse_map({"decks": DECKS, "entry": entries})


def test_a_wrong_call_is_caught():
    m = parse_map({"decks": DECKS, "entry": [_entry(call="result = [1, 2, 4]")]})
    with pytest.raises(AssertionError, match="step 3"):
        notes.check_entry(m["keio4.x"])


@pytest.mark.parametrize("entry_id", IDS)
def test_japanese_prose_wherever_there_is_english(entry_id):
    e = MAP[entry_id]
    assert not e.untranslated(), f"{e.id}: add {', '.join(f + '_ja' for f in e.untranslated())}"
    for field in PROSE:
        ja = getattr(e, f"{field}_ja")
        if ja:
            texts = ja if isinstance(ja, tuple) else (ja,)
            # a translation of prose is Japanese (formulas and labels such as 'w(1)' stay as they are)
            japanese = any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in texts)
            assert japanese or not has_english_prose(getattr(e, field)), (e.id, field, ja)


def test_english_prose_is_recognised():
    assert has_english_prose("reduction='mean' (divides by N, PyTorch's default)")
    assert has_english_prose(("w(1)", "after B(2)"))
    assert has_english_prose("E(w) = 0.1 w1^2 from w0 = (-5, -2)")
    for code in (
        "reduction='sum'",
        "w(1)",
        "lambda = 0.1",
        "init='he_uniform' (= kaiming_uniform_(nonlinearity='relu'))",
    ):
        assert not has_english_prose(code), code
    e = MAP["keio4.adam"]
    assert e.text("note", "ja") == e.note_ja != e.note and e.text("note") == e.note
    assert set(ALWAYS_PROSE) <= set(PROSE)
    with pytest.raises(KisonetValueError, match="did you mean 'note'"):
        e.text("notes", "ja")
