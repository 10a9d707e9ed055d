"""The command line's errors in Japanese: the library's own messages (not only the CLI's framing)
reach the user translated, one line, same exit code, the values they name untouched."""

from __future__ import annotations

import re

import numpy as np
import pytest

from kisonet import i18n

from .test_errors import BAD

KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _english_unless_told(monkeypatch):
    for var in ("KISONET_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


#: Needles of test_errors.BAD that are English words (translated); the others are option names,
#: names and values, which a translation keeps as they are.
WORDS = {"finite", "integer", "positive integers", "not found", "not a folder", "expected one argument"}


def kept(needle: str) -> bool:
    return needle not in WORDS and not needle.startswith(("expected", "unknown command", "did you mean"))


@pytest.mark.parametrize("argv,needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_every_bad_argument_is_one_japanese_line(cli, argv, needles):
    code, _, err = cli("--lang", "ja", *argv)
    assert code == 2
    line = one_line(code, err)
    assert line.startswith("kisonet") and "エラー: " in line
    assert KANA_KANJI.search(line.split("エラー: ", 1)[1]), f"not translated: {line}"
    for needle in needles:
        if kept(needle):
            assert needle in line, (needle, line)


def test_library_errors_reach_the_user_in_japanese(digits_run, cli, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    np.save(tmp_path / "ok.npy", np.zeros((3, 64), np.float32))
    (tmp_path / "a-file").write_text("x")
    cases = [
        # input of the wrong shape for the run's model (the library's check of the samples)
        (("predict", digits_run, tmp_path / "bad.npy"), 2, "INPUT: ", "の形状は (3, 5) です"),
        # a file that is not there
        (("predict", digits_run, tmp_path / "missing.npy"), 2, "INPUT: ", "ファイルが見つかりません"),
        # a schedule spec the scheduler's parser refuses
        (("train", "--schedule", "step:0,0.5"), 2, "--schedule: ", "step:EVERY,GAMMA"),
        # a model the registry does not know
        (("train", "--model", "simple_cnnn"), 2, "--model: ", "もしかして 'simple-cnn'"),
        # the run folder refuses: it already holds a run, or --out is a file
        (("train", "--out", digits_run, "--epochs", "1"), 2, "--out: ", "すでに実行があります"),
        (("train", "--out", tmp_path / "a-file", "--epochs", "1"), 2, "--out: ", "ファイルです"),
    ]
    for argv, exit_code, lead, words in cases:
        code, _, err_en = cli(*argv)
        assert code == exit_code, err_en
        english = one_line(code, err_en)
        assert not KANA_KANJI.search(english), f"English by default: {english}"
        code, _, err = cli("--lang", "ja", *argv)
        assert code == exit_code, err
        line = one_line(code, err)
        assert lead in line and words in line, (line, english)
    assert i18n.get_language() == "en"


def test_a_library_error_in_python_follows_the_language():
    import kisonet as kn

    layer = kn.nn.Linear(784, 100)
    x = kn.zeros((2, 10))
    with pytest.raises(kn.ShapeError) as english:
        layer(x)
    i18n.set_language("ja")
    try:
        with pytest.raises(kn.ShapeError) as japanese:
            layer(x)
    finally:
        i18n.set_language(None)
    assert str(english.value) == "Linear(784->100) got input of shape (2, 10) (its last axis must be 784)"
    assert (
        str(japanese.value)
        == "Linear(784->100) に形状 (2, 10) の入力が与えられました（最後の軸は 784 でなければなりません）"
    )
