"""Rows far from the origin, fitted without scaling, are said at fit: the networks have no bias terms (as the
papers'), and a numeric-edge audit found planted outliers ranked last (deepsad-ae on rows around -20: AUROC
0.000; deepsad around +1000: 0.154), without a word."""

from __future__ import annotations

import numpy as np
import pytest

import had

TINY = {"epochs": 1, "ae_epochs": 1, "device": "cpu", "progress": False}


def _rows(shift: float) -> np.ndarray:
    X = np.random.default_rng(0).normal(size=(120, 6))
    X[:4] += 8.0
    return X + shift


@pytest.mark.parametrize("name", ["deepsad", "deepsad-ae"])
def test_shifted_rows_are_said_and_scaled_rows_are_not(name):
    config = {k: v for k, v in TINY.items() if k != "ae_epochs" or name == "deepsad"}
    shifted = had.get_detector(name, config).fit(_rows(-20.0))
    (note,) = [n for n in shifted.fit_notes_ if "from 0" in n]
    assert "features sit a median of" in note and "no bias terms" in note and "Scale each feature first" in note
    X = _rows(0.0)
    scaled = (X - X.min(axis=0)) / np.ptp(X, axis=0)  # the Deep SAD protocol's [0, 1]
    assert not [n for n in getattr(had.get_detector(name, config).fit(scaled), "fit_notes_", []) if "from 0" in n]


def test_heavy_tailed_rows_in_0_1_are_not_said():
    """A review: by |mean| / std, shuttle min-max scaled to [0, 1] sat 15.4 from the origin (heavy tails: most rows
    near one end), and was told to scale to [0, 1]."""
    from had_deepsad.detectors import far_from_origin

    rng = np.random.default_rng(0)
    X = rng.exponential(size=(5000, 6)) ** 3
    X = 1.0 - (X - X.min(axis=0)) / np.ptp(X, axis=0)  # most rows near 1, a few far below
    assert float(np.median(X.mean(axis=0) / X.std(axis=0))) > 10  # what the first rule measured
    assert far_from_origin("deepsad", X, None) is None
    assert far_from_origin("deepsad", X - 20.0, None) is not None


def test_deepsvdd_whitening_its_rows_says_nothing():
    det = had.get_detector("deepsvdd", {**TINY, "scaling": "whiten", "restarts": 1}).fit(_rows(-20.0))
    assert not [n for n in getattr(det, "fit_notes_", []) if "from 0" in n]
