"""Experiments I (the optimisation lecture): each quick run asserts the point it exists to show.

The runs use the embedded digits (``dataset='digits'``) so the tests need no files, and short
schedules (``epochs=``) so the whole module stays within its CI share.
"""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

import kisonet as kn
from kisonet import experiments as kx
from kisonet.errors import DataError, KisonetValueError
from kisonet.experiments import common


def _outputs_ok(res: dict, names: tuple[str, ...]) -> dict:
    """The run wrote every figure it lists, results.json (parsable) and summary.md."""
    out = res["out"]
    for name in names:
        assert name in res["figures"]
    for f in res["figures"]:
        p = out / f
        assert p.stat().st_size > 10_000, f  # a real PNG, not an empty canvas
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "results.json").read_text())
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# ") and "|---|" in summary
    assert data["experiment"] == res["experiment"]
    return data


# --- framework ------------------------------------------------------------------------------


def test_registry_names_functions_and_list():
    names = [n for n, _ in kx.list_experiments()]
    for n in ("vanishing-gradient", "weight-init", "batch-norm", "optimizers", "optimizer-paths", "lr-schedules"):
        assert n in names
        fn = getattr(kn.experiments, n.replace("-", "_"))
        assert callable(fn) and fn is kx.get_experiment(n) and fn is kx.get_experiment(n.replace("-", "_"))
    with pytest.raises(KisonetValueError, match="did you mean 'optimizers'"):
        kx.run_experiment("optimisers")


def test_data_choice_rule(tmp_path, monkeypatch, mnist_dir):
    assert common.choose_dataset(data_dir=mnist_dir).name == "mnist-t10k"
    with pytest.raises(DataError, match="no MNIST files"):
        common.choose_dataset(data_dir=tmp_path)
    monkeypatch.setenv("KISONET_DATA", str(tmp_path))  # an empty cache: nothing downloaded
    assert common.choose_dataset().name == "digits"
    monkeypatch.setenv("KISONET_DATA", str(mnist_dir))
    assert common.choose_dataset().name == "mnist-t10k"
    assert common.choose_dataset("digits", data_dir=mnist_dir).name == "digits"  # explicit wins


def test_probe_hooks_give_the_weight_gradients():
    """dE/dW_l = delta_l^T x_l from the hooks equals the gradient backward stored on the weight."""
    rng = np.random.default_rng(0)
    X, y = rng.random((32, 20), dtype=np.float32), rng.integers(0, 4, 32)
    model = common.deep_mlp(20, 4, "sigmoid", "xavier", depth=3, width=8)
    p = common.probe(model, X, y)
    weights = [m.weight for m in model.modules() if isinstance(m, kn.nn.Linear)]
    assert len(p["grad_norm"]) == 4 and len(p["activations"]) == 3
    np.testing.assert_allclose(p["grad_norm"], [np.linalg.norm(w.grad) for w in weights], rtol=1e-4)
    assert all(a.shape == (32, 8) and a.min() > 0 and a.max() < 1 for a in p["activations"])  # sigmoid outputs


