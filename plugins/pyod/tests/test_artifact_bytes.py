"""Two saves of one fitted PyOD model write the same bytes (a read-only probe of 7 December 2026: skl2onnx named
each graph it built with a random uuid, so `weights.safetensors`, which holds the graph, differed save to save)."""

from __future__ import annotations

import numpy as np
import pytest

import had


@pytest.mark.parametrize("name", ["pyod-ecod", "pyod-ocsvm"])
def test_two_saves_of_one_model_are_the_same_bytes(tmp_path, name):
    X = np.random.default_rng(0).normal(size=(120, 4))
    files = []
    for run in range(2):
        had.save(had.get_detector(name).fit(X), tmp_path / f"m{run}")
        files.append((tmp_path / f"m{run}" / "weights.safetensors").read_bytes())
    assert files[0] == files[1]
