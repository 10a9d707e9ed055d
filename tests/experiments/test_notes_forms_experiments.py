"""The notes' forms inside the experiments: the Nakata deck's linear schedule in lr-schedules."""

from __future__ import annotations

import numpy as np

import kisonet as kn
from kisonet.experiments.lr_schedules import LINEAR_END, SCHEDULES


def test_lr_schedules_runs_the_notes_linear_schedule(tmp_path):
    assert "linear" in SCHEDULES
    res = kn.experiments.lr_schedules(
        quick=True, dataset="digits", out=tmp_path, epochs=2, verbose=False, schedules=("linear",)
    )
    r, T, a = res["runs"]["linear"], res["total_steps"], res["base_lr"]
    assert list(res["runs"]) == ["linear"] and r["scheduler"] == "LinearInterpolationLR"
    k = np.arange(T)
    np.testing.assert_allclose(r["lr"], (k / T) * LINEAR_END * a + (1 - k / T) * a, rtol=1e-6)
    assert r["step_loss"][-1] < r["step_loss"][0]


def test_weight_init_runs_the_notes_initialisers(tmp_path):
    res = kn.experiments.weight_init(
        quick=True, dataset="digits", out=tmp_path, epochs=1, verbose=False, inits=("He uniform", "Xavier N(0,1/n)")
    )
    for act in ("sigmoid", "relu"):
        assert {k: r["init"] for k, r in res["runs"][act].items()} == {
            "He uniform": "he-uniform",
            "Xavier N(0,1/n)": "xavier-fan-in",
        }
        for r in res["runs"][act].values():
            loss = r["history"]["train_loss"][-1]
            # ReLU learns within the epoch; the 5-deep sigmoid net barely moves (the lesson of the experiment)
            assert loss < np.log(10) if act == "relu" else np.isfinite(loss)


def test_batch_norm_experiment_with_the_notes_inference_statistics(tmp_path):
    res = kn.experiments.batch_norm(
        quick=True, dataset="digits", out=tmp_path, epochs=2, verbose=False, scales=[0.1], bn_inference="average"
    )
    assert res["bn_inference"] == "average"
    assert res["results"][0]["bn"]["final_test_accuracy"] > 0.5


def test_optimizers_experiment_with_eps_inside(tmp_path):
    res = kn.experiments.optimizers(
        quick=True, dataset="digits", out=tmp_path, epochs=1, verbose=False, eps_placement="inside"
    )
    assert all(np.isfinite(r["step_loss"][-1]) for r in res["runs"].values())
