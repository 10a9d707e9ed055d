"""``kisonet notes [TOPIC]``: the list by deck and section, a topic in English or Japanese with
its live demonstration, and one clear line (exit 2) for an unknown topic."""

from __future__ import annotations

import re
import subprocess
import sys

from kisonet import i18n


def test_list_by_deck_and_section(cli):
    code, out, err = cli("notes")
    assert code == 0 and err == ""
    for key in ("000", "001", "002", "003", "004"):
        assert f"\n{key}  " in out
    assert "モーメントム法 (the momentum method)" in out  # a section heading as printed
    assert "keio4.momentum" in out and "nakata.adam" in out


def test_topic_in_english_shows_formula_option_code_and_demo(cli):
    code, out, err = cli("notes", "rmsprop")
    assert code == 0, err
    assert "nakata.rmsprop" in out and "report.rmsprop" in out  # every deck's form
    assert "printed:" in out and "kisonet.optim.adaptive.RMSprop" in out
    assert re.search(r"notes' form: +eps=0\.0", out)
    assert "theta_3" in out and "printed formula (NumPy)" in out


def test_topic_in_japanese(cli):
    code, out, err = cli("notes", "モーメンタム")
    assert code == 0, err
    assert "keio4.momentum" in out and "[-4.9, -1.2]" in out  # the deck's exercise numbers


def test_misprint_is_shown_with_its_numbers(cli):
    code, out, err = cli("notes", "nakata.adam")
    assert code == 0, err
    assert "MISPRINT" in out and "exactly as printed (misprint)" in out


def test_japanese_labels_and_titles(cli):
    previous = i18n.chosen_language()
    i18n.set_language("ja")
    try:
        code, out, err = cli("notes", "keio4.dropout")
    finally:
        i18n.set_language(previous)
    assert code == 0, err
    assert out.startswith("keio4.dropout: ドロップアウト / ") and "資料の式:" in out and "資料の式（NumPy）" in out


def test_no_demo(cli):
    code, out, err = cli("notes", "keio4.dropout", "--no-demo")
    assert code == 0 and "printed formula (NumPy)" not in out and "1/(1-p)" in out


def test_unknown_topic_one_line_with_suggestion(cli):
    code, out, err = cli("notes", "momentun")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did you mean 'momentum'" in err and "Traceback" not in err


def test_help_does_not_load_the_map():
    probe = (
        "import sys\nfrom kisonet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('kisonet.notes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_lang_ja_shows_the_japanese_prose(cli):
    from kisonet.notes import load_map

    e = load_map()["keio4.adam"]
    code, out, err = cli("--lang", "ja", "notes", "keio4.adam")
    assert code == 0, err
    for field in ("note", "default", "demo"):
        assert " ".join(e.text(field, "ja").split()) in out, field
        assert " ".join(getattr(e, field).split()) not in out, field
    assert "補足:" in out and "既定値:" in out and "慶應" in out
    code, out, err = cli("notes", "keio4.adam", "--no-demo")  # English stays the default
    assert code == 0 and " ".join(e.note.split()) in out and e.note_ja not in out
