"""Data augmentation: seeded, batch-vectorised image transforms (``kn.data.transforms``).

Every transform is a callable on a float batch ``(N, C, H, W)`` (a single
``(C, H, W)`` image works too and comes back as ``(C, H, W)``).  Random
transforms draw their parameters *per image* -- one angle, one crop offset, one
displacement field for each image of the batch -- from kisonet's global
generator (seeded by ``kn.manual_seed``) or, when built with ``seed=``, from a
generator of their own.  Nothing loops over images or pixels: per-image
parameters become arrays, geometric transforms become per-image source
coordinates, and the whole batch is resampled at once (see ``_warp``).

    import kisonet as kn
    from kisonet.data import transforms as tr
    aug = tr.Compose([tr.RandomCrop(32, padding=4), tr.RandomHorizontalFlip()])
    xb = aug(xb)                                   # (128, 3, 32, 32) -> same shape
    aug = tr.preset("digits")                        # small affine + elastic

Caution: some transforms change what an image *means*.  A 180 degree rotation
turns a 6 into a 9, a horizontal flip turns b into d; the digit preset uses
neither flips nor large rotations.  See docs/augmentation.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import random as kn_random
from ..errors import KisonetTypeError, KisonetValueError, ShapeError
from ..lang import tr
from ..registry import Registry
from ..validation import (
    check_choice,
    check_float,
    check_int,
    check_interval,
    check_pair,
    check_per_channel,
    check_positive,
    check_probability,
    check_sequence,
)
from . import _warp

__all__ = [
    "Transform",
    "Compose",
    "RandomApply",
    "RandomChoice",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomCrop",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomAffine",
    "Cutout",
    "RandomErasing",
    "ElasticDistortion",
    "GaussianNoise",
    "Normalize",
    "corrupt",
    "preset",
    "PRESETS",
    "augmentation_grid",
    "save_augmentation_grid",
]


# The denoising corruption lives with the noise layers (nn sits below data); re-exported here.
from ..nn.functional.dropout import corrupt  # noqa: E402

# ----------------------------------------------------------------------------
# validation helpers


def _check_fill(owner: str, fill: Any) -> float | tuple[float, ...]:
    return check_per_channel(owner, "fill", fill)  # type: ignore[return-value]


def _symmetric(owner: str, name: str, v: Any) -> tuple[float, float]:
    """``d`` -> (-d, d) (d >= 0); a pair stays a pair (PyTorch's convention for degrees)."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        d = check_positive(owner, name, v, allow_zero=True)
        return -d, d
    return check_interval(owner, name, v)


# ----------------------------------------------------------------------------
# the base class

# Generators of seeded containers (Compose(..., seed=3)) that their unseeded children use.
_INHERITED: list[np.random.Generator] = []


def _run_children(transforms: list[Callable], x: np.ndarray, own: np.random.Generator | None) -> np.ndarray:
    if own is not None:
        _INHERITED.append(own)
    try:
        for t in transforms:
            x = t(x)
    finally:
        if own is not None:
            _INHERITED.pop()
    return x


class Transform:
    """Base class: handles CHW/NCHW input, dtype checks and the random generator.

    Subclasses implement ``_apply(x, rng) -> y`` on a float batch (N, C, H, W).
    ``seed=None`` draws from kisonet's global generator (``kn.manual_seed``), an int
    gives the transform a generator of its own (reproducible regardless of others).
    """

    def __init__(self, seed: int | None = None) -> None:
        check_int(type(self).__name__, "seed", seed, low=0, allow_none=True)
        self.seed = seed
        self._rng = None if seed is None else kn_random.make_generator(int(seed))

    @property
    def generator(self) -> np.random.Generator:
        """The generator this transform draws from right now: its own (``seed=``), else the
        one of an enclosing seeded container, else kisonet's global generator."""
        if self._rng is not None:
            return self._rng
        return _INHERITED[-1] if _INHERITED else kn_random.get_generator()

    def __call__(self, x: Any) -> Any:
        from ..autograd import Tensor

        as_tensor = isinstance(x, Tensor)
        arr = x.data if as_tensor else x
        if not isinstance(arr, np.ndarray):
            arr = np.asarray(arr)
        if arr.dtype.kind != "f":
            raise KisonetTypeError(
                tr(
                    "{0} expects floating images, got dtype {1} (convert first, e.g. x.astype(np.float32) / 255)",
                    type(self).__name__,
                    arr.dtype,
                )
            )
        if arr.ndim == 3:
            out = self._apply(arr[None], self.generator)[0]
        elif arr.ndim == 4:
            out = self._apply(arr, self.generator) if len(arr) else arr.copy()
        else:
            hint = tr(" (flat vectors: reshape to (N, C, H, W) first)") if arr.ndim == 2 else ""
            raise ShapeError(
                tr(
                    "{0} expects images of shape (N, C, H, W) or (C, H, W), got shape {1}{2}",
                    type(self).__name__,
                    arr.shape,
                    hint,
                )
            )
        if as_tensor:
            return Tensor(out, dtype=out.dtype)
        return out

    def _apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        params = dict(self._params())
        if self.seed is not None:
            params["seed"] = self.seed
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


# ----------------------------------------------------------------------------
# containers


def _check_transforms(owner: str, transforms: Any) -> list[Callable]:
    if callable(transforms):
        transforms = [transforms]
    try:
        transforms = list(transforms)
    except TypeError:
        raise KisonetTypeError(
            tr("{0}: expected a list of transforms, got {1}", owner, type(transforms).__name__)
        ) from None
    for i, t in enumerate(transforms):
        if not callable(t):
            raise KisonetTypeError(tr("{0}: transform #{1} ({2}) is not callable", owner, i, type(t).__name__))
    return transforms


def _container_repr(owner: Transform, head: dict[str, Any], transforms: list[Callable]) -> str:
    if owner.seed is not None:
        head = {**head, "seed": owner.seed}
    args = ", ".join(f"{k}={v!r}" for k, v in head.items())
    body = "".join("\n    " + repr(t).replace("\n", "\n    ") for t in transforms)
    return f"{type(owner).__name__}({args}{body}\n)" if body else f"{type(owner).__name__}({args})"


class Compose(Transform):
    """Apply transforms one after the other: ``Compose([RandomCrop(32, 4), RandomHorizontalFlip()])``.

    With ``seed=`` the transforms inside that have no seed of their own draw from the
    Compose's generator, so the whole pipeline is reproducible on its own.

    ``fuse=True``: consecutive geometric warps (RandomAffine, RandomRotation,
    ElasticDistortion) with the same border settings are composed into *one*
    resampling: the source position of output pixel q is s_1(s_2(...s_k(q))), so the
    image is interpolated once instead of k times (sharper, and faster).  Each warp
    still draws its own random parameters, in order; the interpolation used is the
    highest-order one of the run.
    """

    def __init__(self, transforms: Sequence[Callable], seed: int | None = None, fuse: bool = True) -> None:
        super().__init__(seed)
        self.transforms = _check_transforms("Compose", transforms)
        self.fuse = bool(fuse)

    def _apply(self, x, rng):
        if not self.fuse:
            return _run_children(self.transforms, x, self._rng)
        if self._rng is not None:
            _INHERITED.append(self._rng)
        try:
            ts, i = self.transforms, 0
            while i < len(ts):
                j = i + 1
                if isinstance(ts[i], _Warp):
                    while j < len(ts) and isinstance(ts[j], _Warp) and ts[j]._border() == ts[i]._border():
                        j += 1
                x = _fused_warp(ts[i:j], x) if j - i > 1 else ts[i](x)
                i = j
        finally:
            if self._rng is not None:
                _INHERITED.pop()
        return x

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i: int) -> Callable:
        return self.transforms[i]

    def __repr__(self) -> str:
        return _container_repr(self, {} if self.fuse else {"fuse": False}, self.transforms)


