"""pyod-knn's training scores are PyOD's: each training row measured against the others, not against itself."""

import numpy as np
import pytest

import had


def _rows(seed=0, n=400, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:20] += 4.0  # a few far rows
    return X


@pytest.mark.parametrize("k,method", [(1, "largest"), (5, "largest"), (4, "mean"), (4, "median")])
def test_training_scores_and_threshold_are_pyods(k, method):
    from pyod.models.knn import KNN

    X = _rows()
    det = had.get_detector("pyod-knn", n_neighbors=k, method=method, contamination=0.1).fit(X)
    ref = KNN(n_neighbors=k, method=method, contamination=0.1).fit(X)
    np.testing.assert_allclose(det.decision_scores_, ref.decision_scores_, rtol=1e-12)
    assert det.threshold_ == pytest.approx(ref.threshold_, rel=1e-12)
    np.testing.assert_array_equal(det.labels_, ref.labels_)


def test_one_neighbour_flags_about_the_contamination_share_of_new_rows():
    """Scored against itself every training row had scored 0, and the threshold (~0) flagged ~100 % of new rows."""
    rng = np.random.default_rng(1)
    train, fresh = rng.normal(size=(900, 5)), rng.normal(size=(900, 5))
    det = had.get_detector("pyod-knn", n_neighbors=1, contamination=0.1).fit(train)
    assert np.ptp(det.decision_scores_) > 0 and det.threshold_ > 0.1
    assert 0.05 < det.predict(fresh).mean() < 0.2


def test_a_saved_model_keeps_the_training_scores(tmp_path):
    X = _rows(2)
    det = had.get_detector("pyod-knn", n_neighbors=2).fit(X)
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    np.testing.assert_array_equal(back.decision_scores_, det.decision_scores_)
    assert back.threshold_ == det.threshold_
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X), rtol=1e-12)
