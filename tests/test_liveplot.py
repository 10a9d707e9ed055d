"""kn.viz.LivePlot (issue 22, items 4-5): learning curves (and a 2-D decision boundary) redrawn as
training goes, headless on Agg or updated in place in Jupyter; `kisonet train` off a terminal."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import AFTER_HISTORY, Callback, LambdaCallback, Trainer
from kisonet.viz import LivePlot


def moons(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X, y


def fit(callbacks, epochs=3, seed=0):
    kn.manual_seed(seed)
    X, y = moons()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    tr = Trainer(model, "cross_entropy", kn.optim.Adam(model.parameters(), lr=0.01), callbacks=callbacks, seed=seed)
    tr.fit(X, y, val=(X[:16], y[:16]), epochs=epochs, batch_size=16)
    return tr


def test_headless_every_epoch_writes_curves_and_boundary(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    X, y = moons()
    live = LivePlot(boundary=(X, y), path=tmp_path / "c.png", boundary_path=tmp_path / "b.svg", max_overhead=None)
    sizes = []

    class Peek(Callback):
        order = AFTER_HISTORY + 1

        def on_epoch_end(self, trainer, epoch, logs):
            sizes.append(((tmp_path / "c.png").stat().st_size, (tmp_path / "b.svg").stat().st_size, live.draws))

    tr = fit([live, Peek()], epochs=3)
    assert [d for _, _, d in sizes] == [1, 2, 3]  # drawn at every epoch end, before later callbacks
    assert all(c > 0 and b > 0 for c, b, _ in sizes)
    curves, boundary = live.figures
    assert type(curves).__name__ == "Figure" and len(curves.axes) == 2  # loss and accuracy
    assert boundary.axes[0].get_title() == "epoch 3"
    assert tr.epoch == 3


def test_a_live_plot_does_not_change_the_run(tmp_path):
    a = fit([], epochs=3)
    b = fit([LivePlot(boundary=moons(), max_overhead=None, display=False)], epochs=3)
    a.history.pop("epoch_seconds")
    b.history.pop("epoch_seconds")
    assert a.history == b.history
    for va, vb in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(va, vb)


def test_by_default_every_epoch_is_drawn():
    live = LivePlot(display=False)  # toy epochs of milliseconds: still one drawing each
    fit([live], epochs=5)
    assert live.draws == 5


def test_drawing_is_held_to_a_share_of_training_time_and_the_last_epoch_is_drawn():
    live = LivePlot(display=False, max_overhead=0.1)  # toy epochs of milliseconds
    tr = fit([live], epochs=12)
    assert 1 <= live.draws <= 3
    assert live._drawn_epoch == tr.epoch == 12


def test_early_stop_draws_the_last_recorded_epoch():
    live = LivePlot(display=False)
    stop = LambdaCallback(on_epoch_end=lambda t, e, logs: setattr(t, "stop_training", e == 1))
    tr = fit([stop, live], epochs=10)
    assert tr.epoch == 2 and live._drawn_epoch == 2


def test_in_jupyter_the_figures_are_shown_once_then_updated(monkeypatch):
    shown, updated = [], []

    class Handle:
        def __init__(self, fig):
            self.fig = fig

        def update(self, fig):
            updated.append(fig)

    def display(fig, display_id=False):
        assert display_id is True
        shown.append(fig)
        return Handle(fig)

    fake = types.ModuleType("IPython.display")
    fake.display = display
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    live = LivePlot(boundary=moons(), display=True, max_overhead=None)
    fit([live], epochs=3)
    assert len(shown) == 2 and len(updated) == 4  # curves and boundary: shown at epoch 1, updated at 2 and 3
    assert all(p._repr_png_().startswith(b"\x89PNG") for p in shown + updated)


NOTEBOOK = """
import sys, types
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # as in a notebook: figures go through pyplot
import numpy as np, kisonet as kn
shown = []
fake = types.ModuleType("IPython.display")
fake.display = lambda fig, display_id=False: shown.append(fig) or types.SimpleNamespace(update=shown.append)
sys.modules["IPython.display"] = fake
X = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.int64)
model = kn.nn.Linear(2, 2)
live = kn.viz.LivePlot(boundary=(X, y), display=True, max_overhead=None)
kn.train.Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1), callbacks=[live],
                 progress=False).fit(X, y, epochs=2, batch_size=16)
