"""Tile grid, extraction, labels, heat map, scaling and split."""

import numpy as np
import pytest
from had import Dataset
from had.errors import ConfigError, InvalidInputError, LabelError, NotFittedError

from had_raster import TileGrid, extract_tiles, heatmap, labels_from_mask, labels_from_points, tile_grid
from had_raster.scaling import BandScaler
from had_raster.split import split_tiles


def test_grid_covers_edges_and_counts():
    grid = tile_grid((10, 7), size=4, stride=3)
    assert sorted(set(grid.coords[:, 0])) == [0, 3, 6]
    assert sorted(set(grid.coords[:, 1])) == [0, 3]  # 3 + 4 = 7 reaches the edge
    grid = tile_grid((10, 8), size=4, stride=3)
    assert sorted(set(grid.coords[:, 1])) == [0, 3, 4]  # edge tile added
    assert len(tile_grid((64, 64), 16)) == 16
    assert len(tile_grid((10, 8), 4, 3, cover_edges=False)) == 3 * 2


def test_grid_bad_sizes():
    with pytest.raises(InvalidInputError):
        tile_grid((10, 10), 12)
    with pytest.raises(ConfigError):
        tile_grid((10, 10), 4, 0)


def test_extract_matches_slices():
    rng = np.random.default_rng(0)
    raster = rng.normal(size=(9, 11, 3))
    grid = tile_grid(raster.shape[:2], 4, 3)
    tiles = extract_tiles(raster, grid)
    assert tiles.shape == (len(grid), 3, 4, 4) and tiles.dtype == np.float32
    for k, (r, c) in enumerate(grid.coords):
        np.testing.assert_allclose(tiles[k], raster[r:r + 4, c:c + 4].transpose(2, 0, 1), rtol=1e-6)
    with pytest.raises(InvalidInputError):
        extract_tiles(raster[:5], grid)


def test_labels_from_mask_any_and_fraction():
    mask = np.zeros((8, 8), int)
    mask[0, 0] = 1
    mask[4:8, 4:8] = 1
    grid = tile_grid((8, 8), 4)
    assert labels_from_mask(mask, grid).tolist() == [1, 0, 0, 1]
    assert labels_from_mask(mask, grid, "fraction", 0.5).tolist() == [0, 0, 0, 1]
    with pytest.raises(LabelError):
        labels_from_mask(mask[:4], grid)
    with pytest.raises(ConfigError):
        labels_from_mask(mask, grid, "most")


def test_labels_from_points():
    grid = tile_grid((8, 8), 4)
    assert labels_from_points([(5, 1), (5.7, 2.2)], grid).tolist() == [0, 0, 1, 0]
    assert labels_from_points([], grid).tolist() == [0, 0, 0, 0]
    with pytest.raises(LabelError):
        labels_from_points([(8, 0)], grid)


def test_heatmap_averages_overlaps():
    grid = tile_grid((4, 6), size=4, stride=2)  # tiles at columns 0 and 2
    heat = heatmap([1.0, 3.0], grid)
    np.testing.assert_allclose(heat[:, :2], 1.0)
    np.testing.assert_allclose(heat[:, 2:4], 2.0)
    np.testing.assert_allclose(heat[:, 4:], 3.0)
    sparse = TileGrid(np.array([[0, 0]]), (2, 2), (4, 4))
    assert np.isnan(heatmap([5.0], sparse)[3, 3]) and heatmap([5.0], sparse)[0, 0] == 5.0
    with pytest.raises(InvalidInputError):
        heatmap([1.0], grid)


def test_grid_meta_round_trip():
    grid = tile_grid((9, 9), 4, 2)
    back = TileGrid.from_meta(grid.to_meta())
    assert np.array_equal(back.coords, grid.coords) and back.size == grid.size and back.shape == grid.shape
    with pytest.raises(InvalidInputError):
        TileGrid.from_meta({})


@pytest.mark.parametrize("kind", ["minmax", "standard", "log-minmax"])
def test_band_scaler(kind):
    rng = np.random.default_rng(1)
    train = rng.lognormal(size=(20, 3, 4, 4)) * np.array([1, 10, 100])[None, :, None, None]
    scaler = BandScaler(kind).fit(train)
    out = scaler.transform(train)
    if kind in ("minmax", "log-minmax"):
        np.testing.assert_allclose(out.min(axis=(0, 2, 3)), 0, atol=1e-6)
        np.testing.assert_allclose(out.max(axis=(0, 2, 3)), 1, atol=1e-6)
    else:
        np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
        np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    back = BandScaler.from_dict(scaler.to_dict())
    np.testing.assert_allclose(back.transform(train * 2), scaler.transform(train * 2))
    with pytest.raises(NotFittedError):
        BandScaler().transform(train)
    with pytest.raises(ConfigError):
        BandScaler("zscore")


def test_split_fits_scaling_on_train_only():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2, 4, 4)).astype(np.float32)
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    X[y == 1] += 50.0  # anomalies far outside the normal range
    coords = np.arange(80).reshape(40, 2)
    ds = Dataset("t", X, y, meta={"tile_coords": coords.tolist()})
    train, test = split_tiles(ds, 0.25, seed=0, train_normal_only=True)
    assert train.y.sum() == 0 and test.y.sum() == 2 and train.n_samples == 22 and test.n_samples == 10
    assert train.X.max() <= 1 + 1e-6 and test.X.max() > 5  # test anomalies are not squashed by the scaler
    idx = np.asarray(test.meta["tile_index"])
    assert np.array_equal(np.asarray(test.meta["tile_coords"]), coords[idx])
    with pytest.raises(InvalidInputError):
        split_tiles(Dataset("t", X), 0.3, train_normal_only=True)


def test_a_tile_larger_than_the_raster_says_a_model_keeps_its_tile_size():
    """The size may come from the model (had score repeats the recorded tiling): "use smaller tiles" alone was
    wrong advice there."""
    with pytest.raises(InvalidInputError, match=r"larger than the raster \(10, 12\); use smaller tiles \(to fit; a "
                                                r"model scores tiles of the size it was fitted on"):
        tile_grid((10, 12), 16, 8)
