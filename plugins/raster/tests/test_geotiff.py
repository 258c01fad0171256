"""GeoTIFF with its georeferencing: read by rasterio into ``geotiff-scene`` (a cube) and ``raster-file`` (tiles),
the transform and CRS travelling in ``meta``, and RX maps written back as GeoTIFF on the same grid."""

from __future__ import annotations

import subprocess
import sys

import had
import numpy as np
import pytest
from had.errors import DataFileError

rasterio = pytest.importorskip("rasterio")

TRANSFORM = [10.0, 0.0, 300000.0, 0.0, -10.0, 5000000.0]


@pytest.fixture
def geotiff(tmp_path):
    rng = np.random.default_rng(5)
    cube = (rng.normal(size=(30, 26, 4)) @ rng.normal(size=(4, 4)) + 20.0).astype(np.float32)
    cube[12, 7] += 25.0
    path = tmp_path / "area.tif"
    with rasterio.open(path, "w", driver="GTiff", height=30, width=26, count=4, dtype="float32",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(cube.transpose(2, 0, 1))
    return path, cube


def test_geotiff_scene_keeps_transform_and_crs(geotiff):
    path, cube = geotiff
    data = had.load_dataset("geotiff-scene", path=str(path))
    np.testing.assert_array_equal(data.X, cube.astype(np.float64))
    assert data.meta["transform"] == TRANSFORM
    assert rasterio.crs.CRS.from_wkt(data.meta["crs"]).to_epsg() == 32633
    tiles = had.load_dataset("raster-file", path=str(path), tile_size=8, stride=8)
    assert tiles.meta["transform"] == TRANSFORM and tiles.meta["crs"] == data.meta["crs"]


def test_a_tiff_without_georeferencing_and_a_corrupt_one(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "plain.tif", np.ones((6, 5, 3), dtype=np.float32), photometric="minisblack",
                     planarconfig="contig")
    data = had.load_dataset("geotiff-scene", path=str(tmp_path / "plain.tif"))
    assert data.X.shape == (6, 5, 3) and data.meta["transform"] is None and data.meta["crs"] is None
    (tmp_path / "bad.tif").write_bytes(b"II*\x00 not really")
    with pytest.raises(DataFileError, match="bad.tif is corrupt or not a GeoTIFF"):
        had.load_dataset("geotiff-scene", path=str(tmp_path / "bad.tif"))


def test_a_single_band_compressed_geotiff_keeps_its_shape(tmp_path):
    """One band, stored compressed (read whole, not memory-mapped): (H, W, 1), not (W, 1, H) as it was read."""
    band = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    path = tmp_path / "one.tif"
    with rasterio.open(path, "w", driver="GTiff", height=20, width=30, count=1, dtype="float32", compress="lzw",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(band[None])
    for scene in (had.load_dataset("geotiff-scene", path=str(path)),
                  had.get_datasource("geotiff-scene", path=str(path)).open()):
        assert scene.X.shape == (20, 30, 1)
        np.testing.assert_array_equal(scene.X[:, :, 0], band)


def test_a_tiff_of_several_pages_is_refused_not_read_as_its_first_page(tmp_path):
    """tifffile writes a (bands, H, W) array as one page per band by default; rasterio (as GDAL and a GIS) reads
    the first page alone, so the scene lost all bands but one without a word."""
    import tifffile

    cube = np.random.default_rng(0).normal(size=(5, 20, 30)).astype(np.float32)
    tifffile.imwrite(tmp_path / "pages.tif", cube)
    for read in (lambda p: had.load_dataset("geotiff-scene", path=p), lambda p: had.get_datasource(
            "geotiff-scene", path=p).open()):
        with pytest.raises(DataFileError, match=r"pages.tif holds 5 images \(TIFF pages\).*planarconfig='separate'"):
            read(str(tmp_path / "pages.tif"))
    tifffile.imwrite(tmp_path / "bands.tif", cube, planarconfig="separate")  # what the message says to write
    np.testing.assert_array_equal(had.load_dataset("geotiff-scene", path=str(tmp_path / "bands.tif")).X,
                                  cube.transpose(1, 2, 0))
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "pages.tif"), tile_size=10, stride=10)
    assert tiles.X.shape == (6, 5, 10, 10)  # raster-file reads the stack through tifffile, as documented


