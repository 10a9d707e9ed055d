"""kisonet.allocator: freed step memory is kept for the next step (no page faults)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

import kisonet as kn
from kisonet import allocator

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)

# Training steps of a small CNN (activations of a few MB each, made and freed every step)
# with the minor page faults counted after a warm-up.
_PROBE = """
import resource
import numpy as np
import kisonet as kn
from kisonet import nn
kn.manual_seed(0)
model = kn.models.SimpleCNN((1, 28, 28), 10)
opt = kn.optim.SGD(model.parameters(), lr=0.01)
rng = np.random.default_rng(0)
x = kn.tensor(rng.standard_normal((100, 1, 28, 28)).astype(np.float32))
y = rng.integers(0, 10, 100)
def step():
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
for _ in range(3):
    step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) // 5, kn.allocator.settings())
"""


def _faults(env_value: str | None) -> tuple[int, str]:
    import os

    env = dict(os.environ)
    env.pop("KISONET_MALLOC", None)
    if env_value is not None:
        env["KISONET_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True).stdout
    n, settings = out.split(" ", 1)
    return int(n), settings.strip()


@glibc
def test_importing_kisonet_changes_no_malloc_setting():
    code = "import kisonet as kn; print(kn.allocator.settings())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "{}"


@glibc
def test_training_keeps_freed_memory_and_avoids_page_faults():
    tuned, settings = _faults(None)
    default, default_settings = _faults("default")
    assert "trim_threshold_mb" in settings and default_settings == "{}"
    # Measured: ~4,000 faults per step with glibc's defaults (16 MB of fresh pages), ~0 kept.
    assert default > 1_000, default
    assert tuned < default / 10, (tuned, default)


@glibc
def test_keep_freed_memory_reports_its_settings():
    before = allocator.settings()
    try:
        assert allocator.keep_freed_memory(trim_threshold_mb=64, mmap_threshold_mb=16)
        assert allocator.settings() == {"trim_threshold_mb": 64, "mmap_threshold_mb": 16}
    finally:
        allocator.keep_freed_memory(**before)  # what the first optimizer had set


@pytest.mark.parametrize(
    "kwargs,phrase",
    [
        (dict(trim_threshold_mb=-1), "trim_threshold_mb must be an int >= 0"),
        (dict(mmap_threshold_mb=64), "mmap_threshold_mb must be <= 32"),
        (dict(trim_threshold_mb=1.5), "trim_threshold_mb must be an int"),
    ],
)
def test_keep_freed_memory_rejects_bad_limits(kwargs, phrase):
    with pytest.raises(kn.KisonetValueError, match=phrase):
        allocator.keep_freed_memory(**kwargs)
