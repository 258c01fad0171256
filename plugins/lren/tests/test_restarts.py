"""The stabilised LREN with restarts (had_sdk.restarts): members are single LRENs with derived seeds, the score is
the mean of their scores standardised by their own training scores; one ONNX graph; the reference has no restarts."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError
from had.onnx_export import verify_export
from had_sdk.restarts import member_seed, training_scale

from lren_testdata import TINY

TWO = {**TINY, "restarts": 2, "seed": 5}


@pytest.fixture(scope="module")
def pair(scene):
    X, _ = scene
    return had.get_detector("lren", **TWO).fit(X)


def test_score_is_the_mean_of_the_members_standardised_scores(scene, pair):
    X, y = scene
    scaled = []
    for m in range(2):
        member = had.get_detector("lren", **{**TWO, "restarts": 1, "seed": member_seed(5, m)}).fit(X)
        np.testing.assert_array_equal(pair.restart_members_[m].decision_scores_, member.decision_scores_)
        q25, q75 = np.quantile(member.decision_scores_, [0.25, 0.75])
        assert training_scale(member.decision_scores_) == pytest.approx(q75 - q25)
        scaled.append(member.decision_scores_ / (q75 - q25))
    np.testing.assert_allclose(pair.decision_scores_, np.mean(scaled, axis=0), rtol=1e-5)
    np.testing.assert_array_equal(pair.decision_function(X).reshape(-1), pair.decision_scores_)
    assert [m.config.seed for m in pair.restart_members_] == [5, member_seed(5, 1)]
    assert all(len(m.atoms_) >= 2 for m in pair.restart_members_)  # each member has its own dictionary


def test_restarts_export_is_one_graph_equal_to_the_eager_score(scene, pair):
    X, y = scene
    report = verify_export(pair.export_onnx(), pair, X, y=y)
    assert report["max_rel_err"] <= pair.onnx_rtol and report["n_checked"] >= X.shape[0] * X.shape[1]


def test_restarts_artifact_round_trip(tmp_path, scene, pair):
    X, _ = scene
    back = had.load(had.save(pair, tmp_path / "m"))
    np.testing.assert_array_equal(back.decision_function(X), pair.decision_function(X))
    np.testing.assert_array_equal(back.restart_members_[1].atoms_, pair.restart_members_[1].atoms_)


def test_the_reference_has_no_restarts():
    with pytest.raises(ConfigError):
        had.get_detector("lren-reference", restarts=2)
    assert "restarts" not in had.get_detector("lren-reference").config.model_dump()
