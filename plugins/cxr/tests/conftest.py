"""Test setup: one torch thread (the machines running these tests are small and shared; more threads are
slower there), and a tiny image set for the conformance kit."""

from __future__ import annotations

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

