"""The registries: one home per named family, forgiving lookup, one-line unknown-name errors."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.errors import KisonetValueError
from kisonet.registry import Registry


def test_registry_lookup_aliases_and_mapping() -> None:
    reg: Registry[int] = Registry("colour")
    reg.add("red", 1, "warm", aliases=("rouge",), hex="#f00")
    reg.add("light-blue", 2, "cold")
    assert reg.names() == ("red", "light-blue")
    assert reg.get("RED") == 1 and reg.get("rouge") == 1 and reg.get("light_blue") == 2
    assert reg.canonical(" Rouge ") == "red"
    assert reg.entry("red").hex == "#f00" and reg.entry("red").description == "warm"
    assert "light_blue" in reg and "green" not in reg
    assert dict(reg) == {"red": 1, "light-blue": 2} and len(reg) == 2
    assert reg.get("green", None) is None
    assert reg.describe() == [("red", "warm"), ("light-blue", "cold")]
    assert "| `red` | warm |" in reg.table()
    with pytest.raises(KeyError):
        reg["green"]
    with pytest.raises(KisonetValueError, match="registered twice"):
        reg.add("Red", 3)


def test_unknown_name_is_one_line_with_the_closest() -> None:
    reg: Registry[int] = Registry("colour")
    reg.add("red", 1)
    reg.add("green", 2)
    with pytest.raises(KisonetValueError) as e:
        reg.get("gren")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == "unknown colour 'gren' (did you mean 'green'?); choose from: green, red"


@pytest.mark.parametrize(
    ("registry", "bad", "closest"),
    [
        (kn.optim.OPTIMIZERS, "adm", "adam"),
        (kn.optim.lr_scheduler.SCHEDULES, "cosin", "cosine"),
        (kn.nn.activation.ACTIVATIONS, "rellu", "relu"),
        (kn.nn.init.INITS, "xavir", "xavier"),
        (kn.models.MODELS, "lenett", "lenet"),
        (kn.data.DATASETS, "mnsit", "mnist"),
        (kn.data.transforms.PRESETS, "digit", "digits"),
    ],
)
def test_every_family_registry_suggests_the_closest(registry: Registry, bad: str, closest: str) -> None:
    with pytest.raises(KisonetValueError, match=f"did you mean '{closest}'"):
        registry.get(bad)
    assert all(desc for _, desc in registry.describe()), "every entry has a description"


def test_distributed_modes_registry() -> None:
    from kisonet.distributed.modes import MODES

    assert MODES.names() == ("none", "sync", "async", "pipeline")
    assert MODES.entry("async").min_ranks == 2


def test_optimizer_registry_builds_each_with_its_defaults() -> None:
    from kisonet.optim.registry import check_momentum, optimizer_options, train_optimizers

    p = [kn.nn.Parameter(kn.zeros(3))]
    assert train_optimizers() == (
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adabelief",
    )  # fmt: skip
    for name in kn.optim.OPTIMIZERS:
        entry = kn.optim.OPTIMIZERS.entry(name)
        opt = kn.optim.make_optimizer(name, p, 0.5)
        assert isinstance(opt, entry.value) and opt.param_groups[0]["lr"] == 0.5
    assert kn.optim.make_optimizer("adam", p).param_groups[0]["lr"] == 0.001  # default_lr
    nest = kn.optim.make_optimizer("Nesterov", p)
    assert nest.param_groups[0]["nesterov"] and nest.param_groups[0]["momentum"] == 0.9
    assert kn.optim.make_optimizer("momentum", p, momentum=0.5).param_groups[0]["rho"] == 0.5
    assert kn.optim.make_optimizer("AdamW", p).param_groups[0]["weight_decay"] == 0.01  # class default kept
    assert kn.optim.make_optimizer("adam", p, betas=(0.8, 0.9)).param_groups[0]["betas"] == (0.8, 0.9)
    assert "betas" in optimizer_options("adam") and "momentum" in optimizer_options("rmsprop")
    with pytest.raises(KisonetValueError, match="no option 'beta'.*did you mean 'betas'"):
        kn.optim.make_optimizer("adam", p, beta=(0.8, 0.9))
    with pytest.raises(KisonetValueError, match="adam optimizer has no momentum option; use it with sgd, momentum"):
        check_momentum("adam", 0.9)
    with pytest.raises(KisonetValueError, match="nesterov needs a momentum > 0, got 0"):
        check_momentum("nesterov", 0.0)
    with pytest.raises(KisonetValueError, match="gd optimizer needs an lr"):
        kn.optim.make_optimizer("gd", p)


def test_schedule_grammar_has_one_parser() -> None:
    from kisonet.optim import lr_scheduler as S  # noqa: N812

    assert S.parse_spec("STEP:10") == "step:10,0.1"
    assert S.parse_spec("warmup_cosine") == "warmup-cosine:1"
    assert S.parse_spec("restarts:5") == "restarts:5,1"
    opt = kn.optim.SGD([kn.nn.Parameter(kn.zeros(2))], lr=1.0)
    sched = S.from_spec("step:2,0.5", opt, epochs=10)
    assert isinstance(sched, S.StepLR) and sched.step_size == 2 and sched.gamma == 0.5
    assert S.from_spec("constant", opt) is None
    assert isinstance(S.from_spec("cosine", opt, 5), S.CosineAnnealingLR)
    with pytest.raises(KisonetValueError, match=r"expected step:EVERY,GAMMA \(EVERY a positive integer"):
        S.parse_spec("step:0")
    with pytest.raises(KisonetValueError, match="takes no ':' arguments"):
        S.parse_spec("cosine:3")
    with pytest.raises(KisonetValueError, match="warm-up of 5 epochs must be shorter"):
        S.from_spec("warmup-cosine:5", opt, 5)
    with pytest.raises(KisonetValueError, match="needs the number of epochs"):
        S.from_spec("cosine", opt)


def test_model_activation_init_registries_drive_the_builders() -> None:
    model = kn.models.build_model("mlp:7", (4,), 3, activation="leaky_relu", init="he_uniform")
    assert any(isinstance(m, kn.nn.LeakyReLU) for m in model.modules())
    assert kn.models.parse_spec("MLP:8,4") == "mlp:8,4"
    assert kn.nn.init.parse_init("he_normal") == "he" and kn.nn.init.parse_init("normal:0.10") == "normal:0.1"
    assert "normal:STD" in kn.nn.init.init_forms()
    w = kn.nn.Parameter(kn.zeros((50, 40)))
    kn.nn.init.init_layer_(w, None, "normal:2")
    assert 1.5 < float(np.std(w.data)) < 2.5
    assert kn.data.DATASETS.canonical("cifar-10") == "cifar10" and kn.data.DATASETS.canonical("Breast_Cancer")


def test_the_cli_offers_what_the_registries_hold() -> None:
    from kisonet.cli import options as O  # noqa: N812

    assert O.OPTIMIZERS == kn.optim.registry.train_optimizers()
    assert O.DEFAULT_LR["sgd"] == kn.optim.OPTIMIZERS.entry("sgd").default_lr
    assert O.AUGMENTS == ("none", *kn.data.transforms.PRESETS)
    assert O.parse_schedule("step:3", "--schedule") == "step:3,0.1"
    with pytest.raises(O.UsageError, match="^--init: unknown init 'hee'"):
        O.parse_init("hee", "--init")
