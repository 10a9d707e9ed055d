"""Noise layers: dropout, drop-connect masks and additive Gaussian noise.

All randomness comes from :func:`kisonet.random.get_generator`, so
``kn.manual_seed`` makes it reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.tensor import as_tensor
from ...errors import KisonetValueError, unknown_name
from ...random import get_generator

__all__ = ["CORRUPTIONS", "check_p", "corrupt", "dropout", "dropout_mask", "gaussian_noise", "gaussian_noise_array"]


def check_p(name: str, p: float) -> float:
    """Validate a drop probability: 0 <= p < 1 (p = 1 would drop everything)."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0.0 <= float(p) < 1.0:
        raise KisonetValueError(f"{name}: drop probability p must be in [0, 1), got {p!r}")
    return float(p)


def _float_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def gaussian_noise_array(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """x + std * z,  z ~ N(0, 1) elementwise, on plain arrays; the dtype of x is kept
    (an integer x gives float32).  Used by the ``GaussianNoise`` layer and transform."""
    x = np.asarray(x)
    dtype = _float_dtype(x)
    noise = rng.standard_normal(x.shape, dtype=dtype)
    noise *= dtype.type(std)
    noise += x
    return noise


def dropout_mask(
    shape: tuple[int, ...], p: float, dtype: Any = np.float32, rng: np.random.Generator | None = None
) -> np.ndarray:
    """The inverted-dropout mask m: m_i = 1/(1-p) with probability 1-p, else 0
    (so E[m_i] = 1 and the expected activation is unchanged)."""
    rng = get_generator() if rng is None else rng
    dtype = np.dtype(dtype)
    u = rng.random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    mask = (u >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


class Dropout(Function):
    """Inverted dropout:  y = x * m,  m_i = [u_i >= p] / (1 - p);   dL/dx = gy * m."""

    p: float

    def forward(self, x):
        mask = dropout_mask(x.shape, self.p, _float_dtype(x))
        if self.requires_grad:
            self.mask = mask
        y = x * mask
        return y if y.dtype == x.dtype or x.dtype.kind != "f" else y.astype(x.dtype)

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout (Srivastava et al.): while training each element is zeroed
    with probability ``p`` and the survivors scaled by 1/(1-p); identity otherwise.

    The notes' original form scales by (1-p) at test time instead; the inverted
    form used here (and by PyTorch/Keras) gives the same expectation with no
    test-time change.
    """
    p = check_p("dropout", p)
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=p)


def gaussian_noise(x: Any, std: float, training: bool = True) -> Tensor:
    """y = x + std * z, z ~ N(0, 1), while training (identity otherwise);  dL/dx = gy."""
    if not std >= 0:
        raise KisonetValueError(f"gaussian_noise: std must be >= 0, got {std!r}")
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if not training or std == 0:
        return x
    dtype = _float_dtype(x._data)
    noise = get_generator().standard_normal(x.shape, dtype=dtype)
    noise *= dtype.type(std)
    return x + noise


CORRUPTIONS = ("gaussian", "masking", "salt_and_pepper")


def corrupt(
    x: np.ndarray,
    kind: str = "gaussian",
    level: float = 0.1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A corrupted copy of ``x`` for the denoising setting (Vincent et al. 2008).

    'gaussian':        x~ = x + level * eps,  eps ~ N(0, 1)  (the noise layer's function);
    'masking':         each value set to 0 with probability ``level``;
    'salt_and_pepper': each value set to min(x) or max(x) (half each) with probability ``level``.

    Train a denoising autoencoder on ``(corrupt(x), x)``: noisy input, clean target.
    Any shape works; the dtype is kept.  ``rng`` defaults to kisonet's global generator.
    """
    if kind not in CORRUPTIONS:
        raise unknown_name("corruption", str(kind), CORRUPTIONS)
    x = np.asarray(x)
    rng = get_generator() if rng is None else rng
    ok = isinstance(level, (int, float, np.floating, np.integer)) and not isinstance(level, bool)
    if not ok or not math.isfinite(level) or level < 0 or (kind != "gaussian" and level > 1):
        bound = "a finite number >= 0" if kind == "gaussian" else "a probability in [0, 1]"
        raise KisonetValueError(f"corrupt: level must be {bound} for {kind!r}, got {level!r}")
    if kind == "gaussian":
        return gaussian_noise_array(x, float(level), rng).astype(x.dtype, copy=False)
    level = float(level)
    hit = rng.random(x.shape, dtype=np.float32) < level
    if kind == "masking":
        return np.where(hit, x.dtype.type(0), x)
    salt = rng.random(x.shape, dtype=np.float32) < 0.5
    lo, hi = (x.min(), x.max()) if x.size else (0, 0)
    return np.where(hit, np.where(salt, hi, lo), x).astype(x.dtype, copy=False)
