"""``kisonet compress {quantize,prune,distill} RUN_DIR --out DIR``: compress a trained run.

    kisonet compress quantize runs/mlp --out runs/mlp-q            # float16, int8 (per tensor/channel,
                                                                  # symmetric/affine, int8 activations), 2-16 bits
    kisonet compress prune runs/mlp --out runs/mlp-p --sparsity 0.5,0.8,0.9,0.95
    kisonet compress distill runs/mlp --out runs/mlp-d --student mlp:24 --temperature 4 --seeds 3

Each writes into DIR:

    model.npz       the headline compressed model (kn.compress.load_model reads it)
    models/*.npz    every variant, stored at its real size (int8 codes, packed bits, sparse bitmaps)
    table.md        params, bytes on disk, non-zero weights, test accuracy, inference time per batch
    report.json     the same rows, plus the options used
    tradeoff.png    test accuracy against bits / sparsity / parameters

The data (and its standardisation) are those of the run (its config.json).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from ..config import COMPRESS_METHODS, CompressOptions
from ..lang import tr
from . import options as O  # noqa: N812
from .options import UsageError

METHODS = COMPRESS_METHODS
#: The options of ``kisonet compress``: the fields of :class:`kisonet.config.CompressOptions`.
COMMON = O.options_of(CompressOptions)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("method", metavar="METHOD", help="quantize, prune or distill")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `kisonet train`")
    O.add_options(parser, COMMON)


# --- the studies (importable: each returns (rows, headline variant, plot spec)) --------------


class _Study:
    def __init__(
        self, out: Path, model: Any, mcfg: dict[str, Any], std: Any, data: Any, cfg: dict[str, Any], echo: Any
    ) -> None:
        self.out, self.model, self.mcfg, self.std, self.data, self.cfg, self.echo = (
            out,
            model,
            mcfg,
            std,
            data,
            cfg,
            echo,
        )
        self.rows: list[dict[str, Any]] = []
        self.augment = "none"  # training-batch augmentation preset (set by run)
        (self.out / "models").mkdir(parents=True, exist_ok=True)

    # Every training and fine-tuning takes kisonet train's road (kisonet.runner): a RunConfig
    # (Adam at --lr, --train-batch-size, the augmentation, the seed) -> optimizer -> Trainer.

    def train_config(self, epochs: int, seed: int | None = None) -> Any:
        from ..config import RunConfig

        cfg = self.cfg
        seed = cfg["seed"] if seed is None else seed
        return RunConfig(optimizer="adam", lr=cfg["lr"], batch_size=cfg["train-batch-size"], epochs=epochs, seed=seed,
                         augment=self.augment, val_split=0.0).finalize()  # fmt: skip

    def progress(self, label: str) -> list[Any]:
        """A progress bar (a line per epoch off a terminal) naming the model being trained."""
        from ..train import ProgressBar

        return [ProgressBar(label=label)] if self.cfg["progress"] else []

    def fit(self, label: str, model: Any, epochs: int, seed: int | None = None) -> Any:
        """Train ``model`` on the run's training split (no validation split, as the run's model saw)."""
        import dataclasses

        from .. import runner

        train_only = dataclasses.replace(self.data, val=None)
        return runner.fit(
            self.train_config(epochs, seed), train_only, model, callbacks=self.progress(label), test_every_epoch=False
        )

    def optimizer(self, model: Any) -> Any:
        from .. import runner

        return runner.make_optimizer(self.train_config(1), model.parameters())

    def transform(self) -> Any:
        from .. import runner

        return runner.make_augmenter(self.train_config(1), self.data.standardizer)

    def add(self, name: str, model: Any, mcfg: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        from ..compress import evaluate_variant, save_model

        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = save_model(
            model,
            self.out / "models" / f"{slug}.npz",
            mcfg or self.mcfg,
            None if self.std is None else self.std.state_dict(),
            extra={"variant": name},
        )
        X, y = self.data.test
        row = evaluate_variant(name, model, path, X, y, self.cfg["batch-size"], file=f"models/{slug}.npz", **extra)
        self.rows.append(row)
        self.echo(
            f"  {name:<40} {row['bytes']:>10,} B  acc {100 * row['accuracy']:6.2f}%  "
            f"{row['ms_per_batch']:7.2f} ms/batch"
        )
        return row


def quantize_study(s: _Study) -> tuple[str, dict[str, Any]]:
    from .. import compress as C  # noqa: N812

    cfg = s.cfg
    s.add("float32 (original)", s.model, kind="float32", bits=32)
    s.add("float16", C.quantize_model(s.model, "float16"), kind="float16", bits=16)
    rounding = cfg.get("rounding", "nearest")
    label = "" if rounding == "nearest" else f" {rounding}"
    for b in sorted(set(cfg["bits"]) | {8}, reverse=True):
        for per_channel in (True, False):
            gran = "per-channel" if per_channel else "per-tensor"
            q = C.quantize_model(s.model, "int8", "symmetric", per_channel, bits=b, rounding=rounding)
            s.add(f"int{b} symmetric {gran}{label}", q, kind=f"symmetric {gran}", bits=b)
    s.add(
        "int8 affine per-channel", C.quantize_model(s.model, "int8", "affine", True), kind="affine per-channel", bits=8
    )
    if cfg["calibration-batches"]:
        q = C.quantize_model(
            s.model,
            "int8",
            "symmetric",
            True,
            calibration_data=s.data.train[0],
            num_calibration_batches=cfg["calibration-batches"],
        )
        s.add("int8 per-channel + int8 activations", q, kind="int8 activations", bits=8)
    if cfg["qat-epochs"]:
        b = min(cfg["bits"])
        qat = C.prepare_qat(s.model, bits=b)
        s.fit(f"int{b} QAT", qat, cfg["qat-epochs"])
        s.add(f"int{b} per-channel after QAT ({cfg['qat-epochs']} epochs)", C.convert(qat), kind="QAT", bits=b)
    return f"int8 symmetric per-channel{label}", dict(
        x="bits", xlabel="bits per weight", groups="kind", title="Quantisation: test accuracy vs bits"
    )


def prune_study(s: _Study) -> tuple[str, dict[str, Any]]:
    import copy

    from .. import compress as C  # noqa: N812

    cfg = s.cfg
    s.add("dense (original)", s.model, kind="dense", sparsity=0.0)
    # the fair reference: the dense model trained as many more epochs as the pruned ones are fine-tuned
    extra = cfg["steps"] * cfg["epochs-per-step"] + cfg["fine-tune-epochs"]
    dense = copy.deepcopy(s.model)
    s.fit(f"dense + {extra} epochs", dense, extra)
    s.add(f"dense + {extra} epochs (same training as pruned)", dense, kind="dense", sparsity=0.0)
    how = "structured L2, layer-wise" if cfg["structured"] else f"{cfg['scope']} unstructured"
    last = None
    for target in cfg["sparsity"]:
        one = C.magnitude_prune(
            copy.deepcopy(s.model), target, "layer" if cfg["structured"] else cfg["scope"], structured=cfg["structured"]
        )
        C.remove(one)
        s.add(f"{100 * target:g}% {how}, one-shot", one, kind="one-shot", sparsity=C.sparsity(one)["global"])
        m = copy.deepcopy(s.model)
        t0 = time.perf_counter()
        C.prune.iterative_prune(
            m,
            s.data.train,
            target,
            cfg["steps"],
            cfg["epochs-per-step"],
            cfg["fine-tune-epochs"],
            optimizer=s.optimizer(m),
            batch_size=cfg["train-batch-size"],
            scope="layer" if cfg["structured"] else cfg["scope"],
            structured=cfg["structured"],
            seed=cfg["seed"],
            transform=s.transform(),
            callbacks=s.progress(f"{100 * target:g}% iterative"),
        )
        last = s.add(
            f"{100 * target:g}% {how}, iterative + fine-tune",
            m,
            kind="iterative + fine-tune",
            sparsity=C.sparsity(m)["global"],
            per_layer=C.sparsity(m),
            train_seconds=time.perf_counter() - t0,
        )
    return last["variant"], dict(
        x="sparsity",
        xlabel="fraction of weights pruned",
        groups="kind",
        title=f"Pruning ({how}): test accuracy vs sparsity",
    )


def _auto_student(teacher_params: int, mcfg: dict[str, Any]) -> str:
    """The widest one-hidden-layer MLP with at most a tenth of the teacher's parameters."""
    import math

    d, k = math.prod(mcfg["input_shape"]), int(mcfg["n_classes"])
    h = max(1, (teacher_params // 10 - k) // (d + 1 + k))
    return f"mlp:{h}"


def distill_study(s: _Study) -> tuple[str, dict[str, Any]]:
    import numpy as np

    from .. import compress as C  # noqa: N812
    from ..models import build_model
    from ..random import manual_seed

    cfg = s.cfg
    teacher = s.model
    tp = C.report.count_params(teacher)
    spec = cfg["student"] if cfg["student"] != "auto" else _auto_student(tp, s.mcfg)
    scfg = {**s.mcfg, "spec": spec, "dropout": 0.0, "batch_norm": False}

    def fresh(seed: int):
        manual_seed(seed)
        return build_model(
            spec,
            tuple(scfg["input_shape"]),
            int(scfg["n_classes"]),
            activation=scfg["activation"],
            init=scfg.get("init"),
        )

    s.add("teacher", teacher, kind="teacher", params_x=tp)
    sp = C.report.count_params(fresh(0))
    s.echo(f"  student {spec}: {sp:,} parameters = {100 * sp / tp:.1f}% of the teacher's {tp:,}")
    accs: dict[str, list[float]] = {"labels only": [], f"distilled T={cfg['temperature']:g}": []}
    headline = None
    for i in range(cfg["seeds"]):
        seed = cfg["seed"] + i
        st = fresh(seed)
        s.fit(f"student seed {seed} labels only", st, cfg["epochs"], seed)
        r = s.add(f"student {spec}, labels only, seed {seed}", st, scfg, kind="labels only", params_x=sp, seed=seed)
        accs["labels only"].append(r["accuracy"])
        st = fresh(seed)
        C.distill.distill(
            teacher,
            st,
            s.data.train,
            T=cfg["temperature"],
            alpha=cfg["alpha"],
            epochs=cfg["epochs"],
            batch_size=cfg["train-batch-size"],
            optimizer=s.optimizer(st),
            transform=s.transform(),
            seed=seed,
            callbacks=s.progress(f"student seed {seed} distilled"),
        )
        name = f"student {spec}, distilled T={cfg['temperature']:g}, seed {seed}"
        r = s.add(name, st, scfg, kind=f"distilled T={cfg['temperature']:g}", params_x=sp, seed=seed)
        accs[f"distilled T={cfg['temperature']:g}"].append(r["accuracy"])
        headline = headline or name
    s.summary = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "runs": v} for k, v in accs.items()}
    for k, v in s.summary.items():
        s.echo(f"  {k}: mean test accuracy {100 * v['mean']:.2f}% (std {100 * v['std']:.2f}) over {cfg['seeds']} seeds")
    return headline, dict(
        x="seed",
        xlabel="seed",
        groups="kind",
        title=f"Distillation: student {spec} ({100 * sp / tp:.1f}% of the teacher's parameters)",
    )


