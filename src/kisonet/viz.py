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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Any, path: str | os.PathLike | None, dpi: int = 100) -> Any:
    """Write ``fig`` to ``path`` (format from the suffix, default png; parent folders created)
    atomically, and return ``fig``; ``path=None`` only returns it."""
    if path is not None:
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        import io

        from .io import atomic_write

        # rendered in memory, then written atomically: a crash never leaves half an image
        buf = io.BytesIO()
        fmt = os.path.splitext(path)[1][1:].lower() or "png"
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())
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
    if not isinstance(history, dict):
        raise KisonetTypeError(tr("plot_history: history must be a dict of lists, got {0}", type(history).__name__))
    if isinstance(metrics, str):
        metrics = (metrics,)
    panels = []
    for m in metrics:
        series = [(s, history[f"{s}_{m}"]) for s in ("train", "val", "test") if f"{s}_{m}" in history]
        if not series and m in history:
            series = [("", history[m])]  # e.g. 'lr'
        if series:
            panels.append((m, series))
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
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise KisonetValueError(tr("decision_boundary: resolution must be an int >= 2, got {0!r}", resolution))
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
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise KisonetValueError(tr("image_grid: nrow must be an int >= 1, got {0!r}", nrow))
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


class LivePlot:
    """A Trainer callback that redraws the learning curves as training goes (and the
    decision boundary for 2-D data).

        trainer = kn.train.Trainer(model, "cross_entropy", opt,
                                   callbacks=[kn.viz.LivePlot(boundary=(X, y))])

    In Jupyter the figures are shown once and updated in place every epoch; anywhere
    else (a script, CI, headless Agg) they are only drawn, and written atomically to
    ``path`` / ``boundary_path`` when given.  :attr:`figures` holds the last drawn ones.

    Drawing a figure costs a tenth of a second or more, so by default it takes at most
    ``max_overhead`` (10 %) of the training time: an epoch ends with a redraw when the time
    since the last one is at least ten times what that one took (every epoch on real
    data; every few epochs on a toy set whose epochs take milliseconds).
    ``max_overhead=None`` redraws every epoch.  The last epoch is always drawn
    (``final=False`` leaves that to the caller).  Drawing reads the model in eval mode and
    draws no random numbers, so a run with a LivePlot is the run without it.

    It lives in :mod:`kisonet.viz` (the reporting tier, above training) so that training
    never imports matplotlib; it is a plain object with the hooks, so importing viz
    does not import the Trainer either.

    Args:
        metrics: which curves (``'loss'``, ``'accuracy'``, ...: history keys without the
            split); those never recorded are skipped.
        boundary: ``(X, y)`` with 2-D inputs: also draw the decision regions.
        path, boundary_path: files rewritten with each redraw (png, svg, ... by suffix).
        display: show in the notebook (default: when running in a Jupyter kernel).
        max_overhead: the share of training time drawing may take (None: every epoch).
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
        max_overhead: float | None = 0.1,
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
        if max_overhead is not None and not (isinstance(max_overhead, (int, float)) and 0 < max_overhead <= 1):
            raise KisonetValueError(tr("LivePlot: max_overhead must be in (0, 1] or None, got {0!r}", max_overhead))
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
        self._handles = {}

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        import time

        last = trainer.epoch >= trainer.max_epochs
        budget = self.max_overhead is None or (time.perf_counter() - self._since) * self.max_overhead >= self._cost
        if budget or (last and self.final):
            self.draw(trainer)

    def on_train_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        # stopped early (EarlyStopping, ^C): the last recorded epoch is still shown
        if self.final and trainer.history and self._drawn_epoch != trainer.epoch:
            self.draw(trainer)

    def draw(self, trainer: Any) -> list[Any]:
        """Redraw now (and write / show); returns the figures."""
        import time

        t0 = time.perf_counter()
        history = trainer.history
        present = [m for m in self.metrics if any(f"{s}_{m}" in history for s in ("train", "val", "test"))]
        figs = [("curves", plot_history(history, metrics=present or ("loss",), title=self.title), self.path)]
        if self.boundary is not None:
            X, y = self.boundary
            title = f"{gettext('epoch')} {trainer.epoch}"
            fig = decision_boundary(trainer, X, y, resolution=self.resolution, title=title)
            figs.append(("boundary", fig, self.boundary_path))
        for key, fig, path in figs:
            save_figure(fig, path)
            if self._showing():
                self._show(key, fig)
        if "matplotlib.pyplot" in sys.modules:  # shown or saved: no second copy at the cell's end
            import matplotlib.pyplot as plt

            for _, fig, _ in figs:
                plt.close(fig)
        self.figures = [fig for _, fig, _ in figs]
        self.draws += 1
        self._drawn_epoch = trainer.epoch
        now = time.perf_counter()
        # the first drawing also imports matplotlib and loads fonts: not what the next ones cost
        self._cost = now - t0 if self.draws > 1 else min(now - t0, self._FIRST_DRAW_SECONDS)
        self._since = now
        return self.figures

    def _show(self, key: str, fig: Any) -> None:
        from IPython.display import display

        handle = self._handles.get(key)
        if handle is None:
            self._handles[key] = display(fig, display_id=True)
        else:
            handle.update(fig)
