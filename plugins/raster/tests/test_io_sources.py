"""Reading rasters (GeoTIFF through rasterio, page stacks through tifffile, .npy, .mat), the data sources, the
synthetic generator, the PNG."""

import numpy as np
import pytest
import scipy.io
import tifffile

import had
from had.errors import ConfigError, DataFileError, InvalidInputError, LabelError

from had_raster import TileGrid, heatmap
from had_raster.io import as_hwc, read_mask, read_raster
from had_raster.plots import heatmap_png
from had_raster.synthetic import synthetic_geochem


@pytest.fixture
def raster():
    return np.random.default_rng(0).uniform(0, 100, size=(40, 36, 5)).astype(np.float32)


def test_geotiff_contig_and_planar(tmp_path, raster):
    tifffile.imwrite(tmp_path / "hwc.tif", raster, photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(tmp_path / "chw.tif", raster.transpose(2, 0, 1), photometric="minisblack", planarconfig="separate")
    np.testing.assert_array_equal(read_raster(tmp_path / "hwc.tif"), raster)
    np.testing.assert_array_equal(read_raster(tmp_path / "chw.tif"), raster)
    np.testing.assert_array_equal(read_raster(tmp_path / "chw.tif", band_axis="first"), raster)


@pytest.mark.parametrize("compress", ["lzw", "deflate", "packbits"])
def test_a_compressed_geotiff_and_its_mask_are_read(tmp_path, raster, compress):
    """Most GeoTIFFs are compressed; tifffile needs imagecodecs for LZW and deflate (not installed), so raster-file
    said "is corrupt or not a TIFF file: <COMPRESSION.LZW: 5> requires the 'imagecodecs' package". GDAL reads them."""
    rasterio = pytest.importorskip("rasterio")
    profile = dict(driver="GTiff", height=40, width=36, dtype="float32", compress=compress, crs="EPSG:32633",
                   transform=rasterio.Affine(10.0, 0.0, 300000.0, 0.0, -10.0, 5000000.0))
    with rasterio.open(tmp_path / "r.tif", "w", count=5, **profile) as dst:
        dst.write(raster.transpose(2, 0, 1))
    mask = np.zeros((40, 36), dtype=np.float32)
    mask[3:5, 30:33] = 1.0
    with rasterio.open(tmp_path / "m.tif", "w", count=1, **profile) as dst:
        dst.write(mask[None])
    np.testing.assert_array_equal(read_raster(tmp_path / "r.tif"), raster)
    np.testing.assert_array_equal(read_raster(tmp_path / "r.tif", band_axis="last"), raster)  # one image: bands first
    np.testing.assert_array_equal(read_mask(tmp_path / "m.tif"), mask.astype(np.int8))
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "r.tif"), mask_path=str(tmp_path / "m.tif"),
                             tile_size=4, stride=4)
    np.testing.assert_array_equal(tiles.X[0], raster[:4, :4].transpose(2, 0, 1))
    assert tiles.y.sum() == 4  # rows 3-4 x columns 30-32 touch the tiles of rows 0-7 x columns 28-35


def test_npy_mat_and_errors(tmp_path, raster):
    np.save(tmp_path / "r.npy", raster)
    scipy.io.savemat(tmp_path / "r.mat", {"data": raster, "map": np.eye(40, 36)})
    np.testing.assert_array_equal(read_raster(tmp_path / "r.npy"), raster)
    np.testing.assert_array_equal(read_raster(tmp_path / "r.mat", key="data"), raster)
    assert read_mask(tmp_path / "r.mat", key="map").sum() == 36
    with pytest.raises(DataFileError, match="keys"):
        read_raster(tmp_path / "r.mat")
    with pytest.raises(DataFileError):
        read_raster(tmp_path / "missing.tif")
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    with pytest.raises(DataFileError):
        read_raster(tmp_path / "bad.tif")
    bad = raster.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(InvalidInputError, match="1 infinite"):
        as_hwc(bad)
    bad[0, 0, 0] = np.nan  # no data: kept for the source to mask (test_raster_file_leaves_out_tiles_with_no_data)
    assert np.isnan(as_hwc(bad)[0, 0, 0])
    assert as_hwc(np.ones((4, 5))).shape == (4, 5, 1)
    assert as_hwc(np.ones((1, 4, 5)), "first").shape == (4, 5, 1)  # was squeezed to (4, 5), then made (5, 1, 4)
    assert as_hwc(np.ones((3, 1, 5)), "first").shape == (1, 5, 3)  # one line of three bands
    assert as_hwc(np.ones((3, 4, 5, 1)), "first").shape == (4, 5, 3)


