"""Experiment ``optimizer-paths``: where each optimiser walks on a 2-D function, over its contours.

The real kisonet optimisers move a 2-element :class:`~kisonet.nn.Parameter` ``w = (x, y)``; the
loss is computed with kisonet ops and differentiated by the engine, exactly as for a network.

=================  =====================================  ============  ===================
function           formula                                start         minimum
=================  =====================================  ============  ===================
notes-quadratic    E(w) = 0.1 w1^2 + 2 w2^2 (the notes)   (-5, -2)      (0, 0)
elongated          f(x, y) = x^2 / 20 + y^2               (-7, 2)       (0, 0)
saddle             f(x, y) = x^2 + (y^2 - 1)^2 / 4        (-2, 0.02)    (0, +-1); saddle (0, 0)
rosenbrock         f(x, y) = (1 - x)^2 + 100 (y - x^2)^2  (-1.2, 1)     (1, 1)
=================  =====================================  ============  ===================

Newton's method (``kisonet.optim.Newton``, the full Hessian by central differences) lands on a
quadratic's minimum in one step, and -- the lesson of the saddle -- is *attracted* to the saddle
point, where the gradient vanishes too, while the first-order methods roll off it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..io import atomic_write
from .common import Args, Lesson, experiment, new_figure

__all__ = ["LESSON", "FUNCTIONS", "OPTIMIZERS", "TestFunction", "optimizer_paths", "run_path"]

LESSON = Lesson(
    shows=(
        "On a quadratic, Newton's method lands on the minimum in one step while first-order methods zig-zag or "
        "crawl along the flat direction; momentum and the adaptive methods get closer in the same number of "
        "steps. On the saddle x² − y², first-order methods roll off into a minimum and Newton's method "
        "converges to the saddle point itself."
    ),
    reference=(
        "`kisonet experiment optimizer-paths` (committed full run, 60 steps on the quadratics): notes-quadratic "
        "distance to the minimum — SGD 1.49, Momentum 0.045, RMSprop 0.0016, Adam 0.21, Newton 0 (one step); "
        "saddle (150 steps): SGD, Momentum, Adam end at (0, ±1), Newton at the saddle (0, 0)."
    ),
)

OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "AdaDelta", "Adam", "AdamW", "AdaBelief", "Newton")
DIVERGED = 1e6  # |w| beyond this: stop the path, it has left for infinity
PATHS_FILE = "paths.npz"  # every point of every path (results.json keeps JSON_POINTS of each)
JSON_POINTS = 301


@dataclass
class TestFunction:
    """A 2-D test function ``f(x, y)`` (works on kisonet Tensors and on NumPy arrays alike)."""

    title: str
    f: Callable[[Any, Any], Any]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    steps: int
    quick_steps: int
    lrs: dict[str, float] = field(default_factory=dict)
    log_levels: bool = True


def _quad(x: Any, y: Any) -> Any:
    return 0.1 * x * x + 2.0 * y * y


def _elongated(x: Any, y: Any) -> Any:
    return x * x / 20.0 + y * y


def _saddle(x: Any, y: Any) -> Any:
    t = y * y - 1.0
    return x * x + t * t / 4.0


def _rosenbrock(x: Any, y: Any) -> Any:
    a = 1.0 - x
    b = y - x * x
    return a * a + 100.0 * b * b


def _rates(sgd: float, momentum: float, adagrad: float, rmsprop: float, adam: float) -> dict[str, float]:
    """The step sizes on one function: Nesterov's as Momentum's, AdamW's and AdaBelief's as Adam's,
    AdaDelta's PyTorch 1.0 and Newton's full step."""
    return {"SGD": sgd, "Momentum": momentum, "Nesterov": momentum, "AdaGrad": adagrad, "RMSprop": rmsprop,
            "AdaDelta": 1.0, "Adam": adam, "AdamW": adam, "AdaBelief": adam, "Newton": 1.0}  # fmt: skip


# Learning rates per function: each optimiser's usual rate scaled to the function's curvature
# (largest curvature 4, 2, 2 and ~1000 at the start), chosen so that the paths are stable and
# differences show; AdaDelta's lr is PyTorch's 1.0 throughout (its first steps are ~sqrt(eps)).
FUNCTIONS: dict[str, TestFunction] = {
    "notes-quadratic": TestFunction(
        "E(w) = 0.1 w₁² + 2 w₂²",
        _quad,
        (-5.0, -2.0),
        ((0.0, 0.0),),
        (-6.0, 6.0),
        (-3.0, 3.0),
        60,
        30,
        _rates(0.1, 0.1, 1.0, 0.1, 0.3),
    ),
    "elongated": TestFunction(
        "f(x, y) = x²/20 + y²",
        _elongated,
        (-7.0, 2.0),
        ((0.0, 0.0),),
        (-10.0, 10.0),
        (-5.0, 5.0),
        60,
        30,
        _rates(0.95, 0.1, 1.5, 0.1, 0.3),
    ),
    "saddle": TestFunction(
        "f(x, y) = x² + (y² − 1)²/4  (saddle at the origin)",
        _saddle,
        (-2.0, 0.02),
        ((0.0, 1.0), (0.0, -1.0)),
        (-2.5, 2.5),
        (-1.8, 1.8),
        150,
        60,
        _rates(0.1, 0.05, 0.5, 0.05, 0.1),
        log_levels=False,
    ),
    "rosenbrock": TestFunction(
        "Rosenbrock f(x, y) = (1 − x)² + 100 (y − x²)²",
        _rosenbrock,
        (-1.2, 1.0),
        ((1.0, 1.0),),
        (-2.0, 2.0),
        (-1.0, 3.0),
        3000,
        300,
        _rates(0.001, 0.0005, 0.5, 0.01, 0.05),
    ),
}


def _make(name: str, params: list[Any], lr: float) -> Any:
    """The optimizer titled ``name`` (``'AdaGrad'``, ``'Newton'``) with its registry defaults."""
    from ..optim import make_optimizer

    return make_optimizer(name, params, lr)


def run_path(
    f: Callable[[Any, Any], Any], start_point: tuple[float, float], optimizer: str, lr: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``f`` from ``start_point`` with the kisonet optimiser ``optimizer`` for ``steps`` steps.

    Returns ``(path, losses)``: ``path`` (k+1, 2) the points visited (the start first), ``losses``
    (k+1,) ``f`` there; ``k < steps`` when the path left for infinity or became NaN.
    """
    from ..autograd import tensor
    from ..nn import Parameter

    w = Parameter(tensor(np.asarray(start_point, dtype=np.float32)))
    opt = _make(optimizer, [w], lr)

    def loss_fn() -> Any:
        return f(w[0], w[1])

    def closure() -> Any:  # Newton: recompute the loss and its gradient (Newton clears grads itself)
        loss = loss_fn()
        loss.backward()
        return loss

    path = [np.array(w.data, dtype=np.float64)]
    losses = [float(loss_fn().data)]
    for _ in range(int(steps)):
        if optimizer == "Newton":
            opt.step(closure)
        else:
            opt.zero_grad()
            closure()
            opt.step()
        p = np.array(w.data, dtype=np.float64)
        value = float(f(p[0], p[1]))
        path.append(p)
        losses.append(value)
        if not (np.all(np.isfinite(p)) and math.isfinite(value)) or np.abs(p).max() > DIVERGED:
            break
    return np.asarray(path), np.asarray(losses)


