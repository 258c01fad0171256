"""Property-based tests of the metrics: any finite input gives a value in range or a typed error, never NaN.

Example counts: see tests/fuzzing.py (``HAD_FUZZ_EXAMPLES`` raises them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import rankdata

import had
from had import metrics
from had.errors import HadError, InvalidInputError
from had.validation import check_array

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
anything = st.floats(width=64)


@st.composite
def labelled_scores(draw, values=finite):
    n = draw(st.integers(2, 60))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    s = draw(st.lists(values, min_size=n, max_size=n))
    return np.array(y), np.array(s, dtype=np.float64)


@fuzz(ci=150)
@given(labelled_scores(), st.integers(2, 300))
def test_every_metric_is_in_range_on_finite_scores(data, n_thresholds):
    y, s = data
    for name in ("auroc", "auprc", "eer", "precision_at_n"):
        value = had.get_metric(name)(y, s)
        assert 0.0 <= value <= 1.0, (name, value)
    for fn in (metrics.auc_pf_tau, metrics.auc_pd_tau):
        if s.min() == s.max():
            with pytest.raises(InvalidInputError, match="every score equals"):
                fn(y, s, n_thresholds=n_thresholds)
        else:
            value = fn(y, s, n_thresholds=n_thresholds)
            assert 0.0 <= value <= 1.0 + 1e-12, value
    threshold = float(np.sort(s)[s.size // 2])  # a score itself: a median's average of two can overflow to inf
    for name in ("precision", "recall", "f1"):
        value = had.get_metric(name)(y, s, threshold)
        assert 0.0 <= value <= 1.0 and not math.isnan(value)


@fuzz(ci=100)
@given(labelled_scores(st.floats(-1e6, 1e6)))
def test_auroc_is_symmetric_and_rank_based(data):
    y, s = data
    assume(len(np.unique(s)) > 1)
    assert metrics.auroc(y, s) + metrics.auroc(y, -s) == pytest.approx(1.0, abs=1e-12)
    assert metrics.auroc(y, s) == pytest.approx(metrics.auroc(y, rankdata(s, method="dense") ** 3), abs=1e-12)
    fpr, tpr, _ = metrics.roc_curve(y, s)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and fpr[-1] == tpr[-1] == 1.0


@fuzz(ci=100)
@given(labelled_scores(finite))
def test_auc_tau_is_invariant_to_positive_affine_scaling(data):
    y, s = data
    assume(s.min() != s.max() and np.isfinite(s.max() / 2 - s.min() / 2))
    assume(np.array_equal((s / 2) * 2, s))  # halving is exact except for subnormals (5e-324 / 2 == 0)
    # halving is exact: the scaled scores give the same min-max normalisation, hence the same value
    assert metrics.auc_pf_tau(y, s / 2, 50) == pytest.approx(metrics.auc_pf_tau(y, s, 50), abs=1e-9)


@fuzz(ci=150)
@given(st.lists(st.integers(-2, 3), min_size=0, max_size=20), st.lists(anything, min_size=0, max_size=20),
       st.sampled_from(["auroc", "auprc", "auc_pf_tau", "auc_pd_tau", "eer", "precision_at_n", "f1"]),
       st.one_of(st.none(), anything))
def test_bad_input_is_only_ever_a_typed_error(y, s, name, threshold):
    metric = had.get_metric(name)
    try:
        value = metric(np.array(y), np.array(s, dtype=np.float64), threshold)
    except HadError:
        return
    assert not math.isnan(value) and 0.0 <= value <= 1.0 + 1e-12


@fuzz(ci=80)
@given(st.recursive(st.integers(-1, 2) | st.floats() | st.text(max_size=2) | st.complex_numbers() | st.booleans(),
                    lambda inner: st.lists(inner, max_size=4), max_leaves=12),
       st.recursive(st.integers(0, 1) | st.text(max_size=2), lambda inner: st.lists(inner, max_size=4),
                    max_leaves=12))
def test_ragged_or_mixed_values_are_a_typed_error(scores, labels):
    for name in ("auroc", "auc_pf_tau"):
        try:
            value = had.get_metric(name)(labels, scores)
        except HadError:
            continue
        assert 0.0 <= value <= 1.0
    try:
        X = check_array(scores)  # what every detector's fit and score start with
    except HadError:
        return
    assert X.dtype.kind == "f" and np.isfinite(X).all()
