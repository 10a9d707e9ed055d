"""The lecture pages are rendered from the notes map (tools/render_lectures.py) and in sync with it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _renderer():
    spec = importlib.util.spec_from_file_location("render_lectures", REPO / "tools" / "render_lectures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pages_are_in_sync_with_the_notes_map():
    stale = [
        str(p.relative_to(REPO))
        for p, text in _renderer().pages().items()
        if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python tools/render_lectures.py`: out of date: {stale}"


def test_one_page_per_deck_in_each_language_with_every_entry():
    notes_map = json.loads((REPO / "docs" / "notes-map.json").read_text(encoding="utf-8"))
    for deck in notes_map["decks"]:
        for folder in ("docs/lectures", "docs/ja/lectures"):
            page = (REPO / folder / f"{deck['short']}.md").read_text(encoding="utf-8")
            for e in notes_map["entries"]:
                if e["deck"] == deck["key"]:
                    assert f"`{e['id']}`" in page and f"kisonet notes {e['id']}" in page, (folder, e["id"])
                    if e["latex"]:
                        assert e["latex"] in page  # the formula as the notes print it
                    if e["option"]:  # the option for the notes' form, in the page's language
                        assert (e["option_ja"] or e["option"] if "/ja/" in folder else e["option"]) in page


def test_japanese_pages_carry_no_untranslated_entry_prose():
    """Where an entry has Japanese prose, its English text is nowhere on the Japanese pages."""
    notes_map = json.loads((REPO / "docs" / "notes-map.json").read_text(encoding="utf-8"))
    pages = {
        p: p.read_text(encoding="utf-8")
        for p in [*(REPO / "docs" / "ja" / "lectures").glob("*.md"), REPO / "docs" / "ja" / "notes-map.md"]
    }
    for e in notes_map["entries"]:
        for field in ("note", "default", "option", "misprint"):
            if e[field] and e[f"{field}_ja"] and e[f"{field}_ja"] != e[field]:
                english = " ".join(e[field].split())
                found = [p.name for p, text in pages.items() if english in text]
                assert not found, f"{e['id']}.{field} is in English on docs/ja/ {found}"
                page = pages[REPO / "docs" / "ja" / "lectures" / f"{e['id'].split('.')[0]}.md"]
                assert e[f"{field}_ja"] in page, (e["id"], field)


def test_every_deck_has_prose_and_a_notebook_in_both_languages():
    mod = _renderer()
    notes_map, prose = mod.load()
    for deck in notes_map["decks"]:
        for lang in ("en", "ja"):
            text = prose[deck["short"]][lang]
            assert len(text["intro"]) > 200
            assert (REPO / "notebooks" / f"{text['notebook']}.ipynb").exists()


def test_a_changed_map_is_detected(monkeypatch):
    mod = _renderer()
    notes_map, prose = mod.load()
    notes_map["entries"][0] = dict(notes_map["entries"][0], latex="x = 1")
    monkeypatch.setattr(mod, "load", lambda: (notes_map, prose))
    changed = [p for p, text in mod.pages().items() if p.read_text(encoding="utf-8") != text]
    assert len(changed) == 2  # that deck's page, in both languages
