"""``synthetic-scene``: shapes, labels, determinism, the target model, and difficulty (RX good, not everything)."""

from __future__ import annotations

import had
import had.plugins
import numpy as np
import pytest
from had.errors import ConfigError
from had.metrics import auroc
from had_synthetic import make_scene
from had_synthetic.scene import MIN_FRACTION
from scipy.ndimage import label


def test_registered_with_no_file_needed():
    assert {"synthetic-scene", "synthetic-table"} <= set(had.plugins.names("datasource"))
    assert "synthetic" not in had.plugins.load_errors()


def test_default_scene_shapes_and_labels():
    data = had.load_dataset("synthetic-scene")
    assert data.name == "synthetic-scene" and data.kind == "cube"
    assert data.X.shape == (64, 64, 50) and data.X.dtype == np.float64
    assert data.y.shape == (64, 64) and set(np.unique(data.y)) == {0, 1}
    assert 12 <= data.n_anomalies <= 48  # 12 blobs of 1 to 4 pixels
    assert data.meta["config"]["seed"] == 0 and "default_protocol" not in data.meta


def test_same_seed_same_scene_other_seed_other_scene():
    a, b = had.load_dataset("synthetic-scene", seed=5), had.load_dataset("synthetic-scene", seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = had.load_dataset("synthetic-scene", seed=6)
    assert not np.array_equal(a.y, c.y) and not np.allclose(a.X, c.X)


def test_non_square_and_other_sizes():
    data = had.load_dataset("synthetic-scene", height=40, width=24, bands=30, n_targets=5)
    assert data.X.shape == (40, 24, 30) and data.y.shape == (40, 24)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_targets_are_separate_blobs_of_one_to_four_pixels(seed):
    scene = make_scene(seed=seed, n_targets=12)
    blobs, count = label(scene.y, structure=np.ones((3, 3)))  # 8-connected: blobs do not even touch diagonally
    assert count == 12
    sizes = np.bincount(blobs.ravel())[1:]
    assert sizes.min() >= 1 and sizes.max() <= 4


def test_sub_pixel_mixing_model():
    scene = make_scene(seed=1, abundance=0.3)
    on = scene.y == 1
    assert np.all(scene.fractions[~on] == 0)
    assert np.all((scene.fractions[on] >= MIN_FRACTION * 0.3) & (scene.fractions[on] <= 0.3))
    np.testing.assert_allclose(scene.abundances.sum(axis=-1), 1.0)
    assert scene.endmembers.shape == (4, 50) and scene.target.shape == (50,)
    # the target is not a mixture of the endmembers
    residual = np.linalg.lstsq(scene.endmembers.T, scene.target, rcond=None)[1]
    assert residual.size and residual[0] > 1e-3


def test_noise_free_scene_is_exactly_the_mixture():
    scene = make_scene(seed=2, noise=0.0, n_targets=0)
    assert scene.y.sum() == 0
    X = scene.X.reshape(-1, 50)
    # every pixel lies in the span of the endmembers (illumination scales, abundances mix)
    coef = np.linalg.lstsq(scene.endmembers.T, X.T, rcond=None)[0]
    np.testing.assert_allclose(scene.endmembers.T @ coef, X.T, atol=1e-10)


def test_global_rx_detects_the_targets():
    data = had.load_dataset("synthetic-scene")
    scores = had.get_detector("rx").fit(data.X).decision_function(data.X)
    assert auroc(data.y, scores) > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_not_trivial_for_every_method(seed):
    data = had.load_dataset("synthetic-scene", seed=seed)
    pixels = data.X.reshape(-1, data.X.shape[-1])
    euclid = np.linalg.norm(pixels - pixels.mean(axis=0), axis=1)  # a naive detector
    assert auroc(data.y, euclid) < 0.9


def test_invalid_configs_are_config_errors():
    with pytest.raises(ConfigError, match="n_endmembers"):
        had.load_dataset("synthetic-scene", bands=5, n_endmembers=4)
    with pytest.raises(ConfigError, match="do not fit in a 8x8 scene"):
        had.load_dataset("synthetic-scene", height=8, width=8, n_targets=30)
    with pytest.raises(ConfigError):
        had.load_dataset("synthetic-scene", abundance=1.5)
