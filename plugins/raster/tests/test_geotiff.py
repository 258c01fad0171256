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


def test_a_geotiff_scene_takes_its_target_mask(geotiff, tmp_path):
    """``map_path``: the scene's truth as a mask of its own (here a single-band GeoTIFF on the same grid), read
    whole by load() and by open() (the scene still memory-mapped); a mask of another size is one line."""
    from had.errors import LabelError
    from had.tiling import LazyScene

    path, cube = geotiff
    mask = np.zeros((30, 26), dtype=np.uint8)
    mask[12, 7] = 1
    with rasterio.open(tmp_path / "mask.tif", "w", driver="GTiff", height=30, width=26, count=1, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(mask[None])
    data = had.load_dataset("geotiff-scene", path=str(path), map_path=str(tmp_path / "mask.tif"))
    assert data.y.dtype == np.int64 and data.y.sum() == 1 and data.y[12, 7] == 1
    opened = had.get_datasource("geotiff-scene", {"path": str(path), "map_path": str(tmp_path / "mask.tif")}).open()
    assert isinstance(opened, LazyScene) and isinstance(opened.X, np.memmap) and opened.y[12, 7] == 1
    np.save(tmp_path / "small.npy", mask[:-1])
    with pytest.raises(LabelError, match=r"has shape \(29, 26\) but the cube is 30x26"):
        had.load_dataset("geotiff-scene", path=str(path), map_path=str(tmp_path / "small.npy"))
    assert had.load_dataset("geotiff-scene", path=str(path), map_path="None").y is None


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


def test_a_tag_tifffile_cannot_parse_is_not_printed_by_tifffile(tmp_path):
    """A TIFF with one damaged tag that GDAL reads (its Software tag given an unknown data type): the memory map
    through tifffile logged its parse failure to stderr as a raw library line beside GDAL's own warning."""
    import struct

    import tifffile

    cube = np.random.default_rng(0).normal(100, 10, (6, 24, 20)).astype(np.float32)
    tifffile.imwrite(tmp_path / "t.tif", cube, planarconfig="separate", software="made by hand")
    raw = bytearray((tmp_path / "t.tif").read_bytes())
    ifd = struct.unpack("<I", raw[4:8])[0]
    entries = [struct.unpack("<H", raw[ifd + 2 + 12 * i: ifd + 4 + 12 * i])[0] for i in range(raw[ifd])]
    entry = ifd + 2 + 12 * entries.index(305)  # Software
    raw[entry + 2: entry + 4] = struct.pack("<H", 45300)
    (tmp_path / "t.tif").write_bytes(bytes(raw))
    out = subprocess.run([sys.executable, "-m", "had.cli", "fit", "rx", str(tmp_path / "t.tif"), "-o",
                          str(tmp_path / "m")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "TiffFileError" not in out.stderr and "TiffTag" not in out.stderr, out.stderr


def test_a_compressed_geotiff_is_read_by_row_windows_not_whole(geotiff, tmp_path, monkeypatch):
    """A compressed, tiled GeoTIFF (which cannot be memory-mapped) is read by row windows: the tiles RX fits and
    scores on are windows of the file (a flight line is never held whole), indexing and cropping read what they
    ask for, and RX fitted through the windows equals RX on the array; a block that does not decode is one line."""
    from had.cubeview import CubeView
    from had_raster.geotiff import WindowedGeoTiff

    _, cube = geotiff
    packed = tmp_path / "packed.tif"
    with rasterio.open(packed, "w", driver="GTiff", height=30, width=26, count=4, dtype="float32", compress="deflate",
                       tiled=True, blockxsize=16, blockysize=16, crs="EPSG:32633",
                       transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(cube.transpose(2, 0, 1))
    X = had.get_datasource("geotiff-scene", path=str(packed)).open().X
    assert isinstance(X, CubeView) and isinstance(X.base, WindowedGeoTiff) and X.dtype == np.float32
    lazy = X.base
    reads = []
    original = WindowedGeoTiff._read
    WindowedGeoTiff._read = lambda self, a, b: reads.append((a, b)) or original(self, a, b)
    try:
        for key in (slice(3, 9), (slice(None, None, -7), 2), 5, -1, (slice(2, 20, 4), slice(1, 5), [0, 3])):
            np.testing.assert_array_equal(lazy[key], cube[key])
        np.testing.assert_array_equal(lazy[np.array([4, 1, -2, 4])], cube[[4, 1, -2, 4]])
        np.testing.assert_array_equal(lazy[cube[:, 0, 0] > 20], cube[cube[:, 0, 0] > 20])
        assert reads[0] == (3, 9) and (5, 6) in reads and (29, 30) in reads
        reads.clear()
        monkeypatch.setattr(had.tiling, "TILE_BYTES", 8 * 26 * 4 * 7)  # tiles of 7 rows
        rx = had.get_detector("rx").fit(X)
        assert reads and max(b - a for a, b in reads) == 7  # checked, hashed, fitted and scored by windows
    finally:
        WindowedGeoTiff._read = original
    np.testing.assert_allclose(rx.decision_scores_, had.get_detector("rx").fit(cube).decision_scores_, rtol=1e-9)
    window = lazy.crop((4, 20), (3, 11))
    assert window.shape == (16, 8, 4)
    np.testing.assert_array_equal(np.asarray(window), cube[4:20, 3:11])
    np.testing.assert_array_equal(window[2:5, :, 1], cube[6:9, 3:11, 1])
    cut = had.get_datasource("geotiff-scene", path=str(packed), rows="5-20", cols="4-11", bands="2-3").open()
    assert isinstance(cut.X, CubeView) and cut.X.shape == (16, 8, 2)
    np.testing.assert_array_equal(np.asarray(cut.X), cube[4:20, 3:11, 1:3])
    raw = bytearray(packed.read_bytes())
    raw[len(raw) // 3:len(raw) // 3 + 400] = bytes(400)  # zeros over a compressed block
    packed.write_bytes(bytes(raw))
    with pytest.raises(DataFileError, match=r"packed.tif: rows .* cannot be read .*; check the file"):
        np.asarray(had.get_datasource("geotiff-scene", path=str(packed)).open().X)


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
        tags = written.tags()
    assert tags["HAD_ENGINE"] == "the tile mean" and tags["HAD_THRESHOLD"] == "0.0" and "HAD_DETECTOR" not in tags
    assert tags["HAD_SCORES"].startswith("one per pixel: the mean of the tiles covering it")
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


def _footprint_tif(path, nodata_value, compress=None):
    """A 4-band 40x30 GeoTIFF whose pixels outside a slanted footprint hold `nodata_value` in every band (a flight
    line's fill), declared as its nodata; returns the cube (H, W, B) and the footprint mask."""
    rows, cols = np.mgrid[:40, :30]
    inside = (cols + 0.5 * rows > 5) & (cols + 0.5 * rows < 38)
    cube = np.random.default_rng(0).normal(size=(40, 30, 4)).astype(np.float32) + 3.0
    cube[20, 15] += 9.0  # one anomaly inside
    cube[~inside] = nodata_value
    extra = {"compress": compress} if compress else {}
    with rasterio.open(path, "w", driver="GTiff", height=40, width=30, count=4, dtype="float32", nodata=nodata_value,
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM), **extra) as dst:
        dst.write(np.moveaxis(cube, -1, 0))
    return cube, inside


def _had(*args):
    return subprocess.run([sys.executable, "-m", "had.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("value,compress", [(-9999.0, None), (float("nan"), None), (float("nan"), "deflate")])
def test_a_declared_no_data_value_is_masked_by_rx_and_nan_in_the_map(tmp_path, value, compress):
    """``had fit rx line.tif`` leaves the file's fill pixels out of the background statistics and the threshold
    (as if the line were cropped to its footprint); ``had score`` writes them as NaN, declared as the map's
    nodata, and counts pixels above the threshold among the others. A NaN nodata raster could not be fitted at all
    before ("holds NaN values"; compressed: "fill them before tiling"); a -9999 one was fitted with the fill as
    its largest cluster."""
    from had.rx import RX

    cube, inside = _footprint_tif(tmp_path / "line.tif", value, compress)
    out = _had("fit", "rx", tmp_path / "line.tif", "-o", tmp_path / "m", "--export")
    assert out.returncode == 0, out.stderr
    fill = int((~inside).sum())
    assert f"masked the no-data value {value:g} of line: {fill:,} pixels holding it in every band left out" in out.stdout
    out = _had("score", tmp_path / "m", tmp_path / "line.tif", "-o", tmp_path / "map.tif", "--png", tmp_path / "q.png")
    assert out.returncode == 0, out.stderr
    alone = RX().fit(cube[inside])  # what the fit should equal: RX on the footprint's pixels
    flagged = int((alone.decision_function(cube[inside]) > alone.threshold_).sum())
    assert f"{flagged} of {inside.sum()} above the threshold" in out.stdout
    assert f"({fill} no-data pixels, NaN in the map)" in out.stdout
    with rasterio.open(tmp_path / "map.tif") as src:
        amap = src.read(1)
        assert np.isnan(src.nodata)
    assert np.isnan(amap[~inside]).all()
    np.testing.assert_allclose(amap[inside], alone.decision_function(cube[inside]), rtol=1e-4)  # ONNX, float32
    assert np.unravel_index(np.nanargmax(amap), amap.shape) == (20, 15)
    assert (tmp_path / "q.png").stat().st_size > 0


def test_pixels_missing_some_bands_are_said_by_fit_and_score(tmp_path):
    """A raster whose first band has a smaller footprint than the others (layers of different extents): its edge
    pixels hold the nodata value in band 1 only. They are fitted and scored as data; ``had fit`` and ``had score``
    say how many and in which band, where they said nothing before while those values skewed the fit."""
    cube, inside = _footprint_tif(tmp_path / "line.tif", -9999.0)
    edge = inside & (np.mgrid[:40, :30][1] < 10)
    cube[edge, 0] = -9999.0
    with rasterio.open(tmp_path / "line.tif", "r+") as dst:
        dst.write(np.moveaxis(cube, -1, 0))
    out = _had("fit", "rx", tmp_path / "line.tif", "-o", tmp_path / "m")
    assert out.returncode == 0, out.stderr
    said = f"note: {edge.sum():,} pixels of line hold the no-data value -9999 in some bands but not all (band 1): "
    assert said + "fitted and scored as data" in out.stdout
    out = _had("score", tmp_path / "m", tmp_path / "line.tif", "-o", tmp_path / "map.tif")
    assert out.returncode == 0, out.stderr
    assert said + "scored as data" in out.stdout
    clean, _ = _footprint_tif(tmp_path / "clean.tif", -9999.0)
    out = _had("fit", "rx", tmp_path / "clean.tif", "-o", tmp_path / "m2")
    assert out.returncode == 0 and "some bands but not all" not in out.stdout


def test_nodata_in_any_band_leaves_the_partial_pixels_out_at_fit_and_at_score(tmp_path):
    """What the note above advises: ``--data nodata_any_band=true`` makes the pixels missing band 1 no-data, so
    RX is fitted on the complete pixels alone (it equals RX on them) and scores them NaN; the model records the
    setting and ``had score`` reads the raster the same way without being told (and says so), with ONNX too."""
    from had.rx import RX

    cube, inside = _footprint_tif(tmp_path / "line.tif", -9999.0)
    edge = inside & (np.mgrid[:40, :30][1] < 10)
    cube[edge, 0] = -9999.0
    with rasterio.open(tmp_path / "line.tif", "r+") as dst:
        dst.write(np.moveaxis(cube, -1, 0))
    complete = inside & ~edge
    out = _had("fit", "rx", tmp_path / "line.tif", "-o", tmp_path / "m", "--data", "nodata_any_band=true", "--export")
    assert out.returncode == 0, out.stderr
    assert (f"masked the no-data value -9999 of line: {(~complete).sum():,} pixels holding it in any band "
            "(nodata_any_band) left out of the fit") in out.stdout
    assert "some bands but not all" not in out.stdout
    fitted, alone = had.load(tmp_path / "m"), RX().fit(cube[complete])
    np.testing.assert_allclose(fitted.mean_, alone.mean_, rtol=1e-9)
    assert fitted.input_spec_["data_view"] == {"nodata_any_band": True}
    out = _had("score", tmp_path / "m", tmp_path / "line.tif", "-o", tmp_path / "map.tif")
    assert out.returncode == 0, out.stderr
    assert "line: read as the model's scene was at fit: nodata_any_band=true" in out.stdout
    assert f"({(~complete).sum()} no-data pixels, NaN in the map)" in out.stdout
    with rasterio.open(tmp_path / "map.tif") as src:
        amap = src.read(1)
    assert np.isnan(amap[~complete]).all()
    np.testing.assert_allclose(amap[complete], alone.decision_function(cube[complete]), rtol=1e-4)  # ONNX


def test_fill_is_nan_in_the_map_whatever_the_model_and_can_be_fitted_on_purpose(tmp_path):
    """``--set nodata=null`` fits every pixel (the user's choice, said in a note); the map of the file's fill
    pixels is still NaN, the file's no-data being a fact of the scene rather than of the model."""
    _, inside = _footprint_tif(tmp_path / "line.tif", -9999.0)
    out = _had("fit", "rx", tmp_path / "line.tif", "-o", tmp_path / "m", "--set", "nodata=null")
    assert out.returncode == 0, out.stderr
    assert "note: line declares the no-data value -9999, which rx does not mask" in out.stdout
    out = _had("score", tmp_path / "m", tmp_path / "line.tif", "-o", tmp_path / "map.tif")
    assert out.returncode == 0, out.stderr
    with rasterio.open(tmp_path / "map.tif") as src:
        amap = src.read(1)
    assert np.isnan(amap[~inside]).all() and np.isfinite(amap[inside]).all()
    from had import nodata

    assert nodata.note("x", {"nodata": None, "transform": None}) is None
    assert "no-data values [0.0, -1.0]" in nodata.note("x", {"data_ignore_value": [0.0, -1.0]})


def test_a_raster_that_is_all_fill_is_one_line(tmp_path):
    path = tmp_path / "empty.tif"
    with rasterio.open(path, "w", driver="GTiff", height=10, width=10, count=3, dtype="float32", nodata=0,
                       transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(np.zeros((3, 10, 10), np.float32))
    out = _had("fit", "rx", path, "-o", tmp_path / "m")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "100 pixels hold the no-data value 0 in every band" in out.stderr and not (tmp_path / "m").exists()

def test_fit_on_a_window_then_score_the_whole_raster_or_another_window(geotiff, tmp_path):
    """An analyst's background region: ``--data rows=... cols=...`` fits RX on a window (it equals RX on those
    pixels), the model scores the whole raster on its grid, and a windowed map lands on the window's place in a
    GIS (its transform moved to the window's first pixel). The window is not recorded for scoring."""
    from had.rx import RX

    path, cube = geotiff
    out = _had("fit", "rx", path, "-o", tmp_path / "m", "--data", "rows=1-10", "--data", "cols=3-26")
    assert out.returncode == 0, out.stderr
    assert "area: the window of rows 1-10 of 30, columns 3-26 of 26" in out.stdout
    alone = RX().fit(cube[:10, 2:])
    np.testing.assert_allclose(had.load(tmp_path / "m").mean_, alone.mean_, rtol=1e-9)
    out = _had("score", tmp_path / "m", path, "-o", tmp_path / "whole.tif")
    assert out.returncode == 0, out.stderr
    assert "read as the model's scene" not in out.stdout
    with rasterio.open(tmp_path / "whole.tif") as src:
        assert src.shape == (30, 26) and list(src.transform)[:6] == TRANSFORM
        np.testing.assert_allclose(src.read(1), alone.decision_function(cube), rtol=1e-5)
    out = _had("score", tmp_path / "m", path, "-o", tmp_path / "part.tif", "--data", "rows=11-20",
               "--data", "cols=5-9")
    assert out.returncode == 0, out.stderr
    with rasterio.open(tmp_path / "part.tif") as src:
        assert src.shape == (10, 5) and list(src.transform)[:6] == [10.0, 0.0, 300040.0, 0.0, -10.0, 4999900.0]
        np.testing.assert_allclose(src.read(1), alone.decision_function(cube[10:20, 4:9]), rtol=1e-5)
    out = _had("fit", "rx", path, "-o", tmp_path / "m2", "--data", "rows=20-40")
    assert out.returncode == 2 and "rows='20-40' is outside rows 1-30 of area.tif" in out.stderr


def test_raster_file_takes_the_elements_by_name(tmp_path):
    """A geochemical stack names its bands (GeoTIFF descriptions): ``--data bands=Cu,Zn`` tiles those elements
    only, in the file's order; a name the file lacks is one line listing the names it has."""
    rng = np.random.default_rng(2)
    stack = rng.lognormal(size=(4, 32, 32)).astype(np.float32)
    with rasterio.open(tmp_path / "geo.tif", "w", driver="GTiff", height=32, width=32, count=4, dtype="float32",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(stack)
        for band, element in enumerate(["Cu", "Pb", "Zn", "Au"], start=1):
            dst.set_band_description(band, element)
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "geo.tif"), tile_size=16, stride=16, bands="zn,Cu")
    assert tiles.X.shape == (4, 2, 16, 16) and tiles.meta["bands_kept"] == [0, 2]
    np.testing.assert_array_equal(tiles.X[0], stack[[0, 2], :16, :16])
    assert tiles.meta["band_names"] == ["Cu", "Zn"]
    with rasterio.open(tmp_path / "geo.tif", "r+") as dst:  # Pb ends early: -9999 in its last 16 columns
        dst.nodata = -9999.0
        stack[1, :, 16:] = -9999.0
        dst.write(stack)
    kept = had.load_dataset("raster-file", path=str(tmp_path / "geo.tif"), tile_size=16, stride=16)
    assert kept.X.shape[0] == 4  # every band: those pixels are data to the every-band rule
    complete = had.load_dataset("raster-file", path=str(tmp_path / "geo.tif"), tile_size=16, stride=16,
                                nodata_any_band=True)
    assert complete.X.shape[0] == 2 and complete.meta["tiles_left_out"] == 2  # the tiles missing Pb left out
    from had.errors import ConfigError

    with pytest.raises(ConfigError, match="'Ag' is not a band number or range nor a band name of geo.tif"):
        had.load_dataset("raster-file", path=str(tmp_path / "geo.tif"), tile_size=16, bands="Cu,Ag")


def test_a_raster_file_mask_on_another_grid_is_refused(geotiff, tmp_path):
    """A deposit mask of the raster's height and width drawn on another grid (10 km east, or in another CRS) is
    one line, as ``map_path`` of a scene is (was: its pixels taken as the raster's, labels and AUROC reported);
    the mask on the raster's grid labels the tiles."""
    from had.errors import LabelError

    path, _ = geotiff
    mask = np.zeros((1, 30, 26), np.uint8)
    mask[0, 12, 7] = 1
    shifted = list(TRANSFORM)
    shifted[2] += 10000.0
    for name, crs, transform in [("same.tif", "EPSG:32633", TRANSFORM), ("shifted.tif", "EPSG:32633", shifted),
                                 ("utm34.tif", "EPSG:32634", TRANSFORM)]:
        with rasterio.open(tmp_path / name, "w", driver="GTiff", height=30, width=26, count=1, dtype="uint8",
                           crs=crs, transform=rasterio.Affine(*transform)) as dst:
            dst.write(mask)
    settings = {"path": str(path), "tile_size": 10, "stride": 10}
    tiles = had.load_dataset("raster-file", **settings, mask_path=str(tmp_path / "same.tif"))
    assert tiles.meta["tile_coords"][int(np.flatnonzero(tiles.y)[0])] == [10, 0] and tiles.y.sum() == 1  # (12, 7)
    with pytest.raises(LabelError, match=r"shifted.tif: the map lies on another grid than the scene \(its transform "
                                         r"\(10, 0, 310000, 0, -10, 5e\+06\), the scene's \(10, 0, 300000, "):
        had.load_dataset("raster-file", **settings, mask_path=str(tmp_path / "shifted.tif"))
    with pytest.raises(LabelError, match="utm34.tif: the map is in another coordinate reference system"):
        had.load_dataset("raster-file", **settings, mask_path=str(tmp_path / "utm34.tif"))
    np.save(tmp_path / "mask.npy", mask[0])  # a mask without georeferencing: its shape alone is checked
    assert had.load_dataset("raster-file", **settings, mask_path=str(tmp_path / "mask.npy")).y.sum() == 1


def test_a_raster_file_heat_map_declares_nan_as_its_nodata(tmp_path):
    """The heat map of a survey is NaN where no tile is left (tiles holding the survey's no-data pixels); the
    GeoTIFF declares NaN as its nodata, as the user guide says (was: nodata None, so a GIS drew NaN as a value)."""
    from had.score_file import score_to_map

    _, inside = _footprint_tif(tmp_path / "survey.tif", -9999.0)
    mean_of_tile = (lambda tiles: np.asarray(tiles).mean(axis=(1, 2, 3)), 0.0, "the tile mean")
    settings = {"path": str(tmp_path / "survey.tif"), "tile_size": 5, "stride": 5}
    score_to_map("unused", "raster-file", str(tmp_path / "heat.tif"), scorer=mean_of_tile, settings=settings,
                 echo=lambda _: None)
    with rasterio.open(tmp_path / "heat.tif") as written:
        assert np.isnan(written.nodata)
        heat = written.read(1)
    tiles = had.load_dataset("raster-file", **settings)
    covered = np.zeros_like(inside)
    for r, c in tiles.meta["tile_coords"]:
        covered[r:r + 5, c:c + 5] = True
    assert 0 < covered.sum() < inside.sum() and (np.isnan(heat) == ~covered).all()


def test_raster_file_says_pixels_missing_some_bands(tmp_path):
    """Layers of different extents: Pb's grid ends 16 columns early (-9999 there, in Pb alone). ``raster-file``
    tiles those pixels as data and says so, in the scene path's words (``had fit`` and ``had score`` print its
    reader notes: :func:`had.scenefiles.view_note`); was: nothing. With ``nodata_any_band`` nothing is said."""
    from had.nodata import partial_line
    from had.scenefiles import view_note

    stack = np.random.default_rng(2).lognormal(size=(4, 32, 32)).astype(np.float32)
    stack[1, :, 16:] = -9999.0
    with rasterio.open(tmp_path / "geo.tif", "w", driver="GTiff", height=32, width=32, count=4, dtype="float32",
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM), nodata=-9999.0) as dst:
        dst.write(stack)
    settings = {"path": str(tmp_path / "geo.tif"), "tile_size": 16, "stride": 16}
    tiles = had.load_dataset("raster-file", **settings)
    said = ("note: 512 pixels of geo hold the no-data value -9999 in some bands but not all (band 2): fitted and "
            "scored as data, so a missing measurement reads as an extreme value there")
    assert tiles.X.shape[0] == 4 and tiles.meta["reader_notes"] == [partial_line("geo", -9999.0, {"pixels": 512,
                                                                                                  "bands": [1]})]
    assert view_note(tiles.name, tiles.meta).startswith(said)  # what had fit and had score print
    complete = had.load_dataset("raster-file", **settings, nodata_any_band=True)
    assert complete.X.shape[0] == 2 and "reader_notes" not in complete.meta
    stack[1, :, 16:] = np.nan  # NaN in a band is no-data already (its tiles left out): nothing more to say
    with rasterio.open(tmp_path / "nan.tif", "w", driver="GTiff", height=32, width=32, count=4, dtype="float32",
                       nodata=float("nan")) as dst:
        dst.write(stack)
    nan = had.load_dataset("raster-file", **{**settings, "path": str(tmp_path / "nan.tif")})
    assert nan.X.shape[0] == 2 and "reader_notes" not in nan.meta


@pytest.mark.parametrize("compress", [None, "lzw"])
def test_load_dataset_reads_a_geotiff_lazily(tmp_path, compress):
    """``had.load_dataset("geotiff-scene", ...)`` (and so every ``had bench`` cell) read the raster whole as
    float64: 4x a uint16 file's size. It now gives open()'s cube (memory-mapped, or read by row windows when
    compressed) in the file's type, with the file's sha256, and allocates nothing of the raster's size."""
    import tracemalloc

    rng = np.random.default_rng(1)
    cube = rng.integers(100, 4000, size=(600, 400, 8)).astype(np.uint16)
    path = tmp_path / "area.tif"
    with rasterio.open(path, "w", driver="GTiff", height=600, width=400, count=8, dtype="uint16", compress=compress,
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(cube.transpose(2, 0, 1))
    had.load_dataset("geotiff-scene", path=str(path))  # imports first
    tracemalloc.start()
    try:
        data = had.load_dataset("geotiff-scene", path=str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.X.dtype == np.uint16 and data.X.shape == (600, 400, 8)
    assert peak < cube.size * 8 / 4, peak  # the float64 copy of before: 15.4 MB (now the sha256's two 1 MB reads)
    np.testing.assert_array_equal(np.asarray(data.X), cube)
    assert len(data.meta["sha256"]) == 64 and data.meta["transform"] == TRANSFORM
    scores = had.get_detector("rx").fit(data.X).decision_scores_
    np.testing.assert_allclose(scores, had.get_detector("rx").fit(cube.astype(np.float64)).decision_scores_,
                               rtol=1e-9)


def test_bands_missing_data_are_numbered_as_in_the_file_after_a_bands_selection(tmp_path):
    """With ``--data bands=2-4``, pixels missing band 4 are said as missing band 3 (the file's numbering, what
    ``--data bands=`` takes), by ``had fit`` and by ``had score``. Was: "band 2", its position among the bands
    read, so the fix the note suggests named another band."""
    cube, inside = _footprint_tif(tmp_path / "line.tif", -9999.0)
    edge = inside & (np.mgrid[:40, :30][1] < 10)
    cube[edge, 2] = -9999.0
    with rasterio.open(tmp_path / "line.tif", "r+") as dst:
        dst.write(np.moveaxis(cube, -1, 0))
    said = f"note: {edge.sum():,} pixels of line hold the no-data value -9999 in some bands but not all (band 3): "
    out = _had("fit", "rx", tmp_path / "line.tif", "-o", tmp_path / "m", "--data", "bands=2-4")
    assert out.returncode == 0, out.stderr
    assert said + "fitted and scored as data" in out.stdout
    out = _had("score", tmp_path / "m", tmp_path / "line.tif", "-o", tmp_path / "map.tif")
    assert out.returncode == 0, out.stderr
    assert said + "scored as data" in out.stdout
    # the raster-file reader's note (tiles for an image detector) numbers them alike
    out = _had("fit", "geohgan", "raster-file", "--data", f"path={tmp_path / 'line.tif'}", "--data", "bands=2-4",
               "--data", "tile_size=8", "--set", "epochs=1", "-o", tmp_path / "g")
    assert out.returncode == 0, out.stderr
    assert said + "fitted and scored as data" in out.stdout
