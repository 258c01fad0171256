"""A refit that fails leaves the last fit's model whole. Was (the export probe): `input_spec_` and the training
hash were the failed data's while the model was the last fit's, so the model refused its own features
("fitted on 6 features, got 4"), and `had.save` wrote a model that `had.load` refused."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import HadError


@pytest.mark.parametrize("name", ["pyod-knn", "pyod-pca"])
def test_a_failed_refit_leaves_the_last_fit_whole(tmp_path, name):
    X = np.random.default_rng(0).standard_normal((100, 4))
    det = had.get_detector(name).fit(X)
    scores, spec, digest = det.decision_function(X[:5]), dict(det.input_spec_), det.training_sha256_
    for bad in (np.random.default_rng(1).standard_normal((1, 6)), np.ones((50, 4))):
        try:
            det.fit(bad)
        except HadError:
            pass
        else:  # a detector that fits it is not this test's case
            det = had.get_detector(name).fit(X)
            continue
        assert det.input_spec_ == spec and det.training_sha256_ == digest and det.n_features_in_ == 4
        np.testing.assert_array_equal(det.decision_function(X[:5]), scores)
    had.save(det, tmp_path / "m")
    np.testing.assert_array_equal(had.load(tmp_path / "m").decision_function(X[:5]), scores)


def test_a_failed_first_fit_leaves_the_detector_unfitted():
    det = had.get_detector("pyod-knn")
    with pytest.raises(HadError):
        det.fit(np.random.default_rng(1).standard_normal((1, 6)))
    assert not hasattr(det, "input_spec_") and not hasattr(det, "training_sha256_")


def test_save_refuses_another_detectors_graph_of_the_same_data(tmp_path):
    """Was: rx saved with pyod-knn's graph fitted on the same data (same training hash) was accepted and stamped
    with rx's threshold; `had score` flagged 0 rows with onnx, 10 eager."""
    pytest.importorskip("onnx")
    X = np.random.default_rng(0).standard_normal((100, 4)).astype("f4")
    rx, knn = had.get_detector("rx").fit(X), had.get_detector("pyod-knn").fit(X)
    with pytest.raises(HadError, match=r"exported from another detector \(pyod-knn\)"):
        had.save(rx, tmp_path / "m", onnx_model=knn.export_onnx())
    assert not (tmp_path / "m").exists()
    had.save(rx, tmp_path / "m", onnx_model=rx.export_onnx())  # its own: taken


def test_set_params_nodata_after_the_fit_takes_effect_at_the_next_fit():
    """The export probe: `set_params(nodata=0)` on a fitted detector changed its scoring at once (the docs say
    fields other than contamination and threshold take effect at the next fit)."""
    X = np.random.default_rng(0).standard_normal((100, 4))
    X[:5] = 0.0  # pixels holding 0 in every band: fill only for a model fitted with nodata=0
    det = had.get_detector("rx").fit(X)
    before = det.decision_function(X)
    det.set_params(nodata=0)
    np.testing.assert_array_equal(det.decision_function(X), before)
    refit = det.fit(X).decision_function(X)
    assert np.isnan(refit[:5]).all() and np.isfinite(refit[5:]).all()
