"""Autoencoders: plain, denoising, MLP and convolutional, optionally with tied weights.

An autoencoder learns a code h = f(x) (encoder) and a reconstruction r = g(h) (decoder)
by minimising the reconstruction error

    E = (1/N) sum_n ||g(f(x_n)) - x_n||^2     (Trainer loss 'mse': mean over all entries)

A denoising autoencoder (Vincent et al. 2008) reconstructs the *clean* input from a
corrupted one, x~ ~ C(x~ | x):

    E = (1/N) sum_n ||g(f(x~_n)) - x_n||^2

so it cannot learn the identity and must capture the structure of the data.  The
corruption is :func:`kisonet.nn.functional.dropout.corrupt` ('gaussian': x + s eps;
'masking': each entry zeroed with probability p), applied inside ``forward`` in
training mode only, so ``Trainer.fit((X, X))`` trains either kind and evaluation
sees clean inputs.

    ae = kn.nn.DenoisingAutoencoder.mlp((1, 8, 8), hidden=(64,), code=16, noise="gaussian", level=0.3)
    kn.train.Trainer(ae, "mse", kn.optim.Adam(ae.parameters(), 1e-3)).fit((X, X), epochs=30)
    Z = ae.features(X)                     # (N, 16) codes: the encoder as a feature extractor
    clf = nn.Sequential(ae.encoder, nn.Linear(16, 10))    # fine-tune on labels
    kn.viz.reconstruction_figure(ae, X[:10], noise="gaussian", level=0.3, path="recon.png")

``tied=True`` (MLP) gives the decoder the transposed encoder weights, W_dec = W_enc^T
(one Parameter used twice: its gradient is the sum of both uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad, transpose
from ..errors import KisonetValueError, ShapeError
from ..lang import tr
from ..random import make_generator
from ..validation import check_choice, check_float, check_type
from . import functional as F  # noqa: N812 - the PyTorch convention
from .activation import Flatten, Identity, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh
from .conv import Conv2d, ConvTranspose2d
from .functional.dropout import corrupt
from .linear import Linear
from .module import Module, Parameter, Sequential
from .pooling import MaxPool2d

__all__ = [
    "Autoencoder",
    "DenoisingAutoencoder",
    "TiedLinear",
    "batched_outputs",
    "reconstruction_error",
]

NOISES = ("gaussian", "masking", "salt_and_pepper")
_ACTS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "leaky-relu": LeakyReLU, "linear": Identity}


def _act(name: str) -> Module:
    key = str(name).lower().replace("_", "-")
    return _ACTS[check_choice("Autoencoder", "activation", key, _ACTS)]()


class TiedLinear(Module):
    r"""A decoder layer sharing the weight of an encoder ``Linear``: y = x W + b'.

    ``W`` (out, in) is the *same* Parameter as ``linear.weight`` (not a copy), so it maps
    back from ``out`` to ``in`` features; only the bias b' (in,) is its own.  The gradient
    reaching W is the sum of the encoder's and the decoder's contributions.
    """

    def __init__(self, linear: Linear, bias: bool = True) -> None:
        super().__init__()
        check_type("TiedLinear", "linear", linear, Linear, "a Linear to tie to")
        self.weight = linear.weight  # shared Parameter: named_parameters() lists it once
        self.in_features, self.out_features = linear.out_features, linear.in_features
        self.bias = Parameter(np.zeros(self.out_features, dtype=linear.weight.dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return F.linear(x, transpose(self.weight), self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, tied"


class Autoencoder(Module):
    """``forward(x) = decoder(encoder(x))``; ``encode``/``decode`` expose the two halves.

    Build one from your own encoder and decoder, or with :meth:`mlp` / :meth:`conv`.
    """

    def __init__(self, encoder: Module, decoder: Module) -> None:
        super().__init__()
        check_type(type(self).__name__, "encoder", encoder, Module, "a Module")
        check_type(type(self).__name__, "decoder", decoder, Module, "a Module")
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: Any) -> Tensor:
        """The code h = f(x)."""
        return self.encoder(x)

    def decode(self, h: Any) -> Tensor:
        """The reconstruction g(h)."""
        return self.decoder(h)

    def forward(self, x: Any) -> Tensor:
        return self.decoder(self.encoder(x))

    def features(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Codes of ``X`` as an array, batch by batch, in eval mode (the encoder as a feature extractor)."""
        return batched_outputs(self.encoder, X, batch_size)

    def reconstruct(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Reconstructions of ``X`` as an array, in eval mode (no corruption)."""
        return batched_outputs(self, X, batch_size)

    # --- ready-made architectures --------------------------------------------------------
    @classmethod
    def mlp(
        cls,
        input_shape: int | Sequence[int],
        hidden: Sequence[int] = (128,),
        code: int = 32,
        activation: str = "relu",
        output: str = "sigmoid",
        tied: bool = False,
        **kwargs: Any,
    ) -> Autoencoder:
        """MLP autoencoder: D -> hidden... -> code -> reversed(hidden)... -> D, reshaped to ``input_shape``.

        ``output``: the reconstruction's activation ('sigmoid' for inputs in [0, 1],
        'linear' for standardised ones).  ``tied``: decoder weights are the transposed
        encoder weights (:class:`TiedLinear`).  Extra ``kwargs`` go to the class
        (``noise``, ``level`` for :class:`DenoisingAutoencoder`).
        """
        shape = (
            (int(input_shape),) if isinstance(input_shape, (int, np.integer)) else tuple(int(s) for s in input_shape)
        )
        d = math.prod(shape)
        if d < 1 or int(code) < 1 or any(int(h) < 1 for h in hidden):
            raise KisonetValueError(
                tr(
                    "{0}.mlp: sizes must be positive, got input_shape={1}, hidden={2}, code={3}",
                    cls.__name__,
                    shape,
                    tuple(hidden),
                    code,
                )
            )
        sizes = [d, *[int(h) for h in hidden], int(code)]
        enc_layers: list[Module] = [Flatten()]
        linears: list[Linear] = []
        for i in range(len(sizes) - 1):
            lin = Linear(sizes[i], sizes[i + 1])
            linears.append(lin)
            enc_layers.append(lin)
            enc_layers.append(_act(activation))
        dec_layers: list[Module] = []
        for i in range(len(sizes) - 1, 0, -1):
            dec_layers.append(TiedLinear(linears[i - 1]) if tied else Linear(sizes[i], sizes[i - 1]))
            dec_layers.append(_act(output if i == 1 else activation))
        dec_layers.append(Reshape(shape))
        return cls(Sequential(*enc_layers), Sequential(*dec_layers), **kwargs)

    @classmethod
    def conv(
        cls,
        input_shape: Sequence[int],
        channels: Sequence[int] = (16, 32),
        code: int | None = None,
        activation: str = "relu",
        output: str = "sigmoid",
        **kwargs: Any,
    ) -> Autoencoder:
        """Convolutional autoencoder for (C, H, W) images with H and W divisible by 2^len(channels):

        encoder: [conv 3x3 (pad 1) -> act -> max-pool 2] per channel count  (-> flatten -> Linear(code))
        decoder: (Linear -> reshape ->) [transposed conv 2x2, stride 2 -> act] per stage, the last to C
                 channels with the ``output`` activation.
        """
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3:
            raise ShapeError(
                tr("{0}.conv needs image input (C, H, W), got input_shape {1}", cls.__name__, tuple(input_shape))
            )
        c, h, w = shape
        chans = [int(k) for k in channels]
        if not chans or any(k < 1 for k in chans):
            raise KisonetValueError(
                tr("{0}.conv: channels must be positive ints, got {1}", cls.__name__, tuple(channels))
            )
        f = 2 ** len(chans)
        if h % f or w % f:
            raise ShapeError(
                tr(
                    "{0}.conv: {1} pooling stages need H and W divisible by {2}, got {3}x{4}",
                    cls.__name__,
                    len(chans),
                    f,
                    h,
                    w,
                )
            )
        enc: list[Module] = [Reshape(shape)]
        cin = c
        for k in chans:
            enc += [Conv2d(cin, k, 3, padding=1), _act(activation), MaxPool2d(2)]
            cin = k
        hb, wb = h // f, w // f
        dec: list[Module] = []
        if code is not None:
            enc += [Flatten(), Linear(cin * hb * wb, int(code)), _act(activation)]
            dec += [Linear(int(code), cin * hb * wb), _act(activation), Reshape((cin, hb, wb))]
        outs = [*reversed(chans[:-1]), c]
        for i, k in enumerate(outs):
            dec += [ConvTranspose2d(cin, k, 2, stride=2), _act(output if i == len(outs) - 1 else activation)]
            cin = k
        return cls(Sequential(*enc), Sequential(*dec), **kwargs)


class DenoisingAutoencoder(Autoencoder):
    """An :class:`Autoencoder` that corrupts its input in training mode:
    ``forward(x) = g(f(C(x)))`` when ``self.training``, ``g(f(x))`` in eval mode.

    Train it on ``(X, X)`` (clean targets).  ``noise``: 'gaussian' (``level`` = std),
    'masking' (``level`` = probability of zeroing an entry) or 'salt_and_pepper';
    the noise is drawn from kisonet's global generator (seeded by ``kn.manual_seed``).
    """

    def __init__(self, encoder: Module, decoder: Module, noise: str = "gaussian", level: float = 0.3) -> None:
        super().__init__(encoder, decoder)
        noise = check_choice("DenoisingAutoencoder", "noise", noise, NOISES)
        high = None if noise == "gaussian" else 1.0  # a masking or salt-and-pepper level is a probability
        self.noise = noise
        self.level = check_float("DenoisingAutoencoder", f"level (of {noise} noise)", level, 0.0, high, low_open=False)

    def corrupt(self, x: Any) -> Tensor:
        """C(x): a corrupted copy (a constant: no gradient flows into the corruption)."""

        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        return Tensor._make(corrupt(data, self.noise, self.level), False, None)

    def forward(self, x: Any) -> Tensor:
        if self.training and self.level > 0:
            x = self.corrupt(x)
        return self.decoder(self.encoder(x))

    def extra_repr(self) -> str:
        return f"noise={self.noise!r}, level={self.level}"


# --------------------------------------------------------------------------------------


def batched_outputs(module: Module, X: Any, batch_size: int = 256) -> np.ndarray:
    """``module(X)`` as one array, computed ``batch_size`` samples at a time in eval mode
    without a graph (the module's train/eval mode is restored)."""
    X = np.asarray(getattr(X, "data", X))
    if X.dtype.kind == "f" and X.dtype != np.float32:
        X = X.astype(np.float32)
    was = module.training
    module.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                out = module(Tensor._make(X[i : i + batch_size], False, None))
                outs.append(out.data)
    finally:
        module.train(was)
    if not outs:
        raise KisonetValueError(tr("{0}: no samples", type(module).__name__))
    return np.concatenate(outs)


def reconstruction_error(
    model: Module,
    X: Any,
    noise: str | None = None,
    level: float = 0.3,
    seed: int = 0,
    batch_size: int = 256,
) -> float:
    """Mean squared reconstruction error (1/(N D)) sum ||model(x~) - x||^2 of the *clean* ``X``,
    where x~ is ``X`` corrupted by ``noise`` at ``level`` (None: x~ = x).  The corruption
    uses its own generator seeded by ``seed``, so two models are compared on the same noisy inputs."""
    X = np.asarray(getattr(X, "data", X), dtype=np.float32)
    Xn = X if noise is None else corrupt(X, noise, level, rng=make_generator(seed))
    R = batched_outputs(model, Xn, batch_size)
    if R.size != X.size:
        raise ShapeError(
            tr("reconstruction_error: the model returned shape {0} for inputs of shape {1}", R.shape, X.shape)
        )
    d = R.reshape(X.shape) - X
    # one reported scalar: a float64 accumulator keeps the mean of millions of squares exact to print
    return float(np.mean(d * d, dtype=np.float64))
