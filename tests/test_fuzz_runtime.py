"""Property-based tests of the ONNX runtime: any input gives finite scores or a typed error, never NaN."""

from __future__ import annotations

import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had.errors import InvalidInputError  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    rows = np.random.default_rng(0).normal(size=(200, 3))
    path = had.save(had.get_detector("rx").fit(rows), tmp_path_factory.mktemp("fuzz") / "rows")
    export(path, rows)
    return OnnxScorer(path)


values = st.floats(width=64) | st.sampled_from([3.5e38, -3.5e38, 1e39, 1e-45, 1e300, 0.0])


@fuzz(ci=120)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(3)), elements=values))
def test_rows_score_finite_or_raise(scorer, X):
    try:
        scores = scorer.score(X, batch_size=7)
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
        return
    assert scores.shape == (X.shape[0],) and np.isfinite(scores).all()
    labels = scorer.predict(X)
    assert set(np.unique(labels)) <= {0, 1}


@fuzz(ci=60)
@given(arrays(st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex128]),
              st.lists(st.integers(0, 4), min_size=0, max_size=5).map(tuple)))
def test_any_shape_or_dtype_is_scored_or_refused(scorer, X):
    try:
        scores = scorer.score(X)
    except InvalidInputError:  # BandMismatchError included
        return
    assert np.isfinite(scores).all()
