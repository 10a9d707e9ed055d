"""Plots of training: learning curves, decision boundaries, confusion matrices, image grids.

Every function returns a :class:`matplotlib.figure.Figure` and saves it when
given ``path=``.  Headless-safe: unless ``matplotlib.pyplot`` is already
imported (a notebook, or a script that uses ``plt``), figures are built
without pyplot on the Agg canvas, so no display and no GUI backend is ever
needed and no figure lingers in pyplot's registry.  When pyplot *is* imported,
or in Jupyter, the figures go through it, so they show inline in a notebook and
with ``plt.show()``.  On a headless machine without ``MPLBACKEND`` set, Agg is
selected the first time a function needs pyplot; a notebook's backend is never
touched.

    import kisonet as kn
    hist = trainer.fit(train, val=val, epochs=20)
    kn.viz.plot_history(hist, metrics=("loss", "accuracy"), path="curves.png")
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import KisonetTypeError, KisonetValueError, ShapeError
from .i18n import get_language, gettext, tr
from .i18n import gettext as _
from .validation import check_float, check_int, check_type

__all__ = [
    "plot_history",
    "learning_curves",
    "decision_boundary",
    "plot_confusion_matrix",
    "confusion_matrix",
    "image_grid",
    "new_figure",
    "reconstruction_figure",
    "save_figure",
    "close_figure",
    "use_japanese_font",
    "LivePlot",
]

_SPLIT_STYLE = {"train": ("C0", "-"), "val": ("C1", "--"), "test": ("C2", ":")}


def _headless() -> bool:
    if "ipykernel" in sys.modules or os.environ.get("MPLBACKEND"):
        return False
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def new_figure(figsize: tuple[float, float]):
    """A Figure: through pyplot when the user has imported it, else a standalone Agg figure.
    In Japanese (``--lang ja``, ``KISONET_LANG=ja``, a Japanese locale) the labels are drawn
    with a Japanese font (:func:`use_japanese_font`)."""
    if get_language() == "ja":
        use_japanese_font()
    if "matplotlib.pyplot" in sys.modules or "ipykernel" in sys.modules:
        import matplotlib

        if _headless() and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
            import matplotlib.pyplot as plt

            plt.switch_backend("Agg")
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize)
    return _agg_figure(figsize)


def _agg_figure(figsize: tuple[float, float]) -> Any:
    """A Figure on its own Agg canvas, never in pyplot's registry (Japanese font as new_figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if get_language() == "ja":
        use_japanese_font()
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def close_figure(fig: Any) -> None:
    """Drop pyplot's reference to ``fig`` when it was made through pyplot (a notebook, a script
    that imported it), so a figure that was only written to a file is not kept open (pyplot
    warns past 20) nor shown again at the end of a notebook cell.  Nothing to do otherwise."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close(fig)


def save_figure(fig: Any, path: str | os.PathLike | None, dpi: int = 100, close: bool = False) -> Any:
    """Write ``fig`` to ``path`` (format from the suffix, default png; parent folders created)
    atomically, and return ``fig``; ``path=None`` only returns it.  ``close=True``: a figure
    made only for this file is then released from pyplot (:func:`close_figure`)."""
    if path is not None:
        import io

        # rendered in memory, then written atomically: a crash never leaves half an image
        buf = io.BytesIO()
        fmt = os.path.splitext(os.fspath(path))[1][1:].lower() or "png"
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        _write_atomically(path, buf.getvalue())
    if close:
        close_figure(fig)
    return fig


# --------------------------------------------------------------------------------------


def plot_history(
    history: dict[str, Sequence[float]],
    metrics: Sequence[str] = ("loss", "accuracy"),
    path: str | os.PathLike | None = None,
    title: str | None = None,
    logy: bool = False,
) -> Any:
    """Learning curves: one panel per metric, train vs validation vs test over epochs.

    ``history`` is :attr:`Trainer.history` (keys ``{split}_{metric}``).  Metrics with
    no recorded split are skipped; asking only for absent ones raises, listing the keys.
    """
    check_type("plot_history", "history", history, dict, "a dict of lists")
    if isinstance(metrics, str):
        metrics = (metrics,)
    panels = [(m, [(split, history[key]) for split, key in series]) for m, series in _history_panels(history, metrics)]
    if not panels:
        raise KisonetValueError(
            tr(
                "plot_history: none of the metrics {0} is in the history (keys: {1})",
                list(metrics),
                ", ".join(history) or "none",
            )
        )
    fig = new_figure((4.5 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (m, series) in zip(axes, panels, strict=False):
        for split, values in series:
            v = np.asarray(values, dtype=np.float64)
            epochs = np.arange(1, len(v) + 1)
            color, style = _SPLIT_STYLE.get(split, ("C3", "-"))
            label = _(split or m)
            ax.plot(epochs, v, style, color=color, label=label, marker="o" if len(v) <= 20 else None, ms=3)
        ax.set_xlabel(_("epoch"))
        ax.set_ylabel(_(m))
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(series) > 1 or series[0][0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


learning_curves = plot_history


def _predict_labels(predictor: Any, grid: np.ndarray) -> np.ndarray:
    """Class labels for the grid points from a Trainer, a Module or a function."""
    if hasattr(predictor, "predict") and hasattr(predictor, "model"):  # a Trainer
        return np.asarray(predictor.predict(grid))
    if hasattr(predictor, "parameters") and callable(predictor):  # a Module
        from .autograd import Tensor, no_grad

        was = getattr(predictor, "training", False)
        predictor.eval()
        try:
            with no_grad():
                out = predictor(Tensor(grid.astype(np.float32)))
        finally:
            predictor.train(was)
        out = np.asarray(out.data)
    elif callable(predictor):
        out = predictor(grid)
        out = np.asarray(getattr(out, "data", out))
    else:
        raise KisonetTypeError(
            tr(
                "decision_boundary: expected a Trainer, a Module or predict_fn(X) -> labels/scores, got {0}",
                type(predictor).__name__,
            )
        )
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    if out.ndim == 2:
        out = out[:, 0]
        return (out > 0).astype(np.int64) if out.dtype.kind == "f" and out.min() < 0 else np.rint(out).astype(np.int64)
    return np.rint(out).astype(np.int64) if out.dtype.kind == "f" else out


def decision_boundary(
    predictor: Any,
    X: Any,
    y: Any = None,
    resolution: int = 200,
    padding: float = 0.1,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """The decision regions of a 2-D classifier with the data points on top.

    ``predictor`` is a Trainer, a Module (arg-max of its outputs) or
    ``predict_fn(X) -> labels or scores``.  The plane is sampled on a
    ``resolution`` x ``resolution`` grid covering the data plus ``padding``
    (a fraction of the range), predicted in one batch.
    """
    X = np.asarray(getattr(X, "data", X), dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ShapeError(tr("decision_boundary: X must be (n, 2) for a 2-D classifier, got shape {0}", X.shape))
    resolution = check_int("decision_boundary", "resolution", resolution, low=2)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - padding * span, hi + padding * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    labels = _predict_labels(predictor, grid).reshape(gx.shape)
    classes = np.unique(labels) if y is None else np.union1d(np.unique(labels), np.unique(np.asarray(y)))
    n_cls = int(max(classes.max() + 1, 2))

    fig = None
    if ax is None:
        fig = new_figure((5.0, 4.4))
        ax = fig.add_subplot(1, 1, 1)
    from matplotlib.colors import ListedColormap

    base = [f"C{i % 10}" for i in range(n_cls)]
    cmap = ListedColormap(base)
    levels = np.arange(n_cls + 1) - 0.5
    ax.contourf(gx, gy, labels, levels=levels, cmap=cmap, alpha=0.25)
    ax.contour(gx, gy, labels, levels=levels, colors="k", linewidths=0.6, alpha=0.6)
    if y is not None:
        yv = np.asarray(getattr(y, "data", y)).reshape(-1)
        if yv.shape[0] != X.shape[0]:
            raise ShapeError(tr("decision_boundary: X has {0} points but y has {1}", X.shape[0], yv.shape[0]))
        ax.scatter(X[:, 0], X[:, 1], c=yv, cmap=cmap, vmin=-0.5, vmax=n_cls - 0.5, s=14, edgecolors="k", linewidths=0.3)
    else:
        ax.scatter(X[:, 0], X[:, 1], c="k", s=8)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    fig = fig if fig is not None else ax.figure
    return save_figure(fig, path)


def plot_confusion_matrix(
    y_true_or_cm: Any,
    y_pred: Any = None,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    num_classes: int | None = None,
) -> Any:
    """A confusion-matrix heat map (rows: true class, columns: predicted class).

    Give ``(y_true, y_pred)`` (labels, or scores whose arg-max is taken) or a
    ready matrix as the only argument.  ``normalize=True`` shows each row as
    fractions of its true class (per-class recall on the diagonal).
    """
    from .train.metrics import confusion_matrix as _cm

    if y_pred is None:
        cm = np.asarray(y_true_or_cm)
        if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
            raise ShapeError(tr("plot_confusion_matrix: a matrix must be square, got shape {0}", cm.shape))
    else:
        cm = _cm(y_true_or_cm, y_pred, num_classes)
    k = cm.shape[0]
    if class_names is not None and len(class_names) != k:
        raise KisonetValueError(tr("plot_confusion_matrix: {0} class names for {1} classes", len(class_names), k))
    shown = cm.astype(np.float64)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    size = max(3.5, 0.45 * k + 2.0)
    fig = new_figure((size + 0.8, size))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if max(len(n) for n in names) > 3 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel(_("predicted"))
    ax.set_ylabel(_("true"))
    if k <= 30:
        thresh = shown.max() / 2 if shown.size else 0
        for i in range(k):  # annotation text per cell (k <= 30), not a data loop
            for j in range(k):
                txt = f"{shown[i, j]:.2f}" if normalize else str(int(cm[i, j]))
                ax.text(
                    j, i, txt, ha="center", va="center", fontsize=8, color="white" if shown[i, j] > thresh else "black"
                )
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


confusion_matrix = plot_confusion_matrix


def image_grid(
    images: Any,
    labels: Any = None,
    nrow: int | None = None,
    predictions: Any = None,
    class_names: Sequence[str] | None = None,
    cmap: str = "gray",
    path: str | os.PathLike | None = None,
    title: str | None = None,
    max_images: int = 100,
) -> Any:
    """A grid of images (NCHW with C = 1 or 3, or NHW) with optional labels.

    ``nrow`` is the number of images per row (as torchvision's ``make_grid``),
    ``labels`` are shown above each image, ``predictions`` next to them (red
    when wrong).  Colour images are shown as RGB, scaled to [0, 1] if needed.
    """
    x = np.asarray(getattr(images, "data", images))
    if x.ndim == 4:
        if x.shape[1] not in (1, 3):
            raise ShapeError(tr("image_grid: NCHW images need 1 or 3 channels, got shape {0}", x.shape))
        x = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)
    elif x.ndim != 3:
        raise ShapeError(tr("image_grid: images must be NCHW or NHW, got shape {0}", x.shape))
    n = min(x.shape[0], int(max_images))
    if n == 0:
        raise KisonetValueError(tr("image_grid: no images"))
    x = x[:n].astype(np.float64)
    lab = None if labels is None else np.asarray(getattr(labels, "data", labels)).reshape(-1)[:n]
    pred = None if predictions is None else np.asarray(getattr(predictions, "data", predictions))
    if pred is not None and pred.ndim == 2:
        pred = pred.argmax(axis=1)
    if pred is not None:
        pred = pred.reshape(-1)[:n]
    if nrow is None:
        nrow = int(np.ceil(np.sqrt(n)))
    nrow = check_int("image_grid", "nrow", nrow)
    cols = min(int(nrow), n)
    rows = int(np.ceil(n / cols))
    lo, hi = float(x.min()), float(x.max())
    if x.ndim == 4 and (lo < 0 or hi > 1):
        x = (x - lo) / (hi - lo if hi > lo else 1.0)  # RGB must lie in [0, 1] for imshow

    def name(c: Any) -> str:
        return str(class_names[int(c)]) if class_names is not None else str(c)

    fig = new_figure((1.3 * cols, 1.45 * rows + (0.4 if title else 0)))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):  # one axes per shown image (<= max_images)
        ax.set_axis_off()
        if i >= n:
            continue
        if x.ndim == 4:
            ax.imshow(np.clip(x[i], 0, 1))
        else:
            ax.imshow(x[i], cmap=cmap, vmin=lo, vmax=hi)
        parts, color = [], "black"
        if lab is not None:
            parts.append(name(lab[i]))
        if pred is not None:
            parts.append(f"pred {name(pred[i])}")
            if lab is not None and int(pred[i]) != int(lab[i]):
                color = "red"
        if parts:
            ax.set_title(" / ".join(parts), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def reconstruction_figure(
    model: Any,
    X: Any,
    noise: str | None = "gaussian",
    level: float = 0.3,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Any:
    """A figure with one row of inputs, one of noisy inputs (when ``noise``) and one row of
    reconstructions per model (``model`` may be ``{'plain AE': ae, 'denoising AE': dae}``).
    Images are (N, C, H, W) with C = 1, (N, H, W), or flat squares.  Returns the Figure."""
    from .nn.autoencoder import batched_outputs
    from .nn.functional.dropout import corrupt
    from .random import make_generator

    X = np.asarray(getattr(X, "data", X), dtype=np.float32)
    models = model if isinstance(model, dict) else {_("reconstruction"): model}
    rows: list[tuple[str, np.ndarray]] = [(_("input"), X)]
    Xn = X
    if noise is not None:
        Xn = corrupt(X, noise, level, rng=make_generator(seed))
        rows.append((f"{noise} {level:g}", Xn))
    for name, m in models.items():
        rows.append((name, batched_outputs(m, Xn, 256).reshape(X.shape)))

    def image(a: np.ndarray) -> np.ndarray:
        if a.ndim == 4 and a.shape[1] == 1:
            return a[:, 0]
        if a.ndim == 3:
            return a
        flat = a.reshape(len(a), -1)
        s = math.isqrt(flat.shape[1])
        if s * s != flat.shape[1]:
            raise ShapeError(tr("reconstruction_figure: cannot show samples of shape {0} as images", X.shape[1:]))
        return flat.reshape(len(a), s, s)

    unit = X.min() >= 0 and X.max() <= 1
    n = len(X)
    fig = new_figure((1.1 * n + 1.2, 1.2 * len(rows) + (0.4 if title else 0)))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (name, arr) in enumerate(rows):
        imgs = image(arr)
        for i in range(n):
            ax = axes[r, i]
            if unit:
                ax.imshow(np.clip(imgs[i], 0, 1), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(imgs[i], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


# Japanese fonts tried after matplotlib-fontja's bundled IPAex Gothic, in order.
_JAPANESE_FAMILIES = (
    "IPAexGothic",
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Source Han Sans JP",
    "IPAGothic",
    "TakaoGothic",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
)


def japanese_font_path() -> str | None:
    """The file of a font that has Japanese glyphs: matplotlib-fontja's IPAex Gothic when that
    package is installed (``pip install "kisonet[ja]"``), else an installed system font, else None."""
    import importlib.util

    from matplotlib import font_manager

    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is not None and spec.origin:
        # the font file is read from the package folder: importing matplotlib_fontja would
        # also overwrite the user's rcParams
        bundled = os.path.join(os.path.dirname(spec.origin), "fonts", "ipaexg.ttf")
        if os.path.exists(bundled):
            return bundled
    for family in _JAPANESE_FAMILIES:
        try:
            return font_manager.findfont(family, fallback_to_default=False)
        except ValueError:
            continue
    return None


def use_japanese_font() -> str:
    """Let matplotlib draw Japanese titles, axis labels and legends; returns the font's name.

    Latin letters, digits and the minus sign stay in matplotlib's default font (DejaVu Sans);
    a character it lacks (kana, kanji) is taken from the Japanese font (matplotlib's per-glyph
    fallback), so no glyph is missing and English figures look as before. Calling it again
    changes nothing. Raises :class:`KisonetValueError` naming the package to install when no
    Japanese font is found.
    """
    import matplotlib
    from matplotlib import font_manager

    path = japanese_font_path()
    if path is None:
        raise KisonetValueError(
            tr(
                "no Japanese font found for matplotlib; install one with `pip install "
                '"kisonet[ja]"` (matplotlib-fontja: IPAex Gothic)'
            )
        )
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    families = [f for f in matplotlib.rcParams["font.family"] if f not in ("sans-serif", name)]
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", *[f for f in families if f != "DejaVu Sans"], name]
    return name


# --------------------------------------------------------------------------------------
# Live figures: drawn once, then only what changes is redrawn (blitting).


def _png_bytes(rgba: np.ndarray, level: int = 1) -> bytes:
    """An RGB PNG of an ``(h, w, 4)`` uint8 canvas: rows unfiltered, zlib level 1, which is
    several times cheaper than Pillow's adaptive filtering for a plot's mostly flat rows."""
    import struct
    import zlib

    h, w = rgba.shape[:2]
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type 0 ("none") before each row
    raw[:, 1:].reshape(h, w, 3)[...] = rgba[:, :, :3]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    data = zlib.compress(raw, level)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


class _PNG:
    """A PNG that Jupyter shows (``_repr_png_``) without importing IPython's Image class."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _repr_png_(self) -> bytes:
        return self.data


def _sticky_limits(lo: float, hi: float, current: tuple[float, float] | None) -> tuple[float, float]:
    """Axis limits on round numbers that stay put while the data fits them well, so the frame
    (ticks, labels) is redrawn only when the curves leave it or shrink to under 40 % of it."""
    from matplotlib.ticker import MaxNLocator

    if current is not None:
        c0, c1 = current
        edge = 0.005 * (c1 - c0)  # a curve on the frame would hide in it (a loss may rest on 0)
        inside = (c0 + edge <= lo or c0 == 0 <= lo) and hi <= c1 - edge
        if inside and hi - lo >= 0.4 * (c1 - c0):
            return current
    if not hi > lo:
        pad = 0.05 * abs(hi) or 0.05
        lo, hi = lo - pad, hi + pad
    span = hi - lo
    # a margin, so no curve starts on the frame; values >= 0 nearer 0 than their span (a loss
    # on its way down) start at 0 at once, rather than moving the frame down epoch by epoch
    lo = 0.0 if 0 <= lo < span else lo - 0.02 * span
    hi = hi + 0.02 * span
    ticks = MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    below, above = ticks[ticks <= lo], ticks[ticks >= hi]
    return (float(below.max()) if below.size else lo, float(above.min()) if above.size else hi)


class _Blitter:
    """A figure whose frame (axes, ticks, labels, legend, titles) is rendered once and kept as
    a bitmap; :meth:`render` pastes it back and draws only the ``dynamic`` artists on top.
    The artists stay ordinary ones: ``fig.savefig`` draws the whole figure as usual."""

    def __init__(self, fig: Any) -> None:
        self.fig = fig
        self.dynamic: list[Any] = []
        self._frame: Any = None

    def invalidate(self) -> None:
        self._frame = None

    def render(self) -> np.ndarray:
        canvas = self.fig.canvas
        if self._frame is None:
            shown = [a for a in self.dynamic if a.get_visible()]
            for a in shown:
                a.set_visible(False)
            try:
                canvas.draw()
            finally:
                for a in shown:
                    a.set_visible(True)
            self._frame = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._frame)
        for a in self.dynamic:
            if a.get_visible():
                (a.axes or self.fig).draw_artist(a)
        return np.asarray(canvas.buffer_rgba())


