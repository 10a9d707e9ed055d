"""kn.save / kn.load (safe .npz with JSON meta) and kisonet.io.atomic_write."""

from __future__ import annotations

import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn, serialization
from kisonet.io import atomic_write


def _nested_state():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    return {
        "model": model.state_dict(),
        "optimizer": {
            "state": {0: {"step": 7, "exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}],
        },
        "scheduler": {"last_epoch": -1, "name": "cosine", "eta_min": 0.0, "extra": None},
        "rng": kn.get_rng_state(),
        "floats": [math.inf, -math.inf, 1.5e-300],
        "nan": math.nan,
        "scalars": {"f32": np.float32(2.5), "i64": np.int64(-3), "b": np.bool_(True)},
        "arrays": {
            "empty": np.zeros((0, 3)),
            "zero_d": np.array(4.0),
            "bool": np.array([True, False]),
            "u8": np.arange(5, dtype=np.uint8),
            "f64": np.linspace(0, 1, 4),
        },
        "a.b": np.ones(2),  # flattens to the same dotted name as nested["a"]["b"]
        "a": {"b": np.zeros(2)},
        "tensor": kn.tensor([1.0, 2.0]),
        "text": "ニューラルネット",
        "empty_list": [],
        "empty_dict": {},
    }


def _assert_same(a, b, path="obj"):
    if isinstance(a, kn.Tensor):
        a = a.data
    if isinstance(a, (np.ndarray, np.generic)):
        assert type(b) is type(a) or isinstance(b, np.ndarray), path
        assert np.asarray(b).dtype == np.asarray(a).dtype and np.asarray(b).shape == np.asarray(a).shape, path
        np.testing.assert_array_equal(b, a, err_msg=path)
    elif isinstance(a, dict):
        assert type(b) is dict and list(b) == list(a), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(b) is type(a) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}.{i}")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert type(b) is type(a) and b == a, path


def test_round_trip_nested_state(tmp_path):
    state = _nested_state()
    path = tmp_path / "ckpt.npz"
    kn.save(state, path, kind="checkpoint")
    loaded = kn.load(path)
    _assert_same(state, loaded)
    meta = serialization.read_meta(path)
    assert meta["kind"] == "checkpoint" and meta["format_version"] == serialization.FORMAT_VERSION
    assert meta["kisonet_version"] == kn.__version__ and meta["checksum"].startswith("sha256:")
    # a plain, non-executable npz: every entry loads with allow_pickle=False
    with np.load(path, allow_pickle=False) as z:
        assert "model.0.weight" in z.files and "__meta__" in z.files
        json.loads(str(z["__meta__"][()]))


def test_model_state_and_rng_restore(tmp_path):
    model = nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1))
    kn.save({"model": model.state_dict(), "rng": kn.get_rng_state()}, tmp_path / "m.npz")
    first = kn.randn(4).data.copy()
    other = nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1))
    state = kn.load(tmp_path / "m.npz")
    other.load_state_dict(state["model"])
    x = kn.ones((2, 5))
    np.testing.assert_array_equal(other(x).data, model(x).data)
    kn.set_rng_state(state["rng"])
    np.testing.assert_array_equal(kn.randn(4).data, first)


