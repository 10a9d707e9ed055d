"""Properties of the augmentation transforms (kisonet.data.transforms): no snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import kisonet as kn
from kisonet.data import transforms as tr
from kisonet.errors import KisonetTypeError, KisonetValueError, ShapeError
from kisonet.nn.functional.dropout import gaussian_noise_array


@pytest.fixture
def batch(rng):
    return rng.random((16, 3, 12, 10), dtype=np.float32)


def _random_transforms():
    """One instance of every random transform (factories, so a seed can be passed)."""
    return {
        "hflip": lambda **k: tr.RandomHorizontalFlip(**k),
        "vflip": lambda **k: tr.RandomVerticalFlip(**k),
        "crop": lambda **k: tr.RandomCrop(10, padding=3, **k),
        "resized_crop": lambda **k: tr.RandomResizedCrop((8, 8), **k),
        "rotation": lambda **k: tr.RandomRotation(25, **k),
        "rotation_bicubic": lambda **k: tr.RandomRotation(25, interpolation="bicubic", **k),
        "affine": lambda **k: tr.RandomAffine(10, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=8, **k),
        "cutout": lambda **k: tr.Cutout(4, n_holes=2, **k),
        "erasing": lambda **k: tr.RandomErasing(p=0.9, value="random", **k),
        "elastic": lambda **k: tr.ElasticDistortion(8.0, 2.0, **k),
        "elastic_bicubic": lambda **k: tr.ElasticDistortion(8.0, 2.0, interpolation="bicubic", **k),
        "noise": lambda **k: tr.GaussianNoise(0.1, **k),
        "apply": lambda **k: tr.RandomApply([tr.RandomRotation(20)], p=0.5, **k),
        "choice": lambda **k: tr.RandomChoice([tr.RandomRotation(20), tr.Cutout(3)], **k),
    }


RANDOM = sorted(_random_transforms())
RANGE_PRESERVING = [n for n in RANDOM if n != "noise"]


# --- identities -------------------------------------------------------------------


def test_flipping_twice_is_identity_and_flip_is_a_mirror(batch):
    for flip, axis in ((tr.RandomHorizontalFlip(p=1.0), -1), (tr.RandomVerticalFlip(p=1.0), -2)):
        once = flip(batch)
        np.testing.assert_array_equal(once, np.flip(batch, axis=axis))
        np.testing.assert_array_equal(flip(once), batch)


def test_flip_with_p_half_flips_some_images_and_leaves_the_others(batch):
    out = tr.RandomHorizontalFlip(p=0.5)(np.concatenate([batch] * 4))
    src = np.concatenate([batch] * 4)
    flipped = np.array([np.array_equal(o, s[..., ::-1]) for o, s in zip(out, src, strict=True)])
    kept = np.array([np.array_equal(o, s) for o, s in zip(out, src, strict=True)])
    assert (flipped | kept).all()
    assert 0 < flipped.sum() < len(src)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_rotation_by_zero_and_elastic_alpha_zero_are_identity(batch, interpolation):
    np.testing.assert_allclose(tr.RandomRotation(0, interpolation=interpolation)(batch), batch, atol=1e-5)
    np.testing.assert_allclose(tr.RandomAffine(interpolation=interpolation)(batch), batch, atol=1e-5)
    if interpolation != "nearest":
        elastic = tr.ElasticDistortion(alpha=0.0, sigma=3.0, interpolation=interpolation)
        np.testing.assert_allclose(elastic(batch), batch, atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_rotation_by_90_degrees_is_rot90_counter_clockwise(rng, interpolation):
    x = rng.random((4, 2, 9, 9), dtype=np.float32)
    out = tr.RandomRotation((90, 90), interpolation=interpolation)(x)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(2, 3)), atol=1e-4)


def test_bicubic_keeps_constant_images_constant_and_stays_in_range(rng):
    const = np.full((3, 1, 10, 10), 0.7, dtype=np.float32)
    out = tr.RandomRotation(40, interpolation="bicubic", padding_mode="edge")(const)
    np.testing.assert_allclose(out, 0.7, atol=1e-5)
    # A checkerboard makes the cubic kernel overshoot; the output is clipped to the image range.
    board = np.indices((10, 10)).sum(axis=0) % 2
    x = np.broadcast_to(board, (8, 1, 10, 10)).astype(np.float32)
    out = tr.ElasticDistortion(4.0, 1.0, interpolation="bicubic", padding_mode="reflect")(x)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_translation_moves_a_point_by_whole_pixels_within_the_bounds():
    x = np.zeros((64, 1, 21, 21), dtype=np.float32)
    x[:, :, 10, 10] = 1.0
    out = tr.RandomAffine(translate=(0.2, 0.1))(x)
    for img in out[:, 0]:
        (r,), (c,) = np.nonzero(img == img.max())
        assert img.max() == pytest.approx(1.0)  # integer shift: no blur
        assert abs(c - 10) <= round(0.2 * 21) and abs(r - 10) <= round(0.1 * 21)
    assert len({tuple(np.argwhere(img[0] == 1.0)[0]) for img in out}) > 5


def test_scale_two_zooms_about_the_centre(rng):
    x = rng.random((2, 1, 9, 9), dtype=np.float32)
    out = tr.RandomAffine(scale=(2.0, 2.0))(x)
    # Output pixel q reads the input at c + (q - c) / 2: the centre stays, (0, 0) reads (2, 2).
    np.testing.assert_allclose(out[:, :, 4, 4], x[:, :, 4, 4], atol=1e-6)
    np.testing.assert_allclose(out[:, :, 0, 0], x[:, :, 2, 2], atol=1e-6)


# --- crops --------------------------------------------------------------------------


@pytest.mark.parametrize("pad_mode", ["constant", "edge", "reflect"])
def test_crops_have_the_size_and_come_from_inside_the_padded_image(rng, pad_mode):
    x = rng.random((32, 2, 8, 8), dtype=np.float32)
    crop = tr.RandomCrop(6, padding=2, pad_mode=pad_mode, fill=0.5)
    out = crop(x)
    assert out.shape == (32, 2, 6, 6)
    kw = {"constant_values": 0.5} if pad_mode == "constant" else {}
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode=pad_mode, **kw)
    windows = sliding_window_view(padded, (6, 6), axis=(2, 3))  # (N, C, 7, 7, 6, 6)
    offsets = set()
    for n in range(len(x)):
        hit = np.argwhere((windows[n] == out[n][:, None, None]).all(axis=(0, 3, 4)))
        assert len(hit) >= 1, f"crop {n} is not a window of the padded image"
        offsets.add(tuple(hit[0]))
    assert len(offsets) > 5  # offsets are drawn per image


def test_crop_padding_conventions_and_errors(rng):
    x = rng.random((2, 1, 5, 7), dtype=np.float32)
    assert tr.RandomCrop((7, 9), padding=(1, 1))(x).shape == (2, 1, 7, 9)
    assert tr.RandomCrop((6, 8), padding=(1, 1, 0, 0))(x).shape == (2, 1, 6, 8)
    assert tr.RandomCrop(9, pad_if_needed=True)(x).shape == (2, 1, 9, 9)
    with pytest.raises(ShapeError, match="larger than the padded image"):
        tr.RandomCrop(8)(x)


def test_resized_crop_of_the_whole_image_is_identity_and_shapes(rng):
    x = rng.random((4, 3, 10, 10), dtype=np.float32)
    whole = tr.RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_allclose(whole(x), x, atol=1e-5)
    out = tr.RandomResizedCrop((6, 5), scale=(0.2, 0.6))(x)
    assert out.shape == (4, 3, 6, 5) and out.dtype == np.float32
    assert out.min() >= x.min() and out.max() <= x.max()


# --- erasing ------------------------------------------------------------------------


def test_erased_rectangles_lie_within_the_scale_and_ratio_bounds(rng):
    x = rng.random((200, 2, 20, 16), dtype=np.float32)
    scale, ratio = (0.05, 0.2), (0.5, 2.0)
    out = tr.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=-1.0)(x)
    erased = 0
    for o, src in zip(out, x, strict=True):
        mask = (o == -1.0).all(axis=0)
        np.testing.assert_array_equal(o[:, ~mask], src[:, ~mask])  # the rest is untouched
        if not mask.any():
            continue
        erased += 1
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert mask.sum() == h * w  # one solid rectangle
        assert scale[0] <= h * w / (20 * 16) <= scale[1]
        assert ratio[0] <= h / w <= ratio[1]
    assert erased == len(x)  # p=1 and the bounds fit easily: every image is erased


def test_erasing_probability_and_random_value_range(rng):
    x = rng.random((400, 1, 10, 10), dtype=np.float32) * 0.5 + 0.25
    out = tr.RandomErasing(p=0.3, value=-1.0)(x)
    frac = np.mean([(o == -1).any() for o in out])
    assert 0.2 < frac < 0.4
    out = tr.RandomErasing(p=1.0, value="random")(x)
    assert (out != x).any()
    assert out.min() >= x.min() and out.max() <= x.max()
    np.testing.assert_array_equal(tr.RandomErasing(p=0.0)(x), x)


def test_cutout_holes_are_squares_of_at_most_size(rng):
    x = rng.random((50, 3, 12, 12), dtype=np.float32) + 1.0
    out = tr.Cutout(4, n_holes=1)(x)
    for o, src in zip(out, x, strict=True):
        mask = (o == 0).all(axis=0)
        np.testing.assert_array_equal(o[:, ~mask], src[:, ~mask])
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        assert 1 <= len(rows) <= 4 and 1 <= len(cols) <= 4 and mask.sum() == len(rows) * len(cols)
    two = tr.Cutout(3, n_holes=2, fill=-5.0)(x)
    assert ((two == -5).all(axis=1).sum(axis=(1, 2)) <= 18).all()


# --- randomness: per image, seeded, reproducible --------------------------------------


@pytest.mark.parametrize("name", RANDOM)
def test_each_transform_is_reproducible_with_a_seed(batch, name):
    make = _random_transforms()[name]
    a = make(seed=3)(batch)
    b = make(seed=3)(batch)
    np.testing.assert_array_equal(a, b)
    kn.manual_seed(11)
    g1 = make()(batch)
    kn.manual_seed(11)
    g2 = make()(batch)
    np.testing.assert_array_equal(g1, g2)
    assert not np.array_equal(make(seed=4)(batch), a)


@pytest.mark.parametrize("name", RANDOM)
def test_random_parameters_differ_across_images_of_a_batch(rng, name):
    img = rng.random((3, 12, 10), dtype=np.float32)
    out = _random_transforms()[name](seed=0)(np.stack([img] * 12))
    distinct = {out[i].tobytes() for i in range(len(out))}
    need = 2 if name in ("hflip", "vflip") else 4  # a flip has two outcomes only
    assert len(distinct) >= need, f"{name} gave the same result to (almost) every copy of an image"


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_range_are_preserved(batch, name, dtype):
    x = batch.astype(dtype) * 0.8 + 0.1  # range [0.1, 0.9]; fills are 0 by default
    out = _random_transforms()[name](seed=1)(x)
    assert out.dtype == dtype
    if name in RANGE_PRESERVING:
        assert out.min() >= 0.0 - 1e-6 and out.max() <= 0.9 + 1e-6


def test_single_chw_image_and_tensor_inputs(batch):
    rot = tr.RandomRotation(15, seed=0)
    single = rot(batch[0])
    assert single.shape == batch[0].shape
    t = tr.RandomHorizontalFlip(p=1.0)(kn.tensor(batch))
    assert isinstance(t, kn.Tensor)
    np.testing.assert_array_equal(t.data, batch[..., ::-1])


def test_bad_inputs_are_refused_with_the_shape_or_dtype():
    with pytest.raises(KisonetTypeError, match="uint8"):
        tr.RandomHorizontalFlip()(np.zeros((2, 1, 4, 4), dtype=np.uint8))
    with pytest.raises(ShapeError, match=r"\(5, 64\)"):
        tr.RandomRotation(10)(np.zeros((5, 64), dtype=np.float32))


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda: tr.RandomHorizontalFlip(p=1.5), "p"),
        (lambda: tr.RandomCrop(0), "size"),
        (lambda: tr.RandomCrop(4, padding=-1), "padding"),
        (lambda: tr.RandomCrop(4, pad_mode="wrap"), "pad_mode"),
        (lambda: tr.RandomResizedCrop(8, scale=(0.9, 0.1)), "scale"),
        (lambda: tr.RandomResizedCrop(8, ratio=(0.0, 1.0)), "ratio"),
        (lambda: tr.RandomRotation(-5), "degrees"),
        (lambda: tr.RandomRotation(5, interpolation="lanczos"), "interpolation"),
        (lambda: tr.RandomAffine(translate=(0.5, 2.0)), "translate"),
        (lambda: tr.RandomAffine(scale=(0.0, 1.0)), "scale"),
        (lambda: tr.RandomAffine(shear=(1, 2, 3)), "shear"),
        (lambda: tr.Cutout(0), "size"),
        (lambda: tr.Cutout(3, n_holes=0), "n_holes"),
        (lambda: tr.RandomErasing(value="noise"), "value"),
        (lambda: tr.ElasticDistortion(-1.0, 4.0), "alpha"),
        (lambda: tr.ElasticDistortion(10.0, 0.0), "sigma"),
        (lambda: tr.GaussianNoise(-0.1), "std"),
        (lambda: tr.Normalize(0.5, 0.0), "std"),
        (lambda: tr.RandomApply([tr.RandomHorizontalFlip()], p=-0.1), "p"),
        (lambda: tr.RandomChoice([tr.RandomHorizontalFlip()], p=[0.5, 0.5]), "p"),
        (lambda: tr.RandomRotation(10, seed=-1), "seed"),
    ],
)
def test_invalid_parameters_raise_at_construction_naming_the_parameter(make, param):
    with pytest.raises(KisonetValueError, match=param):
        make()


def test_reprs_show_the_settings():
    assert repr(tr.RandomRotation(10, seed=2)) == (
        "RandomRotation(degrees=(-10.0, 10.0), interpolation='bilinear', fill=0.0, seed=2)"
    )
    text = repr(tr.Compose([tr.RandomCrop(32, padding=4), tr.RandomHorizontalFlip()]))
    assert text.startswith("Compose(") and "RandomCrop(size=(32, 32)" in text and "RandomHorizontalFlip(p=0.5)" in text


# --- containers ---------------------------------------------------------------------


def test_compose_applies_in_order(batch):
    a, b = tr.Normalize(0.5, 0.25), tr.RandomCrop(8, seed=0)
    np.testing.assert_allclose(tr.Compose([a, b])(batch), tr.RandomCrop(8, seed=0)(a(batch)))
    np.testing.assert_allclose(tr.Compose([tr.RandomHorizontalFlip(1.0)] * 2)(batch), batch)
    assert len(tr.Compose([a, b])) == 2 and tr.Compose([a, b])[1] is b


def test_random_apply_applies_to_each_image_with_probability_p(rng):
    x = rng.random((300, 1, 4, 4), dtype=np.float32)
    norm = tr.Normalize(0.5, 0.5)
    np.testing.assert_array_equal(tr.RandomApply([norm], p=0.0)(x), x)
    np.testing.assert_allclose(tr.RandomApply([norm], p=1.0)(x), norm(x))
    out = tr.RandomApply([norm], p=0.5)(x)
    applied = np.array([np.allclose(o, norm(s)) for o, s in zip(out, x, strict=True)])
    kept = np.array([np.array_equal(o, s) for o, s in zip(out, x, strict=True)])
    assert (applied ^ kept).all()
    assert 0.4 < applied.mean() < 0.6


def test_random_choice_applies_exactly_one_transform_per_image(rng):
    x = rng.random((300, 1, 4, 4), dtype=np.float32)
    first, second = tr.Normalize(0.0, 2.0), tr.Normalize(1.0, 1.0)
    out = tr.RandomChoice([first, second])(x)
    is_first = np.array([np.allclose(o, first(s)) for o, s in zip(out, x, strict=True)])
    is_second = np.array([np.allclose(o, second(s)) for o, s in zip(out, x, strict=True)])
    assert (is_first ^ is_second).all() and 0.4 < is_first.mean() < 0.6
    np.testing.assert_allclose(tr.RandomChoice([first, second], p=[1.0, 0.0])(x), first(x))


# --- noise, normalisation, corruption -------------------------------------------------


def test_gaussian_noise_is_the_noise_layer_function(batch):
    out = tr.GaussianNoise(0.3, seed=5)(batch)
    expected = gaussian_noise_array(batch, 0.3, kn.random.make_generator(5))
    np.testing.assert_array_equal(out, expected)
    big = tr.GaussianNoise(0.5)(np.zeros((64, 1, 16, 16), dtype=np.float32))
    assert abs(big.std() - 0.5) < 0.02 and abs(big.mean()) < 0.02
    np.testing.assert_array_equal(tr.GaussianNoise(0.0)(batch), batch)
    clipped = tr.GaussianNoise(1.0, clip=(0.0, 1.0))(batch)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_normalize_per_channel_and_inverse(batch):
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.4, 0.5]
    norm = tr.Normalize(mean, std)
    out = norm(batch)
    np.testing.assert_allclose(out[:, 1], (batch[:, 1] - 0.5) / 0.4, rtol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(norm.inverse(out), batch, atol=1e-6)
    with pytest.raises(ShapeError, match="3 mean values for images with 1 channels"):
        norm(batch[:, :1])


def test_corrupt_for_denoising(rng):
    x = rng.random((50, 1, 10, 10), dtype=np.float32) + 0.5
    masked = tr.corrupt(x, "masking", 0.3, rng=np.random.default_rng(0))
    zero = masked == 0
    assert 0.25 < zero.mean() < 0.35 and masked.dtype == np.float32
    np.testing.assert_array_equal(masked[~zero], x[~zero])
    sp = tr.corrupt(x, "salt_and_pepper", 0.2)
    changed = sp != x
    assert 0.15 < changed.mean() < 0.25
    assert np.isin(sp[changed], [x.min(), x.max()]).all()
    g = tr.corrupt(x, "gaussian", 0.1)
    assert abs((g - x).std() - 0.1) < 0.01
    assert x.min() >= 0.5  # the clean target is never modified in place
    with pytest.raises(KisonetValueError, match="did you mean 'masking'"):
        tr.corrupt(x, "maskin", 0.1)


# --- presets, grid, loader ---------------------------------------------------------------


def test_presets_are_composes_and_digits_avoids_label_changing_transforms():
    digits = tr.preset("digits")
    assert isinstance(digits, tr.Compose)
    assert not any(isinstance(t, (tr.RandomHorizontalFlip, tr.RandomVerticalFlip)) for t in digits.transforms)
    rot = [t for t in digits.transforms if isinstance(t, tr.RandomAffine)]
    assert rot and max(abs(d) for d in rot[0].degrees) <= 10
    cifar = tr.preset("cifar")
    kinds = [type(t) for t in cifar.transforms]
    assert kinds == [tr.RandomCrop, tr.RandomHorizontalFlip]
    assert cifar.transforms[0].padding == (4, 4, 4, 4)
    assert isinstance(tr.preset("cifar", cutout=True).transforms[-1], tr.Cutout)
    with pytest.raises(KisonetValueError, match="did you mean 'digits'"):
        tr.preset("digit")


def test_digits_preset_keeps_digits_recognisable_at_8_and_28_pixels():
    from scipy import ndimage
    from sklearn.datasets import load_digits

    small = (load_digits().images[:64, None] / 16.0).astype(np.float32)
    big = ndimage.zoom(small, (1, 1, 3.5, 3.5), order=1).clip(0, 1).astype(np.float32)
    aug = tr.preset("digits")
    for x in (small, big):
        out = aug(x)
        assert out.shape == x.shape and out.dtype == np.float32
        corr = [np.corrcoef(o.ravel(), s.ravel())[0, 1] for o, s in zip(out, x, strict=True)]
        # Changed, but still close to the original digit (a wild warp would drop to ~0).
        assert 0.5 < np.median(corr) < 0.995
    el = next(t for t in aug.transforms if isinstance(t, tr.ElasticDistortion))
    a28, s28 = el.scaled(28, 28)
    a8, s8 = el.scaled(8, 8)
    assert s8 == pytest.approx(s28 * 8 / 28) and a8 == pytest.approx(a28 * (8 / 28) ** 2)


def test_augmentation_grid_rows_and_global_rng_untouched(rng, tmp_path):
    x = rng.random((10, 64), dtype=np.float32)  # flat 8x8 digits are accepted
    state = kn.get_rng_state()
    grid = tr.augmentation_grid(x, tr.preset("digits"), n_images=5, n_augmented=3, seed=1)
    assert grid.shape == (4, 5, 1, 8, 8)
    np.testing.assert_array_equal(grid[0], x[:5].reshape(5, 1, 8, 8))
    assert not np.array_equal(grid[1], grid[2])
    assert kn.get_rng_state() == state
    np.testing.assert_array_equal(tr.augmentation_grid(x, tr.preset("digits"), 5, 3, seed=1), grid)
    fig = tr.save_augmentation_grid(x, tr.preset("digits"), tmp_path / "out" / "grid.png", n_images=4, n_augmented=2)
    assert (tmp_path / "out" / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 12


def test_transforms_plug_into_the_data_loader(rng):
    from kisonet.data import DataLoader

    x = rng.random((20, 3, 32, 32), dtype=np.float32)
    y = np.arange(20)
    loader = DataLoader((x, y), batch_size=8, shuffle=False, transform=tr.preset("cifar", cutout=True))
    xb, yb = next(iter(loader))
    assert xb.shape == (8, 3, 32, 32) and xb.dtype == np.float32
    assert not np.array_equal(xb, x[:8])


def test_compose_fuses_consecutive_warps_into_one_resampling(rng):
    x = rng.random((4, 2, 11, 11), dtype=np.float32)
    there_and_back = [tr.RandomRotation((30, 30)), tr.RandomRotation((-30, -30))]
    fused = tr.Compose(there_and_back)(x)
    separate = tr.Compose(there_and_back, fuse=False)(x)
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    # One interpolation at s1(s2(q)) = q gives the image back; two interpolations blur it.
    np.testing.assert_allclose(fused[inner], x[inner], atol=1e-5)
    assert np.abs(separate[inner] - x[inner]).max() > 0.05
    # Same random draws in the same order: fused and separate pipelines agree up to the blur.
    kn.manual_seed(3)
    a = tr.Compose([tr.RandomAffine(10, scale=(0.9, 1.1)), tr.ElasticDistortion(3.0, 2.0)])(x)
    kn.manual_seed(3)
    b = tr.Compose([tr.RandomAffine(10, scale=(0.9, 1.1)), tr.ElasticDistortion(3.0, 2.0)], fuse=False)(x)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8
    # Different border settings are not fused (each keeps its own fill).
    mixed = tr.Compose([tr.RandomRotation((45, 45), fill=1.0), tr.RandomRotation((0, 0))])(x)
    assert (mixed[:, :, 0, 0] == 1.0).all()


def test_elastic_field_is_smoothed_uniform_noise_of_the_simard_size():
    from scipy import ndimage

    from kisonet.data import _warp

    # Smoothing by two GEMMs is scipy's gaussian_filter (zero boundary, truncate 3).
    f = np.random.default_rng(1).uniform(-1, 1, (6, 2, 13, 17)).astype(np.float32)
    for sigma in (0.8, 2.0, 4.0):
        ref = ndimage.gaussian_filter(f, (0, 0, sigma, sigma), mode="constant", truncate=3.0)
        np.testing.assert_allclose(_warp.gaussian_smooth(f, sigma), ref, atol=1e-6)
    # On a ramp x(i, j) = j bilinear interpolation is exact, so out - x is the x-displacement.
    ramp = np.broadcast_to(np.arange(48, dtype=np.float32), (64, 1, 48, 48)).copy()
    alpha, sigma = 34.0, 4.0
    dx = (tr.ElasticDistortion(alpha, sigma, padding_mode="edge")(ramp) - ramp)[:, 0, 12:-12, 12:-12]
    expected = alpha * np.sqrt(1 / 3) / (2 * np.sqrt(np.pi) * sigma)  # std of G_sigma * U(-1, 1), times alpha
    assert abs(dx.std() - expected) < 0.15 * expected
    neighbour = np.corrcoef(dx[:, :, :-1].ravel(), dx[:, :, 1:].ravel())[0, 1]
    assert neighbour > 0.9  # a smooth field, not per-pixel jitter
