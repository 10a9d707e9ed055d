"""Compressed models on disk, and the size / accuracy / speed figures that compare them.

:func:`save_model` writes a ``kn.save`` file (never pickle) whose size reflects the
compression:

* int8 layers store their codes as int8 plus per-channel float32 scales and
  int32 zero points; codes of fewer than 8 bits are bit-packed (4-bit weights
  take half a byte each);
* float16 layers store half-precision arrays;
* pruned weights (``sparse=True``) store a 1-bit-per-entry mask (``np.packbits``)
  plus the non-zero values, so a 90%-sparse float32 weight takes about
  0.1 * 4 + 1/8 = 0.53 bytes per entry instead of 4.

:func:`load_model` rebuilds the model from the file alone (the architecture comes
from the same ``model_config`` a ``kisonet train`` run folder stores).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import CheckpointError
from ..lang import tr
from ..nn.module import Module
from .prune import prunable_layers
from .quantize import _QuantizedBase, quantize_model, quantized_layers

__all__ = [
    "COMPRESSED_KIND",
    "count_nonzero",
    "count_params",
    "evaluate_variant",
    "format_table",
    "load_model",
    "plot_tradeoff",
    "save_model",
    "time_inference",
]

COMPRESSED_KIND = "kisonet-compressed-model"


# ----------------------------------------------------------------------------
# encoding arrays at their real size


def _pack_bits(q: np.ndarray, bits: int) -> dict[str, Any]:
    """b-bit signed codes -> a uint8 stream of ceil(n*b/8) bytes (vectorised, no loop over entries)."""
    offset = 1 << (bits - 1)
    u = (q.astype(np.int16).reshape(-1) + offset).astype(np.uint8)  # 0 .. 2^b - 1
    planes = (u[:, None] >> np.arange(bits, dtype=np.uint8)) & 1  # (n, b) little-endian bits
    return {"packed_codes": np.packbits(planes.reshape(-1)), "bits": int(bits), "shape": list(q.shape)}


def _unpack_bits(d: Mapping[str, Any]) -> np.ndarray:
    bits, shape = int(d["bits"]), tuple(int(s) for s in d["shape"])
    n = int(np.prod(shape))
    planes = np.unpackbits(d["packed_codes"])[: n * bits].reshape(n, bits)
    u = planes.astype(np.int16) @ (1 << np.arange(bits, dtype=np.int16))
    return (u - (1 << (bits - 1))).astype(np.int8).reshape(shape)


def _encode_sparse(w: np.ndarray) -> dict[str, Any]:
    nz = w != 0
    return {"sparse_mask": np.packbits(nz.reshape(-1)), "values": w[nz], "shape": list(w.shape)}


def _decode_sparse(d: Mapping[str, Any]) -> np.ndarray:
    shape = tuple(int(s) for s in d["shape"])
    n = int(np.prod(shape))
    nz = np.unpackbits(d["sparse_mask"])[:n].astype(bool)
    out = np.zeros(n, dtype=d["values"].dtype)
    out[nz] = d["values"]
    return out.reshape(shape)


def _encode_state(model: Module, sparse: bool) -> dict[str, Any]:
    state: dict[str, Any] = dict(model.state_dict())
    for name, m in quantized_layers(model):
        key = f"{name}.weight_q" if name else "weight_q"
        if m.mode == "int8" and m.bits < 8:
            state[key] = _pack_bits(m.weight_q, m.bits)
    if sparse:
        for name, _m in prunable_layers(model):
            key = f"{name}.weight" if name else "weight"
            w = state.get(key)
            # the mask costs 1 bit per entry: worth it from 1/32 zeros on, clearly at 50%
            if isinstance(w, np.ndarray) and w.size and np.count_nonzero(w) <= w.size // 2:
                state[key] = _encode_sparse(w)
    return state


def _decode_state(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, v in state.items():
        if isinstance(v, Mapping) and "packed_codes" in v:
            out[k] = _unpack_bits(v)
        elif isinstance(v, Mapping) and "sparse_mask" in v:
            out[k] = _decode_sparse(v)
        else:
            out[k] = v
    return out


def compression_info(model: Module) -> dict[str, Any]:
    """How ``model``'s layers are stored: what :func:`load_model` needs to rebuild the skeleton."""
    q = quantized_layers(model)
    if not q:
        return {"dtype": "float32"}
    m = q[0][1]
    info: dict[str, Any] = {"dtype": m.mode}
    if m.mode == "int8":
        info.update(
            bits=m.bits,
            scheme=m.scheme,
            rounding=getattr(m, "rounding", "nearest"),
            per_channel=m.per_channel,
            activations=[n for n, l in q if l.activations_quantized],
            activation_scheme=m.input_scheme,
        )
    return info


