"""kisonet.distributed under real MPI: N ranks launched with mpiexec from the test.

Each launch runs scenarios of ``mpi_scenarios.py``; rank 0 saves the results and
the single-process references are computed here, in-process, without MPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn
from kisonet import distributed as dist
from kisonet import nn

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "mpi_scenarios.py"
sys.path.insert(0, str(HERE))
import mpi_scenarios as sc  # noqa: E402

from kisonet.train import Trainer  # noqa: E402


def _mpiexec() -> str | None:
    # the venv's own launcher first: it matches the mpi4py the venv imports
    here = Path(sys.executable).parent / "mpiexec"
    if here.exists():
        return str(here)
    return shutil.which("mpiexec")


def _skip_reason() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'kisonet[mpi]')"
    if _mpiexec() is None:
        return "no mpiexec next to the Python interpreter or on PATH (pip install 'kisonet[mpi]')"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def mpirun(n: int, *args: str, timeout: float = 90, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [_mpiexec(), "-n", str(n), sys.executable, *args]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi2")
    names = ["sync-sgd", "sync-buckets", "sync-adam", "sync-bn", "pipeline-4", "pipeline-1", "async-none"]
    res = mpirun(2, str(SCENARIOS), str(out), *names)
    assert res.returncode == 0, res.stderr[-3000:]
    return {n: dict(np.load(out / f"{n}.npz")) for n in names}


def _reference_sync(opt_kind: str, batch_norm: bool = False):
    """A plain single-process Trainer with batch B: its DataLoader(seed=3) draws the
    permutations the DistributedSampler(seed=3) shards."""
    X, y = sc.make_data()
    model = sc.make_mlp(batch_norm)
    tr = Trainer(model, "cross_entropy", sc.make_opt(opt_kind, model.parameters()), progress=False, seed=3)
    tr.fit((X, y), epochs=sc.EPOCHS, batch_size=sc.GLOBAL_BATCH)
    return model, tr.history


def _assert_state_close(model, saved, atol):
    for k, v in model.state_dict().items():
        got = saved[k.replace(".", "_")]
        np.testing.assert_allclose(got, v, rtol=1e-4, atol=atol, err_msg=k)


@pytest.mark.parametrize("opt_kind", ["sgd", "adam"])
def test_sync_two_ranks_equal_one_process_with_global_batch(two_rank_results, opt_kind):
    r = two_rank_results[f"sync-{opt_kind}"]
    assert r["spread"] == 0.0  # the replicas are bit-identical (rank 1 started from other weights)
    model, hist = _reference_sync(opt_kind)
    _assert_state_close(model, r, atol=2e-5)
    np.testing.assert_allclose(r["loss"], hist["train_loss"], rtol=1e-4)  # averaged over ranks
    # and training moved the weights far beyond the tolerance
    assert np.abs(r["2_weight"] - sc.make_mlp().state_dict()["2.weight"]).max() > 1e-2


def test_sync_bucketed_allreduce_gives_the_same_result(two_rank_results):
    r = two_rank_results["sync-buckets"]
    assert int(r["buckets"]) > 3  # 1 KB buckets over 1,251 parameters
    assert int(r["comm_steps"]) == sc.EPOCHS * sc.N_SAMPLES // sc.GLOBAL_BATCH  # one reduction per step
    model, _ = _reference_sync("sgd")
    _assert_state_close(model, r, atol=2e-5)


def test_flat_buffer_round_trip():
    model = sc.make_mlp()
    params = list(model.parameters())
    flat = dist.FlatBuffer(params, bucket_bytes=400)
    assert flat.numel == sum(p.size for p in params) and flat.buffer.dtype == np.float32
    assert sum(b.size for b in flat.buckets) == flat.numel and all(b.nbytes <= 400 for b in flat.buckets)
    for i, p in enumerate(params):
        p.grad = np.full(p.shape, i, dtype=np.float32)
    params[1].grad = None  # a parameter without gradient contributes zeros
    buf = flat.pack_grads()
    assert buf[flat.offsets[0] : flat.offsets[1]].tolist() == [0.0] * params[0].size
    assert not buf[flat.offsets[1] : flat.offsets[2]].any()
    buf *= 2
    flat.unpack_grads()
    assert np.shares_memory(params[2].grad, flat.buffer) and (params[2].grad == 4).all()
    before = [p.data.copy() for p in params]
    flat.pack_params()
    for p in params:
        p.data[...] = 0
    flat.unpack_params()
    assert all(np.array_equal(a, p.data) for a, p in zip(before, params, strict=True))


def test_sync_batchnorm_equals_batchnorm_on_the_global_batch(two_rank_results):
    r = two_rank_results["sync-bn"]
    model, _ = _reference_sync("sgd", batch_norm=True)
    _assert_state_close(model, r, atol=2e-5)  # weights and running statistics
    assert r["1_num_batches_tracked"] == 2 * sc.N_SAMPLES // sc.GLOBAL_BATCH


def test_per_rank_batchnorm_differs_from_global(two_rank_results):
    """Plain BatchNorm normalises each rank's half-batch: not the single-process result."""
    X, y = sc.make_data()
    bn_global = nn.BatchNorm1d(N := 4)
    x = kn.tensor(X[:16, :N])
    full = bn_global(x).data
    halves = np.concatenate(
        [nn.BatchNorm1d(N)(kn.tensor(X[:8, :N])).data, nn.BatchNorm1d(N)(kn.tensor(X[8:16, :N])).data]
    )
    assert np.abs(full - halves).max() > 1e-2