@experiment("optimizer-paths", LESSON, needs_data=False)
def optimizer_paths(
    args: Args,
    functions: Any = None,
) -> dict[str, Any]:
    """Run every optimiser (Newton included) on each test function; returns the paths and numbers.

    Full: 60 steps on the quadratics, 150 on the saddle, 3,000 on Rosenbrock.  Quick: 30, 30, 60,
    300.  ``dataset``/``data_dir`` are accepted for a uniform signature and ignored (no data).
    """
    ctx = args.start()
    quick = ctx.quick
    names = list(FUNCTIONS) if functions is None else [str(n) for n in functions]
    results: dict[str, Any] = {}
    rows = []
    for fname in names:
        tf = FUNCTIONS[fname]
        steps = tf.quick_steps if quick else tf.steps
        per: dict[str, Any] = {}
        for opt in OPTIMIZERS:
            lr = tf.lrs[opt]
            path, losses = run_path(tf.f, tf.start, opt, lr, steps)
            end = path[-1]
            dist = min(float(np.hypot(*(end - np.asarray(m)))) for m in tf.minima)
            per[opt] = {
                "lr": lr,
                "path": path,
                "loss": losses,
                "final_point": end,
                "final_loss": float(losses[-1]),
                "distance_to_minimum": dist,
                "steps_run": len(path) - 1,
                "steps_to_1e-3": _steps_to(path, tf.minima, 1e-3),
                "diverged": len(path) - 1 < steps,
            }
            rows.append(
                (
                    fname,
                    opt,
                    f"{lr:g}",
                    len(path) - 1,
                    f"({end[0]:.3g}, {end[1]:.3g})",
                    f"{losses[-1]:.3g}",
                    f"{dist:.3g}",
                    per[opt]["steps_to_1e-3"] or "–",
                )
            )
        results[fname] = {"title": tf.title, "start": tf.start, "minima": tf.minima, "steps": steps, "runs": per}
        ctx.echo(f"  {fname}: " + ", ".join(f"{o} {per[o]['distance_to_minimum']:.2g}" for o in OPTIMIZERS))
        _plot_grid(ctx, fname, tf, per)
        _plot_losses(ctx, fname, tf, per)
    notes = (
        "distance = from the end point to the nearest minimum; steps to 1e-3 = first step within 1e-3 of a "
        "minimum (– never). On the saddle Newton's method converges to the saddle point (0, 0), not a minimum."
    )
    arrays = {f"{f}/{o}/{k}": np.asarray(r[k]) for f, v in results.items() for o, r in v["runs"].items()
              for k in ("path", "loss")}  # fmt: skip
    with atomic_write(ctx.path(PATHS_FILE), "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return ctx.finish(
        {"functions": results, "paths_file": PATHS_FILE},
        ("function", "optimizer", "lr", "steps", "end point", "f(end)", "distance to minimum", "steps to 1e-3"),
        rows,
        notes,
        "Optimiser paths on 2-D functions",
        json_results={"functions": _thinned(results), "paths_file": PATHS_FILE},
    )


