"""Shared data for the beyond-one-model tests: digits loaded once per session."""

from __future__ import annotations

import pytest

import kisonet as kn


@pytest.fixture(scope="session")
def digits():
    """``((X, y), (X_test, y_test))`` of the embedded digits set (1438 / 359 images, 1x8x8 in [0, 1])."""
    ds = kn.data.load_dataset("digits")
    return ds.train, ds.test
