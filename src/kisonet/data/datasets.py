"""Named datasets: embedded (no network), synthetic (seeded) and downloadable.

``load_dataset(name)`` returns a :class:`DatasetBundle` whose splits are
``(X, y)`` pairs of NumPy arrays: X float32 (images NCHW in [0, 1]), y int64
class indices for classification or float32 of shape (N, 1) for regression
(the shape a ``Linear(.., 1)`` output has, so losses never broadcast by accident).
Features are served raw (not standardised): fit a
:class:`~kisonet.data.Standardizer` on ``bundle.train`` when a model needs it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, KisonetValueError
from ..lang import tr
from ..registry import Registry
from . import cifar as _cifar
from .download import REMOTE_FILES, RemoteFile, cache_dir, fetch, instructions, verify
from .idx import load_idx_pair
from .splits import split_indices

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class DatasetBundle:
    """A dataset's splits and metadata.

    ``train``/``val``/``test`` are ``(X, y)`` pairs (``val`` is None unless the
    dataset defines one); ``input_shape`` is the shape of one sample; ``n_classes``
    is None for regression.
    """

    name: str
    train: Pair
    test: Pair
    val: Pair | None
    n_classes: int | None
    input_shape: tuple[int, ...]
    task: str
    description: str
    classes: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [f"train={len(self.train[0])}"]
        if self.val is not None:
            parts.append(f"val={len(self.val[0])}")
        parts.append(f"test={len(self.test[0])}")
        return (
            f"DatasetBundle({self.name!r}, {', '.join(parts)}, input_shape={self.input_shape}, "
            f"task={self.task!r}, n_classes={self.n_classes})"
        )


@dataclass(frozen=True)
class DatasetInfo:
    """One row of :func:`datasets`: what a name gives and whether it works offline now."""

    name: str
    kind: str  # 'embedded', 'synthetic' or 'download'
    task: str
    n_train: int
    n_test: int
    input_shape: tuple[int, ...]
    n_classes: int | None
    download_bytes: int
    available: bool
    cached: bool
    description: str


# ----------------------------------------------------------------------------- helpers


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _i64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _target(y: Any) -> np.ndarray:
    return _f32(np.asarray(y).reshape(-1, 1))


def _holdout(X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, stratify: bool) -> tuple[Pair, Pair]:
    train_i, test_i = split_indices(y.reshape(len(y), -1)[:, 0], (1 - test_fraction, test_fraction), stratify, seed)
    return (X[train_i], y[train_i]), (X[test_i], y[test_i])


def _sklearn():
    try:
        import sklearn.datasets as skd
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise DataError(tr("the embedded datasets come with scikit-learn: pip install scikit-learn")) from e
    return skd


# ----------------------------------------------------------------------------- embedded


def _sklearn_data_file(name: str) -> Path | None:
    """The path of a data file scikit-learn ships, found without importing scikit-learn
    (its import costs seconds; reading the 1,797 digits takes milliseconds)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / name
        if path.is_file():
            return path
    return None


