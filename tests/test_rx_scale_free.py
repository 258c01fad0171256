"""RX's eigenvalue floor on the correlation matrix (a numeric-edge audit): the floor was applied to the covariance's
eigenvalues, so one feature in other units (1e6 times the rest) pushed the other features' directions below it
and they were dropped: an AUROC of 1.000 fell to 0.508, without a word; outliers in a feature 1e-6 times the rest:
0.997 to 0.313. A fit that drops directions now says so, naming features with no spread at all (one constant in
training and 1e6 in new data left the scores as they were)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.metrics import auroc


def _rows(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 6))
    X[:8, 1:] += 5.0
    y = np.zeros(300, dtype=int)
    y[:8] = 1
    return X, y


@pytest.mark.parametrize("column,factor", [(0, 1e6), (1, 1e-6), (3, 1e9)])
def test_a_feature_in_other_units_changes_no_score(column, factor):
    X, y = _rows()
    scaled = X.copy()
    scaled[:, column] *= factor
    plain, det = had.get_detector("rx").fit(X), had.get_detector("rx").fit(scaled)
    assert det.whitening_.shape == (6, 6) and not getattr(det, "fit_notes_", [])
    np.testing.assert_allclose(det.decision_function(scaled), plain.decision_function(X), rtol=1e-7)
    assert auroc(y, det.decision_scores_) == 1.0


def test_a_rank_deficient_fit_is_the_pseudo_inverse_and_says_so():
    X, _ = _rows()
    X = np.column_stack([X, 2e6 * X[:, 1]])  # a copy of feature 1 in other units: one direction with no variance
    det = had.get_detector("rx").fit(X)
    assert det.whitening_.shape == (7, 6)
    Z = X[:20] - X.mean(axis=0)
    spread = X.std(axis=0, ddof=1)
    corr_pinv = np.linalg.pinv(np.cov(X / spread, rowvar=False), rcond=1e-10, hermitian=True)
    expected = np.einsum("ij,jk,ik->i", Z / spread, corr_pinv, Z / spread)
    np.testing.assert_allclose(det.decision_function(X[:20]), expected, rtol=1e-6)
    (note,) = det.fit_notes_
    assert note.startswith("rx kept 6 of the data's 7 directions") and "no spread" not in note


def test_a_feature_constant_in_training_is_named_at_fit(tmp_path, capsys):
    from had_sdk.testing import run_cli

    X, _ = _rows()
    X[:, 2] = 3.0
    np.save(tmp_path / "x.npy", X)
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "x.npy"), "-o", str(tmp_path / "m"))
    assert code == 0, err
    said = " ".join((out + err).split())
    assert "rx kept 5 of the data's 6 directions" in said and "feature 2 (0-based) has no spread at all" in said


@pytest.mark.parametrize("value", [0.0, 0.1, 1234.567])
def test_a_constant_float64_feature_is_dropped_whatever_its_value(value):
    """A review: a float64 column of 0.1 everywhere has a mean off by a rounding step and a variance of ~1e-25,
    which scaled to unit variance was a full direction of rounding noise: every score rose by ~1, and a row with
    0.1001 there scored 8e20 against a threshold of 7.1 (before the floor moved to the correlation matrix it was
    dropped, as now)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    X[:, 2] = value
    det = had.get_detector("rx").fit(X)
    assert det.whitening_.shape == (4, 3)
    assert "feature 2 (0-based) has no spread at all" in det.fit_notes_[0]
    T = rng.normal(size=(3, 4))
    T[:, 2] = value
    T[0, 2] = value + 1e-4
    np.testing.assert_allclose(det.decision_function(T),
                               had.get_detector("rx").fit(np.delete(X, 2, axis=1)).decision_function(np.delete(T, 2, 1)),
                               rtol=1e-9)
