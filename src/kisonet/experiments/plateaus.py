"""Experiment ``plateaus``: a saddle point holds full-batch gradient descent; SGD's noise lets go.

Keio lecture 4 (学習において問題となるケース) lists plateaus (勾配が 0) and saddle points (勾配は 0
であるが局所的極小値ではない点) and says of SGD: 勾配が揺らぐ → 局所解や鞍点からの脱出を助ける.
Measured here on the smallest model that has a strict saddle, a two-parameter w = (w1, w2) fitted to
N samples (a_i, c_i), c_i = +-1, with per-sample loss

    l_i(w) = 1/2 (w1 - a_i)^2 + 1/4 w2^4 - 1/2 w2^2 + c_i w2,      mean_i a_i = mean_i c_i = 0.

The training loss E(w) = mean_i l_i(w) = 1/2 w1^2 + 1/4 w2^4 - 1/2 w2^2 + const has a saddle at
(0, 0) (a minimum along w1, a maximum along w2) and minima at (0, +-1).  The full-batch gradient
along w2 vanishes on the whole line w2 = 0, but a mini-batch's does not: its c_B = mean_B c_i is
noise.  From the same start (2, 0), with the same step size, kisonet's ``SGD`` (autograd gradients):

* full-batch gradient descent slides into the saddle and stops there: the loss sits on a plateau
  and the gradient norm falls to 0, although this is not a minimum;
* started 1e-6 off the line, full-batch descent does leave, but only after a long plateau: the
  distance grows like e^(eps t), so escaping takes about ln(1e6) / eps steps;
* mini-batch SGD is kicked off the line at once by its noise and reaches a minimum in a few
  dozen steps (measured over many seeds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure

__all__ = ["LESSON", "descend", "plateaus", "saddle_data"]

LESSON = Lesson(
    shows=(
        "Full-batch gradient descent started on the saddle's stable line slides into the saddle point and "
        "stays: the loss stays on a plateau above the minima while the gradient norm falls to zero, which alone "
        "cannot tell a saddle from a minimum. Started a hair (1e-6) off the line it escapes only after a long "
        "plateau. Mini-batch SGD from the same start, with the same step size, is pushed off the saddle by its "
        "gradient noise and reaches a minimum many times sooner."
    ),
    reference=(
        "`kisonet experiment plateaus` (200 samples, step 0.05, batch 10, 600 steps, 20 SGD seeds): full-batch "
        "GD from (2, 0) never escapes (loss stays at the saddle's 0.4619, gradient norm 3.4e-08); full-batch GD "
        "from (2, 1e-6) escapes at step 272; mini-batch SGD at step 58 (median, 20 of 20 seeds escape), ending "
        "at the minima's loss 0.2119."
    ),
)

ESCAPED = 0.5  # |w2| beyond this: off the saddle, in a minimum's basin


def saddle_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples (a_i, c_i): a_i centred normal, c_i = +-1, exactly half each, so that the full-batch
    gradient along w2 is exactly 0 on w2 = 0 -- also in float32 (a sum of +-1 has no rounding error)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    c = rng.permutation(np.repeat([1.0, -1.0], [n - n // 2, n // 2]))
    if n % 2:
        c[np.flatnonzero(c > 0)[0]] = 0.0
    return (a - a.mean()).astype(np.float32), c.astype(np.float32)


def _full_loss(w: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
    w1, w2 = float(w[0]), float(w[1])
    return float(np.mean(0.5 * (w1 - a) ** 2) + 0.25 * w2**4 - 0.5 * w2**2 + np.mean(c) * w2)


def _full_grad_norm(w: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
    w1, w2 = float(w[0]), float(w[1])
    return float(np.hypot(w1 - np.mean(a), w2**3 - w2 + np.mean(c)))


def descend(
    a: np.ndarray, c: np.ndarray, w0: tuple[float, float], lr: float, steps: int, batch: int | None, seed: int
) -> dict[str, Any]:
    """Gradient descent on the model with kisonet (autograd + ``optim.SGD``); ``batch=None``: full batch.

    Returns the path, the full training loss and full-batch gradient norm at every iterate, and the
    first step at which |w2| > 0.5 (None: never).
    """
    from ..autograd import Tensor
    from ..optim import SGD

    w = Tensor(np.asarray(w0, dtype=np.float32), requires_grad=True)
    opt = SGD([w], lr=lr)
    rng = np.random.default_rng(seed)
    path = [np.array(w.data, dtype=np.float64)]
    n = len(a)
    for _ in range(steps):
        idx = np.arange(n) if batch is None else rng.choice(n, size=batch, replace=False)
        ab, cb = Tensor(a[idx]), Tensor(c[idx])
        w1, w2 = w[0], w[1]
        # mean_i l_i, with the c-term summed before it multiplies w2: its gradient is then mean(c_B)
        # itself, exactly 0 on the full batch (no rounding in a sum of +-1)
        loss = (0.5 * (w1 - ab) ** 2).mean() + cb.mean() * w2 + 0.25 * w2**4 - 0.5 * w2**2
        opt.zero_grad()
        loss.backward()
        opt.step()
        path.append(np.array(w.data, dtype=np.float64))
    P = np.stack(path)
    escaped = np.flatnonzero(np.abs(P[:, 1]) > ESCAPED)
    return {
        "path": P,
        "loss": np.array([_full_loss(p, a, c) for p in P]),
        "grad_norm": np.array([_full_grad_norm(p, a, c) for p in P]),
        "escape_step": int(escaped[0]) if len(escaped) else None,
    }


@experiment("plateaus", LESSON, needs_data=False)
def plateaus(
    args: Args,
    n_samples: int = 200,
    lr: float = 0.05,
    batch_size: int = 10,
    steps: int | None = None,
    n_seeds: int | None = None,
    offset: float = 1e-6,
) -> dict[str, Any]:
    """Run the experiment; returns the runs' paths, losses, gradient norms and escape steps.

    Full: 600 steps, 20 SGD seeds.  Quick: 400 steps, 5 seeds.
    """
    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    steps = int(steps if steps is not None else (400 if quick else 600))
    n_seeds = int(n_seeds if n_seeds is not None else (5 if quick else 20))
    a, c = saddle_data(n_samples, seed)
    saddle_loss = _full_loss(np.zeros(2), a, c)
    min_loss = _full_loss(np.array([0.0, 1.0]), a, c)
    gd = descend(a, c, (2.0, 0.0), lr, steps, None, seed)
    gd_off = descend(a, c, (2.0, offset), lr, steps, None, seed)
    sgd = [descend(a, c, (2.0, 0.0), lr, steps, batch_size, seed + 1 + k) for k in range(n_seeds)]
    esc = [r["escape_step"] for r in sgd]
    done = [e for e in esc if e is not None]
    median = float(np.median(done)) if done else None
    ctx.echo(f"  full-batch GD from (2, 0): escape step {gd['escape_step']}, final gradient norm "
             f"{gd['grad_norm'][-1]:.1e}, final loss {gd['loss'][-1]:.4f} (saddle {saddle_loss:.4f}, minimum "
             f"{min_loss:.4f})")  # fmt: skip
    ctx.echo(f"  full-batch GD from (2, {offset:g}): escape step {gd_off['escape_step']}")
    ctx.echo(f"  mini-batch SGD (batch {batch_size}): {len(done)}/{n_seeds} escape, median step {median}")

    _plot(ctx, a, c, gd, gd_off, sgd, saddle_loss, min_loss, offset, batch_size, lr)
    fmt = lambda e: "never" if e is None else str(e)  # noqa: E731
    rows = [
        ("full-batch GD from (2, 0)", fmt(gd["escape_step"]), f"{gd['loss'][-1]:.4f}", f"{gd['grad_norm'][-1]:.1e}"),
        (f"full-batch GD from (2, {offset:g})", fmt(gd_off["escape_step"]), f"{gd_off['loss'][-1]:.4f}",
         f"{gd_off['grad_norm'][-1]:.1e}"),
        (f"mini-batch SGD, batch {batch_size} (median of {n_seeds} seeds)",
         f"{fmt(None if median is None else int(median))} ({len(done)}/{n_seeds} escape)",
         f"{np.median([r['loss'][-1] for r in sgd]):.4f}", f"{np.median([r['grad_norm'][-1] for r in sgd]):.1e}"),
    ]  # fmt: skip
    notes = (f"{n_samples} samples, step size {lr:g}, {steps} steps. Training loss at the saddle {saddle_loss:.4f}, "
             f"at the minima {min_loss:.4f}. Escape: first step with |w₂| > {ESCAPED}. Gradient norm: of the "
             "full-batch loss at the iterate.")  # fmt: skip
    return ctx.finish(
        {"steps": steps, "lr": lr, "batch_size": batch_size, "n_samples": n_samples, "offset": offset,
         "saddle_loss": saddle_loss, "minimum_loss": min_loss,
         "full_batch": {k: gd[k] for k in ("loss", "grad_norm", "escape_step")},
         "full_batch_offset": {k: gd_off[k] for k in ("loss", "grad_norm", "escape_step")},
         "sgd_escape_steps": esc, "sgd_median_escape_step": median, "sgd_escaped": len(done),
         "sgd_final_loss": [float(r["loss"][-1]) for r in sgd],
         "sgd_example": {k: sgd[0][k] for k in ("loss", "grad_norm", "escape_step")}},
        ("run", "escape step (|w₂| > 0.5)", "final training loss", "final gradient norm"),
        rows, notes, "Plateaus and saddle points: full-batch GD vs mini-batch SGD", lesson=LESSON,
    )  # fmt: skip


def _plot(ctx: Any, a: np.ndarray, c: np.ndarray, gd: dict[str, Any], gd_off: dict[str, Any],
          sgd: list[dict[str, Any]], saddle_loss: float, min_loss: float, offset: float, batch: int,
          lr: float) -> None:  # fmt: skip
    fig, axes = new_figure(1, 3, size=(4.8, 4.0))
    ax = axes[0, 0]
    g1, g2 = np.meshgrid(np.linspace(-0.6, 2.2, 150), np.linspace(-1.5, 1.5, 150))
    E = 0.5 * g1**2 + 0.25 * g2**4 - 0.5 * g2**2
    ax.contour(g1, g2, E, levels=np.linspace(E.min(), 1.5, 16), colors="0.7", linewidths=0.7)
    for k, r in enumerate(sgd[:5]):
        ax.plot(r["path"][:, 0], r["path"][:, 1], "-", lw=0.9, color="C2", alpha=0.8,
                label=f"mini-batch SGD (batch {batch})" if k == 0 else None)  # fmt: skip
    ax.plot(
        gd_off["path"][:, 0], gd_off["path"][:, 1], "-", lw=1.5, color="C1", label=f"full batch, w₂(0) = {offset:g}"
    )
    ax.plot(gd["path"][:, 0], gd["path"][:, 1], "-", lw=2, color="C3", label="full batch, w₂(0) = 0")
    ax.plot([0, 0, 0], [0, 1, -1], "k", ls="none", marker="x", ms=8)
    ax.annotate("saddle", (0, 0), (0.15, 0.12), fontsize=8)
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")
    ax.set_title("Paths from (2, 0) over the training loss")
    ax.legend(fontsize=7, loc="lower right")
    steps = np.arange(len(gd["loss"]))
    for ax, key, ylabel, log in ((axes[0, 1], "loss", "training loss", False),
                                 (axes[0, 2], "grad_norm", "‖∇E(w)‖ (full batch, log)", True)):  # fmt: skip
        for k, r in enumerate(sgd):
            ax.plot(steps, np.maximum(r[key], 1e-16), "-", lw=0.7, color="C2", alpha=0.35,
                    label="mini-batch SGD (each seed)" if k == 0 else None)  # fmt: skip
        ax.plot(steps, np.maximum(gd_off[key], 1e-16), "-", lw=1.5, color="C1", label=f"full batch, w₂(0) = {offset:g}")
        ax.plot(steps, np.maximum(gd[key], 1e-16), "-", lw=2, color="C3", label="full batch, w₂(0) = 0")
        if log:
            ax.set_yscale("log")
        else:
            ax.axhline(saddle_loss, color="k", ls=":", lw=1)
            ax.axhline(min_loss, color="k", ls="--", lw=1)
            ax.annotate("saddle", (steps[-1], saddle_loss), ha="right", va="bottom", fontsize=8)
            ax.annotate("minima", (steps[-1], min_loss), ha="right", va="bottom", fontsize=8)
        ax.set_xlabel(f"step (step size {lr:g})")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0, 1].set_title("Loss: a plateau at the saddle")
    axes[0, 2].set_title("Gradient norm → 0 at the saddle too")
    fig.tight_layout()
    ctx.savefig(fig, "plateaus.png")
