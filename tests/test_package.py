"""Package-level promises: the public names, the error hierarchy, thread control."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import errors


def test_import_and_version():
    assert isinstance(kn.__version__, str) and kn.__version__.count(".") >= 1
    assert kn.Tensor is kn.tensor([1.0]).__class__


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (errors.KisonetValueError, ValueError),
        (errors.ShapeError, ValueError),
        (errors.KisonetTypeError, TypeError),
        (errors.GraphError, RuntimeError),
        (errors.NumericalError, FloatingPointError),
        (errors.KisonetIOError, OSError),
        (errors.CheckpointError, OSError),
        (errors.DataError, OSError),
        (kn.GradcheckError, AssertionError),
    ],
)
def test_error_hierarchy(cls, builtin):
    assert issubclass(cls, kn.KisonetError) and issubclass(cls, builtin)
    with pytest.raises(kn.KisonetError):
        raise cls("x")
    assert getattr(kn, cls.__name__) is cls


def test_every_error_class_is_a_kisonet_error():
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, BaseException)]
    assert len(classes) >= 8
    assert all(issubclass(c, kn.KisonetError) for c in classes)


def test_shape_error_is_catchable_as_value_error():
    with pytest.raises(ValueError):
        kn.tensor(np.ones(3)) + kn.tensor(np.ones(4))


def test_unknown_name_suggests_closest():
    e = errors.unknown_name("optimizer", "adma", ["adam", "sgd"])
    assert isinstance(e, kn.KisonetValueError)
    assert "did you mean 'adam'" in str(e) and "adam, sgd" in str(e)


def test_set_num_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not any(i.get("user_api") == "blas" for i in threadpoolctl.threadpool_info()):
        pytest.skip("no BLAS library reported by threadpoolctl")
    before = kn.get_num_threads()
    try:
        kn.set_num_threads(1)
        assert kn.get_num_threads() == 1
    finally:
        kn.set_num_threads(max(before, 1))
    assert kn.get_num_threads() == max(before, 1)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_set_num_threads_rejects_bad_n(bad):
    with pytest.raises(kn.KisonetValueError, match="set_num_threads: n must be an int >= 1, got "):
        kn.set_num_threads(bad)


def test_manual_seed_rejects_bad_seed():
    with pytest.raises(kn.KisonetValueError, match="seed"):
        kn.manual_seed(-1)


# The op list: each is a kn.<op> function and, where NumPy/PyTorch has the method, a Tensor method.
FUNCTIONS_AND_METHODS = [
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "maximum", "minimum", "where", "clip",
    "sum", "mean", "max", "min", "var", "std", "reshape", "transpose", "permute", "squeeze",
    "expand_dims", "swapaxes", "broadcast_to", "pow", "matmul",
]  # fmt: skip
FUNCTIONS_ONLY = ["concatenate", "stack", "pad", "add", "sub", "mul", "div", "neg", "gradcheck", "no_grad"]


@pytest.mark.parametrize("name", FUNCTIONS_AND_METHODS)
def test_function_and_method_in_sync(name):
    assert callable(getattr(kn, name)), name
    assert callable(getattr(kn.Tensor, name)), name


@pytest.mark.parametrize("name", FUNCTIONS_ONLY)
def test_functions_exported(name):
    assert callable(getattr(kn, name))


def test_methods_equal_functions(rng):
    x = kn.tensor(rng.uniform(0.5, 2.0, size=(2, 3, 1)))
    y = kn.tensor(rng.standard_normal((2, 3, 1)))
    cases = {
        "exp": ((), ()), "log": ((), ()), "sqrt": ((), ()), "abs": ((), ()), "tanh": ((), ()),
        "sigmoid": ((), ()), "relu": ((), ()), "maximum": ((y,), (y,)), "minimum": ((y,), (y,)),
        "clip": ((0.7, 1.2), (0.7, 1.2)), "sum": ((1,), (1,)), "mean": ((0,), (0,)),
        "max": ((2,), (2,)), "min": ((), ()), "var": ((1,), (1,)), "std": ((1,), (1,)),
        "reshape": (((3, 2),), ((3, 2),)), "transpose": (((2, 0, 1),), ((2, 0, 1),)),
        "squeeze": ((2,), (2,)), "expand_dims": ((0,), (0,)), "pow": ((2.0,), (2.0,)),
    }  # fmt: skip
    for name, (fargs, margs) in cases.items():
        np.testing.assert_array_equal(getattr(kn, name)(x, *fargs).data, getattr(x, name)(*margs).data, err_msg=name)
    mask = y > 0
    np.testing.assert_array_equal(kn.where(mask, x, y).data, x.where(mask, y).data)


def _loaded_after(code: str) -> set[str]:
    import subprocess
    import sys

    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_kisonet_loads_only_the_engine():
    # Start-up: the heavy parts load on first use (PEP 562), see docs/architecture.md.
    loaded = _loaded_after("import kisonet")
    heavy = {"matplotlib", "scipy", "sklearn", "mpi4py", "tqdm", "urllib.request", "kisonet.nn", "kisonet.data"}
    heavy |= {"kisonet.train", "kisonet.viz", "kisonet.experiments", "kisonet.distributed", "kisonet.compress"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_kisonet_help_loads_no_plotting_or_datasets():
    loaded = _loaded_after("from kisonet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    heavy = {"matplotlib", "sklearn", "scipy", "mpi4py", "urllib.request", "kisonet.experiments", "kisonet.train"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_submodules_load_on_first_use():
    import kisonet as kn

    assert kn.viz.plot_history is not None and kn.nn.Linear is not None
    assert "viz" in dir(kn)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kn.nope  # noqa: B018


def test_kisonet_help_imports_no_command_module():
    # the one-line helps live in cli.COMMANDS: the commands' options (and kisonet.config,
    # which reads every registry) load only for the command being run or asked about
    loaded = _loaded_after("from kisonet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not {"kisonet.config", "kisonet.cli.train", "kisonet.cli.options", "kisonet.data"} & loaded
