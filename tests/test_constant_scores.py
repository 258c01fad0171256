"""A fit whose training scores are all equal says so in the Python API too (a ConstantScoresWarning); `had fit`
gave a note, `fit()` nothing: pyod-iforest on rows at the 1e-8 scale scored every row 0.0, flagged none."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import had
from had.errors import ConstantScoresWarning


def test_the_api_warns_where_the_cli_notes(tmp_path):
    pytest.importorskip("had_pyod")
    rows = np.random.default_rng(0).normal(size=(60, 5)) * 1e-8
    with pytest.warns(ConstantScoresWarning, match="every training score equals 0: pyod-iforest separates nothing"):
        had.get_detector("pyod-iforest").fit(rows)
    with _no_warning():
        had.get_detector("pyod-iforest").fit(rows * 1e8)  # the same rows at unit scale: scores that differ
    np.save(tmp_path / "tiny.npy", rows)
    run = subprocess.run([sys.executable, "-m", "had.cli", "fit", "pyod-iforest", str(tmp_path / "tiny.npy"), "-o",
                          str(tmp_path / "m")], capture_output=True, text=True)
    assert run.returncode == 0 and "note: every training score equals 0" in run.stdout
    assert "ConstantScoresWarning" not in run.stderr  # the note, once, not the warning beside it


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error", ConstantScoresWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        return False
