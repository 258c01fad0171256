"""A graph that holds its training rows (KNN, KDE, a kernel SVM) computes every scored row's distance to each of
them: onnxruntime held a (batch x training rows) float32 matrix and its copies, 7.5 GB for 30,000 rows scored
against 30,000 (`had score --engine onnx`, and the parity check of `had fit --export`), so a table of 60,000 rows
could not be scored on a 23 GB machine. The export now records its widest constant (``row_width``) and the
runtime cuts its batches to fit :data:`had.runtime.BATCH_BYTES`; the scores are the same."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import runtime
from had.onnx_export import export

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.mark.parametrize("name", ["pyod-knn", "pyod-kde"])
def test_a_graph_of_reference_rows_is_scored_in_batches_that_fit(tmp_path, monkeypatch, name):
    rng = np.random.default_rng(0)
    # 1,000 reference rows and 3,000 to score in 10 batches (was 3,000 and 9,000 in 9: the same splitting, a
    # ninth of the distance arithmetic, eager and ONNX)
    train, scored = rng.normal(size=(1000, 4)), rng.normal(size=(3000, 4))
    det = had.get_detector(name).fit(train)
    path = had.save(det, tmp_path / "m")
    export(path, train[:500])
    scorer = runtime.OnnxScorer(path)
    assert scorer.row_width == 1000  # the training rows the graph holds
    monkeypatch.setattr(runtime, "BATCH_BYTES", 1000 * 4 * runtime.INTERMEDIATE_COPIES * 300)  # 300 rows
    assert scorer.max_batch() == 300
    seen = []
    run = scorer._session_run
    monkeypatch.setattr(scorer, "_session_run", lambda x: seen.append(len(x)) or run(x))
    scores = scorer.score(scored)  # asked for 65,536 rows at once
    assert seen == [300] * 10
    np.testing.assert_allclose(scores, det.decision_function(scored), rtol=1e-4)
    monkeypatch.setattr(runtime, "BATCH_BYTES", 2**40)  # room for all of it: one batch, the same scores
    seen.clear()
    np.testing.assert_array_equal(scorer.score(scored), scores)
    assert seen == [3000]


def test_a_network_keeps_its_batches(tmp_path):
    """RX's graph (a whitening matrix, bands x bands) and the like: row_width is small, batches as asked."""
    cube = np.random.default_rng(1).normal(size=(30, 20, 6))
    path = had.save(had.get_detector("rx").fit(cube), tmp_path / "rx")
    export(path, cube)
    scorer = runtime.OnnxScorer(path)
    assert 0 < scorer.row_width <= 6 and scorer.max_batch() >= 65536