def _digits(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
    path = _sklearn_data_file("digits.csv.gz")
    if path is not None:  # the same file sklearn.datasets.load_digits reads: 64 pixels + label
        raw = np.loadtxt(path, delimiter=",", dtype=np.float32)
        images, target = raw[:, :-1], raw[:, -1]
    else:  # pragma: no cover - an unusual scikit-learn layout
        d = _sklearn().load_digits()
        images, target = d.images, d.target
    X = _f32(images).reshape(-1, 1, 8, 8) / np.float32(16.0)
    y = _i64(target)
    train, test = _holdout(X, y, 0.2, 0, True)  # a fixed test set, whatever the seed
    return DatasetBundle(
        "digits", train, test, None, 10, (1, 8, 8), "classification",
        "scikit-learn's 1,797 8x8 handwritten digits, pixels /16 -> [0, 1]; fixed stratified 20% test",
        tuple(str(i) for i in range(10)),
    )  # fmt: skip


def _tabular(name: str, loader: str, desc: str) -> Callable[..., DatasetBundle]:
    def load(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
        d = getattr(_sklearn(), loader)()
        X, y = _f32(d.data), _i64(d.target)
        train, test = _holdout(X, y, 0.2, 0, True)
        classes = tuple(str(c) for c in d.target_names)
        return DatasetBundle(name, train, test, None, len(classes), (X.shape[1],), "classification", desc, classes)

    return load


def _diabetes(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
    d = _sklearn().load_diabetes()
    X, y = _f32(d.data), _target(d.target)
    train, test = _holdout(X, y, 0.2, 0, False)
    return DatasetBundle(
        "diabetes", train, test, None, None, (10,), "regression",
        "scikit-learn diabetes: 442 patients, 10 features (already centred/scaled by scikit-learn), "
        "target = disease progression after one year (raw, 25-346); fixed random 20% test",
    )  # fmt: skip


# ----------------------------------------------------------------------------- synthetic


def _two_d(name: str, X: np.ndarray, y: np.ndarray, seed: int, n_classes: int, desc: str) -> DatasetBundle:
    train, test = _holdout(_f32(X), _i64(y), 0.2, seed, True)
    return DatasetBundle(
        name, train, test, None, n_classes, (2,), "classification", desc, tuple(str(c) for c in range(n_classes))
    )


def _moons(seed: int, data_dir: Any, download: bool, n_samples: int = 1000, noise: float = 0.1) -> DatasetBundle:
    X, y = _sklearn().make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return _two_d("moons", X, y, seed, 2, f"two interleaving half-moons, {n_samples} points, noise {noise}; 20% test")


def _circles(
    seed: int, data_dir: Any, download: bool, n_samples: int = 1000, noise: float = 0.08, factor: float = 0.5
) -> DatasetBundle:
    X, y = _sklearn().make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return _two_d("circles", X, y, seed, 2, f"two concentric circles, {n_samples} points, noise {noise}; 20% test")


def make_spirals(
    n_samples: int = 900, n_classes: int = 3, noise: float = 0.2, turns: float = 1.0, seed: int | None = 0
) -> Pair:
    """Interleaved spiral arms, one per class: radius r in [0, 1], angle theta(r) + noise.

    Arm ``k``: ``theta = 4 * turns * r + 2 pi k / K + noise * eps``, point ``r (sin theta, cos theta)``.
    """
    if n_classes < 2 or n_samples < n_classes:
        raise KisonetValueError(
            tr("spirals: need n_classes >= 2 and n_samples >= n_classes, got {0}, {1}", n_classes, n_samples)
        )
    rng = np.random.default_rng(seed)
    per = n_samples // n_classes
    r = np.tile(np.linspace(0.0, 1.0, per), n_classes)
    k = np.repeat(np.arange(n_classes), per)
    theta = 4.0 * turns * r + 2.0 * np.pi * k / n_classes + noise * rng.standard_normal(r.shape)
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return _f32(X), _i64(k)


def _spirals(
    seed: int, data_dir: Any, download: bool, n_samples: int = 900, n_classes: int = 3, noise: float = 0.2
) -> DatasetBundle:
    X, y = make_spirals(n_samples, n_classes, noise, seed=seed)
    return _two_d("spirals", X, y, seed, n_classes, f"{n_classes} interleaved spiral arms, {len(y)} points; 20% test")


def _co2(
    seed: int, data_dir: Any, download: bool, n_train: int = 1000, n_test: int = 2, noise: float = 12.0
) -> DatasetBundle:
    # The notes' toy (linear regression, 風速 -> CO2 濃度): IDs 1..1000 train, 1001..1002 test;
    # the values are made up ("数値は適当です"), here drawn around y = 850 - 82 x ppm.
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    x = np.clip(rng.normal(1.8, 0.45, size=n), 0.2, 4.0).round(1)
    y = 850.0 - 82.0 * x + noise * rng.standard_normal(n)
    X, Y = _f32(x.reshape(-1, 1)), _target(y.round())
    return DatasetBundle(
        "co2", (X[:n_train], Y[:n_train]), (X[n_train:], Y[n_train:]), None, None, (1,), "regression",
        f"the notes' classroom toy: wind speed [m/s] -> CO2 concentration [ppm], {n_train} train / {n_test} test "
        "(as in the notes), y ~ 850 - 82 x + noise",
        meta={"slope": -82.0, "intercept": 850.0, "noise": noise},
    )  # fmt: skip


def _polynomial(
    seed: int, data_dir: Any, download: bool, n_train: int = 10, n_test: int = 100, noise: float = 0.3
) -> DatasetBundle:
    rng = np.random.default_rng(seed)
    xtr = rng.uniform(0.0, 1.0, n_train)
    xte = rng.uniform(0.0, 1.0, n_test)

    def f(x: np.ndarray) -> np.ndarray:
        return np.sin(2 * np.pi * x) + noise * rng.standard_normal(x.shape)

    train = (_f32(xtr.reshape(-1, 1)), _target(f(xtr)))
    test = (_f32(xte.reshape(-1, 1)), _target(f(xte)))
    return DatasetBundle(
        "polynomial", train, test, None, None, (1,), "regression",
        f"curve fitting: y = sin(2 pi x) + N(0, {noise}^2), x ~ U(0, 1), {n_train} train / {n_test} test",
    )  # fmt: skip


# ----------------------------------------------------------------------------- downloadable

_MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def _candidates(name: str) -> list[str]:
    """A file may be present gzipped or not, and with the '-idx' dot spelling some mirrors use."""
    base = name[:-3] if name.endswith(".gz") else name
    names = [name, base]
    dotted = base.replace("-idx", ".idx")
    if dotted != base:
        names += [dotted, dotted + ".gz"]
    return names


def _find_user_file(remote: RemoteFile, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for cand in _candidates(remote.filename):
            p = d / cand
            if p.is_file():
                return p
    return None


def _check_user_file(p: Path, r: RemoteFile) -> None:
    """A user's file is checked against the published content where that is pinned down.

    The known uncompressed SHA-256 (MNIST test files) and the archive's own SHA-256
    are checked; other IDX files may legitimately be re-compressed, so for them the
    strict parser is the check.
    """
    pinned = r.raw_sha256 is not None or (p.name == r.filename and r.filename.endswith(".tar.gz"))
    if pinned and not verify(p, r):
        raw = tr(", uncompressed {0}", r.raw_sha256) if r.raw_sha256 else ""
        raise DataError(
            tr(
                "{0} does not match the published {1} (SHA-256 {2}{3}); it is corrupted or a different file",
                p,
                r.filename,
                r.sha256,
                raw,
            )
        )


def _local_files(dataset: str, remotes: tuple[RemoteFile, ...], data_dir: Any, download: bool) -> dict[str, Path]:
    """Files of ``dataset``: from ``data_dir`` (user's, never modified) or the cache (downloading)."""
    out: dict[str, Path] = {}
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        dirs = [d, d / dataset, d / dataset.replace("-", "_")]
        missing = []
        for r in remotes:
            p = _find_user_file(r, dirs)
            if p is None:
                missing.append(r)
                continue
            _check_user_file(p, r)
            out[r.filename] = p
        if missing:
            raise DataError(tr("{0}: missing in {1}.\n{2}", dataset, d, instructions(missing, d)))
        return out
    target = cache_dir() / dataset
    for r in remotes:
        try:
            out[r.filename] = fetch(r, target, download=download)
        except DataError as e:
            if not getattr(e, "unreachable", False):
                raise
            missing = [m for m in remotes if not (target / m.filename).is_file()]
            tried = "\n  ".join(e.attempts)
            raise DataError(
                tr(
                    "cannot download {0} (network unreachable?):\n  {1}\n{2}",
                    dataset,
                    tried,
                    instructions(missing, target),
                )
            ) from e
    return out


def _idx_dataset(name: str, desc: str, classes: tuple[str, ...]) -> Callable[..., DatasetBundle]:
    def load(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
        files = _local_files(name, REMOTE_FILES[name], data_dir, download)
        train = load_idx_pair(*(files[f] for f in _MNIST_NAMES["train"]))
        test = load_idx_pair(*(files[f] for f in _MNIST_NAMES["test"]))
        return DatasetBundle(name, train, test, None, 10, (1, 28, 28), "classification", desc, classes)

    return load


def _cifar10(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
    remote = REMOTE_FILES["cifar10"][0]
    parts = None
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        for sub in (d, d / "cifar10", d / "cifar-10"):
            if (sub / _cifar.ARCHIVE_DIR).is_dir() or (sub / _cifar.TRAIN_FILES[0]).is_file():
                parts = _cifar.read_cifar_dir(sub)
                break
    if parts is None:
        archive = _local_files("cifar10", (remote,), data_dir, download)[remote.filename]
        parts = _cifar.read_cifar_archive(archive)
    train = (_cifar.to_float(parts["train"][0]), parts["train"][1])
    test = (_cifar.to_float(parts["test"][0]), parts["test"][1])
    return DatasetBundle(
        "cifar10", train, test, None, 10, (3, 32, 32), "classification",
        "CIFAR-10 (binary version): 50,000 train / 10,000 test 32x32 RGB images, 10 classes",
        _cifar.CLASSES,
    )  # fmt: skip


def _t10k_dirs(data_dir: Any) -> list[Path]:
    root = Path(data_dir).expanduser() if data_dir is not None else cache_dir()  # cache_dir honours KISONET_DATA
    return [root, root / "mnist", root / "mnist-t10k"]


def _mnist_t10k(seed: int, data_dir: Any, download: bool) -> DatasetBundle:
    remotes = tuple(r for r in REMOTE_FILES["mnist"] if r.filename.startswith("t10k"))
    dirs = _t10k_dirs(data_dir)
    found = {r.filename: _find_user_file(r, dirs) for r in remotes}
    if any(p is None for p in found.values()):
        if data_dir is not None or not download:
            missing = [r for r in remotes if found[r.filename] is None]
            where = dirs[0]
            raise DataError(
                tr("mnist-t10k: the MNIST test files are not in {0}.\n{1}", where, instructions(missing, where))
            )
        found = _local_files("mnist", remotes, None, True)  # the t10k half of the MNIST cache
    for r in remotes:
        _check_user_file(found[r.filename], r)
    X, y = load_idx_pair(found["t10k-images-idx3-ubyte.gz"], found["t10k-labels-idx1-ubyte.gz"])
    if len(y) != 10000:
        raise DataError(tr("mnist-t10k: expected the 10,000-image MNIST test set, found {0} images", len(y)))
    return DatasetBundle(
        "mnist-t10k", (X[:8000], y[:8000]), (X[8000:], y[8000:]), None, 10, (1, 28, 28), "classification",
        "the 10,000 MNIST test images alone: first 8,000 = train pool, last 2,000 = test",
        tuple(str(i) for i in range(10)),
        meta={"files": {k: str(v) for k, v in found.items()}},
    )  # fmt: skip


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class _Entry:
    loader: Callable[..., DatasetBundle]
    kind: str
    task: str
    n_train: int
    n_test: int
    input_shape: tuple[int, ...]
    n_classes: int | None
    remote: str | None = None


_REGISTRY: dict[str, _Entry] = {
    "digits": _Entry(_digits, "embedded", "classification", 1438, 359, (1, 8, 8), 10),
    "iris": _Entry(
        _tabular("iris", "load_iris", "Fisher's iris: 150 flowers, 4 measurements (cm), 3 species; fixed 20% test"),
        "embedded", "classification", 120, 30, (4,), 3,
    ),
    "breast-cancer": _Entry(
        _tabular(
            "breast-cancer", "load_breast_cancer",
            "Wisconsin breast cancer: 569 tumours, 30 raw features, malignant/benign; fixed 20% test",
        ),
        "embedded", "classification", 455, 114, (30,), 2,
    ),
    "diabetes": _Entry(_diabetes, "embedded", "regression", 354, 88, (10,), None),
    "moons": _Entry(_moons, "synthetic", "classification", 800, 200, (2,), 2),
    "circles": _Entry(_circles, "synthetic", "classification", 800, 200, (2,), 2),
    "spirals": _Entry(_spirals, "synthetic", "classification", 720, 180, (2,), 3),
    "co2": _Entry(_co2, "synthetic", "regression", 1000, 2, (1,), None),
    "polynomial": _Entry(_polynomial, "synthetic", "regression", 10, 100, (1,), None),
    "mnist": _Entry(
        _idx_dataset("mnist", "MNIST handwritten digits: 60,000 train / 10,000 test 28x28 grayscale images",
                     tuple(str(i) for i in range(10))),
        "download", "classification", 60000, 10000, (1, 28, 28), 10, "mnist",
    ),
    "fashion-mnist": _Entry(
        _idx_dataset("fashion-mnist", "Fashion-MNIST (Zalando): 60,000 train / 10,000 test 28x28 clothing images",
                     FASHION_CLASSES),
        "download", "classification", 60000, 10000, (1, 28, 28), 10, "fashion-mnist",
    ),
    "cifar10": _Entry(_cifar10, "download", "classification", 50000, 10000, (3, 32, 32), 10, "cifar10"),
    "mnist-t10k": _Entry(_mnist_t10k, "download", "classification", 8000, 2000, (1, 28, 28), 10, "mnist-t10k"),
}  # fmt: skip

# The datasets by name (``--dataset``, ``load_dataset``): name -> :class:`_Entry` (loader, sizes,
# task), with the short description of ``kisonet datasets``.  Adding a dataset: its loader above,
# one ``_REGISTRY`` line and one ``_DESCRIPTIONS`` line.
DATASETS: Registry[_Entry] = Registry("dataset")
_ALIASES = {"fashion-mnist": ("fashion",), "cifar10": ("cifar-10",)}
DATASET_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def load_dataset(
    name: str, data_dir: str | os.PathLike | None = None, seed: int = 0, download: bool = True, **kwargs: Any
) -> DatasetBundle:
    """Load a named dataset as a :class:`DatasetBundle`.

    Args:
        name: one of :data:`DATASET_NAMES` (``kn.data.datasets()`` lists them).
        data_dir: a folder with files the user already has (downloadable datasets);
            None uses the cache (``$KISONET_DATA`` or ``~/.cache/kisonet``).
        seed: seeds the synthetic generators and their splits (embedded test sets are fixed).
        download: fetch missing files (else raise :class:`DataError` saying what to fetch).
        **kwargs: options of synthetic datasets, e.g. ``n_samples``, ``noise``, ``n_classes`` (spirals).
    """
    key = DATASETS.canonical(name)
    entry = DATASETS[key]
    try:
        return entry.loader(int(seed), data_dir, download, **kwargs)
    except TypeError as e:
        if kwargs and "unexpected keyword" in str(e):
            raise KisonetValueError(tr("load_dataset({0!r}): {1}", key, e)) from e
        raise


def _dataset_files_present(key: str, entry: _Entry) -> bool:
    if key == "mnist-t10k":
        remotes = [r for r in REMOTE_FILES["mnist"] if r.filename.startswith("t10k")]
        dirs = _t10k_dirs(None)
        return all(_find_user_file(r, dirs) is not None for r in remotes)
    return all((cache_dir() / key / r.filename).is_file() for r in REMOTE_FILES[entry.remote or key])


def datasets() -> list[DatasetInfo]:
    """Every dataset name with its size and whether it is usable offline right now."""
    rows = []
    for key, e in _REGISTRY.items():
        if e.kind == "download":
            remotes = REMOTE_FILES["mnist" if key == "mnist-t10k" else key]
            if key == "mnist-t10k":
                remotes = tuple(r for r in remotes if r.filename.startswith("t10k"))
            size = sum(r.size or 0 for r in remotes)
            cached = _dataset_files_present(key, e)
        else:
            size, cached = 0, True
        desc = _DESCRIPTIONS.get(key, "")
        rows.append(
            DatasetInfo(
                key, e.kind, e.task, e.n_train, e.n_test, e.input_shape, e.n_classes, size, cached, cached, desc
            )
        )
    return rows


_DESCRIPTIONS = {
    "digits": "8x8 handwritten digits (scikit-learn)",
    "iris": "iris flowers, 4 features, 3 classes",
    "breast-cancer": "Wisconsin breast cancer, 30 features",
    "diabetes": "diabetes progression, 10 features",
    "moons": "two half-moons, 2-D",
    "circles": "two concentric circles, 2-D",
    "spirals": "interleaved spirals, 2-D, K classes",
    "co2": "wind speed -> CO2 toy (the notes)",
    "polynomial": "sin(2 pi x) + noise curve fitting",
    "mnist": "handwritten digits 28x28",
    "fashion-mnist": "clothing images 28x28",
    "cifar10": "RGB objects 32x32 (binary version)",
    "mnist-t10k": "MNIST test files only: 8,000 / 2,000",
}
for _name, _entry in _REGISTRY.items():
    DATASETS.add(_name, _entry, _DESCRIPTIONS.get(_name, ""), _ALIASES.get(_name, ()))


def _human(nbytes: int) -> str:
    if nbytes == 0:
        return "-"
    units = ["B", "KB", "MB", "GB"]
    i = min(int(math.log(nbytes, 1024)), len(units) - 1)
    return f"{nbytes / 1024**i:.1f} {units[i]}"


def format_datasets_table(rows: list[DatasetInfo] | None = None) -> str:
    """A plain-text table of :func:`datasets` (for ``kisonet datasets``)."""
    rows = datasets() if rows is None else rows
    header = ("name", "kind", "task", "train", "test", "input", "classes", "download", "offline", "description")
    table = [header]
    for r in rows:
        status = "yes" if r.available else "no"
        if r.kind == "download":
            status = "cached" if r.cached else "no"
        table.append((
            r.name, r.kind, r.task[:5] if r.task == "classification" else "regr",
            f"{r.n_train:,}", f"{r.n_test:,}", "x".join(map(str, r.input_shape)),
            "-" if r.n_classes is None else str(r.n_classes), _human(r.download_bytes), status, r.description,
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"cache: {cache_dir()}")
    return "\n".join(lines)