def test_cli_list_and_errors(capsys):
    from kisonet.cli import main

    assert main(["experiment", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "optimizer-paths" in listed and "weight-init" in listed
    assert main(["experiment", "weight-inits"]) == 2
    assert "did you mean 'weight-init'" in capsys.readouterr().err
    assert main(["experiment"]) == 2
    assert main(["experiment", "optimizers", "--seed", "-1"]) == 2


# --- the six experiments -----------------------------------------------------------------------


def test_vanishing_gradient_sigmoid_small_normal_vs_relu_he(tmp_path):
    res = kn.experiments.vanishing_gradient(quick=True, dataset="digits", out=tmp_path, verbose=False)
    c = res["configs"]
    g_sig = c["sigmoid + N(0,0.01²)"]["grad_norm"]
    g_he = c["ReLU + He"]["grad_norm"]
    # the point: first-layer gradient orders of magnitude below ReLU + He's ...
    assert g_sig[0] < 1e-4 * g_he[0]
    assert res["first_layer_ratio_sigmoid_normal_vs_relu_he"] == pytest.approx(g_sig[0] / g_he[0])
    # ... because it shrinks layer after layer on the way down, while He keeps it the same order
    assert all(a < b for a, b in zip(g_sig[:-1], g_sig[1:], strict=True))
    assert g_sig[0] < 1e-5 * g_sig[-1] and g_he[0] > 1e-2 * g_he[-1]
    # sigmoid + tiny weights: every hidden unit near 0.5 (no spread); He keeps the activations' spread
    assert c["sigmoid + N(0,0.01²)"]["activation_std"][-1] < 0.02
    assert c["ReLU + He"]["activation_std"][-1] > 0.1
    # the quick run ends in the full run's order: sigmoid + N(0,0.01²) near chance, ReLU + N(0,0.01²)
    # late, sigmoid + Xavier and ReLU + He learning (full: 25.9% < 88.9% < 93.5% < 95.9%)
    acc = [c[k]["final_test_accuracy"] for k in ("sigmoid + N(0,0.01²)", "ReLU + N(0,0.01²)", "sigmoid + Xavier",
                                                 "ReLU + He")]  # fmt: skip
    assert acc == sorted(acc), acc
    assert acc[0] < 0.3 and acc[2] > 0.5 and acc[3] > 0.8, acc
    assert len(c["ReLU + He"]["history"]["test_accuracy"]) == res["epochs"] == 8
    summary = (res["out"] / "summary.md").read_text()
    assert "## What it shows" in summary and "## Full run (reference numbers)" in summary and "93.5%" in summary
    data = _outputs_ok(res, ("grad_norms.png", "activations.png", "accuracy.png"))
    assert data["dataset"] == "digits" and data["quick"] is True


def test_weight_init_zeros_leaves_hidden_units_identical(tmp_path):
    res = kn.experiments.weight_init(quick=True, dataset="digits", out=tmp_path, verbose=False)
    zeros = res["runs"]["sigmoid"]["zeros"]
    # the weights did move (sigmoid(0) = 0.5 passes a gradient) ...
    assert sum(zeros["weight_change"]) > 1e-4
    # ... but every unit of every hidden layer is still a copy of the first
    assert max(zeros["hidden_unit_spread"]) < 1e-5
    assert max(res["runs"]["relu"]["zeros"]["weight_change"]) == 0.0  # ReLU'(0) = 0: nothing moves at all
    for act in ("sigmoid", "relu"):
        for label in ("N(0,0.01²)", "Xavier", "He"):
            assert min(res["runs"][act][label]["hidden_unit_spread"]) > 0.01  # random init: distinct units
    # as in the full run: zeros and N(0,0.01²) stay poor, Xavier and He learn (with either activation)
    acc = {act: {k: r["final_test_accuracy"] for k, r in by.items()} for act, by in res["runs"].items()}
    for act in ("sigmoid", "relu"):
        assert acc[act]["zeros"] < 0.25, acc
        assert min(acc[act]["Xavier"], acc[act]["He"]) > max(acc[act]["zeros"], acc[act]["N(0,0.01²)"]) + 0.2, acc
    assert acc["relu"]["He"] > 0.85 and acc["sigmoid"]["He"] > 0.5, acc
    data = _outputs_ok(res, ("curves.png", "symmetry.png"))
    assert "## What it shows" in (res["out"] / "summary.md").read_text() and data["full_run_reference"]


def test_batch_norm_trains_where_the_plain_net_does_not(tmp_path, capsys):
    """Through the command line, end to end: `kisonet experiment batch-norm --quick`."""
    from kisonet.cli import main

    out = tmp_path / "bn"
    assert main(["experiment", "batch-norm", "--quick", "--dataset", "digits", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dataset digits" in printed and "| weight scale" in printed
    data = json.loads((out / "results.json").read_text())
    assert data["command"] == f"kisonet experiment batch-norm --quick --dataset digits --out {out}"
    by = {r["scale"]: r for r in data["results"]}
    assert sorted(by) == [0.001, 0.01, 0.1, 1.0]

    def acc(run: dict) -> float:
        return 0.0 if run["diverged"] else float(run["final_train_accuracy"])

    for s in (1.0, 0.01, 0.001):  # exploding (1.0) or vanishing signal: the plain net does not learn
        assert acc(by[s]["plain"]) < 0.3, (s, by[s]["plain"])
    assert by[1.0]["plain"]["diverged"]  # NaN, caught by the Trainer's guard and recorded
    for s in (0.01, 0.001):  # ... where the same net with batch norm does
        assert not by[s]["bn"]["diverged"] and acc(by[s]["bn"]) > acc(by[s]["plain"]) + 0.3, (s, by[s]["bn"])
    assert acc(by[0.01]["bn"]) > 0.8
    for f in ("accuracy_grid.png", "final_accuracy_vs_scale.png", "summary.md"):
        assert (out / f).stat().st_size > 500


def test_every_optimizer_lowers_the_loss(tmp_path):
    res = kn.experiments.optimizers(quick=True, dataset="digits", out=tmp_path, verbose=False)
    assert list(res["runs"]) == list(importlib.import_module("kisonet.experiments.optimizers").OPTIMIZERS)
    starts = {r["initial_loss"] for r in res["runs"].values()}
    assert len(starts) == 1  # same net, same weights, same first batch for every optimiser
    for name, r in res["runs"].items():
        assert r["failure"] is None, name
        assert r["last_epoch_step_loss"] < 0.8 * r["initial_loss"], (name, r["initial_loss"], r["last_epoch_step_loss"])
        assert len(r["step_loss"]) == res["epochs"] * res["steps_per_epoch"]
    # as in the full run (epoch 1: AdaGrad 0.72, SGD 1.04, Momentum 1.16), an adaptive method gets lowest first
    last = {n: r["last_epoch_step_loss"] for n, r in res["runs"].items()}
    adaptive = min(last[n] for n in ("AdaGrad", "RMSprop", "AdaDelta", "Adam", "AdamW", "AdaBelief"))
    assert adaptive < 0.5 * min(last["SGD"], last["Momentum"], last["Nesterov"]), last
    _outputs_ok(res, ("loss.png", "test_accuracy.png"))


def test_newton_reaches_the_quadratic_minimum_in_one_step():
    from kisonet.experiments.optimizer_paths import FUNCTIONS, run_path

    for name in ("notes-quadratic", "elongated"):
        tf = FUNCTIONS[name]
        path, losses = run_path(tf.f, tf.start, "Newton", 1.0, 1)
        np.testing.assert_allclose(path[1], [0.0, 0.0], atol=1e-5)
        assert losses[1] < 1e-9 < losses[0]
    # the notes' exercise: w(1) = (-5, -2) - 0.1 (0.2 * -5, 4 * -2) = (-4.9, -1.2)
    path, _ = run_path(FUNCTIONS["notes-quadratic"].f, (-5.0, -2.0), "SGD", 0.1, 1)
    np.testing.assert_allclose(path[1], [-4.9, -1.2], rtol=1e-6)


def test_optimizer_paths_every_optimizer_descends_and_newton_finds_the_saddle(tmp_path):
    res = kn.experiments.optimizer_paths(
        quick=True, out=tmp_path, functions=["notes-quadratic", "saddle"], verbose=False
    )
    quad = res["functions"]["notes-quadratic"]["runs"]
    assert len(quad) == 10 and "Newton" in quad
    for name, r in quad.items():
        assert r["final_loss"] < r["loss"][0], name
    assert quad["Newton"]["steps_to_1e-3"] == 1
    saddle = res["functions"]["saddle"]["runs"]
    # first-order methods roll off the saddle into a minimum (0, +-1); Newton converges to the saddle
    for name in ("SGD", "Momentum", "Adam"):
        assert abs(saddle[name]["final_point"][1]) > 0.8 and saddle[name]["distance_to_minimum"] < 0.2, name
    np.testing.assert_allclose(saddle["Newton"]["final_point"], [0.0, 0.0], atol=1e-4)
    _outputs_ok(res, ("paths_notes-quadratic.png", "loss_saddle.png"))
    assert res["dataset"] is None


def test_lr_schedules_follow_their_formulas_and_train(tmp_path):
    res = kn.experiments.lr_schedules(quick=True, dataset="digits", out=tmp_path, epochs=2, verbose=False)
    runs, T, E_ = res["runs"], res["total_steps"], res["steps_per_epoch"]
    a = res["base_lr"]
    for name, r in runs.items():
        assert len(r["lr"]) == T, name
        assert r["step_loss"][-1] < r["step_loss"][0], name
    assert np.allclose(runs["constant"]["lr"], a)
    k = np.arange(T)
    np.testing.assert_allclose(runs["1/k"]["lr"], a / (1 + k / E_), rtol=1e-6)
    np.testing.assert_allclose(runs["1/sqrt(k)"]["lr"], a / np.sqrt(1 + k / E_), rtol=1e-6)
    np.testing.assert_allclose(runs["cosine"]["lr"], a * (1 + np.cos(np.pi * k / T)) / 2, rtol=1e-5, atol=1e-9)
    step = np.asarray(runs["step"]["lr"])
    assert set(np.round(step / a, 6)) <= {1.0, 0.2, 0.04, 0.008}
    warm = np.asarray(runs["warm-up + cosine"]["lr"])
    W = max(1, T // 10)
    assert warm[0] < 0.5 * a and np.all(np.diff(warm[: W + 1]) > 0) and warm.argmax() == W  # warm-up ...
    assert np.all(np.diff(warm[W:]) < 0) and warm[-1] < 0.01 * a  # ... then the cosine down to ~0
    restarts = np.asarray(runs["warm restarts"]["lr"])
    assert (np.diff(restarts) > 0).sum() >= 1  # at least one restart: the lr jumps back up
    assert math.isclose(restarts[0], a)
    _outputs_ok(res, ("schedules.png", "training.png"))
