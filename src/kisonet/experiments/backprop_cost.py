"""Experiment ``backprop-cost``: the cost of reverse- vs forward-mode differentiation, measured.

The notes justify back-propagation by its cost: the gradient of a loss with respect to all the
weights costs about one more forward pass, however many weights there are.  Here the whole
Jacobian ``J = df/dx`` (m x n) of

    f(x) = W_L tanh( ... tanh(W_1 x + b_1) ... ) + b_L,     x in R^n, f(x) in R^m

(``depth`` tanh layers of ``width`` units) is computed two ways and each is timed and counted:

reverse mode   kisonet's autograd: one forward pass records the graph, then one backward pass
               per output, seeded with the unit vector e_i, gives the row J[i, :] (``x.grad``).
               Cost: 1 forward + m backward passes.
forward mode   dual numbers x + eps t (eps^2 = 0): every operation carries a value and a tangent,
               ``(W v, W t)``, ``(tanh v, (1 - tanh^2 v) t)``; seeding t = e_j gives the column
               J[:, j] in one pass.  Cost: n passes, each about twice a plain forward pass.

Op counts are counted as the passes run: multiply-adds of every matrix product and element-wise
operation executed (forward mode: by the dual numbers themselves; reverse mode: by walking the
recorded graph, each node once per pass).  Two sweeps: a scalar output (m = 1, a loss) with the
number of inputs n growing, and n fixed with the number of outputs m growing.  The two Jacobians
are checked against each other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import Args, Lesson, experiment, new_figure

__all__ = ["LESSON", "Dual", "backprop_cost", "jacobian_forward", "jacobian_reverse", "make_layers"]

LESSON = Lesson(
    shows=(
        "Reverse mode (back-propagation) pays one forward pass plus one backward pass per output; forward mode "
        "pays one dual-number pass per input. For a scalar loss (m = 1) the reverse-mode cost stays flat as the "
        "number of inputs n grows while forward mode's grows in proportion to n; with n fixed and many outputs "
        "the roles swap. The measured times and the counted multiply-adds show the same two straight lines on "
        "log-log axes: that asymmetry is why networks are trained by back-propagation."
    ),
    reference=(
        "`kisonet experiment backprop-cost` (4 tanh layers of 64 units, float32, CPU time, best of 5 repeats): "
        "m = 1, n = 512: reverse 2.3e-04 s / 9.2e+04 multiply-adds, forward 1.8e-02 s / 4.7e+07 (77x the time, "
        "511x the multiply-adds: at these sizes each pass is mostly Python's per-operation overhead); n = 64, "
        "m = 512: reverse 2.7e-02 s / 2.6e+07, forward 2.2e-03 s / 6.4e+06. The two Jacobians agree to 8.9e-08."
    ),
)


# --- forward mode: dual numbers -------------------------------------------------------------


class Dual:
    """A dual number ``value + eps * tangent`` (eps^2 = 0), with a shared multiply-add counter.

    Only what ``f`` needs: products with a constant matrix, adding a constant, tanh.
    """

    def __init__(self, value: np.ndarray, tangent: np.ndarray, counter: list[int]) -> None:
        self.value, self.tangent, self.counter = value, tangent, counter

    def matmul(self, W: np.ndarray) -> Dual:
        """``x @ W``: (v W, t W) -- the tangent goes through the same linear map."""
        self.counter[0] += 2 * self.value.size * W.shape[1]  # two products: value and tangent
        return Dual(self.value @ W, self.tangent @ W, self.counter)

    def add(self, b: np.ndarray) -> Dual:
        """``x + b`` with b constant: the tangent is unchanged."""
        self.counter[0] += self.value.size
        return Dual(self.value + b, self.tangent, self.counter)

    def tanh(self) -> Dual:
        """(tanh v, (1 - tanh^2 v) t)."""
        y = np.tanh(self.value)
        self.counter[0] += 3 * y.size
        return Dual(y, (1.0 - y * y) * self.tangent, self.counter)


def make_layers(n_in: int, n_out: int, width: int, depth: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``depth`` hidden layers of ``width`` units and an output layer: ``[(W, b), ...]``, W of shape
    (fan_in, fan_out), Xavier-scaled so that tanh neither saturates nor vanishes."""
    rng = np.random.default_rng(seed)
    sizes = [n_in, *([width] * depth), n_out]
    return [
        (
            (rng.standard_normal((a, b)) * np.sqrt(1.0 / a)).astype(np.float32),
            (0.1 * rng.standard_normal(b)).astype(np.float32),
        )
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def jacobian_forward(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> tuple[np.ndarray, int]:
    """The Jacobian by forward mode, one dual-number pass per input: ``(J (m, n), multiply-adds)``."""
    n = x.shape[0]
    counter = [0]
    cols = []
    for j in range(n):
        t = np.zeros(n, dtype=x.dtype)
        t[j] = 1.0
        h = Dual(x[None, :], t[None, :], counter)
        for k, (W, b) in enumerate(layers):
            h = h.matmul(W).add(b)
            if k < len(layers) - 1:
                h = h.tanh()
        cols.append(h.tangent[0])
    return np.stack(cols, axis=1), counter[0]


# multiply-adds of one node, forward and backward (per input that needs a gradient)
def _node_cost(fn: Any) -> tuple[int, int]:
    shapes = [tuple(t.shape) for t in fn.inputs]
    needs = list(fn.needs_input_grad)
    name = type(fn).__name__
    if name == "MatMul":
        (p, q), (_, r) = shapes[0], shapes[1]
        fwd = p * q * r
        return fwd, fwd * sum(needs)
    size = int(np.prod(np.broadcast_shapes(*shapes)))
    if name == "Tanh":
        return size, 2 * size  # y = tanh(u); backward g (1 - y^2)
    return size, size * sum(needs)


def _graph_cost(y: Any) -> tuple[int, int, int]:
    """Walk the graph recorded for ``y``: (nodes, forward multiply-adds, backward multiply-adds per pass)."""
    seen: set[int] = set()
    stack = [y.grad_fn]
    nodes = fwd = bwd = 0
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes += 1
        f, b = _node_cost(fn)
        fwd, bwd = fwd + f, bwd + b
        stack.extend(t.grad_fn for t in fn.inputs if t.requires_grad)
    return nodes, fwd, bwd


def jacobian_reverse(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> tuple[np.ndarray, int]:
    """The Jacobian by kisonet's reverse mode, one backward pass per output: ``(J (m, n), multiply-adds)``."""
    from ..autograd import Tensor

    xt = Tensor(x[None, :], requires_grad=True)
    h = xt
    for k, (W, b) in enumerate(layers):
        h = h @ Tensor(W) + Tensor(b)
        if k < len(layers) - 1:
            h = h.tanh()
    m = h.shape[1]
    _, fwd, bwd = _graph_cost(h)
    rows = []
    for i in range(m):
        seed = np.zeros((1, m), dtype=np.float32)
        seed[0, i] = 1.0
        xt.grad = None
        h.backward(seed, retain_graph=i < m - 1)
        rows.append(np.array(xt.grad[0]))
    return np.stack(rows, axis=0), fwd + m * bwd


def _time(fn: Any, repeats: int) -> tuple[float, Any]:
    """CPU seconds of ``fn()`` (process time: a shared machine's waiting for a core is not counted),
    the best of ``repeats``, and its result."""
    best: list[float] = []
    out = None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best.append(time.process_time() - t0)
    return float(np.min(best)), out  # the least disturbed repeat: the machine may be shared


@experiment("backprop-cost", LESSON, needs_data=False)
def backprop_cost(
    args: Args,
    sizes: Sequence[int] | None = None,
    fixed: int = 64,
    width: int = 64,
    depth: int = 4,
    repeats: int | None = None,
) -> dict[str, Any]:
    """Run the experiment; returns, per sweep and size, both modes' seconds and multiply-adds.

    Full: n (then m) in 1, 2, 4, ..., 512, the other fixed at 1 (then ``fixed`` = 64), best of 5
    repeats.  Quick: sizes up to 128, 2 repeats.
    """
    ctx = args.start()
    quick, seed = ctx.quick, ctx.seed
    sizes = [int(s) for s in (sizes if sizes is not None else ([1, 4, 16, 64, 128] if quick else
                                                                [2**k for k in range(10)]))]  # fmt: skip
    repeats = int(repeats if repeats is not None else (2 if quick else 5))
    ctx.echo(f"  f: R^n -> R^m, {depth} tanh layers of {width}; sizes {sizes}; best of {repeats} repeats")
    sweeps: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
    max_diff = 0.0
    for sweep in ("inputs", "outputs"):
        for s in sizes:
            n, m = (s, 1) if sweep == "inputs" else (fixed, s)
            layers = make_layers(n, m, width, depth, seed)
            x = np.random.default_rng(seed + 1).standard_normal(n).astype(np.float32)
            t_rev, (J_rev, ops_rev) = _time(lambda layers=layers, x=x: jacobian_reverse(layers, x), repeats)
            t_fwd, (J_fwd, ops_fwd) = _time(lambda layers=layers, x=x: jacobian_forward(layers, x), repeats)
            diff = float(np.abs(J_rev - J_fwd).max())
            max_diff = max(max_diff, diff)
            sweeps[sweep].append(
                {
                    "n": n,
                    "m": m,
                    "reverse_seconds": t_rev,
                    "forward_seconds": t_fwd,
                    "reverse_madds": ops_rev,
                    "forward_madds": ops_fwd,
                    "max_abs_diff": diff,
                }
            )
            ctx.echo(f"  n={n:4d} m={m:4d}  reverse {t_rev:.2e} s {ops_rev:.2e} madds   forward {t_fwd:.2e} s "
                     f"{ops_fwd:.2e} madds")  # fmt: skip

    _plot(ctx, sweeps, width, depth, fixed)
    rows = []
    for sweep, label in (("inputs", "m = 1, n ="), ("outputs", f"n = {fixed}, m =")):
        for r in (sweeps[sweep][0], sweeps[sweep][-1]):
            s = r["n"] if sweep == "inputs" else r["m"]
            rows.append((f"{label} {s}", f"{r['reverse_seconds']:.2e}", f"{r['forward_seconds']:.2e}",
                         f"{r['forward_seconds'] / r['reverse_seconds']:.2g}", f"{r['reverse_madds']:.2e}",
                         f"{r['forward_madds']:.2e}"))  # fmt: skip
    big = sweeps["inputs"][-1]
    notes = (f"f: R^n -> R^m, {depth} tanh layers of {width} units, float32. Times: CPU seconds, best of {repeats} "
             f"repeats, one BLAS thread. At m = 1, n = {big['n']} forward mode takes "
             f"{big['forward_seconds'] / big['reverse_seconds']:.0f}x the time and "
             f"{big['forward_madds'] / big['reverse_madds']:.0f}x the multiply-adds of reverse mode (the time "
        "ratio is the smaller: at these sizes each pass is mostly Python's per-operation overhead). Largest "
             f"difference between the two Jacobians: {max_diff:.1e}.")  # fmt: skip
    return ctx.finish(
        {"sweeps": sweeps, "width": width, "depth": depth, "fixed": fixed, "repeats": repeats,
         "max_abs_diff": max_diff},
        ("case", "reverse (CPU s)", "forward (CPU s)", "forward / reverse time", "reverse multiply-adds",
         "forward multiply-adds"),
        rows, notes, "The cost of reverse- vs forward-mode differentiation", lesson=LESSON,
    )  # fmt: skip


def _plot(ctx: Any, sweeps: dict[str, list[dict[str, Any]]], width: int, depth: int, fixed: int) -> None:
    fig, axes = new_figure(2, 2, size=(4.6, 3.4))
    for c, (sweep, xlabel) in enumerate((("inputs", "number of inputs n  (m = 1: a loss)"),
                                         ("outputs", f"number of outputs m  (n = {fixed})"))):  # fmt: skip
        rs = sweeps[sweep]
        xs = [r["n"] if sweep == "inputs" else r["m"] for r in rs]
        for r_, (key, ylabel) in enumerate((("seconds", "CPU time for the whole Jacobian (s)"),
                                            ("madds", "multiply-adds (counted)"))):  # fmt: skip
            ax = axes[r_, c]
            ax.loglog(xs, [r[f"reverse_{key}"] for r in rs], "o-", color="C0", label="reverse mode (backprop)")
            ax.loglog(xs, [r[f"forward_{key}"] for r in rs], "s-", color="C3", label="forward mode (dual numbers)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            if r_ == 0 and c == 0:
                ax.legend(fontsize=8)
    fig.suptitle(f"Jacobian of an MLP ({depth} tanh layers of {width}): reverse mode costs ~ m passes, "
                 "forward mode ~ n passes", fontsize=11)  # fmt: skip
    fig.tight_layout()
    ctx.savefig(fig, "backprop_cost.png")
