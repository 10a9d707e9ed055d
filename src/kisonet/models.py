"""Ready-made models and the model builder behind ``kisonet train --model``.

Four classic networks, usable from Python or named by a short spec::

    MLP         'mlp:256,128'   x -> [Linear -> (BatchNorm) -> act -> (Dropout)] per hidden size -> Linear
    SimpleCNN   'simple-cnn'    the notes' SimpleConvNet:
                                conv 30x5x5 -> relu -> max-pool 2 -> affine 100 -> relu -> affine n_classes
    LeNet       'lenet'         conv 6x5x5 -> act -> pool 2 -> conv 16x5x5 -> act -> pool 2
                                -> affine 120 -> act -> affine 84 -> act -> affine n_classes
    AlexNet     'alexnet:0.25'  5 conv + 3 max-pool stages, affine 4096 -> 4096 -> n_classes with
                                dropout, channels/units times the width after ':' (default 1)

and a user's own builder, ``'package.module:function'``: the function is
called with whichever of ``input_shape, n_classes, activation, init, dropout,
batch_norm`` it accepts and must return a :class:`kisonet.nn.Module`.

Every model outputs raw scores (logits) of shape (N, n_classes); pair it with
``nn.CrossEntropyLoss``, which applies the softmax.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from . import nn
from .errors import KisonetTypeError, KisonetValueError, ShapeError, closest
from .lang import tr
from .registry import Registry
from .validation import check_int, check_probability

__all__ = [
    "MODELS",
    "AlexNet",
    "LeNet",
    "MLP",
    "SimpleCNN",
    "build_model",
    "is_custom_spec",
    "image_shape",
    "make_activation",
    "parse_spec",
]


def _no_args(name: str) -> Any:
    def parse(tail: str | None, spec: str) -> str:
        if tail is not None:
            raise KisonetValueError(tr("{0} takes no ':' arguments, got {1!r}", name, spec))
        return name

    return parse


def _mlp_args(tail: str | None, spec: str) -> str:
    if tail is None:
        return "mlp"
    try:
        sizes = [int(t) for t in tail.split(",") if t.strip()]
    except ValueError:
        sizes = [0]
    if any(h <= 0 for h in sizes):
        raise KisonetValueError(tr("mlp hidden sizes must be positive integers like mlp:256,128, got {0!r}", spec))
    return "mlp:" + ",".join(map(str, sizes))


def is_custom_spec(spec: str) -> bool:
    """Whether ``spec`` names a user's ``module:function`` builder (code kisonet would import)."""
    head = str(spec).strip().partition(":")[0].lower().replace("_", "-")
    return head not in MODELS


def parse_spec(spec: Any) -> str:
    """Check a model spec and return it normalised: ``'mlp:256,128'`` | ``'mlp'`` |
    ``'simple-cnn'`` | ``'lenet'`` | ``'package.module:function'`` (imported only when built)."""
    s = str(spec).strip()
    if not s:
        raise KisonetValueError(tr("expected a model: {0}", spec_forms()))
    head, sep, tail = s.partition(":")
    key = head.lower().replace("_", "-")
    if key in MODELS:
        return MODELS.entry(key).meta["parse"](tail if sep else None, s)
    if sep and re.fullmatch(r"[A-Za-z_][\w.]*", head) and re.fullmatch(r"[A-Za-z_]\w*", tail):
        return s
    raise KisonetValueError(
        tr("unknown model {0!r}{1}; choose from: {2}", s, closest(key, MODELS.names()), spec_forms())
    )


def spec_forms() -> str:
    """The written forms of every registered model, and ``module:function``."""
    return ", ".join(e.meta["form"] for e in MODELS.entries()) + ", or module:function"


def make_activation(name: str) -> nn.Module:
    """``'relu' | 'sigmoid' | 'tanh' | 'leaky-relu'`` (any name of
    :data:`kisonet.nn.activation.ACTIVATIONS`) -> a fresh activation module."""
    return nn.activation.ACTIVATIONS.get(name)()


def _check_common(owner: str, n_classes: int, dropout: float) -> None:
    check_int(owner, "n_classes", n_classes)
    check_probability(owner, "dropout", dropout, high_open=True)


