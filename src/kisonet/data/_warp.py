"""Vectorised image resampling for the geometric transforms (private).

Every geometric augmentation (rotation, affine, resized crop, elastic
distortion) reduces to one operation: for each output pixel ``(i, j)`` of each
image ``n``, read the input image at a real-valued source position
``(ys[n, i, j], xs[n, i, j])``,

    out[n, c, i, j] = sum_{a, b} k(ys - y_a) k(xs - x_b) x[n, c, y_a, x_b],

a separable interpolation kernel ``k`` over the integer pixels around the
source position (2 x 2 taps for bilinear, 4 x 4 for bicubic).  The whole batch
is resampled at once: the loops below run over the 4 or 16 *taps*, each tap a
single NumPy gather over all images, channels and pixels.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from ..errors import ShapeError
from ..lang import tr
from ..validation import check_choice

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
PADDING_MODES = ("constant", "edge", "reflect")

# Keys' cubic convolution with a = -0.75 (OpenCV's and albumentations' "bicubic").
_CUBIC_A = -0.75


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional position ``t`` in [0, 1).

    Keys (1981):  k(s) = (a+2)|s|^3 - (a+3)|s|^2 + 1          for |s| <= 1,
                  k(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a          for 1 < |s| < 2.
    The four weights sum to 1, so constant images stay constant.
    """
    a = _CUBIC_A
    s1 = t + 1.0  # distance to tap -1, in [1, 2)
    s2 = 1.0 - t  # distance to tap +1, in (0, 1]
    s3 = 2.0 - t  # distance to tap +2, in (1, 2]
    w0 = ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * s2 - (a + 3)) * s2 * s2 + 1
    w3 = ((a * s3 - 5 * a) * s3 + 8 * a) * s3 - 4 * a
    return [w0, w1, w2, w3]


def _taps(coord: np.ndarray, interpolation: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Integer tap positions and their weights along one axis."""
    if interpolation == "nearest":
        return [np.floor(coord + 0.5).astype(np.intp)], [np.ones_like(coord)]
    base = np.floor(coord)
    t = coord - base
    base = base.astype(np.intp)
    if interpolation == "bilinear":
        return [base, base + 1], [1.0 - t, t]
    return [base - 1, base, base + 1, base + 2], _cubic_weights(t)


_NTAPS = {"nearest": 1, "bilinear": 2, "bicubic": 4}


def _remap(idx: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Map tap indices into ``[0, n)`` for the 'edge' and 'reflect' borders."""
    if mode == "edge":
        return np.clip(idx, 0, n - 1)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)  # numpy's 'reflect': ... 2 1 | 0 1 2 3 | 2 1 ...
    r = np.mod(idx, period)
    return np.where(r > n - 1, period - r, r)


