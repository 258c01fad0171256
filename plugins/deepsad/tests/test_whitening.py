"""`deepsvdd`'s whitening input scaling (``scaling="whiten"``, the tabular default since the fifth round): the
map's algebra against its definition and against global RX, the module, and the detector with it inside the
model, saved and exported as one graph (refused on images: test_tabular_options.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.metrics import auroc
from had_deepsad import whitening
from had_deepsad.whitening import EIG_FLOOR, WhitenScale, whitening_map

FAST = {"epochs": 3, "ae_epochs": 5, "batch_size": 32, "ae_batch_size": 32, "device": "cpu", "progress": False,
        "recipe": "reference", "restarts": 1}


def _thin_direction(seed=0, n=600, d=8, shift=0.6):
    """Correlated Gaussian rows with one direction of tiny variance (std 0.02) and 30 anomalies moved along it by
    `shift`: far in Mahalanobis distance, near in Euclidean distance (the raw features' spread is about 1)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    spread = np.r_[np.linspace(1.5, 0.5, d - 1), 0.02]
    X = rng.normal(size=(n, d)) * spread @ basis.T + 5.0
    X[-30:] += shift * basis[:, -1]
    return X, np.r_[np.zeros(n - 30), np.ones(30)].astype(np.int8)


def _whitened(X, mean, matrix, lo, span):
    return ((X - mean) @ matrix - lo) / span


def test_full_whitening_gives_identity_covariance_and_the_training_range_onto_0_1():
    X, _ = _thin_direction()
    mean, matrix, lo, span = whitening_map(X, 0.0)
    Z = _whitened(X, mean, matrix, lo, span)
    assert Z.min() == pytest.approx(0.0, abs=1e-12) and Z.max() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(np.cov(Z * span, rowvar=False), np.eye(X.shape[1]), atol=1e-9)


def test_full_whitening_is_rx_distance_to_the_training_mean():
    """||(x - mu) W||^2 through the map is global RX's score of the same rows (had's RX, fitted on them)."""
    X, _ = _thin_direction(1)
    mean, matrix, lo, span = whitening_map(X, 0.0)
    Z = _whitened(X[:50], mean, matrix, lo, span) * span + lo  # back to the whitened coordinates
    rx = had.get_detector("rx").fit(X)
    np.testing.assert_allclose((Z ** 2).sum(axis=1), rx.decision_function(X[:50]), rtol=1e-8)


def test_shrinkage_bounds_each_directions_weight_by_the_mean_variance():
    X, _ = _thin_direction(2)
    eigval = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    for shrinkage in (0.5, 1.0, 4.0):
        mean, matrix, lo, span = whitening_map(X, shrinkage)
        cov = np.cov(_whitened(X, mean, matrix, lo, span) * span, rowvar=False)
        expected = eigval / (eigval + shrinkage * eigval.mean())  # each direction's variance after the map
        np.testing.assert_allclose(np.linalg.eigvalsh(cov), np.sort(expected), rtol=1e-8, atol=1e-12)
        assert np.abs(matrix).max() <= (shrinkage * eigval.mean()) ** -0.5 + 1e-12


def test_directions_without_variance_are_dropped_when_whitening_fully():
    X, _ = _thin_direction(3)
    X = np.c_[X, np.full(len(X), 7.0), X[:, 0] - X[:, 1]]  # a constant column and a linear combination
    mean, matrix, lo, span = whitening_map(X, 0.0)
    eigval = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    dropped = eigval < EIG_FLOOR * eigval.max()
    assert dropped.sum() == 2
    assert np.count_nonzero(np.abs(matrix).sum(axis=0) > 0) == X.shape[1] - 2
    cov = np.cov(_whitened(X, mean, matrix, lo, span) * span, rowvar=False)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(cov))[2:], 1.0, atol=1e-6)
    assert np.isfinite(matrix).all()


