"""What a scene with NaN is told, at a load and at scoring (an audit of 5 December 2026, LREN on hydice-ii)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.data import Dataset
from had.errors import InvalidInputError


def _scene() -> np.ndarray:
    X = np.random.default_rng(0).random((20, 20, 6))
    X[4, 5, :] = np.nan  # a pixel outside the area surveyed
    return X


def test_a_load_says_the_stray_values_and_the_blank_pixels_at_once():
    """Was: "holds 1 NaN ... (in band 4)", the pixel NaN in every band neither counted nor said (a load lets it
    pass), so the user fixed the one value and the next fit failed on the blank pixel."""
    X = _scene()
    X[11, 11, 3] = np.nan
    with pytest.raises(InvalidInputError) as info:
        Dataset("d", X)
    said = str(info.value)
    assert "holds 1 NaN or infinite value(s) of 2400 in pixels not NaN in every band (in band 4)" in said
    assert "the first at row 12, column 12" in said
    assert "1 pixel(s) are NaN in every band" in said and "--set nodata=nan" in said
    Dataset("d", _scene())  # blank pixels alone pass a load: the detector's nodata decides


def test_scoring_blank_pixels_says_to_fit_again_with_nodata():
    """Was: "--set nodata=nan leaves such pixels out of the fit", given to `had score`, which has no --set: a
    fitted model takes nodata from its fit."""
    det = had.get_detector("rx").fit(np.random.default_rng(1).random((20, 20, 6)))
    with pytest.raises(InvalidInputError) as info:
        det.decision_function(_scene())
    said = str(info.value)
    assert "1 pixel(s) are NaN in every band" in said
    assert "fit with --set nodata=nan" in said and "a model fitted without it: fit it again with it" in said
    fitted = had.get_detector("rx", nodata=float("nan")).fit(np.random.default_rng(1).random((20, 20, 6)))
    scores = fitted.decision_function(_scene())
    assert np.isnan(scores[4, 5]) and np.isfinite(np.delete(scores.ravel(), 4 * 20 + 5)).all()


def test_the_onnx_engine_names_the_batch_its_count_is_of():
    """onnxruntime scores in batches; its NaN message counted one batch's values ("1 ... of 65072") where the eager
    engine counts the whole input's: it now names the batch's rows, and they hold the bad row."""
    import re

    pytest.importorskip("onnxruntime")
    from had.runtime import OnnxScorer

    X = np.random.default_rng(0).normal(size=(50000, 4))
    scorer = OnnxScorer(had.get_detector("rx").fit(X).export_onnx())
    X[30000, 2] = np.nan
    with pytest.raises(InvalidInputError) as info:
        scorer.score(X)
    found = re.match(r"data rows (\d+)-(\d+) \(1-based; a batch\) holds 1 NaN or infinite value\(s\) of (\d+)",
                     str(info.value))
    assert found, str(info.value)
    first, last, size = map(int, found.groups())
    assert first <= 30001 <= last and size == (last - first + 1) * 4 < X.size


def test_a_nan_in_a_tables_first_row_is_counted_against_the_table_and_placed():
    """Was: rx's decision_function said "1 NaN ... of 21" (the first row's values, checked alone for the model's
    shape) and no row; a table's NaN is now placed by its row, in fit and scoring alike."""
    import had

    pytest.importorskip("had_pyod")
    X = np.random.default_rng(0).normal(size=(300, 7))
    rx = had.get_detector("rx").fit(X)
    for row in (0, 123):
        Z = X.copy()
        Z[row, 4] = np.nan
        for fn in (rx.decision_function, had.get_detector("rx").fit, had.get_detector("pyod-knn").fit):
            with pytest.raises(had.InvalidInputError) as caught:
                fn(Z)
            assert str(caught.value).startswith(f"data holds 1 NaN or infinite value(s) of 2100 (in column 5), the "
                                                f"first in row {row + 1} (1-based); fill or drop them first")


def test_a_nan_in_a_later_tile_of_a_table_is_named_by_its_rows(monkeypatch):
    import had
    import had.tiling

    X = np.random.default_rng(0).normal(size=(400, 4))
    rx = had.get_detector("rx").fit(X)
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)  # 128 rows a tile: the NaN is in the fourth
    X[390, 1] = np.inf
    with pytest.raises(had.InvalidInputError) as caught:
        rx.decision_function(X)
    assert str(caught.value).startswith("data rows 385-400 (1-based) holds 1 NaN or infinite value(s) of 64 (in "
                                        "column 2), the first in row 391 (1-based)")
