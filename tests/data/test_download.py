"""The downloader against a local HTTP server started here (no internet needed)."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections import Counter

import numpy as np
import pytest

import kisonet as kn
from kisonet.data import download as dl
from kisonet.data import idx
from kisonet.errors import DataError

PAYLOAD = bytes(range(256)) * 300  # 76.8 kB


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: Counter = Counter()

    def do_GET(self):  # noqa: N802
        self.hits[self.path] += 1
        mode, _, name = self.path.lstrip("/").partition("/")
        body = self.files.get(name)
        if body is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "bad":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":  # promise everything, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files = {"payload.bin": PAYLOAD}
    _Handler.hits = Counter()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield base, _Handler
    srv.shutdown()
    srv.server_close()


def _remote(*urls, name="payload.bin", data=PAYLOAD):
    return dl.RemoteFile(name, hashlib.sha256(data).hexdigest(), len(data), tuple(urls))


def _leftovers(d):
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_download_success_verified_and_atomic(tmp_path, server):
    base, h = server
    path = dl.fetch(_remote(f"{base}/ok/payload.bin"), tmp_path, progress=False)
    assert path == tmp_path / "payload.bin"
    assert path.read_bytes() == PAYLOAD
    assert _leftovers(tmp_path) == ["payload.bin"]  # no .part file remains


def test_checksum_mismatch_leaves_nothing(tmp_path, server):
    base, _ = server
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        dl.fetch(_remote(f"{base}/bad/payload.bin"), tmp_path, progress=False)
    assert _leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_nothing(tmp_path, server):
    base, _ = server
    with pytest.raises(DataError, match="interrupted|IncompleteRead") as e:
        dl.fetch(_remote(f"{base}/cut/payload.bin"), tmp_path, progress=False)
    assert "payload.bin" in str(e.value) and str(tmp_path) in str(e.value)
    assert _leftovers(tmp_path) == []


def test_mirror_fallback(tmp_path, server):
    base, h = server
    r = _remote(
        f"{base}/missing/payload.bin", f"{base}/cut/payload.bin", f"{base}/bad/payload.bin", f"{base}/ok/payload.bin"
    )
    assert dl.fetch(r, tmp_path, progress=False).read_bytes() == PAYLOAD
    assert [h.hits[f"/{m}/payload.bin"] for m in ("missing", "cut", "bad", "ok")] == [1, 1, 1, 1]
    assert _leftovers(tmp_path) == ["payload.bin"]


def test_cache_hit_makes_no_second_request(tmp_path, server):
    base, h = server
    r = _remote(f"{base}/ok/payload.bin")
    dl.fetch(r, tmp_path, progress=False)
    dl.fetch(r, tmp_path, progress=False)
    assert h.hits["/ok/payload.bin"] == 1


def test_corrupted_cache_is_removed_reported_and_refetched(tmp_path, server):
    base, h = server
    (tmp_path / "payload.bin").write_bytes(b"half-written junk")
    with pytest.warns(UserWarning, match="does not match its published SHA-256"):
        path = dl.fetch(_remote(f"{base}/ok/payload.bin"), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD and h.hits["/ok/payload.bin"] == 1


def test_unreachable_network_says_what_to_download_and_where(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = _remote(f"http://127.0.0.1:{port}/payload.bin")
    with pytest.raises(DataError) as e:
        dl.fetch(r, tmp_path / "cache", progress=False, timeout=2)
    msg = str(e.value)
    assert "Download these files by hand" in msg and r.urls[0] in msg
    assert str(tmp_path / "cache") in msg and r.sha256 in msg
    with pytest.raises(DataError, match="download=False"):
        dl.fetch(r, tmp_path, download=False)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))
    assert dl.cache_dir() == tmp_path
    monkeypatch.delenv("KISONET_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dl.cache_dir() == tmp_path / "xdg" / "kisonet"


def _fake_mnist_files(rng, n_train=12, n_test=5):
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, arr in (
            ("images-idx3", rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)),
            ("labels-idx1", rng.integers(0, 10, size=n).astype(np.uint8)),
        ):
            files[f"{prefix}-{kind}-ubyte"] = arr
    return files


def test_load_dataset_downloads_into_cache_then_reuses_it(tmp_path, server, monkeypatch, rng):
    import gzip
    import struct

    base, h = server
    remotes = []
    for name, arr in _fake_mnist_files(rng).items():
        body = gzip.compress(struct.pack(f">BBBB{arr.ndim}I", 0, 0, 8, arr.ndim, *arr.shape) + arr.tobytes())
        h.files[name + ".gz"] = body
        remotes.append(_remote(f"{base}/missing/{name}.gz", f"{base}/ok/{name}.gz", name=name + ".gz", data=body))
    monkeypatch.setitem(dl.REMOTE_FILES, "fashion-mnist", tuple(remotes))
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))
    b = kn.data.load_dataset("fashion-mnist")
    assert b.train[0].shape == (12, 1, 28, 28) and b.test[0].shape == (5, 1, 28, 28)
    assert b.classes[0] == "T-shirt/top"
    assert sorted(p.name for p in (tmp_path / "fashion-mnist").iterdir()) == sorted(r.filename for r in remotes)
    before = sum(h.hits.values())
    kn.data.load_dataset("fashion-mnist")
    assert sum(h.hits.values()) == before  # served from the cache
    assert [i.cached for i in kn.data.datasets() if i.name == "fashion-mnist"] == [True]


def test_load_dataset_from_user_data_dir_uncompressed(tmp_path, rng):
    files = _fake_mnist_files(rng)
    for name, arr in files.items():
        idx.write_idx(tmp_path / name, arr)  # raw IDX, no .gz
    b = kn.data.load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    assert b.train[0].dtype == np.float32 and b.train[1].dtype == np.int64
    np.testing.assert_array_equal(b.test[1], files["t10k-labels-idx1-ubyte"])
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz") as e:
        kn.data.load_dataset("fashion-mnist", data_dir=tmp_path)
    assert "put them in" in str(e.value)


def test_user_files_with_pinned_content_are_checked(tmp_path, rng):
    # the MNIST test files' content is pinned by SHA-256: a look-alike is refused, never silently used
    for name, arr in _fake_mnist_files(rng).items():
        idx.write_idx(tmp_path / name, arr)
    with pytest.raises(DataError, match="does not match the published t10k"):
        kn.data.load_dataset("mnist", data_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="does not match the published t10k"):
        kn.data.load_dataset("mnist-t10k", data_dir=tmp_path, download=False)


def test_load_dataset_offline_lists_every_missing_file(tmp_path, monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    remotes = tuple(_remote(f"http://127.0.0.1:{port}/{n}", name=n) for n in ("a-idx3-ubyte.gz", "b-idx1-ubyte.gz"))
    monkeypatch.setitem(dl.REMOTE_FILES, "fashion-mnist", remotes)
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))
    with pytest.raises(DataError) as e:
        kn.data.load_dataset("fashion-mnist")
    msg = str(e.value)
    assert "a-idx3-ubyte.gz" in msg and "b-idx1-ubyte.gz" in msg and str(tmp_path / "fashion-mnist") in msg
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing half-written in the cache
