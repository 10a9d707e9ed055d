"""Grad mode: whether operations record the graph (``kn.no_grad()`` turns it off)."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """True when operations record the graph for ``backward``."""
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = enabled


class _GradModeContext(contextlib.ContextDecorator):
    _mode: bool

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        _set(self._mode)

    def __exit__(self, *exc: object) -> bool:
        _set(self._prev)
        return False


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: no graph is recorded inside (inference, updates)."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: record the graph even inside ``no_grad``."""

    _mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """``with kn.set_grad_enabled(train):`` records the graph only when ``train`` is true."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
