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
from ...errors import KisonetValueError
from ...lang import tr
from ...random import get_generator
from ...validation import check_choice, check_positive, check_probability

__all__ = [
    "CORRUPTIONS",
    "DROPOUT_SCALINGS",
    "check_p",
    "check_scaling",
    "corrupt",
    "dropout",
    "dropout_mask",
    "gaussian_noise",
    "gaussian_noise_array",
]

#: where dropout's 1/(1-p) compensation goes: PyTorch's "inverted" (survivors scaled up while
#: training) or the E-cert deck's "test-time" (no scaling while training, outputs times (1-p) at test)
DROPOUT_SCALINGS = ("inverted", "test-time")


def check_p(name: str, p: float) -> float:
    """Validate a drop probability: 0 <= p < 1 (p = 1 would drop everything)."""
    return check_probability(name, "p", p, high_open=True)


def check_scaling(name: str, scaling: Any) -> str:
    """Validate a dropout scaling name (one of :data:`DROPOUT_SCALINGS`)."""
    return check_choice(name, "scaling", scaling, DROPOUT_SCALINGS)


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
    shape: tuple[int, ...],
    p: float,
    dtype: Any = np.float32,
    rng: np.random.Generator | None = None,
    inverted: bool = True,
) -> np.ndarray:
    """The inverted-dropout mask m: m_i = 1/(1-p) with probability 1-p, else 0
    (so E[m_i] = 1 and the expected activation is unchanged); with ``inverted=False`` the
    plain 0/1 mask m_i = [u_i >= p] (E[m_i] = 1 - p)."""
    rng = get_generator() if rng is None else rng
    dtype = np.dtype(dtype)
    u = rng.random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    mask = (u >= p).astype(dtype)
    if inverted:
        mask *= dtype.type(1.0 / (1.0 - p))
    return mask


class Dropout(Function):
    """Dropout while training:  y = x * m,  m_i = [u_i >= p] / (1 - p) (inverted) or
    [u_i >= p] (``inverted=False``);   dL/dx = gy * m."""

    p: float
    inverted: bool = True

    def forward(self, x):
        mask = dropout_mask(x.shape, self.p, _float_dtype(x), inverted=self.inverted)
        if self.requires_grad:
            self.mask = mask
        y = x * mask
        return y if y.dtype == x.dtype or x.dtype.kind != "f" else y.astype(x.dtype)

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Any, p: float = 0.5, training: bool = True, scaling: str = "inverted") -> Tensor:
    """Dropout (Srivastava et al. 2014): while training each element is zeroed with probability ``p``.

    .. code-block:: text

        scaling="inverted" (default, PyTorch/Keras; Keio lecture 4 prints this form):
            training:  h_j <- 0 (probability p),  h_j / (1 - p) (probability 1 - p)
            test:      h_j <- h_j
        scaling="test-time" (the E-cert DAY 2 deck, the original paper):
            training:  h_j <- 0 (probability p),  h_j (probability 1 - p)
            test:      h_j <- (1 - p) h_j

    Both keep the test-time activation equal to the training expectation.  Keio lecture 4
    ("★ドロップアウト (dropout) [Srivastava+ 2014]") prints the inverted case
    ``h_j / (1 - p)``; the E-cert DAY 2 deck ("ドロップアウトとネットワークの評価") scales at test
    time ("出力はドロップアウトの割合×重みづけ結合値", "ライブラリによっては、訓練時に
    ドロップアウト率の逆数で補正するものもある").  See docs/notes-forms.md.
    """
    p = check_p("dropout", p)
    scaling = check_scaling("dropout", scaling)
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if p == 0.0:
        return x
    if not training:
        return x if scaling == "inverted" else x * x.dtype.type(1.0 - p)
    return Dropout.apply(x, p=p, inverted=scaling == "inverted")


def gaussian_noise(x: Any, std: float, training: bool = True) -> Tensor:
    """y = x + std * z, z ~ N(0, 1), while training (identity otherwise);  dL/dx = gy."""
    std = check_positive("gaussian_noise", "std", std, allow_zero=True)
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
    check_choice("corrupt", "kind", kind, CORRUPTIONS)
    x = np.asarray(x)
    rng = get_generator() if rng is None else rng
    ok = isinstance(level, (int, float, np.floating, np.integer)) and not isinstance(level, bool)
    if not ok or not math.isfinite(level) or level < 0 or (kind != "gaussian" and level > 1):
        bound = "a finite number >= 0" if kind == "gaussian" else "a probability in [0, 1]"
        raise KisonetValueError(tr("corrupt: level must be {0} for {1!r}, got {2!r}", bound, kind, level))
    if kind == "gaussian":
        return gaussian_noise_array(x, float(level), rng).astype(x.dtype, copy=False)
    level = float(level)
    hit = rng.random(x.shape, dtype=np.float32) < level
    if kind == "masking":
        return np.where(hit, x.dtype.type(0), x)
    salt = rng.random(x.shape, dtype=np.float32) < 0.5
    lo, hi = (x.min(), x.max()) if x.size else (0, 0)
    return np.where(hit, np.where(salt, hi, lo), x).astype(x.dtype, copy=False)
