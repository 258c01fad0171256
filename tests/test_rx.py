import numpy as np
import pytest

import had
from had.rx import RX

from realdata import scene

# ../shared/data/MANIFEST.md: global RX on the raw scenes (float64, scene statistics)
PUBLISHED = {
    "sandiego_plane": 0.9403, "HYDICE_data": 0.9763, "abu-beach-4": 0.9887, "abu-urban-2": 0.9952,
    "HYDICE-II": 0.9272, "abu-airport-1": 0.8221, "abu-airport-3": 0.9288, "abu-beach-1": 0.9807,
    "abu-beach-3": 0.9998, "abu-urban-1": 0.9907, "abu-urban-4": 0.9887,
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_rx_reproduces_published_auroc(name):
    cube, truth = scene(name)
    det = RX().fit(cube)
    scores = det.decision_function(cube)
    assert scores.shape == truth.shape
    assert had.metrics.auroc(truth, scores) == pytest.approx(PUBLISHED[name], abs=0.001)
    np.testing.assert_allclose(det.decision_scores_, scores.reshape(-1))


def test_rx_equals_mahalanobis_with_pinv(rng):
    X = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    det = RX().fit(X)
    mu = X.mean(0)
    inv = np.linalg.pinv(np.cov(X, rowvar=False))
    expected = np.einsum("ij,jk,ik->i", X - mu, inv, X - mu)
    np.testing.assert_allclose(det.decision_function(X), expected, rtol=1e-9)
    new = rng.normal(size=(20, 6))
    np.testing.assert_allclose(det.decision_function(new), np.einsum("ij,jk,ik->i", new - mu, inv, new - mu),
                               rtol=1e-9)


def test_rx_rows_and_cube_pixels_agree(rng):
    cube = rng.normal(size=(12, 9, 5))
    det = RX().fit(cube)
    np.testing.assert_allclose(det.decision_function(cube.reshape(-1, 5)), det.decision_function(cube).reshape(-1))


def test_rx_constant_band_is_dropped_not_divided_by_zero(rng):
    X = rng.normal(size=(200, 4))
    X[:, 2] = 7.0
    det = RX().fit(X)
    assert det.whitening_.shape == (4, 3)
    scores = det.decision_function(X)
    assert np.isfinite(scores).all()
    reduced = RX().fit(np.delete(X, 2, axis=1)).decision_function(np.delete(X, 2, axis=1))
    np.testing.assert_allclose(scores, reduced, rtol=1e-8)


def test_rx_threshold_and_predict(rng):
    X = rng.normal(size=(1000, 3))
    det = RX(contamination=0.05).fit(X)
    assert det.labels_.mean() == pytest.approx(0.05, abs=0.002)
    assert set(np.unique(det.predict(X))) <= {0, 1}
    det.set_contamination(0.2)
    assert det.labels_.mean() == pytest.approx(0.2, abs=0.002)


def test_rx_bad_input(rng):
    det = RX().fit(rng.normal(size=(10, 10, 4)))
    with pytest.raises(had.BandMismatchError, match="fitted on 4 bands, got 5"):
        det.decision_function(rng.normal(size=(10, 10, 5)))
    bad = rng.normal(size=(10, 10, 4))
    bad[3, 3, 1] = np.nan
    with pytest.raises(had.InvalidInputError, match="NaN"):
        det.decision_function(bad)
    with pytest.raises(had.InvalidInputError, match="empty"):
        RX().fit(np.zeros((0, 4)))
    with pytest.raises(had.InvalidInputError, match="expected rows"):
        RX().fit(np.zeros(10))
    with pytest.raises(had.InvalidInputError, match="accepts"):
        RX().fit(np.zeros((2, 1, 4, 4)))
    with pytest.raises(had.NotFittedError):
        RX().decision_function(np.zeros((3, 3)))
    with pytest.raises(had.ConfigError, match="contamination"):
        RX(contamination=0.9)
    with pytest.raises(had.ConfigError, match="bogus"):
        had.get_detector("rx", bogus=1)
    with pytest.raises(had.UnknownNameError, match="rx"):
        had.get_detector("rxx")


def test_other_bands_are_told_before_their_nan_values(rng):
    """A scene of the wrong band count that also holds NaN gets the band message, the one that says what to fix."""
    det = RX().fit(rng.normal(size=(10, 10, 4)))
    bad = rng.normal(size=(10, 10, 5))
    bad[3, 3, 1] = np.nan
    with pytest.raises(had.BandMismatchError, match="fitted on 4 bands, got 5"):
        det.decision_function(bad)