def test_cli_scores_a_geotiff_into_a_georeferenced_map(geotiff, tmp_path):
    path, cube = geotiff

    def had_cli(*args):
        out = subprocess.run([sys.executable, "-m", "had.cli", *args], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    had_cli("fit", "rx", str(path), "-o", str(tmp_path / "m"))
    printed = had_cli("score", str(tmp_path / "m"), str(path), "-o", str(tmp_path / "map.tif"))
    assert "wrote" in printed and "(georeferenced)" in printed
    with rasterio.open(tmp_path / "map.tif") as written:
        assert list(written.transform)[:6] == TRANSFORM and written.crs.to_epsg() == 32633
        amap = written.read(1)
    expected = had.get_detector("rx").fit(cube).decision_scores_.reshape(30, 26)
    np.testing.assert_allclose(amap, expected, rtol=1e-9)
    assert np.unravel_index(np.argmax(amap), amap.shape) == (12, 7)


def test_open_memory_maps_an_uncompressed_geotiff_and_reads_a_compressed_one(geotiff, tmp_path):
    path, cube = geotiff
    scene = had.get_datasource("geotiff-scene", path=str(path)).open()
    assert isinstance(scene.X, np.memmap) and scene.X.shape == (30, 26, 4)
    np.testing.assert_array_equal(scene.X, cube)
    assert scene.meta["transform"] == TRANSFORM and scene.y is None
    packed = tmp_path / "packed.tif"
    with rasterio.open(packed, "w", driver="GTiff", height=30, width=26, count=4, dtype="float32", compress="deflate",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(cube.transpose(2, 0, 1))
    scene = had.get_datasource("geotiff-scene", path=str(packed)).open()
    assert not isinstance(scene.X, np.memmap)
    np.testing.assert_array_equal(scene.X, cube.astype(np.float64))
    assert scene.meta["crs"] == had.load_dataset("geotiff-scene", path=str(path)).meta["crs"]


def test_tile_scores_become_a_georeferenced_heat_map_on_the_rasters_grid(geotiff, tmp_path):
    """``had score MODEL raster-file --data path=area.tif -o heat.tif``: the tiles' scores placed back on the
    raster (was: "a GeoTIFF map is (H, W); these scores have shape (N,)"), with the raster's transform and CRS."""
    from had.errors import InvalidInputError
    from had.score_file import score_to_map

    path, cube = geotiff
    mean_of_tile = (lambda tiles: np.asarray(tiles).mean(axis=(1, 2, 3)), 0.0, "the tile mean")
    summary = score_to_map("unused", "raster-file", str(tmp_path / "heat.tif"), scorer=mean_of_tile,
                           settings={"path": str(path), "tile_size": 10, "stride": 10}, png=str(tmp_path / "heat.png"),
                           echo=lambda _: None)
    assert summary["shape"] == (30, 26) and (tmp_path / "heat.png").is_file()
    with rasterio.open(tmp_path / "heat.tif") as written:
        assert list(written.transform)[:6] == TRANSFORM and written.crs.to_epsg() == 32633
        heat = written.read(1)
    tiles = had.load_dataset("raster-file", path=str(path), tile_size=10, stride=10)
    expected = had.get_datasource("raster-file", path=str(path), tile_size=10, stride=10).score_map(
        tiles, tiles.X.mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(heat, expected)
    np.testing.assert_allclose(heat[0, 0], cube[:10, :10].mean(), rtol=1e-6)  # the first tile's own mean
    summary = score_to_map("unused", "raster-file", str(tmp_path / "tiles.npy"), scorer=mean_of_tile,
                           settings={"path": str(path), "tile_size": 10, "stride": 10}, png=str(tmp_path / "q.png"),
                           echo=lambda _: None)  # --out's .npy with --quicklooks: the scores per tile, the PNG drawn
    np.testing.assert_allclose(np.load(tmp_path / "tiles.npy"), tiles.X.mean(axis=(1, 2, 3)), rtol=1e-6)
    assert summary["shape"] == (len(tiles.X),) and (tmp_path / "q.png").is_file()
    np.save(tmp_path / "loose.npy", tiles.X)  # images with no raster: no map, said before scoring, nothing written
    with pytest.raises(InvalidInputError, match="holds images with no place on a raster"):
        score_to_map("unused", str(tmp_path / "loose.npy"), str(tmp_path / "no.tif"), scorer=mean_of_tile)
    assert not (tmp_path / "no.tif").exists()
    said = []  # --out with --quicklooks on such images: the scores written, the quicklook skipped in so many words
    score_to_map("unused", str(tmp_path / "loose.npy"), str(tmp_path / "loose_scores.npy"), scorer=mean_of_tile,
                 png=str(tmp_path / "loose.png"), echo=said.append)
    assert np.load(tmp_path / "loose_scores.npy").shape == (len(tiles.X),) and not (tmp_path / "loose.png").exists()
    assert "no quicklook for loose: its images have no place on a raster" in said


def test_a_declared_no_data_value_is_said_not_silently_fitted(tmp_path):
    """A flight line's fill pixels (GeoTIFF nodata, ENVI data ignore value) are not masked yet: had fit and had
    score say so in one line, so the user crops or fills them rather than trusting a contaminated background."""
    from had.scenefiles import no_data_note

    cube = np.random.default_rng(0).normal(size=(4, 30, 30)).astype(np.float32)
    cube[:, :5, :] = -9999.0
    path = tmp_path / "nd.tif"
    with rasterio.open(path, "w", driver="GTiff", height=30, width=30, count=4, dtype="float32", nodata=-9999,
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(cube)
    out = subprocess.run([sys.executable, "-m", "had.cli", "fit", "rx", str(path), "-o", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "note: nd declares the no-data value -9999, which had does not mask" in out.stdout
    assert no_data_note("x", {"nodata": None, "transform": None}) is None
    assert "no-data values [0.0, -1.0]" in no_data_note("x", {"data_ignore_value": [0.0, -1.0]})