def test_chunks_give_the_whole_tables_map(monkeypatch):
    """Rows taken CHUNK_ROWS at a time (float32 rows, never copied whole) give the map of the table in one piece."""
    X, _ = _thin_direction(6, n=1000)
    whole = whitening_map(X.astype(np.float32), 1.0)
    monkeypatch.setattr(whitening, "CHUNK_ROWS", 97)
    chunked = whitening_map(X.astype(np.float32), 1.0)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_a_tail_sets_the_range_from_quantiles_so_extreme_rows_do_not_squash_the_rest():
    """``whiten_tail``: the tail and 1 - tail quantiles of all whitened training values map to 0 and 1; with min
    and max (tail 0) five extreme rows put nearly every value into a sliver of [0, 1]."""
    X, _ = _thin_direction(7, n=2000)
    X[:5] += 400.0 * np.random.default_rng(0).normal(size=(5, X.shape[1]))  # a few huge rows (shuttle's kind)
    squashed = _whitened(X, *whitening_map(X, 1.0))
    spread = _whitened(X, *whitening_map(X, 1.0, tail=0.005))
    assert np.ptp(np.percentile(squashed, [1, 99])) < 0.1
    assert np.mean(spread < 0) == pytest.approx(0.005, abs=1e-4)
    assert np.mean(spread > 1) == pytest.approx(0.005, abs=1e-4)
    assert np.ptp(np.percentile(spread, [1, 99])) > 0.8  # (0.88)


def test_the_tails_quantiles_come_from_evenly_spaced_rows_of_a_large_table(monkeypatch):
    X, _ = _thin_direction(8, n=1000)
    monkeypatch.setattr(whitening, "CHUNK_ROWS", 100)
    mean, matrix, lo, span = whitening_map(X, 1.0, tail=0.01)
    picked = np.linspace(0, 999, 100).round().astype(int)
    expected = np.quantile((X[picked] - mean) @ matrix, [0.01, 0.99])
    assert (lo, lo + span) == pytest.approx(tuple(expected), rel=1e-12)


def test_constant_rows_map_to_zero():
    mean, matrix, lo, span = whitening_map(np.full((20, 3), 2.5), 0.0)
    assert not matrix.any() and (lo, span) == (0.0, 1.0)


def test_module_is_the_map_in_float32_and_round_trips_its_buffers():
    X, _ = _thin_direction(4)
    scale = WhitenScale(X.shape[1], 1.0).fit(X)
    x = torch.from_numpy(X[:40].astype(np.float32))
    np.testing.assert_allclose(scale(x).numpy(), _whitened(X[:40], *whitening_map(X, 1.0)), atol=1e-5)
    loaded = WhitenScale(X.shape[1], 1.0)
    loaded.load_state_dict(scale.state_dict())
    np.testing.assert_array_equal(loaded(x).numpy(), scale(x).numpy())


@pytest.fixture(scope="module")
def whitened():
    X, y = _thin_direction(5)
    return X, y, had.get_detector("deepsvdd", {**FAST, "scaling": "whiten", "shrinkage": 0.0, "seed": 1}).fit(X)


def test_whitened_deepsvdd_finds_anomalies_along_a_thin_direction_the_raw_one_misses(whitened):
    """The anomalies sit 30 standard deviations out along a direction of tiny variance, 0.6 in raw units (in the
    training rows' covariance, which they are part of, about 4): whitened, a short Deep SVDD fit ranks most of them
    high (0.85; RX, the exact Mahalanobis distance, 0.9997); on the raw features the same fit does not (0.64)."""
    X, y, det = whitened
    assert isinstance(det.preprocessing_, WhitenScale)
    raw = had.get_detector("deepsvdd", {**FAST, "seed": 1}).fit(X)
    assert auroc(y, det.decision_scores_) > 0.8
    assert auroc(y, raw.decision_scores_) < 0.7


def test_whitening_is_inside_the_model_saved_and_exported(saved_and_exported, whitened):
    X, y, det = whitened
    assert (det.config.scaling, det.config.shrinkage, det.config.whiten_tail) == ("whiten", 0.0, 0.005)
    saved_and_exported(det, X, y)


@pytest.mark.parametrize("setting", [{"shrinkage": 0.5}, {"whiten_tail": 0.01}])
@pytest.mark.parametrize("scaling", ["none", "quantile"])
def test_whitening_fields_without_whitening_are_refused(setting, scaling):
    """shrinkage and whiten_tail shape only scaling='whiten': set with another scaling they would be silently
    ignored, so the fit refuses them (a typed ConfigError naming the field and the fix); left at their defaults,
    as every loaded artifact's config carries them, they are no obstacle."""
    from had.errors import ConfigError

    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    with pytest.raises(ConfigError, match=f"{next(iter(setting))}=.*scaling=whiten"):
        had.get_detector("deepsvdd", {**FAST, "scaling": scaling, **setting}).fit(X)
    fitted = had.get_detector("deepsvdd", {**FAST, "scaling": scaling}).fit(X)
    assert np.isfinite(fitted.decision_scores_).all() and np.ptp(fitted.decision_scores_) > 0