def _assemble(x: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]], owner: str) -> np.ndarray:
    """Put per-subset results (index array, output) back into one batch."""
    shapes = {out.shape[1:] for _, out in parts}
    if len(shapes) > 1:
        raise ShapeError(
            tr("{0}: its branches give images of different shapes {1}; cannot batch them", owner, sorted(shapes))
        )
    (shape,) = shapes
    result = np.empty((len(x), *shape), dtype=parts[0][1].dtype)
    for idx, out in parts:
        result[idx] = out
    return result


class RandomApply(Transform):
    """Apply the list of transforms (in order) to each image with probability ``p``."""

    def __init__(self, transforms: Sequence[Callable] | Callable, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        self.transforms = _check_transforms("RandomApply", transforms)
        self.p = check_probability("RandomApply", "p", p)

    def _apply(self, x, rng):
        chosen = rng.random(len(x)) < self.p
        on, off = np.flatnonzero(chosen), np.flatnonzero(~chosen)
        parts = [(off, x[off])]
        if len(on):
            parts.append((on, _run_children(self.transforms, x[on], self._rng)))
        return _assemble(x, [pt for pt in parts if len(pt[0])], "RandomApply")

    def __repr__(self) -> str:
        return _container_repr(self, {"p": self.p}, self.transforms)


class RandomChoice(Transform):
    """Apply one transform per image, picked at random (with probabilities ``p``, uniform by default)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None, seed: int | None = None):
        super().__init__(seed)
        self.transforms = _check_transforms("RandomChoice", transforms)
        if not self.transforms:
            raise KisonetValueError(tr("RandomChoice: transforms must not be empty"))
        if p is None:
            self.p = None
        else:
            probs = np.asarray(p, dtype=np.float64)
            if probs.shape != (len(self.transforms),) or (probs < 0).any() or probs.sum() <= 0:
                raise KisonetValueError(
                    tr("RandomChoice: p must hold {0} non-negative weights, got {1!r}", len(self.transforms), p)
                )
            self.p = tuple(float(v) for v in probs / probs.sum())

    def _apply(self, x, rng):
        which = rng.choice(len(self.transforms), size=len(x), p=self.p)
        parts = []
        for k, t in enumerate(self.transforms):  # a loop over transforms, not images
            idx = np.flatnonzero(which == k)
            if len(idx):
                parts.append((idx, _run_children([t], x[idx], self._rng)))
        return _assemble(x, parts, "RandomChoice")

    def __repr__(self) -> str:
        return _container_repr(self, {} if self.p is None else {"p": self.p}, self.transforms)


# ----------------------------------------------------------------------------
# flips and crops


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``:  y[..., j] = x[..., W-1-j].

    Label caution: mirrored letters change meaning (b <-> d); avoid for text and digits.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        self.p = check_probability("RandomHorizontalFlip", "p", p)

    def _apply(self, x, rng):
        flip = rng.random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def _params(self):
        return {"p": self.p}


class RandomVerticalFlip(Transform):
    """Mirror each image top-bottom with probability ``p``:  y[..., i, :] = x[..., H-1-i, :].

    Label caution: together with a horizontal flip this is a 180 degree rotation (6 <-> 9).
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        self.p = check_probability("RandomVerticalFlip", "p", p)

    def _apply(self, x, rng):
        flip = rng.random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1, :]
        return out

    def _params(self):
        return {"p": self.p}


