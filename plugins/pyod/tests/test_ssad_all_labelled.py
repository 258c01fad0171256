"""SSAD with every row labelled (no unlabeled row): the primal of Görnitz et al. allows it, and so does the fit.

Was: ``ValueError: zero-size array to reduction operation minimum`` from the offset's unlabeled-rows rule
(``f[unl].min()``), a traceback at `had fit`; known anomalies alone were "C=1.0 is too small for 0 rows"."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import LabelError


@pytest.fixture
def labelled():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    X[:8] += 4.0
    known = np.r_[np.ones(8), -np.ones(72)].astype(int)  # every row labelled
    return X, known


@pytest.mark.parametrize("name", ["ssad", "hybrid-ssad"])
def test_every_row_labelled_fits_and_separates(labelled, name):
    X, known = labelled
    det = had.get_detector(name, seed=0).fit(X, known)
    scores = det.decision_function(X)
    assert np.isfinite(scores).all() and scores[:8].min() > scores[8:].max()


def test_the_offset_lies_between_the_known_normals_and_the_known_anomalies(labelled):
    X, known = labelled
    det = had.get_detector("ssad", seed=0).fit(X, known)
    scores = det.decision_function(X)  # rho - f: rho halfway between rho + gamma (normals) and rho - gamma
    assert (scores[:8] > 0).all() and (scores[8:] < 0).mean() > 0.9


def test_known_normals_only_fit_as_one_class(labelled):
    X, _ = labelled
    det = had.get_detector("ssad", seed=0).fit(X, -np.ones(80, dtype=int))
    assert 0.0 < (det.decision_function(X) > 0).mean() < 0.5


@pytest.mark.filterwarnings("ignore::had.validation.KnownLabelsWarning")
def test_known_anomalies_only_are_one_label_error():
    X = np.random.default_rng(1).normal(size=(30, 3))
    with pytest.raises(LabelError, match=r"^SSAD: every one of the 30 rows is a known anomaly \(1\); it needs "
                                         r"unlabeled \(0\) or known normal \(-1\) rows"):
        had.get_detector("ssad").fit(X, np.ones(30, dtype=int))
