"""Experiment ``cnn``: what the notes' simple CNN learns — its filters and feature maps — and AlexNet.

The SimpleConvNet of the notes,

    conv 30 x (5x5) -> ReLU -> max-pool 2 -> affine 100 -> ReLU -> affine 10,

trained with Adam on ``mnist-t10k`` (or ``digits``).  Drawn:

* the 30 first-layer filters ``W[k, 0]`` before training (random He noise), after, and the
  change ``W - W_0`` that training made (smooth stroke and edge detectors: with a random start
  of this scale the learned part is a modest fraction of the filter);
* the feature maps ``relu(W[k] * x + b_k)`` of a few test images: each map lights up where its
  filter's pattern occurs in the image;
* the learning curves;

and, as in the exercise report's Section 5, an AlexNet-style net (:class:`kisonet.models.AlexNet`,
width-scaled) trained the same way: its accuracy, parameter count and time per epoch beside the
SimpleCNN's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure, run_config, train

__all__ = ["LESSON", "cnn", "mosaic"]

LESSON = Lesson(
    shows=(
        "A single convolution layer of 30 5x5 filters, trained for a few epochs, classifies digits far above "
        "chance (10%): the learned part of the filters W − W₀ is smooth stroke and edge detectors, and each "
        "feature map lights up where its filter's pattern occurs in the image. The exercise report's AlexNet "
        "(five convolutions, three poolings, three affine layers with dropout), scaled to a similar parameter "
        "count, also learns: given the full run's epochs it edges ahead, in a quick run's few steps the deeper "
        "net is still behind."
    ),
    reference=(
        "`kisonet experiment cnn --data-dir ../shared/data/mnist` (8,000 mnist-t10k images, 8 epochs of Adam "
        "lr 0.001, batch 100): SimpleCNN train 99.99% / test 97.90%, relative filter change ‖W−W₀‖/‖W₀‖ 0.26; "
        "AlexNet at width 0.125 (454,306 parameters vs 433,890) train 99.14% / test 98.60%."
    ),
)


def _feature_maps(model: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first conv layer's output after its activation, via a forward hook: (N, C, H, W)."""
    from .. import nn
    from ..autograd import Tensor, no_grad

    seq = model.layers
    convs = [i for i, m in enumerate(seq) if isinstance(m, nn.Conv2d)]
    act = seq[convs[0] + 1]
    got: dict[str, np.ndarray] = {}
    remove = act.register_forward_hook(lambda m, args, out: got.__setitem__("maps", np.array(out.data)))
    model.eval()
    try:
        with no_grad():
            logits = model(Tensor(X))
    finally:
        remove()
        model.train()
    return got["maps"], logits.data.argmax(axis=1)


def _timed(cfg: Any, data: Any, model: Any, **kw: Any) -> dict[str, Any]:
    """:func:`.common.train`, with the CPU seconds per epoch (on a shared machine wall-clock time
    is mostly waiting)."""
    cpu = time.process_time()
    run, _ = train(cfg, data, model, **kw)
    run["seconds_per_epoch"] = (time.process_time() - cpu) / cfg.epochs
    return run


