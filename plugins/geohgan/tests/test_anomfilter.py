"""AnomFilter: the score outlier rule, then the distance to the target-domain mean."""

import numpy as np
import pytest
from had.errors import InvalidInputError

from had_geohgan.anomfilter import anom_filter, outlier_cut, target_mean


def test_outlier_cut_matches_q3_plus_iqr():
    s = np.arange(1, 101, dtype=float)
    q1, q3 = np.percentile(s, [25, 75])
    assert outlier_cut(s) == pytest.approx(q3 + 1.5 * (q3 - q1))


def test_selection_by_hand():
    # 20 source tiles with 1 channel of 2x2; scores: 16 ordinary, 4 outliers (indices 16..19)
    scores = np.r_[np.linspace(1.0, 2.0, 16), [10.0, 11.0, 12.0, 13.0]]
    source = np.zeros((20, 1, 2, 2))
    source[16:, 0] = np.array([1.0, 2.0, 8.0, 9.0])[:, None, None]  # constant tiles
    target = np.full((5, 1, 2, 2), 1.5)  # M = 1.5
    result = anom_filter(scores, source, target)
    assert result.target_mean.tolist() == [1.5]
    assert result.candidates.tolist() == [16, 17, 18, 19]
    # D = ||tile - M|| over 4 pixels = 2 * |v - 1.5|: 1, 1, 13, 15 -> R = 8 -> keep the two near the target
    np.testing.assert_allclose(result.distances, [1.0, 1.0, 13.0, 15.0])
    assert result.radius == pytest.approx(8.0)
    assert result.selected.tolist() == [16, 17]


def test_no_candidates_and_bad_input():
    result = anom_filter(np.ones(10), np.zeros((10, 2, 2, 2)), np.zeros((3, 2, 2, 2)))
    assert result.selected.size == 0 and np.isnan(result.radius)
    with pytest.raises(InvalidInputError):
        anom_filter(np.ones(9), np.zeros((10, 2, 2, 2)), np.zeros((3, 2, 2, 2)))
    with pytest.raises(InvalidInputError):
        anom_filter(np.ones(10), np.zeros((10, 2, 2, 2)), np.zeros((3, 3, 2, 2)))
    with pytest.raises(InvalidInputError):
        target_mean(np.zeros((0, 2, 2, 2)))
