"""pyod-kde's bandwidth grid is the reference's (2**0.5 to 2**5, for rows min-max scaled to [0, 1]): on rows of
another scale the search ends on an edge of the grid, and a fit note says so (`had fit` prints it)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.metrics import auroc
from had_sdk import kit

pytest.importorskip("pyod")


def test_a_search_ending_on_the_grid_edge_is_said():
    X, y = kit.make_data("tabular")
    raw = X * 1e4 + 1e4  # radiance-like units
    det = had.get_detector("pyod-kde").fit(raw)
    assert det.bandwidth_ == 32.0 and "the largest of bandwidth_grid (1.41421 to 32)" in det.fit_notes_[0]
    assert auroc(y, det.decision_scores_) < 0.6  # every training row its own peak: the scores say nothing
    wide = had.get_detector("pyod-kde", bandwidth_grid=[5e3, 1e4, 2e4, 4e4, 8e4]).fit(raw)
    assert wide.fit_notes_ == [] and auroc(y, wide.decision_scores_) > 0.99
    unit = had.get_detector("pyod-kde").fit((X - X.min(0)) / (X.max(0) - X.min(0)))
    assert "the smallest of bandwidth_grid" in unit.fit_notes_[0]
    assert had.get_detector("pyod-kde", bandwidth=2.0).fit(raw).fit_notes_ == []  # no search, nothing to say


def test_the_hybrid_says_its_inner_kdes_note():
    X, _ = kit.make_data("tabular")
    det = had.get_detector("hybrid-kde", ae_epochs=2).fit(X)
    assert det.fit_notes_[0].startswith("pyod-kde on the autoencoder's codes: the bandwidth grid search chose")
