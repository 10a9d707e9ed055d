"""The notes' claims, demonstrated (issue 21): each experiment's ``--quick`` run, as a user runs it,
shows what its full run shows, and the test asserts that lesson; plus the small public tools
they are built on (``kisonet.data.pca`` / ``tsne``, the dual numbers)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kisonet as kn
from kisonet.experiments import EXPERIMENTS

NEW = ("representations", "bias-variance", "early-stopping-vs-l2", "plateaus", "backprop-cost")


def _written(res: dict, figure: str) -> dict:
    out = res["out"]
    assert (out / figure).stat().st_size > 10_000 and figure in res["figures"]
    data = json.loads((out / "results.json").read_text())
    summary = (out / "summary.md").read_text()
    assert f"({figure})" in summary and "|---|" in summary
    assert "## What it shows" in summary and "## Full run (reference numbers)" in summary  # quick runs carry both
    assert data["shows"] and data["full_run_reference"].startswith("`kisonet experiment ")
    return data


def test_registered_and_exposed():
    for name in NEW:
        assert name in EXPERIMENTS
        assert callable(getattr(kn.experiments, name.replace("-", "_")))


# --- the tools ----------------------------------------------------------------------------------


def test_pca_is_the_svd_of_the_centred_data(rng):
    X = rng.standard_normal((200, 5)) @ np.diag([5.0, 2.0, 1.0, 0.5, 0.1]) + 3.0
    Z, comps, ratio = kn.data.pca(X, 2)
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc / (len(X) - 1)
    lam, V = np.linalg.eigh(cov)
    np.testing.assert_allclose(np.abs(comps), np.abs(V[:, ::-1][:, :2].T), atol=1e-8)
    np.testing.assert_allclose(Z, Xc @ comps.T, atol=1e-8)
    np.testing.assert_allclose(ratio, lam[::-1][:2] / lam.sum(), rtol=1e-8)
    assert np.all(np.abs(comps).argmax(axis=1) == [0, 1]) and np.all(comps[[0, 1], [0, 1]] > 0)  # sign fixed
    with pytest.raises(kn.errors.KisonetValueError, match="n_components"):
        kn.data.pca(X, 6)


def test_tsne_separates_well_separated_clusters():
    from kisonet.experiments.representations import knn_accuracy, silhouette

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4, 20)) * 6
    y = np.repeat(np.arange(4), 30)
    X = centres[y] + rng.standard_normal((120, 20))
    Z = kn.data.tsne(X, 2, perplexity=15, n_iter=300, seed=0)
    assert Z.shape == (120, 2) and np.isfinite(Z).all()
    assert knn_accuracy(Z, y) == 1.0 and silhouette(Z, y) > 0.5
    np.testing.assert_array_equal(Z, kn.data.tsne(X, 2, perplexity=15, n_iter=300, seed=0))  # deterministic
    with pytest.raises(kn.errors.KisonetValueError, match="perplexity"):
        kn.data.tsne(X, 2, perplexity=500)


def test_forward_and_reverse_mode_give_the_same_jacobian():
    from kisonet.experiments.backprop_cost import jacobian_forward, jacobian_reverse, make_layers

    layers = make_layers(5, 3, 8, 2, seed=0)
    x = np.linspace(-1, 1, 5).astype(np.float32)
    J_f, ops_f = jacobian_forward(layers, x)
    J_r, ops_r = jacobian_reverse(layers, x)
    h = 1e-3  # central differences in float64 as the referee
    L64 = [(W.astype(np.float64), b.astype(np.float64)) for W, b in layers]

    def f(v):
        for k, (W, b) in enumerate(L64):
            v = v @ W + b
            v = np.tanh(v) if k < len(L64) - 1 else v
        return v

    J_fd = np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(5)], axis=1)
    np.testing.assert_allclose(J_f, J_fd, atol=1e-4)
    np.testing.assert_allclose(J_r, J_fd, atol=1e-4)
    assert J_f.shape == J_r.shape == (3, 5) and ops_f > 0 and ops_r > 0


# --- the quick runs show the lesson -----------------------------------------------------------------


def test_representations_quick_classes_separate_with_training(tmp_path):
    res = kn.experiments.representations(quick=True, dataset="digits", out=tmp_path, verbose=False)
    _written(res, "representations.png")
    s = res["stages"]
    assert list(s) == ["before", "during", "after"]
    assert s["before"]["test_accuracy"] < 0.3 < 0.8 < s["after"]["test_accuracy"]
    # the classes pull apart: PCA picture, t-SNE picture and silhouette all improve from before to after
    assert s["after"]["knn_pca"] > s["before"]["knn_pca"] + 0.08
    assert s["after"]["knn_tsne"] > s["before"]["knn_tsne"]
    assert s["after"]["silhouette_pca"] > s["before"]["silhouette_pca"] + 0.05
    assert np.asarray(s["after"]["tsne"]).shape == (res["n_show"], 2)


def test_bias_variance_quick_is_u_shaped(tmp_path):
    res = kn.experiments.bias_variance(quick=True, out=tmp_path, verbose=False)
    _written(res, "bias_variance.png")
    rows = res["by_degree"]
    bias2 = [r["bias2"] for r in rows]
    var = [r["variance"] for r in rows]
    total = [r["sum"] for r in rows]
    # bias falls with capacity, variance rises, the total is U-shaped with its minimum in the middle
    assert bias2[0] > 100 * min(bias2) and var[-1] > 10 * var[0]
    assert all(b >= a for a, b in zip(var[:-1], var[1:], strict=True))
    best = int(np.argmin(total))
    assert 2 <= rows[best]["degree"] <= 6 and total[0] > 2 * total[best] and total[-1] > 2 * total[best]
    for r in rows:  # the three terms add up to the measured test error
        assert r["test_mse"] == pytest.approx(r["sum"], rel=0.05)
    alpha = res["by_alpha"]  # L2 at the highest degree: variance down, bias up
    assert alpha[-1]["variance"] < 0.2 * alpha[0]["variance"] and alpha[-1]["bias2"] > alpha[0]["bias2"]


def test_early_stopping_vs_l2_quick_match(tmp_path):
    res = kn.experiments.early_stopping_vs_l2(quick=True, out=tmp_path, verbose=False)
    _written(res, "early_stopping_vs_l2.png")
    gd, l2 = np.asarray(res["test_mse_gd"]), np.asarray(res["test_mse_l2"])
    # both curves are U-shaped, with the same best test error, far below least squares
    assert res["best_gd"]["test_mse"] == pytest.approx(res["best_l2"]["test_mse"], rel=0.05)
    assert res["best_gd"]["test_mse"] < 0.5 * res["test_mse_least_squares"]
    assert gd[-1] > 1.2 * gd.min() and gd[0] > 2 * gd.min() and l2[0] > 2 * l2.min()
    assert np.all(np.diff(res["norm_gd"]) > 0)  # the weight norm grows with the number of steps
    assert res["median_relative_distance"] < 0.3
    assert res["filter_formula_error"] < 1e-3  # the measured filter is 1 - (1 - eps lam)^tau


def test_plateaus_quick_sgd_escapes_the_saddle(tmp_path):
    res = kn.experiments.plateaus(quick=True, out=tmp_path, verbose=False)
    _written(res, "plateaus.png")
    full = res["full_batch"]
    assert full["escape_step"] is None  # full-batch GD stays on the saddle ...
    assert full["loss"][-1] == pytest.approx(res["saddle_loss"], abs=1e-4)  # ... on the loss plateau ...
    assert full["grad_norm"][-1] < 1e-6  # ... with a vanishing gradient
    off = res["full_batch_offset"]["escape_step"]
    assert res["sgd_escaped"] == len(res["sgd_escape_steps"])  # every SGD seed escapes ...
    assert off is not None and res["sgd_median_escape_step"] < off / 3  # ... far sooner than the nudged GD
    assert max(res["sgd_final_loss"]) < res["saddle_loss"] - 0.2


def test_backprop_cost_quick_reverse_flat_in_inputs(tmp_path):
    res = kn.experiments.backprop_cost(quick=True, out=tmp_path, verbose=False)
    _written(res, "backprop_cost.png")
    ins, outs = res["sweeps"]["inputs"], res["sweeps"]["outputs"]
    assert res["max_abs_diff"] < 1e-4
    # counted: reverse mode ~flat in n for m = 1, forward mode ~proportional to n; the opposite in m
    assert ins[-1]["forward_madds"] / ins[0]["forward_madds"] > 0.5 * ins[-1]["n"] / ins[0]["n"]
    assert ins[-1]["reverse_madds"] / ins[0]["reverse_madds"] < 5
    assert outs[-1]["reverse_madds"] / outs[0]["reverse_madds"] > 0.5 * outs[-1]["m"] / outs[0]["m"]
    assert outs[-1]["forward_madds"] / outs[0]["forward_madds"] < 5
    # timed: at the most inputs forward mode is much slower than reverse mode for a scalar output
    assert ins[-1]["forward_seconds"] > 5 * ins[-1]["reverse_seconds"]
