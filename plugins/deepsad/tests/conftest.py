"""Shared test setup: one torch thread (the machines are shared; tiny MLPs are 30x slower with contended threads),
and real-data files from HAD_DATA_DIR that skip with the reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def real_file():
    """``real_file(relpath)``: the path of a file in HAD_DATA_DIR, or skip saying why it is absent."""

    def find(relpath: str) -> Path:
        env = os.environ.get("HAD_DATA_DIR")
        if not env:
            pytest.skip(f"real data: HAD_DATA_DIR is not set; needs {relpath}")
        path = Path(env).expanduser() / relpath
        if not path.is_file():
            pytest.skip(f"real data: {relpath} is not in HAD_DATA_DIR={env}")
        return path

    return find
