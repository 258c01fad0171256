"""`had fit` of a detector that learns from known labels (SSAD here) on data that gives none says so in one note
line: the fit runs, every sample unlabelled, where it was silent before."""

from __future__ import annotations

import numpy as np
import pytest

from had.cli import main

pytest.importorskip("pyod")


def _fit(capsys, *args: str) -> str:
    main(["fit", *args])
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_fit_without_known_labels_says_every_sample_was_unlabelled(tmp_path, capsys):
    np.save(tmp_path / "scene.npy", np.random.default_rng(0).normal(size=(30, 20, 4)))
    said = _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "m"))
    assert ("note: ssad learns from known labels (1 anomaly, -1 normal) and scene gives none: every sample was "
            "fitted as unlabelled; the Python API takes them: fit(X, known)") in said
    assert (tmp_path / "m" / "manifest.json").exists()
    said = _fit(capsys, "rx", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "rx"))  # no labels to miss
    assert "known labels" not in said