_Panels = list[tuple[str, list[tuple[str, str]]]]


def _history_panels(history: dict[str, Sequence[float]], metrics: Sequence[str]) -> _Panels:
    """``[(metric, [(split, history key), ...]), ...]`` for the metrics the history holds."""
    panels = []
    for m in metrics:
        series = [(s, f"{s}_{m}") for s in ("train", "val", "test") if f"{s}_{m}" in history]
        if not series and m in history:
            series = [("", m)]  # e.g. 'lr'
        if series:
            panels.append((m, series))
    return panels


class _LiveCurves:
    """The learning curves of :class:`LivePlot`: one panel per metric, the x axis spanning the
    whole run, one legend for the splits above the panels."""

    def __init__(self, panels: _Panels, title: str | None) -> None:
        from matplotlib.ticker import MaxNLocator

        self.panels = panels
        fig = _agg_figure((4.5 * len(panels), 3.7))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        self.lines: list[tuple[Any, str]] = []
        legend: dict[str, Any] = {}
        for ax, (m, series) in zip(axes, panels, strict=True):
            for split, key in series:
                color, style = _SPLIT_STYLE.get(split, ("C3", "-"))
                (line,) = ax.plot([], [], style, color=color, ms=3)
                self.lines.append((line, key))
                legend.setdefault(_(split or m), line)
            ax.set_xlabel(_("epoch"))
            ax.set_ylabel(_(m))
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.axes = list(axes)
        top = 0.99
        if title:
            fig.suptitle(title, y=0.99, va="top")
            top = 0.9
        fig.legend(list(legend.values()), list(legend), loc="upper center", bbox_to_anchor=(0.5, top),
                   ncol=len(legend), frameon=False)  # fmt: skip
        self._top = top - 0.06
        self.fig = fig
        self.blitter = _Blitter(fig)
        self.blitter.dynamic = [line for line, _ in self.lines]
        self._limits: dict[int, tuple[float, float]] = {}
        self._xmax = 0
        self._widths: tuple[int, ...] = ()

    def update(self, history: dict[str, Sequence[float]], epochs: int) -> np.ndarray:
        relayout = not self._limits
        values: dict[int, list[np.ndarray]] = {}
        for line, key in self.lines:
            v = np.asarray(history[key], dtype=np.float64)
            line.set_data(np.arange(1, len(v) + 1), v)
            line.set_marker("o" if len(v) <= 20 else "None")
            values.setdefault(id(line.axes), []).append(v)
            epochs = max(epochs, len(v))
        if epochs != self._xmax:
            self._xmax = epochs
            for ax in self.axes:
                ax.set_xlim(0.5, epochs + 0.5)
            relayout = True
        for ax in self.axes:
            v = np.concatenate(values[id(ax)])
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            limits = _sticky_limits(float(v.min()), float(v.max()), self._limits.get(id(ax)))
            if limits != self._limits.get(id(ax)):
                self._limits[id(ax)] = limits
                ax.set_ylim(*limits)
                relayout = True
        if relayout:
            # margins follow the tick labels' width: recomputed (a drawing's worth) only when it changes
            widths = tuple(
                max((len(t) for t in ax.yaxis.major.formatter.format_ticks(ax.yaxis.get_majorticklocs())), default=0)
                for ax in self.axes
            )
            if widths != self._widths:
                self._widths = widths
                self.fig.tight_layout(rect=(0, 0, 1, self._top))
            self.blitter.invalidate()
        return self.blitter.render()