def _parse_padding(owner: str, padding: Any) -> tuple[int, int, int, int]:
    """PyTorch's convention: int (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if padding is None:
        return 0, 0, 0, 0
    what = "a non-negative int, a pair or (left, top, right, bottom)"
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        lr, tb = check_sequence(owner, "padding", padding, _non_negative, length=2, what=what)
        return lr, tb, lr, tb
    if isinstance(padding, (list, tuple)):
        return check_sequence(owner, "padding", padding, _non_negative, length=4, what=what)  # type: ignore[return-value]
    return check_pair(owner, "padding", padding, _non_negative, what=what) * 2  # type: ignore[return-value]


def _non_negative(owner: str, name: str, v: Any) -> int:
    return check_int(owner, name, v, low=0)  # type: ignore[return-value]


def _gather_windows(x: np.ndarray, top: np.ndarray, left: np.ndarray, h: int, w: int) -> np.ndarray:
    """The (h, w) window at (top[n], left[n]) of each image: one gather from a strided view
    holding every window of every image (no copy until the gather)."""
    windows = sliding_window_view(x, (h, w), axis=(2, 3))  # (N, C, H-h+1, W-w+1, h, w)
    return windows[np.arange(len(x)), :, top, left]


class RandomCrop(Transform):
    """Cut a random ``size`` window from each image, after optional padding.

    ``padding`` as in PyTorch (int, pair or 4-tuple); ``pad_mode`` 'constant'
    (with ``fill``), 'edge' or 'reflect'.  ``pad_if_needed`` pads images smaller
    than ``size``.  CIFAR's classic: ``RandomCrop(32, padding=4)`` = shifts of up to 4 px.
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0.0,
        pad_mode: str = "constant",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.size = check_pair("RandomCrop", "size", size, what="a positive int or a pair (height, width)")
        self.padding = _parse_padding("RandomCrop", padding)
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = check_float("RandomCrop", "fill", fill)
        self.pad_mode = check_choice("RandomCrop", "pad_mode", pad_mode, _warp.PADDING_MODES)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        left, top, right, bottom = self.padding
        h, w = self.size
        if self.pad_if_needed:
            extra_h = max(0, h - (x.shape[2] + top + bottom))
            extra_w = max(0, w - (x.shape[3] + left + right))
            top, bottom = top + extra_h, bottom + extra_h
            left, right = left + extra_w, right + extra_w
        if not (left or top or right or bottom):
            return x
        width = ((0, 0), (0, 0), (top, bottom), (left, right))
        if self.pad_mode == "constant":
            return np.pad(x, width, mode="constant", constant_values=self.fill)
        if self.pad_mode == "reflect" and (max(top, bottom) >= x.shape[2] or max(left, right) >= x.shape[3]):
            raise ShapeError(
                tr("RandomCrop: reflect padding {0} needs images larger than it, got {1}", self.padding, x.shape)
            )
        return np.pad(x, width, mode=self.pad_mode)

    def _apply(self, x, rng):
        xp = self._pad(x)
        h, w = self.size
        ph, pw = xp.shape[2:]
        if h > ph or w > pw:
            raise ShapeError(
                tr(
                    (
                        "RandomCrop(size={0}) larger than the padded image {1}x{2} (input {3}x{4}); use "
                        "padding or pad_if_needed=True"
                    ),
                    self.size,
                    ph,
                    pw,
                    x.shape[2],
                    x.shape[3],
                )
            )
        top = rng.integers(0, ph - h + 1, size=len(x))
        left = rng.integers(0, pw - w + 1, size=len(x))
        return _gather_windows(xp, top, left, h, w)

    def _params(self):
        return {"size": self.size, "padding": self.padding, "pad_mode": self.pad_mode, "fill": self.fill}


