"""The SDK tests' toy plugin, registered afresh for every test (the core's tests reset the registry).

One torch thread unless OMP_NUM_THREADS says otherwise: on a shared 2-core CI machine two spinning threads per
process made these tiny networks 4x slower, with no gain.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).parent))

import had.plugins  # noqa: E402
from sdk_toys import ToyPlugin  # noqa: E402


@pytest.fixture(autouse=True)
def toy_plugin():
    had.plugins.register_plugin(ToyPlugin(), name="sdk-toys")
    yield
    had.plugins.reset()
