"""Test setup: one torch thread (the machines running these tests are small and shared; more threads are
slower there), and a tiny image set for the conformance kit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: make cxr_toy importable

from cxr_toy import tiny_images  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def images():
    return tiny_images()


@pytest.fixture
def real_file():
    """``real_file(relpath)``: the path of a file in HAD_DATA_DIR, or skip saying why it is absent."""

    def find(relpath: str) -> Path:
        env = os.environ.get("HAD_DATA_DIR")
        if not env:
            pytest.skip(f"real data: HAD_DATA_DIR is not set (CI sets HAD_DATA_DIR=../shared/data); needs {relpath}")
        path = Path(env).expanduser() / relpath
        if not path.is_file():
            pytest.skip(f"real data: {relpath} is not in HAD_DATA_DIR={env}")
        return path

    return find
