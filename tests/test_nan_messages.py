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