class _LiveBoundary:
    """The decision regions of :class:`LivePlot` on a fixed grid: the class map is an image
    whose pixels are replaced each epoch, under the region borders and the points."""

    def __init__(self, X: Any, y: Any, resolution: int, n_classes: int) -> None:
        from matplotlib.colors import ListedColormap

        X = np.asarray(getattr(X, "data", X), dtype=np.float64)
        yv = np.asarray(getattr(y, "data", y)).reshape(-1)
        lo, hi = X.min(axis=0), X.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        lo, hi = lo - 0.1 * span, hi + 0.1 * span
        self.gx, self.gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
        self.grid = np.column_stack([self.gx.ravel(), self.gy.ravel()])
        self.n_classes = n_classes
        self.levels = np.arange(n_classes + 1) - 0.5
        cmap = ListedColormap([f"C{i % 10}" for i in range(n_classes)])
        fig = _agg_figure((5.0, 4.4))
        ax = fig.add_subplot(1, 1, 1)
        self.image = ax.imshow(
            np.zeros(self.gx.shape), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=cmap,
            vmin=-0.5, vmax=n_classes - 0.5, alpha=0.25, interpolation="nearest", aspect="auto",
        )  # fmt: skip
        self.points = ax.scatter(
            X[:, 0], X[:, 1], c=yv, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5, s=14, edgecolors="k", linewidths=0.3
        )
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        # y given: the title stays put (it moves itself when the whole axes draws, not when repainted alone)
        self.title = ax.set_title(gettext("epoch"), y=1.0)
        fig.tight_layout()
        self.ax, self.fig = ax, fig
        self.borders: Any = None
        self.blitter = _Blitter(fig)

    def update(self, labels: np.ndarray, title: str) -> np.ndarray:
        labels = labels.reshape(self.gx.shape)
        self.image.set_data(labels)
        if self.borders is not None:
            self.borders.remove()
        self.borders = self.ax.contour(
            self.gx, self.gy, labels, levels=self.levels, colors="k", linewidths=0.6, alpha=0.6
        )
        self.title.set_text(title)
        self.blitter.dynamic = [self.image, self.borders, self.points, self.title]
        return self.blitter.render()


