"""The bad-input battery: every public entry point answers a wrong call with kisonet's error.

Each case is one wrong call a user could make: the table gives the area, the
call, the exception class expected and a phrase of the message that tells the
user what went wrong.  Every case is also checked to be a ``kn.KisonetError``
raised by kisonet's own code (the innermost frame is in ``kisonet``, not in
NumPy or SciPy), so no NumPy traceback ever reaches the user instead of
kisonet's message.  The CLI cases check the exit code and the one-line
message on stderr, and that no traceback is printed.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
import kisonet.runs
from kisonet import nn
from kisonet.errors import (
    CheckpointError,
    DataError,
    GraphError,
    KisonetError,
    KisonetIndexError,
    KisonetIOError,
    KisonetTypeError,
    KisonetValueError,
    NumericalError,
    ShapeError,
)

F = nn.functional
KISONET_SRC = Path(kn.__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    call: Callable[[Path], object]
    exc: type[BaseException]
    phrase: str


def t(shape, dtype=np.float32, fill=1.0, **kw):
    return kn.tensor(np.full(shape, fill, dtype=dtype), **kw)


def sgd(model=None, **kw):
    model = model or nn.Linear(2, 2)
    return kn.optim.SGD(model.parameters(), **{"lr": 0.1, **kw})


def trainer(model=None, loss="cross_entropy", opt=True):
    model = model or nn.Linear(2, 3)
    return kn.train.Trainer(model, loss, sgd(model) if opt else None, progress=False)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _good_checkpoint(tmp: Path) -> bytes:
    kn.save({"w": np.arange(6, dtype=np.float32), "step": 3}, tmp / "good.npz")
    return (tmp / "good.npz").read_bytes()


def _flip_array_byte(tmp: Path) -> Path:
    """A checkpoint whose array bytes changed after saving (stored uncompressed: the zip's
    own CRC would catch a flip, so rewrite the member with a consistent CRC)."""
    import zipfile

    _good_checkpoint(tmp)
    src, dst = tmp / "good.npz", tmp / "flipped.npz"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "w.npy":
                data = data[:-1] + bytes([data[-1] ^ 0x40])
            zout.writestr(item, data)
    return dst


def _forge_meta(tmp: Path, **changes) -> Path:
    """A valid checkpoint whose metadata says something else (e.g. a future format version)."""
    _good_checkpoint(tmp)
    with np.load(tmp / "good.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("__meta__")[()]))
    meta.update(changes)
    np.savez(tmp / "forged.npz", __meta__=np.array(json.dumps(meta)), **arrays)
    return tmp / "forged.npz"


def _idx(*dims, code=0x08, extra=b""):
    import struct

    body = bytes(int(np.prod(dims)))
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims) + body + extra


CASES: list[Case] = [
    # --- tensors and ops -----------------------------------------------------------------
    Case("tensor", "string data", lambda p: kn.tensor(["a", "b"]), KisonetTypeError, "is refused"),
    Case("tensor", "ragged list", lambda p: kn.tensor([[1, 2], [3]]), KisonetTypeError, "cannot make an array"),
    Case("tensor", "complex data", lambda p: kn.tensor([1j]), KisonetTypeError, "complex128"),
    Case("tensor", "unknown dtype", lambda p: kn.tensor([1.0], dtype="float17"), KisonetTypeError, "not a dtype"),
    Case(
        "tensor",
        "int tensor requires grad",
        lambda p: kn.tensor([1, 2], requires_grad=True),
        KisonetTypeError,
        "only floating tensors",
    ),
    Case("tensor", "matmul shapes", lambda p: t((2, 3)) @ t((4, 5)), ShapeError, "(2, 3) and (4, 5)"),
    Case("tensor", "add broadcast", lambda p: t((2, 3)) + t((4,)), ShapeError, "do not broadcast"),
    Case("tensor", "reshape size", lambda p: t((2, 3)).reshape(4, 2), ShapeError, "cannot reshape (2, 3)"),
    Case("tensor", "sum axis", lambda p: t((2, 3)).sum(axis=5), KisonetValueError, "axis 5 is out of range"),
    Case("tensor", "index out of range", lambda p: t((2, 3))[5], KisonetValueError, "out of bounds"),
    Case(
        "tensor",
        "concatenate shapes",
        lambda p: kn.concatenate([t((2, 3)), t((2, 4))], axis=0),
        ShapeError,
        "concatenate",
    ),
    Case("tensor", "item of many", lambda p: t((2,)).item(), KisonetValueError, "has 2 elements"),
    Case("tensor", "truth of many", lambda p: bool(t((2,))), KisonetValueError, "ambiguous"),
    Case("tensor", "argmax of empty", lambda p: t((0, 3)).argmax(), KisonetValueError, "empty"),
    Case("tensor", "zeros negative", lambda p: kn.zeros((2, -1)), KisonetValueError, "non-negative"),
    Case("tensor", "randn negative", lambda p: kn.randn(-1, 3), KisonetValueError, "non-negative"),
    Case("tensor", "arange step 0", lambda p: kn.arange(0, 5, 0), KisonetValueError, "step must not be 0"),
    Case("tensor", "int to negative power", lambda p: kn.tensor([1, 2]) ** -1, KisonetValueError, "negative"),
    Case("tensor", "matmul of scalars", lambda p: kn.tensor(1.0) @ kn.tensor(2.0), ShapeError, "0-d operand"),
    Case(
        "tensor",
        "backward of a vector",
        lambda p: (t((3,), requires_grad=True) * 2).backward(),
        GraphError,
        "one-element output",
    ),
    Case(
        "tensor",
        "in-place on leaf requiring grad",
        lambda p: t((2,), requires_grad=True).__setitem__(0, 3.0),
        GraphError,
        "in-place change",
    ),
    Case("tensor", "mean over a float axis", lambda p: t((2, 3)).mean(axis=0.5), KisonetTypeError, "axis must be"),
    Case("tensor", "swapaxes out of range", lambda p: t((2, 3)).swapaxes(0, 4), KisonetValueError, "axis 4"),
    Case("tensor", "astype to strings", lambda p: t((3,)).astype("str"), KisonetTypeError, "not numeric"),
    Case("tensor", "setitem shape", lambda p: t((3,)).__setitem__(slice(None), np.ones(4)), ShapeError, "(3,)"),
    Case("tensor", "setitem out of range", lambda p: t((3,)).__setitem__(5, 1.0), KisonetIndexError, "index 5"),
    Case("tensor", "add_ shape", lambda p: t((3,)).add_(np.ones(4)), ShapeError, "add_"),
    Case("tensor", "clip by a string", lambda p: kn.clip(t((3,)), "a", 1), KisonetTypeError, "must be numbers"),
    Case("tensor", "foreign RNG state", lambda p: kn.set_rng_state({"x": 1}), KisonetValueError, "get_rng_state"),
    Case("tensor", "set_default_dtype int", lambda p: kn.set_default_dtype(np.int32), KisonetValueError, "float32"),
    Case(
        "tensor",
        "manual_seed negative",
        lambda p: kn.manual_seed(-1),
        KisonetValueError,
        "manual_seed: seed must be an int >= 0, got -1",
    ),
    # --- layers --------------------------------------------------------------------------
    Case("layer", "Linear wrong features", lambda p: nn.Linear(4, 3)(t((2, 5))), ShapeError, "Linear(4->3)"),
    Case("layer", "Linear negative size", lambda p: nn.Linear(-1, 3), KisonetValueError, "in_features"),
    Case("layer", "Linear given None", lambda p: nn.Linear(2, 2)(None), KisonetTypeError, "dtype object"),
    Case("layer", "Conv2d rank 3", lambda p: nn.Conv2d(1, 4, 3)(t((2, 8, 8))), ShapeError, "(N, 1, H, W)"),
    Case("layer", "Conv2d channels", lambda p: nn.Conv2d(3, 4, 3)(t((2, 1, 8, 8))), ShapeError, "Conv2d(3->4"),
    Case("layer", "Conv2d image too small", lambda p: nn.Conv2d(1, 4, 5)(t((2, 1, 3, 3))), ShapeError, "not fit"),
    Case("layer", "Conv2d kernel 0", lambda p: nn.Conv2d(1, 4, 0), KisonetValueError, "kernel_size"),
    Case("layer", "MaxPool2d too small", lambda p: nn.MaxPool2d(4)(t((2, 1, 3, 3))), ShapeError, "MaxPool2d(4)"),
    Case("layer", "BatchNorm1d features", lambda p: nn.BatchNorm1d(4)(t((2, 5))), ShapeError, "C=4"),
    Case("layer", "BatchNorm1d batch of 1", lambda p: nn.BatchNorm1d(4)(t((1, 4))), KisonetValueError, "more than 1"),
    Case("layer", "Dropout p > 1", lambda p: nn.Dropout(1.5), KisonetValueError, "[0, 1)"),
    Case("layer", "Flatten of 1-D", lambda p: nn.Flatten()(t((3,))), KisonetValueError, "Flatten"),
    Case(
        "layer",
        "Sequential of int",
        lambda p: nn.Sequential(3),
        KisonetTypeError,
        "Sequential: layer 0 must be a Module, got int",
    ),
    Case(
        "layer", "load_state_dict missing", lambda p: nn.Linear(2, 2).load_state_dict({}), KisonetValueError, "missing"
    ),
    Case(
        "layer",
        "load_state_dict shape",
        lambda p: nn.Linear(2, 2).load_state_dict({"weight": np.ones((3, 3)), "bias": np.ones(2)}),
        ShapeError,
        "(3, 3) in the state",
    ),
    Case(
        "layer",
        "load_state_dict of a list",
        lambda p: nn.Linear(2, 2).load_state_dict([1, 2]),
        KisonetTypeError,
        "expected a dict",
    ),
    Case(
        "layer",
        "load_state_dict of strings",
        lambda p: nn.Linear(2, 2).load_state_dict({"weight": np.full((2, 2), "x"), "bias": np.ones(2)}),
        KisonetTypeError,
        "not numbers",
    ),
    Case("layer", "LeakyReLU slope not a number", lambda p: nn.LeakyReLU("a"), KisonetValueError, "negative_slope"),
    Case("layer", "Sequential index", lambda p: nn.Sequential(nn.Linear(2, 2))[5], KisonetIndexError, "index 5"),
    Case("layer", "softmax axis", lambda p: F.softmax(t((2, 3)), axis=4), KisonetValueError, "axis 4"),
    Case("layer", "unknown model", lambda p: kn.models.build_model("mpl:10", (4,), 3), KisonetValueError, "'mlp'"),
    Case(
        "layer",
        "unknown activation",
        lambda p: kn.models.build_model("mlp:10", (4,), 3, activation="relux"),
        KisonetValueError,
        "did you mean 'relu'",
    ),
    # --- losses --------------------------------------------------------------------------
    Case(
        "loss",
        "cross_entropy label too big",
        lambda p: F.cross_entropy(t((2, 3)), np.array([0, 3])),
        KisonetValueError,
        "must be in [0, 2] for 3 classes",
    ),
    Case(
        "loss",
        "cross_entropy negative label",
        lambda p: F.cross_entropy(t((2, 3)), np.array([0, -2])),
        KisonetValueError,
        "got -2",
    ),
    Case(
        "loss",
        "cross_entropy batch mismatch",
        lambda p: F.cross_entropy(t((2, 3)), np.array([0, 1, 2])),
        ShapeError,
        "(3,)",
    ),
    Case(
        "loss",
        "cross_entropy reduction",
        lambda p: F.cross_entropy(t((2, 3)), np.array([0, 1]), reduction="avg"),
        KisonetValueError,
        "reduction 'avg'",
    ),
    Case("loss", "mse shapes", lambda p: F.mse_loss(t((2, 3)), np.ones((3, 2))), ShapeError, "does not match"),
    Case(
        "loss",
        "bce input not probabilities",
        lambda p: F.binary_cross_entropy(t((2,), fill=1.5), np.ones(2)),
        KisonetValueError,
        "probabilities in [0, 1]",
    ),
    Case("loss", "nll label", lambda p: F.nll_loss(t((2, 3)), np.array([0, 7])), KisonetValueError, "got 7"),
    Case("loss", "unknown loss name", lambda p: trainer(loss="cross_entropi"), KisonetValueError, "'cross_entropy'"),
    # --- optimizers and schedules ------------------------------------------------------
    Case("optim", "negative lr", lambda p: sgd(lr=-1), KisonetValueError, "SGD: lr must be a number >= 0, got -1"),
    Case(
        "optim",
        "NaN lr",
        lambda p: kn.optim.Adam(nn.Linear(2, 2).parameters(), lr=float("nan")),
        KisonetValueError,
        "nan",
    ),
    Case(
        "optim",
        "Adam beta >= 1",
        lambda p: kn.optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.2, 0.9)),
        KisonetValueError,
        "betas[0]",
    ),
    Case("optim", "negative momentum", lambda p: sgd(momentum=-0.5), KisonetValueError, "momentum"),
    Case("optim", "no parameters", lambda p: kn.optim.SGD([], lr=0.1), KisonetValueError, "empty parameter list"),
    Case(
        "optim",
        "LambdaLR of a number",
        lambda p: kn.optim.lr_scheduler.LambdaLR(sgd(), lr_lambda=3),
        KisonetTypeError,
        "lr_lambda must be a function",
    ),
    Case("optim", "group without params", lambda p: kn.optim.SGD([{"lr": 0.1}], lr=0.1), KisonetValueError, "'params'"),
    Case("optim", "arrays not tensors", lambda p: kn.optim.SGD([np.ones(3)], lr=0.1), KisonetTypeError, "Tensors"),
    Case("optim", "foreign state", lambda p: sgd().load_state_dict({"foo": 1}), KisonetValueError, "param_groups"),
    Case(
        "optim",
        "StepLR step_size 0",
        lambda p: kn.optim.lr_scheduler.StepLR(sgd(), step_size=0),
        KisonetValueError,
        "step_size",
    ),
    Case("optim", "scheduler of a str", lambda p: kn.optim.lr_scheduler.StepLR("x", 3), KisonetTypeError, "Optimizer"),
    Case(
        "optim",
        "clip_grad_norm_ negative",
        lambda p: nn.utils.clip_grad_norm_(nn.Linear(2, 2).parameters(), -1),
        KisonetValueError,
        "max_norm",
    ),
    Case("optim", "L2 negative", lambda p: kn.regularizers.L2(-1), KisonetValueError, "lam"),
    # --- data loaders and datasets -------------------------------------------------------
    Case(
        "loader",
        "empty dataset",
        lambda p: kn.data.DataLoader((np.zeros((0, 3)), np.zeros(0))),
        KisonetValueError,
        "empty",
    ),
    Case(
        "loader",
        "batch larger than data with drop_last",
        lambda p: kn.data.DataLoader((np.zeros((5, 3)), np.zeros(5)), batch_size=8, drop_last=True),
        KisonetValueError,
        "batch_size=8 > 5 samples",
    ),
    Case(
        "loader",
        "batch_size 0",
        lambda p: kn.data.DataLoader((np.zeros((5, 3)), np.zeros(5)), batch_size=0),
        KisonetValueError,
        "DataLoader: batch_size must be an int >= 1, got 0",
    ),
    Case(
        "loader",
        "batch_size float",
        lambda p: kn.data.DataLoader((np.zeros((5, 3)), np.zeros(5)), batch_size=2.5),
        KisonetTypeError,
        "DataLoader: batch_size must be an int >= 1, got 2.5",
    ),
    Case(
        "loader",
        "X and y lengths",
        lambda p: kn.data.DataLoader((np.zeros((5, 3)), np.zeros(4))),
        ShapeError,
        "5 samples",
    ),
    Case(
        "loader",
        "dataset index out of range",
        lambda p: kn.data.ArrayDataset(np.ones((3, 2)), np.ones(3))[7],
        KisonetIndexError,
        "index 7 out of range",
    ),
    Case(
        "loader",
        "negative split seed",
        lambda p: kn.data.split_train_val(np.zeros((5, 2)), np.zeros(5), 0.2, seed=-3),
        KisonetValueError,
        "seed must be",
    ),
    Case("loader", "unknown dataset", lambda p: kn.data.load_dataset("mnsit"), KisonetValueError, "'mnist'"),
    Case(
        "loader",
        "val fraction",
        lambda p: kn.data.split_train_val(np.zeros((5, 3)), np.zeros(5), 1.5),
        KisonetValueError,
        "val_fraction",
    ),
    Case(
        "loader",
        "dataset files absent",
        lambda p: kn.data.load_dataset("mnist-t10k", data_dir=p),
        DataError,
        "not in",
    ),
    Case(
        "loader",
        "unfitted standardizer",
        lambda p: kn.data.Standardizer().transform(np.ones((2, 2))),
        KisonetValueError,
        "fit() first",
    ),
    Case("loader", "unknown augmentation", lambda p: kn.data.transforms.preset("flipp"), KisonetValueError, "preset"),
    # --- trainer ----------------------------------------------------------------------------
    Case(
        "trainer",
        "labels out of range",
        lambda p: trainer().fit((np.zeros((4, 2)), np.array([0, 1, 2, 5])), epochs=1),
        KisonetValueError,
        "got 5",
    ),
    Case(
        "trainer",
        "X and y lengths",
        lambda p: trainer().fit((np.zeros((4, 2)), np.zeros(3, np.int64)), epochs=1),
        ShapeError,
        "4 samples but y has 3",
    ),
    Case(
        "trainer",
        "empty training set",
        lambda p: trainer().fit((np.zeros((0, 2)), np.zeros(0, np.int64)), epochs=1),
        KisonetValueError,
        "empty",
    ),
    Case(
        "trainer",
        "wrong feature count",
        lambda p: trainer().fit((np.zeros((4, 3)), np.zeros(4, np.int64)), epochs=1),
        ShapeError,
        "Linear(2->3) got input of shape (4, 3)",
    ),
    Case(
        "trainer",
        "string inputs",
        lambda p: trainer().fit((np.array([["a", "b"]] * 4), np.zeros(4, np.int64)), epochs=1),
        KisonetTypeError,
        "numbers are needed",
    ),
    Case(
        "trainer",
        "scalar inputs",
        lambda p: trainer().fit((np.float32(3), np.int64(1)), epochs=1),
        ShapeError,
        "scalar",
    ),
    Case(
        "trainer",
        "NaN inputs",
        lambda p: trainer().fit((np.full((4, 2), np.nan), np.zeros(4, np.int64)), epochs=1),
        NumericalError,
        "epoch 1, step 1",
    ),
    Case(
        "trainer",
        "epochs negative",
        lambda p: trainer().fit((np.zeros((4, 2)), np.zeros(4, np.int64)), epochs=-1),
        KisonetValueError,
        "epochs",
    ),
    Case(
        "trainer",
        "no optimizer",
        lambda p: trainer(opt=False).fit((np.zeros((4, 2)), np.zeros(4, np.int64))),
        KisonetValueError,
        "no optimizer",
    ),
    Case(
        "trainer",
        "load_state_dict of a list",
        lambda p: trainer().load_state_dict([1]),
        KisonetTypeError,
        "Trainer.state_dict()",
    ),
    Case(
        "trainer", "unknown metric", lambda p: kn.train.metrics.get_metric("acurracy"), KisonetValueError, "'accuracy'"
    ),
    Case(
        "trainer",
        "metric lengths",
        lambda p: kn.train.metrics.get_metric("accuracy").update(np.ones((3, 2)), np.ones(4, np.int64)),
        ShapeError,
        "4 labels",
    ),
    # --- file parsers ---------------------------------------------------------------------
    Case("parser", "IDX bad magic", lambda p: kn.data.idx.parse_idx(b"\x01\x00\x08\x01"), DataError, "bad magic"),
    Case("parser", "IDX truncated", lambda p: kn.data.idx.parse_idx(_idx(5)[:-2]), DataError, "truncated"),
    Case("parser", "IDX trailing bytes", lambda p: kn.data.idx.parse_idx(_idx(5, extra=b"zz")), DataError, "trailing"),
    Case(
        "parser",
        "IDX truncated gzip",
        lambda p: kn.data.idx.read_idx(_write(p / "x.gz", gzip.compress(_idx(3, 4))[:-9])),
        DataError,
        "corrupted or truncated gzip",
    ),
    Case("parser", "IDX missing file", lambda p: kn.data.idx.read_idx(p / "none.idx"), DataError, "cannot read"),
    Case(
        "parser",
        "CIFAR partial record",
        lambda p: kn.data.cifar.parse_cifar_records(b"\x00" * 100),
        DataError,
        "3073-byte record",
    ),
    Case(
        "parser",
        "CIFAR label 11",
        lambda p: kn.data.cifar.parse_cifar_records(b"\x0b" + b"\x00" * 3072),
        DataError,
        "label 11",
    ),
    Case(
        "parser",
        "CIFAR archive not a tar",
        lambda p: kn.data.cifar.read_cifar_archive(_write(p / "c.tar.gz", b"not a tar")),
        DataError,
        "corrupted or truncated",
    ),
    # --- checkpoints -------------------------------------------------------------------------
    Case("checkpoint", "missing file", lambda p: kn.load(p / "none.npz"), CheckpointError, "no such file"),
    Case("checkpoint", "a directory", lambda p: kn.load(p), CheckpointError, "directory"),
    Case("checkpoint", "empty file", lambda p: kn.load(_write(p / "e.npz", b"")), CheckpointError, "empty"),
    Case(
        "checkpoint",
        "truncated",
        lambda p: kn.load(_write(p / "t.npz", _good_checkpoint(p)[:300])),
        CheckpointError,
        "corrupted or truncated",
    ),
    Case(
        "checkpoint",
        "pickle file",
        lambda p: kn.load(_write(p / "p.npz", pickle.dumps({"a": 1}))),
        CheckpointError,
        "never loads",
    ),
    Case(
        "checkpoint",
        "foreign npz",
        lambda p: (np.savez(p / "f.npz", a=np.ones(3)), kn.load(p / "f.npz")),
        CheckpointError,
        "not a kisonet file",
    ),
    Case(
        "checkpoint",
        "object array inside",
        lambda p: (
            np.savez(p / "o.npz", __meta__=np.array("{}"), a=np.array([{"x": 1}], dtype=object)),
            kn.load(p / "o.npz"),
        ),
        CheckpointError,
        "pickled objects",
    ),
    Case(
        "checkpoint",
        "bytes changed after saving",
        lambda p: kn.load(_flip_array_byte(p)),
        CheckpointError,
        "checksum mismatch",
    ),
    Case(
        "checkpoint",
        "wrong kind",
        lambda p: (_good_checkpoint(p), kn.load(p / "good.npz", kind="checkpoint")),
        CheckpointError,
        "expected 'checkpoint'",
    ),
    Case(
        "checkpoint",
        "newer format version",
        lambda p: kn.load(_forge_meta(p, format_version=99)),
        CheckpointError,
        "newer than this kisonet understands",
    ),
    Case(
        "checkpoint", "save a Module", lambda p: kn.save(nn.Linear(2, 2), p / "m.npz"), KisonetTypeError, "state_dict()"
    ),
    Case(
        "checkpoint",
        "save into missing folder",
        lambda p: kn.save({"a": np.ones(2)}, p / "nope" / "x.npz"),
        KisonetIOError,
        "does not exist",
    ),
    Case(
        "checkpoint",
        "run folder without model",
        lambda p: kn.runs.load_run_model(p),
        CheckpointError,
        "not found",
    ),
]


def _assert_kisonets_own(exc: BaseException) -> None:
    """The meta-check: a kisonet error, raised from kisonet's code, not NumPy's or SciPy's."""
    assert isinstance(exc, KisonetError), f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    assert type(exc).__module__.startswith("kisonet"), type(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    innermost = Path(frames[-1].filename).resolve()
    assert KISONET_SRC in innermost.parents, f"raised from {innermost}, not from kisonet"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}:{c.name}" for c in CASES])
