"""had fit into a folder it cannot write says so before the fit (it fitted first, then lost the fit at the save)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest


def _read_only(folder):
    """Make `folder` unwritable for this process (root ignores permissions: chattr +i); the undo, or None."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return lambda: folder.chmod(0o700)
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)
    return None


def test_fit_into_an_unwritable_folder_is_refused_before_fitting(tmp_path):
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(60, 4)))
    locked = tmp_path / "locked"
    locked.mkdir()
    undo = _read_only(locked)
    if undo is None:
        pytest.skip("cannot make a folder unwritable here (root without chattr)")
    try:
        run = subprocess.run([sys.executable, "-m", "had.cli", "fit", "rx", str(tmp_path / "rows.npy"), "-o",
                              str(locked / "model")], capture_output=True, text=True)
    finally:
        undo()
    assert run.returncode == 2, run.stdout + run.stderr
    assert "fitted rx" not in run.stdout  # refused before the fit, not after it
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and "cannot write the artifact" in run.stderr
    assert "nothing was fitted" in run.stderr and not (locked / "model").exists()
