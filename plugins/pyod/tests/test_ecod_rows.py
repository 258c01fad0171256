"""`pyod-ecod` scores each row as PyOD's ECOD scores it alone, whatever is scored with it (had_pyod.ecod)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import had
from had.metrics import auroc
from had_pyod.ecod import TrainingColumns, row_scores

pytest.importorskip("pyod")


def _rows(rng, n):
    """Columns of several kinds: Gaussian, wide with a large offset, integer-valued (ties), constant, skewed."""
    X = rng.normal(size=(n, 5)) * [1.0, 1e3, 2.0, 1.0, 1.0] + [0.0, 1e4, 0.0, 0.0, 0.0]
    X[:, 2] = np.round(X[:, 2])
    X[:, 3] = 2.0
    X[:, 4] = rng.exponential(size=n)
    return X


def test_each_row_scores_as_pyod_scores_it_alone():
    """Against ``ECOD.decision_function(row[None])`` for new rows, training rows (ties with themselves), a
    value off the constant column and values beyond every training value: equal to 1e-12."""
    from pyod.models.ecod import ECOD

    rng = np.random.default_rng(3)
    T = _rows(rng, 300)
    R = _rows(rng, 30)
    R[:5] = T[:5]
    R[5, 3] = 3.0
    R[6] = T.max(axis=0) + 1.0
    R[7] = T.min(axis=0) - 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's skew on the constant column
        model = ECOD().fit(T)
        alone = np.array([model.decision_function(row[None])[0] for row in R])
    ours = row_scores(TrainingColumns.of(T), R)
    np.testing.assert_allclose(ours, alone, rtol=1e-12)
    assert np.ptp(ours) > 1.0  # not a constant: the far rows score far above the training ones
    assert ours[6] > np.max(ours[:5]) and ours[7] > np.max(ours[:5])


def test_a_scene_scores_the_same_in_any_tiling_and_batch_scores_keep_pyods_batches(monkeypatch):
    """A flight line is scored tile by tile: per row, the map is the same whatever the tile size (PyOD's
    batches: not); a request of one pixel gets that pixel's score in the map."""
    import had.tiling

    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 50, 4)) @ rng.normal(size=(4, 4)) + 10.0
    truth = np.zeros((60, 50), dtype=np.int8)
    truth[10:12, 20:22] = 1
    X[10:12, 20:22] += 6.0
    det = had.get_detector("pyod-ecod").fit(X)
    batch = had.get_detector("pyod-ecod", batch_scores=True).fit(X)
    whole, whole_batch = det.decision_function(X), batch.decision_function(X)
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 50 * 4 * 8 * 7)  # tiles of 7 rows of the scene
    np.testing.assert_allclose(det.decision_function(X), whole, rtol=1e-12)
    assert np.max(np.abs(batch.decision_function(X) - whole_batch)) > 1e-3
    np.testing.assert_allclose(det.decision_function(X[11:12, 21:22]).reshape(-1), whole[11, 21], rtol=1e-12)
    assert auroc(truth.reshape(-1), whole.reshape(-1)) > 0.95
    np.testing.assert_allclose(det.decision_scores_, whole.reshape(-1), rtol=1e-12)


@pytest.mark.parametrize("batch_scores", [False, True])
def test_the_artifact_holds_the_sorted_columns_and_scores_as_the_fitted_detector(tmp_path, batch_scores):
    """The artifact keeps each feature's training values sorted, not the rows (ECOD scores feature by feature):
    loaded, both modes score as the fitted detector (PyOD's batches refitted on the sorted columns)."""
    from safetensors.numpy import load_file

    from had.artifact import WEIGHTS

    rng = np.random.default_rng(5)
    T = _rows(rng, 200)
    det = had.get_detector("pyod-ecod", batch_scores=batch_scores).fit(T)
    had.save(det, tmp_path / "m")
    state = load_file(tmp_path / "m" / WEIGHTS)
    assert [k for k in state if "train_rows" in k] == [] and any(k.endswith("sorted_columns") for k in state)
    back = had.load(tmp_path / "m")
    R = _rows(rng, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(back.decision_function(R), det.decision_function(R), rtol=1e-12)
    assert back.threshold_ == det.threshold_ and not hasattr(back, "train_rows_")
    np.testing.assert_array_equal(back.columns_.sorted, np.sort(T.T, axis=1))
