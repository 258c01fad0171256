"""No silent wrong number: metrics on degenerate scores and the ONNX runtime at the edge of float32.

Documented outcomes (docs/reliability.md): AUC against tau on constant scores or with fewer than 2 thresholds is
an InvalidInputError; score ranges wider than float64 can subtract are scaled without overflow (same value as
the unscaled scores); a threshold metric without a finite threshold is an InvalidInputError.
"""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ArtifactError, ConfigError, InvalidInputError
from had.metrics import auc_pd_tau, auc_pf_tau

Y = np.array([0, 0, 0, 1, 0, 1, 0, 0])
S = np.array([0.1, 0.4, 0.2, 0.9, 0.3, 0.7, 0.8, 0.0])


@pytest.mark.parametrize("metric", [auc_pf_tau, auc_pd_tau])
def test_auc_tau_on_constant_scores_is_a_typed_error(metric):
    with pytest.raises(InvalidInputError, match="every score equals 3; AUC against tau needs scores that vary"):
        metric(Y, np.full(Y.size, 3.0))


@pytest.mark.parametrize("n", [0, 1, -5, True, 2.5])
def test_auc_tau_with_fewer_than_two_thresholds_is_a_typed_error(n):
    with pytest.raises(InvalidInputError, match="n_thresholds must be an integer >= 2"):
        auc_pf_tau(Y, S, n_thresholds=n)
    with pytest.raises(ConfigError):
        had.get_metric("auc_pd_tau", n_thresholds=1)


def test_auc_tau_values_and_overflowing_ranges():
    # normals' scaled scores 1/9, 4/9, 2/9, 3/9, 8/9, 0: P(score >= tau) integrates to their mean (n -> inf)
    assert auc_pf_tau(Y, S, n_thresholds=200001) == pytest.approx(np.mean([1, 4, 2, 3, 8, 0]) / 9, abs=1e-5)
    assert auc_pd_tau(Y, S, n_thresholds=200001) == pytest.approx(np.mean([9, 7]) / 9, abs=1e-5)
    wide = (S - 0.45) / 0.45 * 1.7e308  # max - min overflows float64
    with np.errstate(over="ignore"):
        assert np.isfinite(wide).all() and not np.isfinite(wide.max() - wide.min())
    for metric in (auc_pf_tau, auc_pd_tau):
        assert metric(Y, wide) == pytest.approx(metric(Y, S), abs=1e-12)
        assert metric(Y, S * 1e-310) == pytest.approx(metric(Y, S), abs=1e-3)  # subnormal span


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_threshold_metrics_need_a_threshold(name):
    metric = had.get_metric(name)
    for threshold in (None, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match=f"metric '{name}' needs a finite threshold"):
            metric(Y, S, threshold)
    assert metric(Y, S, 0.75) == {"precision": 0.5, "recall": 0.5, "f1": 0.5}[name]


# ---- ONNX runtime -----------------------------------------------------------------------------------------

@pytest.fixture
def rows_model(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from had.onnx_export import export

    rows = np.random.default_rng(0).normal(size=(200, 3))
    path = had.save(had.get_detector("rx").fit(rows), tmp_path / "rows")
    export(path, rows)
    return path


def test_values_beyond_float32_are_refused_after_the_cast(rows_model):
    from had.runtime import OnnxScorer

    scorer = OnnxScorer(rows_model)
    rows = np.random.default_rng(1).normal(size=(10, 3))
    ok = scorer.score(rows)
    assert np.isfinite(ok).all()
    rows[4, 1] = 1e39  # finite in float64, inf in float32
    beyond = (r"the ONNX model computes in float32, which cannot hold values beyond 3.4e38 "
              r"\(this data's largest \|x\| is 1e\+39\)")
    with pytest.raises(InvalidInputError, match=beyond):
        scorer.score(rows)
    with pytest.raises(InvalidInputError, match=beyond):
        scorer.predict(rows)


def test_values_all_below_float32_are_refused_not_scored_as_zeros(rows_model):
    from had.runtime import OnnxScorer

    scorer = OnnxScorer(rows_model)
    rows = np.random.default_rng(1).normal(size=(10, 3))
    small = r"the ONNX model computes in float32, which cannot hold values this small: .*largest \|x\| is .*e-100"
    with pytest.raises(InvalidInputError, match=small):
        scorer.score(rows * 1e-100)  # zeros after the cast: every row would score the same
    assert np.isfinite(scorer.score(np.zeros((4, 3)))).all()  # true zeros are data, not an underflow


def test_scores_that_overflow_inside_the_graph_are_not_reported_normal(rows_model):
    from had.runtime import OnnxScorer

    scorer = OnnxScorer(rows_model)
    rows = np.zeros((4, 3))
    rows[2] = 3e37  # representable, but its squared distance is not
    try:
        scores = scorer.score(rows)
    except InvalidInputError as exc:
        assert "NaN or infinite score" in str(exc)
    else:  # a graph that stays finite must rank the extreme row first
        assert int(np.argmax(scores)) == 2


def test_a_damaged_model_file_is_an_artifact_error(rows_model, tmp_path):
    from had.runtime import OnnxScorer

    raw = (rows_model / "model.onnx").read_bytes()
    for damaged in (raw[: len(raw) // 2], b"\x00" * 64, raw[:8] + bytes([raw[8] ^ 0xFF]) + raw[9:40]):
        (tmp_path / "bad.onnx").write_bytes(damaged)
        with pytest.raises(ArtifactError, match="not a model onnxruntime can load"):
            OnnxScorer(tmp_path / "bad.onnx")
        with pytest.raises(ArtifactError, match="the model bytes"):
            OnnxScorer(damaged)


@pytest.mark.parametrize("key,value,message", [
    ("input_spec", "{not json", "input_spec metadata is not JSON"),
    ("input_spec", '"a string"', "input_spec is 'a string', not an object"),
    ("input_spec", "[1, 2]", "not an object"),
    ("threshold", "abc", "threshold is 'abc', not a finite number"),
    ("threshold", "nan", "not a finite number"),
])
def test_bad_onnx_metadata_is_an_artifact_error(rows_model, key, value, message):
    import onnx

    from had.onnx_export import set_metadata
    from had.runtime import OnnxScorer

    model = onnx.load_from_string((rows_model / "model.onnx").read_bytes())
    set_metadata(model, {key: value})
    with pytest.raises(ArtifactError, match=message):
        OnnxScorer(model.SerializeToString())


def test_a_scene_given_to_an_image_detector_says_how_to_tile_it():
    from had.errors import InvalidInputError
    from had.validation import check_array

    with pytest.raises(InvalidInputError, match=r"this accepts image \(N, C, H, W\); to cut a scene or raster file "
                                                r"into tiles, read it with had-plugin-raster's raster-file"):
        check_array(np.zeros((8, 8, 3)), kinds=("image",))
    with pytest.raises(InvalidInputError) as info:  # the hint only where tiles are what is missing
        check_array(np.zeros((8, 8, 3)), kinds=("tabular",))
    assert "raster-file" not in str(info.value)
