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