def test_raster_file_source_mask_and_points(tmp_path, raster):
    tifffile.imwrite(tmp_path / "r.tif", raster)
    mask = np.zeros((40, 36), np.uint8)
    mask[30:34, 30:34] = 1
    tifffile.imwrite(tmp_path / "m.tif", mask)
    ds = had.load_dataset("raster-file", path=str(tmp_path / "r.tif"), mask_path=str(tmp_path / "m.tif"),
                          tile_size=16, stride=8)
    grid = TileGrid.from_meta(ds.meta)
    assert ds.X.shape == (len(grid), 5, 16, 16) and ds.kind == "image"
    # tiles touching rows 30..33 and cols 30..33: rows start 24 (and 16 does not reach 30); cols start 16 and 20
    expected = [(r, c) for r, c in grid.coords if r + 16 > 30 and c + 16 > 30]
    assert sorted(map(tuple, grid.coords[ds.y == 1].tolist())) == sorted(map(tuple, np.asarray(expected).tolist()))
    pts = had.load_dataset("raster-file", path=str(tmp_path / "r.tif"), points=[(1, 1)], tile_size=16, stride=16)
    assert pts.y.sum() == 1 and pts.y[0] == 1
    with pytest.raises(ConfigError):
        had.load_dataset("raster-file", path=str(tmp_path / "r.tif"), mask_path=str(tmp_path / "m.tif"),
                         points=[(1, 1)], tile_size=16).X
    small = np.zeros((10, 10), np.uint8)
    tifffile.imwrite(tmp_path / "small.tif", small)
    with pytest.raises(LabelError):
        had.load_dataset("raster-file", path=str(tmp_path / "r.tif"), mask_path=str(tmp_path / "small.tif"),
                         tile_size=16)


@pytest.mark.parametrize("fill", [np.nan, -9999.0])
def test_raster_file_leaves_out_tiles_with_no_data(tmp_path, raster, fill):
    """A survey raster is NaN (or its declared nodata) outside the surveyed area (was: NaN refused with "fill them
    before tiling"; a declared -9999 tiled into the detector's input as data, silently). Tiles holding no-data
    pixels are left out (or, up to `max_no_data`, kept with those pixels at their band's median); the heat map is
    NaN where no tile is left and at no-data pixels; a raster with no clean tile is one clear error."""
    import rasterio

    outside = np.zeros((40, 36), bool)
    outside[:, 28:] = True  # the survey ends at column 28
    outside[:6, :10] = True
    data = raster.copy()
    data[outside] = fill
    with rasterio.open(tmp_path / "s.tif", "w", driver="GTiff", height=40, width=36, count=5, dtype="float32",
                       nodata=fill, crs="EPSG:32633", transform=rasterio.Affine(10, 0, 0, 0, -10, 0)) as dst:
        dst.write(np.moveaxis(data, -1, 0))
    path = str(tmp_path / "s.tif")
    from had_raster.tiles import tile_grid

    every = tile_grid((40, 36), 8, 8)
    ds = had.load_dataset("raster-file", path=path, tile_size=8, stride=8)
    grid = TileGrid.from_meta(ds.meta)
    clean = [(int(r), int(c)) for r, c in every.coords if not outside[r:r + 8, c:c + 8].any()]
    assert sorted(map(tuple, grid.coords.tolist())) == sorted(clean) and len(every) == 25 and len(clean) == 13
    assert np.isfinite(ds.X).all() and ds.meta["tiles_left_out"] == 12 and ds.meta["no_data_pixels"] == 380
    np.testing.assert_array_equal(ds.X[0], np.moveaxis(raster[:8, 16:24], -1, 0))  # tile (0, 16): clean data
    source = had.get_datasource("raster-file", path=path, tile_size=8, stride=8)
    heat = source.score_map(ds, np.arange(len(grid), dtype=float))
    assert np.isnan(heat[outside]).all() and np.isnan(heat[:8, :10]).all() and np.isfinite(heat[8:, :24]).all()
    from had.nodata import note

    assert note("s", ds.meta) == ("12 tiles holding no-data pixels left out (380 no-data pixels in the raster; "
                                  "max_no_data sets the share a tile may hold)")
    some = had.load_dataset("raster-file", path=path, tile_size=8, stride=8, max_no_data=0.5)
    assert len(some.X) == 19 and np.isfinite(some.X).all()  # + tile (0, 8) (12 of 64 pixels outside) and others
    medians = np.median(raster[~outside], axis=0)
    kept = [i for i, (r, c) in enumerate(TileGrid.from_meta(some.meta).coords.tolist()) if (r, c) == (0, 8)][0]
    np.testing.assert_allclose(some.X[kept][:, 0, 0], medians, rtol=1e-6)  # pixel (0, 8): outside, the medians
    heat = had.get_datasource("raster-file", path=path, tile_size=8, stride=8, max_no_data=0.5).score_map(
        some, np.ones(len(some.X)))
    assert np.isnan(heat[outside]).all() and (heat[:8, 10:16] == 1).all()
    with pytest.raises(InvalidInputError, match="every 32x32 tile holds more than 0% no-data pixels"):
        had.load_dataset("raster-file", path=path, tile_size=32, stride=4)


