"""kisonet: deep learning from first principles, on NumPy.

import kisonet as kn
x = kn.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward()
x.grad            # array([2., 4., 6.], dtype=float32)
"""

from ._version import __version__
from .autograd import (
    Function,
    GradcheckError,
    Tensor,
    abs,
    add,
    arange,
    as_tensor,
    broadcast_to,
    clip,
    concatenate,
    detect_anomaly,
    div,
    enable_grad,
    exp,
    expand_dims,
    gradcheck,
    is_anomaly_enabled,
    is_grad_enabled,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    no_grad,
    ones,
    pad,
    permute,
    pow,
    rand,
    randn,
    relu,
    reshape,
    set_detect_anomaly,
    set_grad_enabled,
    sigmoid,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tanh,
    tensor,
    transpose,
    var,
    where,
    zeros,
)
from .backend import get_array_module, get_default_dtype, set_default_dtype
from .errors import (
    CheckpointError,
    DataError,
    GraphError,
    KisonetError,
    KisonetIndexError,
    KisonetIOError,
    KisonetTypeError,
    KisonetValueError,
    NumericalError,
    RunFolderError,
    ShapeError,
)
from .random import get_generator, get_rng_state, manual_seed, set_rng_state
from .serialization import load, save
from .threads import get_num_threads, set_num_threads
from .lang import tr

# The rest of kisonet loads on first use (PEP 562): ``kn.nn``, ``kn.optim``, ``kn.data``,
# ``kn.train``, ``kn.viz`` (matplotlib), ``kn.experiments``, ``kn.distributed`` (mpi4py), ...
# so ``import kisonet`` costs little more than NumPy and changes nothing in the process
# (the allocator setting is applied when an optimizer is built: see kisonet.allocator).
_SUBMODULES = frozenset(
    {
        "allocator",
        "autograd",
        "backend",
        "cli",
        "compress",
        "config",
        "dashboard",
        "data",
        "distributed",
        "ensemble",
        "errors",
        "experiments",
        "i18n",
        "lang",
        "io",
        "models",
        "nn",
        "notes",
        "optim",
        "playground",
        "random",
        "registry",
        "regularizers",
        "runner",
        "runs",
        "semi",
        "serialization",
        "threads",
        "train",
        "validation",
        "viz",
    }
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(tr("module 'kisonet' has no attribute {0!r}", name))


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