print(len(shown), plt.get_fignums())
"""


def test_with_pyplot_no_figure_is_left_for_the_notebook_to_show_twice():
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(kn.__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", NOTEBOOK], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "[]"]


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"boundary": (np.zeros((4, 3)), np.zeros(4))}, kn.ShapeError, r"shape \(n, 2\)"),
        ({"boundary": np.zeros((4, 2))}, kn.KisonetTypeError, r"\(X, y\) pair"),
        ({"max_overhead": 0}, kn.KisonetValueError, "max_overhead"),
    ],
    ids=["3-D inputs", "no labels", "zero overhead"],
)
def test_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        LivePlot(**kw)


def test_live_plot_runs_after_the_history():
    assert LivePlot.order == AFTER_HISTORY


def test_kisonet_train_off_a_terminal_prints_a_line_per_epoch_and_draws_curves_during_the_run(
    tmp_path, capsys, monkeypatch
):
    from kisonet import runs
    from kisonet.cli import main

    monkeypatch.setattr(LivePlot, "_FIRST_DRAW_SECONDS", 0.0)  # draw at the first epoch end
    monkeypatch.setattr(runs, "save_curves", lambda *a, **k: None)  # so the end of the run draws nothing
    d = tmp_path / "run"
    rc = main(["train", "--epochs", "2", "--threads", "1", "--out", str(d)])
    out = capsys.readouterr().out
    assert rc == 0
    lines = [ln for ln in out.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(":")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "train_loss" in lines[0] and "val_accuracy" in lines[0]
    assert (d / "curves.png").stat().st_size > 0  # written by the live plot while training


def _png_pixels(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()  # decodes every row: raises on a truncated file
        return np.asarray(im.convert("RGB"))


def test_the_figures_are_built_once_and_the_repainted_frame_is_the_full_drawing(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    frames = []

    class Peek(Callback):
        order = AFTER_HISTORY + 1

        def on_epoch_end(self, trainer, epoch, logs):
            frames.append(((tmp_path / "c.png").read_bytes(), list(live.figures)))

    live = LivePlot(boundary=moons(), path=tmp_path / "c.png", max_overhead=None)
    fit([live, Peek()], epochs=4)
    assert all(figs[0] is live.figures[0] and figs[1] is live.figures[1] for _, figs in frames)
    assert len({png for png, _ in frames}) == 4  # a new picture every epoch
    curves = live.figures[0]
    painted = _png_pixels(frames[-1][0])
    curves.canvas.draw()  # the whole figure from scratch
    full = np.asarray(curves.canvas.buffer_rgba())[:, :, :3]
    assert painted.shape == full.shape
    # only antialiased edges where a curve meets the axes' spines differ
    assert (np.abs(painted.astype(int) - full).max(axis=2) > 16).mean() < 0.002


def test_kisonet_train_rewrites_a_whole_curves_png_after_every_epoch(tmp_path, capsys, monkeypatch):
    """Off a terminal: after each epoch curves.png shows that epoch; a reader polling the file
    meanwhile only ever reads complete PNGs (written to a temporary file, then renamed)."""
    import hashlib
    import threading

    from kisonet.cli import main

    d = tmp_path / "run"
    seen, reads, bad = [], [0], []
    draw = LivePlot.draw

    def spy(self, trainer):
        out = draw(self, trainer)
        seen.append((trainer.epoch, hashlib.sha1((d / "curves.png").read_bytes()).hexdigest()))
        return out

    monkeypatch.setattr(LivePlot, "draw", spy)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                data = (d / "curves.png").read_bytes()
            except FileNotFoundError:
                continue
            try:
                _png_pixels(data)
                reads[0] += 1
            except Exception as e:  # a torn or truncated image
                bad.append(repr(e))

    reader = threading.Thread(target=poll, daemon=True)
    reader.start()
    try:
        rc = main(["train", "--epochs", "4", "--threads", "1", "--out", str(d)])
    finally:
        stop.set()
        reader.join()
    capsys.readouterr()
    assert rc == 0
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert len({h for _, h in seen}) == 4
    assert bad == [] and reads[0] > 0
    _png_pixels((d / "curves.png").read_bytes())


def test_files_written_by_the_library_are_not_left_open_in_pyplot(tmp_path, capsys):
    """With pyplot imported (a notebook, a script): neither a LivePlot nor `kisonet train`'s
    figures stay in pyplot's registry (pyplot warns past 20 open figures)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kisonet.cli import main

    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit([LivePlot(boundary=moons(), max_overhead=None, display=False)], epochs=2)
        assert main(["train", "--epochs", "1", "--threads", "1", "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert plt.get_fignums() == before


def test_in_japanese_the_live_figures_have_japanese_labels_and_every_glyph():
    import warnings

    import matplotlib

    from kisonet import i18n

    previous = i18n.chosen_language()
    i18n.set_language("ja")
    try:
        with matplotlib.rc_context(), warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph is a warning
            live = LivePlot(boundary=moons(), max_overhead=None, display=False, title="学習曲線")
            fit([live], epochs=2)
    finally:
        i18n.set_language(previous)
    curves, boundary = live.figures
    assert [ax.get_xlabel() for ax in curves.axes] == ["エポック", "エポック"]
    assert [ax.get_ylabel() for ax in curves.axes] == ["損失", "正解率"]
    assert [t.get_text() for t in curves.legends[0].get_texts()] == ["訓練", "検証"]
    assert boundary.axes[0].get_title() == "エポック 2"
