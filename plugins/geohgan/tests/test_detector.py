"""The geohgan detector: training, the three scores, score selection, state, spectral-norm-folded export."""

import numpy as np
import pytest
import torch

import had
from had.errors import InvalidInputError
from had.metrics import auroc

from had_geohgan.detector import SCORE_TYPES, quartile_dispersion, select_score_type

TINY = {"epochs": 2, "encoder_epochs": 2, "first_width": 32, "hidden_widths": [16], "latent_dim": 8,
        "batch_size": 16, "n_critic": 2, "device": "cpu", "progress": False}


def tiles(n=48, c=3, size=8, seed=0, n_anom=6):
    """Smooth-ish positive tiles with a few bright anomalies (last `n_anom`)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 10, size=(n, c, 1, 1)) + rng.normal(0, 0.3, size=(n, c, size, size))
    y = np.zeros(n, dtype=np.int8)
    anomalous = np.arange(n) >= n - n_anom  # the last n_anom (none when n_anom is 0; y[-0:] would be all)
    y[anomalous] = 1
    base[anomalous, 0, 2:6, 2:6] += 8.0
    return base.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted():
    X, y = tiles()
    det = had.get_detector("geohgan", TINY).fit(X)
    return det, X, y


def test_three_scores_reported_and_deployed_one_used(fitted):
    det, X, y = fitted
    all_scores = det.score_all(X)
    assert set(all_scores) == set(SCORE_TYPES)
    for v in all_scores.values():
        assert v.shape == (48,) and np.isfinite(v).all() and (v >= 0).all()
    np.testing.assert_allclose(det.decision_function(X), all_scores[det.score_type_], rtol=1e-6)
    # anomaly_score = img_distance + kappa * feature distance >= img_distance
    assert (all_scores["anomaly_score"] >= all_scores["img_distance"] - 1e-12).all()
    sel = det.score_selection_
    assert sel["chosen"] == det.score_type_ == min(SCORE_TYPES, key=lambda k: sel["dispersion"][k])
    hist = det.history_
    assert len(hist["step1"]["ae"]) == 2 and len(hist["step2"]) == 2
    assert np.isfinite(hist["step1"]["d"]).all()


def test_training_progresses():
    # with so few tiles the GAN is far from converged (detection is measured in benchmarks/bench_geohgan.py);
    # what a unit test can check is that each step lowers its loss
    X, _ = tiles(n=32)
    det = had.get_detector("geohgan", {**TINY, "epochs": 8, "encoder_epochs": 8}).fit(X)
    step1, step2 = det.history_["step1"], det.history_["step2"]
    assert step1["ae"][-1] < 0.97 * step1["ae"][0] and step1["l_d"][-1] < step1["l_d"][0]
    assert step1["d"][-1] < step1["d"][0]  # the critic learns to separate real from generated tiles
    assert step2[-1] < step2[0]


def test_selection_rule_uses_training_scores_only():
    tight = np.r_[np.full(30, 1.0), np.linspace(1.0, 1.1, 10)]
    loose = np.linspace(0.1, 5.0, 40)
    chosen, disp = select_score_type({"img_distance": loose, "anomaly_score": loose * 2, "z_distance": tight})
    assert chosen == "z_distance" and disp["z_distance"] < disp["img_distance"]
    assert quartile_dispersion(np.array([1.0, 1.0, 3.0, 3.0])) == pytest.approx((3.0 - 1.0) / (3.0 + 1.0))


def test_fixed_score_type_and_gp_per_channel():
    X, _ = tiles(n=24)
    det = had.get_detector("geohgan", {**TINY, "epochs": 1, "encoder_epochs": 1, "score_type": "z_distance",
                                       "gp_alpha": "channel"}).fit(X)
    assert det.score_type_ == "z_distance"
    np.testing.assert_allclose(det.decision_function(X), det.score_all(X)["z_distance"], rtol=1e-6)


def test_tiles_helper_marks_exactly_the_last_n_anom():
    assert tiles(n=10, n_anom=0)[1].sum() == 0
    y = tiles(n=10, n_anom=3)[1]
    assert y.tolist() == [0] * 7 + [1] * 3


def test_save_load_keeps_score_type(fitted, tmp_path):
    det, X, _ = fitted
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.score_type_ == det.score_type_
    assert back.score_selection_["chosen"] == det.score_selection_["chosen"] == det.score_type_
    assert back.score_selection_["rule"] == det.score_selection_["rule"]
    for key, value in det.score_selection_["dispersion"].items():
        assert back.score_selection_["dispersion"][key] == pytest.approx(float(value), rel=1e-12)
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X), rtol=1e-6)


def test_export_has_no_spectral_norm_ops_and_matches(fitted):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from had.onnx_export import verify_export

    det, X, y = fitted
    model_bytes = det.export_onnx()
    model = onnx.load_from_string(model_bytes)
    ops = {n.op_type for n in model.graph.node}
    assert "Conv" in ops and not ({"ReduceL2", "LpNormalization"} & ops)
    report = verify_export(model_bytes, det, X, y=y)
    assert report["passed"] and report["max_rel_err"] <= det.onnx_rtol
    # the original critic keeps its parametrisation (export works on a folded copy)
    assert hasattr(det.network_.critic.convs[0], "parametrizations")


def test_unused_loop_fields_are_rejected():
    from had.errors import ConfigError

    for bad in ({"optimizer": "sgd"}, {"validation_fraction": 0.2}, {"weight_decay": 0.1}):
        with pytest.raises(ConfigError):
            had.get_detector("geohgan", {**TINY, **bad})


def test_tile_size_must_divide_by_four():
    X = np.random.default_rng(0).normal(size=(10, 2, 6, 6))
    with pytest.raises(InvalidInputError):
        had.get_detector("geohgan", TINY).fit(X)


def test_one_class_planted_outliers_score_above_held_out_background():
    # the reference's direction (test_anomaly_detection.py, select_anomaly_metric.py: roc_curve(labels, score)
    # with label 1 = not the training class, so a higher score is more anomalous) under its one-class protocol:
    # fit on background tiles of one level only, then tiles with an obvious bright blob outrank every held-out
    # background tile. (With background levels that vary from tile to tile, a briefly trained G(E(x)) does not
    # follow a tile's level and the level mismatch outweighs the blob: benchmarks/geohgan_diagnosis.py.)
    rng = np.random.default_rng(0)
    X = (7.5 + rng.normal(0, 0.3, size=(56, 3, 8, 8))).astype(np.float32)
    X[52:, 0, 2:6, 2:6] += 8.0
    det = had.get_detector("geohgan", {**TINY, "epochs": 4, "encoder_epochs": 4, "seed": 3}).fit(X[:40])
    scores = det.score_all(X[40:])
    labels = np.r_[np.zeros(12), np.ones(4)]
    for key in ("img_distance", "anomaly_score"):
        assert scores[key][12:].min() > scores[key][:12].max(), key
        assert auroc(labels, scores[key]) == 1.0


def test_a_band_constant_in_training_is_named_in_a_fit_note():
    """A band holding one value in every training tile cannot be min-max scaled; where it varies on new data the
    scores follow it (36 of 36 tiles flagged in a probe). The fit says so, naming the band (1-based)."""
    X, _ = tiles(n=24, c=3, n_anom=0)
    X[:, 1] = 7.0
    det = had.get_detector("geohgan", {**TINY, "epochs": 1, "encoder_epochs": 1}).fit(X)
    notes = [n for n in det.fit_notes_ if "hold one value in every training tile" in n]
    assert len(notes) == 1 and notes[0].startswith("band(s) 2 hold") and "--data bands=" in notes[0]
    clean = had.get_detector("geohgan", {**TINY, "epochs": 1, "encoder_epochs": 1}).fit(tiles(n=24, c=3)[0])
    assert not any("hold one value" in n for n in clean.fit_notes_)
