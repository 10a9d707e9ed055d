"""Japanese and English: the catalogs, how the language is chosen, the CLI and figures in Japanese."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kisonet as kn
from kisonet import i18n
from kisonet.cli import COMMANDS, build_parser, main

KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _english_unless_told(monkeypatch):
    for var in ("KISONET_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    previous = i18n.chosen_language()
    i18n.set_language(None)
    yield
    i18n.set_language(previous)


def test_every_compiled_catalog_matches_its_source(tmp_path):
    pos = i18n.catalogs()
    assert pos, "no catalogs shipped"
    for po in pos:
        fresh = i18n.compile_catalog(po, tmp_path / "fresh.mo")
        assert fresh.read_bytes() == po.with_suffix(".mo").read_bytes(), f"{po}: run `python -m kisonet.i18n`"
        assert len(i18n.read_po(po)) >= 150


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "en"),
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),  # LC_ALL wins, as in POSIX
        ({"KISONET_LANG": "ja"}, "ja"),
        ({"KISONET_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),  # English under a Japanese locale
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
    ],
)
def test_the_language_comes_from_the_environment(monkeypatch, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert i18n.get_language() == expected
    assert i18n.set_language("ja") == "ja"  # an explicit choice wins over all of it
    assert i18n.set_language(None) == expected


def test_gettext_translates_and_falls_back_to_english():
    assert i18n.gettext("learning rate") == "learning rate"
    i18n.set_language("ja_JP.UTF-8")
    assert i18n.gettext("learning rate") == "学習率"
    assert i18n.gettext("a message nobody translated") == "a message nobody translated"
    i18n.set_language("en")
    with pytest.raises(kn.KisonetValueError, match=r"unknown language 'jp' \(did you mean 'ja'\?\)"):
        i18n.set_language("jp")


def test_help_lines_keep_their_values_and_translate_their_words():
    i18n.set_language("ja")
    line = "learning-rate schedule (constant, step:EVERY,GAMMA, cosine) (default: constant)"
    assert i18n.translate_help(line) == "学習率スケジュール（constant, step:EVERY,GAMMA, cosine）（既定値: constant）"
    assert i18n.translate_help("random seed (default: 0)") == "乱数シード（既定値: 0）"


def test_text_width_counts_wide_characters_twice():
    assert i18n.text_width("loss") == 4 and i18n.text_width("損失") == 4
    assert i18n.ljust("損失", 6) == "損失  " and i18n.rjust("ab", 4) == "  ab"


def _help_lines(parser: argparse.ArgumentParser) -> list[str]:
    parser.format_help()  # translates the parser it shows
    lines = [parser.description or ""]
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            lines.append(action.help)
        if isinstance(action, argparse._SubParsersAction):
            lines += [c.help for c in action._choices_actions]
            for sub in action.choices.values():
                lines += _help_lines(sub)
    return [x for x in lines if x]


def test_every_help_line_of_every_command_is_translated():
    i18n.set_language("ja")
    missing = [h for h in _help_lines(build_parser()) if not KANA_KANJI.search(h)]
    assert not missing, "help lines with no Japanese (add them to the ja catalog):\n" + "\n".join(missing)


def test_cli_help_and_errors_in_japanese(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--lang=ja", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("使い方: kisonet train") and "オプション:" in out and "学習率" in out
    assert main(["--lang", "ja", "train", "--lrr", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "kisonet train: エラー: 不明なオプション '--lrr'（もしかして '--lr'？）"
    assert i18n.get_language() == "en", "--lang must hold for that call only"
    assert main(["train", "--lrr", "0.1"]) == 2
    assert "error: unknown option '--lrr'" in capsys.readouterr().err


def test_wrap_counts_terminal_columns_and_keeps_japanese_marks_in_place():
    import textwrap

    text = "データセットのファイルがあるフォルダ（既定値: キャッシュ、$KISONET_DATA）。英語の words も混ざる。"
    for width in range(8, 60):
        lines = i18n.wrap(text, width)
        assert all(i18n.text_width(ln) <= width for ln in lines), width
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost or added
        assert not any(ln[0] in "、。）" or ln[-1] == "（" for ln in lines), (width, lines)
    english = "the learning rate schedule of the optimizer, one of constant, step and cosine (default: constant)"
    for width in (20, 37, 78):
        assert i18n.wrap(english, width) == textwrap.wrap(english, width)  # English wraps as before
    assert i18n.wrap("https://example.org/a/very/long/address", 10)[0] == "https://ex"  # a word wider than a line


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_japanese_help_fits_80_columns(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["--lang", "ja", command, "--help"])
    out = capsys.readouterr().out
    assert "オプション:" in out
    wide = [(i18n.text_width(ln), ln) for ln in out.splitlines() if i18n.text_width(ln) > 80]
    assert not wide, f"kisonet --lang ja {command} --help: lines wider than 80 columns: {wide}"


def test_a_bad_language_is_one_line_and_exit_2(capsys):
    assert main(["--lang", "klingon", "train"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown language 'klingon'" in err and "choose from: en, ja" in err


def test_kisonet_lang_environment_reaches_the_command_line():
    env = {"KISONET_LANG": "ja", "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-m", "kisonet", "trian"], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "不明なコマンド 'trian'（もしかして 'train'？）。選択肢: train, " in r.stderr


def _draw_without_missing_glyphs(texts: list[str]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2 + 0.12 * len(texts)))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, t in enumerate(texts):
        ax.text(0, i / max(1, len(texts)), t, fontsize=6)
    ax.set_title(texts[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        fig.canvas.draw()


def test_every_japanese_string_of_the_catalogs_renders_with_no_missing_glyph():
    import matplotlib

    # A glyph is missing or not character by character: drawing every distinct character of the
    # catalogs once checks every string (1000+ of them) in one small figure.
    text = "".join("".join(i18n.read_po(po).values()) for po in i18n.catalogs())
    chars = sorted(set(text) - set(" \n\t"))
    assert len(chars) > 500, "the Japanese catalog is missing"
    lines = ["".join(chars[i : i + 50]) for i in range(0, len(chars), 50)]
    with matplotlib.rc_context():
        kn.viz.use_japanese_font()
        _draw_without_missing_glyphs(lines)


def test_figures_speak_japanese(tmp_path):
    import matplotlib

    i18n.set_language("ja")
    history = {"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "train_accuracy": [0.5, 0.8]}
    with matplotlib.rc_context():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = kn.viz.plot_history(history, path=tmp_path / "curves.png")
    texts = {t.get_text() for ax in fig.axes for t in [ax.xaxis.label, ax.yaxis.label]}
    assert {"エポック", "損失", "正解率"} <= texts
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert legend == {"訓練", "検証"}
    assert (tmp_path / "curves.png").stat().st_size > 0
    cm = kn.viz.plot_confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]))
    assert cm.axes[0].get_xlabel() == "予測"


def test_a_training_run_in_japanese_prints_a_japanese_table_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--lang", "ja", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "分割" in table and "正解率" in table and "テスト" in table
    head, rule = table.splitlines()[1:3] if table.splitlines()[0].startswith("kisonet") else table.splitlines()[:2]
    assert i18n.text_width(head) == i18n.text_width(rule), "columns line up with wide characters"
    assert (out / "curves.png").stat().st_size > 0
    lines = table.splitlines()
    assert lines[0].startswith("kisonet train: ") and "データ digits（訓練" in lines[0] and "エポック" in lines[0]
    assert lines[-1] == f"実行フォルダ: {out}"


def test_progress_lines_speak_japanese():
    from kisonet.train.callbacks import format_epoch_line

    i18n.set_language("ja")
    assert format_epoch_line(2, 10, {"train_loss": 0.5}).startswith("エポック 3/10: train_loss 0.5000")
