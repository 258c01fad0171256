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
