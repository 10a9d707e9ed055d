"""``summary(model, input_shape)``: a table of layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..backend import get_default_dtype
from .module import Module

__all__ = ["summary"]


def _shape(out: Any) -> str:
    if isinstance(out, Tensor):
        return str(tuple(out.shape))
    if isinstance(out, (tuple, list)):
        return ", ".join(_shape(o) for o in out)
    if isinstance(out, np.ndarray):
        return str(out.shape)
    return type(out).__name__


def summary(model: Module, input_shape: tuple[int, ...], dtype: Any = None, print_fn: Any = print) -> str:
    """Run one forward pass on a random input of ``input_shape`` (batch axis included,
    e.g. ``(1, 1, 28, 28)``) and return (and print with ``print_fn``; None prints
    nothing) a table with, for each leaf layer, its dotted name, type, output shape
    and own parameter count, followed by the totals.

    The pass runs under ``no_grad`` in eval mode (no dropout draws, no running
    statistics updated) on a private random generator; the model's mode is restored.
    """
    rows: list[tuple[str, str, str, int]] = []
    removers = []
    for name, m in model.named_modules():
        if next(m.children(), None) is not None and m is not model:
            continue
        if m is model and next(m.children(), None) is not None:
            continue

        def hook(mod: Module, args: tuple, out: Any, name: str = name) -> None:
            own = sum(p.size for p in mod._parameters.values() if p is not None)
            rows.append((name or type(mod).__name__, type(mod).__name__, _shape(out), int(own)))

        removers.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
    x = Tensor(np.random.default_rng(0).standard_normal(tuple(input_shape)).astype(dtype))
    try:
        model.eval()
        with no_grad():
            out = model(x)
    finally:
        for r in removers:
            r()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    total = model.num_parameters()
    trainable = int(sum(p.size for p in model.parameters() if p.requires_grad))
    header = ("Layer", "Type", "Output shape", "Params")
    table = [header, *[(n, t, s, f"{p:,}") for n, t, s, p in rows]]
    widths = [max(len(str(r[i])) for r in table) for i in range(4)]

    def fmt(r: tuple) -> str:
        return "  ".join(
            str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    rule = "-" * len(fmt(header))
    lines = [fmt(header), rule, *[fmt(r) for r in table[1:]], rule]
    lines.append(f"Input shape: {tuple(input_shape)}   Output shape: {_shape(out)}")
    lines.append(f"Total params: {total:,}   Trainable: {trainable:,}   Non-trainable: {total - trainable:,}")
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
