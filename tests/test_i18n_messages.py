"""Every error and warning kisonet raises is a translatable template (``kisonet.i18n.tr``).

Checked from the source alone (``ast``): the codemod in tools/i18n_codemod.py finds nothing left
to convert, and each message held in a variable is on a short list of messages composed from
translated pieces.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "kisonet"


def codemod():
    spec = importlib.util.spec_from_file_location("i18n_codemod", REPO / "tools" / "i18n_codemod.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["i18n_codemod"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


#: Messages passed on as an expression, with why they need no template of their own:
#: (file, the start of the expression).
COMPOSED = {
    ("cli/__init__.py", "argparse_message("): "argparse's own message, translated by the CLI",
    ("cli/__init__.py", "_unrecognized("): "built by tr() in _unrecognized",
    ("cli/augment.py", "f'--dataset {name}: {e}'"): "option name + a translated library error",
    ("cli/evaluate.py", "f'--dataset {key}: {e}'"): "option name + a translated library error",
    ("runner.py", "f'--dataset {key}: {e}'"): "option name + a translated library error",
    ("cli/experiment.py", "str(e)"): "a translated library error on one line",
    ("cli/train.py", "msg if msg.startswith('--resume')"): "option name + a translated library error",
    ("runner.py", "msg if msg.startswith('--resume')"): "option name + a translated library error",
    ("dashboard/__init__.py", "name"): "AttributeError of a module's __getattr__ (Python's protocol)",
    ("registry.py", "name"): "KeyError(name) of a Mapping (Python's protocol)",
    ("distributed/comm.py", "message.splitlines()"): "a worker's translated error, first line",
    ("runner.py", "m.replace('kisonet:'"): "the interrupt handler's translated notice",
    ("compress/report.py", "msg if msg.startswith(('cannot load', lead))"): "a translated error, or lead: it",
}


def test_no_message_is_left_untranslatable():
    cm = codemod()
    left, composed = [], []
    for path in sorted(SRC.rglob("*.py")):
        if path.name in cm.SKIP_FILES:
            continue
        res = cm.scan(path, path.read_text(encoding="utf-8"))
        rel = path.relative_to(SRC).as_posix()
        left += [f"{rel}:{path.read_text(encoding='utf-8').count(chr(10), 0, e.start) + 1}" for e in res.edits]
        for f in res.skipped:
            expr = f.reason.removeprefix("message is an expression: ")
            if f.reason.startswith("message is an expression") and any(
                rel == file and expr.startswith(start) for file, start in COMPOSED
            ):
                continue
            composed.append(f"{rel}:{f.line}: {f.reason}")
    assert not left, f"messages not written with tr() (run `python tools/i18n_codemod.py`): {left}"
    assert not composed, "messages the codemod cannot convert; write them with tr() by hand:\n" + "\n".join(composed)


def _fields(template: str) -> set[tuple[str, str, str]]:
    """The placeholders of a str.format template: {(field, conversion, format spec)}."""
    import string

    return {(f, conv or "", spec or "") for _, f, spec, conv in string.Formatter().parse(template) if f is not None}


def test_every_template_has_a_japanese_translation_with_the_same_placeholders():
    from kisonet import i18n

    cm = codemod()
    found = cm.templates()
    assert len(found) > 800
    for po in i18n.catalogs():
        catalog = i18n.read_po(po)
        missing = [f"{m!r} ({found[m][0]})" for m in found if m not in catalog]
        assert not missing, f"{po.parent.parent.name}: no translation (python tools/i18n_codemod.py --extract):\n" + (
            "\n".join(missing)
        )
        wrong = [f"{m!r} -> {catalog[m]!r}" for m in found if _fields(m) != _fields(catalog[m])]
        assert not wrong, "translations whose placeholders differ from their template:\n" + "\n".join(wrong)
        for m in found:  # every translation formats with the arguments of its template
            names = {f for f, _, _ in _fields(m)}
            n = max((int(f) for f in names if f.isdigit()), default=-1) + 1
            catalog[m].format(*[0] * n, **{f: 0 for f in names if not f.isdigit()})