def sample(
    x: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    interpolation: str = "bilinear",
    padding_mode: str = "constant",
    fill: float | tuple[float, ...] | np.ndarray = 0.0,
) -> np.ndarray:
    """Resample a batch ``x`` (N, C, H, W) at source positions ``ys``, ``xs``.

    ``ys`` and ``xs`` broadcast to (N, H', W') (a separable grid may come as
    (N, H', 1) and (N, 1, W')); positions are in input pixels, row and column,
    pixel centres at integers.  Outside the image 'constant' reads ``fill`` (a
    scalar or one value per channel), 'edge' the nearest border pixel, 'reflect'
    the mirror image.  Returns (N, C, H', W') in ``x``'s dtype.  Bicubic output is
    clipped to each image's range (with the fill) because the cubic kernel overshoots.
    """
    check_choice("warp", "interpolation", interpolation, INTERPOLATIONS)
    check_choice("warp", "padding_mode", padding_mode, PADDING_MODES)
    n, c, h, w = x.shape
    dtype = x.dtype
    ys = ys.astype(dtype, copy=False)
    xs = xs.astype(dtype, copy=False)
    k = _NTAPS[interpolation]
    fill_arr = np.asarray(fill, dtype=dtype).reshape(-1)
    if fill_arr.size not in (1, c):
        raise ShapeError(tr("fill has {0} values for images with {1} channels", fill_arr.size, c))
    fill_arr = np.broadcast_to(fill_arr, (c,))
    # Channels-first layout (C, N, H, W): per tap, one index array over all pixels of
    # all images (long contiguous rows, so NumPy's broadcasting over channels is cheap).
    if padding_mode == "constant":
        # A frame of fill around every image, wide enough for all taps; clamping the
        # positions into the frame then reads pure fill for anything further out,
        # so no tap needs a bounds test.
        p = k + 1
        hp, wp = h + 2 * p, w + 2 * p
        src = np.empty((c, n, hp, wp), dtype=dtype)
        src[...] = fill_arr.reshape(c, 1, 1, 1)
        src[:, :, p:-p, p:-p] = x.transpose(1, 0, 2, 3)
        lo = 1.0 if k == 4 else 0.0
        ys = np.clip(ys + dtype.type(p), lo, hp - 1 - k // 2 - lo)
        xs = np.clip(xs + dtype.type(p), lo, wp - 1 - k // 2 - lo)
    else:
        hp, wp = h, w
        src = np.ascontiguousarray(x.transpose(1, 0, 2, 3))
    out_shape = np.broadcast_shapes(ys.shape, xs.shape)
    rows, wy = _taps(ys, interpolation)
    cols, wx = _taps(xs, interpolation)
    if padding_mode != "constant":
        rows = [_remap(r, h, padding_mode) for r in rows]
        cols = [_remap(cc, w, padding_mode) for cc in cols]
    image = (np.arange(n, dtype=np.intp) * (hp * wp)).reshape((n,) + (1,) * (len(out_shape) - 1))
    flat = src.reshape(c, -1)
    m = int(np.prod(out_shape))
    acc = np.zeros((c, m), dtype=dtype)
    for r, wr in zip(rows, wy, strict=True):
        r_off = r * wp + image
        for cc, wc in zip(cols, wx, strict=True):
            idx = np.broadcast_to(r_off + cc, out_shape).reshape(-1)
            weight = np.broadcast_to(wr * wc, out_shape).reshape(-1)
            for ch in range(c):  # a loop over channels (1 or 3), not pixels
                acc[ch] += np.take(flat[ch], idx, mode="clip") * weight
    out = acc.reshape(c, *out_shape).transpose(1, 0, 2, 3)
    if interpolation == "bicubic":
        lo_v = x.min(axis=(1, 2, 3))
        hi_v = x.max(axis=(1, 2, 3))
        if padding_mode == "constant":
            lo_v = np.minimum(lo_v, fill_arr.min())
            hi_v = np.maximum(hi_v, fill_arr.max())
        np.clip(out, lo_v.reshape(n, 1, 1, 1), hi_v.reshape(n, 1, 1, 1), out=out)
    return np.ascontiguousarray(out)


def pixel_grid(h: int, w: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of every output pixel, shapes (h, 1) and (1, w)."""
    return np.arange(h, dtype=dtype).reshape(h, 1), np.arange(w, dtype=dtype).reshape(1, w)


def affine_map(inv: np.ndarray, trans: np.ndarray, h: int, w: int, ys: np.ndarray, xs: np.ndarray):
    """Source positions of an affine warp about the image centre, for the whole batch.

    The forward map sends input point p (x right, y down) to ``A (p - c) + c + t``;
    output position q therefore reads the input at ``A^{-1} (q - c - t) + c``.
    ``inv`` holds ``A^{-1}`` (N, 2, 2) in (x, y) order, ``trans`` holds ``t`` (N, 2)
    in pixels; ``ys``, ``xs`` are query rows and columns broadcasting to (N, H', W').
    Returns the source ``ys, xs``.
    """
    dtype = np.result_type(ys, xs)
    cy, cx = dtype.type((h - 1) / 2.0), dtype.type((w - 1) / 2.0)
    inv = inv.astype(dtype, copy=False)[:, :, :, None, None]
    trans = trans.astype(dtype, copy=False)[:, :, None, None]
    dx = xs - (cx + trans[:, 0])
    dy = ys - (cy + trans[:, 1])
    return inv[:, 1, 0] * dx + inv[:, 1, 1] * dy + cy, inv[:, 0, 0] * dx + inv[:, 0, 1] * dy + cx


@functools.lru_cache(maxsize=32)
def _gaussian_matrix(n: int, sigma: float, truncate: float, dtype: str) -> np.ndarray:
    """G (n, n) with (G f)_i = sum_j g(i - j) f_j: 1-D Gaussian smoothing with zeros outside,
    g the normalised Gaussian cut at ``truncate * sigma`` (scipy.ndimage's kernel)."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    d = np.arange(n)[None, :] - np.arange(n)[:, None]  # j - i
    inside = np.abs(d) <= radius
    g = np.where(inside, kernel[np.clip(d + radius, 0, 2 * radius)], 0.0)
    return g.astype(dtype)


def gaussian_smooth(fields: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Smooth (..., H, W) fields with a Gaussian of std ``sigma`` pixels along the last two
    axes (zero boundary), as ``scipy.ndimage.gaussian_filter(..., mode='constant')``.

    Written as two matrix products, F <- G_H F G_W^T, so the whole batch of fields is
    smoothed by two BLAS calls instead of a convolution per image.
    """
    *lead, h, w = fields.shape
    dt = fields.dtype.str
    g_h = _gaussian_matrix(h, float(sigma), float(truncate), dt)
    g_w = _gaussian_matrix(w, float(sigma), float(truncate), dt)
    with _single_thread_blas():
        out = fields.reshape(-1, w) @ g_w.T  # along x
        out = out.reshape(-1, h, w).transpose(0, 2, 1).reshape(-1, h) @ g_h.T  # along y
    return np.ascontiguousarray(out.reshape(-1, w, h).transpose(0, 2, 1)).reshape(*lead, h, w)


_CONTROLLER: list = []


def _single_thread_blas():
    """A context running BLAS on one thread: these GEMMs have inner sizes of an image side
    (8-64), where waking a second thread costs more than it saves (20x more on a busy machine)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except Exception:  # pragma: no cover - threadpoolctl is a dependency, but never fail on it
            _CONTROLLER.append(None)
    ctl = _CONTROLLER[0]
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")