def _thinned(results: dict[str, Any], keep: int = JSON_POINTS) -> dict[str, Any]:
    """A copy of ``results`` whose long paths and loss curves keep ``keep`` evenly spaced points (the
    first and last included) for ``results.json``; the full arrays are in ``paths.npz``."""
    out: dict[str, Any] = {}
    for fname, v in results.items():
        runs = {}
        for opt, r in v["runs"].items():
            n = len(r["path"])
            idx = np.unique(np.linspace(0, n - 1, min(n, keep)).round().astype(int))
            runs[opt] = {**r, "path": r["path"][idx], "loss": r["loss"][idx], "json_steps": idx}
        out[fname] = {**v, "runs": runs}
    return out


def _steps_to(path: np.ndarray, minima: Any, tol: float) -> int | None:
    d = np.min([np.hypot(*(path - np.asarray(m)).T) for m in minima], axis=0)
    hit = np.flatnonzero(d < tol)
    return int(hit[0]) if hit.size else None


def _contour(ax: Any, tf: TestFunction) -> None:
    x = np.linspace(*tf.xlim, 300)
    y = np.linspace(*tf.ylim, 300)
    X, Y = np.meshgrid(x, y)
    Z = tf.f(X, Y)
    if tf.log_levels:
        lo = max(float(Z.min()), 1e-3)
        levels = np.geomspace(lo, float(Z.max()), 20)
    else:
        levels = np.linspace(float(Z.min()), float(np.percentile(Z, 95)), 20)
    ax.contour(X, Y, Z, levels=levels, cmap="Greys", linewidths=0.6, alpha=0.8)
    for m in tf.minima:
        ax.plot(*m, "+", color="k", ms=9, mew=1.5)
    ax.set_xlim(*tf.xlim)
    ax.set_ylim(*tf.ylim)


def _plot_grid(ctx: Any, fname: str, tf: TestFunction, per: dict[str, Any]) -> None:
    ncols = 5
    nrows = math.ceil(len(per) / ncols)
    fig, axes = new_figure(nrows, ncols, size=(3.2, 2.7))
    for i, (opt, r) in enumerate(per.items()):
        ax = axes[i // ncols, i % ncols]
        _contour(ax, tf)
        ax.set_facecolor("white")
        p = np.clip(r["path"], -1e3, 1e3)
        ax.plot(p[:, 0], p[:, 1], "-o", color="C3", ms=2.2, lw=1.0)
        ax.plot(*tf.start, "o", color="C0", ms=5)
        ax.set_title(f"{opt} (lr {r['lr']:g})", fontsize=10)
        if i % ncols == 0:
            ax.set_ylabel("y")
        if i // ncols == nrows - 1:
            ax.set_xlabel("x")
        ax.tick_params(labelsize=7)
    steps = max((r["steps_run"] for r in per.values()), default=0)
    fig.suptitle(f"{tf.title}: paths of up to {steps} steps from {tf.start} (+ = minimum)")
    fig.tight_layout()
    ctx.savefig(fig, f"paths_{fname}.png")


def _plot_losses(ctx: Any, fname: str, tf: TestFunction, per: dict[str, Any]) -> None:
    fig, axes = new_figure(1, 1, size=(6.4, 4.2))
    ax = axes[0, 0]
    floor = 1e-12
    for i, (opt, r) in enumerate(per.items()):
        v = np.maximum(np.asarray(r["loss"]), floor) if tf.log_levels else np.asarray(r["loss"])
        ax.plot(np.arange(len(v)), v, "-" if i < 5 else "--", color=f"C{i}", label=opt, lw=1.3)
    if tf.log_levels:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f(x, y)" + (" (log)" if tf.log_levels else ""))
    ax.set_title(tf.title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ctx.savefig(fig, f"loss_{fname}.png")
