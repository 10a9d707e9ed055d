"""Anomaly detection: find the op whose backward produced the first NaN or Inf.

    with kn.detect_anomaly():
        loss = model(x).log().mean()
        loss.backward()      # NumericalError: Log backward returned a non-finite gradient ...

Inside the context every recorded :class:`~kisonet.autograd.Function` keeps the
stack of the Python line that created it (its *creation site*), and the
backward engine checks every gradient it computes.  Backward runs from the
output towards the inputs, and the engine checks the output gradient and then
each op's results as they are produced, so the first non-finite array found
was made by an op whose incoming gradient dL/dy was finite: that op, its
input and the line that created it are named in the
:class:`~kisonet.errors.NumericalError`.  A Function whose ``backward``
raises gets its creation site added to the exception as a note.

The checks cost a stack capture per op and one ``isfinite`` reduction per
gradient, so turn anomaly detection on to debug, not to train (PyTorch's
``torch.autograd.detect_anomaly`` makes the same trade).  The switch is
process-wide, as in PyTorch.
"""

from __future__ import annotations

import contextlib
import traceback
from typing import Any

import numpy as np

from ..errors import NumericalError
from ..lang import tr

__all__ = ["detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]

# Read by Function.apply and run_backward on every call: a plain module global is the
# cheapest check when anomaly detection is off (the normal case).
enabled = False

# Frames of the engine itself, dropped from a recorded creation site.
_ENGINE_FILES = ("autograd/function.py", "autograd/ops.py", "autograd/tensor.py", "autograd/anomaly.py")
_MAX_FRAMES = 6  # the innermost frames: the user's model code, not the caller's framework


def is_anomaly_enabled() -> bool:
    """True inside :class:`detect_anomaly` (or after ``set_detect_anomaly(True)``)."""
    return enabled


class set_detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off: ``kn.set_detect_anomaly(True)`` for the rest
    of the process, or ``with kn.set_detect_anomaly(flag):`` for a block."""

    def __init__(self, mode: bool) -> None:
        global enabled
        self._prev = enabled
        self._mode = bool(mode)
        enabled = self._mode

    def __enter__(self) -> None:
        global enabled
        enabled = self._mode

    def __exit__(self, *exc: object) -> bool:
        global enabled
        enabled = self._prev
        return False


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: record each op's creation site and check every
    backward gradient for NaN/Inf, raising :class:`~kisonet.errors.NumericalError`
    that names the first op producing one (see the module docstring)."""

    def __enter__(self) -> detect_anomaly:
        global enabled
        self._prev = enabled
        enabled = True
        return self

    def __exit__(self, *exc: object) -> bool:
        global enabled
        enabled = self._prev
        return False


def creation_site() -> list[traceback.FrameSummary]:
    """The caller's stack without the engine's own frames (innermost last)."""
    stack = traceback.extract_stack()
    frames = [f for f in stack if not f.filename.replace("\\", "/").endswith(_ENGINE_FILES)]
    return frames[-_MAX_FRAMES:]


def format_site(fn: Any) -> str:
    frames = getattr(fn, "_anomaly_site", None)
    if not frames:
        return "  (creation site not recorded: the op was created outside detect_anomaly)"
    return "".join(traceback.format_list(frames)).rstrip("\n")


def _describe(a: np.ndarray) -> str:
    n_nan = int(np.isnan(a).sum())
    n_inf = int(np.isinf(a).sum())
    return tr("{0} NaN and {1} Inf of {2} entries", n_nan, n_inf, a.size)


def _non_finite(a: Any) -> bool:
    a = np.asarray(a)
    return a.dtype.kind in "fc" and not np.isfinite(a).all()


def check_root(grad: np.ndarray) -> None:
    """The gradient handed to ``backward()`` (1 for a scalar loss) must be finite."""
    if _non_finite(grad):
        raise NumericalError(
            tr(
                "detect_anomaly: the gradient given to backward() has {0}; the NaN/Inf comes from outside the graph",
                _describe(grad),
            )
        )


def check_output_grads(fn: Any, in_grads: tuple, needs: tuple) -> None:
    """Raise if ``fn.backward`` returned a non-finite gradient (its incoming one was finite)."""
    for i, (gi, need) in enumerate(zip(in_grads, needs, strict=False)):
        if need and gi is not None and _non_finite(gi):
            gi = np.asarray(gi)
            inp = fn.inputs[i] if fn.inputs is not None and i < len(fn.inputs) else None
            in_desc = ""
            if inp is not None:
                x = inp._data
                bad_x = " (itself containing NaN/Inf)" if _non_finite(x) else ""
                in_desc = f" (input of shape {tuple(x.shape)}, dtype {x.dtype}{bad_x})"
            raise NumericalError(
                tr(
                    (
                        "detect_anomaly: {0} backward returned a non-finite gradient for its input "
                        "{1}{2}: {3}, while the gradient flowing into {0} was finite. The {0} op was "
                        "created at:\n{4}"
                    ),
                    fn.name,
                    i,
                    in_desc,
                    _describe(gi),
                    format_site(fn),
                )
            )


def add_site_note(exc: BaseException, fn: Any) -> None:
    """Attach the failing op's creation site to an exception raised in its backward."""
    if hasattr(exc, "add_note"):
        exc.add_note(f"(detect_anomaly) raised in {fn.name} backward; the op was created at:\n{format_site(fn)}")
