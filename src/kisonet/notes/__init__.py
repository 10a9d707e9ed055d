"""The five lecture notes, formula by formula, mapped to kisonet: ``import kisonet.notes``.

One entry per formula, algorithm and experiment the notes print: the deck (seed file), the
section heading as printed, the formula as printed (LaTeX), the kisonet call, the option that
selects the notes' form where it differs from kisonet's (PyTorch's) default, a plain-NumPy
reference of the printed formula, where the code lives and which test or experiment shows it.
Misprints and disagreements between decks are written into their entries.

The single source of truth is ``notes_map.toml`` in this package (shipped as package data);
``docs/notes-map.md`` and ``docs/notes-map.json`` are generated from it by :func:`write_docs`
(a test checks they are in sync).  From Python::

    import kisonet.notes as notes
    m = notes.load_map()
    [e.id for e in m.find("adam")]          # every deck's Adam
    rows = notes.demonstrate(m["keio4.adam"])  # three steps: kisonet vs the printed formula
    notes.check_entry(m["keio4.adam"])         # raises AssertionError if they disagree

``kisonet notes [TOPIC]`` prints the same from the command line.
"""

from .core import (
    Deck,
    DemoRow,
    Entry,
    NotesMap,
    check_entry,
    demonstrate,
    load_map,
    render_json,
    render_markdown,
    run_entry,
    write_docs,
)

__all__ = [
    "Deck",
    "DemoRow",
    "Entry",
    "NotesMap",
    "check_entry",
    "demonstrate",
    "load_map",
    "render_json",
    "render_markdown",
    "run_entry",
    "write_docs",
]