def _sample_boxes(
    rng: np.random.Generator,
    n: int,
    h: int,
    w: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    ratio_is_w_over_h: bool,
    trials: int = 10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: up to ``trials`` candidate boxes (area fraction in ``scale``, log-uniform aspect
    ratio in ``ratio``); returns (bh, bw, found) for the first candidate that fits the image
    and, after rounding to whole pixels, still respects both bounds."""
    area = h * w * rng.uniform(scale[0], scale[1], size=(n, trials))
    r = np.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1]), size=(n, trials)))
    long_ = np.rint(np.sqrt(area * r)).astype(np.int64)
    short = np.rint(np.sqrt(area / r)).astype(np.int64)
    bw, bh = (long_, short) if ratio_is_w_over_h else (short, long_)
    frac = bh * bw / (h * w)
    got = np.where(ratio_is_w_over_h, bw / np.maximum(bh, 1), bh / np.maximum(bw, 1))
    ok = (
        (bh >= 1) & (bw >= 1) & (bh <= h) & (bw <= w)
        & (frac >= scale[0] - 1e-12) & (frac <= scale[1] + 1e-12)
        & (got >= ratio[0] - 1e-12) & (got <= ratio[1] + 1e-12)
    )  # fmt: skip
    found = ok.any(axis=1)
    first = ok.argmax(axis=1)
    pick = np.arange(n)
    return bh[pick, first], bw[pick, first], found


class RandomResizedCrop(Transform):
    """Scale augmentation: crop a random box (area fraction in ``scale``, aspect ratio w/h in
    ``ratio``) and resize it to ``size``.  As in PyTorch, ten tries per image, then a centre
    crop of the whole image clamped to the ratio range.  Resizing is by interpolation,
    without anti-aliasing (fine for the mild down-scaling typical here).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: str = "bilinear",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.size = check_pair("RandomResizedCrop", "size", size, what="a positive int or a pair (height, width)")
        self.scale = check_interval("RandomResizedCrop", "scale", scale, 0.0, 1.0)
        if self.scale[1] <= 0:
            raise KisonetValueError(tr("RandomResizedCrop: scale must allow a positive area, got {0!r}", scale))
        self.ratio = check_interval("RandomResizedCrop", "ratio", ratio, 0.0, low_open=True)
        self.interpolation = check_choice("RandomResizedCrop", "interpolation", interpolation, _warp.INTERPOLATIONS)

    def _apply(self, x, rng):
        n, _, h, w = x.shape
        bh, bw, found = _sample_boxes(rng, n, h, w, self.scale, self.ratio, ratio_is_w_over_h=True)
        # Fallback (PyTorch): the whole image, cut to the nearest allowed aspect ratio.
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            fw, fh = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            fh, fw = h, int(round(h * self.ratio[1]))
        else:
            fh, fw = h, w
        bh = np.where(found, bh, fh)
        bw = np.where(found, bw, fw)
        top = np.where(found, (rng.random(n) * (h - bh + 1)).astype(np.int64), (h - fh) // 2)
        left = np.where(found, (rng.random(n) * (w - bw + 1)).astype(np.int64), (w - fw) // 2)
        oh, ow = self.size
        dt = x.dtype
        yy, xx = _warp.pixel_grid(oh, ow, dt)
        # Pixel centres of the output map onto the box (half-pixel convention, like PyTorch).
        ys = top[:, None, None] + (yy[None] + 0.5) * (bh / oh)[:, None, None] - 0.5
        xs = left[:, None, None] + (xx[None] + 0.5) * (bw / ow)[:, None, None] - 0.5
        return _warp.sample(x, ys.astype(dt), xs.astype(dt), self.interpolation, "edge")

    def _params(self):
        return {"size": self.size, "scale": self.scale, "ratio": self.ratio, "interpolation": self.interpolation}


# ----------------------------------------------------------------------------
# geometric warps

_ORDER = {"nearest": 0, "bilinear": 1, "bicubic": 3}
SourceMap = Callable[[np.ndarray, np.ndarray, bool], tuple[np.ndarray, np.ndarray]]


class _Warp(Transform):
    """A transform that moves pixels: output pixel q reads the input at s(q).

    Subclasses implement ``_source_map(n, h, w, dtype, rng)``: draw the random
    parameters of every image and return ``s`` as a function of the query
    positions ``(ys, xs, is_grid)``.  Keeping ``s`` separate from the resampling
    lets :class:`Compose` chain several warps into one interpolation.
    """

    interpolation: str
    padding_mode: str
    fill: Any

    def _source_map(self, n: int, h: int, w: int, dtype: np.dtype, rng: np.random.Generator) -> SourceMap:
        raise NotImplementedError  # pragma: no cover - abstract

    def _border(self) -> tuple[str, Any]:
        return self.padding_mode, self.fill

    def _apply(self, x, rng):
        n, _, h, w = x.shape
        yy, xx = _warp.pixel_grid(h, w, x.dtype)
        ys, xs = self._source_map(n, h, w, x.dtype, rng)(yy[None], xx[None], True)
        return _warp.sample(x, ys, xs, self.interpolation, self.padding_mode, self.fill)


def _fused_warp(warps: Sequence[_Warp], x: np.ndarray) -> np.ndarray:
    """Apply warps w_1 ... w_k (in that order) with one resampling at s_1(s_2(...s_k(q)))."""
    n, _, h, w = x.shape
    maps = [t._source_map(n, h, w, x.dtype, t.generator) for t in warps]  # draw in order
    yy, xx = _warp.pixel_grid(h, w, x.dtype)
    ys, xs, is_grid = yy[None], xx[None], True
    for m in reversed(maps):
        ys, xs = m(ys, xs, is_grid)
        is_grid = False
    interpolation = max((t.interpolation for t in warps), key=_ORDER.__getitem__)
    padding_mode, fill = warps[0]._border()
    return _warp.sample(x, ys, xs, interpolation, padding_mode, fill)


def _affine_inverse(angle, shear_x, shear_y, scale) -> np.ndarray:
    """A^{-1} for A = s R(angle) Sh(shear_x, shear_y), angles in degrees, batched (N, 2, 2).

    In (x right, y down) coordinates a counter-clockwise rotation on screen is
    R = [[cos, sin], [-sin, cos]]; shear is Sh = [[1, tan sx], [0, 1]] [[1, 0], [tan sy, 1]].
    """
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    tx, ty = np.tan(np.deg2rad(shear_x)), np.tan(np.deg2rad(shear_y))
    # R @ Sh, written out
    sh = np.empty((len(a), 2, 2))
    sh[:, 0, 0], sh[:, 0, 1] = 1 + tx * ty, tx
    sh[:, 1, 0], sh[:, 1, 1] = ty, 1.0
    rot = np.empty((len(a), 2, 2))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = c, s, -s, c
    fwd = scale[:, None, None] * (rot @ sh)
    return np.linalg.inv(fwd)


class RandomAffine(_Warp):
    """Random rotation, translation, scaling and shear about the image centre, per image.

    ``degrees``: d -> angle uniform in (-d, d), or a pair (positive = counter-clockwise).
    ``translate=(a, b)``: shift by up to a*W horizontally and b*H vertically.
    ``scale=(lo, hi)``: zoom factor uniform in [lo, hi].
    ``shear``: d -> x-shear in (-d, d); a pair -> x-shear range; 4 values -> x and y ranges.
    Output pixel q reads the input at A^{-1}(q - c - t) + c (``interpolation`` 'nearest',
    'bilinear' or 'bicubic'); outside the image reads ``fill`` (or 'edge'/'reflect').
    """

    def __init__(
        self,
        degrees: float | tuple[float, float] = 0,
        translate: tuple[float, float] | None = None,
        scale: tuple[float, float] | None = None,
        shear: float | Sequence[float] | None = None,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0.0,
        padding_mode: str = "constant",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        name = type(self).__name__
        self.degrees = _symmetric(name, "degrees", degrees)
        self.translate = None
        if translate is not None:
            try:
                tx, ty = (float(v) for v in translate)
            except (TypeError, ValueError):
                tx = ty = -1.0
            if not (0 <= tx <= 1 and 0 <= ty <= 1):
                raise KisonetValueError(
                    tr("{0}: translate must be two fractions in [0, 1], got {1!r}", name, translate)
                )
            self.translate = (tx, ty)
        self.scale = None if scale is None else check_interval(name, "scale", scale, 0.0, low_open=True)
        self.shear = self._parse_shear(name, shear)
        self.interpolation = check_choice(name, "interpolation", interpolation, _warp.INTERPOLATIONS)
        self.fill = _check_fill(name, fill)
        self.padding_mode = check_choice(name, "padding_mode", padding_mode, _warp.PADDING_MODES)

    @staticmethod
    def _parse_shear(name: str, shear: Any) -> tuple[float, float, float, float] | None:
        if shear is None:
            return None
        if isinstance(shear, (int, float, np.integer, np.floating)) and not isinstance(shear, bool):
            lo, hi = _symmetric(name, "shear", shear)
            return lo, hi, 0.0, 0.0
        vals = tuple(shear)
        if len(vals) == 2:
            lo, hi = check_interval(name, "shear", vals)
            return lo, hi, 0.0, 0.0
        if len(vals) == 4:
            a = check_interval(name, "shear", vals[:2])
            b = check_interval(name, "shear", vals[2:])
            return (*a, *b)
        raise KisonetValueError(tr("{0}: shear must be a number, a pair or 4 numbers, got {1!r}", name, shear))

    def _draw(self, rng: np.random.Generator, n: int, h: int, w: int):
        angle = rng.uniform(*self.degrees, size=n)
        if self.translate is not None:
            trans = np.stack(
                [
                    rng.uniform(-1, 1, size=n) * self.translate[0] * w,
                    rng.uniform(-1, 1, size=n) * self.translate[1] * h,
                ],
                axis=1,
            )
            trans = np.rint(trans)  # whole pixels, as PyTorch does
        else:
            trans = np.zeros((n, 2))
        scale = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        if self.shear is not None:
            shx = rng.uniform(self.shear[0], self.shear[1], size=n)
            shy = rng.uniform(self.shear[2], self.shear[3], size=n)
        else:
            shx = shy = np.zeros(n)
        return angle, trans, scale, shx, shy

    def _source_map(self, n, h, w, dtype, rng):
        angle, trans, scale, shx, shy = self._draw(rng, n, h, w)
        inv = _affine_inverse(angle, shx, shy, scale)
        return lambda ys, xs, is_grid: _warp.affine_map(inv, trans, h, w, ys, xs)

    def _params(self):
        return {
            "degrees": self.degrees,
            "translate": self.translate,
            "scale": self.scale,
            "shear": self.shear,
            "interpolation": self.interpolation,
            "fill": self.fill,
        }


class RandomRotation(RandomAffine):
    """Rotate each image by an angle uniform in ``degrees`` (d -> (-d, d); counter-clockwise
    positive) about its centre.  Label caution: large angles turn 6 into 9."""

    def __init__(
        self,
        degrees: float | tuple[float, float],
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0.0,
        padding_mode: str = "constant",
        seed: int | None = None,
    ) -> None:
        super().__init__(degrees, interpolation=interpolation, fill=fill, padding_mode=padding_mode, seed=seed)

    def _params(self):
        return {"degrees": self.degrees, "interpolation": self.interpolation, "fill": self.fill}


# ----------------------------------------------------------------------------
# erasing


class Cutout(Transform):
    """Cutout (DeVries & Taylor 2017): set ``n_holes`` squares of side ``size`` to ``fill`` in
    every image; each centre is uniform over the image, so holes may be clipped at the border."""

    def __init__(self, size: int, n_holes: int = 1, fill: float = 0.0, seed: int | None = None) -> None:
        super().__init__(seed)
        size = check_int("Cutout", "size", size)
        n_holes = check_int("Cutout", "n_holes", n_holes)
        self.size, self.n_holes = int(size), int(n_holes)
        self.fill = _check_fill("Cutout", fill)

    def _apply(self, x, rng):
        n, c, h, w = x.shape
        cy = rng.integers(0, h, size=(n, self.n_holes))
        cx = rng.integers(0, w, size=(n, self.n_holes))
        y0, x0 = cy - self.size // 2, cx - self.size // 2
        rows = np.arange(h)[None, None, :]
        cols = np.arange(w)[None, None, :]
        in_r = (rows >= y0[..., None]) & (rows < (y0 + self.size)[..., None])  # (N, holes, H)
        in_c = (cols >= x0[..., None]) & (cols < (x0 + self.size)[..., None])  # (N, holes, W)
        mask = (in_r[:, :, :, None] & in_c[:, :, None, :]).any(axis=1)  # (N, H, W)
        fill = np.asarray(self.fill, dtype=x.dtype).reshape(-1, 1, 1)
        return np.where(mask[:, None], fill, x).astype(x.dtype, copy=False)

    def _params(self):
        return {"size": self.size, "n_holes": self.n_holes, "fill": self.fill}


class RandomErasing(Transform):
    """Random Erasing (Zhong et al. 2017): with probability ``p`` erase one rectangle per image
    whose area fraction lies in ``scale`` and aspect ratio h/w in ``ratio``.

    ``value``: a number, one number per channel, or ``'random'`` (uniform noise within the
    image's own value range, so the range is preserved; PyTorch uses N(0, 1) for
    normalised inputs).  Images where ten tries find no fitting box are left alone.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float | str | Sequence[float] = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.p = check_probability("RandomErasing", "p", p)
        self.scale = check_interval("RandomErasing", "scale", scale, 0.0, 1.0)
        self.ratio = check_interval("RandomErasing", "ratio", ratio, 0.0, low_open=True)
        if isinstance(value, str):
            if value != "random":
                raise KisonetValueError(
                    tr("RandomErasing: value must be a number, per-channel numbers or 'random', got {0!r}", value)
                )
            self.value: Any = value
        else:
            self.value = _check_fill("RandomErasing", value)

    def _apply(self, x, rng):
        n, c, h, w = x.shape
        bh, bw, found = _sample_boxes(rng, n, h, w, self.scale, self.ratio, ratio_is_w_over_h=False)
        erase = found & (rng.random(n) < self.p)
        top = (rng.random(n) * (h - bh + 1)).astype(np.int64)
        left = (rng.random(n) * (w - bw + 1)).astype(np.int64)
        rows, cols = np.arange(h)[None], np.arange(w)[None]
        in_r = (rows >= top[:, None]) & (rows < (top + bh)[:, None])
        in_c = (cols >= left[:, None]) & (cols < (left + bw)[:, None])
        mask = (in_r[:, :, None] & in_c[:, None, :]) & erase[:, None, None]  # (N, H, W)
        if isinstance(self.value, str):
            lo = x.min(axis=(1, 2, 3), keepdims=True)
            hi = x.max(axis=(1, 2, 3), keepdims=True)
            fill = (lo + (hi - lo) * rng.random(x.shape, dtype=np.float32).astype(x.dtype, copy=False)).astype(x.dtype)
        else:
            fill = np.asarray(self.value, dtype=x.dtype).reshape(-1, 1, 1)
        return np.where(mask[:, None], fill, x).astype(x.dtype, copy=False)

    def _params(self):
        return {"p": self.p, "scale": self.scale, "ratio": self.ratio, "value": self.value}


# ----------------------------------------------------------------------------
# elastic distortion


class ElasticDistortion(_Warp):
    """Elastic distortion (Simard, Steinkraus & Platt 2003), a different field per image.

    Draw displacement fields  dx, dy ~ U(-1, 1)  at every pixel, smooth them with a
    Gaussian of width ``sigma`` (pixels) and scale by ``alpha``:

        Delta = alpha * (G_sigma * U),       y(i, j) = x(i + Delta_y(i, j), j + Delta_x(i, j)),

    read by ``interpolation`` ('bilinear' or 'bicubic').  Small sigma gives random,
    jittery fields; large sigma nearly rigid shifts; Simard used sigma=4, alpha=34 on
    28x28 MNIST.  With ``reference_size=s`` the numbers are meant for s x s images and
    rescaled to the actual size (sigma by size/s, alpha by (size/s)^2, so the distortion
    looks the same at any resolution).
    """

    def __init__(
        self,
        alpha: float,
        sigma: float,
        interpolation: str = "bilinear",
        fill: float = 0.0,
        padding_mode: str = "constant",
        reference_size: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.alpha = check_positive("ElasticDistortion", "alpha", alpha, allow_zero=True)
        self.sigma = check_positive("ElasticDistortion", "sigma", sigma)
        self.interpolation = check_choice(
            "ElasticDistortion", "interpolation", interpolation, ("bilinear", "bicubic", "nearest")
        )
        self.fill = _check_fill("ElasticDistortion", fill)
        self.padding_mode = check_choice("ElasticDistortion", "padding_mode", padding_mode, _warp.PADDING_MODES)
        reference_size = check_int("ElasticDistortion", "reference_size", reference_size, allow_none=True)
        self.reference_size = reference_size

    def scaled(self, h: int, w: int) -> tuple[float, float]:
        """(alpha, sigma) in pixels for an h x w image."""
        if self.reference_size is None:
            return self.alpha, self.sigma
        k = math.sqrt(h * w) / self.reference_size
        return self.alpha * k * k, self.sigma * k

    def _source_map(self, n, h, w, dtype, rng):
        alpha, sigma = self.scaled(h, w)
        field = rng.random((n, 2, h, w), dtype=np.float32).astype(dtype, copy=False)
        field *= dtype.type(2)
        field -= dtype.type(1)  # U(-1, 1)
        # Every field of the batch smoothed at once (= scipy.ndimage.gaussian_filter with
        # sigma 0 along the batch and x/y axes, mode 'constant', truncate 3), by two GEMMs.
        field = _warp.gaussian_smooth(field, sigma, truncate=3.0)
        field *= dtype.type(alpha)

        def source(ys, xs, is_grid):
            # On the pixel grid the field is read directly; after another warp it is
            # interpolated at the (real-valued) positions that warp asks for.
            f = field if is_grid else _warp.sample(field, ys, xs, "bilinear", "edge")
            return ys + f[:, 1], xs + f[:, 0]

        return source

    def _params(self):
        params = {"alpha": self.alpha, "sigma": self.sigma, "interpolation": self.interpolation}
        if self.reference_size is not None:
            params["reference_size"] = self.reference_size
        return params


# ----------------------------------------------------------------------------
# noise and normalisation


class GaussianNoise(Transform):
    """Add N(0, std^2) noise to every pixel:  y = x + std * eps.  The same function as the
    Gaussian noise layer (``nn.functional.dropout.gaussian_noise_array``).  ``clip=(lo, hi)``
    clamps the result, e.g. (0, 1) to stay a valid image."""

    def __init__(self, std: float, clip: tuple[float, float] | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.std = check_positive("GaussianNoise", "std", std, allow_zero=True)
        self.clip = None if clip is None else check_interval("GaussianNoise", "clip", clip)

    def _apply(self, x, rng):
        from ..nn.functional.dropout import gaussian_noise_array

        out = gaussian_noise_array(x, self.std, rng)
        if self.clip is not None:
            out = np.clip(out, self.clip[0], self.clip[1])
        return out.astype(x.dtype, copy=False)

    def _params(self):
        return {"std": self.std} if self.clip is None else {"std": self.std, "clip": self.clip}


class Normalize(Transform):
    """Per-channel standardisation:  y[:, c] = (x[:, c] - mean[c]) / std[c]."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        super().__init__()
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1 or not np.isfinite(self.mean).all():
            raise KisonetValueError(tr("Normalize: mean must be a number or one number per channel, got {0!r}", mean))
        if not np.isfinite(self.std).all() or (self.std <= 0).any():
            raise KisonetValueError(tr("Normalize: std must be positive (one per channel), got {0!r}", std))

    def _stats(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, c):
                raise ShapeError(tr("Normalize: {0} {1} values for images with {2} channels", len(v), name, c))
        return self.mean.astype(x.dtype).reshape(-1, 1, 1), self.std.astype(x.dtype).reshape(-1, 1, 1)

    def _apply(self, x, rng):
        mean, std = self._stats(x)
        return (x - mean) / std

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Undo the normalisation (x * std + mean), e.g. to display images."""
        x = np.asarray(x)
        batch = x if x.ndim == 4 else x[None]
        mean, std = self._stats(batch)
        out = batch * std + mean
        return out if x.ndim == 4 else out[0]

    def _params(self):
        return {"mean": tuple(self.mean.tolist()), "std": tuple(self.std.tolist())}


# ----------------------------------------------------------------------------
# denoising: corrupt the inputs, keep the clean targets

# ----------------------------------------------------------------------------
# presets


def _digits(image_size: int | None = None) -> Compose:
    # Small rotations only (a 6 must stay a 6) and no flips; the elastic field is
    # specified for 28x28 and rescaled to the actual size (8x8 sklearn digits, 28x28 MNIST).
    return Compose(
        [
            RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1)),
            ElasticDistortion(alpha=24.0, sigma=4.0, reference_size=28),
        ]
    )


def _cifar(cutout: bool = False, cutout_size: int = 8) -> Compose:
    transforms: list[Callable] = [RandomCrop(32, padding=4, pad_mode="constant"), RandomHorizontalFlip(0.5)]
    if cutout:
        transforms.append(Cutout(cutout_size, n_holes=1))
    return Compose(transforms)


# The augmentation presets by name (``--augment``, :func:`preset`): name -> factory of a Compose.
PRESETS: Registry[Callable[..., Compose]] = Registry("augmentation preset")
PRESETS.add("digits", _digits, "small affine moves + elastic distortion (no flips: 6 vs 9)")
PRESETS.add("cifar", _cifar, "random crop (pad 4) + horizontal flip; cutout=True adds Cutout(8)")


def preset(name: str, **options: Any) -> Compose:
    """A ready-made augmentation pipeline for ``DataLoader(transform=...)`` and ``--augment``.

    'digits': RandomAffine(+-10 deg, 8% shift, 0.9-1.1 zoom) + ElasticDistortion (Simard-like,
              scaled to the image size); no flips, no large rotations (6 vs 9).
    'cifar':  RandomCrop(32, padding=4) + RandomHorizontalFlip; ``cutout=True`` adds
              Cutout(8) (``cutout_size=`` to change it).
    """
    factory = PRESETS.get(name)
    try:
        return factory(**options)
    except TypeError as e:
        raise KisonetValueError(tr("preset({0!r}): {1}", name, e)) from None


# ----------------------------------------------------------------------------
# visual check


def _as_images(X: Any) -> np.ndarray:
    arr = np.asarray(getattr(X, "data", X))
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    if arr.ndim == 4:
        return arr
    if arr.ndim == 3:
        return arr[:, None]
    if arr.ndim == 2:
        side = math.isqrt(arr.shape[1])
        if side * side == arr.shape[1]:
            return arr.reshape(len(arr), 1, side, side)
    raise ShapeError(
        tr(
            "augmentation_grid expects images (N, C, H, W), (N, H, W) or square flat vectors, got shape {0}",
            arr.shape,
        )
    )


def augmentation_grid(
    X: Any, transform: Callable, n_images: int = 8, n_augmented: int = 3, seed: int = 0
) -> np.ndarray:
    """Rows of images to look at: row 0 the first ``n_images`` originals, rows 1..n_augmented
    independent augmentations of them.  Returns (1 + n_augmented, n_images, C, H, W).

    Accepts (N, C, H, W), (N, H, W) or flat square vectors (N, 64) / (N, 784).  Draws from
    a generator seeded with ``seed`` and leaves kisonet's global generator as it was.
    """
    n_images = check_int("augmentation_grid", "n_images", n_images)
    n_augmented = check_int("augmentation_grid", "n_augmented", n_augmented, low=0)
    imgs = _as_images(X)[:n_images]
    state = kn_random.get_rng_state()
    try:
        kn_random.manual_seed(seed)
        # One batch holding every copy: each copy of an image gets its own random parameters.
        batch = np.concatenate([imgs] * n_augmented) if n_augmented else imgs[:0]
        aug = transform(batch) if n_augmented else batch
    finally:
        kn_random.set_rng_state(state)
    aug = np.asarray(getattr(aug, "data", aug))
    if aug.shape[1:] != imgs.shape[1:]:
        # A transform that changes the size (RandomResizedCrop) cannot share a grid row with
        # the originals; show the originals resized to match.
        ys = (np.arange(aug.shape[2]) + 0.5) * imgs.shape[2] / aug.shape[2] - 0.5
        xs = (np.arange(aug.shape[3]) + 0.5) * imgs.shape[3] / aug.shape[3] - 0.5
        yy = np.broadcast_to(ys[:, None], aug.shape[2:])[None].repeat(len(imgs), 0)
        xx = np.broadcast_to(xs[None, :], aug.shape[2:])[None].repeat(len(imgs), 0)
        imgs = _warp.sample(imgs, yy, xx, "bilinear", "edge")
    rows = [imgs] + [aug[k * len(imgs) : (k + 1) * len(imgs)] for k in range(n_augmented)]
    return np.stack(rows)


def save_augmentation_grid(
    X: Any,
    transform: Callable,
    path: str | Path,
    n_images: int = 8,
    n_augmented: int = 3,
    seed: int = 0,
    title: str | None = None,
    cmap: str = "gray",
):
    """Draw :func:`augmentation_grid` with matplotlib (headless Agg) to ``path``; returns the Figure.

    Each image is scaled to [0, 1] with the min and max of the whole grid, so the
    augmented images are shown on the same scale as the originals.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = augmentation_grid(X, transform, n_images=n_images, n_augmented=n_augmented, seed=seed)
    rows, cols, c = grid.shape[:3]
    lo, hi = float(grid.min()), float(grid.max())
    shown = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
    fig = Figure(figsize=(1.1 * cols, 1.1 * rows + (0.4 if title else 0.0)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        for k in range(cols):
            ax = axes[r, k]
            img = shown[r, k]
            if c == 1:
                ax.imshow(img[0], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            else:
                ax.imshow(np.clip(img[:3].transpose(1, 2, 0), 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel("original" if r == 0 else f"aug {r}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return fig
