"""CIFAR-10 *binary* version reader: fixed-length records, never pickle.

Each record is 3,073 bytes: one label byte (0-9) then 3,072 pixel bytes, the
1,024 red values, then green, then blue, each 32x32 row-major, so the pixels
reshape directly to CHW.  The archive ``cifar-10-binary.tar.gz`` holds
``cifar-10-batches-bin/data_batch_{1..5}.bin`` and ``test_batch.bin``.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..lang import tr

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
ARCHIVE_DIR = "cifar-10-batches-bin"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def parse_cifar_records(data: bytes, source: str = "<bytes>", n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Records -> ``(X uint8 (N, 3, 32, 32), y int64 (N,))``; validated strictly."""
    if len(data) == 0 or len(data) % RECORD:
        raise DataError(
            tr(
                (
                    "CIFAR binary {0}: {1} bytes is not a positive multiple of the {2}-byte record "
                    "({3} whole records + {4} bytes); truncated or not a CIFAR-10 batch"
                ),
                source,
                len(data),
                RECORD,
                len(data) // RECORD,
                len(data) % RECORD,
            )
        )
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = rec[:, 0].astype(np.int64)
    bad = np.flatnonzero(y >= n_classes)
    if bad.size:
        raise DataError(
            tr(
                "CIFAR binary {0}: record {1} has label {2} (valid 0-{3}); corrupted file",
                source,
                bad[0],
                y[bad[0]],
                n_classes - 1,
            )
        )
    X = rec[:, 1:].reshape(-1, 3, 32, 32).copy()
    return X, y


def read_cifar_bin(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``*.bin`` batch file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DataError(tr("cannot read CIFAR binary file {0}: {1}", path, e.strerror or e)) from e
    return parse_cifar_records(data, str(path))


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_cifar_archive(archive: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{'train': (X, y), 'test': (X, y)}`` read from ``cifar-10-binary.tar.gz`` in memory.

    Only the six known members are read (by name, never extracted to disk), so
    a crafted archive cannot write outside anything.
    """
    wanted = {f"{ARCHIVE_DIR}/{f}": f for f in TRAIN_FILES + TEST_FILES}
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = wanted.get(member.name.lstrip("./"))
                if name is None or not member.isfile():
                    continue
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                found[name] = parse_cifar_records(fh.read(), f"{archive}:{member.name}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataError(
            tr("CIFAR archive {0} is corrupted or truncated ({1}); delete it and fetch it again", archive, e)
        ) from e
    missing = [f for f in TRAIN_FILES + TEST_FILES if f not in found]
    if missing:
        raise DataError(
            tr("CIFAR archive {0} lacks {1} (expected under {2}/)", archive, ", ".join(missing), ARCHIVE_DIR)
        )
    return {
        "train": _concat([found[f] for f in TRAIN_FILES]),
        "test": _concat([found[f] for f in TEST_FILES]),
    }


def read_cifar_dir(directory: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Same as :func:`read_cifar_archive` from already extracted ``*.bin`` files."""
    d = Path(directory)
    if (d / ARCHIVE_DIR).is_dir():
        d = d / ARCHIVE_DIR
    return {
        "train": _concat([read_cifar_bin(d / f) for f in TRAIN_FILES]),
        "test": _concat([read_cifar_bin(d / f) for f in TEST_FILES]),
    }


def to_float(X: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1]."""
    Xf = X.astype(np.float32)
    Xf *= np.float32(1.0 / 255.0)
    return Xf
