"""Cross-validation and the notes' three-step model selection.

k-fold cross-validation (k-分割交差検証): split the training data into k folds;
for i = 1..k train on the other k-1 folds and evaluate on fold i; report each
fold's score and their mean and spread.

Model selection (the notes' three steps):

1. choose the hyper-parameters (the candidate) with the best mean k-fold
   score on the training + validation data;
2. retrain the winner on all of the training + validation data;
3. evaluate it once on the untouched test set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import KisonetTypeError, KisonetValueError, ShapeError, unknown_name
from ..lang import tr
from ..random import manual_seed
from ..validation import check_choice
from .adapters import as_array
from .objective import DEFAULT_METRICS
from .trainer import Trainer

__all__ = ["cross_validate", "select_model"]


def _xy(data: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise KisonetTypeError(tr("{0}: data must be an (X, y) pair of arrays, got {1}", who, type(data).__name__))
    X, y = as_array(data[0]), as_array(data[1], target=True)
    if isinstance(X, dict) or isinstance(y, dict):
        raise KisonetTypeError(tr("{0}: dict inputs/targets are not supported; give arrays", who))
    if X.shape[0] != y.shape[0]:
        raise ShapeError(tr("{0}: X has {1} samples but y has {2}", who, X.shape[0], y.shape[0]))
    return X, y


def _train_one(
    make_model: Callable[[], Any],
    make_optimizer: Callable[[Any], Any],
    seed: int,
    loss: Any,
    metrics: Any,
    make_scheduler: Callable[[Any], Any] | None,
    make_callbacks: Callable[[], Iterable[Any]] | None,
    trainer_kwargs: dict[str, Any],
) -> Trainer:
    manual_seed(seed)  # same initialisation for the same seed
    model = make_model()
    opt = make_optimizer(model.parameters())
    sched = make_scheduler(opt) if make_scheduler is not None else None
    cbs = list(make_callbacks()) if make_callbacks is not None else []
    return Trainer(
        model, loss, opt, metrics=metrics, callbacks=cbs, scheduler=sched, seed=seed, progress=False, **trainer_kwargs
    )


def cross_validate(
    make_model: Callable[[], Any],
    make_optimizer: Callable[[Any], Any],
    data: tuple[Any, Any],
    folds: int = 5,
    loss: Any = "cross_entropy",
    epochs: int = 10,
    batch_size: int = 32,
    metrics: Any = DEFAULT_METRICS,
    stratified: bool = True,
    seed: int = 0,
    make_scheduler: Callable[[Any], Any] | None = None,
    make_callbacks: Callable[[], Iterable[Any]] | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    **trainer_kwargs: Any,
) -> dict[str, Any]:
    """k-fold cross-validation: one fresh model per fold, scored on the held-out fold.

    Args:
        make_model: ``() -> Module``, called once per fold (after ``kn.manual_seed(seed + fold)``).
        make_optimizer: ``(parameters) -> Optimizer``, e.g. ``lambda p: kn.optim.SGD(p, lr=0.1)``.
        data: ``(X, y)`` arrays (the training + validation part; keep the test set out).
        folds: k.
        stratified: keep class proportions in each fold (classification targets only).
        make_scheduler / make_callbacks: per-fold factories (``(optimizer) -> scheduler``,
            ``() -> [callbacks]``); extra keyword arguments go to :class:`Trainer`.

    Returns:
        ``{'folds': [{'loss': .., 'accuracy': ..}, ...], 'scores': {metric: [per fold]},
        'mean': {metric: mean}, 'std': {metric: std (ddof=0)}, 'histories': [per fold]}``.
    """
    X, y = _xy(data, "cross_validate")
    from ..data import KFold, StratifiedKFold

    classification = y.dtype.kind in "iub" and y.ndim == 1
    splitter = (StratifiedKFold if stratified and classification else KFold)(n_splits=folds, shuffle=True, seed=seed)
    fold_scores: list[dict[str, float]] = []
    histories: list[dict[str, list[float]]] = []
    for k, (train_i, val_i) in enumerate(splitter.split(X, y)):
        trainer = _train_one(
            make_model, make_optimizer, seed + k, loss, metrics, make_scheduler, make_callbacks, trainer_kwargs
        )
        hist = trainer.fit(
            (X[train_i], y[train_i]),
            val=(X[val_i], y[val_i]),
            epochs=epochs,
            batch_size=batch_size,
            transform=transform,
        )
        histories.append({key: list(v) for key, v in hist.items()})
        # Score the model as training left it (EarlyStopping may have restored its best weights).
        fold_scores.append(trainer.evaluate((X[val_i], y[val_i])))
    keys = list(fold_scores[0])
    scores = {key: [f[key] for f in fold_scores] for key in keys}
    return {
        "folds": fold_scores,
        "scores": scores,
        "mean": {key: float(np.mean(v)) for key, v in scores.items()},
        "std": {key: float(np.std(v)) for key, v in scores.items()},
        "histories": histories,
    }


_MAXIMISE = ("accuracy", "acc", "f1", "precision", "recall", "r2", "micro_f1", "weighted_f1")


def select_model(
    candidates: dict[str, Any],
    data: tuple[Any, Any],
    folds: int = 5,
    score: str = "loss",
    mode: str = "auto",
    **common: Any,
) -> dict[str, Any]:
    """The notes' three steps: pick by k-fold CV, retrain the winner, test once.

    Args:
        candidates: ``{name: (make_model, make_optimizer)}`` or ``{name: config}``
            where a config is a dict with ``make_model``, ``make_optimizer`` and any
            :func:`cross_validate` option to override for that candidate
            (``epochs``, ``batch_size``, ``make_scheduler``, ``regularizer``, ...).
        data: ``((X_trainval, y_trainval), (X_test, y_test))``.
        folds: k of the cross-validation.
        score: the CV figure that decides: ``'loss'`` or a metric name (``'accuracy'``).
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracy-like scores).
        **common: options shared by all candidates (``loss``, ``epochs``, ``metrics``, ...).

    Returns:
        ``{'winner': name, 'cv': {name: cross_validate result}, 'cv_scores': the
        winner's CV result, 'test': the winner's test figures (``{'loss':..., ...}``),
        'model': the retrained model, 'trainer': its Trainer, 'history': its history}``.
    """
    if not isinstance(candidates, dict) or not candidates:
        raise KisonetValueError(
            tr("select_model: candidates must be a non-empty dict {{name: (make_model, make_optimizer)}}")
        )
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise KisonetTypeError(tr("select_model: data must be ((X_trainval, y_trainval), (X_test, y_test))"))
    trainval, test = data
    check_choice("select_model", "mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        mode = "max" if score.lower() in _MAXIMISE or score.lower().startswith("top") else "min"

    configs: dict[str, dict[str, Any]] = {}
    for name, cand in candidates.items():
        if isinstance(cand, dict):
            cfg = dict(cand)
        elif isinstance(cand, (tuple, list)) and len(cand) == 2:
            cfg = {"make_model": cand[0], "make_optimizer": cand[1]}
        else:
            raise KisonetTypeError(
                tr("select_model: candidate {0!r} must be (make_model, make_optimizer) or a config dict", name)
            )
        for req in ("make_model", "make_optimizer"):
            if req not in cfg:
                raise KisonetValueError(tr("select_model: candidate {0!r} has no {1!r}", name, req))
        configs[name] = {**common, **cfg}

    # Step 1: k-fold cross-validation of every candidate on train + validation.
    cv: dict[str, dict[str, Any]] = {}
    for name, cfg in configs.items():
        cfg = dict(cfg)
        cv[name] = cross_validate(cfg.pop("make_model"), cfg.pop("make_optimizer"), trainval, folds=folds, **cfg)
        if score not in cv[name]["mean"]:
            raise unknown_name(tr("select_model score"), score, cv[name]["mean"])
    sign = 1.0 if mode == "min" else -1.0
    winner = min(cv, key=lambda n: sign * cv[n]["mean"][score])

    # Step 2: retrain the winner on all of train + validation.
    cfg = dict(configs[winner])
    make_model, make_optimizer = cfg.pop("make_model"), cfg.pop("make_optimizer")
    epochs = cfg.pop("epochs", 10)
    batch_size = cfg.pop("batch_size", 32)
    transform = cfg.pop("transform", None)
    seed = cfg.pop("seed", 0)
    cfg.pop("stratified", None)
    loss = cfg.pop("loss", "cross_entropy")
    metrics = cfg.pop("metrics", DEFAULT_METRICS)
    make_scheduler = cfg.pop("make_scheduler", None)
    # Callbacks (typically EarlyStopping on val_loss) only apply to the CV runs: the
    # retrain has no validation set and trains for the chosen number of epochs.
    cfg.pop("make_callbacks", None)
    X, y = _xy(trainval, "select_model")
    trainer = _train_one(make_model, make_optimizer, seed, loss, metrics, make_scheduler, None, cfg)
    history = trainer.fit((X, y), epochs=epochs, batch_size=batch_size, transform=transform)

    # Step 3: one evaluation on the untouched test set.
    test_scores = trainer.evaluate(test)
    return {
        "winner": winner,
        "cv": cv,
        "cv_scores": cv[winner],
        "test": test_scores,
        "model": trainer.model,
        "trainer": trainer,
        "history": history,
    }
