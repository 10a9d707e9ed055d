"""Model builders: shapes, architecture of the named models, options, user builders, errors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetTypeError, KisonetValueError, ShapeError
from kisonet.models import MLP, LeNet, SimpleCNN, build_model


def _kinds(model):
    return [type(m).__name__ for m in model.modules()]


def _n_params(model):
    return sum(p.data.size for p in model.parameters())


def test_mlp_spec_sizes_and_output():
    m = build_model("mlp:256,128", (1, 8, 8), 10)
    linears = [x for x in m.modules() if isinstance(x, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64, 256), (256, 128), (128, 10)]
    out = m(kn.tensor(np.zeros((5, 1, 8, 8), np.float32)))
    assert out.shape == (5, 10) and out.dtype == np.float32
    assert _kinds(build_model("mlp", (64,), 3)).count("Linear") == 3  # bare 'mlp' is 256,128
    assert _kinds(build_model("mlp:", (4,), 3)).count("Linear") == 1  # no hidden layer: softmax regression


def test_simple_cnn_is_the_notes_simpleconvnet():
    m = build_model("simple-cnn", (1, 28, 28), 10)
    conv = next(x for x in m.modules() if isinstance(x, nn.Conv2d))
    assert conv.weight.shape == (30, 1, 5, 5)
    linears = [x for x in m.modules() if isinstance(x, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(30 * 12 * 12, 100), (100, 10)]
    assert _kinds(m).count("MaxPool2d") == 1 and _kinds(m).count("ReLU") == 2
    assert m(kn.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)
    # the 8x8 digits fit too, and a flat square input is read as one channel
    assert build_model("simple-cnn", (64,), 10)(kn.tensor(np.zeros((3, 64), np.float32))).shape == (3, 10)


def test_lenet_shapes_and_batch_norm():
    m = build_model("lenet", (1, 28, 28), 10, batch_norm=True, dropout=0.5)
    kinds = _kinds(m)
    assert kinds.count("Conv2d") == 2 and kinds.count("BatchNorm2d") == 2 and kinds.count("BatchNorm1d") == 2
    assert kinds.count("Dropout") == 2
    assert m(kn.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)
    assert LeNet((3, 32, 32), 10)(kn.tensor(np.zeros((2, 3, 32, 32), np.float32))).shape == (2, 10)
    assert LeNet((1, 8, 8), 10)(kn.tensor(np.zeros((2, 1, 8, 8), np.float32))).shape == (2, 10)


@pytest.mark.parametrize(
    "name,cls", [("relu", nn.ReLU), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("leaky-relu", nn.LeakyReLU)]
)
def test_activation_option(name, cls):
    m = build_model("mlp:8,8", (4,), 2, activation=name)
    assert sum(isinstance(x, cls) for x in m.modules()) == 2


def test_options_dropout_batch_norm_and_init():
    m = MLP(4, (8, 8), 3, dropout=0.25, batch_norm=True)
    kinds = _kinds(m)
    assert kinds.count("Dropout") == 2 and kinds.count("BatchNorm1d") == 2
    z = build_model("mlp:8", (4,), 3, init="zeros")
    assert all(np.all(p.data == 0) for p in z.parameters())
    kn.manual_seed(0)
    s = build_model("simple-cnn", (1, 8, 8), 10, init="normal:0.5")
    conv = next(x for x in s.modules() if isinstance(x, nn.Conv2d))
    assert 0.4 < conv.weight.data.std() < 0.6


def test_same_seed_same_weights():
    kn.manual_seed(7)
    a = build_model("simple-cnn", (1, 8, 8), 10).state_dict()
    kn.manual_seed(7)
    b = build_model("simple-cnn", (1, 8, 8), 10).state_dict()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_models_learn_a_tiny_problem():
    X, y = kn.data.load_dataset("digits").train
    X, y = X[:128], y[:128]
    for model in (SimpleCNN((1, 8, 8), 10), MLP((1, 8, 8), (32,), 10)):
        opt = kn.optim.Adam(model.parameters(), lr=0.01)
        first = None
        for _ in range(15):
            opt.zero_grad()
            loss = kn.nn.functional.cross_entropy(model(kn.tensor(X)), kn.tensor(y))
            loss.backward()
            opt.step()
            first = float(loss.data) if first is None else first
        assert float(loss.data) < 0.5 * first


def test_user_builder(tmp_path, monkeypatch):
    (tmp_path / "zoo_for_test.py").write_text(
        "import kisonet as kn\n"
        "def wide(input_shape, n_classes, dropout=0.0):\n"
        "    return kn.models.MLP(input_shape, (17,), n_classes, dropout=dropout)\n"
        "def not_a_model(**kw):\n"
        "    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    m = build_model("zoo_for_test:wide", (4,), 3, dropout=0.1, batch_norm=False)
    assert m.layers[1].out_features == 17 and _kinds(m).count("Dropout") == 1
    with pytest.raises(KisonetTypeError, match="expected a kisonet.nn.Module"):
        build_model("zoo_for_test:not_a_model", (4,), 3)
    with pytest.raises(KisonetValueError, match="did you mean 'wide'"):
        build_model("zoo_for_test:wid", (4,), 3)
    with pytest.raises(KisonetValueError, match="cannot import module"):
        build_model("no_such_module_xyz:f", (4,), 3)


def test_errors_name_the_problem():
    with pytest.raises(KisonetValueError, match="did you mean 'lenet'"):
        build_model("lenett", (1, 8, 8), 10)
    with pytest.raises(KisonetValueError, match="did you mean 'relu'"):
        build_model("mlp:8", (4,), 2, activation="rellu")
    with pytest.raises(ShapeError, match=r"SimpleCNN.*\(1, 3, 3\)"):
        build_model("simple-cnn", (1, 3, 3), 10)
    with pytest.raises(ShapeError, match="image input"):
        build_model("lenet", (10,), 2)
    with pytest.raises(KisonetValueError, match="dropout"):
        MLP(4, (8,), 2, dropout=1.0)


def test_alexnet_layers_width_and_shapes():
    from kisonet import nn
    from kisonet.models import AlexNet, build_model, parse_spec

    full = AlexNet((3, 32, 32), 10)
    convs = [m for m in full.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 192, 384, 256, 256]
    assert sum(isinstance(m, nn.MaxPool2d) for m in full.modules()) == 3
    linears = [m for m in full.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(256 * 4 * 4, 4096), (4096, 4096), (4096, 10)]
    assert sum(isinstance(m, nn.Dropout) for m in full.modules()) == 2  # the paper's dropout 0.5 before each hidden
    small = build_model("alexnet:0.125", (1, 28, 28), 10, dropout=0.5)
    assert [c.out_channels for c in small.modules() if isinstance(c, nn.Conv2d)] == [8, 24, 48, 32, 32]
    assert small(kn.tensor(np.zeros((2, 784), dtype=np.float32))).shape == (2, 10)
    assert build_model("alexnet:0.0625", (1, 8, 8), 10)(kn.tensor(np.zeros((3, 64), dtype=np.float32))).shape == (3, 10)
    assert parse_spec("AlexNet:0.25") == "alexnet:0.25" and parse_spec("alexnet") == "alexnet"
    for bad in ("alexnet:0", "alexnet:wide", "alexnet:-1"):
        with pytest.raises(kn.errors.KisonetValueError, match="alexnet:0.25"):
            parse_spec(bad)
    with pytest.raises(kn.errors.ShapeError, match="8x8"):
        AlexNet((1, 4, 4), 10)


def test_kisonet_train_model_alexnet(tmp_path, capsys):
    from kisonet.cli import main

    out = tmp_path / "run"
    args = ["train", "--model", "alexnet:0.0625", "--epochs", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "alexnet:0.0625 on digits" in capsys.readouterr().out
    assert (out / "model.npz").exists()
    assert main(["train", "--model", "alexnet:big", "--out", str(tmp_path / "bad")]) == 2
    assert "alexnet:0.25" in capsys.readouterr().err
