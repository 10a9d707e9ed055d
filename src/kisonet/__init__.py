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
    ShapeError,
)
from .random import get_generator, get_rng_state, manual_seed, set_rng_state
from .serialization import load, save
from .threads import get_num_threads, set_num_threads
from . import allocator

allocator._apply_default()  # keep each step's freed memory for the next (see kisonet.allocator)

# The sub-packages, in the order they build on each other (see docs/architecture.md);
# mpi4py is imported only when kisonet.distributed is used.
from . import nn
from . import optim, regularizers
from . import data
from . import train, viz
from . import models
from . import experiments, ensemble, semi, compress, distributed
