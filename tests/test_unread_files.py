"""A file no installed plugin reads, given to had bench or had.load_dataset, gets had fit's message (its keys and
how to name its arrays), not "unknown datasource" with the list of registered names."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import had

scipy_io = pytest.importorskip("scipy.io")


@pytest.fixture
def unnamed_mat(tmp_path):
    path = tmp_path / "my.mat"
    scipy_io.savemat(path, {"cube": np.random.default_rng(0).random((10, 10, 5)), "gt": np.zeros((10, 10))})
    return path


def test_load_dataset_names_the_keys(unnamed_mat):
    with pytest.raises(had.DataFileError, match=r"my.mat: no installed plugin reads this file \(its keys are "
                                                 r"\['cube', 'gt'\]\).*had.load_dataset\(FILE, KEY=...\)"):
        had.load_dataset(str(unnamed_mat))


def test_had_bench_names_the_keys_before_any_cell(unnamed_mat, tmp_path):
    run = subprocess.run([sys.executable, "-m", "had.cli", "bench", "--detectors", "rx", "--datasets",
                          str(unnamed_mat), "--out", str(tmp_path / "g"), "--no-plots"], capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "its keys are ['cube', 'gt']" in lines[0] and "unknown datasource" not in lines[0]
    assert "--data FILE.KEY=..." in lines[0]
