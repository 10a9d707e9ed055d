"""Pruning: magnitude criteria, global vs layer-wise, structured units, masks during fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import compress as C  # noqa: N812
from kisonet import nn
from kisonet.models import MLP, SimpleCNN


def _data(rng, n=128, d=12):
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    return X, y


def test_l1_unstructured_prunes_the_smallest_magnitudes(rng):
    lin = nn.Linear(10, 8)
    w = lin.weight.data.copy()
    C.l1_unstructured(lin, "weight", amount=0.3)
    n = round(0.3 * w.size)
    pruned = lin.weight.data == 0
    assert pruned.sum() == n
    assert np.abs(w[pruned]).max() <= np.abs(w[~pruned]).min()
    np.testing.assert_array_equal(lin.weight.data[~pruned], w[~pruned])
    # amounts are totals: pruning to 0.5 afterwards keeps the first mask and adds to it
    C.l1_unstructured(lin, "weight", amount=0.5)
    assert (lin.weight.data == 0).sum() == round(0.5 * w.size) and np.all(lin.weight.data[pruned] == 0)


def test_global_threshold_differs_from_layer_wise(rng):
    model = MLP(10, (20,), 5)
    model.layers[1].weight.data *= 10  # the first layer has the big weights
    import copy

    assert C.sparsity(C.magnitude_prune(copy.deepcopy(model), 0.0))["global"] == 0.0
    orig = [np.abs(m.weight.data) for _, m in C.prunable_layers(model)]

    g = C.magnitude_prune(copy.deepcopy(model), 0.6, scope="global")
    lw = C.magnitude_prune(copy.deepcopy(model), 0.6, scope="layer")
    sg, sl = C.sparsity(g), C.sparsity(lw)
    total = sum(m.weight.size for _, m in C.prunable_layers(model))
    assert sg["global"] == pytest.approx(round(0.6 * total) / total)
    assert sl["layers.1"] == pytest.approx(0.6) and sl["layers.3"] == pytest.approx(0.6)
    # one threshold: the small-weight layer loses almost everything, the big one little
    assert sg["layers.3"] > 0.95 and sg["layers.1"] < 0.6
    pruned = [m.weight.data == 0 for _, m in C.prunable_layers(g)]
    thr = max(o[p].max(initial=0) for o, p in zip(orig, pruned, strict=True))
    kept_min = min(o[~p].min(initial=np.inf) for o, p in zip(orig, pruned, strict=True))
    assert kept_min >= thr  # every kept weight is larger than every pruned one, across layers


@pytest.mark.parametrize("n", [1, 2])
def test_structured_pruning_removes_whole_units(rng, n):
    conv = nn.Conv2d(2, 6, 3)
    w = conv.weight.data.copy()
    C.ln_structured(conv, "weight", amount=0.5, n=n, dim=0)
    norms = np.abs(w).sum(axis=(1, 2, 3)) if n == 1 else np.sqrt((w**2).sum(axis=(1, 2, 3)))
    gone = np.argsort(norms)[:3]
    dead = np.all(conv.weight.data == 0, axis=(1, 2, 3))
    assert set(np.flatnonzero(dead)) == set(gone)
    assert np.all(conv.bias.data[gone] == 0)
    y = conv(kn.tensor(rng.standard_normal((2, 2, 5, 5)).astype(np.float32))).data
    assert np.all(y[:, gone] == 0) and np.all(np.abs(y[:, ~dead]).sum(axis=(0, 2, 3)) > 0)


def test_structured_model_pruning_spares_the_classifier():
    model = SimpleCNN((1, 10, 10), 3, channels=4, hidden=6)
    C.magnitude_prune(model, 0.5, scope="layer", structured=True)
    sp = C.sparsity(model)
    assert sp["layers.1"] == pytest.approx(0.5) and sp["layers.5"] == pytest.approx(0.5)
    assert sp["layers.7"] == 0.0  # the output layer's units are the classes
    with pytest.raises(ValueError, match="layer-wise"):
        C.magnitude_prune(model, 0.5, scope="global", structured=True)


@pytest.mark.parametrize("opt", ["adam", "momentum"])
def test_pruned_weights_stay_zero_through_fine_tuning(rng, opt):
    X, y = _data(rng)

    def run(callback: bool):
        kn.manual_seed(0)
        model = MLP(12, (16,), 2)
        make = kn.optim.Adam if opt == "adam" else lambda p, lr: kn.optim.SGD(p, lr=lr, momentum=0.9)
        optimizer = make(model.parameters(), lr=0.05)
        trainer = kn.train.Trainer(
            model,
            "cross_entropy",
            optimizer,
            progress=False,
            seed=0,
            callbacks=[C.PruningCallback(model)] if callback else [],
        )
        trainer.fit((X, y), epochs=1, batch_size=32)  # optimizer state (momentum) builds up first
        C.magnitude_prune(model, 0.7)
        masks = [m.weight.data == 0 for _, m in C.prunable_layers(model)]
        trainer.fit((X, y), epochs=2, batch_size=32)
        return [np.all(m.weight.data[z] == 0) for (_, m), z in zip(C.prunable_layers(model), masks, strict=True)]

    assert all(run(callback=True))
    assert not all(run(callback=False))  # without the callback momentum revives them


def test_remove_bakes_masks_in_and_state_dict_stays_loadable():
    model = MLP(6, (5,), 3)
    C.magnitude_prune(model, 0.5)
    assert C.is_pruned(model)
    state = model.state_dict()
    assert not any(k.endswith("_mask") for k in state)  # masks are not saved: a plain model loads the state
    MLP(6, (5,), 3).load_state_dict(state)
    zeros = [m.weight.data == 0 for _, m in C.prunable_layers(model)]
    C.remove(model)
    assert not C.is_pruned(model)
    assert all(np.all(m.weight.data[z] == 0) for (_, m), z in zip(C.prunable_layers(model), zeros, strict=True))
    C.masks_from_zeros(model)
    assert C.is_pruned(model)


def test_cubic_schedule_and_iterative_pruning_reach_the_target(rng):
    levels = C.prune.schedule(0.9, 4)
    assert levels[-1] == pytest.approx(0.9) and all(a < b for a, b in zip(levels, levels[1:], strict=False))
    assert levels[0] == pytest.approx(0.9 * (1 - 0.75**3))
    X, y = _data(rng)
    model = MLP(12, (32,), 2)
    hist = C.prune.iterative_prune(
        model, (X, y), target=0.8, steps=3, epochs_per_step=1, fine_tune_epochs=1, lr=0.01, batch_size=32
    )
    assert hist["sparsity"] == pytest.approx([*C.prune.schedule(0.8, 3), 0.8], abs=2e-3)
    assert C.sparsity(model)["global"] == pytest.approx(0.8, abs=2e-3)
    assert not C.is_pruned(model)  # baked


def test_sparse_file_is_small_and_round_trips(tmp_path, rng):
    model = MLP(400, (128,), 10)
    cfg = {"spec": "mlp:128", "input_shape": [400], "n_classes": 10}
    dense = C.save_model(model, tmp_path / "dense.npz", cfg).stat().st_size
    C.magnitude_prune(model, 0.9)
    path = C.save_model(model, tmp_path / "sparse.npz", cfg)
    assert path.stat().st_size < 0.2 * dense  # bitmap (1/32) + 10% of the values, vs all values
    back, _ = C.load_model(path)
    x = kn.tensor(rng.standard_normal((3, 400)).astype(np.float32))
    np.testing.assert_array_equal(back(x).data, model(x).data)


def test_bad_amount_raises():
    with pytest.raises(ValueError, match="amount"):
        C.l1_unstructured(nn.Linear(2, 2), amount=1.5)
    with pytest.raises(ValueError, match="scope"):
        C.magnitude_prune(MLP(2, (2,), 2), 0.5, scope="everywhere")
