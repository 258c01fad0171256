"""Detectors given fewer rows than they can train on say so in one typed line, never an internal error."""

from __future__ import annotations

import numpy as np
import pytest

import had

pytest.importorskip("pyod")


def test_pyod_autoencoder_refuses_fewer_rows_than_one_batch():
    pytest.importorskip("torch")
    rows = np.random.default_rng(0).random((20, 4))
    with pytest.raises(had.errors.InvalidInputError, match=r"full batches of batch_size = 32 rows and got 20; "
                                                            r"lower batch_size \(--set batch_size=20\)"):
        had.get_detector("pyod-autoencoder", epochs=1).fit(rows)  # was PyOD's UnboundLocalError
    det = had.get_detector("pyod-autoencoder", epochs=1, batch_size=20).fit(rows)
    assert np.isfinite(det.decision_function(rows)).all()


@pytest.mark.parametrize("name", ["pyod-autoencoder", "pyod-deepsvdd"])
def test_pyods_deep_models_that_diverge_say_lower_lr(name):
    # lr=1e9: PyOD's AutoEncoder ended in scikit-learn's "ValueError: Input contains NaN" (a traceback), its
    # DeepSVDD in infinite scores
    pytest.importorskip("torch")
    rows = np.random.default_rng(0).random((64, 4))
    with pytest.raises(had.errors.InvalidInputError, match=r"lower lr"):
        had.get_detector(name, epochs=2, lr=1e9).fit(rows)
