"""What a fit or a load of a PyOD model does that nothing uses (a latency audit): PyOD's KDE scored every training
row against all of them at each fit and each load (O(n^2), for PyOD's own threshold: 3.4 s of a 5.6 s ``had score``
of a satellite model), and pyod-knn converted its neighbours to ONNX at each fit and load (0.9 s, 40 MB), for an
export that may never come."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyod")

import had  # noqa: E402


def _rows(n: int = 300, d: int = 5, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).normal(size=(n, d))
    X[:6] += 5.0
    return X


def test_kde_scores_are_pyods_and_a_load_fits_the_density_alone(tmp_path, monkeypatch):
    from pyod.models.kde import KDE

    X, Z = _rows(), _rows(50, seed=1)
    det = had.get_detector("pyod-kde", bandwidth=0.8).fit(X)
    pyod = KDE(bandwidth=0.8).fit(X)
    np.testing.assert_allclose(det.decision_function(Z), pyod.decision_function(Z), rtol=1e-12)
    np.testing.assert_allclose(det.decision_scores_, pyod.decision_scores_, rtol=1e-12)  # the training rows
    path = had.save(det, tmp_path / "m")

    def refused(self, *args, **kwargs):
        raise AssertionError("PyOD's KDE.fit scores every training row: not needed to score")

    monkeypatch.setattr(KDE, "fit", refused)
    loaded = had.load(path)
    np.testing.assert_array_equal(loaded.decision_function(Z), det.decision_function(Z))


def test_knn_converts_to_onnx_only_when_exported(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from had.onnx_export import verify_export

    import had_pyod.models as models

    X = _rows()
    real, calls = models.convert, []
    monkeypatch.setattr(models, "convert", lambda *a, **k: calls.append(1) or real(*a, **k))
    det = had.get_detector("pyod-knn").fit(X)
    loaded = had.load(had.save(det, tmp_path / "m"))
    assert calls == []  # neither the fit nor the load (which refits)
    np.testing.assert_array_equal(loaded.decision_function(X[:40]), det.decision_function(X[:40]))
    assert verify_export(loaded.export_onnx(), loaded, X)["passed"]
    assert calls == [1]

