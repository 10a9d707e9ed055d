"""Ensembles of networks: bagging, AdaBoost (SAMME) and model averaging.

The notes' argument for ensembles: if M members make errors e_m with variance v and
pairwise covariance c, the average prediction's error has variance

    Var[(1/M) sum_m e_m] = v / M + (M - 1) c / M,

so the ensemble is never worse than its average member and gains most when the
members err *differently*.  The three classes differ in how they make members differ:

    Bagging          each member trains on a bootstrap sample (N draws with replacement)
    ModelAveraging   members differ by initial seed, mini-batch order or hyper-parameters
    AdaBoost         members are trained in sequence, each on sample weights that
                     emphasise what the previous ones got wrong (SAMME, Zhu et al. 2009)

    import kisonet as kn
    from kisonet.models import MLP
    bag = kn.ensemble.Bagging(lambda: MLP(64, (64,), 10), n_models=5, epochs=20).fit(X, y)
    bag.predict(X_test); bag.predict_proba(X_test)
    bag.member_scores(X_test, y_test)      # accuracy of each member alone
    bag.score(X_test, y_test)              # accuracy of the ensemble

``make_model`` is called once per member with no arguments (or with the member's
index if it takes one) after ``kn.manual_seed`` is set to the member's seed, so
members built by the same function start from different weights.  Members are
trained with :class:`kisonet.train.Trainer`.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import KisonetTypeError, KisonetValueError, ShapeError, unknown_name
from .lang import tr
from .random import make_generator, manual_seed
from .validation import check_callable, check_choice, check_float, check_int

__all__ = ["AdaBoost", "Bagging", "Ensemble", "ModelAveraging", "make_optimizer", "train_model"]

VOTING = ("soft", "hard")


# --------------------------------------------------------------------------------------
# training one member (shared with kisonet.semi)


def make_optimizer(spec: Any, params: Any, lr: float, weight_decay: float = 0.0) -> Any:
    """``'adam' | 'sgd' | 'momentum' | ...`` (a name of :data:`kisonet.optim.OPTIMIZERS`, any case)
    or a callable ``fn(params) -> optimizer``.  ``weight_decay=0`` keeps the class's default."""
    from .optim import make_optimizer as make

    return make(spec, params, lr, weight_decay=weight_decay or None)


def build_member(make_model: Callable[..., Any], index: int, seed: int, overrides: dict[str, Any] | None = None) -> Any:
    """Member ``index`` of an ensemble: ``make_model(index, **overrides)`` (or without the index when
    ``make_model`` takes no required positional parameter), built after seeding with ``seed``."""
    manual_seed(int(seed))
    kwargs = dict(overrides or {})
    try:
        params = inspect.signature(make_model).parameters.values()
        # the member's index goes to a required positional parameter, if there is one
        wants_index = any(
            p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in kwargs
            for p in params
        )
    except (TypeError, ValueError):
        wants_index = False
    model = make_model(index, **kwargs) if wants_index else make_model(**kwargs)
    if not (hasattr(model, "parameters") and callable(model)):
        raise KisonetTypeError(tr("make_model returned {0}, expected a kisonet.nn.Module", type(model).__name__))
    return model


def train_model(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: Any = "cross_entropy",
    optimizer: Any = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    epochs: int = 10,
    batch_size: int = 32,
    seed: int = 0,
    sample_weight: Any = None,
    val: Any = None,
    metrics: Any = None,
    task: str | None = None,
    **trainer_kwargs: Any,
) -> Any:
    """Train ``model`` on ``(X, y)`` with a fresh :class:`~kisonet.train.Trainer` and return
    the trainer (its ``history`` holds the curves).  ``seed`` fixes the mini-batch order."""
    from .train import Trainer

    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    if metrics is None:
        metrics = ("accuracy",) if task != "regression" else ("rmse",)
    trainer_kwargs.setdefault("progress", False)
    trainer = Trainer(model, loss, opt, metrics=metrics, seed=int(seed), task=task, **trainer_kwargs)
    trainer.fit((X, y), val=val, epochs=int(epochs), batch_size=int(batch_size), sample_weight=sample_weight)
    return trainer


