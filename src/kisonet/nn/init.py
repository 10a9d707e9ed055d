"""Weight initialisers (``kn.nn.init``), in place, with PyTorch's names and signatures.

Every function fills a tensor (or ndarray) in place, keeps its dtype, draws from
:func:`kisonet.random.get_generator` (so ``kn.manual_seed`` fixes the numbers),
and returns the tensor.

Fan of a weight (PyTorch's rule, right for conv kernels)::

    Linear  weight (out, in):            fan_in = in,          fan_out = out
    Conv2d  weight (out, in, kh, kw):    fan_in = in * kh * kw, fan_out = out * kh * kw

Formulas (gain g from :func:`calculate_gain`)::

    xavier_uniform_   U(-a, a),  a = g * sqrt(6 / (fan_in + fan_out))     (Glorot)
    xavier_normal_    N(0, s^2), s = g * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_  U(-b, b),  b = g * sqrt(3 / fan)                     (He)
    kaiming_normal_   N(0, s^2), s = g / sqrt(fan)
    he_uniform_       U(+-sqrt(6 / fan_in))  = kaiming_uniform_ with a=0, relu
    he_normal_        N(0, 2 / fan_in)       = kaiming_normal_ with a=0, relu

The lecture notes' conventions (docs/notes-forms.md): Keio lecture 4 prints Xavier uniform
U(+-sqrt(6/(d_{l-1}+d_l))) (``'xavier'``) and He uniform U(+-sqrt(6/d_{l-1})) (``'he-uniform'``);
the E-cert exercise report's "Xavier" is N(0, 1/n) (``'xavier-fan-in'``, i.e.
``xavier_normal_(w, mode="fan_in")``; PyTorch's ``'xavier_normal'`` uses 2/(fan_in+fan_out), the
same when fan_in = fan_out) and its "He" is N(0, 2/n) (``'he'``).

Layer default (:func:`init_layer_` with ``init=None``) is PyTorch's:
weight ``kaiming_uniform_(a=sqrt(5))`` which is U(+-1/sqrt(fan_in)) and
bias U(+-1/sqrt(fan_in)).  It is *not* He: for deep ReLU nets pass
``init='he'``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import KisonetTypeError, KisonetValueError, ShapeError, unknown_name
from ..lang import tr
from ..random import get_generator
from ..registry import Registry
from ..validation import check_choice, check_positive, check_type

__all__ = [
    "INITS",
    "parse_init",
    "calculate_gain",
    "constant_",
    "he_normal_",
    "he_uniform_",
    "init_layer_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _array(t: Any) -> np.ndarray:
    return t._data if isinstance(t, Tensor) else t


def _fill(t: Any, values: np.ndarray) -> Any:
    """Copy ``values`` into ``t`` in place, keeping its dtype, outside the graph."""
    with no_grad():
        arr = _array(t)
        check_type("init", "tensor", arr, np.ndarray, "a Tensor or ndarray")
        np.copyto(arr, values, casting="unsafe")
        if isinstance(t, Tensor):
            t._version += 1
    return t


def _float_dtype(t: Any) -> np.dtype:
    d = _array(t).dtype
    # Generators draw float32 or float64 directly; anything else draws float64 and is cast.
    return d if d in (np.float32, np.float64) else np.dtype(np.float64)


def _uniform(t: Any, low: float, high: float) -> Any:
    arr = _array(t)
    u = get_generator().random(arr.shape, dtype=_float_dtype(t))
    u *= high - low
    u += low
    return _fill(t, u)


def _normal(t: Any, mean: float, std: float) -> Any:
    arr = _array(t)
    z = get_generator().standard_normal(arr.shape, dtype=_float_dtype(t))
    z *= std
    z += mean
    return _fill(t, z)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear/conv*/sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + a^2)) with a = ``param`` (default 0.01);  selu: 3/4.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise KisonetValueError(tr("calculate_gain: negative_slope {0!r} is not a number", param))
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise unknown_name(tr("nonlinearity"), nonlinearity, (*linear, "sigmoid", "tanh", "relu", "leaky_relu", "selu"))


def _calculate_fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (in * receptive field, out * receptive field)
    for shape (out, in, *kernel)."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ShapeError(
            tr("fan in and fan out cannot be computed for a tensor of shape {0} (fewer than 2 dimensions)", shape)
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Any, mode: str) -> int:
    check_choice("init", "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def zeros_(tensor: Any) -> Any:
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor: Any) -> Any:
    """Fill with 1."""
    return _fill(tensor, 1)


def constant_(tensor: Any, val: float) -> Any:
    """Fill with ``val``."""
    return _fill(tensor, val)


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0) -> Any:
    """Fill with U(a, b)."""
    if not b >= a:
        raise KisonetValueError(tr("uniform_: need a <= b, got a={0}, b={1}", a, b))
    return _uniform(tensor, a, b)


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0) -> Any:
    """Fill with N(mean, std^2)."""
    std = check_positive("normal_", "std", std, allow_zero=True)
    return _normal(tensor, mean, std)


def xavier_uniform_(tensor: Any, gain: float = 1.0) -> Any:
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(tensor, -a, a)


def xavier_normal_(tensor: Any, gain: float = 1.0, mode: str = "fan_avg") -> Any:
    """Glorot: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)) (``mode="fan_avg"``, PyTorch's).

    ``mode="fan_in"``: s = gain / sqrt(fan_in), the notes' "Xavier" N(0, 1/n) (E-cert exercise report,
    "1.2 重みの初期値設定": "重みの要素を、前の層のノード数の平方根で除算した値を初期値として用いる",
    i.e. a standard normal draw divided by sqrt(n), n the previous layer's width); the two agree
    when fan_in = fan_out."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return _normal(tensor, 0.0, gain / math.sqrt(fan_in))
    check_choice("xavier_normal_", "mode", mode, ("fan_avg", "fan_in"))
    return _normal(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Any, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Any:
    """He: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    fan = _fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _uniform(tensor, -bound, bound)


def kaiming_normal_(tensor: Any, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Any:
    """He: N(0, s^2) with s = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    fan = _fan(tensor, mode)
    return _normal(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def he_uniform_(tensor: Any) -> Any:
    """The notes' He uniform: U(+-sqrt(6 / fan_in)) (kaiming_uniform_ with a=0, relu).

    Keio lecture 4, "Heの初期化 (He initialization)":
    ``w_ji ~ U(-sqrt(6 / d_{l-1}), sqrt(6 / d_{l-1}))``."""
    return kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="relu")


def he_normal_(tensor: Any) -> Any:
    """The notes' He normal: N(0, 2 / fan_in) (kaiming_normal_ with a=0, relu).

    E-cert exercise report, "2. He": the Xavier draw (divided by sqrt(n)) times sqrt(2)."""
    return kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="relu")


# The named initialisers (``init=`` of layers, ``--init``): name -> function filling a weight.
# ``normal`` takes its std after a colon (``normal:0.1``; alone: 0.01).  Adding one: the function
# above, then one line here.
# fmt: off
INITS = Registry("init")
INITS.add("he", he_normal_, "N(0, 2/fan_in): the notes' He, for ReLU", aliases=("he_normal", "kaiming"))
INITS.add("he-uniform", he_uniform_, "U(+-sqrt(6/fan_in))", aliases=("kaiming_uniform",))
INITS.add("xavier", xavier_uniform_, "U(+-sqrt(6/(fan_in+fan_out))), for sigmoid/tanh",
          aliases=("xavier_uniform", "glorot"))
INITS.add("xavier-normal", xavier_normal_, "N(0, 2/(fan_in+fan_out))")
INITS.add("xavier-fan-in", lambda w: xavier_normal_(w, mode="fan_in"),
          "N(0, 1/fan_in): the E-cert report's Xavier (xavier_normal_(mode='fan_in'))")
INITS.add("normal", lambda w, std=0.01: normal_(w, 0.0, std), "N(0, STD^2) (default STD 0.01)", form="normal:STD")
INITS.add("zeros", zeros_, "all zeros (the symmetry problem)")
# fmt: on


def init_forms() -> tuple[str, ...]:
    """The written forms of the named initialisers (``normal:STD`` for the parameterised one)."""
    return tuple(e.meta.get("form", e.name) for e in INITS.entries())


def parse_init(init: Any) -> str | None:
    """Check an init name and return it normalised (``'he_normal'`` -> ``'he'``,
    ``'normal:0.10'`` -> ``'normal:0.1'``); None, ``''``, ``'default'`` and ``'none'`` are None."""
    if init is None:
        return None
    s = str(init).strip().lower()
    if s in ("", "default", "none"):
        return None
    if s.startswith("normal:"):
        try:
            std = float(s.split(":", 1)[1])
        except ValueError:
            std = -1.0
        if not (math.isfinite(std) and std > 0):
            raise KisonetValueError(tr("normal:STD needs a positive number, got {0!r}", init))
        short = f"{std:g}"  # 'normal:0.10' -> 'normal:0.1'; a value %g would round keeps all its digits
        return f"normal:{short if float(short) == std else repr(std)}"
    if s not in INITS:
        raise unknown_name(tr("init"), init, init_forms())
    return INITS.canonical(s)


def init_layer_(weight: Any, bias: Any | None = None, init: str | Callable[[Any], Any] | None = None) -> None:
    """Initialise a layer's ``weight`` (out, in, ...) and ``bias`` in place.

    ``init``:

    * ``None`` (default, PyTorch's): weight ``kaiming_uniform_(a=sqrt(5))`` =
      U(+-1/sqrt(fan_in)), bias U(+-1/sqrt(fan_in)).
    * ``'he'`` / ``'he_normal'``: N(0, 2/fan_in) (the notes' He, for ReLU);
      ``'he_uniform'``: U(+-sqrt(6/fan_in)).
    * ``'xavier'`` / ``'xavier_uniform'``: U(+-sqrt(6/(fan_in+fan_out)))
      (PyTorch's xavier_uniform_; Keio lecture 4's Xavier; for sigmoid/tanh); ``'xavier_normal'``:
      N(0, 2/(fan_in+fan_out)); ``'xavier_fan_in'``: N(0, 1/fan_in) (the E-cert report's Xavier).
    * ``'normal'``: N(0, 0.01^2); ``'normal:STD'`` e.g. ``'normal:0.1'``: N(0, STD^2).
    * ``'zeros'``: all zeros.
    * a callable ``f(weight)`` applied to the weight (bias set to zero).

    With any named or callable init the bias is zero.
    """
    if init is None:
        kaiming_uniform_(weight, a=math.sqrt(5))
        if bias is not None:
            fan_in, _ = _calculate_fan_in_and_fan_out(weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            uniform_(bias, -bound, bound)
        return
    if callable(init):
        init(weight)
    elif isinstance(init, str):
        if init.startswith("normal:"):
            try:
                std = float(init.split(":", 1)[1])
            except ValueError as e:
                raise KisonetValueError(
                    tr("init {0!r}: the part after 'normal:' must be a number (the std)", init)
                ) from e
            normal_(weight, 0.0, std)
        elif init in INITS:
            INITS[init](weight)
        else:
            raise unknown_name(tr("init"), init, init_forms())
    else:
        raise KisonetTypeError(tr("init must be None, a name or a callable, got {0}", type(init).__name__))
    if bias is not None:
        zeros_(bias)
