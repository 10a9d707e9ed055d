"""IDX and CIFAR-10 binary parsers on files written here, including broken ones."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile

import numpy as np
import pytest

from kisonet.data import cifar, idx
from kisonet.errors import DataError


def _idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    return struct.pack(f">BBBB{a.ndim}I", 0, 0, code, a.ndim, *a.shape) + a.tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip_gzipped_or_not(tmp_path, rng, gz):
    imgs = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    name = "x-images-idx3-ubyte" + (".gz" if gz else "")
    p = idx.write_idx(tmp_path / name, imgs)
    q = idx.write_idx(tmp_path / ("x-labels-idx1-ubyte" + (".gz" if gz else "")), labels)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == gz
    np.testing.assert_array_equal(idx.read_idx(p), imgs)
    X, y = idx.load_idx_pair(p, q)
    assert X.shape == (7, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0] * 255, imgs, atol=1e-3)
    np.testing.assert_array_equal(y, labels)


def test_idx_big_endian_types(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    p = tmp_path / "a.idx"
    p.write_bytes(_idx_bytes(a.astype(">i4"), 0x0C))
    b = idx.read_idx(p)
    np.testing.assert_array_equal(b, a)
    assert b.dtype.isnative
    f = np.linspace(0, 1, 5, dtype=np.float32)
    np.testing.assert_array_equal(idx.parse_idx(_idx_bytes(f.astype(">f4"), 0x0D)), f)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:2], "too short"),
        (lambda b: b"\x08\x03" + b[2:], "bad magic"),
        (lambda b: b[:2] + b"\x07" + b[3:], "bad magic"),
        (lambda b: b[:10], "truncated header"),
        (lambda b: b[:-5], "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b[:4] + struct.pack(">I", 9) + b[8:], "need"),
    ],
)
def test_idx_corrupted_raises_clear_error(tmp_path, mutate, message):
    good = _idx_bytes(np.zeros((4, 3, 3), np.uint8))
    p = tmp_path / "bad-idx3-ubyte"
    p.write_bytes(mutate(good))
    with pytest.raises(DataError, match=message) as e:
        idx.read_idx(p)
    assert str(p) in str(e.value)


def test_idx_truncated_and_garbage_gzip(tmp_path):
    body = gzip.compress(_idx_bytes(np.ones((50, 8, 8), np.uint8)))
    p = tmp_path / "cut.gz"
    p.write_bytes(body[: len(body) // 2])
    with pytest.raises(DataError, match="corrupted or truncated gzip"):
        idx.read_idx(p)
    p.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DataError, match="gzip"):
        idx.read_idx(p)
    with pytest.raises(DataError, match="cannot read"):
        idx.read_idx(tmp_path / "missing.gz")


def test_idx_pair_mismatch(tmp_path):
    p = idx.write_idx(tmp_path / "i", np.zeros((5, 2, 2), np.uint8))
    q = idx.write_idx(tmp_path / "l", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 images but 4 labels"):
        idx.load_idx_pair(p, q)
    with pytest.raises(DataError, match="3 dims"):
        idx.load_idx_pair(q, q)


def _cifar_bytes(rng, n):
    y = rng.integers(0, 10, size=n).astype(np.uint8)
    X = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    rec = np.concatenate([y[:, None], X.reshape(n, -1)], axis=1)
    return rec.tobytes(), X, y


def test_cifar_records_layout(tmp_path, rng):
    raw, X, y = _cifar_bytes(rng, 6)
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(raw)
    Xr, yr = cifar.read_cifar_bin(p)
    np.testing.assert_array_equal(Xr, X)  # label byte, then R, G, B planes of 32x32
    np.testing.assert_array_equal(yr, y)
    assert yr.dtype == np.int64


def test_cifar_truncated_and_bad_label(tmp_path, rng):
    raw, _, _ = _cifar_bytes(rng, 3)
    p = tmp_path / "test_batch.bin"
    p.write_bytes(raw[:-100])
    with pytest.raises(DataError, match="3073-byte record"):
        cifar.read_cifar_bin(p)
    bad = bytearray(raw)
    bad[3073] = 42  # label of record 1
    p.write_bytes(bytes(bad))
    with pytest.raises(DataError, match="record 1 has label 42"):
        cifar.read_cifar_bin(p)


def _write_archive(path, rng, n=4, skip=None):
    parts = {}
    with tarfile.open(path, "w:gz") as tar:
        for name in cifar.TRAIN_FILES + cifar.TEST_FILES:
            raw, X, y = _cifar_bytes(rng, n)
            parts[name] = (X, y)
            if name == skip:
                continue
            info = tarfile.TarInfo(f"{cifar.ARCHIVE_DIR}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return parts


def test_cifar_archive_and_directory(tmp_path, rng):
    arc = tmp_path / "cifar-10-binary.tar.gz"
    parts = _write_archive(arc, rng)
    out = cifar.read_cifar_archive(arc)
    assert out["train"][0].shape == (20, 3, 32, 32) and out["test"][0].shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(out["train"][0][:4], parts["data_batch_1.bin"][0])
    np.testing.assert_array_equal(out["test"][1], parts["test_batch.bin"][1])
    with tarfile.open(arc) as tar:
        tar.extractall(tmp_path, filter="data")
    out2 = cifar.read_cifar_dir(tmp_path)
    np.testing.assert_array_equal(out2["train"][0], out["train"][0])


def test_cifar_archive_missing_member_and_truncated(tmp_path, rng):
    arc = tmp_path / "a.tar.gz"
    _write_archive(arc, rng, skip="data_batch_3.bin")
    with pytest.raises(DataError, match="lacks data_batch_3.bin"):
        cifar.read_cifar_archive(arc)
    data = arc.read_bytes()
    arc.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupted or truncated"):
        cifar.read_cifar_archive(arc)
