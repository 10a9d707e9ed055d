"""Experiment ``representations``: a hidden layer seen by PCA and t-SNE, before, during and after training.

Keio lecture 3 (次元削減): PCA and t-SNE are "often used to analyse a network's internal
representation after training".  An MLP (two hidden layers of 100 ReLU units, He init, Adam) is
trained on the chosen data; the activations of its last hidden layer for a fixed set of test
images are taken at three moments -- at initialisation, after a few dozen steps, after training --
and each set is reduced to 2-D with kisonet's own ``kisonet.data.pca`` (SVD of the centred
activations) and ``kisonet.data.tsne`` (exact t-SNE), coloured by the true class.

How well the classes separate is measured, not eyeballed: the leave-one-out 5-nearest-neighbour
accuracy of each 2-D picture (and of the full 100-D activations), and the silhouette of the
classes in the PCA plane (mean over points of (b - a) / max(a, b), a = mean distance to the
point's own class, b = to the nearest other class; 1 = tight separate clusters, 0 = overlap).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, accuracy, experiment, new_figure, run_config, train

__all__ = ["LESSON", "knn_accuracy", "representations", "silhouette"]

LESSON = Lesson(
    shows=(
        "Before training the hidden layer is a random projection of the pixels: in its PCA plane the classes "
        "overlap. As the net learns, the same images' activations pull apart into one cluster per class: the "
        "5-nearest-neighbour accuracy and the silhouette of the PCA picture rise from before to during to "
        "after training. t-SNE, which keeps neighbourhoods rather than variance, already finds some groups in "
        "the random features (as it does in pixel space) and shows tight, separated clusters after training."
    ),
    reference=(
        "`kisonet experiment representations --data-dir ../shared/data/mnist` (MLP 784-100-100-10 on 8,000 "
        "mnist-t10k images, 6 epochs of Adam lr 0.001, 600 test images): test accuracy 14.8% → 84.8% (step 30) "
        "→ 95.3% (step 480); 5-NN accuracy in the PCA plane 29% → 51% → 56%, in the t-SNE plane 75% → 89% → 97%; "
        "PCA silhouette -0.07 → 0.06 → 0.10."
    ),
)


def knn_accuracy(Z: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-nearest-neighbour accuracy of the points ``Z`` (N, d) with labels ``y``."""
    Z = np.asarray(Z, dtype=np.float64)
    sq = (Z * Z).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2 * Z @ Z.T
    np.fill_diagonal(D, np.inf)
    nn = np.argpartition(D, k, axis=1)[:, :k]
    votes = y[nn]
    n_classes = int(y.max()) + 1
    counts = np.stack([(votes == c).sum(axis=1) for c in range(n_classes)], axis=1)
    return float((counts.argmax(axis=1) == y).mean())