def test_bad_input_gets_kisonets_error(case: Case, tmp_path: Path) -> None:
    with np.errstate(all="ignore"), pytest.raises(case.exc) as info:
        case.call(tmp_path)
    assert case.phrase in str(info.value), str(info.value)
    _assert_kisonets_own(info.value)


# --- the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A minimal real run folder (a 4-feature MLP trained on nothing) for evaluate/predict."""
    d = tmp_path_factory.mktemp("run")
    kn.manual_seed(0)
    model = kn.models.build_model("mlp:8", (4,), 3)
    cfg = {"spec": "mlp:8", "input_shape": [4], "n_classes": 3, "task": "classification"}
    kn.runs.save_run_model(d, model, cfg)
    kn.runs.write_config(d, {"dataset": "iris", "seed": 0})
    np.save(d / "wrong.npy", np.zeros((2, 5), np.float32))
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return d


def _cli_cases(tmp: Path, run: Path) -> list[tuple[str, list[str], int, str]]:
    (tmp / "bad_key.toml").write_text("lrr = 0.1\n")
    (tmp / "bad_syntax.toml").write_text("lr = = 0.1\n")
    broken = tmp / "broken_run"
    broken.mkdir(exist_ok=True)
    (broken / "model.npz").write_bytes((run / "model.npz").read_bytes()[:500])
    return [
        ("unknown command", ["trian"], 2, "did you mean 'train'"),
        ("unknown option", ["train", "--lrr", "0.1"], 2, "did you mean '--lr'"),
        ("negative lr", ["train", "--lr", "-1"], 2, "--lr"),
        ("lr not a number", ["train", "--lr", "abc"], 2, "got 'abc'"),
        ("unknown optimizer", ["train", "--optimizer", "adm"], 2, "did you mean 'adam'"),
        ("unknown dataset", ["train", "--dataset", "mnsit"], 2, "did you mean 'mnist'"),
        ("bad model spec", ["train", "--model", "mlp:x"], 2, "positive integers"),
        ("unknown schedule", ["train", "--schedule", "cosin"], 2, "did you mean 'cosine'"),
        ("batch size 0", ["train", "--batch-size", "0"], 2, "--batch-size"),
        ("negative epochs", ["train", "--epochs", "-3"], 2, "--epochs"),
        ("val split 1.5", ["train", "--val-split", "1.5"], 2, "--val-split"),
        ("unknown config key", ["train", "--config", str(tmp / "bad_key.toml")], 2, "did you mean 'lr'"),
        ("config not TOML", ["train", "--config", str(tmp / "bad_syntax.toml")], 2, "not valid TOML"),
        ("config missing", ["train", "--config", str(tmp / "none.toml")], 2, "not found"),
        ("evaluate missing run", ["evaluate", str(tmp / "none")], 2, "is not a folder"),
        ("evaluate truncated model", ["evaluate", str(broken)], 2, "corrupted or truncated"),
        ("predict wrong shape", ["predict", str(run), str(run / "wrong.npy")], 2, "has shape (2, 5)"),
        ("predict pickled input", ["predict", str(run), str(run / "objects.npy")], 2, "not a readable .npy"),
        ("predict missing input", ["predict", str(run), str(tmp / "none.npy")], 2, "file not found"),
        ("resume missing run", ["train", "--resume", str(tmp / "none")], 2, "is not a run folder"),
        ("resume with other options", ["train", "--resume", str(run), "--epochs", "3"], 2, "drop --epochs"),
    ]


