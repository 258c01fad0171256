"""A GeoTIFF band marked alpha (GDAL's colour interpretation; rasterio marks band 4 of any 4-band uint8 file written
with default options so): by default a data band, with a note; with the data setting ``alpha=mask`` a transparency
mask, its band left out and the pixels it marks transparent (alpha 0) no-data.

Was (f25a1b8): always the mask, so an RGB+NIR stack lost its NIR band (``--data bands=4`` refused) and a model fitted
before on such a file no longer scored it ("fitted on 4 bands, got 3"). Before that: the alpha band fitted as a
fourth band without a word. With ``alpha=mask`` ``geotiff-scene`` and ``raster-file`` read the other bands, the
transparent pixels hold the file's no-data value in every band (NaN where it declares none, which the scene's meta
then declares, so RX leaves them out), a reader note names the alpha band, and the model records the setting.
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


def test_with_alpha_mask_the_alpha_band_is_no_band_and_its_transparent_pixels_are_no_data(rgba, rgb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(rgba) as source:
            assert source.colorinterp[3] == ColorInterp.alpha
    scene = had.load_dataset("geotiff-scene", path=str(rgba), alpha="mask")
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


def test_with_alpha_mask_data_settings_apply_to_the_bands_left(rgba, rgb):
    scene = had.load_dataset("geotiff-scene", path=str(rgba), bands="2-3", rows="5-20", cols="3-10",
                             alpha="mask")
    X = np.asarray(scene.X)
    assert X.shape == (16, 8, 2)
    assert np.isnan(X[:CLEAR_FROM - 4]).all()
    np.testing.assert_array_equal(X[CLEAR_FROM - 4:], rgb[CLEAR_FROM:20, 2:10, 1:3])


def test_a_model_fitted_with_alpha_mask_leaves_the_transparent_pixels_out_at_score(rgba, tmp_path, capsys):
    code, out, err = run_cli(capsys, "fit", "rx", rgba, "--data", "alpha=mask", "-o", tmp_path / "m")
    assert code == 0, err
    said = out + err
    assert f"{HEIGHT}x{WIDTH}x3" in said
    assert f"{CLEAR_FROM * WIDTH} pixels holding it in every band left out of the fit" in said
    assert "band 4 of rgba.tif is its alpha (transparency) band" in said
    code, out, err = run_cli(capsys, "score", tmp_path / "m", rgba, "-o", tmp_path / "scores.npy")
    assert code == 0, err
    assert "rgba: read as the model's scene was at fit: alpha=mask" in out + err  # recorded: repeated, said
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (HEIGHT, WIDTH)
    assert np.isnan(scores[:CLEAR_FROM]).all() and np.isfinite(scores[CLEAR_FROM:]).all()


def test_a_declared_nodata_value_is_the_one_the_transparent_pixels_take(tmp_path):
    values = np.random.default_rng(1).normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32)
    path = _write(tmp_path / "dem.tif", np.dstack([values, _alpha().astype(np.float32)]),
                  [ColorInterp.gray, ColorInterp.undefined, ColorInterp.undefined, ColorInterp.alpha], nodata=-9999)
    scene = had.load_dataset("geotiff-scene", path=str(path), alpha="mask")
    X = np.asarray(scene.X)
    assert X.dtype == np.float32 and X.shape == (HEIGHT, WIDTH, 3)
    assert (X[:CLEAR_FROM] == -9999).all()
    np.testing.assert_array_equal(X[CLEAR_FROM:], values[CLEAR_FROM:])
    assert scene.meta["nodata"] == -9999 and "(-9999 in every band)" in scene.meta["reader_notes"][0]


def test_an_alpha_band_first_is_found_too(tmp_path, rgb):
    path = _write(tmp_path / "first.tif", np.dstack([_alpha(), rgb]),
                  [ColorInterp.alpha, ColorInterp.red, ColorInterp.green, ColorInterp.blue])
    scene = had.load_dataset("geotiff-scene", path=str(path), alpha="mask")
    X = np.asarray(scene.X)
    assert np.isnan(X[:CLEAR_FROM]).all()
    np.testing.assert_array_equal(X[CLEAR_FROM:], rgb[CLEAR_FROM:])
    assert "band 1 of first.tif is its alpha" in scene.meta["reader_notes"][0]


def test_raster_file_tiles_the_colour_bands_and_leaves_transparent_tiles_out(rgba, rgb):
    tiles = had.load_dataset("raster-file", path=str(rgba), tile_size=8, alpha="mask")
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


# ---- the default: a band marked alpha is a data band, with a note -------------------------------------------------
def _note(band: int, name: str) -> str:
    return (f"note: band {band} of {name} is marked alpha (transparency) in its header: had reads it as a data band; "
            "if it is a transparency mask, add --data alpha=mask (its band is then left out and its transparent "
            "pixels, alpha 0, are no-data)")


@pytest.fixture(params=["plain", "compressed"])
def rgbn(request, tmp_path):
    """An RGB+NIR uint8 stack written with rasterio's default options (band 4 marked alpha), its NIR band 0 in rows
    0-7: what the masked reading took as transparent."""
    stack = np.random.default_rng(2).integers(1, 255, size=(HEIGHT, WIDTH, 4)).astype(np.uint8)
    stack[:CLEAR_FROM, :, 3] = 0
    layout = {} if request.param == "plain" else {"compress": "deflate", "tiled": True, "blockxsize": 16,
                                                  "blockysize": 16}
    path = tmp_path / "rgbn.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(path, "w", driver="GTiff", height=HEIGHT, width=WIDTH, count=4, dtype="uint8",
                           **layout) as dst:
            dst.write(np.moveaxis(stack, -1, 0))
        with rasterio.open(path) as source:
            assert source.colorinterp[3] == ColorInterp.alpha  # rasterio's default, the case of the review
    return path, stack


def test_by_default_a_band_marked_alpha_is_read_as_data_with_a_note(rgbn):
    path, stack = rgbn
    scene = had.load_dataset("geotiff-scene", path=str(path))
    X = np.asarray(scene.X)
    assert scene.X.shape == X.shape == (HEIGHT, WIDTH, 4)
    np.testing.assert_array_equal(X, stack)  # the NIR band kept, its zeros as they are: no NaN
    assert scene.meta["nodata"] is None and "alpha_band" not in scene.meta
    assert scene.meta["reader_notes"] == [_note(4, "rgbn.tif")]
    np.testing.assert_array_equal(scene.X[3, :, [3, 0]], stack[3, :, [3, 0]])
    tiles = had.load_dataset("raster-file", path=str(path), tile_size=8)
    assert tiles.X.shape[1] == 4 and tiles.meta["no_data_pixels"] == 0 and tiles.meta["tiles_left_out"] == 0
    assert _note(4, "rgbn.tif") in tiles.meta["reader_notes"]
    assert "alpha" not in tiles.meta  # the default is not recorded: a model of before reads as it did
    r, c = tiles.meta["tile_coords"][0]
    np.testing.assert_array_equal(tiles.X[0], np.moveaxis(stack[r:r + 8, c:c + 8], -1, 0))


def test_the_band_marked_alpha_can_be_chosen_and_the_note_is_for_a_band_read(rgbn):
    path, stack = rgbn
    nir = had.load_dataset("geotiff-scene", path=str(path), bands="4")  # was: refused, the band taken out
    np.testing.assert_array_equal(np.asarray(nir.X), stack[:, :, 3:])
    assert nir.meta["reader_notes"] == [_note(4, "rgbn.tif")]
    rgb = had.load_dataset("geotiff-scene", path=str(path), bands="1-3")
    np.testing.assert_array_equal(np.asarray(rgb.X), stack[:, :, :3])
    assert "reader_notes" not in rgb.meta


def test_a_model_fitted_by_default_on_an_rgba_file_scores_it_on_its_4_bands(rgba, rgb, tmp_path, capsys):
    code, out, err = run_cli(capsys, "fit", "rx", rgba, "-o", tmp_path / "m")
    assert code == 0, err
    assert f"{HEIGHT}x{WIDTH}x4" in out + err and "band 4 of rgba.tif is marked alpha" in out + err
    code, out, err = run_cli(capsys, "score", tmp_path / "m", rgba, "-o", tmp_path / "scores.npy")
    assert code == 0, err
    assert "alpha=mask" in out + err and "read as the model's scene was at fit" not in out + err  # the note's fix
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (HEIGHT, WIDTH) and np.isfinite(scores).all()


def test_a_raster_file_model_records_alpha_mask_and_had_score_repeats_it(rgba):
    from had.cubeview import record_of, settings_to_match
    from had_raster.sources import RasterFileConfig

    tiles = had.load_dataset("raster-file", path=str(rgba), tile_size=8, alpha="mask")
    record = record_of(tiles.meta)
    assert record["alpha"] == "mask" and "alpha" not in record["tiling"]
    assert settings_to_match(record, {"path": str(rgba)}, RasterFileConfig.model_fields)["alpha"] == "mask"
    assert "alpha" not in settings_to_match(record, {"alpha": "band"}, RasterFileConfig.model_fields)


# ---- alpha=mask where there is nothing to mask: one line -------------------------------------------------------
@pytest.mark.parametrize("source", ["geotiff-scene", "raster-file"])
def test_alpha_mask_on_a_file_marking_no_band_alpha_is_one_line(tmp_path, rgb, source):
    from had.errors import ConfigError

    path = _write(tmp_path / "rgb.tif", rgb, [ColorInterp.red, ColorInterp.green, ColorInterp.blue])
    with pytest.raises(ConfigError) as caught:
        had.load_dataset(source, path=str(path), alpha="mask")
    said = str(caught.value)
    assert "\n" not in said and "rgb.tif marks no band as alpha" in said and "alpha='band'" in said  # Python's form


def test_alpha_mask_on_a_file_whose_only_band_is_alpha_is_one_line(tmp_path, capsys):
    from had.errors import ConfigError

    path = _write(tmp_path / "alpha.tif", _alpha()[:, :, None], [ColorInterp.alpha])
    with pytest.raises(ConfigError) as caught:  # was: "dataset is empty (shape (32, 24, 0))"
        had.load_dataset("geotiff-scene", path=str(path), alpha="mask")
    assert "\n" not in str(caught.value) and "the only band of alpha.tif is marked alpha" in str(caught.value)
    code, out, err = run_cli(capsys, "fit", "rx", path, "--data", "alpha=mask", "-o", tmp_path / "m")
    assert code != 0 and "the only band of alpha.tif is marked alpha" in err and "empty" not in err


def test_alpha_mask_on_a_raster_that_is_no_geotiff_is_one_line(tmp_path):
    from had.errors import ConfigError

    np.save(tmp_path / "stack.npy", np.ones((HEIGHT, WIDTH, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match="stack.npy is not a GeoTIFF"):
        had.load_dataset("raster-file", path=str(tmp_path / "stack.npy"), tile_size=8, alpha="mask")


# ---- the masked cube indexes as numpy does ---------------------------------------------------------------------
KEYS = [0, -1, 12, (12,), (12, 3), (12, 3, 1), (-2, -3, -1), (12, slice(None), [2, 0]), (12, [1, 4], 0),
        (12, [1, 4], slice(None)), (slice(None), 3, [0, 2]), (slice(2, 20, 3), slice(None, None, -2), 1),
        (slice(None, None, -1),), (slice(5, 9), [0, 3, 3]), ([3, 1], slice(None), [0, 2]), ([3, 1], [0, 2]),
        ([3, 1], [0, 2], 1), (np.array([3, 1]), slice(1, 4)), (np.array([[3], [1]]), np.array([0, 2])),
        ([3, 1],), (np.array([5, -1]), slice(None), slice(0, 2)), (12, np.array([[1, 2], [3, 4]])),
        (Ellipsis, 1), (Ellipsis, [2, 0]), (3, Ellipsis), (slice(None), Ellipsis, 0), (12, None, slice(None)),
        (slice(1, 3), 2, slice(None)), (slice(None), [1, 4], [0, 2]), (2, slice(None), np.array([True, False, True])),
        (np.arange(HEIGHT) % 3 == 0,), (slice(None), slice(None), slice(None)), ()]


@pytest.mark.parametrize("base_kind", ["memory", "windowed"])
def test_the_masked_cube_indexes_as_numpy(rgba, rgb, base_kind):
    from had_raster.geotiff import AlphaMasked, WindowedGeoTiff

    stack = np.dstack([rgb, _alpha()])
    base = stack if base_kind == "memory" else WindowedGeoTiff(rgba, stack.shape, stack.dtype)
    cube = AlphaMasked(base, 3, math.nan)
    whole = np.asarray(cube)
    assert whole.shape == (HEIGHT, WIDTH, 3)
    for key in KEYS:
        expected = whole[key]
        got = cube[key]
        assert got.shape == expected.shape, (key, got.shape, expected.shape)
        np.testing.assert_array_equal(got, expected, err_msg=str(key))
    assert cube[12, :, [2, 0]].shape == np.zeros((HEIGHT, WIDTH, 3))[12, :, [2, 0]].shape == (2, WIDTH)
    for key in [HEIGHT, (0, WIDTH), (0, 0, 3), (0, 0, 0, 0)]:
        with pytest.raises(IndexError):
            cube[key]
