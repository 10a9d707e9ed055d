"""Shared fixtures: the torch oracle (skipped when absent), seeds, real MNIST files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import kisonet as kn

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("KISONET_TEST_MNIST", REPO.parent / "shared" / "data" / "mnist"))


@pytest.fixture
def torch():
    """The PyTorch module, for parity tests; skips the test when torch is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is a test oracle only; install torch to run parity tests")


@pytest.fixture(autouse=True)
def _seed_and_dtype():
    """Every test starts from seed 0 and the float32 default."""
    kn.manual_seed(0)
    kn.set_default_dtype(np.float32)
    yield
    kn.set_default_dtype(np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def mnist_dir():
    """The real MNIST t10k files (shared/data/mnist); skips when absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST test files not found at {MNIST_DIR}")
    return MNIST_DIR
