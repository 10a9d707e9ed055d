"""Plots return Figures, write PNGs, and refuse bad input with kisonet errors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn, viz

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    return path.exists() and path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


def test_plot_history_panels_and_png(tmp_path):
    hist = {
        "train_loss": [1.0, 0.6, 0.4],
        "val_loss": [1.1, 0.8, 0.7],
        "test_loss": [1.2, 0.9, 0.8],
        "train_accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.4, 0.6, 0.7],
        "lr": [0.1, 0.1, 0.05],
    }
    fig = viz.plot_history(hist, metrics=("loss", "accuracy", "lr"), path=tmp_path / "sub" / "curves.png")
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 3
    assert [line.get_label() for line in axes[0].get_lines()] == ["train", "val", "test"]
    np.testing.assert_array_equal(axes[1].get_lines()[1].get_ydata(), hist["val_accuracy"])
    assert is_png(tmp_path / "sub" / "curves.png")
    assert viz.learning_curves is viz.plot_history
    with pytest.raises(kn.KisonetValueError, match="none of the metrics.*train_loss"):
        viz.plot_history(hist, metrics=("f1",))


def test_decision_boundary_from_function_module_and_trainer(tmp_path, rng):
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    fig = viz.decision_boundary(lambda G: (G[:, 0] > 0).astype(int), X, y, resolution=50, path=tmp_path / "db.png")
    assert isinstance(fig, Figure) and is_png(tmp_path / "db.png")
    model = nn.Linear(2, 2)
    tr = kn.train.Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.5), progress=False)
    tr.fit((X.astype(np.float32), y), epochs=5, batch_size=10)
    assert isinstance(viz.decision_boundary(model, X, y, resolution=30), Figure)
    assert isinstance(viz.decision_boundary(tr, X, y, resolution=30), Figure)
    with pytest.raises(kn.ShapeError, match=r"\(n, 2\)"):
        viz.decision_boundary(model, np.zeros((5, 3)), resolution=10)


def test_confusion_matrix_plot(tmp_path, rng):
    y = rng.integers(0, 4, 50)
    pred = np.where(rng.random(50) < 0.8, y, (y + 1) % 4)
    fig = viz.plot_confusion_matrix(y, pred, class_names=list("abcd"), normalize=True, path=tmp_path / "cm.png")
    assert isinstance(fig, Figure) and is_png(tmp_path / "cm.png")
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    assert len(texts) == 16
    cm = kn.train.confusion_matrix(y, pred)
    fig = viz.confusion_matrix(cm)
    assert [t.get_text() for t in fig.get_axes()[0].texts][0] == str(cm[0, 0])
    with pytest.raises(kn.KisonetValueError, match="3 class names for 4 classes"):
        viz.plot_confusion_matrix(cm, class_names=list("abc"))


@pytest.mark.parametrize("shape", [(6, 1, 8, 8), (5, 8, 8), (7, 3, 6, 6)])
def test_image_grid_layouts(tmp_path, rng, shape):
    imgs = rng.random(shape).astype(np.float32)
    labels = rng.integers(0, 3, shape[0])
    fig = viz.image_grid(
        imgs, labels=labels, predictions=labels, nrow=4, class_names=["x", "y", "z"], path=tmp_path / "g.png"
    )
    assert isinstance(fig, Figure) and is_png(tmp_path / "g.png")
    shown = [ax for ax in fig.get_axes() if ax.images]
    assert len(shown) == shape[0]
    assert len(fig.get_axes()) == 4 * int(np.ceil(shape[0] / 4))
    with pytest.raises(kn.ShapeError, match="1 or 3 channels"):
        viz.image_grid(rng.random((2, 2, 4, 4)))


def test_viz_does_not_need_pyplot():
    import sys

    if "matplotlib.pyplot" not in sys.modules:
        fig = viz.plot_history({"train_loss": [1.0, 0.5]}, metrics=("loss",))
        assert "matplotlib.pyplot" not in sys.modules
        assert fig.canvas is not None