@experiment("cnn", LESSON)
def cnn(
    args: Args,
    n_train: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    n_images: int = 3,
    n_maps: int = 10,
    alexnet_width: float | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns the history, accuracies and the learned first-layer filters.

    Full: the whole training pool (8,000 images of ``mnist-t10k``), 8 epochs of Adam (lr 1e-3,
    batch 100).  Quick: 1,000 / 300 images, 3 epochs of Adam lr 0.003, batch 50 (60 steps: the
    net is well above chance, as in the full run).  Then the exercise report's AlexNet
    (:class:`kisonet.models.AlexNet`, 5 conv + 3 pool + 3 affine layers with dropout 0.5) at
    ``alexnet_width`` (full 0.125, quick 0.0625; 0 skips it) on the same data and schedule.
    """
    from dataclasses import replace

    from .. import nn
    from ..models import image_shape
    from ..runner import seeded_model

    ctx = args.start()
    quick = ctx.quick
    epochs = int(epochs if epochs is not None else (3 if quick else 8))
    lr = float(lr if lr is not None else (3e-3 if quick else 1e-3))
    batch_size = int(batch_size if batch_size is not None else (50 if quick else 100))
    data = ctx.load(n_train if n_train is not None else (1000 if quick else None), 300 if quick else None)
    cfg = run_config(ctx, model="simple-cnn", init="he", optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size)
    model = seeded_model(cfg, data.prepared())
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    before = np.array(conv.weight.data)
    ctx.echo(f"  SimpleCNN: conv {conv.out_channels}x{conv.kernel_size[0]}x{conv.kernel_size[1]} -> pool -> 100 -> "
             f"{data.n_classes}; Adam lr {lr}, batch {batch_size}, {epochs} epochs")  # fmt: skip
    r = _timed(cfg, data, model, eval_train=True)
    after = np.array(conv.weight.data)
    ctx.echo(f"  train {r['train_acc']:.4f}  test {r['test_acc']:.4f}")

    width = float(alexnet_width if alexnet_width is not None else (0.0625 if quick else 0.125))
    alex: dict[str, Any] | None = None
    if width > 0:
        # the paper's dropout 0.5 before the two hidden affine layers
        alex_cfg = replace(cfg, model=f"alexnet:{width!r}", dropout=0.5)
        anet = seeded_model(alex_cfg, data.prepared())
        ctx.echo(f"  AlexNet (width {width:g}, {anet.num_parameters():,} parameters): Adam lr {lr}, "
                 f"batch {batch_size}, {epochs} epochs")  # fmt: skip
        alex = _timed(alex_cfg, data, anet, eval_train=True)
        alex["width"], alex["parameters"] = width, anet.num_parameters()
        ctx.echo(f"  AlexNet train {alex['train_acc']:.4f}  test {alex['test_acc']:.4f}")

    # a few test images, one per class where possible
    picks = []
    for c in range(data.n_classes):
        idx = np.flatnonzero(data.y_test == c)
        if len(idx):
            picks.append(int(idx[0]))
        if len(picks) == n_images:
            break
    X_show = data.X_test[picks]
    maps, preds = _feature_maps(model, X_show)
    n_maps = min(n_maps, maps.shape[1])
    # the most active maps over the shown images are the informative ones
    order = np.argsort(-maps.mean(axis=(0, 2, 3)))[:n_maps]

    c, h, w = image_shape("cnn", data.input_shape)
    _plot_filters(ctx, before, after)
    _plot_maps(ctx, X_show.reshape(len(picks), c, h, w), maps, order, data.y_test[picks], preds)
    _plot_curves(ctx, r["history"], None if alex is None else alex["history"], width)

    change = float(np.linalg.norm(after - before) / np.linalg.norm(before))
    a = alex or {}
    na = "—"
    pct = lambda v: na if v is None else f"{100 * v:.2f}%"  # noqa: E731
    rows = [("train accuracy", pct(r["train_acc"]), pct(a.get("train_acc"))),
            ("test accuracy", pct(r["test_acc"]), pct(a.get("test_acc"))),
            ("parameters", f"{model.num_parameters():,}", f"{a['parameters']:,}" if a else na),
            ("CPU seconds per epoch (incl. evaluation)", f"{r['seconds_per_epoch']:.2f}",
             f"{a['seconds_per_epoch']:.2f}" if a else na),
            ("epochs", epochs, epochs if a else na),
            ("first-layer filters", f"{after.shape[0]} x {after.shape[2]}x{after.shape[3]}", na),
            ("relative filter change ‖W−W₀‖/‖W₀‖", f"{change:.2f}", na)]  # fmt: skip
    alex_note = "" if not a else (
        f" AlexNet: width {a['width']:g} (channels 64-192-384-256-256 and 4096-unit affine layers times the width), "
        "dropout 0.5, same optimiser and epochs.")  # fmt: skip
    return ctx.finish(
        {"history": r["history"], "train_acc": r["train_acc"], "test_acc": r["test_acc"], "epochs": epochs,
         "lr": lr, "batch_size": batch_size, "n_train": len(data.y_train), "filters_before": before,
         "filters_after": after, "filter_change": change, "shown_images": picks,
         "shown_maps": order.tolist(), "shown_predictions": preds.tolist(),
         "parameters": model.num_parameters(), "seconds_per_epoch": r["seconds_per_epoch"], "alexnet": alex},
        ("quantity", "SimpleCNN", f"AlexNet (width {width:g})"), rows,
        f"SimpleCNN on {len(data.y_train)} {ctx.data_choice.name} images, Adam lr {lr:g}, batch {batch_size}."
        + alex_note,
        "What a CNN learns: filters and feature maps; the notes' SimpleCNN and AlexNet", lesson=LESSON,
    )  # fmt: skip


def mosaic(tiles: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """Tile ``(K, h, w)`` arrays into one ``(rows*(h+pad)-pad, ncol*(w+pad)-pad)`` image, NaN between
    tiles (drawn blank): one ``imshow`` instead of K axes, much faster to draw."""
    k, h, w = tiles.shape
    nrow = int(np.ceil(k / ncol))
    out = np.full((nrow * (h + pad) - pad, ncol * (w + pad) - pad), np.nan)
    for i in range(k):
        r, c = divmod(i, ncol)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tiles[i]
    return out


def _plot_filters(ctx: Any, before: np.ndarray, after: np.ndarray) -> None:
    import matplotlib

    cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
    fig, axes = new_figure(1, 3, size=(5.2, 3.0))
    panels = ((before, "before training: W₀ (random init)"), (after, "after training: W"),
              (after - before, "what training added: W − W₀"))  # fmt: skip
    for ax, (W, name) in zip(axes[0], panels, strict=True):
        f = W.mean(axis=1)  # over input channels (1 for grey images)
        f = f / np.maximum(np.abs(f).max(axis=(1, 2), keepdims=True), 1e-12)  # each filter on its own scale
        ax.imshow(mosaic(f, 10), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"The {before.shape[0]} first-layer {before.shape[2]}x{before.shape[3]} filters "
                 "(white > 0, black < 0, each scaled to its own max)", fontsize=11)  # fmt: skip
    fig.tight_layout()
    ctx.savefig(fig, "filters.png")


def _plot_maps(ctx: Any, images: np.ndarray, maps: np.ndarray, order: np.ndarray, labels: np.ndarray,
               preds: np.ndarray) -> None:  # fmt: skip
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    n = images.shape[0]
    fig = None
    fig, axes = new_figure(n, 2, size=(1.0, 1.6), gridspec_kw={"width_ratios": (1, len(order))})
    fig.set_size_inches(1.25 * (len(order) + 1), 1.5 * n)
    for r in range(n):
        ax = axes[r, 0]
        img = images[r].transpose(1, 2, 0)
        ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray")
        ax.set_title(f"input: {labels[r]} (pred {preds[r]})", fontsize=9)
        m = maps[r, order]
        m = m / np.maximum(m.max(axis=(1, 2), keepdims=True), 1e-12)
        axes[r, 1].imshow(mosaic(m, len(order)), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if r == 0:
            axes[r, 1].set_title("maps " + ", ".join(str(int(k)) for k in order) + " (left to right)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Feature maps relu(W_k * x + b_k) of the first conv layer (the most active maps)", fontsize=11)
    fig.tight_layout()
    ctx.savefig(fig, "feature_maps.png")


def _plot_curves(ctx: Any, h: dict[str, list[float]], h_alex: dict[str, list[float]] | None, width: float) -> None:
    fig, axes = new_figure(1, 2, size=(4.4, 3.4))
    ax_l, ax_a = axes[0]
    runs = [("SimpleCNN", h, "-")] + ([] if h_alex is None else [(f"AlexNet ({width:g})", h_alex, "--")])
    for name, hist, ls in runs:
        ep = np.arange(1, len(hist.get("train_loss", [])) + 1)
        ax_l.plot(ep, hist.get("train_loss", []), "o" + ls, ms=3, color="C0", label=f"{name} train")
        ax_l.plot(ep, hist.get("test_loss", []), "o" + ls, ms=3, color="C3", label=f"{name} test")
        ax_a.plot(ep, hist.get("train_eval_accuracy", []), "o" + ls, ms=3, color="C0", label=f"{name} train")
        ax_a.plot(ep, hist.get("test_accuracy", []), "o" + ls, ms=3, color="C3", label=f"{name} test")
    ax_l.set_ylabel("cross-entropy")
    ax_a.set_ylabel("accuracy")
    for ax in (ax_l, ax_a):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Learning curves: SimpleCNN (solid)" + ("" if h_alex is None else " and AlexNet (dashed)"),
                 fontsize=11)  # fmt: skip
    fig.tight_layout()
    ctx.savefig(fig, "learning_curves.png")
