"""An RGBA GeoTIFF (rasterio writes its colour interpretation red, green, blue, alpha): the alpha band is not a
spectral band, and the pixels it marks transparent (alpha 0) are no-data.

Was (a probe of the readers): the alpha band was fitted as a fourth band and the transparent pixels as data,
without a word. Now ``geotiff-scene`` and ``raster-file`` read the other bands, the transparent pixels hold the
file's no-data value in every band (NaN where it declares none, which the scene's meta then declares, so RX leaves
them out), and a reader note names the alpha band.
"""

from __future__ import annotations

import math
import warnings

import had
import numpy as np
import pytest
from had_sdk.testing import run_cli

rasterio = pytest.importorskip("rasterio")
from rasterio.enums import ColorInterp  # noqa: E402

HEIGHT, WIDTH, CLEAR_FROM = 32, 24, 8  # rows 0-7 transparent


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(1, 255, size=(HEIGHT, WIDTH, 3)).astype(np.uint8)


def _alpha() -> np.ndarray:
    alpha = np.full((HEIGHT, WIDTH), 255, np.uint8)
    alpha[:CLEAR_FROM] = 0
    return alpha


def _write(path, bands: np.ndarray, interpretation=None, **profile):
    """`bands` ``(H, W, B)`` as a GeoTIFF; RGBA by rasterio's own profile unless `interpretation` is given."""
    rgba = {} if interpretation else {"photometric": "RGB", "alpha": "YES"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(path, "w", driver="GTiff", height=HEIGHT, width=WIDTH, count=bands.shape[-1],
                           dtype=bands.dtype, **rgba, **profile) as dst:
            dst.write(np.moveaxis(bands, -1, 0))
        if interpretation:  # set on the written file: GDAL keeps an alpha set at writing only after RGB
            with rasterio.open(path, "r+") as dst:
                dst.colorinterp = interpretation
    return path


@pytest.fixture(params=["plain", "compressed"])
def rgba(request, tmp_path, rgb):
    """An RGBA uint8 GeoTIFF: stored plainly (memory-mapped) or compressed in tiles (read by row windows)."""
    layout = {} if request.param == "plain" else {"compress": "deflate", "tiled": True, "blockxsize": 16,
                                                  "blockysize": 16}
    return _write(tmp_path / "rgba.tif", np.dstack([rgb, _alpha()]), **layout)


def test_the_alpha_band_is_no_band_and_its_transparent_pixels_are_no_data(rgba, rgb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(rgba) as source:
            assert source.colorinterp[3] == ColorInterp.alpha
    scene = had.load_dataset("geotiff-scene", path=str(rgba))
    X = np.asarray(scene.X)
    assert scene.X.shape == X.shape == (HEIGHT, WIDTH, 3)
    assert np.isnan(X[:CLEAR_FROM]).all()
    np.testing.assert_array_equal(X[CLEAR_FROM:], rgb[CLEAR_FROM:])
    assert math.isnan(scene.meta["nodata"]) and "alpha_band" not in scene.meta
    assert scene.meta["reader_notes"] == [
        "note: band 4 of rgba.tif is its alpha (transparency) band: had reads the other 3 as the data and takes the "
        "pixels it marks transparent (alpha 0) as no-data (nan in every band)"]
    assert len(scene.meta["band_names"]) == 3
    # read by rows and pixels, as the tiling and the checks read it
    np.testing.assert_array_equal(scene.X[CLEAR_FROM + 1], rgb[CLEAR_FROM + 1])
    np.testing.assert_array_equal(scene.X[CLEAR_FROM:CLEAR_FROM + 3, 2], rgb[CLEAR_FROM:CLEAR_FROM + 3, 2])
    assert np.isnan(scene.X[0, 0]).all()


def test_data_settings_apply_to_the_bands_left(rgba, rgb):
    scene = had.load_dataset("geotiff-scene", path=str(rgba), bands="2-3", rows="5-20", cols="3-10")
    X = np.asarray(scene.X)
    assert X.shape == (16, 8, 2)
    assert np.isnan(X[:CLEAR_FROM - 4]).all()
    np.testing.assert_array_equal(X[CLEAR_FROM - 4:], rgb[CLEAR_FROM:20, 2:10, 1:3])


def test_had_fit_and_score_leave_the_transparent_pixels_out(rgba, tmp_path, capsys):
    code, out, err = run_cli(capsys, "fit", "rx", rgba, "-o", tmp_path / "m")
    assert code == 0, err
    said = out + err
    assert f"{HEIGHT}x{WIDTH}x3" in said
    assert f"{CLEAR_FROM * WIDTH} pixels holding it in every band left out of the fit" in said
    assert "band 4 of rgba.tif is its alpha (transparency) band" in said
    code, out, err = run_cli(capsys, "score", tmp_path / "m", rgba, "-o", tmp_path / "scores.npy")
    assert code == 0, err
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (HEIGHT, WIDTH)
    assert np.isnan(scores[:CLEAR_FROM]).all() and np.isfinite(scores[CLEAR_FROM:]).all()


def test_a_declared_nodata_value_is_the_one_the_transparent_pixels_take(tmp_path):
    values = np.random.default_rng(1).normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32)
    path = _write(tmp_path / "dem.tif", np.dstack([values, _alpha().astype(np.float32)]),
                  [ColorInterp.gray, ColorInterp.undefined, ColorInterp.undefined, ColorInterp.alpha], nodata=-9999)
    scene = had.load_dataset("geotiff-scene", path=str(path))
    X = np.asarray(scene.X)
    assert X.dtype == np.float32 and X.shape == (HEIGHT, WIDTH, 3)
    assert (X[:CLEAR_FROM] == -9999).all()
    np.testing.assert_array_equal(X[CLEAR_FROM:], values[CLEAR_FROM:])
    assert scene.meta["nodata"] == -9999 and "(-9999 in every band)" in scene.meta["reader_notes"][0]


def test_an_alpha_band_first_is_found_too(tmp_path, rgb):
    path = _write(tmp_path / "first.tif", np.dstack([_alpha(), rgb]),
                  [ColorInterp.alpha, ColorInterp.red, ColorInterp.green, ColorInterp.blue])
    scene = had.load_dataset("geotiff-scene", path=str(path))
    X = np.asarray(scene.X)
    assert np.isnan(X[:CLEAR_FROM]).all()
    np.testing.assert_array_equal(X[CLEAR_FROM:], rgb[CLEAR_FROM:])
    assert "band 1 of first.tif is its alpha" in scene.meta["reader_notes"][0]


def test_raster_file_tiles_the_colour_bands_and_leaves_transparent_tiles_out(rgba, rgb):
    tiles = had.load_dataset("raster-file", path=str(rgba), tile_size=8)
    assert tiles.X.shape[1] == 3  # (N, C, h, w): the colour bands alone
    assert tiles.meta["no_data_pixels"] == CLEAR_FROM * WIDTH and tiles.meta["tiles_left_out"] == WIDTH // 8
    assert any("band 4 of rgba.tif is its alpha" in note for note in tiles.meta["reader_notes"])
    coords = tiles.meta["tile_coords"]
    assert min(r for r, _ in coords) == CLEAR_FROM
    r, c = coords[0]
    np.testing.assert_array_equal(tiles.X[0], np.moveaxis(rgb[r:r + 8, c:c + 8], -1, 0))


def test_a_geotiff_without_alpha_is_read_as_before(tmp_path, rgb):
    path = _write(tmp_path / "rgb.tif", rgb, [ColorInterp.red, ColorInterp.green, ColorInterp.blue])
    scene = had.load_dataset("geotiff-scene", path=str(path))
    np.testing.assert_array_equal(np.asarray(scene.X), rgb)
    assert scene.meta["nodata"] is None and "reader_notes" not in scene.meta
