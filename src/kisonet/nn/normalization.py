"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``InstanceNorm2d``,
``GroupNorm`` (thin wrappers over :mod:`kisonet.nn.functional.normalization`).

Conventions, side by side (the signatures and defaults are PyTorch's):

* PyTorch / kisonet: ``momentum=0.1`` is the weight of the NEW batch,
  ``running = (1 - momentum) * running + momentum * batch``; the running variance
  uses the unbiased batch variance (divided by M - 1); eps=1e-5.
* Keras: ``momentum=0.99`` is the weight of the OLD average
  (``running = momentum * running + (1 - momentum) * batch``), eps=1e-3: Keras'
  momentum m is kisonet's ``1 - m``.
* The lecture notes (Keio lecture 4): inference uses "the average of the training-time
  (mu, sigma^2)" with the mini-batch (biased) variance: ``momentum=None, unbiased_var=False``,
  or ``set_batch_norm_inference(model, "average")`` for every batch-norm layer of a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Tensor
from ..autograd.tensor import float_input
from ..backend import get_default_dtype
from ..errors import KisonetValueError, ShapeError, closest
from ..lang import tr
from ..validation import check_float, check_int, check_positive
from .functional.normalization import batch_norm, group_norm, instance_norm, layer_norm
from .module import Module, Parameter


def _check_hparams(name: str, eps: float, momentum: float | None) -> None:
    check_positive(name, "eps", eps)
    check_float(name, "momentum", momentum, 0.0, 1.0, low_open=False, allow_none=True)


class BatchNormBase(Module):
    """The shared base of BatchNorm1d/2d and InstanceNorm2d (and SyncBatchNorm): affine
    parameters, running statistics, and the train/eval switch; subclasses set the axes."""

    _dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        unbiased_var: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(name, "num_features", num_features)
        _check_hparams(name, eps, momentum)
        self.eps, self.momentum = float(eps), momentum
        self.unbiased_var = bool(unbiased_var)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dt = get_default_dtype()
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))  # gamma
            self.bias = Parameter(np.zeros(num_features, dtype=dt))  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.fill(0)
            self.running_var.fill(1)
            self.num_batches_tracked.fill(0)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in self._dims or x.shape[1] != self.num_features:
            raise ShapeError(
                tr(
                    "{0}({1}) got input of shape {2}; expected {3} with C={1}",
                    type(self).__name__,
                    self.num_features,
                    x.shape,
                    self._layout,
                )
            )

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)  # integer data would fail NumPy's in-place float math
        self._check_input(x)
        use_batch = self.training or not self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if self.training or not use_batch else None,
            self.running_var if self.training or not use_batch else None,
            self.weight,
            self.bias,
            use_batch,
            self.momentum,
            self.eps,
            num_batches_tracked=self.num_batches_tracked,
            unbiased_var=self.unbiased_var,
            _name=f"{type(self).__name__}({self.num_features})",
        )

    def extra_repr(self) -> str:
        s = f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
        if not self.affine:
            s += ", affine=False"
        if not self.track_running_stats:
            s += ", track_running_stats=False"
        if not self.unbiased_var:
            s += ", unbiased_var=False"
        return s


BN_INFERENCE = ("running", "average")


def set_batch_norm_inference(model: Module, mode: str) -> int:
    """Choose the statistics every batch-norm layer of ``model`` uses in eval mode; returns
    how many layers were set.

    .. code-block:: text

        "running" (PyTorch's default):  running <- 0.9 running + 0.1 batch,  batch var unbiased (/(M-1))
        "average" (Keio lecture 4):      running <- mean over the batches seen of (mu_B, sigma_B^2),
                                         sigma_B^2 = (1/M) sum (x - mu_B)^2  (biased, as printed)

    Keio lecture 4, "バッチ正規化の注意点": 「推論時の(μ, σ²)」 = 「訓練時の(μ, σ²)の平均」.
    "average" is ``momentum=None, unbiased_var=False``; "running" is ``momentum=0.1,
    unbiased_var=True``.  Set it before training (the buffers accumulate as batches arrive).
    """
    if mode not in BN_INFERENCE:
        raise KisonetValueError(
            tr(
                "set_batch_norm_inference: unknown mode {0!r}{1}; choose from: {2}",
                mode,
                closest(str(mode), BN_INFERENCE),
                ", ".join(BN_INFERENCE),
            )
        )
    n = 0
    for m in model.modules():
        if isinstance(m, BatchNormBase) and not isinstance(m, InstanceNorm2d):
            m.momentum, m.unbiased_var = (None, False) if mode == "average" else (0.1, True)
            n += 1
    return n


class BatchNorm1d(BatchNormBase):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel:
    ``y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta`` with batch statistics while
    training and the running averages in eval mode.  Buffers ``running_mean``,
    ``running_var`` (unbiased; biased with ``unbiased_var=False``), ``num_batches_tracked``
    are in the state dict.  ``momentum=None, unbiased_var=False`` is Keio lecture 4's
    inference form (see :func:`set_batch_norm_inference`).
    See the module docstring for PyTorch's / Keras' / the notes' momentum."""

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(BatchNormBase):
    """Batch normalisation of (N, C, H, W) images per channel (statistics over N, H, W);
    see :class:`BatchNorm1d`."""

    _dims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Standardise each sample over its last ``len(normalized_shape)`` axes, then an
    elementwise affine map with ``weight``/``bias`` of shape ``normalized_shape``."""

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True
    ) -> None:
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape = tuple(check_int("LayerNorm", "normalized_shape", n) for n in ns)
        if not self.normalized_shape:
            raise KisonetValueError(tr("LayerNorm: normalized_shape must not be empty"))
        _check_hparams("LayerNorm", eps, None)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dt = get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class InstanceNorm2d(BatchNormBase):
    """Standardise each (sample, channel) of (N, C, H, W) over H, W.  PyTorch's defaults:
    ``affine=False``, ``track_running_stats=False`` (then train and eval behave the same);
    with ``track_running_stats=True`` eval mode uses the running averages."""

    _dims = (4,)
    _layout = "(N, C, H, W)"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)
        self._check_input(x)
        use_input_stats = self.training or not self.track_running_stats
        # Like PyTorch, instance norm does not count batches (num_batches_tracked stays 0).
        return instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats, self.momentum, self.eps
        )


class GroupNorm(Module):
    """Split the channels into ``num_groups`` groups and standardise each (sample, group)
    over its channels and spatial axes; per-channel ``weight``/``bias``.  Independent of
    the batch size (G=1: layer norm over C, H, W; G=C: instance norm)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise KisonetValueError(
                tr("GroupNorm: num_channels={0} is not divisible by num_groups={1}", num_channels, num_groups)
            )
        _check_hparams("GroupNorm", eps, None)
        self.eps, self.affine = float(eps), bool(affine)
        dt = get_default_dtype()
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dt))
            self.bias = Parameter(np.zeros(num_channels, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        x = float_input(x, self.weight)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                tr(
                    "GroupNorm({0}, {1}) got input of shape {2}; expected (N, {1}, ...)",
                    self.num_groups,
                    self.num_channels,
                    x.shape,
                )
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
