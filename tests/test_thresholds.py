"""Threshold rules (had.thresholds): false-alarm rate, Otsu, fixed value; moved without refitting."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import InvalidInputError
from had.thresholds import check_rule, otsu, threshold_of


def _rows(seed=0, n=2000, d=3):
    return np.random.default_rng(seed).normal(size=(n, d))


def _otsu_by_hand(scores, bins=256):
    """Between-class variance at every cut between bins, written as the textbook defines it."""
    counts, edges = np.histogram(scores, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    best, best_cut = -1.0, None
    for k in range(bins - 1):
        w0, w1 = counts[: k + 1].sum(), counts[k + 1:].sum()
        if w0 == 0 or w1 == 0:
            continue
        m0 = (counts[: k + 1] * centres[: k + 1]).sum() / w0
        m1 = (counts[k + 1:] * centres[k + 1:]).sum() / w1
        between = w0 * w1 * (m0 - m1) ** 2
        if between > best:
            best, best_cut = between, centres[k]
    return best_cut


def test_otsu_splits_two_modes_and_matches_the_textbook():
    rng = np.random.default_rng(1)
    overlapping = np.r_[rng.normal(0.0, 1.0, 5000), rng.normal(3.0, 1.0, 1000)]  # a single best cut
    assert otsu(overlapping) == pytest.approx(_otsu_by_hand(overlapping))
    apart = np.r_[rng.normal(0.0, 1.0, 5000), rng.normal(10.0, 1.0, 500)]  # empty bins between: a plateau
    assert 3.0 < otsu(apart) < 7.0
    assert otsu(np.full(10, 2.5)) == 2.5


def test_fpr_rule_gives_that_false_alarm_rate_on_the_training_scores():
    scores = np.arange(10000, dtype=np.float64)
    thr = threshold_of("fpr:0.001", scores, 0.1)
    assert np.mean(scores > thr) == pytest.approx(0.001, abs=1e-4)
    assert threshold_of(None, scores, 0.1) == pytest.approx(np.percentile(scores, 90))
    assert threshold_of(3.5, scores, 0.1) == 3.5


@pytest.mark.parametrize("bad", ["fpr:0", "fpr:1.5", "fpr:x", "median", float("nan"), True, 10**400])  # 10**400: was an
# OverflowError traceback (float() of an int beyond float64)
def test_bad_rules_are_config_errors(bad):
    with pytest.raises(had.ConfigError):
        check_rule(bad)
    with pytest.raises(had.ConfigError):
        had.get_detector("rx", threshold=bad)


def test_detector_threshold_rules_and_moving_them_without_refit():
    X = _rows()
    det = had.get_detector("rx", threshold="fpr:0.01").fit(X)
    assert np.mean(det.decision_scores_ > det.threshold_) == pytest.approx(0.01, abs=1e-3)
    assert det.labels_.sum() == int(np.sum(det.decision_scores_ > det.threshold_))
    whitening = det.whitening_
    det.set_threshold("otsu")
    assert det.whitening_ is whitening  # not refitted
    assert det.threshold_ == pytest.approx(otsu(det.decision_scores_))
    assert det.config.threshold == "otsu"
    det.set_threshold(7.25)
    assert det.threshold_ == 7.25
    np.testing.assert_array_equal(det.predict(X), (det.decision_function(X) > 7.25).astype(np.int8))
    det.set_contamination(0.05)  # back to the contamination rule
    assert det.config.threshold is None
    assert det.threshold_ == pytest.approx(np.percentile(det.decision_scores_, 95))


def test_set_contamination_zero_is_a_config_error_and_changes_nothing():
    det = had.get_detector("rx", threshold="otsu").fit(_rows())
    before = det.threshold_
    with pytest.raises(had.ConfigError, match="contamination"):
        det.set_contamination(0)
    with pytest.raises(had.ConfigError, match="fpr"):
        det.set_threshold("fpr:2")
    assert det.threshold_ == before and det.config.threshold == "otsu" and det.contamination == 0.1


def test_threshold_rule_survives_save_and_load(tmp_path):
    X = _rows(2)
    det = had.get_detector("rx", threshold="fpr:0.002").fit(X)
    back = had.load(had.save(det, tmp_path / "rx"))
    assert back.threshold_ == det.threshold_ and back.config.threshold == "fpr:0.002"
    back.set_threshold("otsu")
    assert back.threshold_ == pytest.approx(otsu(det.decision_scores_))


def test_infinite_training_scores_are_refused_with_the_remedy():
    # a detector whose arithmetic overflowed (BS3LNet's float32 errors on a scene near 1e30) gave an infinite
    # threshold and a map of inf; now one typed line
    scores = np.array([1.0, 2.0, np.inf, 3.0])
    with pytest.raises(InvalidInputError, match=r"1 of 4 training scores are infinite.*multiply by a constant"):
        threshold_of(None, scores, 0.1)
    with pytest.raises(InvalidInputError, match="every one is NaN"):
        threshold_of(None, np.full(3, np.nan), 0.1)
