"""A tiny image set for the tests (a module of its own: `conftest` names clash across test folders)."""

from __future__ import annotations

import numpy as np


def tiny_images(n: int = 24, side: int = 16, seed: int = 0):
    """(X, y): `n` one-channel images in [0, 1], the last 4 anomalous (a bright square on a smooth pattern)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    base = 0.5 + 0.25 * np.sin(2 * np.pi * (xx + yy))
    X = np.clip(base[None, None] + 0.05 * rng.normal(size=(n, 1, side, side)), 0, 1).astype(np.float32)
    y = np.zeros(n, dtype=np.int8)
    y[-4:] = 1
    X[-4:, :, 4:10, 4:10] = 1.0
    return X, y
