"""Shared fixtures for the core's tests."""

from __future__ import annotations

import numpy as np
import pytest

import had.plugins


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Tests that register plugins in-process must not leak them into others."""
    yield
    had.plugins.reset()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def correlated_scene():
    """A correlated 61x37x12 float32 scene (2257 pixels), bands on very different scales, two planted anomalies
    (the RX tile and threshold-sample tests)."""
    rng = np.random.default_rng(7)
    mixing = rng.normal(size=(12, 12)) * np.logspace(0, 3, 12)
    X = rng.normal(size=(61, 37, 12)) @ mixing + 500.0
    X[5, 5] += 40.0 * mixing[0]
    X[40, 20] -= 30.0 * mixing[3]
    return X.astype(np.float32)