def test_synthetic_geochem_is_seeded_and_anomalies_stand_out():
    a = synthetic_geochem(96, 96, 6, n_anomalies=4, sizes=(3, 6), seed=3)
    b = synthetic_geochem(96, 96, 6, n_anomalies=4, sizes=(3, 6), seed=3)
    c = synthetic_geochem(96, 96, 6, n_anomalies=4, sizes=(3, 6), seed=4)
    np.testing.assert_array_equal(a.raster, b.raster)
    assert not np.array_equal(a.raster, c.raster)
    assert a.raster.shape == (96, 96, 6) and (a.raster > 0).all() and a.mask.any()
    assert len(a.anomalies) == 4 and set(a.anomalous_elements) <= set(range(6))
    # the background is drawn before the anomalies: the same seed without anomalies isolates the planted bumps
    base = synthetic_geochem(96, 96, 6, n_anomalies=0, sizes=(3, 6), seed=3)
    lift = np.log(a.raster) - np.log(base.raster)
    assert lift.min() > -1e-9
    untouched = [e for e in range(6) if e not in a.anomalous_elements]
    assert np.abs(lift[:, :, untouched]).max() < 1e-9
    for an in a.anomalies:
        r, c = int(round(an["row"])), int(round(an["col"]))
        assert (lift[r, c, an["elements"]] > 0.8 * an["strength"] * 0.3).all()  # sigma >= 0.3, profile ~1 at centre
        assert (a.mask[r, c] == 1)
    # elements are correlated (mixtures of few latent fields)
    corr = np.corrcoef(np.log(a.raster.reshape(-1, 6)).T)
    assert np.abs(corr[np.triu_indices(6, 1)]).max() > 0.5
    with pytest.raises(ConfigError):
        synthetic_geochem(64, 64, 3, anomalous_elements=4)


def test_synthetic_source_and_heatmap_png(tmp_path):
    ds = had.load_dataset("synthetic-geochem", height=96, width=96, channels=4, anomalous_elements=2,
                          elements_per_anomaly=2, n_anomalies=3, sizes=[3.0, 5.0], tile_size=16, stride=8)
    grid = TileGrid.from_meta(ds.meta)
    mask = np.asarray(ds.meta["pixel_mask"])
    assert ds.X.shape == (121, 4, 16, 16) and 0 < ds.y.sum() < 121
    heat = heatmap(ds.X.mean(axis=(1, 2, 3)), grid)
    assert heat.shape == (96, 96) and np.isfinite(heat).all()
    path = heatmap_png(tmp_path / "h.png", {"mean": heat}, mask=mask, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.realdata
def test_hsi_raster_tiles():
    try:
        ds = had.load_dataset("hsi-raster", scene="sandiego_plane", band_step=3)
    except DataFileError as exc:
        pytest.skip(f"sandiego_plane.mat not in HAD_DATA_DIR: {exc}")
    except had.UnknownNameError:
        pytest.skip("had-plugin-hsi is not installed")
    assert ds.X.shape == (144, 63, 16, 16)
    assert ds.y.sum() == 27  # tiles (stride 8) touching the 134 plane pixels
    assert np.asarray(ds.meta["pixel_mask"]).sum() == 134


from had_sdk.testing import DataSourceSuite  # noqa: E402


class TestSyntheticGeochemSource(DataSourceSuite):
    datasource = "synthetic-geochem"
    config = {"height": 64, "width": 64, "channels": 3, "anomalous_elements": 2, "elements_per_anomaly": 2,
              "n_anomalies": 2, "sizes": [2.0, 4.0], "tile_size": 16, "stride": 16}


class TestHSIRasterSource(DataSourceSuite):
    datasource = "hsi-raster"
    config = {"scene": "abu-beach-4", "band_step": 10}


@pytest.mark.parametrize("scene", ["cardio", "synthetic-table", "hsi-raster", "nope"])
def test_hsi_raster_takes_only_a_scene_of_the_hsi_plugin(scene):
    """scene=cardio was an IndexError traceback, scene=hsi-raster a reshape ValueError, a typo listed every source."""
    import had
    from had.errors import ConfigError

    pytest.importorskip("had_hsi")
    with pytest.raises(ConfigError, match=rf"scene '{scene}' is not a hyperspectral scene of had-plugin-hsi; give one "
                                          r"of sandiego_plane, hydice"):
        had.load_dataset("hsi-raster", scene=scene)