class TrainsModels:
    """The training settings of every model an :class:`Ensemble` (or :class:`kisonet.semi.SelfTraining`)
    trains, validated once, and the call that trains one model with them."""

    def _set_training(
        self,
        owner: str,
        loss: Any,
        optimizer: Any,
        lr: float,
        weight_decay: float,
        epochs: int,
        batch_size: int,
        seed: int,
        trainer_kwargs: dict[str, Any] | None,
    ) -> None:
        self.loss = loss
        self.optimizer = optimizer
        self.lr = check_float(owner, "lr", lr, 0.0)
        self.weight_decay = check_float(owner, "weight_decay", weight_decay, 0.0, low_open=False)
        self.epochs = check_int(owner, "epochs", epochs)
        self.batch_size = check_int(owner, "batch_size", batch_size)
        self.seed = check_int(owner, "seed", seed, low=0)
        self.trainer_kwargs = dict(trainer_kwargs or {})

    def _fit_model(self, model: Any, X: Any, y: Any, task: str, order_seed: int, **over: Any) -> Any:
        """:func:`train_model` with the stored settings, ``trainer_kwargs``, then ``over`` on top."""
        opts: dict[str, Any] = dict(
            loss=self.loss, optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
            epochs=self.epochs, batch_size=self.batch_size, task=task,
        )  # fmt: skip
        opts.update(self.trainer_kwargs)
        opts.update(over)
        return train_model(model, X, y, seed=order_seed, **opts)


