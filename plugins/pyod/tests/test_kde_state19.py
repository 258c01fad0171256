"""``pyod-kde`` artifacts hold the bandwidth the fit chose: loading refitted on the training rows and, with the
default ``bandwidth='gridsearch'``, searched the grid again (3.4 s of a 4.2 s load on cardio: each ``had score``
took longer than the fit; on a scene's 20,000-pixel sample, longer still)."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file

import had
from had_pyod import models
from had_pyod.adapter import RowModelDetector


def _rows() -> np.ndarray:
    X = np.random.default_rng(4).normal(size=(300, 5))
    X[:8] += 5.0
    return X


def test_a_loaded_model_keeps_its_bandwidth_and_searches_nothing(tmp_path, monkeypatch):
    X = _rows()
    fitted = had.get_detector("pyod-kde", {"bandwidth_grid": [0.5, 1.0, 2.0, 4.0]}).fit(X)
    had.save(fitted, tmp_path / "m")
    assert load_file(str(tmp_path / "m" / "weights.safetensors"))["bandwidth"].tolist() == [fitted.bandwidth_]

    def searched(*args, **kwargs):
        raise AssertionError("the load searched the bandwidth grid again")

    monkeypatch.setattr(models, "kde_bandwidth", searched)
    back = had.load(tmp_path / "m")
    assert back.bandwidth_ == fitted.bandwidth_
    np.testing.assert_array_equal(back.decision_function(X), fitted.decision_function(X))


def test_an_artifact_without_the_bandwidth_searches_again_as_before(tmp_path, monkeypatch):
    X = _rows()
    fitted = had.get_detector("pyod-kde", {"bandwidth_grid": [0.5, 1.0, 2.0, 4.0]}).fit(X)
    with monkeypatch.context() as patch:  # the state as saved before 7 December 2026, 11:30 UTC
        patch.setattr(models.PyODKDE, "_get_state", RowModelDetector._get_state)
        had.save(fitted, tmp_path / "old")
    assert "bandwidth" not in load_file(str(tmp_path / "old" / "weights.safetensors"))
    back = had.load(tmp_path / "old")
    assert back.bandwidth_ == fitted.bandwidth_
    np.testing.assert_array_equal(back.decision_function(X), fitted.decision_function(X))

