"""Metric and threshold inputs the statistician's audit found mishandled: a transposed ground-truth map, a
threshold that is text or a bool, no training scores."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import InvalidInputError, LabelError
from had.thresholds import threshold_of
from had.validation import check_truth


def test_a_transposed_truth_map_is_refused_not_measured():
    """A (W, H) map for an (H, W) scene was measured pixel by pixel: AUROC 0.456 against 0.992 for the right map."""
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(30, 20, 5))
    truth = np.zeros((30, 20), np.int8)
    truth[4:7, 3:5] = 1
    assert check_truth(truth, cube).shape == (600,)
    assert check_truth(truth.reshape(-1), cube).sum() == 6  # one label per pixel in row order: as before
    with pytest.raises(LabelError, match=r"a 20x30 map for a 30x20 scene \(transposed\?\)"):
        check_truth(truth.T, cube)
    with pytest.raises(LabelError, match="a 60x10 map for a 30x20 scene; pass"):
        check_truth(truth.reshape(60, 10), cube)
    scores = rng.random((30, 20))
    with pytest.raises(LabelError, match=r"shape \(20, 30\) for scores of shape \(30, 20\)"):
        had.get_metric("auroc")(truth.T, scores)
    assert 0.0 <= had.get_metric("auroc")(truth, scores) <= 1.0


@pytest.mark.parametrize("threshold", ["0.3", True, None, float("nan")])
def test_a_threshold_that_is_not_a_finite_number_is_one_typed_error(threshold):
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    with pytest.raises(InvalidInputError, match="needs a finite threshold"):
        had.get_metric("f1")(y, s, threshold)
    assert had.get_metric("f1")(y, s, 0.5) == 1.0 and had.get_metric("f1")(y, s, np.float32(0.5)) == 1.0


def test_no_training_scores_is_one_typed_error():
    with pytest.raises(InvalidInputError, match="no training score"):
        threshold_of(None, np.array([]), 0.1)
