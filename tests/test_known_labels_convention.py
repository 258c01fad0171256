"""Known labels in scikit-learn's convention (+1 inlier, -1 outlier) are said, at `had fit` and in the Python API.

Was: had's known labels are 1 known anomaly, -1 known normal, 0 unlabelled; scikit-learn's labels passed as they
are made the inliers "known anomalies" (993 of 1,003 rows on cardio) and Deep SAD learnt the reverse, AUROC 0.25,
without a word. The rule (had.validation.reversed_known): the known anomalies are more than the known normals and
more than 20 % of all samples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_reliability_cli import run_cli

import had
from had.validation import KnownLabelsWarning, reversed_known


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[:6] += 5.0
    sklearn = np.where(np.arange(60) < 6, -1, 1)  # +1 inlier, -1 outlier
    return X, sklearn


def test_the_python_api_warns_of_scikit_learn_labels(rows):
    X, sklearn = rows
    with pytest.warns(KnownLabelsWarning) as caught:
        had.get_detector("ssad").fit(X, sklearn)
    (said,) = [str(w.message) for w in caught if w.category is KnownLabelsWarning]
    assert said.startswith("ssad: 54 of the 60 known labels (90% of the 60 samples) say known anomaly")
    assert "1 = known anomaly, -1 = known normal, 0 = unlabelled" in said
    assert "scikit-learn's +1 inlier / -1 outlier is the reverse" in said and "negate them (-y)" in said


def test_labels_in_had_convention_are_not_warned_of(rows):
    X, sklearn = rows
    with warnings.catch_warnings():
        warnings.simplefilter("error", KnownLabelsWarning)
        had.get_detector("ssad").fit(X, -sklearn)  # had's convention: 6 known anomalies, 54 known normals
        had.get_detector("ssad").fit(X, np.where(np.arange(60) < 6, 1, 0))  # known anomalies only, 10 %
    # Deep SAD's protocol at its largest share of known anomalies (gamma_l 0.2): at the limit, not above it
    assert reversed_known(np.r_[np.ones(20), np.zeros(80)]) is None
    assert reversed_known(np.r_[np.ones(21), np.zeros(79)]) is not None
    assert reversed_known(np.r_[np.ones(30), -np.ones(30), np.zeros(40)]) is None  # not more than the normals


def test_had_fit_notes_scikit_learn_labels(rows, tmp_path, capsys):
    X, sklearn = rows
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "k.npy", sklearn)
    code, out, err = run_cli(capsys, "fit", "ssad", str(tmp_path / "x.npy"), "--known", str(tmp_path / "k.npy"),
                             "-o", str(tmp_path / "m"))
    assert code == 0, err
    (note,) = [line for line in out.splitlines() if "say known anomaly" in line]
    assert note.startswith("  note: 54 of the 60 known labels") and "scikit-learn's +1 inlier / -1 outlier is " \
        "the reverse" in note and "KnownLabelsWarning" not in err
