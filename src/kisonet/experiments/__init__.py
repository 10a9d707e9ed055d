"""The lectures' experiments, one command each: ``kisonet experiment NAME [--quick]``.

Each experiment trains or probes real kisonet models, draws the figures a lecturer would put on a
slide, and writes them with ``results.json`` and ``summary.md`` into its output folder.  From
Python::

    import kisonet as kn
    res = kn.experiments.vanishing_gradient(quick=True, out="vg")   # histories and numbers
    kn.experiments.run_experiment("optimizer-paths", out="paths")
    kn.experiments.list_experiments()                              # [(name, description), ...]

Adding an experiment: a module here exposing a function named like the module (the Python name
is the CLI name with ``_`` for ``-``) taking ``quick, dataset, data_dir, out, seed`` and built on
:mod:`kisonet.experiments.common`, plus one line in :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..registry import Registry

# CLI name -> (module in this package, one-line description). One line per experiment.
# fmt: off
_TABLE: dict[str, tuple[str, str]] = {
    # --- Experiments I: the optimisation lecture (issue 9) ---
    "vanishing-gradient": (".vanishing_gradient", "5-hidden-layer MLP: sigmoid/ReLU x N(0,0.01^2)/Xavier/He; per-layer gradient norms, activations, accuracy"),  # noqa: E501
    "weight-init": (".weight_init", "zeros (symmetry: hidden units stay identical), small normal, Xavier, He"),
    "batch-norm": (".batch_norm", "the same deep net with and without batch norm over a range of initial weight scales"),  # noqa: E501
    "optimizers": (".optimizers", "SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam, AdamW, AdaBelief: loss curves"),  # noqa: E501
    "optimizer-paths": (".optimizer_paths", "optimizer trajectories (incl. Newton) over contour plots of 2-D functions"),  # noqa: E501
    "lr-schedules": (".lr_schedules", "constant, step, 1/k, 1/sqrt(k), cosine, warm-up + cosine, warm restarts"),
    # --- Experiments II: the generalisation lecture (issue 10) ---
    "overfitting": (".overfitting", "300 images, 6x100 MLP, 200 epochs: the train/test gap, then L2, L1, elastic net, dropout, early stopping, input noise"),  # noqa: E501
    "regularization": (".regularization", "none / L1 / L2 / elastic net on a small CNN: gap, weight norm, sparsity"),
    "normalization": (".normalization", "none / batch / layer / instance / group norm in a small CNN; batch norm at batch 2, 8, 64"),  # noqa: E501
    "cnn": (".cnn", "the notes' simple CNN: learned first-layer filters and feature maps"),
    "decision-boundary": (".decision_boundary", "moons and spirals, hidden 2/4/16/64, with and without L2: decision surfaces"),  # noqa: E501
    "double-descent": (".double_descent", "test error against width on a small noisy set: random features and trained nets"),  # noqa: E501
    "grokking": (".grokking", "modular addition with weight decay: test accuracy jumps long after training accuracy"),
    # --- the notes' claims, demonstrated (issue 21) ---
    "representations": (".representations", "a hidden layer's activations by PCA (kisonet's SVD) and t-SNE before, during and after training, by class"),  # noqa: E501
    "bias-variance": (".bias_variance", "bias², variance and noise over 1000 resampled training sets, polynomial degree 0-12 and L2: the U-shaped total"),  # noqa: E501
    "early-stopping-vs-l2": (".early_stopping_vs_l2", "gradient descent stopped after τ steps vs the L2 minimum at α = 1/(ετ): paths, test error, weight norm, filters"),  # noqa: E501
    "plateaus": (".plateaus", "a saddle point: full-batch gradient descent stops on it, mini-batch SGD's noise escapes; loss and gradient norm over time"),  # noqa: E501
    "backprop-cost": (".backprop_cost", "the Jacobian by reverse mode (backprop) vs forward mode (dual numbers): time and op counts vs inputs/outputs"),  # noqa: E501
}
# fmt: on

#: The experiments by name: name -> (module, description); read by the CLI, the docs and the dashboard.
EXPERIMENTS: Registry[tuple[str, str]] = Registry("experiment")
for _name, (_module, _desc) in _TABLE.items():
    EXPERIMENTS.add(_name, (_module, _desc), _desc, module=_module)
del _module, _desc

__all__ = ["EXPERIMENTS", "list_experiments", "run_experiment"]


def _py_name(name: str) -> str:
    return name.replace("-", "_")


def _normalise(name: str) -> str:
    return EXPERIMENTS.canonical(name)


def list_experiments() -> list[tuple[str, str]]:
    """``[(cli_name, description), ...]`` in registry order."""
    return [(name, desc) for name, (_, desc) in EXPERIMENTS.items()]


def get_experiment(name: str) -> Any:
    """The function of experiment ``name`` (``'weight-init'`` or ``'weight_init'``)."""
    key = _normalise(name)
    module = importlib.import_module(EXPERIMENTS[key][0], __name__)
    return getattr(module, _py_name(key))


def run_experiment(name: str, /, **options: Any) -> dict[str, Any]:
    """Run experiment ``name`` and return its results (also written to ``out``).  ``options``: the
    ones every experiment takes (``quick``, ``dataset``, ``data_dir``, ``out``, ``seed``,
    ``verbose``, ``threads``) and its own (``help(kn.experiments.<name>)``)."""
    return get_experiment(name)(**options)


# Expose each experiment as kn.experiments.<python_name>.  Importing the module binds the package
# attribute to the submodule; rebinding it here makes the name the function.
for _name in EXPERIMENTS:
    globals()[_py_name(_name)] = get_experiment(_name)
    __all__.append(_py_name(_name))
del _name
