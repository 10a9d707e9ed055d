"""Experiments II (generalisation): quick runs write their figures and numbers; effects that show
in seconds are asserted (L2 shrinks the over-fitting gap; 64 hidden units fit the spirals better
than 2)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import kisonet as kn
from kisonet.experiments import EXPERIMENTS

GENERALISATION = ("overfitting", "regularization", "normalization", "cnn", "decision-boundary", "double-descent",
                  "grokking")  # fmt: skip


def _written(out, figures):
    res = json.loads((out / "results.json").read_text())
    summary = (out / "summary.md").read_text()
    for f in figures:
        assert (out / f).stat().st_size > 5000, f  # a real PNG, not an empty canvas
        assert f"({f})" in summary
        assert f in res["figures"]
    return res, summary


def test_registered_and_exposed():
    for name in GENERALISATION:
        assert name in EXPERIMENTS
        assert callable(getattr(kn.experiments, name.replace("-", "_")))


def test_overfitting_l2_shrinks_gap(tmp_path, mnist_dir):
    res = kn.experiments.overfitting(quick=True, data_dir=mnist_dir, out=tmp_path, only=("l2",), verbose=False)
    runs = {r["key"]: r for r in res["runs"].values()}
    assert set(runs) == {"none", "l2"}
    assert runs["none"]["train_acc"] > 0.97 and runs["none"]["gap"] > 0.15  # the big net memorises its 200 images
    assert runs["l2"]["gap"] < runs["none"]["gap"] - 0.02
    assert res["dataset"] == "mnist-t10k"


def test_overfitting_quick_shows_the_lesson(tmp_path):
    """`overfitting --quick` on the embedded digits: the net memorises its images, and every penalty
    and input noise narrow the gap, as in the full run; input noise ends with the best test accuracy."""
    res = kn.experiments.overfitting(quick=True, dataset="digits", out=tmp_path, verbose=False)
    _, summary = _written(tmp_path, ["overfitting.png"])
    runs = {r["key"]: r for r in res["runs"].values()}
    assert set(runs) == {"none", "l2", "l1", "elastic-net", "dropout", "dropout+l1", "early-stopping", "input-noise"}
    none = runs["none"]
    assert none["train_acc"] == 1.0 and none["gap"] > 0.1
    for key in ("l2", "l1", "elastic-net", "dropout", "dropout+l1", "input-noise"):
        assert runs[key]["gap"] < none["gap"], key
    assert runs["input-noise"]["test_acc"] == max(r["test_acc"] for r in runs.values())
    assert "## What it shows" in summary and "84.5%" in summary  # the full run's reference numbers
    for r in runs.values():
        assert math.isfinite(r["train_acc"]) and math.isfinite(r["test_acc"])
        assert len(r["history"]["test_accuracy"]) == r["epochs_run"]
    assert "best_epoch" in runs["early-stopping"] and "val_loss" in runs["early-stopping"]["history"]
    assert runs["dropout"]["config"]["dropout"] > 0 and runs["input-noise"]["config"]["noise"] > 0
    assert "elastic net" in summary and "early stopping" in summary
    with pytest.raises(kn.errors.KisonetValueError):
        kn.experiments.overfitting(quick=True, dataset="digits", out=tmp_path, only=("l3",), verbose=False)


def test_decision_boundary_quick_shows_the_lesson(tmp_path, monkeypatch):
    """`decision-boundary --quick` as a user runs it: as in the full run, 2 hidden units cannot follow
    the spirals, 4 and more fit them, and the L2 penalty costs the wide net accuracy on the spirals."""
    from kisonet.cli import main

    monkeypatch.delenv("KISONET_DATA", raising=False)
    assert main(["experiment", "decision-boundary", "--quick", "--out", str(tmp_path)]) == 0
    res, summary = _written(tmp_path, ["decision_boundary.png"])
    runs = res["runs"]
    assert res["quick"] and len(runs) == 2 * 2 * 4  # datasets x penalty x widths
    spirals = {h: runs[f"spirals|none|{h}"] for h in (2, 4, 16, 64)}
    assert spirals[2]["train_acc"] < 0.7
    for h in (4, 16, 64):
        assert spirals[h]["train_acc"] > 0.9 and spirals[h]["test_acc"] > 0.9, h
    assert runs["spirals|L2|64"]["train_acc"] < spirals[64]["train_acc"] - 0.05
    assert runs["moons|none|64"]["train_acc"] > runs["moons|none|2"]["train_acc"] + 0.05
    assert "What it shows" in summary and "reference" in summary.lower()
    with pytest.raises(kn.errors.KisonetValueError):
        kn.experiments.decision_boundary(quick=True, out=tmp_path, datasets=("circles",), verbose=False)


def test_regularization_quick(tmp_path):
    res = kn.experiments.regularization(quick=True, dataset="digits", out=tmp_path, verbose=False)
    _written(tmp_path, ["regularization.png"])
    runs = res["runs"]
    assert len(runs) == 4 and any(k.startswith("L1") for k in runs) and any(k.startswith("elastic") for k in runs)
    for r in runs.values():
        assert 0.0 <= r["zero_fraction"] <= 1.0 and math.isfinite(r["weight_norm"])
    # the penalties pull the weights in: the L2 net ends with a smaller norm than the free one
    l2 = next(r for k, r in runs.items() if k.startswith("L2"))
    l1 = next(r for k, r in runs.items() if k.startswith("L1"))
    en = next(r for k, r in runs.items() if k.startswith("elastic"))
    # the full run's orderings: L2 shrinks the norm most, L1 zeroes the most weights, the elastic net between
    assert l2["weight_norm"] < en["weight_norm"] < l1["weight_norm"] < runs["none"]["weight_norm"]
    assert l1["zero_fraction"] > en["zero_fraction"] > runs["none"]["zero_fraction"]


def test_normalization_quick(tmp_path):
    res = kn.experiments.normalization(quick=True, dataset="digits", out=tmp_path, verbose=False)
    _, summary = _written(tmp_path, ["normalization.png"])
    assert res["dataset_used"] == "digits" and not res["cifar10"]
    norms = {r["norm"] for r in res["runs"].values()}
    assert norms == {"none", "batch", "layer", "instance", "group"}
    assert {r["batch_size"] for r in res["runs"].values() if r["norm"] == "batch"} == {2, 16}
    # the full run's two results: every normalisation trains the CNN (none below the plain net) ...
    runs = res["runs"]
    for norm in ("batch", "layer", "instance", "group"):
        assert runs[f"{norm}|16"]["test_acc"] > runs["none|16"]["test_acc"] - 0.03, norm
    # ... and batch norm needs its batch: at batch 2 the MLP with batch norm falls far behind layer norm
    assert runs["mlp-batch|2"]["test_acc"] < runs["mlp-layer|2"]["test_acc"] - 0.15
    assert "CIFAR-10 files not found" in summary


def test_norm_cnn_has_the_right_layers():
    from kisonet import nn
    from kisonet.experiments.normalization import norm_cnn

    kinds = {"batch": nn.BatchNorm2d, "layer": nn.LayerNorm, "instance": nn.InstanceNorm2d, "group": nn.GroupNorm}
    for norm, cls in kinds.items():
        m = norm_cnn((1, 8, 8), 10, norm)
        assert sum(isinstance(x, cls) for x in m.modules()) == 2
        out = m(kn.tensor(np.zeros((2, 64), dtype=np.float32)))
        assert out.shape == (2, 10)
    assert not any(isinstance(x, tuple(kinds.values())) for x in norm_cnn((1, 8, 8), 10, "none").modules())


def test_cnn_quick(tmp_path):
    res = kn.experiments.cnn(quick=True, dataset="digits", out=tmp_path, verbose=False)
    _, summary = _written(tmp_path, ["filters.png", "feature_maps.png", "learning_curves.png"])
    assert np.asarray(res["filters_after"]).shape == (30, 1, 5, 5)
    assert res["filter_change"] > 0.05  # the filters were trained
    assert res["test_acc"] > 0.8 and res["train_acc"] > 0.8  # far above chance, like the full run's 97.9%
    alex = res["alexnet"]  # the exercise report's AlexNet, width-scaled, learns on the same data too
    assert alex["test_acc"] > 0.4 and alex["parameters"] > 0 and alex["width"] == 0.0625
    assert "## What it shows" in summary and "97.90%" in summary


def test_double_descent_quick(tmp_path, monkeypatch):
    """`double-descent --quick` as a user runs it (no MNIST given: the embedded digits)."""
    from kisonet.cli import main

    monkeypatch.delenv("KISONET_DATA", raising=False)
    assert main(["experiment", "double-descent", "--quick", "--out", str(tmp_path)]) == 0
    res, summary = _written(tmp_path, ["double_descent.png"])
    rf = res["random_features"]
    assert all(np.isfinite([r["test_err"], r["train_err"]]).all() for r in rf)
    # past the interpolation threshold the random-feature model fits every (noisy) label
    assert rf[-1]["width"] > res["n_train"] and rf[-1]["train_err"] == 0.0
    # the lesson: the random-features test error peaks at the interpolation threshold H = n, then falls
    peak = max(rf, key=lambda r: r["test_err"])
    assert peak["width"] == res["n_train"] and rf[-1]["test_err"] < peak["test_err"] - 0.2
    assert res["n_flipped"] == round(0.15 * res["n_train"])
    # trained nets, as in the full run: the narrowest cannot fit, the wide ones fit the flipped labels
    # too, and their test error stays far below the random features' peak (a mild bump at most)
    nets = res["trained"]
    assert [r["width"] for r in nets] == [2, 8, 32, 128, 512]
    assert nets[0]["train_err"] > res["label_noise"] and nets[-1]["train_err"] < 0.01
    assert max(r["test_err"] for r in nets[1:]) < peak["test_err"] - 0.3
    assert nets[-1]["test_err"] < 0.25
    assert "What it shows" in summary


def test_grokking_quick(tmp_path):
    from kisonet.experiments.grokking import modular_addition

    d = modular_addition(7, 0.5)
    assert len(d["y_train"]) + len(d["y_test"]) == 49
    a, b = d["X_train"][:, :7].argmax(1), d["X_train"][:, 7:].argmax(1)
    assert np.array_equal((a + b) % 7, d["y_train"])
    # through the command line, as a user runs it
    from kisonet.cli import main

    assert main(["experiment", "grokking", "--quick", "--out", str(tmp_path)]) == 0
    res, summary = _written(tmp_path, ["grokking.png"])
    assert res["quick"] and res["p"] == 23 and "kisonet experiment grokking --quick" in summary
    decay, free = res["runs"]["weight decay 1"], res["runs"]["no weight decay"]
    h = decay["history"]
    assert h["step"][-1] == res["steps"] and np.isfinite(h["test_loss"]).all()
    assert h["train_acc"][-1] > 0.9 > h["train_acc"][0]  # it learns the training pairs
    assert decay["weight_decay"] == 1.0
    # the lesson, as in the full run: with weight decay the test accuracy reaches 95% long after the
    # training accuracy reached 99%; without it the net memorises and never generalises
    assert decay["step_train_99"] and decay["step_test_95"] and decay["step_test_95"] > 5 * decay["step_train_99"]
    assert free["step_train_99"] and free["step_test_95"] is None and free["final_test_acc"] < 0.5
