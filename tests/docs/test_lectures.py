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
                    if e["option"]:
                        assert e["option"] in page  # the option for the notes' form


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
