"""Helpers for tests that read files from HAD_DATA_DIR: skip with the reason when a file is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io


def data_dir() -> Path | None:
    env = os.environ.get("HAD_DATA_DIR")
    return Path(env) if env else None


def real_file(relpath: str) -> Path:
    """The path of a file under HAD_DATA_DIR, or skip the test with the reason."""
    root = data_dir()
    if root is None:
        pytest.skip(f"HAD_DATA_DIR is not set; {relpath} is needed (CI sets HAD_DATA_DIR=../shared/data)")
    path = root / relpath
    if not path.is_file():
        pytest.skip(f"{relpath} is not in HAD_DATA_DIR={root}")
    return path


def scene(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(cube, 0/1 map) of a .mat scene under hsi/."""
    content = scipy.io.loadmat(real_file(f"hsi/{name}.mat"))
    return content["data"], (content["map"] > 0).astype(np.int8)
