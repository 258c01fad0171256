"""`deepsvdd`'s tabular options of the second choice round: the rank (quantile) scaling inside the model and
restarts (had_sdk.restarts), each saved and exported as one graph (the whitening of the fifth and sixth rounds:
test_whitening.py); `deepsad` has neither; both scalings are refused on images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.preprocessing import QuantileTransformer

import had
from had.errors import ConfigError, InvalidInputError
from had.metrics import auroc
from had.onnx_export import export_and_verify
from had_sdk.restarts import member_seed, training_scale
from had_deepsad.scaling import QuantileScale
from had_sdk.testing import DetectorSuite

FAST = {"epochs": 2, "ae_epochs": 3, "batch_size": 32, "ae_batch_size": 32, "device": "cpu", "progress": False}


def _heavy_tailed(seed=0, n=400, d=5):
    """Normal rows with heavy-tailed features (a few huge values, as shuttle's) and 20 shifted anomalies."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, :2] = rng.standard_cauchy(size=(n, 2)) * 50  # tails that squash min-max scaling
    X[-20:, 2:] += 3.0
    return X, np.r_[np.zeros(n - 20), np.ones(20)].astype(np.int8)


def test_quantile_scale_is_scikit_learns_transform_ties_and_range_ends_included():
    rng = np.random.default_rng(0)
    X = np.c_[rng.standard_cauchy(500), rng.integers(0, 3, 500), rng.normal(size=500), np.ones(500)]
    scale = QuantileScale(4).fit(X)
    Y = np.r_[X, rng.normal(size=(50, 4)) * 10]  # training values (ties, both ends) and values outside the range
    expected = QuantileTransformer(n_quantiles=100).fit(X).transform(Y)
    got = scale(torch.from_numpy(Y.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    middle = got[:500, 1][X[:, 1] == 1]
    assert np.unique(got[:500, 1]).tolist() == [0.0, middle[0], 1.0] and 0.2 < middle[0] < 0.8  # a tie: its middle
    assert got[:500, 3].max() == 0.0  # a constant feature maps to 0, as scikit-learn's


def test_the_binary_search_and_the_counts_give_the_segment_sum_to_the_bit():
    """Eager scoring finds each value's place among the quantiles by binary search (``searched``); the exported
    graph runs one in fixed steps (``bisected``), the graph before counted the quantiles below it (``counted``);
    the plain definition sums one clamped ramp per segment
    (``segments``, what the graph did before: about 900 nodes, 1.6x the counts' time in onnxruntime;
    ``benchmarks/bench_quantile_scaling.py``). Same values to the bit: continuous, discrete (tied quantiles), constant and
    mostly-constant features, values at the quantiles themselves, between and outside them."""
    rng = np.random.default_rng(4)
    X = np.c_[rng.standard_cauchy(700), rng.integers(0, 3, 700), rng.normal(size=700), np.ones(700),
              rng.integers(0, 40, 700), np.r_[np.zeros(600), rng.normal(size=100)]]
    scale = QuantileScale(6).fit(X)
    Y = np.r_[X, rng.normal(size=(3000, 6)) * 10, np.round(rng.normal(size=(3000, 6)) * 3),
              scale.quantiles.numpy().astype(np.float64)]
    y = torch.from_numpy(Y.astype(np.float32))
    with torch.no_grad():
        searched, counted, summed = scale.searched(y), scale.counted(y), scale.segments(y)
        np.testing.assert_array_equal(searched.numpy(), summed.numpy())
        np.testing.assert_array_equal(counted.numpy(), summed.numpy())
        np.testing.assert_array_equal(scale.bisected(y).numpy(), summed.numpy())  # the exported graph's
        np.testing.assert_array_equal(scale(y).numpy(), summed.numpy())  # forward, eager: the search
    assert scale.tied  # the discrete features' tied quantiles: R is counted
    loaded = QuantileScale(6)
    loaded.load_state_dict(scale.state_dict())
    assert loaded.tied and not QuantileScale(2).fit(rng.normal(size=(300, 2))).tied
    with torch.no_grad():
        np.testing.assert_array_equal(loaded.counted(y).numpy(), summed.numpy())
        np.testing.assert_array_equal(loaded.bisected(y).numpy(), summed.numpy())
    for rows in (1, 2, 7, 8, 40):  # fewer rows than quantiles: K below, at and above a power of two minus one
        small = QuantileScale(2).fit(rng.integers(0, 4, size=(rows, 2)).astype(np.float64))
        z = torch.from_numpy(np.r_[rng.normal(size=(300, 2)) * 3, np.arange(-1, 6).repeat(2).reshape(-1, 2)]
                             .astype(np.float32))
        columns, values = small.quantiles.T.contiguous(), z.T.contiguous()
        with torch.no_grad():
            for strict in (True, False):
                np.testing.assert_array_equal(small._bisect(z, strict).numpy(),
                                              torch.searchsorted(columns, values, right=not strict).T.numpy())
            np.testing.assert_array_equal(small.bisected(z).numpy(), small.segments(z).numpy())


def test_fewer_rows_than_quantiles_round_trip():
    X = np.random.default_rng(1).normal(size=(40, 3))
    fitted = QuantileScale(3).fit(X)
    assert tuple(fitted.quantiles.shape) == (40, 3)
    loaded = QuantileScale(3)
    loaded.load_state_dict(fitted.state_dict())
    x = torch.from_numpy(X[:7].astype(np.float32))
    np.testing.assert_array_equal(loaded(x).numpy(), fitted(x).numpy())


@pytest.fixture(scope="module")
def scaled():
    X, y = _heavy_tailed()
    return X, y, had.get_detector("deepsvdd", {**FAST, "scaling": "quantile", "restarts": 1, "seed": 3}).fit(X)


def test_quantile_scaling_is_inside_the_model_saved_and_exported(saved_and_exported, scaled):
    X, y, det = scaled
    assert isinstance(det.preprocessing_, QuantileScale)
    inside = det.preprocessing_(torch.from_numpy(X.astype(np.float32))).numpy()
    assert inside.min() == 0.0 and inside.max() == 1.0
    np.testing.assert_allclose(np.median(inside, axis=0), 0.5, atol=0.02)  # each feature spread over [0, 1]
    saved_and_exported(det, X, y)


@pytest.mark.parametrize("scaling", ["quantile", "whiten"])
def test_scaling_is_refused_on_images(scaling):
    images = np.random.default_rng(0).random((8, 1, 28, 28))
    with pytest.raises(InvalidInputError, match="scaling='none'"):
        had.get_detector("deepsvdd", {**FAST, "scaling": scaling}).fit(images)


def test_restarts_average_the_members_iqr_scaled_scores_and_export_one_graph(tmp_path):
    X, y = _heavy_tailed(1)
    cfg = {**FAST, "scaling": "quantile", "seed": 4}
    three = had.get_detector("deepsvdd", {**cfg, "restarts": 3}).fit(X)
    scaled = []
    for m in range(3):
        member = had.get_detector("deepsvdd", {**cfg, "restarts": 1, "seed": member_seed(4, m)}).fit(X)
        np.testing.assert_array_equal(three.restart_members_[m].decision_scores_, member.decision_scores_)
        scaled.append(member.decision_scores_ / training_scale(member.decision_scores_))
    np.testing.assert_allclose(three.decision_scores_, np.mean(scaled, axis=0), rtol=1e-5)
    assert len({float(m.center_[0]) for m in three.restart_members_}) == 3  # three different fits
    path = tmp_path / "three.had"
    had.save(three, path)
    np.testing.assert_allclose(had.load(path).decision_function(X), three.decision_function(X), rtol=1e-6)
    report = export_and_verify(three, X, y=y)[1]
    assert report["passed"] and report["max_rel_err"] <= 1e-4
    assert auroc(y, three.decision_function(X)) > 0.7  # a constant score has 0.5 (measured 0.748 with 3 AE epochs)


def test_deepsad_has_neither_option():
    fields = type(had.get_detector("deepsad").config).model_fields
    assert "restarts" not in fields and "scaling" not in fields
    with pytest.raises(ConfigError):
        had.get_detector("deepsad", restarts=2)


def test_a_fit_writes_the_recipes_restarts_and_scaling_into_its_config():
    X = np.random.default_rng(2).random((40, 6))
    det = had.get_detector("deepsvdd", {**FAST, "recipe": "reference"})
    assert (det.config.restarts, det.config.scaling) == (None, None)  # by recipe until a fit knows the input
    det.fit(X)
    assert (det.config.restarts, det.config.scaling) == (1, "none")
    assert isinstance(det.preprocessing_, torch.nn.Identity)


def test_an_artifact_without_the_fields_loads_as_one_unscaled_fit():
    det = had.get_detector("deepsvdd")
    det._set_meta({})  # what loading an artifact saved before the fields existed does first
    assert (det.config.restarts, det.config.scaling) == (1, "none")


class TestDeepSVDDTabularDefaultKit(DetectorSuite):
    """The conformance kit on rows with the tabular options: 3 restarts, each with a snapshot after epoch 1 (the
    default's), rank-scaled (the second round's option); epochs shortened."""

    detector = "deepsvdd"
    config = {"epochs": 2, "ae_epochs": 10, "batch_size": 32, "ae_batch_size": 32, "restarts": 3, "scaling": "quantile",
              "snapshot_epochs": [1]}
    kinds = ("tabular",)