def image_shape(owner: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    """(C, H, W) of one sample; a flat square input (64 = 8x8) is read as one channel."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    if len(shape) == 2:
        return (1, *shape)  # type: ignore[return-value]
    if len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        s = math.isqrt(shape[0])
        return (1, s, s)
    raise ShapeError(tr("{0} needs image input (C, H, W), got samples of shape {1}", owner, shape))


def _dense_block(d: int, width: int, activation: str, init: Any, dropout: float, batch_norm: bool) -> list[nn.Module]:
    """Linear(d -> width) -> (BatchNorm1d) -> act -> (Dropout): one hidden affine layer."""
    layers: list[nn.Module] = [nn.Linear(d, width, init=init)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(width))
    layers.append(make_activation(activation))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return layers


def _conv_block(
    cin: int, cout: int, kernel_size: int, padding: int, activation: str, init: Any, batch_norm: bool
) -> list[nn.Module]:
    """Conv2d -> (BatchNorm2d) -> act -> MaxPool2d(2): one convolution stage."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel_size, padding=padding, init=init)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    return [*layers, make_activation(activation), nn.MaxPool2d(2)]


class _Stack(nn.Module):
    """A model that is one ``nn.Sequential``, ``self.layers``."""

    def forward(self, x):
        return self.layers(x)


class MLP(_Stack):
    """Multi-layer perceptron: ``h_{l+1} = act(W_l h_l + b_l)``, logits ``W_L h_L + b_L``.

    Input of any per-sample shape is flattened first.  With ``batch_norm`` each
    hidden layer is Linear -> BatchNorm1d -> act; with ``dropout > 0`` each hidden
    activation is followed by ``Dropout(dropout)``.
    """

    def __init__(
        self,
        in_features: int | Sequence[int],
        hidden: Sequence[int] = (256, 128),
        n_classes: int = 10,
        activation: str = "relu",
        init: Any = None,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_common("MLP", n_classes, dropout)
        d = math.prod(in_features) if isinstance(in_features, Sequence) else int(in_features)
        if d < 1:
            raise KisonetValueError(tr("MLP: in_features must be positive, got {0!r}", in_features))
        self.hidden = tuple(int(h) for h in hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        for h in self.hidden:
            layers += _dense_block(d, h, activation, init, dropout, batch_norm)
            d = h
        layers.append(nn.Linear(d, n_classes, init=init))
        self.layers = nn.Sequential(*layers)


class SimpleCNN(_Stack):
    """The notes' SimpleConvNet: conv(30, 5x5) -> act -> max-pool 2 -> affine 100 -> act -> affine.

    ``batch_norm`` inserts BatchNorm2d after the convolution and BatchNorm1d after
    the hidden affine layer; ``dropout`` acts before the last affine layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        n_classes: int = 10,
        activation: str = "relu",
        init: Any = None,
        dropout: float = 0.0,
        batch_norm: bool = False,
        channels: int = 30,
        kernel_size: int = 5,
        hidden: int = 100,
    ) -> None:
        super().__init__()
        _check_common("SimpleCNN", n_classes, dropout)
        c, h, w = image_shape("SimpleCNN", input_shape)
        if h < kernel_size or w < kernel_size:
            raise ShapeError(tr("SimpleCNN: a {0}x{0} kernel does not fit input of shape {1}", kernel_size, (c, h, w)))
        oh, ow = (h - kernel_size + 1) // 2, (w - kernel_size + 1) // 2
        if oh < 1 or ow < 1:
            raise ShapeError(
                tr("SimpleCNN: input of shape {0} is too small for conv {1} + pool 2", (c, h, w), kernel_size)
            )
        self.layers = nn.Sequential(
            nn.Reshape((c, h, w)),
            *_conv_block(c, channels, kernel_size, 0, activation, init, batch_norm),
            nn.Flatten(),
            *_dense_block(channels * oh * ow, hidden, activation, init, dropout, batch_norm),
            nn.Linear(hidden, n_classes, init=init),
        )


class LeNet(_Stack):
    """LeNet-style: two conv(5x5, 'same' padding) -> act -> max-pool 2 stages (6 and 16
    channels), then affine 120 -> act -> affine 84 -> act -> affine n_classes.

    ``batch_norm`` adds BatchNorm after each conv and hidden affine layer;
    ``dropout`` follows each hidden affine activation.  The 'same' padding keeps
    small inputs (8x8 digits: 8 -> 4 -> 2) valid as well as 28x28 MNIST.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        n_classes: int = 10,
        activation: str = "relu",
        init: Any = None,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_common("LeNet", n_classes, dropout)
        c, h, w = image_shape("LeNet", input_shape)
        if h < 4 or w < 4:
            raise ShapeError(tr("LeNet needs images of at least 4x4 (two 2x2 poolings), got shape {0}", (c, h, w)))
        layers: list[nn.Module] = [nn.Reshape((c, h, w))]
        cin = c
        for cout in (6, 16):
            layers += _conv_block(cin, cout, 5, 2, activation, init, batch_norm)
            cin, h, w = cout, h // 2, w // 2
        layers.append(nn.Flatten())
        d = cin * h * w
        for width in (120, 84):
            layers += _dense_block(d, width, activation, init, dropout, batch_norm)
            d = width
        layers.append(nn.Linear(d, n_classes, init=init))
        self.layers = nn.Sequential(*layers)


class AlexNet(_Stack):
    """AlexNet (Krizhevsky et al. 2012) for small images, its width scalable.

    Five convolutions and three max-poolings, then three affine layers with dropout before the
    two hidden ones, as in the paper; sized for 32x32 inputs (CIFAR-10) -- 28x28 MNIST and 8x8
    digits fit too (each pooling halves the side, rounding down)::

        conv 64w 5x5 -> act -> pool 2 -> conv 192w 5x5 -> act -> pool 2
        -> conv 384w 3x3 -> act -> conv 256w 3x3 -> act -> conv 256w 3x3 -> act -> pool 2
        -> dropout -> affine 4096w -> act -> dropout -> affine 4096w -> act -> affine n_classes

    ('same' padding; channel and unit counts times ``width``, at least 1).  ``width=1`` is the
    ImageNet model's 64-192-384-256-256 channels and 4096-unit layers (36M parameters on 32x32);
    ``width=0.125`` trains on a CPU in minutes.  The paper's 11x11 stride-4 first layer and 3x3
    stride-2 overlapping poolings are for 224x224 images: on 32x32 they would leave nothing.
    The E-certificate exercise report (Section 5) describes AlexNet as 3 conv, 2 pool and 3
    affine layers with dropout on the 4096-unit outputs; the paper's count is used here.
    ``dropout`` defaults to the paper's 0.5 (``kisonet train --model alexnet`` passes its
    ``--dropout``, 0 unless set); ``batch_norm`` adds BatchNorm after each convolution and hidden
    affine layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (3, 32, 32),
        n_classes: int = 10,
        activation: str = "relu",
        init: Any = None,
        dropout: float = 0.5,
        batch_norm: bool = False,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        _check_common("AlexNet", n_classes, dropout)
        if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
            raise KisonetValueError(tr("AlexNet: width must be a positive number, got {0!r}", width))
        c, h, w = image_shape("AlexNet", input_shape)
        if h < 8 or w < 8:
            raise ShapeError(tr("AlexNet needs images of at least 8x8 (three 2x2 poolings), got shape {0}", (c, h, w)))
        self.width = float(width)
        ch = [max(1, round(k * width)) for k in (64, 192, 384, 256, 256)]
        units = max(1, round(4096 * width))
        layers: list[nn.Module] = [nn.Reshape((c, h, w))]
        cin = c
        for i, (cout, k) in enumerate(zip(ch, (5, 5, 3, 3, 3), strict=True)):
            layers.append(nn.Conv2d(cin, cout, k, padding=k // 2, init=init))
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(make_activation(activation))
            if i in (0, 1, 4):
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            cin = cout
        layers.append(nn.Flatten())
        d = cin * h * w
        for _ in range(2):
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.Linear(d, units, init=init))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(make_activation(activation))
            d = units
        layers.append(nn.Linear(d, n_classes, init=init))
        self.layers = nn.Sequential(*layers)


def _alexnet_args(tail: str | None, spec: str) -> str:
    if tail is None:
        return "alexnet"
    try:
        width = float(tail)
    except ValueError:
        width = -1.0
    if not (math.isfinite(width) and width > 0):
        raise KisonetValueError(tr("alexnet's width must be a positive number like alexnet:0.25, got {0!r}", spec))
    return f"alexnet:{width:g}"


def _user_builder(spec: str):
    mod_name, _, fn_name = spec.partition(":")
    cwd = os.getcwd()
    # the console script does not put the working folder on sys.path; `python -m` does
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise KisonetValueError(tr("model {0!r}: cannot import module {1!r} ({2})", spec, mod_name, e)) from e
    fn = getattr(module, fn_name, None)
    if fn is None or not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise KisonetValueError(
            tr("model {0!r}: module {1!r} has no function {2!r}{3}", spec, mod_name, fn_name, closest(fn_name, names))
        )
    return fn


def apply_layer_forms(model: nn.Module, dropout_scaling: str = "inverted", bn_inference: str = "running") -> nn.Module:
    """Put the notes' layer forms a run was trained with on a freshly built model (docs/notes-forms.md):
    ``dropout_scaling`` on every Dropout (:func:`kisonet.nn.set_dropout_scaling`) and ``bn_inference``
    on every batch norm (:func:`kisonet.nn.set_batch_norm_inference`); the defaults are PyTorch's."""
    if dropout_scaling != "inverted":
        nn.set_dropout_scaling(model, dropout_scaling)
    if bn_inference != "running":
        nn.set_batch_norm_inference(model, bn_inference)
    return model


def build_model(
    spec: str,
    input_shape: Sequence[int],
    n_classes: int,
    activation: str = "relu",
    init: Any = None,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Module:
    """Build the model named by ``spec`` for samples of ``input_shape`` and ``n_classes`` outputs.

    ``spec``: ``'mlp:256,128'`` (hidden sizes; ``'mlp'`` alone is ``mlp:256,128``;
    ``'mlp:'`` is softmax regression), ``'simple-cnn'``, ``'lenet'``, or
    ``'module:function'`` for a user's own builder.
    """
    spec = parse_spec(spec)
    input_shape = tuple(int(s) for s in input_shape)
    common = dict(activation=activation, init=init, dropout=dropout, batch_norm=batch_norm)
    head, sep, tail = spec.partition(":")
    if head in MODELS:
        return MODELS[head](input_shape, n_classes, tail if sep else None, **common)
    fn = _user_builder(spec)
    kwargs: dict[str, Any] = dict(input_shape=input_shape, n_classes=n_classes, **common)
    try:
        params = inspect.signature(fn).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            kwargs = {k: v for k, v in kwargs.items() if k in params}
    except (TypeError, ValueError):  # builtins without a signature: pass everything
        pass
    model = fn(**kwargs)
    if not isinstance(model, nn.Module):
        raise KisonetTypeError(
            tr("model {0!r}: the builder returned {1}, expected a kisonet.nn.Module", spec, type(model).__name__)
        )
    return model


# The models by name (``--model``): name -> ``builder(input_shape, n_classes, args, **common)`` where
# ``args`` is the text after ':' (None without one) and ``common`` the activation, init, dropout and
# batch_norm options; ``parse`` checks and normalises a spec, ``form`` is how it is written.
# Adding a model: its class above, then one ``MODELS.add`` line.
# fmt: off
MODELS = Registry("model")
MODELS.add("mlp", lambda shape, n, args, **kw: MLP(
    shape, tuple(int(t) for t in args.split(",") if t) if args is not None else (256, 128), n, **kw),
    "multi-layer perceptron; hidden sizes after ':' (mlp: alone is softmax regression)",
    form="mlp:H1,H2,...", parse=_mlp_args)
MODELS.add("simple-cnn", lambda shape, n, args, **kw: SimpleCNN(shape, n, **kw),
           "the notes' SimpleConvNet: conv 30x5x5 -> relu -> pool -> affine 100 -> affine",
           form="simple-cnn", parse=_no_args("simple-cnn"))
MODELS.add("lenet", lambda shape, n, args, **kw: LeNet(shape, n, **kw),
           "LeNet-5: two conv+pool stages, affine 120 -> 84 -> n_classes", form="lenet", parse=_no_args("lenet"))
MODELS.add("alexnet", lambda shape, n, args, **kw: AlexNet(shape, n, width=float(args) if args else 1.0, **kw),
           "AlexNet for 32x32 images: 5 conv (64-192-384-256-256 x WIDTH) + 3 pools, affine 4096 x WIDTH twice",
           form="alexnet[:WIDTH]", parse=_alexnet_args)
# fmt: on