def save_model(
    model: Module,
    path: str | os.PathLike,
    model_config: Mapping[str, Any],
    standardizer: Mapping[str, Any] | None = None,
    sparse: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    input_range: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` (float, pruned or quantised) with what rebuilds it; returns the path.

    ``model_config``: :func:`kisonet.models.build_model`'s arguments (a run folder's
    ``model_config``); ``standardizer``: the input standardisation's state (or None).
    ``sparse`` (default: when the model has weights at least half zero) stores pruned
    weights as bitmap + values.  ``input_range``: :func:`kisonet.runs.input_range` of the
    raw training inputs, which ``predict``/``evaluate`` check inputs against.
    """
    from ..runs import jsonable
    from ..serialization import save

    if sparse is None:
        sparse = any(np.count_nonzero(m.weight._data) <= m.weight.size // 2 for _, m in prunable_layers(model))
    obj = {
        "model": _encode_state(model, bool(sparse)),
        "model_config": jsonable(dict(model_config)),
        "compression": compression_info(model),
        "standardizer": None if standardizer is None else dict(standardizer),
        "extra": jsonable(dict(extra or {})),
    }
    if input_range is not None:
        obj["input_range"] = dict(input_range)
    path = Path(path)
    save(obj, path, kind=COMPRESSED_KIND)
    return path


def load_model(path: str | os.PathLike, model: str | None = None) -> tuple[Module, dict[str, Any]]:
    """Rebuild a model written by :func:`save_model`: ``(model in eval mode, the file's dict
    without the weights: model_config, compression, standardizer, extra)``.  ``model``: the
    ``module:function`` spec when the model came from your own builder (a file never makes
    kisonet import code)."""
    from ..serialization import load

    return rebuild_model(load(path, kind=COMPRESSED_KIND), path, model)


def rebuild_model(obj: Any, path: str | os.PathLike, model: str | None = None) -> tuple[Module, dict[str, Any]]:
    """:func:`load_model` for the already-loaded content ``obj`` of the file ``path``."""
    from ..errors import KisonetError
    from ..runs import model_from_config

    try:
        obj = dict(obj)
        net = model_from_config(dict(obj["model_config"]), model)
        info = dict(obj["compression"])
        if info["dtype"] in ("int8", "float16"):
            net = quantize_model(
                net, info["dtype"], info.get("scheme", "symmetric"), info.get("per_channel", True), info.get("bits", 8)
            )
            for name, m in quantized_layers(net):
                if name in set(info.get("activations", ())):
                    m.set_input_qparams(0.0, 1.0, info.get("activation_scheme", "affine"))  # placeholders, loaded next
        elif info["dtype"] != "float32":
            raise CheckpointError(tr("cannot load {0!r}: unknown compression {1!r}", os.fspath(path), info["dtype"]))
        net.load_state_dict(_decode_state(obj["model"]))
    except CheckpointError as e:
        msg, lead = str(e), tr("cannot load {0!r}", os.fspath(path))
        raise CheckpointError(msg if msg.startswith(("cannot load", lead)) else f"{lead}: {msg}") from None
    except (KeyError, TypeError, ValueError, AttributeError, KisonetError) as e:
        what = f"no {e.args[0]!r} entry" if isinstance(e, KeyError) else str(e)
        raise CheckpointError(tr("cannot load {0!r}: {1}", os.fspath(path), what)) from None
    obj.pop("model")
    return net.eval(), obj


# ----------------------------------------------------------------------------
# figures


def _weights(model: Module) -> list[np.ndarray]:
    """The weight and bias arrays a model computes with (codes for quantised layers)."""
    out = []
    for m in model.modules():
        if isinstance(m, _QuantizedBase):
            out.append(m.weight_q if m.mode == "float16" else m._centred_weight())
            if m.bias is not None:
                out.append(m.bias)
        else:
            out.extend(p._data for p in m.parameters(recurse=False))
    return out


def count_params(model: Module) -> int:
    """Number of weights and biases (quantised layers included: one per code)."""
    return int(sum(a.size for a in _weights(model)))


def count_nonzero(model: Module) -> int:
    """Number of non-zero weights and biases (a code equal to its zero point counts as zero)."""
    return int(sum(np.count_nonzero(a) for a in _weights(model)))


def time_inference(model: Module, X: np.ndarray, batch_size: int = 256, repeats: int = 7) -> float:
    """Seconds per batch of ``batch_size`` (eval mode, no graph): the best of ``repeats`` passes
    over the first ``min(len(X), 4 * batch_size)`` samples, after a warm-up.  The minimum,
    not the mean: on a shared machine other processes only ever add time."""
    X = np.asarray(X, dtype=np.float32)[: 4 * batch_size]
    batches = [Tensor._make(X[i : i + batch_size], False, None) for i in range(0, len(X), batch_size)]
    model.eval()
    times = []
    with no_grad():
        model(batches[0])
        for _ in range(repeats):
            t0 = time.perf_counter()
            for xb in batches:
                model(xb)
            times.append((time.perf_counter() - t0) / len(batches))
    return float(min(times))


def accuracy(model: Module, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Test accuracy (eval mode, no graph)."""
    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(X), batch_size):
            z = model(Tensor._make(np.asarray(X[i : i + batch_size], dtype=np.float32), False, None))
            correct += int((z._data.argmax(axis=1) == y[i : i + batch_size]).sum())
    return correct / len(X)


def evaluate_variant(
    name: str,
    model: Module,
    path: str | os.PathLike,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int = 256,
    **extra: Any,
) -> dict[str, Any]:
    """One row of the report: variant, params, bytes (the file), nonzero, accuracy, ms_per_batch, plus ``extra``."""
    return {
        "variant": name,
        "params": count_params(model),
        "bytes": os.path.getsize(path),
        "nonzero": count_nonzero(model),
        "accuracy": accuracy(model, X, y),
        "ms_per_batch": 1000 * time_inference(model, X, batch_size),
        **extra,
    }


def format_table(rows: Sequence[Mapping[str, Any]], reference: str | None = None) -> str:
    """A Markdown table of report rows; with ``reference`` (a variant name) the size ratio
    and accuracy change against it are added."""
    ref = next((r for r in rows if r["variant"] == reference), None) if reference else None
    head = ["variant", "params", "bytes on disk", "non-zero", "test acc", "ms/batch"]
    if ref:
        head[3:3] = ["size vs ref"]
        head.insert(6, "acc change")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        cells = [str(r["variant"]), f"{r['params']:,}", f"{r['bytes']:,}"]
        if ref:
            cells.append(f"{100 * r['bytes'] / ref['bytes']:.1f}%")
        cells += [f"{r['nonzero']:,}", f"{100 * r['accuracy']:.2f}%"]
        if ref:
            cells.append(f"{100 * (r['accuracy'] - ref['accuracy']):+.2f}")
        cells.append(f"{r['ms_per_batch']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_tradeoff(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    xlabel: str,
    title: str,
    path: str | os.PathLike | None = None,
    reference: float | None = None,
    groups: str | None = None,
) -> Any:
    """Accuracy against ``x`` (a row key such as ``bits``, ``sparsity`` or ``params``), one line per
    value of ``groups``; a dashed line marks the ``reference`` accuracy.  Returns the Figure."""
    from ..viz import new_figure, save_figure

    fig = new_figure((6.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    keyed: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get(x) is not None:
            keyed.setdefault(str(r.get(groups, "")) if groups else "", []).append(r)
    for label, rs in keyed.items():
        rs = sorted(rs, key=lambda r: r[x])
        ax.plot([r[x] for r in rs], [100 * r["accuracy"] for r in rs], marker="o", label=label or None)
    if reference is not None:
        ax.axhline(100 * reference, color="gray", linestyle="--", label="original (float32)")
    if x == "bits":  # 2 .. 32 bits: a log scale keeps the low-bit end readable
        ticks = sorted({int(r[x]) for r in rows if r.get(x) is not None})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
