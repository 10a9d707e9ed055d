"""``kisonet notes [TOPIC]``: the lecture notes' formulas, where they are in kisonet, shown live.

Without a topic: every entry of the notes map by deck and section.  With a topic (an entry id,
an English or Japanese name: ``adam``, ``過学習``, ``keio4.adam``): for each matching entry the
formula as the deck prints it, kisonet's call, default and the option for the notes' form,
where the code is, misprints, and a three-step demonstration computed now (kisonet next to the
printed formula in plain NumPy).  An unknown topic is one line with the closest name, exit 2.
"""

from __future__ import annotations

import argparse

from .options import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "topic",
        nargs="?",
        metavar="TOPIC",
        help="an entry id, or an English or Japanese name (adam, 過学習, dropout); omit to list them all",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not run the three-step demonstration")


def _titles(ja: bool, en: str, jp: str) -> str:
    return f"{jp} / {en}" if ja else f"{en} / {jp}"


def _list(m) -> None:
    from .. import i18n

    _ = i18n.gettext
    ja = i18n.get_language() == "ja"
    print(_("The lecture notes mapped to kisonet: {n} entries.  `kisonet notes TOPIC` shows one.").format(n=len(m)))
    for key, sections in m.by_deck().items():
        d = m.decks[key]
        print()
        print(f"{key}  {d.title_ja if ja else d.title_en}")
        print(f"     {d.title_en if ja else d.title_ja}  (seeds/{d.file})")
        for section, entries in sections.items():
            print(f"  {section}")
            for e in entries:
                names = ", ".join(t for t in e.topics[:3])
                print(f"    {e.id:<34} {_titles(ja, e.title_en, e.title_ja)}" + (f"  [{names}]" if names else ""))


def _show(m, e, demo: bool) -> None:
    from .. import i18n
    from ..notes.core import demonstrate, format_value

    _ = i18n.gettext
    lang = i18n.get_language()
    ja = lang == "ja"
    d = m.decks[e.deck]
    one = " ".join
    fields = [
        (_("deck:"), f"{e.deck} {d.title_ja if ja else d.title_en} (seeds/{d.file})"),
        (_("section:"), e.section),
        (_("printed:"), one(e.latex.split())),
        (_("kisonet:"), one(e.api.split())),
        (_("default:"), one(e.text("default", lang).split())),
        (_("notes' form:"), one(e.text("option", lang).split()) if e.option else _("the default (nothing to set)")),
        (_("code:"), e.code),
        (_("shown by:"), "; ".join(e.shown_by)),
        (_("also in:"), "; ".join(e.also_in)),
        (_("note:"), one(e.text("note", lang).split())),
        (_("MISPRINT:"), one(e.text("misprint", lang).split())),
    ]
    width = max(i18n.text_width(label) for label, _v in fields)
    print(f"{e.id}: {_titles(ja, e.title_en, e.title_ja)}  {_(f'({e.kind})')}")
    for label, value in fields:
        if value:
            print(f"  {i18n.ljust(label, width)}  {value}")
    if not demo:
        return
    rows = demonstrate(e)
    print(f"  {_('demonstration:')} {e.text('demo', lang)}")
    head = ["", "kisonet", _("printed formula (NumPy)")]
    labels = e.text("steps", lang)
    table = [[label, format_value(r.kisonet), format_value(r.reference)] for label, r in zip(labels, rows, strict=True)]
    if any(r.printed is not None for r in rows):
        head.append(_("exactly as printed (misprint)"))
        for line, r in zip(table, rows, strict=True):
            line.append(format_value(r.printed))
    widths = [max(i18n.text_width(x) for x in col) for col in zip(head, *table, strict=True)]
    for line in (head, *table):
        print("    " + "  |  ".join(i18n.ljust(x, w) for x, w in zip(line, widths, strict=True)).rstrip())


def run(args: argparse.Namespace) -> int:
    from ..errors import KisonetValueError
    from ..notes import load_map

    m = load_map()
    if args.topic is None:
        _list(m)
        return 0
    try:
        entries = m.find(args.topic)
    except KisonetValueError as e:
        raise UsageError(str(e)) from None
    for i, e in enumerate(entries):
        if i:
            print()
        _show(m, e, not args.no_demo)
    return 0
