"""Fuzzing the file readers: random and mutated bytes give the documented error, never
another exception, never a hang, never a large allocation.

Readers under test: the IDX parser (raw and gzipped), the CIFAR-10 binary record
parser and archive reader, and the checkpoint loader ``kn.load``.  Each example
runs under a wall-clock alarm (a hang fails the test instead of blocking CI) and
``tracemalloc`` (NumPy reports its array allocations to it), so a header that
declares a huge shape cannot make the reader allocate more than a few MB.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import signal
import struct
import tarfile
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kisonet as kn
from kisonet.data import cifar, idx
from kisonet.errors import CheckpointError, DataError

SECONDS = 5  # per example; the readers take milliseconds on these sizes
PEAK_BYTES = 32 * 2**20
FUZZ = settings(
    max_examples=120,
    deadline=None,  # the alarm below is the hard limit; timing jitter on a shared CI box is not a bug
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # the same examples every run: CI stays reproducible
)


class _HangError(Exception):
    pass


@contextlib.contextmanager
def bounded(seconds: int = SECONDS, peak: int = PEAK_BYTES):
    """Fail (not block) after ``seconds``; fail if the block allocated more than ``peak`` bytes."""

    def on_alarm(signum, frame):
        raise _HangError(f"reader still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    tracemalloc.start()
    try:
        yield
    finally:
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert top <= peak, f"the reader allocated {top / 2**20:.1f} MB"


def expect_only(error: type[Exception], fn, *args):
    """Call ``fn``: success or ``error`` are fine; any other exception fails the test."""
    with bounded():
        try:
            return fn(*args)
        except error as e:
            assert str(e), "an error without a message"
            return None


def mutate(data: bytes, draw) -> bytes:
    """Byte flips, a truncation or an insertion (or a mix) of ``data``."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 6))):
        if not buf:
            break
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] = draw(st.integers(0, 255))
    op = draw(st.sampled_from(["none", "truncate", "insert", "append"]))
    if op == "truncate" and buf:
        buf = buf[: draw(st.integers(0, len(buf) - 1))]
    elif op == "insert":
        i = draw(st.integers(0, len(buf)))
        buf[i:i] = draw(st.binary(min_size=1, max_size=16))
    elif op == "append":
        buf += draw(st.binary(min_size=1, max_size=64))
    return bytes(buf)


# --- valid seeds -------------------------------------------------------------------------


def _idx_bytes(a: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}[a.dtype]
    return struct.pack(f">BBBB{a.ndim}I", 0, 0, code, a.ndim, *a.shape) + a.astype(a.dtype.newbyteorder(">")).tobytes()


IDX_SEEDS = [
    _idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)),
    _idx_bytes(np.arange(5, dtype=np.int32)),
    _idx_bytes(np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)),
]


def _cifar_bytes(n: int = 2) -> bytes:
    rec = np.zeros((n, cifar.RECORD), np.uint8)
    rec[:, 0] = np.arange(n) % 10
    rec[:, 1:] = np.arange(cifar.RECORD - 1) % 251
    return rec.tobytes()


def _cifar_archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in cifar.TRAIN_FILES + cifar.TEST_FILES:
            data = _cifar_bytes(1)
            info = tarfile.TarInfo(f"{cifar.ARCHIVE_DIR}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVE = _cifar_archive()


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@pytest.fixture(scope="module")
def checkpoint_bytes(workdir) -> bytes:
    kn.manual_seed(0)
    model = kn.nn.Linear(3, 2)
    opt = kn.optim.Adam(model.parameters(), lr=0.01)
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2, "history": [0.5, 0.25]}
    kn.save(state, workdir / "seed.npz", kind="checkpoint")
    return (workdir / "seed.npz").read_bytes()


# --- the seeds are valid (so the mutations start from real files) ---------------------------


def test_seeds_parse(workdir, checkpoint_bytes):
    assert idx.parse_idx(IDX_SEEDS[0]).shape == (2, 3, 4)
    assert cifar.parse_cifar_records(_cifar_bytes())[0].shape == (2, 3, 32, 32)
    (workdir / "c.tar.gz").write_bytes(_cifar_archive())
    assert cifar.read_cifar_archive(workdir / "c.tar.gz")["train"][0].shape == (5, 3, 32, 32)
    assert kn.load(workdir / "seed.npz", kind="checkpoint")["epoch"] == 2


def test_bounded_catches_a_big_allocation():
    with pytest.raises(AssertionError, match="allocated"), bounded(peak=2**20):
        np.ones(2**21, np.uint8)


# --- IDX -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=256))
def test_idx_random_bytes(data):
    expect_only(DataError, idx.parse_idx, data)


@FUZZ
@given(st.data())
def test_idx_mutated(data):
    seed = data.draw(st.sampled_from(IDX_SEEDS))
    out = expect_only(DataError, idx.parse_idx, mutate(seed, data.draw))
    if out is not None:
        assert out.dtype.isnative and out.size * out.itemsize <= 256


