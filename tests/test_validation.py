"""kisonet.validation: each check's accepted and normalised values, its one-line message on a bad
value (``"<owner>: <name> must be ..., got ..."``) and its exception class; and a guard that keeps
hand-written ``if not isinstance(...): raise`` argument checks from spreading again."""

from __future__ import annotations

import ast
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kisonet.errors import ArgumentTypeError, KisonetTypeError, KisonetValueError, ShapeError
from kisonet.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_interval,
    check_pair,
    check_per_channel,
    check_positive,
    check_probability,
    check_sequence,
    check_type,
    describe_range,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "kisonet"


def _raises(exc, message, fn, *args, **kwargs):
    """``fn(*args)`` raises ``exc`` with exactly ``message`` (one line)."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert str(info.value) == message
    assert "\n" not in message
    return info.value


# --- numbers --------------------------------------------------------------------------------


def test_check_int_accepts_ints_and_numpy_ints_and_returns_python_int():
    assert check_int("A", "n", 3) == 3
    v = check_int("A", "n", np.int64(7))
    assert v == 7 and type(v) is int
    assert check_int("A", "n", 0, low=0) == 0
    assert check_int("A", "n", None, allow_none=True) is None
    assert check_int("A", "n", -5, low=None) == -5
    assert check_int("A", "bits", 8, 2, 16) == 8


@pytest.mark.parametrize(
    "value, kwargs, exc, message",
    [
        (0, {}, KisonetValueError, "A: n must be an int >= 1, got 0"),
        (17, dict(low=2, high=16), KisonetValueError, "A: n must be an int in [2, 16], got 17"),
        (-1, dict(low=0, allow_none=True), KisonetValueError, "A: n must be an int >= 0 or None, got -1"),
        (2.0, {}, ArgumentTypeError, "A: n must be an int >= 1, got 2.0"),
        (True, {}, ArgumentTypeError, "A: n must be an int >= 1, got True"),
        ("3", {}, ArgumentTypeError, "A: n must be an int >= 1, got '3'"),
        (None, {}, ArgumentTypeError, "A: n must be an int >= 1, got None"),
    ],
)
def test_check_int_refuses(value, kwargs, exc, message):
    _raises(exc, message, check_int, "A", "n", value, **kwargs)


def test_a_wrong_type_is_both_a_type_error_and_a_value_error():
    # code written against the old checks caught ValueError (or TypeError): both still work
    e = _raises(
        ArgumentTypeError,
        "A: lr must be a number >= 0, got 'fast'",
        check_float,
        "A",
        "lr",
        "fast",
        0.0,
        low_open=False,
    )
    assert isinstance(e, TypeError) and isinstance(e, ValueError)
    assert isinstance(e, KisonetTypeError) and isinstance(e, KisonetValueError)


def test_check_float_ranges_open_and_closed():
    assert check_float("A", "lr", 1) == 1.0 and type(check_float("A", "lr", 1)) is float
    assert check_float("A", "lr", np.float32(0.5), 0.0) == 0.5
    assert check_float("A", "x", 0.0, 0.0, low_open=False) == 0.0
    assert check_float("A", "x", 1.0, 0.0, 1.0) == 1.0
    assert check_float("A", "x", -3.5) == -3.5  # no bound
    assert check_float("A", "x", math.inf, allow_inf=True) == math.inf
    assert check_float("A", "x", None, 0.0, allow_none=True) is None
    _raises(KisonetValueError, "A: lr must be a number > 0, got 0", check_float, "A", "lr", 0, 0.0)
    _raises(
        KisonetValueError, "A: x must be a number in [0, 1), got 1.0", check_float, "A", "x", 1.0, 0.0, 1.0, False, True
    )
    _raises(KisonetValueError, "A: x must be a number <= 2, got 3", check_float, "A", "x", 3, None, 2)
    _raises(KisonetValueError, "A: lr must be a finite number > 0, got inf", check_float, "A", "lr", math.inf, 0.0)
    _raises(KisonetValueError, "A: lr must be a number > 0, got nan", check_float, "A", "lr", math.nan, 0.0)
    _raises(ArgumentTypeError, "A: lr must be a number > 0, got False", check_float, "A", "lr", False, 0.0)
    _raises(
        ArgumentTypeError,
        "A: x must be a number in (0, 1] or None, got 'a'",
        check_float,
        "A",
        "x",
        "a",
        0.0,
        1.0,
        allow_none=True,
    )


def test_check_positive_and_probability():
    assert check_positive("A", "std", 2) == 2.0
    assert check_positive("A", "std", 0, allow_zero=True) == 0.0
    _raises(KisonetValueError, "A: std must be a number > 0, got 0", check_positive, "A", "std", 0)
    _raises(KisonetValueError, "A: std must be a number >= 0, got -1", check_positive, "A", "std", -1, allow_zero=True)
    assert check_probability("A", "p", 1) == 1.0
    assert check_probability("A", "p", np.float64(0.0), high_open=True) == 0.0
    _raises(KisonetValueError, "A: p must be a probability in [0, 1], got 1.5", check_probability, "A", "p", 1.5)
    _raises(
        KisonetValueError,
        "Dropout: p must be a probability in [0, 1), got 1.0",
        check_probability,
        "Dropout",
        "p",
        1.0,
        high_open=True,
    )
    _raises(ArgumentTypeError, "A: p must be a probability in [0, 1], got '0.5'", check_probability, "A", "p", "0.5")


def test_describe_range():
    assert describe_range(0, None) == ">= 0"
    assert describe_range(0.0, None, low_open=True) == "> 0"
    assert describe_range(None, 1, high_open=True) == "< 1"
    assert describe_range(1e-3, 0.5) == "in [0.001, 0.5]"
    assert describe_range(None, None) == ""


# --- names, flags, types --------------------------------------------------------------------


def test_check_choice_names_the_closest_valid_value():
    assert check_choice("Upsample", "mode", "nearest", ("nearest", "bilinear")) == "nearest"
    assert check_choice("A", "mode", "MIN", ("min", "max"), normalise=str.lower) == "min"
    _raises(
        KisonetValueError,
        "Upsample: unknown mode 'bilinar' (did you mean 'bilinear'?); choose from: nearest, bilinear",
        check_choice,
        "Upsample",
        "mode",
        "bilinar",
        ("nearest", "bilinear"),
    )
    _raises(ArgumentTypeError, "A: unknown mode 3; choose from: min, max", check_choice, "A", "mode", 3, ("min", "max"))


def test_check_bool_refuses_truthy_strings():
    assert check_bool("A", "shuffle", True) is True
    assert check_bool("A", "shuffle", np.bool_(False)) is False
    _raises(ArgumentTypeError, "A: shuffle must be True or False, got 'false'", check_bool, "A", "shuffle", "false")
    _raises(ArgumentTypeError, "A: shuffle must be True or False, got 1", check_bool, "A", "shuffle", 1)


def test_check_type_names_the_type_it_got():
    assert check_type("P", "d", {}, dict, "a dict") == {}
    _raises(
        KisonetTypeError, "P: model must be a Module, got list", check_type, "P", "model", [], (dict, set), "a Module"
    )


# --- sequences ------------------------------------------------------------------------------


def test_check_pair_broadcasts_a_single_value_and_names_the_bad_part():
    assert check_pair("Conv2d", "kernel_size", 3) == (3, 3)
    assert check_pair("Conv2d", "kernel_size", (np.int64(3), 5)) == (3, 5)
    assert check_pair("Conv2d", "padding", 0, low=0) == (0, 0)
    _raises(KisonetValueError, "Conv2d: kernel_size must be an int >= 1, got 0", check_pair, "Conv2d", "kernel_size", 0)
    _raises(
        KisonetValueError,
        "Conv2d: kernel_size[1] must be an int >= 1, got 0",
        check_pair,
        "Conv2d",
        "kernel_size",
        (3, 0),
    )
    _raises(
        ArgumentTypeError,
        "Conv2d: kernel_size must be an int or a pair of ints, got 2.5",
        check_pair,
        "Conv2d",
        "kernel_size",
        2.5,
    )
    _raises(
        KisonetValueError,
        "Conv2d: kernel_size must be an int or a pair of ints, got (1, 2, 3)",
        check_pair,
        "Conv2d",
        "kernel_size",
        (1, 2, 3),
    )


def test_check_sequence_checks_each_item():
    def beta(owner, name, v):
        return check_float(owner, name, v, 0.0, 1.0, False, True)

    assert check_sequence("Adam", "betas", [0.9, np.float32(0.5)], beta, length=2) == (0.9, 0.5)
    assert check_sequence("A", "xs", np.array([1, 2, 3]), check_int) == (1, 2, 3)
    _raises(
        KisonetValueError,
        "Adam: betas[1] must be a number in [0, 1), got 1.0",
        check_sequence,
        "Adam",
        "betas",
        (0.9, 1.0),
        beta,
        length=2,
    )
    _raises(
        KisonetValueError,
        "Adam: betas must be a pair, got (0.9,)",
        check_sequence,
        "Adam",
        "betas",
        (0.9,),
        beta,
        length=2,
    )
    _raises(ArgumentTypeError, "A: xs must be a sequence of values, got 3", check_sequence, "A", "xs", 3, check_int)
    _raises(
        KisonetValueError,
        "A: xs must be a sequence of values, got []",
        check_sequence,
        "A",
        "xs",
        [],
        check_int,
        min_length=1,
    )


def test_check_interval_and_per_channel():
    assert check_interval("RandomErasing", "scale", (0.02, 0.33), 0.0, 1.0) == (0.02, 0.33)
    assert check_interval("A", "clip", np.array([-1, 1])) == (-1.0, 1.0)
    _raises(
        KisonetValueError,
        "RandomErasing: scale must be a pair (low, high) with 0 <= low <= high <= 1, got (0.5, 0.1)",
        check_interval,
        "RandomErasing",
        "scale",
        (0.5, 0.1),
        0.0,
        1.0,
    )
    _raises(
        KisonetValueError,
        "A: ratio must be a pair (low, high) with 0 < low <= high, got (0, 1)",
        check_interval,
        "A",
        "ratio",
        (0, 1),
        0.0,
        low_open=True,
    )
    _raises(
        ArgumentTypeError, "A: r must be a pair (low, high) with low <= high, got 'ab'", check_interval, "A", "r", "ab"
    )
    assert check_per_channel("Cutout", "fill", 0) == 0.0
    assert check_per_channel("Cutout", "fill", [0.1, 0.2, 0.3]) == (0.1, 0.2, 0.3)
    _raises(
        ArgumentTypeError,
        "Cutout: fill must be a number or one number per channel, got 'red'",
        check_per_channel,
        "Cutout",
        "fill",
        "red",
    )
    _raises(
        ArgumentTypeError, "Cutout: fill[1] must be a number, got 'x'", check_per_channel, "Cutout", "fill", [0, "x"]
    )


def test_check_array_normalises_to_float32():
    a = check_array("fit", "X", [[1, 2], [3, 4]])
    assert a.dtype == np.float32 and a.shape == (2, 2)
    x64 = np.ones((2, 3))
    assert check_array("fit", "X", x64).dtype == np.float32
    assert check_array("fit", "X", x64, dtype=None) is x64  # no copy when the dtype is kept
    assert check_array("fit", "X", [1.0, np.inf], finite=False).shape == (2,)
    _raises(ShapeError, "fit: X must be a 2-D array, got shape (3,)", check_array, "fit", "X", [1, 2, 3], ndim=2)
    _raises(
        ShapeError, "fit: X must be a 2-D or 4-D array, got shape (3,)", check_array, "fit", "X", [1, 2, 3], ndim=(2, 4)
    )
    _raises(
        ShapeError,
        "fit: X must be an array of at least 2 dimension(s), got shape (3,)",
        check_array,
        "fit",
        "X",
        [1, 2, 3],
        min_ndim=2,
    )
    _raises(
        KisonetValueError,
        "fit: X must be finite (no NaN or Inf), got 2 non-finite value(s)",
        check_array,
        "fit",
        "X",
        [np.nan, 1, np.inf],
    )
    _raises(
        KisonetValueError,
        "fit: X must be a non-empty array, got shape (0,)",
        check_array,
        "fit",
        "X",
        [],
        nonempty=True,
    )
    _raises(
        ArgumentTypeError, "fit: X must be an array of numbers, got ['a', 'b']", check_array, "fit", "X", ["a", "b"]
    )


# --- the library uses them ------------------------------------------------------------------


def test_library_entry_points_give_the_one_style():
    import kisonet as kn
    from kisonet import nn, optim
    from kisonet.data import transforms as T  # noqa: N812

    w = kn.tensor([1.0], requires_grad=True)
    cases = [
        (lambda: optim.SGD([w], lr=-1), KisonetValueError, "SGD: lr must be a number >= 0, got -1"),
        (
            lambda: nn.Conv2d(1, 2, kernel_size=(3, 0)),
            KisonetValueError,
            "Conv2d: kernel_size[1] must be an int >= 1, got 0",
        ),
        (lambda: nn.Linear(0, 2), KisonetValueError, "Linear: in_features must be an int >= 1, got 0"),
        (
            lambda: T.RandomHorizontalFlip(p=2),
            KisonetValueError,
            "RandomHorizontalFlip: p must be a probability in [0, 1], got 2",
        ),
        (
            lambda: T.RandomCrop(4, pad_mode="reflekt"),
            KisonetValueError,
            "RandomCrop: unknown pad_mode 'reflekt' (did you mean 'reflect'?); choose from: constant, edge, reflect",
        ),
        (
            lambda: optim.lr_scheduler.StepLR(optim.SGD([w], lr=0.1), step_size=0),
            KisonetValueError,
            "StepLR: step_size must be an int >= 1, got 0",
        ),
        (
            lambda: optim.lr_scheduler.StepLR("sgd", step_size=1),
            KisonetTypeError,
            "StepLR: optimizer must be an Optimizer, got str",
        ),
    ]
    for call, exc, message in cases:
        _raises(exc, message, call)


def test_old_except_clauses_still_catch():
    # a wrong type used to be a KisonetTypeError in some places and a KisonetValueError in others
    import kisonet as kn
    from kisonet import nn

    for call in (
        lambda: nn.Conv2d(1, 2, kernel_size=2.5),  # was KisonetTypeError
        lambda: kn.data.DataLoader((np.zeros((4, 2)), np.zeros(4)), batch_size="8"),  # was KisonetTypeError
        lambda: kn.optim.SGD([kn.tensor([1.0], requires_grad=True)], lr="fast"),  # was KisonetValueError
        lambda: kn.manual_seed(1.5),  # was KisonetValueError
    ):
        for exc in (TypeError, ValueError, KisonetTypeError, KisonetValueError):
            with pytest.raises(exc):
                call()


# --- hand-written checks stay gathered ------------------------------------------------------


def _is_isinstance_guard(test: ast.expr) -> bool:
    return any(
        isinstance(n, ast.UnaryOp)
        and isinstance(n.op, ast.Not)
        and isinstance(n.operand, ast.Call)
        and getattr(n.operand.func, "id", "") == "isinstance"
        for n in ast.walk(test)
    )


def hand_written_type_checks(root: Path = SRC) -> Counter:
    """Per file (relative to ``root``): ``if ... not isinstance(...) ...: raise`` statements."""
    counts: Counter = Counter()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "validation.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.If)
                and node.body
                and isinstance(node.body[0], ast.Raise)
                and _is_isinstance_guard(node.test)
            ):
                counts[rel] += 1
    return counts


#: Files that keep hand-written ``if not isinstance(...): raise`` checks, and how many, each with
#: why.  A check that validates an argument belongs in kisonet.validation; these are not that.
ALLOWED: dict[str, int] = {
    # the engine's own axis and shape arguments: checked inline on the hot path of every op,
    # with messages that name the tensor's shape (swapaxes, reductions, zeros/randn shapes)
    "autograd/ops.py": 3,
    # gradcheck: what the user's function *returned* is not an argument
    "autograd/gradcheck.py": 1,
    # file contents, not arguments: a config file or --config JSON that is not an object, a
    # format_version from the future or not a number (ConfigError naming the file)
    "config.py": 4,
    # HTTP payloads of the dashboard: SessionError/RefusedError carry the HTTP status
    "dashboard/sessions.py": 3,
    "dashboard/server.py": 1,
    # the playground parses the dashboard's JSON document (option-parser family "<where>: expected ...")
    "playground.py": 6,
    # what a user's model builder returned; the message names the spec
    "models.py": 1,
    # Sequential[i]: an IndexError, as a list's
    "nn/module.py": 1,
    # MultiTask(heads=...): a non-empty dict of identifier -> Module (a ValueError since 0.x)
    "nn/multitask.py": 2,
    # Optimizer.load_state_dict: the structure of a saved state (file content)
    "optim/optimizer.py": 2,
    # runs.py: the spec and the options record read back from a run folder (file content)
    "runs.py": 2,
    # serialization: dict keys while saving (at a path inside the object) and the __meta__ of a
    # file being loaded (CheckpointError naming the file)
    "serialization.py": 5,
    # a dict of losses needs dict outputs and dict targets: a mismatch between three arguments
    "train/objective.py": 1,
    # select_model(candidates=...): a non-empty dict (a ValueError since 0.x)
    "train/selection.py": 1,
    # Trainer(callbacks=...): duck typing, an object with any of the hook methods is accepted
    "train/trainer.py": 1,
}


def test_no_new_hand_written_type_checks():
    counts = hand_written_type_checks()
    over = {f: (n, ALLOWED.get(f, 0)) for f, n in counts.items() if n > ALLOWED.get(f, 0)}
    assert not over, (
        "hand-written `if not isinstance(...): raise` checks (file: (found, allowed)); use "
        f"kisonet.validation (check_int, check_type, ...) or, if it is not argument validation, "
        f"add it to ALLOWED with the reason: {over}"
    )
    stale = {f: (counts.get(f, 0), n) for f, n in ALLOWED.items() if counts.get(f, 0) < n}
    assert not stale, f"ALLOWED is larger than needed now; lower it (file: (found, allowed)): {stale}"