def test_kind_check_and_unsupported_objects(tmp_path):
    kn.save({"w": np.ones(2)}, tmp_path / "s.npz")
    assert kn.load(tmp_path / "s.npz", kind="state")["w"].shape == (2,)
    with pytest.raises(kn.CheckpointError, match="'state', expected 'checkpoint'"):
        kn.load(tmp_path / "s.npz", kind="checkpoint")
    with pytest.raises(kn.KisonetTypeError, match="state_dict"):
        kn.save(nn.Linear(2, 2), tmp_path / "x.npz")
    with pytest.raises(kn.KisonetTypeError, match="objects"):
        kn.save({"o": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(kn.KisonetTypeError, match="keys"):
        kn.save({(1, 2): 3}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_truncated_corrupted_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    kn.save({"w": np.arange(1000, dtype=np.float32), "n": 1}, good)
    raw = good.read_bytes()
    cases = {}
    cases["truncated.npz"] = raw[: len(raw) // 2]
    flipped = bytearray(raw)
    i = raw.find(np.arange(1000, dtype=np.float32)[500:504].tobytes())
    flipped[i] ^= 0xFF  # one byte inside the array data
    cases["flipped.npz"] = bytes(flipped)
    cases["empty.npz"] = b""
    cases["text.npz"] = b"hello, not a checkpoint\n"
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    np.savez(tmp_path / "foreign.npz", w=np.ones(3))
    np.save(tmp_path / "single.npy", np.ones(3))
    for name in [*cases, "foreign.npz", "single.npy", "missing.npz"]:
        with pytest.raises(kn.CheckpointError, match=name.replace(".", r"\.")):
            kn.load(tmp_path / name)


def test_tampered_arrays_fail_checksum(tmp_path):
    path = tmp_path / "t.npz"
    kn.save({"w": np.ones(3)}, path)
    with np.load(path) as z:
        entries = {k: z[k] for k in z.files}
    entries["w"] = entries["w"] * 2  # valid zip, consistent CRCs, different numbers
    np.savez(path, **entries)
    with pytest.raises(kn.CheckpointError, match="checksum"):
        kn.load(path)


def test_loading_never_runs_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    pickled = tmp_path / "evil.npz"
    pickled.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(kn.CheckpointError, match="pickle"):
        kn.load(pickled)
    # an npz whose entry is an object array (a pickle inside the zip)
    inner = tmp_path / "evil2.npz"
    np.savez(inner, __meta__=np.array([Evil()], dtype=object))
    with pytest.raises(kn.CheckpointError):
        kn.load(inner)
    assert not marker.exists()


def test_atomic_write_replaces_or_leaves_old_file(tmp_path):
    path = tmp_path / "f.bin"
    with atomic_write(path) as f:
        f.write(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"partial new content")
        raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]  # the temporary file was removed
    with atomic_write(path, "w") as f:
        f.write("new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    with pytest.raises(kn.KisonetIOError, match="does not exist"), atomic_write(tmp_path / "nope" / "f"):
        pass


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    kn.save({"w": np.ones(2)}, path)

    def broken_savez(f, **arrays):
        f.write(b"PK garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        kn.save({"w": np.zeros(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(kn.load(path)["w"], np.ones(2))
    assert os.listdir(tmp_path) == ["c.npz"]
    assert zipfile.is_zipfile(path)


def test_malformed_meta_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "m.npz"
    kn.save({"w": np.ones(2)}, path)
    with np.load(path) as z:
        meta = json.loads(str(z["__meta__"][()]))
        w = z["w"]
    meta["structure"]["items"][0][1]["k"] = "gone"
    np.savez(path, __meta__=np.array(json.dumps(meta)), w=w)
    # the checksum covers the metadata: an edited structure is caught first
    with pytest.raises(kn.CheckpointError, match="checksum mismatch.*metadata"):
        kn.load(path)
    # a structure that passes its checksum but is inconsistent is still named (checksum recomputed)
    meta["checksum"] = "sha256:" + kn.serialization._checksum({"w": w}, meta)
    np.savez(path, __meta__=np.array(json.dumps(meta)), w=w)
    with pytest.raises(kn.CheckpointError, match="'gone'.*missing"):
        kn.load(path)
    meta["format_version"] = 99
    np.savez(path, __meta__=np.array(json.dumps(meta)), w=w)
    with pytest.raises(kn.CheckpointError, match="newer"):
        kn.load(path)
    np.savez(path, __meta__=np.array("{not json"), w=w)
    with pytest.raises(kn.CheckpointError, match="JSON"):
        kn.load(path)
