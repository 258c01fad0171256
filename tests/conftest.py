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