def as_inputs(X: Any) -> np.ndarray:
    """Inputs as an array (a Tensor's data; float16 and other floats as float32)."""
    X = np.asarray(getattr(X, "data", X))
    if X.dtype.kind == "f" and X.dtype != np.float32 and X.dtype != np.float64:
        X = X.astype(np.float32)
    return X


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``z`` (M, C); one logit column is read as P(class 1) = sigmoid(z)."""
    if z.ndim == 2 and z.shape[1] == 1:  # one logit: P(class 1) = sigmoid(z)
        p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1.0 - p1, p1], axis=1).astype(z.dtype, copy=False)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------


class Ensemble(TrainsModels):
    """Base class: members (models), their trainers, and the combination rule.

    Subclasses set ``self.models_``, ``self.trainers_``, ``self.weights_`` (one weight per
    member, for the weighted average or vote) in :meth:`fit`.
    """

    task: str

    def __init__(
        self,
        make_model: Callable[..., Any],
        n_models: int,
        *,
        loss: Any = None,
        optimizer: Any = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 10,
        batch_size: int = 32,
        task: str = "classification",
        voting: str = "soft",
        seed: int = 0,
        trainer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        owner = type(self).__name__
        check_callable(owner, "make_model", make_model)
        check_choice(owner, "task", task, ("classification", "regression"))
        check_choice(owner, "voting", voting, VOTING)
        self.make_model = make_model
        self.n_models = check_int(owner, "n_models", n_models)
        if loss is None:
            loss = "cross_entropy" if task == "classification" else "mse"
        self._set_training(owner, loss, optimizer, lr, weight_decay, epochs, batch_size, seed, trainer_kwargs)
        self.task = task
        self.voting = voting
        self.models_: list[Any] = []
        self.trainers_: list[Any] = []
        self.weights_: np.ndarray = np.zeros(0)
        self.n_classes_: int | None = None
        self.fit_seconds_: float = 0.0

    # --- training helpers -------------------------------------------------------------
    def _train(self, index: int, X: Any, y: Any, *, init_seed: int, order_seed: int, **over: Any) -> Any:
        model_kwargs = over.pop("model_kwargs", None)
        model = build_member(self.make_model, index, init_seed, model_kwargs)
        return model, self._fit_model(model, X, y, self.task, order_seed, **over)

    def _check_xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X = as_inputs(X)
        y = np.asarray(getattr(y, "data", y))
        if len(X) != len(y):
            raise ShapeError(tr("{0}.fit: X has {1} samples but y has {2}", type(self).__name__, len(X), len(y)))
        if len(X) == 0:
            raise KisonetValueError(tr("{0}.fit: no samples", type(self).__name__))
        if self.task == "classification":
            if y.dtype.kind not in "iub":
                raise KisonetTypeError(
                    tr("{0}: classification needs integer class labels, got dtype {1}", type(self).__name__, y.dtype)
                )
            y = y.astype(np.int64)
            self.n_classes_ = max(int(y.max()) + 1, self.n_classes_ or 0)
        else:
            y = y.astype(np.float32)
        return X, y

    def _require_fit(self) -> None:
        if not self.models_:
            raise KisonetValueError(tr("{0}: call fit() before predicting", type(self).__name__))

    # --- member outputs ---------------------------------------------------------------
    def member_outputs(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Each member's output for ``X``: class probabilities (M, N, C) for classification
        (softmax of the logits), values (M, N, ...) for regression."""
        self._require_fit()
        X = as_inputs(X)
        outs = []
        for t in self.trainers_:
            z = np.asarray(t.predict_raw(X, batch_size))
            outs.append(softmax_rows(z) if self.task == "classification" else z)
        return np.stack(outs)

    def _combine(self, outs: np.ndarray) -> np.ndarray:
        w = self.weights_ / self.weights_.sum()
        if self.task == "regression":
            return np.tensordot(w, outs, axes=1).astype(outs.dtype, copy=False)
        if self.voting == "hard":
            m, n, c = outs.shape
            # weights summed member by member: float64 keeps ties between classes exact before the cast
            votes = np.zeros((n, c), dtype=np.float64)
            picks = outs.argmax(axis=2)  # (M, N)
            cols = np.arange(n)
            for k in range(m):  # a loop over members, not samples
                votes[cols, picks[k]] += w[k]
            return votes.astype(outs.dtype)
        return np.tensordot(w, outs, axes=1).astype(outs.dtype, copy=False)

    def predict_proba(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Combined class probabilities (N, C): the (weighted) mean of the members'
        probabilities for soft voting, the (weighted) fraction of votes for hard voting."""
        if self.task != "classification":
            raise KisonetValueError(tr("{0}.predict_proba: the task is {1!r}", type(self).__name__, self.task))
        return self._combine(self.member_outputs(X, batch_size))

    def predict(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Class indices (the arg-max of :meth:`predict_proba`; ties go to the lower index)
        or, for regression, the (weighted) mean of the members' outputs."""
        combined = self._combine(self.member_outputs(X, batch_size))
        if self.task == "classification":
            return combined.argmax(axis=1)
        return combined

    def _metric(self, pred: np.ndarray, y: np.ndarray) -> float:
        if self.task == "classification":
            return float(np.mean(pred == y))
        d = pred.reshape(len(y), -1) - np.asarray(y, dtype=pred.dtype).reshape(len(y), -1)
        return float(np.sqrt(np.mean(d * d)))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy (classification) or RMSE (regression) of the ensemble on ``(X, y)``."""
        y = np.asarray(getattr(y, "data", y))
        return self._metric(self.predict(X), y)

    def member_scores(self, X: Any, y: Any) -> list[float]:
        """Accuracy (or RMSE) of each member alone on ``(X, y)``."""
        y = np.asarray(getattr(y, "data", y))
        outs = self.member_outputs(X)
        if self.task == "classification":
            return [self._metric(o.argmax(axis=1), y) for o in outs]
        return [self._metric(o, y) for o in outs]

    def evaluate(self, X: Any, y: Any) -> dict[str, Any]:
        """The ensemble's score, each member's score and their mean, in one dict."""
        members = self.member_scores(X, y)
        key = "accuracy" if self.task == "classification" else "rmse"
        return {key: self.score(X, y), f"member_{key}": members, f"mean_member_{key}": float(np.mean(members))}

    # --- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Members' weights and the combination weights (``kn.save`` it; never pickled)."""
        self._require_fit()
        return {
            "kind": type(self).__name__,
            "members": [m.state_dict() for m in self.models_],
            "weights": np.asarray(self.weights_, dtype=np.float64),
            "task": self.task,
            "voting": self.voting,
            "n_classes": -1 if self.n_classes_ is None else int(self.n_classes_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> Ensemble:
        """Rebuild the members with ``make_model`` and load their weights."""
        from .train import Trainer

        if state.get("kind") != type(self).__name__:
            raise KisonetValueError(
                tr("{0}.load_state_dict: the state is of a {1!r}", type(self).__name__, state.get("kind"))
            )
        self.models_, self.trainers_ = [], []
        for i, sd in enumerate(state["members"]):
            model = build_member(self.make_model, i, self.seed + i)
            model.load_state_dict(sd)
            model.eval()
            self.models_.append(model)
            self.trainers_.append(Trainer(model, self.loss, None, progress=False, task=state["task"]))
        self.weights_ = np.asarray(state["weights"], dtype=np.float64)
        self.task, self.voting = str(state["task"]), str(state["voting"])
        n = int(state.get("n_classes", -1))
        self.n_classes_ = None if n < 0 else n
        return self

    def __len__(self) -> int:
        return len(self.models_)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_models={self.n_models}, task={self.task!r}, fitted={len(self.models_)})"


class Bagging(Ensemble):
    """Bootstrap aggregating (Breiman 1996).

    Member m trains on a bootstrap sample D_m: ``round(max_samples * N)`` indices drawn
    uniformly *with replacement* (about 63% distinct samples when max_samples = 1),
    and the ensemble combines

        classification, soft:  p(c | x) = (1/M) sum_m p_m(c | x),   y^ = argmax_c p(c | x)
        classification, hard:  y^ = argmax_c #{m : argmax p_m(. | x) = c}   (majority vote)
        regression:            y^ = (1/M) sum_m f_m(x)

    ``bootstrap=False`` trains every member on the full set (then only the seed differs:
    see :class:`ModelAveraging`).  ``oob_indices_[m]`` are the samples member m never saw.
    """

    def __init__(
        self,
        make_model: Callable[..., Any],
        n_models: int = 10,
        *,
        bootstrap: bool = True,
        max_samples: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(make_model, n_models, **kwargs)
        self.bootstrap = bool(bootstrap)
        self.max_samples = check_float("Bagging", "max_samples", max_samples, 0.0, 1.0)
        self.sample_indices_: list[np.ndarray] = []
        self.oob_indices_: list[np.ndarray] = []

    def fit(self, X: Any, y: Any, val: Any = None) -> Bagging:
        """Train ``n_models`` members, each on its own bootstrap sample of ``(X, y)``."""
        X, y = self._check_xy(X, y)
        t0 = time.perf_counter()
        n = len(X)
        k = max(1, int(round(self.max_samples * n)))
        rng = make_generator(self.seed)
        self.models_, self.trainers_, self.sample_indices_, self.oob_indices_ = [], [], [], []
        for m in range(self.n_models):
            idx = rng.integers(0, n, size=k) if self.bootstrap else np.arange(n)
            seen = np.zeros(n, dtype=bool)
            seen[idx] = True
            model, trainer = self._train(m, X[idx], y[idx], init_seed=self.seed + m, order_seed=self.seed + m, val=val)
            self.models_.append(model)
            self.trainers_.append(trainer)
            self.sample_indices_.append(idx)
            self.oob_indices_.append(np.flatnonzero(~seen))
        self.weights_ = np.ones(self.n_models)
        self.fit_seconds_ = time.perf_counter() - t0
        return self


class ModelAveraging(Ensemble):
    """Average networks trained on the same data that differ by ``vary``:

        'seed'    initial weights (kn.manual_seed(seed + m) before make_model); same batch order
        'order'   mini-batch order (the loader's shuffling seed); same initial weights
        'both'    both

    and/or by hyper-parameters: ``configs`` is a list of per-member overrides, e.g.
    ``[{'lr': 1e-3}, {'lr': 3e-3, 'batch_size': 64}, {'model_kwargs': {'hidden': 128}}]``
    (keys: lr, epochs, batch_size, optimizer, weight_decay, model_kwargs - the latter passed
    to ``make_model(**model_kwargs)``); ``n_models`` is then ``len(configs)``.
    The combination is the mean of the members' probabilities (or outputs).
    """

    VARY = ("seed", "order", "both", "none")
    CONFIG_KEYS = ("lr", "epochs", "batch_size", "optimizer", "weight_decay", "model_kwargs")

    def __init__(
        self,
        make_model: Callable[..., Any],
        n_models: int | None = None,
        *,
        vary: str = "seed",
        configs: Sequence[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        check_choice("ModelAveraging", "vary", vary, self.VARY)
        if configs is not None:
            configs = [dict(c) for c in configs]
            for c in configs:
                for key in c:
                    if key not in self.CONFIG_KEYS:
                        raise unknown_name(tr("ModelAveraging config key"), key, self.CONFIG_KEYS)
            if n_models is not None and n_models != len(configs):
                raise KisonetValueError(
                    tr("ModelAveraging: n_models={0} but {1} configs were given", n_models, len(configs))
                )
            n_models = len(configs)
        super().__init__(make_model, 5 if n_models is None else n_models, **kwargs)
        self.vary = vary
        self.configs = configs

    def fit(self, X: Any, y: Any, val: Any = None) -> ModelAveraging:
        """Train every member on the full ``(X, y)``."""
        X, y = self._check_xy(X, y)
        t0 = time.perf_counter()
        self.models_, self.trainers_ = [], []
        for m in range(self.n_models):
            init_seed = self.seed + (m if self.vary in ("seed", "both") else 0)
            order_seed = self.seed + (m if self.vary in ("order", "both") else 0)
            over = dict(self.configs[m]) if self.configs else {}
            model, trainer = self._train(m, X, y, init_seed=init_seed, order_seed=order_seed, val=val, **over)
            self.models_.append(model)
            self.trainers_.append(trainer)
        self.weights_ = np.ones(self.n_models)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def load_state_dict(self, state: dict[str, Any]) -> ModelAveraging:
        if self.configs and any("model_kwargs" in c for c in self.configs):
            # members may have different architectures: rebuild each with its own kwargs
            from .train import Trainer

            self.models_, self.trainers_ = [], []
            for i, sd in enumerate(state["members"]):
                model = build_member(self.make_model, i, self.seed, self.configs[i].get("model_kwargs"))
                model.load_state_dict(sd)
                self.models_.append(model)
                self.trainers_.append(Trainer(model, self.loss, None, progress=False, task=state["task"]))
            self.weights_ = np.asarray(state["weights"], dtype=np.float64)
            return self
        super().load_state_dict(state)
        return self


class AdaBoost(Ensemble):
    """AdaBoost with neural-network weak learners: SAMME for K classes (Zhu et al. 2009).

    Start with uniform sample weights w_i = 1/N; for round m = 1..M:

        train f_m on (X, y) with sample weights w          (Trainer.fit(sample_weight=w))
        err_m   = sum_i w_i [f_m(x_i) != y_i] / sum_i w_i
        alpha_m = learning_rate * (log((1 - err_m) / err_m) + log(K - 1))
        w_i    <- w_i exp(alpha_m [f_m(x_i) != y_i]),  then normalise

    and predict ``argmax_c sum_m alpha_m [f_m(x) = c]``.  With K = 2 this is the classical
    AdaBoost.  A learner no better than chance (err_m >= 1 - 1/K) stops the boosting and
    is discarded; a perfect learner (err_m = 0) is kept with alpha from err = 1e-10 and stops
    it.  ``history_`` records per round: the weighted error, alpha, and the training error
    of the ensemble so far.  ``predict_proba`` returns the normalised weighted votes.
    Weak learners should be weak (small, trained briefly): strong ones fit the weights
    perfectly in round one and leave nothing to boost.
    """

    def __init__(
        self,
        make_model: Callable[..., Any],
        n_models: int = 10,
        *,
        learning_rate: float = 1.0,
        epochs: int = 3,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("voting", "hard")
        if kwargs.get("task", "classification") != "classification":
            raise KisonetValueError(tr("AdaBoost (SAMME) is for classification; use Bagging for regression"))
        super().__init__(make_model, n_models, epochs=epochs, **kwargs)
        self.voting = "hard"
        self.learning_rate = check_float("AdaBoost", "learning_rate", learning_rate, 0.0)
        self.history_: dict[str, list[float]] = {}

    def fit(self, X: Any, y: Any, val: Any = None, n_classes: int | None = None) -> AdaBoost:
        """Boost up to ``n_models`` rounds on ``(X, y)``; ``val=(X, y)`` adds the ensemble's
        validation error to ``history_`` each round."""
        X, y = self._check_xy(X, y)
        t0 = time.perf_counter()
        if n_classes is not None:
            self.n_classes_ = int(n_classes)
        k = int(self.n_classes_)
        if k < 2:
            raise KisonetValueError(tr("AdaBoost: needs at least 2 classes, got {0}", k))
        n = len(X)
        w = np.full(n, 1.0 / n)
        votes = np.zeros((n, k))
        vval = None if val is None else np.zeros((len(val[0]), k))
        self.models_, self.trainers_ = [], []
        alphas: list[float] = []
        hist: dict[str, list[float]] = {"weighted_error": [], "alpha": [], "train_error": [], "member_train_error": []}
        if val is not None:
            hist["val_error"] = []
        cols = np.arange(n)
        for m in range(self.n_models):
            model, trainer = self._train(m, X, y, init_seed=self.seed + m, order_seed=self.seed + m, sample_weight=w)
            pred = np.asarray(trainer.predict(X))
            miss = pred != y
            err = float(np.dot(w, miss) / w.sum())
            if err >= 1.0 - 1.0 / k:
                if not self.models_:
                    raise KisonetValueError(
                        tr(
                            (
                                "AdaBoost: the first weak learner's weighted error {0:.3f} is no better than "
                                "chance (1 - 1/K = {1:.3f}); train it longer or give it more capacity"
                            ),
                            err,
                            1 - 1 / k,
                        )
                    )
                break
            e = max(err, 1e-10)
            alpha = self.learning_rate * (math.log((1.0 - e) / e) + math.log(k - 1))
            self.models_.append(model)
            self.trainers_.append(trainer)
            alphas.append(alpha)
            votes[cols, pred] += alpha
            hist["weighted_error"].append(err)
            hist["alpha"].append(alpha)
            hist["member_train_error"].append(float(miss.mean()))
            hist["train_error"].append(float(np.mean(votes.argmax(axis=1) != y)))
            if vval is not None:
                pv = np.asarray(trainer.predict(as_inputs(val[0])))
                vval[np.arange(len(pv)), pv] += alpha
                hist["val_error"].append(float(np.mean(vval.argmax(axis=1) != np.asarray(val[1]))))
            if err == 0.0:
                break
            w = w * np.exp(alpha * miss)
            w /= w.sum()
        self.weights_ = np.asarray(alphas)
        self.history_ = hist
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def member_outputs(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Each learner's class probabilities (M, N, C), padded to the ensemble's K classes."""
        outs = super().member_outputs(X, batch_size)
        k = self.n_classes_ or outs.shape[2]
        if outs.shape[2] < k:
            outs = np.concatenate([outs, np.zeros((*outs.shape[:2], k - outs.shape[2]), outs.dtype)], axis=2)
        return outs