class LivePlot:
    """A Trainer callback that redraws the learning curves as training goes (and the
    decision boundary for 2-D data).

        trainer = kn.train.Trainer(model, "cross_entropy", opt,
                                   callbacks=[kn.viz.LivePlot(boundary=(X, y))])

    In Jupyter the figures are shown once and updated in place; anywhere else (a script,
    CI, headless Agg) they are only drawn, and written atomically to ``path`` /
    ``boundary_path`` when given (a reader never sees half a file).  :attr:`figures` holds
    the two :class:`~matplotlib.figure.Figure` objects, which stay the same all run.

    Each figure is built once; a redraw replaces the curves' data (and the boundary's class
    map) and repaints only them over a kept bitmap of the frame, which is redrawn only when
    the axis limits change (the x axis spans the whole run; the y limits are round numbers
    that move only when the curves leave them).  A PNG is encoded cheaply (unfiltered rows,
    zlib level 1).  So redrawing the curves costs a few milliseconds
    (docs/performance.md): ``kisonet train`` redraws ``curves.png`` after every epoch.
    Figures never go through pyplot, so none is left open in pyplot's registry.

    By default every epoch is redrawn, so a notebook shows the curves (and the boundary)
    move epoch by epoch.  ``max_overhead`` caps the share of training time drawing may
    take instead: an epoch then ends with a redraw when the time since the last one is at
    least ``1 / max_overhead`` times what that one took (``0.1``: every epoch on real data;
    every few epochs of a toy set whose epochs take a millisecond).  The
    last epoch is always drawn (``final=False`` leaves that to the caller).  Drawing reads
    the model in eval mode and draws no random numbers, so a run with a LivePlot is the
    run without it.

    It lives in :mod:`kisonet.viz` (the reporting tier, above training) so that training
    never imports matplotlib; it is a plain object with the hooks, so importing viz
    does not import the Trainer either.

    Args:
        metrics: which curves (``'loss'``, ``'accuracy'``, ...: history keys without the
            split); those never recorded are skipped.
        boundary: ``(X, y)`` with 2-D inputs: also draw the decision regions.
        path, boundary_path: files rewritten with each redraw (png, or svg, pdf, ... by
            suffix: those are drawn in full each time, so they cost a full drawing).
        display: show in the notebook (default: when running in a Jupyter kernel).
        max_overhead: the share of training time drawing may take (default None: every epoch).
        final: draw the last epoch at the end of ``fit`` whatever the budget says.
        title: the curves' title; ``resolution``: the boundary's grid size.
    """

    #: after the History callback (kisonet.train.AFTER_HISTORY): the epoch is in the history
    order = 100
    _FIRST_DRAW_SECONDS = 0.2  # the cost assumed before anything was drawn

    def __init__(
        self,
        metrics: Sequence[str] = ("loss", "accuracy"),
        boundary: tuple[Any, Any] | None = None,
        path: str | os.PathLike | None = None,
        boundary_path: str | os.PathLike | None = None,
        display: bool | None = None,
        max_overhead: float | None = None,
        final: bool = True,
        title: str | None = None,
        resolution: int = 100,
    ) -> None:
        self.metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        if boundary is not None:
            if not (isinstance(boundary, tuple) and len(boundary) == 2):
                raise KisonetTypeError(tr("LivePlot: boundary must be an (X, y) pair of 2-D inputs and labels"))
            X = np.asarray(getattr(boundary[0], "data", boundary[0]))
            if X.ndim != 2 or X.shape[1] != 2:
                raise ShapeError(tr("LivePlot: boundary inputs must have shape (n, 2), got {0}", X.shape))
        check_float("LivePlot", "max_overhead", max_overhead, 0.0, 1.0, allow_none=True)
        resolution = check_int("LivePlot", "resolution", resolution, low=2)
        self.boundary = boundary
        self.path = path
        self.boundary_path = boundary_path
        self.display = display
        self.max_overhead = max_overhead
        self.final = bool(final)
        self.title = title
        self.resolution = int(resolution)
        self.figures: list[Any] = []
        self.draws = 0
        self._handles: dict[str, Any] = {}
        self._curves: _LiveCurves | None = None
        self._boundary: _LiveBoundary | None = None
        self._ending = False
        self._reset()

    def _reset(self) -> None:
        import time

        self._since = time.perf_counter()
        self._cost = self._FIRST_DRAW_SECONDS
        self._drawn_epoch = -1

    def _showing(self) -> bool:
        return ("ipykernel" in sys.modules) if self.display is None else bool(self.display)

    def on_train_begin(self, trainer: Any) -> None:
        self._reset()
        self._handles = {}  # a new fit shows new figures below its cell

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        import time

        last = trainer.epoch >= trainer.max_epochs
        budget = self.max_overhead is None or (time.perf_counter() - self._since) * self.max_overhead >= self._cost
        if budget or (last and self.final):
            self.draw(trainer)

    def on_train_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        # stopped early (EarlyStopping, ^C): the last recorded epoch is still shown
        if self.final and trainer.history and self._drawn_epoch != trainer.epoch:
            self._ending = True
            try:
                self.draw(trainer)
            finally:
                self._ending = False

    def draw(self, trainer: Any) -> list[Any]:
        """Redraw now (and write / show); returns the figures."""
        import time

        t0 = time.perf_counter()
        history = trainer.history
        present = [m for m in self.metrics if any(f"{s}_{m}" in history for s in ("train", "val", "test"))]
        panels = _history_panels(history, present or ("loss",))
        if not panels:
            raise KisonetValueError(tr("LivePlot: no curve to draw (history keys: {0})", ", ".join(history) or "none"))
        if self._curves is None or self._curves.panels != panels:
            self._curves = _LiveCurves(panels, self.title)
        frames = [("curves", self._curves.fig, self._curves.update(history, trainer.max_epochs), self.path)]
        if self.boundary is not None:
            X, y = self.boundary
            if self._boundary is None:
                classes = int(np.asarray(getattr(y, "data", y)).max()) + 1
                self._boundary = _LiveBoundary(X, y, self.resolution, max(classes, 2))
            labels = _predict_labels(trainer, self._boundary.grid)
            if labels.max() >= self._boundary.n_classes:  # the model predicts a class the labels lack
                self._boundary = _LiveBoundary(X, y, self.resolution, int(labels.max()) + 1)
            title = f"{gettext('epoch')} {trainer.epoch}"
            frames.append(("boundary", self._boundary.fig, self._boundary.update(labels, title), self.boundary_path))
        for key, fig, rgba, path in frames:
            png = None
            if path is not None and os.path.splitext(os.fspath(path))[1].lower() in ("", ".png"):
                png = _png_bytes(rgba)
                # fsynced only at the end: readers see a whole file anyway, a power cut may cost an epoch
                last = self._ending or trainer.epoch >= trainer.max_epochs
                _write_atomically(path, png, durable=last)
            elif path is not None:
                save_figure(fig, path)  # another format: drawn in full
            if self._showing():
                self._show(key, png if png is not None else _png_bytes(rgba))
        self.figures = [fig for _, fig, _, _ in frames]
        self.draws += 1
        self._drawn_epoch = trainer.epoch
        now = time.perf_counter()
        # the first drawing also imports matplotlib, loads fonts and builds the figures
        self._cost = now - t0 if self.draws > 1 else min(now - t0, self._FIRST_DRAW_SECONDS)
        self._since = now
        return self.figures

    def _show(self, key: str, png: bytes) -> None:
        from IPython.display import display

        handle = self._handles.get(key)
        if handle is None:
            self._handles[key] = display(_PNG(png), display_id=True)
        else:
            handle.update(_PNG(png))


def _write_atomically(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    from .io import atomic_write

    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with atomic_write(path, "wb", durable=durable) as f:
        f.write(data)
