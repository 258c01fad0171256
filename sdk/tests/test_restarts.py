"""had_sdk.restarts: members with derived seeds, scores standardised by each member's training scores and
averaged, one module for eager scoring, the artifact and ONNX."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError
from had.onnx_export import verify_export
from had_sdk.restarts import member_seed, training_scale

from sdk_toys import TinyAE, TinyAERestarts


@pytest.fixture
def rows():
    X = np.random.default_rng(0).normal(size=(200, 5))
    X[:5] += 5
    return X


def test_member_seeds_are_derived_deterministically():
    assert member_seed(7, 0) == 7
    assert member_seed(7, 1) == member_seed(7, 1) == 1809491585
    seeds = {member_seed(s, m) for s in range(5) for m in range(4)}
    assert len(seeds) == 20 and all(0 <= s < 2**31 for s in seeds)


def test_training_scale_is_the_interquartile_range():
    assert training_scale(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == 2.0
    assert training_scale(np.full(10, 4.0)) == 4.0  # no spread: the scores' median magnitude
    assert training_scale(np.array([4.0, 4.0 + 1e-7, 4.0 - 1e-7, 4.0])) == 4.0  # float32 rounding is no spread
    assert training_scale(np.zeros(10)) == 1.0  # nor a magnitude: 1


def test_one_restart_is_the_plain_fit(rows):
    plain = TinyAE(seed=3, device="cpu").fit(rows).decision_scores_
    one = TinyAERestarts(seed=3, device="cpu").fit(rows)
    np.testing.assert_array_equal(one.decision_scores_, plain)
    assert not hasattr(one, "restart_members_")


def test_two_restarts_average_the_members_standardised_scores(rows):
    """The score is the mean of (s_m - median_m) / IQR_m, plus the constant mean_m median_m / IQR_m."""
    det = TinyAERestarts(seed=3, restarts=2, device="cpu").fit(rows)
    standardised, offset = [], 0.0
    for m in range(2):
        s = TinyAE(seed=member_seed(3, m), device="cpu").fit(rows).decision_scores_
        q25, median, q75 = np.quantile(s, [0.25, 0.5, 0.75])
        standardised.append((s - median) / (q75 - q25))
        offset += median / (q75 - q25) / 2
    np.testing.assert_allclose(det.decision_scores_ - offset, np.mean(standardised, axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(det.decision_function(rows), det.decision_scores_)
    assert [m.config.seed for m in det.restart_members_] == [3, member_seed(3, 1)]
    assert np.median(det.decision_scores_ - offset) == pytest.approx(0.0, abs=0.3)


def test_restarts_artifact_keeps_every_member(tmp_path, rows):
    det = had.get_detector("tiny-ae-restarts", restarts=3, device="cpu").fit(rows)
    path = had.save(det, tmp_path / "m")
    back = had.load(path)
    np.testing.assert_array_equal(back.decision_function(rows), det.decision_function(rows))
    state = det._get_state()
    assert {"restart.scale", "restart0.network.0.weight", "restart2.preprocessing.mean"} <= set(state)
    np.testing.assert_array_equal(back.restart_scale_, det.restart_scale_)


def test_restarts_export_one_graph_with_the_eager_scores(rows):
    det = TinyAERestarts(restarts=2, device="cpu").fit(rows)
    report = verify_export(det.export_onnx(), det, rows)
    assert report["max_rel_err"] <= 1e-4 and report["n_checked"] >= 200
    cube = rows[:195].reshape(13, 15, 5)
    det = TinyAERestarts(restarts=2, device="cpu").fit(cube)
    assert det.decision_scores_.shape == (195,) and det.decision_function(cube).shape == (13, 15)
    verify_export(det.export_onnx(), det, cube)


def test_restarts_must_be_positive():
    with pytest.raises(ConfigError):
        TinyAERestarts(restarts=0)


def test_training_scores_are_the_members_combined_not_scored_again(rows, monkeypatch):
    """decision_scores_ = mean_m s_m / IQR_m from the members' own training scores (float32, member order): what
    the module computes, bit for bit, without a second pass of the training data through every member."""
    from had_sdk import restarts

    det = TinyAERestarts(seed=3, restarts=3, device="cpu").fit(rows)
    members = [m.decision_scores_.astype(np.float32) for m in det.restart_members_]
    scale = det.restart_scale_
    expected = ((members[0] / scale[0] + members[1] / scale[1]) + members[2] / scale[2]) / np.float32(3)
    np.testing.assert_array_equal(det.decision_scores_, expected.astype(np.float64))
    np.testing.assert_array_equal(det.decision_function(rows), det.decision_scores_)
    passes = []
    monkeypatch.setattr(restarts.RestartsModule, "forward", lambda self, x: passes.append(x) or 1 / 0)
    TinyAERestarts(seed=3, restarts=2, device="cpu").fit(rows)  # the module is never run on the training data
    assert passes == []


def test_members_with_their_own_training_scores_are_scored_through_the_module(rows, monkeypatch):
    """A member whose fit returned its own scores (not its module's): the ensemble scores the data again."""
    monkeypatch.setattr(TinyAE, "on_fit_end", lambda self, X: np.zeros(X.shape[0]))
    det = TinyAERestarts(seed=3, restarts=2, device="cpu").fit(rows)
    assert not det.restart_members_[0].scored_by_module_
    assert np.ptp(det.decision_scores_) > 0  # not the members' zeros: the module's scores
    np.testing.assert_array_equal(det.decision_function(rows), det.decision_scores_)


def test_members_take_the_ensembles_fingerprint_without_hashing_the_data_again(rows, monkeypatch):
    from had import fingerprint

    hashed = []
    update = fingerprint.BlockDigest.update
    monkeypatch.setattr(fingerprint.BlockDigest, "update", lambda self, block: hashed.append(1) or update(self, block))
    det = TinyAERestarts(seed=3, restarts=3, device="cpu").fit(rows)
    assert len(hashed) == 1  # the ensemble's fit only
    assert det.training_sha256_ == fingerprint.training_sha256(rows)
    assert {m.training_sha256_ for m in det.restart_members_} == {det.training_sha256_}


def test_all_equal_training_scores_are_said_once_not_once_per_member():
    """Was: a ConstantScoresWarning from each of the members, then the ensemble's."""
    import warnings

    from had.errors import ConstantScoresWarning

    blank = np.full((40, 5), 3.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TinyAERestarts(seed=0, restarts=3, device="cpu").fit(blank)
    said = [str(w.message) for w in caught if issubclass(w.category, ConstantScoresWarning)]
    assert len(said) == 1 and "the 40 training samples are all equal" in said[0], said


def test_a_warning_every_member_gives_is_said_once(monkeypatch):
    """A review: members' warnings were passed on one per member (eight for deepsvdd, eight note lines)."""
    import warnings

    build = TinyAERestarts.build_network

    def warned(self, spec):
        warnings.warn("a member's warning", UserWarning)
        return build(self, spec)

    monkeypatch.setattr(TinyAERestarts, "build_network", warned)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TinyAERestarts(seed=0, restarts=4, device="cpu").fit(np.random.default_rng(0).normal(size=(60, 5)))
    assert [str(w.message) for w in caught].count("a member's warning") == 1
