"""One torch thread (unless OMP_NUM_THREADS says otherwise): the networks here are tiny and the CI machine is
shared; spinning threads cost far more than they give. Shared fixtures: a small synthetic scene."""

import os
import sys
from pathlib import Path

import pytest
import torch

if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: make lren_testdata importable
from lren_testdata import SCENE, synthetic_scene  # noqa: E402


@pytest.fixture(scope="session")
def scene():
    return synthetic_scene()


@pytest.fixture(scope="session")
def fitted(scene):
    import had

    X, _ = scene
    return had.get_detector("lren", **SCENE, restarts=1).fit(X)  # one run: its dictionary, mixture, LRR
