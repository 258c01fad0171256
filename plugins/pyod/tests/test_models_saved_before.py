"""Models saved by an older had load and score as they did (an audit fitted models with older revisions, run
from ``git archive``, and scored them with this one).

``data/ecod-c59298f/`` is a ``pyod-ecod`` model saved by had at commit c59298f (1 December 2026), fitted on 40
rows of 3 features (``rng = default_rng(3); X = rng.normal(size=(40, 3)); X[:3] += 5``); ``.rows.npy`` are 12 rows
it scored then, ``.scores.npy`` its scores (``had score MODEL rows.npy -o scores.npy`` with that revision). Its
state holds the training rows (``train_rows``, before 3 December 2026) and its config no ``batch_scores``
(PyOD's batch scores then): was "KeyError: 'sorted_columns'", an unloadable model.

``data/pca-946e16c/`` is a ``pyod-pca`` model saved by had at commit 946e16c (before 1 December 2026, c59298f),
fitted on the same 40 rows; ``.scores.npy`` its scores of the same 12 rows. Its state is the training rows alone,
refitted on at each load then; the fitted arrays since: was "KeyError: 'mean'" (pyod-ocsvm, -iforest, ssad and
the hybrids alike)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyod")

import had  # noqa: E402
from had_sdk.testing import run_cli  # noqa: E402

DATA = Path(__file__).parent / "data"


def test_an_ecod_model_saved_with_its_training_rows_scores_as_it_did():
    model = had.load(DATA / "ecod-c59298f")
    assert model.config.batch_scores is True  # PyODECOD.saved_before: PyOD's batch scores, as then
    rows, then = np.load(DATA / "ecod-c59298f.rows.npy"), np.load(DATA / "ecod-c59298f.scores.npy")
    np.testing.assert_array_equal(model.decision_function(rows), then)
    assert model.threshold_ == json.loads((DATA / "ecod-c59298f" / "manifest.json").read_text())["threshold"]


def test_had_score_reads_it_too(tmp_path, capsys):
    out = tmp_path / "scores.npy"
    code, _, err = run_cli(capsys, "score", str(DATA / "ecod-c59298f"), str(DATA / "ecod-c59298f.rows.npy"),
                           "-o", str(out))
    assert code == 0, err
    np.testing.assert_array_equal(np.load(out), np.load(DATA / "ecod-c59298f.scores.npy"))


def test_a_model_saved_with_the_rows_after_batch_scores_existed_keeps_its_setting():
    """Between 3 December 19:07 and 19:36 UTC the config had ``batch_scores`` (False: each row alone) and the state
    still the rows: loaded as each row alone, from the rows."""
    from had_pyod.models import PyODECOD

    X = np.load(DATA / "ecod-c59298f.rows.npy")
    fitted = had.get_detector("pyod-ecod").fit(X)
    loaded = PyODECOD(batch_scores=False)
    loaded._set_state({"train_rows": X})
    Z = np.random.default_rng(1).normal(size=(7, 3))
    np.testing.assert_array_equal(loaded._score_rows(Z), fitted._score_rows(Z))


def test_a_model_saved_with_its_training_rows_alone_is_refitted_on_them():
    model = had.load(DATA / "pca-946e16c")
    rows = np.load(DATA / "ecod-c59298f.rows.npy")
    np.testing.assert_allclose(model.decision_function(rows), np.load(DATA / "pca-946e16c.scores.npy"), rtol=1e-12)


def test_a_refit_at_load_runs_the_fits_checks(monkeypatch):
    """A review: the refit on an older model's rows skipped what a fit checks first (enough rows, the values' range,
    the memory the config needs), so a crafted artifact of that form was refitted however large (ssad on 100,000
    rows: a dense QP of ~480 GB, killed instead of refused)."""
    from had.errors import InvalidInputError
    from had_pyod.adapter import RowModelDetector
    from had_pyod.models import PyODPCA

    checked = []
    monkeypatch.setattr(PyODPCA, "check_fit_memory", lambda self, n: checked.append(n))
    had.load(DATA / "pca-946e16c")
    assert checked == [40]
    det = had.get_detector("pyod-iforest")
    with pytest.raises(InvalidInputError, match="needs at least 2 training rows, got 1 sample"):
        RowModelDetector._set_state(det, {"train_rows": np.ones((1, 3))})
