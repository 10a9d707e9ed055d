"""``kisonet autoencoder``: train a (denoising) autoencoder and write a run folder.

    kisonet autoencoder                                      # denoising MLP AE on digits, vs a plain AE
    kisonet autoencoder --noise masking --noise-level 0.3 --code 16
    kisonet autoencoder --encoder conv:16,32 --dataset mnist-t10k --data-dir DIR
    kisonet autoencoder --noise none --tied                  # plain AE with tied weights

Options are ``kisonet train``'s (optimizer, lr, epochs, batch size, seed, ...) plus
the ones below; inputs are not standardised by default (``--standardize`` to do so;
the output layer is then linear instead of a sigmoid).  With ``--compare`` (default)
a plain autoencoder of the same architecture is trained too, and both are scored on
the same corrupted test inputs.  The run folder holds config.json, history.csv,
metrics.json (reconstruction MSE on clean and noisy test inputs), reconstructions.png
(inputs / noisy inputs / reconstructions), curves.png and model.npz.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..config import AUTOENCODER_NOISES, AutoencoderOptions, RunConfig, parse_encoder  # noqa: F401
from ..lang import tr
from . import options as O  # noqa: N812
from .options import Option, UsageError

NOISES = AUTOENCODER_NOISES
#: ``kisonet autoencoder``'s own options: the fields of :class:`kisonet.config.AutoencoderOptions`.
AE_OPTIONS: list[Option] = O.options_of(AutoencoderOptions)
# autoencoders reconstruct raw pixels: no standardisation unless asked
_TRAIN = [*O.options_of(RunConfig, skip=("detect_anomaly",), standardize=False), O.CONFIG]


def _build(config: dict[str, Any], input_shape: tuple[int, ...], denoising: bool, output: str) -> Any:
    from ..errors import KisonetValueError, ShapeError
    from ..nn import Autoencoder, DenoisingAutoencoder

    head, _, tail = config["encoder"].partition(":")
    sizes = [int(t) for t in tail.split(",") if t]
    noise = config["noise"].replace("-", "_")
    cls = DenoisingAutoencoder if denoising else Autoencoder
    kw = dict(noise=noise, level=config["noise-level"]) if denoising else {}
    act = config["activation"]
    try:
        if head == "mlp":
            if config["code"] < 1:
                raise UsageError(tr("--code: an mlp autoencoder needs a code size >= 1"))
            return cls.mlp(input_shape, sizes, config["code"], act, output, tied=config["tied"], **kw)
        if config["tied"]:
            raise UsageError(tr("--tied: only for --encoder mlp:..."))
        return cls.conv(input_shape, sizes, config["code"] or None, act, output, **kw)
    except ShapeError as e:
        raise UsageError(tr("--encoder {0}: {1} (dataset {2})", config["encoder"], e, config["dataset"])) from None
    except KisonetValueError as e:
        if isinstance(e, UsageError):
            raise
        raise UsageError(tr("--encoder/--noise-level: {0}", e)) from None


def autoencoder_from_config(config: dict[str, Any], echo: Callable[[str], None] | None = None) -> int:
    """Run ``kisonet autoencoder`` for a resolved config; returns the exit code."""
    echo = echo or O.say
    from ..viz import save_figure
    from .ensemble import check_unsupported, setup

    check_unsupported(config, "autoencoder")
    if config["model"] != "mlp:256,128":
        raise UsageError(
            tr("--model: the autoencoder's architecture is set with --encoder (mlp:H1,... or conv:C1,...)")
        )
    if config["noise"] != "none" and config["noise"] != "gaussian" and config["noise-level"] > 1:
        raise UsageError(tr("--noise-level: {0} noise needs a probability in [0, 1]", config["noise"]))
    if config["tied"] and not config["encoder"].startswith("mlp"):
        raise UsageError(tr("--tied: only for --encoder mlp:..."))
    if config["encoder"].startswith("mlp") and config["code"] < 1:
        raise UsageError(tr("--code: an mlp autoencoder needs a code size >= 1"))
    t_start = time.perf_counter()
    import numpy as np

    import kisonet as kn

    from .. import runs
    from ..errors import NumericalError
    from ..nn.autoencoder import reconstruction_error
    from ..serialization import save
    from ..train import AFTER_HISTORY, LambdaCallback, ProgressBar, Trainer
    from ..viz import reconstruction_figure

    config, data, run_dir, _, kw = setup(config, "autoencoder")
    Xtr = data.train[0]
    Xval = None if data.val is None else data.val[0]
    Xte = data.test[0]
    unit = float(Xtr.min()) >= 0.0 and float(Xtr.max()) <= 1.0
    output = "sigmoid" if unit else "linear"
    denoising = config["noise"] != "none"
    noise = config["noise"].replace("-", "_")
    level = config["noise-level"]
    kinds = ["denoising", "plain"] if denoising and config["compare"] else ["denoising" if denoising else "plain"]
    echo(
        tr(
            "kisonet autoencoder: {0} code {1} on {2} ({3} train, {4} test), noise {5}, {6} epochs -> {7}",
            config["encoder"], config["code"], config["dataset"], len(Xtr), len(Xte),
            config["noise"] + (f" {level:g}" if denoising else ""), config["epochs"], run_dir,
        )
    )  # fmt: skip
    models: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    history: dict[str, list[float]] = {}
    for kind in kinds:
        kn.manual_seed(int(config["seed"]))
        model = _build(config, tuple(data.input_shape), kind == "denoising", output)
        prefix = "" if kind == kinds[0] else f"{kind}_"

        def write(t: Any, e: int, logs: Any, prefix: str = prefix) -> None:
            runs.write_history(run_dir, {**history, **{prefix + k: v for k, v in t.history.items()}})

        cbs = [LambdaCallback(order=AFTER_HISTORY, on_epoch_end=write)]
        if config["progress"]:  # every epoch line says which of the two models it is about
            cbs.append(ProgressBar(label=f"{kind} AE"))
        trainer = Trainer(
            model, "mse", kw["optimizer"](model.parameters()), metrics=None, callbacks=cbs,
            progress=False, seed=int(config["seed"]),
            **kw.get("trainer_kwargs", {}),
        )  # fmt: skip
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit((Xtr, Xtr), val=None if Xval is None else (Xval, Xval), epochs=kw["epochs"],
                            batch_size=kw["batch_size"])  # fmt: skip
        except NumericalError as e:
            echo(tr("{0}: error: {1}", "kisonet autoencoder", tr("training stopped by the NaN/Inf guard: {0}", e)))
            return 1
        for k, v in trainer.history.items():
            history[prefix + k] = v
        models[kind] = model
        metrics[f"{kind}_test_mse_clean"] = reconstruction_error(model, Xte)
        if denoising:
            metrics[f"{kind}_test_mse_noisy"] = reconstruction_error(model, Xte, noise, level, seed=int(config["seed"]))
        metrics[f"{kind}_train_seconds"] = float(sum(trainer.history.get("epoch_seconds", [])))
    runs.write_history(run_dir, history)
    runs.write_metrics(run_dir, metrics)
    main = models[kinds[0]]
    save(
        {"model": main.state_dict(), "config": runs.jsonable({k: config[k] for k in ("encoder", "code", "noise",
         "noise-level", "tied", "activation")}), "input_shape": list(data.input_shape), "output": output,
         "standardizer": None if data.standardizer is None else data.standardizer.state_dict(),
         "input_range": data.input_range},
        run_dir / runs.MODEL, kind="kisonet-autoencoder",
    )  # fmt: skip
    try:
        labels = {f"{k} AE": models[k] for k in kinds}
        fig = reconstruction_figure(labels, Xte[:10], noise if denoising else None, level, seed=int(config["seed"]))
        save_figure(fig, run_dir / "reconstructions.png", close=True)
        runs.save_curves(run_dir, history, ("loss",), title=f"autoencoder on {config['dataset']}")
    except ImportError as e:
        echo(tr("{0}: warning: {1}", "kisonet autoencoder", tr("no figures ({0})", e)))
    for kind in kinds:
        line = f"{kind:>9} AE  test MSE clean {metrics[f'{kind}_test_mse_clean']:.5f}"
        if denoising:
            line += f"  noisy ({config['noise']} {level:g}) {metrics[f'{kind}_test_mse_noisy']:.5f}"
        echo(line)
    echo(f"time {time.perf_counter() - t_start:.1f} s")
    echo(tr("run folder: {0}", run_dir))
    return 0


add_arguments, run = O.built_on_train(AE_OPTIONS, lambda config: autoencoder_from_config(config), _TRAIN)
