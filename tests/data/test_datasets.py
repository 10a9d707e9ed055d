"""Every named dataset: shapes, dtypes, value ranges, seeding; the listing; real MNIST t10k."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.data import DatasetBundle, load_dataset
from kisonet.errors import DataError

OFFLINE = ["digits", "iris", "breast-cancer", "diabetes", "moons", "circles", "spirals", "co2", "polynomial"]


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_dataset_contract(name):
    b = load_dataset(name)
    assert isinstance(b, DatasetBundle) and b.name == name
    assert b.task in ("classification", "regression") and b.description and "\n" not in b.description
    info = {i.name: i for i in kn.data.datasets()}[name]
    assert (len(b.train[0]), len(b.test[0])) == (info.n_train, info.n_test)
    for X, y in (b.train, b.test):
        assert X.dtype == np.float32 and X.shape[1:] == b.input_shape and len(X) == len(y)
        assert np.all(np.isfinite(X))
        if b.task == "classification":
            assert y.dtype == np.int64 and y.ndim == 1
            assert 0 <= y.min() and y.max() < b.n_classes
        else:
            assert y.dtype == np.float32 and y.shape == (len(X), 1) and b.n_classes is None
    if b.task == "classification":
        assert set(np.unique(b.train[1])) == set(range(b.n_classes))


def test_digits_is_nchw_in_unit_range_with_fixed_stratified_test():
    b = load_dataset("digits")
    assert b.train[0].shape == (1438, 1, 8, 8) and b.test[0].shape == (359, 1, 8, 8)
    assert b.train[0].min() == 0.0 and b.train[0].max() == 1.0
    counts = np.bincount(b.test[1])
    assert counts.min() >= 35 and counts.max() <= 37  # ~20% of each class (174-183 per class)
    np.testing.assert_array_equal(load_dataset("digits", seed=5).test[1], b.test[1])  # fixed test set
    # the two splits are a partition of scikit-learn's 1,797 images
    from sklearn.datasets import load_digits

    ours = np.concatenate([b.train[0], b.test[0]]).reshape(1797, -1) * 16
    ref = load_digits().data
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(ref.astype(np.float32), axis=0))
    assert len(ours) == len(ref)


def test_synthetic_seeded():
    for name in ("moons", "circles", "spirals", "co2", "polynomial"):
        a, b, c = load_dataset(name, seed=1), load_dataset(name, seed=1), load_dataset(name, seed=2)
        np.testing.assert_array_equal(a.train[0], b.train[0])
        assert not np.array_equal(a.train[0], c.train[0])


def test_spirals_options_and_unknown_option():
    b = load_dataset("spirals", n_classes=5, n_samples=500)
    assert b.n_classes == 5 and len(b.train[0]) + len(b.test[0]) == 500
    assert set(np.unique(b.train[1])) == set(range(5))
    with pytest.raises(kn.KisonetValueError, match="wobble"):
        load_dataset("moons", wobble=3)


def test_co2_is_the_notes_toy():
    b = load_dataset("co2")
    assert (len(b.train[0]), len(b.test[0])) == (1000, 2)
    x, y = b.train[0][:, 0].astype(np.float64), b.train[1][:, 0].astype(np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    assert -95 < slope < -70 and 600 < y.mean() < 800  # stronger wind, lower CO2 (ppm)


def test_polynomial_follows_sine():
    b = load_dataset("polynomial", n_train=2000, noise=0.1)
    x, y = b.train[0][:, 0], b.train[1][:, 0]
    assert np.abs(y - np.sin(2 * np.pi * x)).mean() < 0.1


def test_unknown_name_suggests():
    with pytest.raises(kn.KisonetValueError, match="did you mean 'mnist'"):
        load_dataset("mnits")
    assert load_dataset("breast_cancer").name == "breast-cancer"


def test_datasets_listing_and_table(tmp_path, monkeypatch):
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))
    rows = kn.data.datasets()
    names = [r.name for r in rows]
    assert names == list(kn.data.DATASET_NAMES)
    assert {"digits", "mnist", "fashion-mnist", "cifar10", "mnist-t10k", "co2"} <= set(names)
    by = {r.name: r for r in rows}
    assert by["digits"].available and by["digits"].kind == "embedded"
    assert not by["cifar10"].cached and by["cifar10"].download_bytes == 170052171
    table = kn.data.format_datasets_table(rows)
    assert "cifar10" in table and "162.2 MB" in table and str(tmp_path) in table


def test_downloadable_without_files_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))
    with pytest.raises(DataError, match="cifar-10-binary.tar.gz") as e:
        load_dataset("cifar10", download=False)
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in str(e.value)
    monkeypatch.setenv("KISONET_OFFLINE", "1")
    with pytest.raises(DataError, match="KISONET_OFFLINE"):
        load_dataset("mnist")


def test_cifar10_from_extracted_user_dir(tmp_path, rng):
    from kisonet.data import cifar

    d = tmp_path / cifar.ARCHIVE_DIR
    d.mkdir()
    for i, name in enumerate(cifar.TRAIN_FILES + cifar.TEST_FILES):
        y = np.full(3, i % 10, np.uint8)
        X = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
        (d / name).write_bytes(np.concatenate([y[:, None], X], axis=1).tobytes())
    b = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert b.train[0].shape == (15, 3, 32, 32) and b.test[0].shape == (3, 3, 32, 32)
    assert b.train[0].dtype == np.float32 and 0.0 <= b.train[0].min() and b.train[0].max() <= 1.0
    assert b.classes[0] == "airplane" and b.input_shape == (3, 32, 32)


def test_mnist_t10k_real_files(mnist_dir):
    b = load_dataset("mnist-t10k", data_dir=mnist_dir)
    assert b.train[0].shape == (8000, 1, 28, 28) and b.test[0].shape == (2000, 1, 28, 28)
    assert b.train[0].dtype == np.float32 and b.train[1].dtype == np.int64
    assert b.train[0].min() == 0.0 and b.train[0].max() == 1.0
    counts = np.bincount(np.concatenate([b.train[1], b.test[1]]), minlength=10)
    np.testing.assert_array_equal(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


def test_mnist_t10k_found_through_kisonet_data(mnist_dir, monkeypatch):
    monkeypatch.setenv("KISONET_DATA", str(mnist_dir.parent))
    b = load_dataset("mnist-t10k", download=False)
    assert len(b.test[1]) == 2000
    assert {r.name: r.cached for r in kn.data.datasets()}["mnist-t10k"]


def test_digits_read_without_sklearn_import_equal_load_digits():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from kisonet.data.datasets import _holdout

    d = sklearn_datasets.load_digits()
    X = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    (Xtr, ytr), (Xte, yte) = _holdout(X, d.target.astype(np.int64), 0.2, 0, True)
    b = kn.data.load_dataset("digits")
    np.testing.assert_array_equal(b.train[0], Xtr)
    np.testing.assert_array_equal(b.train[1], ytr)
    np.testing.assert_array_equal(b.test[0], Xte)
    np.testing.assert_array_equal(b.test[1], yte)
