"""Numbers against their references (a read-only probe of 7 December 2026): ExCeeD confidence with no-data
training scores, Otsu's threshold and the unify probability at extreme scales, numpy scalars as thresholds."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.thresholds import otsu, threshold_of


def _confidence_reference(train, scores, threshold, share):
    """PyOD's predict_confidence (BaseDetector), on the scored training samples alone."""
    from scipy.stats import binom

    train = np.sort(train)
    n = train.size
    posterior = (1.0 + np.searchsorted(train, scores, side="right")) / (2.0 + n)
    confidence = 1.0 - binom.cdf(n - int(n * share), n, posterior)
    return np.where(scores > threshold, confidence, 1.0 - confidence)


def test_confidence_under_another_rule_counts_the_share_over_scored_samples():
    """Half the scene no-data (NaN training scores) and threshold 'fpr:0.1': the share of anomalies was the mean of
    labels_ (no-data counted 0: 0.05), and a clear anomaly got confidence 0.45; PyOD's share is over the samples
    scored (0.10)."""
    det = had.get_detector("rx", threshold="fpr:0.1").fit(np.random.default_rng(0).normal(size=(200, 3)))
    train = np.arange(100, dtype=np.float64)
    det.decision_scores_ = np.r_[train, np.full(100, np.nan)]
    det.set_threshold("fpr:0.1")
    scores = np.array([50.0, 85.0, 95.0])
    share = np.mean(train > det.threshold_)
    assert share == pytest.approx(0.10, abs=0.011)
    np.testing.assert_allclose(det._confidence(scores), _confidence_reference(train, scores, det.threshold_, share))
    assert det._confidence(scores)[2] > 0.9  # was 0.4538


@pytest.mark.parametrize("scale", [1.0, 1e-160, 1e150, 1e152, 1e160, 1e-165, 1e-200])
def test_otsu_is_scale_equivariant(scale):
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(size=950), rng.normal(6, 0.5, size=50)]
    base = otsu(scores)
    assert otsu(scores * scale) == pytest.approx(base * scale, rel=1e-9)
    flagged = np.mean(scores * scale > threshold_of("otsu", scores * scale, 0.1))
    assert 0.03 < flagged < 0.08  # was 0.999 at 1e152 and below 1e-165


def test_otsu_over_the_whole_float_range_is_a_number():
    """A range of +-1.7e308 was numpy's raw "Too many bins for data range"."""
    scores = np.r_[np.full(10, -1.7e308), np.full(90, 1.7e308)]
    assert -1.7e308 <= otsu(scores) <= 1.7e308


@pytest.mark.parametrize("scale", [1e-170, 1e170])
def test_unify_probabilities_do_not_depend_on_the_scale(scale):
    X = np.random.default_rng(1).normal(size=(300, 3))
    det = had.get_detector("rx").fit(X)
    test = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 3.0]])
    expected = det.predict_proba(test, method="unify")
    det.decision_scores_ = det.decision_scores_ * scale
    scored = det.decision_function
    det.decision_function = lambda Z: scored(Z) * scale  # the same model at another scale
    np.testing.assert_allclose(det.predict_proba(test, method="unify"), expected, atol=1e-12)  # was all 0


@pytest.mark.parametrize("value", [np.float32(1.5), np.int64(2), np.float16(3.0)])
def test_a_numpy_scalar_is_a_threshold(value):
    det = had.get_detector("rx").fit(np.random.default_rng(2).normal(size=(100, 3)))
    det.set_threshold(value)
    assert det.threshold_ == float(value) and isinstance(det.config.threshold, float)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_integer_scores_above_2_53_keep_their_order(dtype):
    """Integer scores beyond float64's 53 bits were cast to float64, distinct ones merging into ties: AUROC 0.5
    where scikit-learn gives 0.92; the lowest int64 and large uint64 scores also ordered (``-s`` overflows)."""
    from sklearn import metrics as sk

    from had import metrics

    base = np.iinfo(dtype).max - 10
    scores = np.array([base, base + 2, base + 1, base + 3, base + 2], dtype=dtype)
    y = np.array([0, 1, 0, 1, 0])
    assert metrics.auroc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores)) == pytest.approx(11 / 12)
    assert metrics.auprc(y, scores) == pytest.approx(sk.average_precision_score(y, scores))
    fpr, tpr, thresholds = metrics.roc_curve(y, scores)
    ref_fpr, ref_tpr, _ = sk.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert metrics.precision_at_n(y, scores) == 0.75
    lowest = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).min + 1], dtype=np.int64)
    assert metrics.auroc([0, 1], lowest) == metrics.auprc([0, 1], lowest) == 1.0
