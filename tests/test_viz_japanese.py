"""Japanese text in figures: every glyph drawn, none missing (a missing glyph is a warning)."""

from __future__ import annotations

import warnings

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import kisonet as kn

SAMPLES = [
    "過学習と正則化",
    "勾配消失・誤差逆伝播・バッチ正規化",
    "学習率 η = 0.01、重み減衰 λ",
    "エポック数 → 訓練誤差 / テスト誤差（％）",
    "ドロップアウト率 p、早期終了、データ拡張、半教師あり学習",
    "−1.5 ≤ x ≤ 2²",
]


def _draw(texts: list[str]) -> None:
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([-1, 0, 1], [-1, 0, 1], label=texts[0])
    ax.set_title(" ".join(texts[1:3]))
    ax.set_xlabel(texts[-1])
    ax.set_ylabel(texts[3])
    ax.legend()
    for i, t in enumerate(texts):
        ax.text(0, i * 0.1, t)
    fig.canvas.draw()


@pytest.fixture
def rc():
    with matplotlib.rc_context():
        yield


def test_without_a_japanese_font_glyphs_go_missing(rc):
    """The check below is real: matplotlib's default font lacks kana and kanji and says so."""
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
    with pytest.warns(UserWarning, match="missing from font"):
        _draw(SAMPLES)


def test_use_japanese_font_draws_every_glyph(rc):
    name = kn.viz.use_japanese_font()
    assert name and kn.viz.use_japanese_font() == name  # calling twice changes nothing
    assert matplotlib.rcParams["font.family"][0] == "DejaVu Sans"  # Latin text looks as before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _draw(SAMPLES)


def test_every_japanese_term_of_the_docs_draws(rc):
    """The glossary's terms and the notebooks' Japanese strings: every glyph in the font."""
    import json
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    text = (repo / "docs" / "ja" / "glossary.md").read_text(encoding="utf-8")
    for nb in sorted((repo / "notebooks").glob("*.ipynb")):
        text += "".join("".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"])
    chars = sorted(set("".join(re.findall(r"[^\x00-\x7f]+", text))))
    assert len(chars) > 300
    strings = ["".join(chars[i : i + 40]) for i in range(0, len(chars), 40)]  # every character once
    kn.viz.use_japanese_font()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = Figure(figsize=(8, 8))
        FigureCanvasAgg(fig)
        for k, line in enumerate(strings):
            fig.text(0, 1 - k / len(strings), line, fontsize=6)
        fig.canvas.draw()