@FUZZ
@given(st.data())
def test_idx_huge_declared_shape_is_refused_without_allocating(data):
    dims = data.draw(st.lists(st.integers(2**16, 2**32 - 1), min_size=2, max_size=4))
    header = struct.pack(f">BBBB{len(dims)}I", 0, 0, 0x0E, len(dims), *dims)
    with pytest.raises(DataError, match="truncated"), bounded():
        idx.parse_idx(header + b"\x00" * 64)


@settings(FUZZ, max_examples=60)
@given(st.data())
def test_idx_gzip_mutated(workdir, data):
    seed = gzip.compress(data.draw(st.sampled_from(IDX_SEEDS)))
    path = workdir / "m.idx.gz"
    path.write_bytes(mutate(seed, data.draw))
    expect_only(DataError, idx.read_idx, path)


# --- CIFAR -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4 * cifar.RECORD).map(lambda b: b[: len(b) - len(b) % 7]))
def test_cifar_random_bytes(data):
    expect_only(DataError, cifar.parse_cifar_records, data)


@FUZZ
@given(st.data())
def test_cifar_mutated(data):
    out = expect_only(DataError, cifar.parse_cifar_records, mutate(_cifar_bytes(), data.draw))
    if out is not None:
        X, y = out
        assert X.shape[1:] == (3, 32, 32) and len(X) == len(y) and y.max() < 10


@settings(FUZZ, max_examples=60)
@given(st.data())
def test_cifar_archive_mutated(workdir, data):
    path = workdir / "m.tar.gz"
    path.write_bytes(mutate(ARCHIVE, data.draw))
    expect_only(DataError, cifar.read_cifar_archive, path)


# --- checkpoints ----------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=512))
def test_checkpoint_random_bytes(workdir, data):
    path = workdir / "r.npz"
    path.write_bytes(data)
    expect_only(CheckpointError, kn.load, path)


@FUZZ
@given(st.binary(max_size=512))
def test_checkpoint_random_bytes_behind_zip_magic(workdir, data):
    path = workdir / "z.npz"
    path.write_bytes(b"PK\x03\x04" + data)
    expect_only(CheckpointError, kn.load, path)


@settings(FUZZ, max_examples=200)
@given(st.data())
def test_checkpoint_mutated(workdir, checkpoint_bytes, data):
    path = workdir / "m.npz"
    path.write_bytes(mutate(checkpoint_bytes, data.draw))
    out = expect_only(CheckpointError, kn.load, path)
    if out is not None:  # a flip that kept everything valid (e.g. in zip padding) loads the same
        ref = kn.load(workdir / "seed.npz")
        assert out["epoch"] == ref["epoch"]
        for k, v in ref["model"].items():
            np.testing.assert_array_equal(out["model"][k], v)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["t", "k", "v", "items", "x"]), inner, max_size=4)
    ),
    max_leaves=20,
)


def _rewrite_meta(src: Path, dst: Path, edit) -> None:
    """Re-pack the archive with ``__meta__`` edited (consistent zip CRCs: only kisonet's checks remain)."""
    import json
    import zipfile

    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("__meta__")[()]))
    meta = edit(meta)
    with open(dst, "wb") as f:
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
    assert zipfile.is_zipfile(dst)


@settings(FUZZ, max_examples=80)
@given(key=st.sampled_from(["structure", "format_version", "checksum", "kind", "format", None]), value=_json)
def test_checkpoint_with_forged_metadata(workdir, checkpoint_bytes, key, value):
    """A forged ``__meta__`` (valid zip, valid JSON, wrong content) is refused, never crashes."""
    path = workdir / "forged.npz"

    def edit(meta):
        if key is None:
            return value  # the whole metadata replaced
        meta[key] = value
        return meta

    _rewrite_meta(workdir / "seed.npz", path, edit)
    expect_only(CheckpointError, kn.load, path, "checkpoint")


def _with_npy_header(src: Path, dst: Path, member: str, shape: tuple[int, ...], dtype: str) -> None:
    """Re-pack ``src`` with one entry's .npy header declaring another shape/dtype (valid zip CRCs)."""
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(src) as zin:
        entries = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(dst, "w") as zout:
        for info, data in entries:
            if info.filename == member:
                body = data[data.index(b"\n") + 1 :]  # the array bytes after the original header
                head = io.BytesIO()
                npy.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False, "shape": shape})
                data = npy.magic(1, 0) + head.getvalue()[len(npy.magic(1, 0)) :] + body
            zout.writestr(info, data)


@settings(FUZZ, max_examples=60)
@given(
    shape=st.lists(st.integers(0, 2**40), min_size=0, max_size=4).map(tuple),
    dtype=st.sampled_from(["<f4", "<f8", "|u1", "<i8", "|b1"]),
    member=st.sampled_from(["model.weight.npy", "__meta__.npy"]),
)
def test_checkpoint_with_forged_array_header_allocates_nothing_big(workdir, checkpoint_bytes, shape, dtype, member):
    """A header declaring a huge (or just wrong) shape is refused before NumPy allocates it."""
    path = workdir / "forged_header.npz"
    _with_npy_header(workdir / "seed.npz", path, member, shape, dtype)
    expect_only(CheckpointError, kn.load, path)  # bounded(): never more than a few MB
