"""Detectors given fewer rows than they can train on say so in one typed line, never an internal error."""

from __future__ import annotations

import numpy as np
import pytest

import had

pytest.importorskip("pyod")


def test_pyod_autoencoder_on_fewer_rows_than_one_batch_trains_on_one_batch_and_says_so():
    """PyOD's loop drops a short batch: 20 rows with batch_size 32 trained on none (PyOD's UnboundLocalError),
    then were refused here, so a cross-validation fold of a small table failed; now batch_size is lowered for the
    fit, as pyod-knn's n_neighbors is, with a fit note, and get_params keeps the value given."""
    pytest.importorskip("torch")
    rows = np.random.default_rng(0).random((20, 4))
    det = had.get_detector("pyod-autoencoder", epochs=1).fit(rows)  # was PyOD's UnboundLocalError, then refused
    assert det.fit_notes_ == ["batch_size=32 was lowered to 20 for this fit: 20 training rows, and PyOD trains on "
                              "full batches only"]
    assert det.get_params()["batch_size"] == 32 and det.config.batch_size == 20
    given = had.get_detector("pyod-autoencoder", epochs=1, batch_size=20).fit(rows)
    np.testing.assert_array_equal(det.decision_function(rows), given.decision_function(rows))


@pytest.mark.parametrize("name", ["pyod-autoencoder", "pyod-deepsvdd"])
def test_pyods_deep_models_that_diverge_say_lower_lr(name):
    # lr=1e9: PyOD's AutoEncoder ended in scikit-learn's "ValueError: Input contains NaN" (a traceback), its
    # DeepSVDD in infinite scores
    pytest.importorskip("torch")
    rows = np.random.default_rng(0).random((64, 4))
    with pytest.raises(had.errors.InvalidInputError, match=r"lower lr"):
        had.get_detector(name, epochs=2, lr=1e9).fit(rows)
