"""A probe of 7 December 2026 stopped `had fit pyod-kde` on a flight line during its pass over every pixel: the
64 MiB tile (~83,000 pixels) went to scikit-learn in one C call, ~100 s against 5,000 training pixels, and
Ctrl-C or SIGTERM (:mod:`had.signals`) waited for it. The rows now go in chunks (:data:`had_pyod.adapter.
ROWS_PER_CALL`, fewer for a model that compares each row with many references), between which Python runs the
signal's handler; the scores are those of one call. Its fit note counted the no-data pixels as scored too."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had_pyod import adapter

pytest.importorskip("pyod")

MODELS = [
    ("pyod-knn", {}),
    ("pyod-kde", {"bandwidth": 1.0}),
    ("pyod-iforest", {"n_estimators": 10}),
    ("pyod-ecod", {}),
    ("pyod-pca", {}),
    ("pyod-gmm", {"n_components": 2}),
    ("pyod-ocsvm", {}),
    ("ssad", {}),
]


def _cube(h=90, w=80, bands=6, seed=0):
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(h, w, bands))
    cube[5, 7] += 6.0
    return cube


def _spied(det, calls):
    """`det` with each call of its ``_score_rows`` counted (its row count appended to `calls`)."""
    own = type(det)._score_rows

    def counted(rows):
        calls.append(int(rows.shape[0]))
        return own(det, rows)

    det._score_rows = counted
    return det


@pytest.mark.parametrize("name,config", MODELS)
def test_scored_in_chunks_as_in_one_call(name, config, monkeypatch):
    """The fit's pass over every pixel (a sampled fit) and a later scoring call the model with at most
    ROWS_PER_CALL rows (was: 7,200 pixels, a tile, in one call); the scores are those of one call, bit for bit."""
    cube = _cube()
    calls: list[int] = []
    det = _spied(had.get_detector(name, {"max_fit_pixels": 1500, **config}), calls).fit(cube)
    assert calls and max(calls) <= adapter.ROWS_PER_CALL and sum(calls) == cube.shape[0] * cube.shape[1]
    calls.clear()
    chunked = det.decision_function(cube)
    assert len(calls) >= 2 and max(calls) <= adapter.ROWS_PER_CALL
    monkeypatch.setattr(det, "_rows_per_call", lambda: None)  # one call, as before
    calls.clear()
    whole = det.decision_function(cube)
    assert calls == [cube.shape[0] * cube.shape[1]]
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(det.decision_scores_, whole.reshape(-1))
    rows = cube.reshape(-1, cube.shape[2])  # rows (N, D) are chunked too
    calls.clear()
    np.testing.assert_array_equal(det.decision_function(rows), whole.reshape(-1))


def test_a_model_with_many_references_scores_fewer_rows_a_call():
    """kNN and KDE compare each row with every training pixel: a call holds at most PAIRS_PER_CALL pairs (KDE's
    tree-walked kernel sums its own, fewer), never fewer than FEWEST_ROWS_PER_CALL rows."""
    cube = _cube()
    knn = had.get_detector("pyod-knn", max_fit_pixels=4000).fit(cube)
    kde = had.get_detector("pyod-kde", max_fit_pixels=4000, bandwidth=1.0).fit(cube)
    iforest = had.get_detector("pyod-iforest", max_fit_pixels=4000, n_estimators=5).fit(cube)
    assert knn._rows_per_call() == adapter.ROWS_PER_CALL  # 8e7 / 4,000 = 20,000, above the cap
    assert kde._rows_per_call() == int(kde.pairs_per_call // 4000) == 500
    assert iforest._rows_per_call() == adapter.ROWS_PER_CALL
    kde.train_rows_ = np.zeros((10**6, 6))
    assert kde._rows_per_call() == adapter.FEWEST_ROWS_PER_CALL


def test_ecod_batch_scores_stay_one_call_a_tile():
    """PyOD's own ECOD scores rank each call's rows together: chunking would change them, so they go a tile a
    call as before; had's row-by-row ECOD (the default) is chunked."""
    cube = _cube()
    calls: list[int] = []
    det = _spied(had.get_detector("pyod-ecod", max_fit_pixels=1500, batch_scores=True), calls).fit(cube)
    assert calls == [cube.shape[0] * cube.shape[1]]
    assert had.get_detector("pyod-ecod", max_fit_pixels=1500).fit(cube)._rows_per_call() == adapter.ROWS_PER_CALL


def test_a_progress_bar_counts_each_chunk():
    seen: list[int] = []
    rows = np.arange(10_000 * 2, dtype=np.float64).reshape(-1, 2)
    scores = adapter.scored_in_chunks(lambda part: part[:, 0], rows, 4096, seen.append)
    assert seen == [4096, 4096, 1808]
    np.testing.assert_array_equal(scores, rows[:, 0])


def test_the_note_counts_the_pixels_it_scores(capsys, monkeypatch):
    """A flight line's no-data pixels score NaN unscored: the note counts the others (was: "each of the 7,200
    pixels" with 1,100 of them fill)."""
    monkeypatch.setattr(adapter, "NOTE_PAIRS", 1e5)
    cube = _cube()
    cube[:10] = -9999.0  # 800 fill pixels
    cube[10:, :4] = -9999.0  # 320 more
    det = had.get_detector("pyod-knn", max_fit_pixels=1500, nodata=-9999.0).fit(cube)
    err = capsys.readouterr().err
    scored = cube.shape[0] * cube.shape[1] - 1120
    assert f"note: pyod-knn scores each of the {scored:,} pixels with data against its 1,500 training pixels: " \
           f"about {float(scored) * 1500:.2g} pixel pairs" in err
    assert int(np.isnan(det.decision_function(cube)).sum()) == 1120
