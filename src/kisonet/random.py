"""One seeded generator for all of kisonet's randomness.

``kn.manual_seed(s)`` reseeds it; initialisers, dropout, noise layers, the
data loader (when given no seed of its own) and transforms draw from
:func:`get_generator`, so the same seed gives the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lang import tr

_GENERATOR = np.random.Generator(np.random.PCG64(0))


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed kisonet's global generator and return it."""
    global _GENERATOR
    from .validation import check_int

    seed = check_int("manual_seed", "seed", seed, low=0)
    _GENERATOR = np.random.Generator(np.random.PCG64(int(seed)))
    return _GENERATOR


def get_generator() -> np.random.Generator:
    """The global generator that :func:`manual_seed` controls."""
    return _GENERATOR


def get_rng_state() -> dict[str, Any]:
    """The global generator's state, JSON-serialisable (for checkpoints)."""
    return _GENERATOR.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    try:
        _GENERATOR.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as e:
        from .errors import KisonetValueError

        raise KisonetValueError(
            tr("set_rng_state: not a state from kn.get_rng_state() (a PCG64 state dict): {0}", e)
        ) from None


def make_generator(seed: int | None) -> np.random.Generator:
    """A generator of its own for ``seed``; a child of the global one when ``seed`` is None."""
    if seed is None:
        return np.random.Generator(np.random.PCG64(_GENERATOR.integers(2**63)))
    return np.random.Generator(np.random.PCG64(int(seed)))
