"""Splits (disjoint, ratios, stratified), K-fold and the Standardizer."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.data import KFold, Standardizer, StratifiedKFold, split_train_val, train_val_test_split


def _labelled(n_per_class=(50, 30, 20)):
    y = np.repeat(np.arange(len(n_per_class)), n_per_class).astype(np.int64)
    X = np.arange(len(y), dtype=np.float32)[:, None]  # X encodes the sample id
    return X, y


def test_train_val_test_disjoint_cover_ratios_and_stratified():
    X, y = _labelled((500, 300, 200))
    (Xtr, ytr), (Xva, yva), (Xte, yte) = train_val_test_split(X, y, ratios=(0.8, 0.1, 0.1), seed=0)
    ids = [a[:, 0].astype(int) for a in (Xtr, Xva, Xte)]
    assert sum(len(i) for i in ids) == 1000
    np.testing.assert_array_equal(np.sort(np.concatenate(ids)), np.arange(1000))  # disjoint and covering
    assert (len(ids[0]), len(ids[1]), len(ids[2])) == (800, 100, 100)
    for part_y, ids_ in zip((ytr, yva, yte), ids, strict=True):
        np.testing.assert_array_equal(part_y, y[ids_])  # labels follow their samples
    np.testing.assert_array_equal(np.bincount(yva), [50, 30, 20])
    np.testing.assert_array_equal(np.bincount(yte), [50, 30, 20])


def test_stratified_small_classes_keep_proportions_within_one():
    X, y = _labelled((5, 7, 9, 11, 3, 4, 6, 8, 10, 12))
    parts = train_val_test_split(X, y, ratios=(0.6, 0.2, 0.2), seed=1)
    sizes = [len(p[1]) for p in parts]
    assert sum(sizes) == len(y)
    assert sizes == [45, 15, 15]
    counts = np.bincount(y)
    for (_, py), r in zip(parts, (0.6, 0.2, 0.2), strict=True):
        assert np.all(np.abs(np.bincount(py, minlength=10) - counts * r) < 1.0 + 1e-9)


def test_split_is_seeded():
    X, y = _labelled()
    a = train_val_test_split(X, y, seed=5)
    b = train_val_test_split(X, y, seed=5)
    c = train_val_test_split(X, y, seed=6)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], c[0][0])


def test_unstratified_and_regression_targets():
    X = np.arange(100, dtype=np.float32)[:, None]
    y = np.linspace(0, 1, 100, dtype=np.float32)[:, None]
    tr, va, te = train_val_test_split(X, y, ratios=(0.7, 0.2, 0.1), seed=0)
    assert (len(tr[0]), len(va[0]), len(te[0])) == (70, 20, 10)
    np.testing.assert_array_equal(tr[1], y[tr[0][:, 0].astype(int)])


def test_split_train_val():
    X, y = _labelled((60, 40))
    (Xtr, ytr), (Xva, yva) = split_train_val(X, y, val_fraction=0.25, seed=0)
    assert len(yva) == 25 and len(ytr) == 75
    np.testing.assert_array_equal(np.bincount(yva), [15, 10])
    assert not set(Xtr[:, 0]) & set(Xva[:, 0])


def test_split_errors():
    X, y = _labelled()
    with pytest.raises(kn.KisonetValueError, match="sum to 1"):
        train_val_test_split(X, y, ratios=(0.8, 0.1, 0.2))
    with pytest.raises(kn.ShapeError):
        train_val_test_split(X, y[:-1])
    with pytest.raises(kn.KisonetValueError, match="val_fraction"):
        split_train_val(X, y, val_fraction=1.5)


@pytest.mark.parametrize("shuffle", [False, True])
def test_kfold_partitions(shuffle):
    X = np.zeros((23, 2))
    folds = list(KFold(n_splits=5, shuffle=shuffle, seed=0).split(X))
    assert len(folds) == 5
    vals = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(23))
    assert sorted(len(v) for _, v in folds) == [4, 4, 5, 5, 5]
    for tr, va in folds:
        assert not set(tr) & set(va) and len(tr) + len(va) == 23
    if not shuffle:
        np.testing.assert_array_equal(folds[0][1], np.arange(5))


def test_kfold_without_shuffle_is_contiguous_like_sklearn():
    X = np.zeros((17, 1))
    expected = [np.arange(0, 5), np.arange(5, 9), np.arange(9, 13), np.arange(13, 17)]  # first n % k folds + 1
    for (tr, va), ev in zip(KFold(4).split(X), expected, strict=True):
        np.testing.assert_array_equal(va, ev)
        np.testing.assert_array_equal(tr, np.setdiff1d(np.arange(17), ev))


def test_stratified_kfold_keeps_class_mix():
    _, y = _labelled((50, 30, 20))
    X = np.zeros((len(y), 1))
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, seed=0).split(X, y))
    vals = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(len(y)))
    for _, va in folds:
        np.testing.assert_array_equal(np.bincount(y[va], minlength=3), [10, 6, 4])
    with pytest.raises(kn.KisonetValueError, match="largest class size"):
        list(StratifiedKFold(n_splits=60).split(X, y))
    with pytest.raises(kn.KisonetValueError, match="n_splits"):
        KFold(n_splits=1)


def test_standardizer_features_fit_on_train_only(rng):
    Xtr = (rng.standard_normal((200, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 10.0]).astype(np.float32)
    Xte = (Xtr[:50] + 100.0).astype(np.float32)
    s = Standardizer().fit(Xtr)
    Z = s.transform(Xtr)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-4)
    # test data uses the training statistics: a shift shows up, it is not normalised away
    assert np.all(s.transform(Xte).mean(0) > 5)
    np.testing.assert_allclose(s.inverse_transform(Z), Xtr, rtol=1e-5, atol=1e-4)


def test_standardizer_per_channel_images_and_zero_std(rng):
    X = rng.uniform(size=(16, 3, 5, 5)).astype(np.float32) * np.array([1, 2, 3], np.float32)[None, :, None, None]
    X[:, 2] = 0.7  # constant channel
    s = Standardizer()
    Z = s.fit_transform(X)
    assert s.mean_.shape == (3, 1, 1)
    np.testing.assert_allclose(Z[:, :2].mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, :2].std(axis=(0, 2, 3)), 1, atol=1e-4)
    assert np.all(np.isfinite(Z)) and np.all(Z[:, 2] == 0)
    np.testing.assert_allclose(s.inverse_transform(Z), X, atol=1e-5)
    per_pixel = Standardizer(axis=0).fit(X)
    assert per_pixel.mean_.shape == (3, 5, 5)


def test_standardizer_state_roundtrip_and_errors(rng):
    X = rng.standard_normal((30, 4)).astype(np.float32)
    s = Standardizer().fit(X)
    t = Standardizer()
    t.load_state_dict(s.state_dict())
    np.testing.assert_array_equal(t.transform(X), s.transform(X))
    with pytest.raises(kn.KisonetValueError, match="fit"):
        Standardizer().transform(X)
    with pytest.raises(kn.ShapeError):
        s.transform(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError):
        Standardizer(eps=-1)