def run_cli(argv: list[str]) -> tuple[int, str]:
    from kisonet.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), np.errstate(all="ignore"):
        rc = main(argv)
    return rc, err.getvalue()


def test_cli_bad_inputs_exit_2_with_one_clear_line(tmp_path: Path, run_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a run folder that a bug would create lands in tmp
    failures = []
    for name, argv, code, phrase in _cli_cases(tmp_path, run_dir):
        rc, err = run_cli(argv)
        if rc != code or phrase not in err or "Traceback" in err or "numpy" in err.lower().replace("numpy array", ""):
            failures.append(f"{name}: rc={rc} stderr={err!r}")
        assert err.count("\n") <= 2, f"{name}: more than a short message on stderr: {err!r}"
    assert not failures, "\n".join(failures)


def test_battery_covers_every_area_with_40_plus_cases(tmp_path: Path, run_dir: Path) -> None:
    areas = {c.area for c in CASES} | {"cli"}
    assert {"tensor", "layer", "loss", "optim", "loader", "parser", "checkpoint", "trainer", "cli"} <= areas
    n_cli = len(_cli_cases(tmp_path, run_dir))
    assert len(CASES) + n_cli >= 40
    # every expected exception class is kisonet's (catchable as kn.KisonetError)
    assert all(issubclass(c.exc, KisonetError) for c in CASES)


def test_meta_check_catches_a_numpy_exception() -> None:
    """The meta-check itself rejects what it must: NumPy's exception from NumPy's code."""
    try:
        np.zeros((2, 3)) @ np.zeros((4, 5))
    except ValueError as e:
        with pytest.raises(AssertionError):
            _assert_kisonets_own(e)
    try:
        raise KisonetValueError("raised here, in a test file")
    except KisonetValueError as e:
        with pytest.raises(AssertionError, match="not from kisonet"):
            _assert_kisonets_own(e)


def test_no_loader_unpickles() -> None:
    """Every np.load in kisonet passes allow_pickle=False (grep of the source)."""
    offenders = []
    for path in KISONET_SRC.rglob("*.py"):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "np.load(" in code and "allow_pickle=False" not in code:
                offenders.append(f"{path.relative_to(KISONET_SRC)}:{i}")
            if "import pickle" in code or "pickle.load" in code or "allow_pickle=True" in code:
                offenders.append(f"{path.relative_to(KISONET_SRC)}:{i}")
    assert not offenders, offenders


def test_unknown_names_suggest_the_closest() -> None:
    err = kn.errors.unknown_name("optimizer", "adamw2", ["adam", "adamw", "sgd"])
    assert isinstance(err, KisonetValueError) and "did you mean 'adamw'" in str(err)


def test_corrupted_dataset_cache_is_removed_and_reported(tmp_path: Path) -> None:
    """A half-downloaded cache file fails its SHA-256: removed, a warning names it, then the
    documented DataError (no network here), never a silent use of the bad bytes."""
    import hashlib

    from kisonet.data import download

    good = b"the real file"
    remote = download.RemoteFile("set.bin", hashlib.sha256(good).hexdigest(), len(good), ("http://127.0.0.1:9/x",))
    (tmp_path / "set.bin").write_bytes(good[:5])  # truncated download
    with pytest.warns(UserWarning, match="does not match its published SHA-256"):
        with pytest.raises(DataError, match="set.bin is not in") as info:
            download.fetch(remote, tmp_path, download=False)
    assert not (tmp_path / "set.bin").exists()
    _assert_kisonets_own(info.value)
    (tmp_path / "set.bin").write_bytes(good)
    assert download.fetch(remote, tmp_path, download=False).read_bytes() == good


def test_readme_when_things_go_wrong_tells_the_truth(tmp_path: Path, run_dir: Path) -> None:
    """The README section quotes this battery: keep its claims true."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "## When things go wrong" in text
    section = text.split("## When things go wrong", 1)[1].split("\n## ", 1)[0]
    assert "over a hundred bad inputs" in section
    assert len(CASES) + len(_cli_cases(tmp_path, run_dir)) > 100
    for phrase in ("kn.KisonetError", "--detect-anomaly", "kn.detect_anomaly()", "--resume", "SHA-256"):
        assert phrase in section, phrase


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: nn.Linear(3, 2), (2, 3)),
        (lambda: nn.Conv2d(3, 2, 2), (2, 3, 4, 4)),
        (lambda: nn.ConvTranspose2d(3, 2, 2), (2, 3, 4, 4)),
        (lambda: nn.BatchNorm1d(3), (4, 3)),
        (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
        (lambda: nn.LayerNorm(3), (2, 3)),
        (lambda: nn.GroupNorm(1, 3), (2, 3, 4, 4)),
        (lambda: nn.InstanceNorm2d(3), (2, 3, 4, 4)),
    ],
)
def test_integer_input_gives_the_layers_float_dtype(make, shape) -> None:
    """uint8 pixels or int64 arrays: converted to the weight dtype, never a silent float64
    (int @ float32 in NumPy) nor NumPy's casting error (in-place float math on ints)."""
    layer = make()
    for x in (np.ones(shape, np.uint8), kn.tensor(np.ones(shape, np.int64))):
        with np.errstate(all="ignore"):
            out = layer(x)
        assert out.dtype == np.float32