STUDIES = {"quantize": quantize_study, "prune": prune_study, "distill": distill_study}


def run(args: argparse.Namespace) -> int:
    method = str(args.method).strip().lower()
    if method not in METHODS:
        raise UsageError(
            tr("unknown method {0!r}{1}; choose from: {2}", args.method, O.closest(method, METHODS), ", ".join(METHODS))
        )
    cfg, _ = O.resolve(args, COMMON)
    from ..runner import blas_threads

    with blas_threads(CompressOptions.from_dict(cfg)):  # --threads for the command's duration
        return _run(args, method, cfg)


def _run(args: argparse.Namespace, method: str, cfg: dict[str, Any]) -> int:
    from .. import runs
    from ..compress.report import format_table, plot_tradeoff
    from ..io import atomic_write
    from ..runner import prepare_data
    from ..viz import close_figure
    from .evaluate import load_run

    model, mcfg, std, run_cfg = load_run(args.run_dir)
    if not run_cfg:
        raise UsageError(tr("RUN_DIR: {0!r} has no config.json (needed to load the run's data)", args.run_dir))
    if mcfg.get("task", "classification") != "classification":
        raise UsageError(tr("RUN_DIR: compression reports need a classification run"))
    out = runs.RunFolder.open(
        cfg["out"] or Path(args.run_dir) / f"compress-{method}",
        f"kisonet compress {method}",
        overwrite=cfg["overwrite"],
    ).path
    echo = lambda m: print(m, flush=True)  # noqa: E731
    data = prepare_data(run_cfg)
    echo(
        tr(
            "kisonet compress {0}: {1} from {2} ({3} test samples) -> {4}",
            method,
            mcfg["spec"],
            args.run_dir,
            len(data.test[0]),
            out,
        )
    )
    study = _Study(out, model, mcfg, std, data, cfg, echo)
    study.augment = run_cfg.get("augment", "none") if cfg["augment"] == "run" else cfg["augment"]
    t0 = time.perf_counter()
    headline, plot = STUDIES[method](study)
    # the headline model, under the fixed name, with the training inputs' range that predict checks
    # (the variants' files leave it out: their sizes compare the models alone)
    from ..compress.report import COMPRESSED_KIND
    from ..serialization import load, save

    head = next(r for r in study.rows if r["variant"] == headline)
    obj = load(out / head["file"], kind=COMPRESSED_KIND)
    obj["input_range"] = data.input_range
    save(obj, out / "model.npz", kind=COMPRESSED_KIND)
    reference = study.rows[0]
    table = format_table(study.rows, reference=reference["variant"])
    with atomic_write(out / "table.md", "w") as f:
        f.write(
            f"# kisonet compress {method}: {mcfg['spec']} ({args.run_dir})\n\n{table}\n\n"
            f"bytes: the kn.save file; non-zero: weights and biases; ms/batch: best-of-7 time of a "
            f"{cfg['batch-size']}-sample batch; headline model: {headline} (model.npz)\n"
        )
    report = {
        "method": method,
        "run_dir": str(args.run_dir),
        "options": cfg,
        "headline": headline,
        "rows": study.rows,
        "summary": getattr(study, "summary", None),
        "seconds": time.perf_counter() - t0,
    }
    with atomic_write(out / "report.json", "w") as f:
        json.dump(runs.jsonable(report), f, indent=2)
    rows = (
        study.rows
        if method != "distill"
        else [{**r, "seed": r.get("seed")} for r in study.rows if r.get("seed") is not None]
    )
    fig = plot_tradeoff(
        rows,
        plot["x"],
        plot["xlabel"],
        plot["title"],
        out / "tradeoff.png",
        reference=reference["accuracy"],
        groups=plot["groups"],
    )
    close_figure(fig)
    echo("\n" + table)
    echo(f"wrote {out}/ (model.npz, models/, table.md, report.json, tradeoff.png)")
    return 0
