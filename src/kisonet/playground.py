"""The playground: small networks learning 2-D classification problems, step by step, on kisonet.

What ``kisonet dashboard``'s playground page runs (the page only draws; this module trains).
A :class:`Playground` holds one data set and one to four *lanes*: each lane is a network of the
same architecture, started from the same initial weights, trained with its own optimizer,
schedule and regularisation (the race mode compares lanes side by side).  Everything is
kisonet: :mod:`kisonet.nn` layers, :mod:`kisonet.optim` optimizers and schedules,
:mod:`kisonet.regularizers` penalties, the autograd engine.

>>> pg = Playground(parse_config({"data": {"dataset": "spirals"}}))
>>> pg.train(500)                      # 500 mini-batch steps on every lane
>>> frame = pg.frame()                 # boundary, hidden units, weights, curves

Every setting arrives as a plain dict (from a web page): :func:`parse_config` accepts only the
registered names and numbers inside documented bounds, and says which key is wrong and why.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import KisonetValueError, closest, unknown_name
from .lang import tr

__all__ = [
    "DATASETS",
    "LIMITS",
    "Playground",
    "make_points",
    "names",
    "optimizer_paths_request",
    "options",
    "parse_config",
]

DATASETS = ("moons", "circles", "spirals", "xor", "blobs")
GRID = 100  # the decision boundary's grid (GRID x GRID points over [-EXTENT, EXTENT]^2)
UNIT_GRID = 25  # each hidden unit's small map (every 4th grid point)
EXTENT = 1.0
CURVE_POINTS = 300  # the curves sent to the page are thinned to at most this many points
MAX_CURVE = 20000  # evaluations kept per lane (older ones are thinned 2:1)

# Bounds of every number a page may send: (low, high); a request outside them is refused.
LIMITS: dict[str, tuple[float, float]] = {
    "noise": (0.0, 1.0),
    "train_ratio": (0.1, 0.9),
    "n_points": (40, 2000),
    "seed": (0, 2**31 - 1),
    "layers": (0, 6),
    "units": (1, 16),
    "lr": (1e-5, 10.0),
    "momentum": (0.0, 0.999),
    "schedule_epochs": (1, 100000),
    "batch_size": (1, 2000),
    "l1": (0.0, 1.0),
    "l2": (0.0, 1.0),
    "dropout": (0.0, 0.9),
    "input_noise": (0.0, 1.0),
    "lanes": (1, 4),
}


def names() -> dict[str, tuple[str, ...]]:
    """The registered names the playground accepts, per family: kisonet's registries
    (:data:`kisonet.optim.OPTIMIZERS`, :data:`kisonet.optim.lr_scheduler.SCHEDULES`,
    :data:`kisonet.nn.activation.ACTIVATIONS`, :data:`kisonet.nn.init.INITS`), read here only."""
    from .nn.activation import ACTIVATIONS
    from .nn.init import INITS
    from .optim import lr_scheduler
    from .optim.registry import train_optimizers

    return {
        "dataset": DATASETS,
        "optimizer": train_optimizers(),  # every rule a mini-batch loop can drive (not GD, Newton)
        "schedule": tuple(lr_scheduler.SCHEDULES),
        "activation": tuple(ACTIVATIONS),
        "init": ("default", *INITS),
    }


# The playground's learning rates when a learner switches optimizer: larger than the CLI's
# defaults (tiny networks, 2-D inputs, a learner who wants to see it move); any other
# registered optimizer gets its registry default.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adagrad": 0.1, "rmsprop": 0.01, "adadelta": 1.0,
              "adam": 0.01, "adamw": 0.01, "adabelief": 0.01}  # fmt: skip

DEFAULT_DATA = {"dataset": "spirals", "noise": 0.1, "train_ratio": 0.7, "n_points": 500, "seed": 0}
DEFAULT_NETWORK = {"hidden": [8, 8], "init": "default", "seed": 0}
DEFAULT_LANE = {
    "optimizer": "adam",
    "lr": 0.01,
    "momentum": 0.0,
    "schedule": "constant",
    "schedule_epochs": 200,
    "batch_size": 10,
    "activation": "relu",
    "l1": 0.0,
    "l2": 0.0,
    "dropout": 0.0,
    "batch_norm": False,
    "input_noise": 0.0,
}


def options() -> dict[str, Any]:
    """What the page may choose from: names, bounds and defaults."""
    from .optim import OPTIMIZERS

    known = names()
    default_lr = {n: DEFAULT_LR.get(n, OPTIMIZERS.entry(n).meta.get("default_lr")) for n in known["optimizer"]}
    return {
        "names": {k: list(v) for k, v in known.items()},
        "limits": {k: list(v) for k, v in LIMITS.items()},
        "defaults": {"data": DEFAULT_DATA, "network": DEFAULT_NETWORK, "lane": DEFAULT_LANE},
        "default_lr": default_lr,
    }


# --- validation --------------------------------------------------------------------------


def _fail(where: str, msg: str) -> KisonetValueError:
    return KisonetValueError(f"{where}: {msg}")


def _number(where: str, value: Any, key: str, integer: bool = False) -> float:
    lo, hi = LIMITS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, tr("expected a number in [{0:g}, {1:g}], got {2!r}", lo, hi, value)[:200])
    if integer and (not float(value).is_integer()):
        raise _fail(where, tr("expected an integer in [{0:g}, {1:g}], got {2!r}", lo, hi, value))
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise _fail(where, tr("expected a number in [{0:g}, {1:g}], got {2!r}", lo, hi, value))
    return int(v) if integer else v


def _name(where: str, value: Any, family: str) -> str:
    choices = names()[family]
    s = str(value).strip().lower().replace("_", "-") if isinstance(value, str) else None
    if s is None or len(s) > 40 or s not in choices:
        raise _fail(where, str(unknown_name(family, str(value)[:40], choices)))
    return s


def _section(where: str, given: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    if given is None:
        return dict(defaults)
    if not isinstance(given, dict):
        raise _fail(where, tr("expected an object, got {0}", type(given).__name__))
    unknown = [k for k in given if k not in defaults]
    if unknown:
        k = str(unknown[0])[:40]
        raise _fail(where, tr("unknown setting {0!r}{1}; known: {2}", k, closest(k, defaults), ", ".join(defaults)))
    return {**defaults, **given}


def parse_config(config: Any) -> dict[str, Any]:
    """A playground setting checked and completed with the defaults; bad input: one-line error.

    ``{"data": {...}, "network": {...}, "lanes": [{...}, ...]}`` -- see :data:`DEFAULT_DATA`,
    :data:`DEFAULT_NETWORK`, :data:`DEFAULT_LANE` and :data:`LIMITS`."""
    if not isinstance(config, dict):
        raise _fail("setting", tr("expected an object with data, network and lanes"))
    extra = [k for k in config if k not in ("data", "network", "lanes")]
    if extra:
        k = str(extra[0])[:40]
        raise _fail("setting", tr("unknown section {0!r}{1}", k, closest(k, ("data", "network", "lanes"))))
    d = _section("data", config.get("data"), DEFAULT_DATA)
    data = {
        "dataset": _name("data.dataset", d["dataset"], "dataset"),
        "noise": _number("data.noise", d["noise"], "noise"),
        "train_ratio": _number("data.train_ratio", d["train_ratio"], "train_ratio"),
        "n_points": _number("data.n_points", d["n_points"], "n_points", integer=True),
        "seed": _number("data.seed", d["seed"], "seed", integer=True),
    }
    n = _section("network", config.get("network"), DEFAULT_NETWORK)
    hidden = n["hidden"]
    if not isinstance(hidden, list):
        raise _fail("network.hidden", tr("expected a list of layer widths, got {0!r}", hidden)[:200])
    lo, hi = LIMITS["layers"]
    if not lo <= len(hidden) <= hi:
        raise _fail("network.hidden", tr("expected {0:g} to {1:g} hidden layers, got {2}", lo, hi, len(hidden)))
    network = {
        "hidden": [_number(f"network.hidden[{i}]", h, "units", integer=True) for i, h in enumerate(hidden)],
        "init": _name("network.init", n["init"], "init"),
        "seed": _number("network.seed", n["seed"], "seed", integer=True),
    }
    lanes_in = config.get("lanes", [{}])
    if not isinstance(lanes_in, list):
        raise _fail("lanes", tr("expected a list of 1 to 4 lane settings"))
    _number("lanes (count)", len(lanes_in), "lanes", integer=True)
    n_train = max(1, int(round(data["n_points"] * data["train_ratio"])))
    lanes = []
    for i, given in enumerate(lanes_in):
        w = f"lanes[{i}]"
        g = _section(w, given, DEFAULT_LANE)
        lane = {
            "optimizer": _name(f"{w}.optimizer", g["optimizer"], "optimizer"),
            "lr": _number(f"{w}.lr", g["lr"], "lr"),
            "momentum": _number(f"{w}.momentum", g["momentum"], "momentum"),
            "schedule": _name(f"{w}.schedule", g["schedule"], "schedule"),
            "schedule_epochs": _number(f"{w}.schedule_epochs", g["schedule_epochs"], "schedule_epochs", integer=True),
            "batch_size": _number(f"{w}.batch_size", g["batch_size"], "batch_size", integer=True),
            "activation": _name(f"{w}.activation", g["activation"], "activation"),
            "l1": _number(f"{w}.l1", g["l1"], "l1"),
            "l2": _number(f"{w}.l2", g["l2"], "l2"),
            "dropout": _number(f"{w}.dropout", g["dropout"], "dropout"),
            "input_noise": _number(f"{w}.input_noise", g["input_noise"], "input_noise"),
        }
        if not isinstance(g["batch_norm"], bool):
            raise _fail(f"{w}.batch_norm", tr("expected true or false, got {0!r}", g["batch_norm"])[:200])
        lane["batch_norm"] = g["batch_norm"]
        lane["batch_size"] = min(lane["batch_size"], n_train)
        if lane["batch_norm"] and lane["batch_size"] < 2:
            raise _fail(f"{w}.batch_size", tr("batch norm needs batches of at least 2 points"))
        lanes.append(lane)
    return {"data": data, "network": network, "lanes": lanes}


# --- data ----------------------------------------------------------------------------------


def make_points(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled points (classes 0/1) of the 2-D problem ``name``, scaled into [-0.9, 0.9]^2.

    ``noise`` is in units of the problem's own size (0: clean; 0.5: classes overlap a lot)."""
    if name not in DATASETS:
        raise unknown_name(tr("dataset"), name, DATASETS)
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(y)
    if name == "moons":  # two interleaving half circles (radius 1)
        t = rng.uniform(0.0, np.pi, n)
        X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1.0 - np.cos(t), 0.5 - np.sin(t)])
        X = X - [0.5, 0.25]
        X = X + noise * 0.5 * rng.standard_normal((n, 2))
    elif name == "circles":  # an inner disc (class 0) inside a ring (class 1)
        t = rng.uniform(0.0, 2 * np.pi, n)
        r = np.where(y == 0, rng.uniform(0.0, 0.45, n), rng.uniform(0.65, 1.0, n))
        X = r[:, None] * np.c_[np.cos(t), np.sin(t)] + noise * 0.25 * rng.standard_normal((n, 2))
    elif name == "spirals":  # two arms, 1.75 turns each, as kisonet.data.make_spirals draws them
        from .data import make_spirals

        Xs, ys = make_spirals(2 * ((n + 1) // 2), 2, 0.0, turns=1.75, seed=seed)
        Xs = Xs + noise * 0.15 * rng.standard_normal(Xs.shape)
        order = rng.permutation(len(ys))[:n]
        X, y = Xs[order].astype(np.float64), ys[order].astype(np.int64)
    elif name == "xor":  # class = sign(x1) xor sign(x2), points kept off the axes
        X = rng.uniform(-1.0, 1.0, (n, 2))
        X = X + np.sign(X) * 0.05
        X = X + noise * 0.3 * rng.standard_normal((n, 2))
        y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    else:  # blobs: two Gaussian clusters
        centres = np.array([[-0.5, -0.5], [0.5, 0.5]])
        X = centres[y] + (0.15 + noise * 0.6) * rng.standard_normal((n, 2))
    X = np.asarray(X, dtype=np.float64)
    scale = float(np.abs(X).max()) / 0.9 if len(X) else 1.0
    return (X / max(scale, 1e-9)).astype(np.float32), y


# --- networks --------------------------------------------------------------------------------


def _activation(name: str) -> Any:
    from .nn.activation import ACTIVATIONS

    return ACTIVATIONS[name]()


def _make_optimizer(lane: dict[str, Any], params: list[Any]) -> Any:
    """The lane's optimizer from the registry; the momentum goes to rules that have one."""
    from .optim import OPTIMIZERS, make_optimizer

    # momentum 0 is the rule's own default (0.9 for momentum and nesterov, none for SGD)
    has_momentum = OPTIMIZERS.entry(lane["optimizer"]).meta.get("momentum_arg") is not None
    return make_optimizer(
        lane["optimizer"], params, lane["lr"], momentum=(lane["momentum"] or None) if has_momentum else None
    )


def _make_schedule(lane: dict[str, Any], opt: Any) -> Any:
    """The registered schedule, stepped once per epoch over a horizon of ``schedule_epochs``
    (its arguments scaled to it: a step every third, warm-up a tenth, restarts every quarter)."""
    from .optim.lr_scheduler import from_spec

    name, T = lane["schedule"], lane["schedule_epochs"]
    args = {
        "step": f":{max(1, T // 3)},0.3",
        "warmup-cosine": f":{max(1, T // 10)}",
        "restarts": f":{max(1, T // 4)},1",
        "plateau": f":{max(1, T // 20)},0.5",  # patience a twentieth of the horizon, halving
    }
    return from_spec(name + args.get(name, ""), opt, epochs=T)


def _build(hidden: list[int], lane: dict[str, Any]) -> tuple[Any, list[int]]:
    """An MLP 2 -> hidden... -> 2 and the indices of its activation layers (the hidden units)."""
    from . import nn

    layers: list[Any] = []
    taps: list[int] = []
    width = 2
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if lane["batch_norm"]:
            layers.append(nn.BatchNorm1d(h))
        layers.append(_activation(lane["activation"]))
        taps.append(len(layers) - 1)
        if lane["dropout"] > 0:
            layers.append(nn.Dropout(lane["dropout"]))
        width = h
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers), taps


def _init_weights(model: Any, init: str) -> None:
    from . import nn

    if init == "default":  # PyTorch's layer default
        return
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.init_layer_(m.weight, m.bias, init)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


@dataclass
class Lane:
    """One network in training: its setting, model, optimizer, schedule and learning curves."""

    setting: dict[str, Any]
    model: Any
    taps: list[int]
    optimizer: Any
    schedule: Any
    rng: np.random.Generator
    step: int = 0
    epoch: int = 0
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pos: int = 0
    curve: dict[str, list[float]] = field(
        default_factory=lambda: {"step": [], "train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    )
    diverged: bool = False


class Playground:
    """Data, lanes and their training; :meth:`train` steps, :meth:`frame` reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        from . import nn
        from .random import manual_seed

        self.config = config
        d = config["data"]
        X, y = make_points(d["dataset"], d["n_points"], d["noise"], d["seed"])
        n_train = max(1, int(round(len(y) * d["train_ratio"])))
        self.Xtr, self.ytr, self.Xte, self.yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
        g = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
        gx, gy = np.meshgrid(g, -g)  # row 0 is the top of the picture (largest y)
        self.grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
        self.loss_fn = nn.CrossEntropyLoss()
        hidden = config["network"]["hidden"]
        self.lanes: list[Lane] = []
        initial = None
        for i, s in enumerate(config["lanes"]):
            manual_seed(config["network"]["seed"])
            model, taps = _build(hidden, s)
            _init_weights(model, config["network"]["init"])
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            if initial is None:  # every lane starts from lane 0's weights
                initial = [(m.weight.data.copy(), m.bias.data.copy()) for m in linears]
            else:
                for m, (w, b) in zip(linears, initial, strict=True):
                    m.weight.data[...] = w
                    m.bias.data[...] = b
            params = list(model.parameters())
            opt = _make_optimizer(s, params)
            rng = np.random.default_rng([config["network"]["seed"], i])
            self.lanes.append(Lane(s, model, taps, opt, _make_schedule(s, opt), rng))
        self.steps_per_epoch = [max(1, n_train // ln.setting["batch_size"]) for ln in self.lanes]
        for ln in self.lanes:
            self._evaluate(ln)
        self.train_seconds = 0.0

    # --- training -------------------------------------------------------------------------

    def update(self, lane: int, **live: float) -> None:
        """Change lr, l1, l2 or input_noise of a lane while it trains (weights kept)."""
        ln = self.lanes[lane]
        for k, v in live.items():
            ln.setting[k] = _number(f"lanes[{lane}].{k}", v, k)
        if "lr" in live:
            for gr in ln.optimizer.param_groups:
                gr["lr"] = ln.setting["lr"]
            if ln.schedule is not None:
                ln.schedule.base_lrs = [ln.setting["lr"] for _ in ln.optimizer.param_groups]

    def train(self, steps: int) -> None:
        """``steps`` mini-batch steps on every lane."""
        t0 = time.perf_counter()
        for i, ln in enumerate(self.lanes):
            if not ln.diverged:
                self._train_lane(ln, self.steps_per_epoch[i], steps)
        self.train_seconds += time.perf_counter() - t0

    def _train_lane(self, ln: Lane, per_epoch: int, steps: int) -> None:
        from .autograd import Tensor
        from .optim.lr_scheduler import step_scheduler
        from .regularizers import L1, L2

        s, model, opt, loss_fn = ln.setting, ln.model, ln.optimizer, self.loss_fn
        bs, Xtr, ytr = s["batch_size"], self.Xtr, self.ytr
        noise = s["input_noise"]
        regs = [r for r in (L1(s["l1"]) if s["l1"] else None, L2(s["l2"]) if s["l2"] else None) if r]
        params = [p for p in model.parameters() if p.data.ndim > 1] if regs else []
        model.train()
        for _ in range(steps):
            if ln.pos + bs > len(ln.order):
                ln.order, ln.pos = ln.rng.permutation(len(ytr)), 0
            idx = ln.order[ln.pos : ln.pos + bs]
            ln.pos += bs
            xb = Xtr[idx]
            if noise:
                xb = xb + (noise * 0.3 * ln.rng.standard_normal(xb.shape)).astype(np.float32)
            opt.zero_grad()
            loss = loss_fn(model(Tensor(xb)), Tensor(ytr[idx]))
            for r in regs:
                loss = loss + r(params)
            loss.backward()
            opt.step()
            ln.step += 1
            if ln.step % per_epoch == 0:
                ln.epoch += 1
                self._evaluate(ln)
                if ln.diverged:
                    return
                if ln.schedule is not None:  # ReduceLROnPlateau watches the training loss (no validation split)
                    step_scheduler(ln.schedule, {"train_loss": ln.curve["train_loss"][-1]}, monitor="train_loss")

    def _logits(self, ln: Lane, X: np.ndarray, taps: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        from .autograd import Tensor, no_grad

        ln.model.eval()
        outs: list[np.ndarray] = []
        with no_grad():
            h = Tensor(X)
            for j, layer in enumerate(ln.model):
                h = layer(h)
                if taps and j in ln.taps:
                    outs.append(h.data)
        return h.data, outs

    def _loss_acc(self, ln: Lane, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        if len(y) == 0:
            return float("nan"), float("nan")
        z, _ = self._logits(ln, X)
        z = z.astype(np.float64)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean()), float((z.argmax(axis=1) == y).mean())

    def _evaluate(self, ln: Lane) -> None:
        trl, tra = self._loss_acc(ln, self.Xtr, self.ytr)
        tel, tea = self._loss_acc(ln, self.Xte, self.yte)
        c = ln.curve
        for k, v in (("step", ln.step), ("train_loss", trl), ("test_loss", tel), ("train_acc", tra), ("test_acc", tea)):
            c[k].append(v)
        if len(c["step"]) > MAX_CURVE:  # keep long runs bounded: thin the older half 2:1
            for k in c:
                c[k] = c[k][::2]
        if not math.isfinite(trl):
            ln.diverged = True

    def accuracy(self, lane: int = 0) -> tuple[float, float]:
        """(train, test) accuracy of a lane now."""
        ln = self.lanes[lane]
        return self._loss_acc(ln, self.Xtr, self.ytr)[1], self._loss_acc(ln, self.Xte, self.yte)[1]

    # --- reporting ------------------------------------------------------------------------

    def points(self) -> dict[str, Any]:
        """The data, for drawing: coordinates rounded to 1e-3 and labels."""
        return {
            "train": {"x": np.round(self.Xtr, 3).tolist(), "y": self.ytr.tolist()},
            "test": {"x": np.round(self.Xte, 3).tolist(), "y": self.yte.tolist()},
            "extent": EXTENT,
            "grid": GRID,
            "unit_grid": UNIT_GRID,
        }

    def boundary(self, lane: int = 0, units: bool = False) -> dict[str, Any]:
        """p(class 1) on the grid as bytes (0..255), and optionally each hidden unit's output."""
        ln = self.lanes[lane]
        z, outs = self._logits(ln, self.grid, taps=units)
        z = z.astype(np.float64)
        p1 = 1.0 / (1.0 + np.exp(np.clip(z[:, 0] - z[:, 1], -50, 50)))
        out: dict[str, Any] = {"p": _b64(np.round(p1 * 255.0))}
        if units:
            sub = np.arange(GRID).reshape(GRID, 1) % 4 == 0
            keep = (sub & sub.T).ravel()
            maps, scales = [], []
            for h in outs:
                hs = h[keep]
                for u in range(hs.shape[1]):
                    v = hs[:, u].astype(np.float64)
                    s = float(np.abs(v).max()) or 1.0
                    maps.append(_b64(np.round((v / s + 1.0) * 127.5)))
                    scales.append(s)
            out["units"] = maps
            out["unit_scales"] = scales
        return out

    def weights(self, lane: int = 0) -> list[dict[str, Any]]:
        """Each Linear layer's weight (out, in) and bias, rounded, for drawing the network."""
        from . import nn

        return [
            {"w": np.round(m.weight.data, 4).tolist(), "b": np.round(m.bias.data, 4).tolist()}
            for m in self.lanes[lane].model.modules()
            if isinstance(m, nn.Linear)
        ]

    def frame(self, detail: bool = True) -> dict[str, Any]:
        """The state of every lane: step, epoch, lr, latest numbers, curves, boundary, and
        when ``detail`` its hidden units and weights (each lane its own: in a race they differ)."""
        lanes = []
        for i, ln in enumerate(self.lanes):
            c = ln.curve
            n = len(c["step"])
            pick = np.unique(np.r_[np.linspace(0, n - 1, min(n, CURVE_POINTS)).astype(int), n - 1]) if n else []
            lane = {
                "step": ln.step,
                "epoch": ln.epoch,
                "lr": float(ln.optimizer.param_groups[0]["lr"]),
                "diverged": ln.diverged,
                "train_loss": c["train_loss"][-1],
                "test_loss": c["test_loss"][-1],
                "train_acc": c["train_acc"][-1],
                "test_acc": c["test_acc"][-1],
                "curve": {k: [_finite(v[j]) for j in pick] for k, v in c.items()},
                **self.boundary(i, units=detail),
            }
            if detail:
                lane["weights"] = self.weights(i)
            lanes.append(lane)
        return {"lanes": lanes, "train_seconds": self.train_seconds}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# --- optimizer paths ------------------------------------------------------------------------

PATH_STEPS = (1, 5000)
PATH_WORK = 30000  # steps x optimizers of one request (about 10 s of the server's time at most)
PATH_POINTS = 1500
CONTOUR_GRID = 120


def optimizer_paths_request(args: dict[str, Any]) -> dict[str, Any]:
    """Paths of the chosen optimizers on a 2-D test function, with the function on a grid.

    ``args``: ``function`` (a name of :data:`kisonet.experiments.optimizer_paths.FUNCTIONS`),
    ``optimizers`` (comma-separated names of its OPTIMIZERS), optional ``steps``, ``lr``
    (one rate for all; default each optimizer's tuned rate), ``x0``/``y0`` (the start)."""
    from .experiments.optimizer_paths import FUNCTIONS, OPTIMIZERS, run_path

    allowed = {"function", "optimizers", "steps", "lr", "x0", "y0"}
    for k in args:
        if k not in allowed:
            raise _fail("optimizer paths", tr("unknown parameter {0!r}{1}", str(k)[:40], closest(str(k), allowed)))
    fname = str(args.get("function", "elongated"))
    if fname not in FUNCTIONS:
        raise unknown_name(tr("function"), fname[:40], FUNCTIONS)
    tf = FUNCTIONS[fname]
    by_lower = {o.lower(): o for o in OPTIMIZERS}
    chosen = []
    for o in str(args.get("optimizers", "SGD,Momentum,AdaGrad,Adam")).split(",")[: len(OPTIMIZERS)]:
        if o.strip().lower() not in by_lower:
            raise unknown_name(tr("optimizer"), o.strip()[:40], OPTIMIZERS)
        chosen.append(by_lower[o.strip().lower()])

    def num(key: str, lo: float, hi: float, default: float, integer: bool = False) -> float:
        raw = args.get(key)
        if raw in (None, ""):
            return default
        try:
            v = float(raw)
        except (TypeError, ValueError):
            raise _fail(
                f"optimizer paths: {key}", tr("expected a number in [{0:g}, {1:g}], got {2!r}", lo, hi, str(raw)[:40])
            ) from None
        if not (math.isfinite(v) and lo <= v <= hi) or (integer and not v.is_integer()):
            raise _fail(
                f"optimizer paths: {key}", tr("expected a number in [{0:g}, {1:g}], got {2!r}", lo, hi, str(raw)[:40])
            )
        return int(v) if integer else v

    steps = num("steps", *PATH_STEPS, default=tf.steps, integer=True)
    if steps * len(chosen) > PATH_WORK:
        raise _fail(
            "optimizer paths",
            tr(
                "{0} optimizers x {1} steps is more than {2:,} steps; choose fewer steps or optimizers",
                len(chosen),
                steps,
                PATH_WORK,
            ),
        )
    lr = num("lr", 1e-5, 10.0, default=0.0)
    x0 = num("x0", *tf.xlim, default=tf.start[0])
    y0 = num("y0", *tf.ylim, default=tf.start[1])
    xs = np.linspace(*tf.xlim, CONTOUR_GRID)
    ys = np.linspace(*tf.ylim, CONTOUR_GRID)[::-1]
    gx, gy = np.meshgrid(xs, ys)
    fz = np.asarray(tf.f(gx, gy), dtype=np.float64)
    paths = {}
    for o in chosen:
        rate = lr or tf.lrs[o]
        path, losses = run_path(tf.f, (x0, y0), o, rate, steps)
        keep = np.unique(np.r_[np.linspace(0, len(path) - 1, min(len(path), PATH_POINTS)).astype(int), len(path) - 1])
        paths[o] = {
            "lr": rate,
            "x": np.round(path[keep, 0], 5).tolist(),
            "y": np.round(path[keep, 1], 5).tolist(),
            "final_loss": float(losses[-1]),
            "steps_run": len(path) - 1,
        }
    return {
        "function": fname,
        "title": tf.title,
        "xlim": list(tf.xlim),
        "ylim": list(tf.ylim),
        "start": [x0, y0],
        "minima": [list(m) for m in tf.minima],
        "log_levels": tf.log_levels,
        "grid": CONTOUR_GRID,
        "z": np.round(fz, 6).ravel().tolist(),
        "paths": paths,
        "functions": list(FUNCTIONS),
        "optimizers": list(OPTIMIZERS),
    }