@pytest.mark.parametrize("chunks", [4, 1])
def test_pipeline_equals_single_process(two_rank_results, chunks):
    r = two_rank_results[f"pipeline-{chunks}"]
    assert list(r["layers"]) == [2, 3]  # Linear(20, 32), ReLU | Linear(32, 16), Tanh, Linear(16, 3)
    X, y = sc.make_data()
    model = sc.make_mlp()
    tr = Trainer(model, "cross_entropy", sc.make_opt("adam", model.parameters()), progress=False, seed=5)
    tr.fit((X, y), val=(X[:32], y[:32]), epochs=sc.EPOCHS, batch_size=sc.GLOBAL_BATCH)
    _assert_state_close(model, r, atol=2e-5)
    np.testing.assert_allclose(r["loss"], tr.history["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(r["val_loss"], tr.history["val_loss"], rtol=1e-4)


def test_async_with_one_worker_is_plain_sgd(two_rank_results):
    """Server + one worker: no staleness, so exactly the sequential SGD run."""
    r = two_rank_results["async-none"]
    model, hist = _reference_sync("sgd")  # same batch 16, same shard (1 worker = all data)
    _assert_state_close(model, r, atol=2e-5)
    assert int(r["updates"]) == sc.EPOCHS * sc.N_SAMPLES // sc.GLOBAL_BATCH
    assert int(r["staleness_max"]) == 0


def test_async_three_ranks_trains_with_bounded_staleness(tmp_path):
    epochs = 6
    res = mpirun(3, str(SCENARIOS), str(tmp_path), f"async-0-{epochs}", f"async-none-{epochs}")
    assert res.returncode == 0, res.stderr[-3000:]
    X, y = sc.make_data()
    acc0 = Trainer(sc.make_mlp(), "cross_entropy", progress=False).evaluate((X, y))["accuracy"]
    for name in (f"async-0-{epochs}", f"async-none-{epochs}"):
        r = dict(np.load(tmp_path / f"{name}.npz"))
        assert int(r["updates"]) == epochs * sc.N_SAMPLES // sc.GLOBAL_BATCH  # 2 workers x half the data
        assert len(r["loss"]) == epochs and r["loss"][-1] < 0.8 * r["loss"][0]
        assert float(r["accuracy"]) > acc0 + 0.2
    # with max_staleness=0 and W=2 workers a gradient is at most (W-1)(2s+1) = 1 update old
    assert int(np.load(tmp_path / f"async-0-{epochs}.npz")["staleness_max"]) <= 1


@pytest.mark.parametrize("kind,needle", [("raise", "boom on rank 1"), ("timeout", "no completion after")])
def test_a_failing_rank_ends_every_rank_quickly(tmp_path, kind, needle):
    t0 = time.perf_counter()
    res = mpirun(2, str(SCENARIOS), str(tmp_path), f"error-{kind}", timeout=60)
    elapsed = time.perf_counter() - t0
    assert res.returncode != 0
    assert needle in res.stderr
    assert "aborting all 2 ranks" in res.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"


def test_sampler_shards_are_disjoint_and_cover_the_epoch():
    n, R = 103, 4
    shards = [dist.DistributedSampler(n, num_replicas=R, rank=r, seed=7).indices() for r in range(R)]
    assert {len(s) for s in shards} == {26}  # padded to 104 so every rank takes the same steps
    allidx = np.concatenate(shards)
    assert set(allidx) == set(range(n)) and len(allidx) == 104
    ep1 = []
    for r in range(R):
        s = dist.DistributedSampler(n, num_replicas=R, rank=r, seed=7)
        s.set_epoch(1)
        ep1.append(s.indices())
    assert not np.array_equal(ep1[0], shards[0])  # reshuffled per epoch
    assert set(np.concatenate(ep1)) == set(range(n))
    # interleaved shards of per-rank batch b form the single-process DataLoader's batches of B = R b
    loader = kn.data.DataLoader(kn.data.ArrayDataset(np.arange(n - 3), np.arange(n - 3)), batch_size=20, seed=7)
    for epoch, batches in enumerate([list(loader), list(loader)]):
        samplers = [dist.DistributedSampler(n - 3, num_replicas=R, rank=r, seed=7) for r in range(R)]
        for s in samplers:
            s.set_epoch(epoch)
        parts = [s.indices() for s in samplers]
        for k, (xb, _) in enumerate(batches):
            assert set(np.concatenate([p[5 * k : 5 * (k + 1)] for p in parts])) == set(xb)


def test_split_sequential_balances_parameters():
    model = sc.make_mlp()
    stages = dist.split_sequential(model, 2)
    assert [len(s) for s in stages] == [2, 3]  # 672 | 579 parameters
    assert [len(s) for s in dist.split_sequential(model, 3)] == [2, 2, 1]
    assert [len(s) for s in dist.split_sequential(model, 5)] == [1, 1, 1, 1, 1]
    assert [len(s) for s in dist.split_sequential(model, 3, balance=[1, 1, 3])] == [1, 1, 3]
    with pytest.raises(kn.KisonetValueError, match="balance"):
        dist.split_sequential(model, 2, balance=[3, 3])


def test_import_without_mpi4py_and_clear_error(tmp_path):
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import kisonet.distributed as d\n"
        "try:\n    d.world()\nexcept d.DistributedError as e:\n    print('ERR', e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "ERR" in res.stdout and "kisonet[mpi]" in res.stdout


@pytest.mark.parametrize("mode,n", [("sync", 2), ("async", 2), ("pipeline", 2)])
def test_cli_train_distributed_writes_one_run_folder(tmp_path, mode, n):
    import json

    out = tmp_path / "run"
    res = mpirun(
        n, "-m", "kisonet", "train", "--distributed", mode, "--epochs", "1", "--model", "mlp:64",
        "--out", str(out), "--no-progress", timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("kisonet train:") == 1  # rank 0 alone prints
    assert res.stdout.count("run folder:") == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == n and metrics["epochs"] == 1
    assert metrics["test_accuracy"] > 0.8  # digits after one epoch (chance: 0.1)
    config = json.loads((out / "config.json").read_text())
    assert config["distributed"] == mode
    assert (out / "model.npz").exists() and (out / "history.csv").read_text().count("\n") == 2
    # the saved model is a plain model: evaluate reloads it without MPI
    ev = subprocess.run(
        [sys.executable, "-m", "kisonet", "evaluate", str(out)], capture_output=True, text=True, timeout=60
    )
    assert ev.returncode == 0, ev.stderr


def test_cli_refuses_modes_that_need_more_ranks(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "kisonet", "train", "--distributed", "pipeline", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "needs at least 2 MPI ranks" in res.stderr