def silhouette(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean silhouette (b - a) / max(a, b) of the labelled points ``Z`` (Euclidean distances)."""
    Z = np.asarray(Z, dtype=np.float64)
    D = np.sqrt(np.maximum(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1), 0.0))
    classes = np.unique(y)
    mean_to = np.stack([D[:, y == c].sum(axis=1) / np.maximum((y == c).sum() - (y == c) * 1.0, 1.0)
                        for c in classes], axis=1)  # fmt: skip
    own = np.searchsorted(classes, y)
    a = mean_to[np.arange(len(y)), own]
    other = mean_to.copy()
    other[np.arange(len(y)), own] = np.inf
    b = other.min(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    return float(s.mean())


class _Snapshot:
    """Trainer callback: the hidden activations of ``X`` after global step ``at``."""

    def __init__(self, take: Any, at: int) -> None:
        self.take, self.at, self.acts = take, at, None

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if self.acts is None and trainer.global_step >= self.at:
            self.acts = self.take(trainer.model)


@experiment("representations", LESSON)
def representations(
    args: Args,
    epochs: int | None = None,
    during_step: int = 30,
    n_show: int | None = None,
    lr: float = 1e-3,
    perplexity: float = 30.0,
) -> dict[str, Any]:
    """Run the experiment; returns per stage the 2-D PCA and t-SNE pictures and their separation scores.

    Full: the whole training pool, 6 epochs, 600 test images shown, t-SNE 750 iterations.  Quick:
    1,500 training images, 4 epochs, 300 images shown, 400 t-SNE iterations.
    """
    from ..autograd import Tensor, no_grad
    from ..data import pca, tsne
    from ..runner import seeded_model

    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    data = ctx.load(*((1500, 500) if quick else (None, None)))
    epochs = int(epochs if epochs is not None else (4 if quick else 6))
    n_show = int(n_show if n_show is not None else (300 if quick else 600))
    tsne_iter = 400 if quick else 750
    rng = np.random.default_rng(seed)
    show = np.sort(rng.choice(len(data.y_test), size=min(n_show, len(data.y_test)), replace=False))
    Xs, ys = data.X_test[show], data.y_test[show]

    cfg = run_config(ctx, model="mlp:100,100", init="he", optimizer="adam", lr=lr, epochs=epochs, batch_size=100)
    model = seeded_model(cfg, data.prepared())
    last_act = [m for m in model.modules() if type(m).__name__ == "ReLU"][-1]

    def take(m: Any) -> np.ndarray:
        got: dict[str, np.ndarray] = {}
        remove = last_act.register_forward_hook(lambda mod, args, out: got.__setitem__("h", np.array(out.data)))
        was = m.training
        m.eval()
        try:
            with no_grad():
                m(Tensor(Xs))
        finally:
            remove()
            m.train(was)
        return got["h"]

    stages: dict[str, dict[str, Any]] = {}
    before = take(model)
    acc_before = accuracy(model, data.X_test, data.y_test)
    snap = _Snapshot(take, during_step)
    acc_during: list[float] = []

    class _DuringAcc:
        def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
            if not acc_during and trainer.global_step >= during_step:
                acc_during.append(accuracy(trainer.model, data.X_test, data.y_test))

    run, _ = train(cfg, data, model, callbacks=[snap, _DuringAcc()], test_every_epoch=False)
    moments = {"before": (before, acc_before, 0), "during": (snap.acts, acc_during[0], during_step),
               "after": (take(model), run["test_acc"], run["steps"])}  # fmt: skip
    for name, (H, acc, step) in moments.items():
        Zp, _, ratio = pca(H, 2)
        Zt = tsne(H, 2, perplexity=perplexity, n_iter=tsne_iter, seed=seed)
        stages[name] = {
            "step": int(step),
            "test_accuracy": float(acc),
            "pca": Zp,
            "tsne": Zt,
            "pca_explained": ratio.tolist(),
            "knn_pca": knn_accuracy(Zp, ys),
            "knn_tsne": knn_accuracy(Zt, ys),
            "knn_hidden": knn_accuracy(H, ys),
            "silhouette_pca": silhouette(Zp, ys),
            "silhouette_tsne": silhouette(Zt, ys),
        }
        s = stages[name]
        ctx.echo(
            f"  {name:6s} (step {step:4d}): test acc {acc:.3f}  5-NN PCA {s['knn_pca']:.3f}  t-SNE "
            f"{s['knn_tsne']:.3f}  100-D {s['knn_hidden']:.3f}  silhouette PCA {s['silhouette_pca']:.3f}"
        )

    _plot(ctx, stages, ys, data.n_classes)
    rows = [(f"{name} (step {s['step']})", f"{100 * s['test_accuracy']:.1f}%", f"{100 * s['knn_pca']:.1f}%",
             f"{100 * s['knn_tsne']:.1f}%", f"{100 * s['knn_hidden']:.1f}%", f"{s['silhouette_pca']:.3f}",
             f"{100 * sum(s['pca_explained']):.1f}%") for name, s in stages.items()]  # fmt: skip
    notes = (f"MLP {data.n_features}-100-100-{data.n_classes} (ReLU, He init), Adam lr {lr:g}, batch 100, {epochs} "
             f"epochs on {len(data.y_train)} {ctx.data_choice.name} images; the last hidden layer's activations "
             f"for {len(ys)} test images. 5-NN: leave-one-out 5-nearest-neighbour accuracy in the picture. "
             f"t-SNE perplexity {perplexity:g}, {tsne_iter} iterations.")  # fmt: skip
    return ctx.finish(
        {"stages": stages, "epochs": epochs, "during_step": during_step, "n_show": len(ys), "labels": ys,
         "lr": lr, "perplexity": perplexity, "tsne_iterations": tsne_iter},
        ("moment", "test acc", "5-NN in PCA plane", "5-NN in t-SNE plane", "5-NN in 100-D", "PCA silhouette",
         "variance in 2 PCs"),
        rows, notes, "Hidden representations: PCA and t-SNE before, during and after training", lesson=LESSON,
    )  # fmt: skip


def _plot(ctx: Any, stages: dict[str, dict[str, Any]], y: np.ndarray, n_classes: int) -> None:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    fig, axes = new_figure(2, 3, size=(4.4, 4.2))
    for c, (name, s) in enumerate(stages.items()):
        for r, (key, label) in enumerate((("pca", "PCA"), ("tsne", "t-SNE"))):
            ax = axes[r, c]
            Z = np.asarray(s[key])
            for k in range(n_classes):
                m = y == k
                ax.scatter(Z[m, 0], Z[m, 1], s=7, color=cmap(k % 10), label=str(k), alpha=0.8, linewidths=0)
            knn = s[f"knn_{key}"]
            ax.set_title(f"{label}, {name} training (step {s['step']})\ntest acc {100 * s['test_accuracy']:.0f}%, "
                         f"5-NN in this plane {100 * knn:.0f}%", fontsize=9)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 2].legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5), title="class")
    fig.suptitle("The last hidden layer's activations in 2-D, coloured by class", fontsize=12)
    fig.tight_layout()
    ctx.savefig(fig, "representations.png")
