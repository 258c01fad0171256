"""A raster's tiling travels with the model (``had fit`` records ``tile_size``/``stride``, ``had score`` repeats
them), a tile size that differs says how to cut the tiles, and tile scores of a raster with declared no-data go
to a ``.npy`` map (``had score --out DIR --map-format npy``)."""

from __future__ import annotations

import had
import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")

TRANSFORM = [10.0, 0.0, 300000.0, 0.0, -10.0, 5000000.0]


def _survey_tif(path, n_bands=4, missing_band=None):
    """A 40x48 survey whose pixels outside an ellipse hold the declared nodata -9999 in every band; with
    `missing_band` (0-based), that band holds -9999 everywhere (a layer never measured: ``allnd_band.tif``)."""
    rows, cols = np.mgrid[:40, :48]
    outside = ((cols - 24) / 23) ** 2 + ((rows - 20) / 19) ** 2 > 1
    stack = np.random.default_rng(3).lognormal(size=(n_bands, 40, 48)).astype(np.float32)
    stack[:, outside] = -9999.0
    if missing_band is not None:
        stack[missing_band] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=n_bands, dtype="float32",
                       nodata=-9999.0, crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(stack)
    return stack


def test_tile_scores_of_a_raster_with_declared_no_data_go_to_a_npy_map(tmp_path):
    """``had score m raster-file --data path=allnd_band.tif ... --out DIR --map-format npy`` failed with "cannot
    reshape array of size 251 into shape (251,12,16)": the no-data masking took an image tile's last axis (its
    width) for its bands. The tiles holding no-data were left out by raster-file, so each score is the tile's."""
    from had.score_file import score_to_map

    _survey_tif(tmp_path / "allnd.tif", missing_band=2)
    settings = {"path": str(tmp_path / "allnd.tif"), "tile_size": 8, "stride": 4}
    mean_of_tile = (lambda tiles: np.asarray(tiles).mean(axis=(1, 2, 3)), 0.0, "the tile mean")
    said: list[str] = []
    summary = score_to_map("unused", "raster-file", str(tmp_path / "tiles.npy"), scorer=mean_of_tile,
                           settings=settings, echo=said.append)
    tiles = had.load_dataset("raster-file", **settings)
    scores = np.load(tmp_path / "tiles.npy")
    assert 0 < tiles.meta["tiles_left_out"] and scores.shape == (len(tiles.X),) == summary["shape"]
    np.testing.assert_allclose(scores, tiles.X.mean(axis=(1, 2, 3)), rtol=1e-6)
    text = "\n".join(said)
    assert text.count("tiles holding no-data pixels left out") == 1  # said as by the heat map
    assert text.count("in some bands but not all (band 3)") == 1  # the reader's note, once


def test_image_tiles_are_masked_per_tile():
    """:func:`had.nodata.masked` on images ``(N, C, h, w)``: a tile is no-data when every value of it is; a tile
    with some no-data values (a band of it, a corner) is scored as it is, and nothing is counted as partial."""
    from had.nodata import PartialFill, masked

    block = np.ones((3, 2, 4, 5), dtype=np.float32)
    block[0] = -9999.0
    block[1, 1] = -9999.0  # one band of the tile
    block[2, :, :2, :2] = -9999.0  # a corner of the tile
    partial = PartialFill()
    out = masked(np.array([1.0, 2.0, 3.0]), block, -9999.0, partial)
    assert np.isnan(out[0]) and out[1:].tolist() == [2.0, 3.0] and partial.record() is None
    assert masked(np.arange(3.0), block, None).tolist() == [0.0, 1.0, 2.0]


def test_a_raster_source_records_its_tiling_and_scoring_repeats_it(tmp_path):
    """``raster-file``'s tiles carry the settings that cut them (recorded by ``had fit``: :func:`record_of`);
    ``had score`` adds those the user did not give (:func:`settings_to_match`), a setting given wins."""
    from had.cubeview import TILING, record_of, settings_to_match
    from had_raster.sources import HSIRasterConfig, RasterFileConfig

    _survey_tif(tmp_path / "survey.tif")
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "survey.tif"), tile_size=8, stride=4, bands="1-3")
    record = record_of(tiles.meta)
    # the raster's declared nodata too: a runtime scores NaN the tiles holding it (had.image_checks.TileFill)
    assert record == {"bands": "1-3", "of": 4, TILING: {"tile_size": 8, "stride": 4, "nodata": -9999.0}}
    fields = RasterFileConfig.model_fields
    assert settings_to_match(record, {"path": "x.tif"}, fields) == {"bands": "1-3", "tile_size": 8, "stride": 4}
    assert settings_to_match(record, {"tile_size": 16}, fields) == {"bands": "1-3", "stride": 4}
    assert settings_to_match(record, {}, {"path": None}) == {}  # a source without tiles takes none of them
    no_stride = had.load_dataset("raster-file", path=str(tmp_path / "survey.tif"), tile_size=8, stride=None)
    assert record_of(no_stride.meta) == {TILING: {"tile_size": 8, "stride": 8, "nodata": -9999.0}}
    assert HSIRasterConfig(band_step=3).tiling() == {"tile_size": 16, "stride": 8, "band_step": 3}  # its channels


def test_the_remedy_for_tiles_of_another_size():
    """Tiles of a raster are cut, not resized: the tiling the model recorded, or (a model saved before it was
    recorded) the tile size of its images; ``wrong_image_size`` keeps its advice for other images."""
    from had.cubeview import tiling_remedy
    from had.validation import wrong_image_size

    recorded = {"tiling": {"tile_size": 16, "stride": 8, "band_step": 2}}
    assert tiling_remedy(recorded, (12, 16, 16)) == "cut the tiles as at fit: --data tile_size=16 --data stride=8"
    assert tiling_remedy(None, (12, 16, 16)) == "cut the tiles as at fit: --data tile_size=16"
    assert tiling_remedy({"bands": "1-3", "of": 4}, (12, 16, 16)) == "cut the tiles as at fit: --data tile_size=16"
    assert tiling_remedy(None, (3, 16, 24)) is None
    assert str(wrong_image_size((12, 16, 16), (12, 64, 64))) == (
        "fitted on images (12, 16, 16), got (12, 64, 64); resize them to 16 x 16 pixels as at fit (a folder of "
        "images: --data size=16 resizes them as read)")
    assert str(wrong_image_size((12, 16, 16), (12, 64, 64), tiling_remedy(recorded, (12, 16, 16)))) == (
        "fitted on images (12, 16, 16), got (12, 64, 64); cut the tiles as at fit: --data tile_size=16 "
        "--data stride=8")


def test_tiles_of_another_band_step_say_the_recorded_one():
    """hsi-raster tiles with band_step=2 on a model fitted with band_step=3 said only "fitted on 63 channels, got
    95"; the model recorded the step, so the line gives it."""
    from types import SimpleNamespace

    from had.errors import BandMismatchError
    from had.score_file import _check_tile_size

    record = {"tiling": {"tile_size": 16, "stride": 8, "band_step": 3}}
    spec = {"kind": "image", "sample_shape": [63, 16, 16]}
    scene = SimpleNamespace(X=np.zeros((4, 95, 16, 16)), meta={"tile_size": 16, "tiling": {"tile_size": 16,
                                                                                            "stride": 8,
                                                                                            "band_step": 2}})
    with pytest.raises(BandMismatchError, match=r"fitted on 63 channels, got 95: .* --data band_step=3$"):
        _check_tile_size(None, spec, record, scene)
    scene.meta["tiling"]["band_step"] = 3  # the same step, other channels: left to the scoring's own line
    _check_tile_size(None, spec, record, scene)


def test_geotiffs_given_to_a_model_of_raster_tiles_are_cut_as_at_fit(tmp_path, capfd, monkeypatch):
    """``had score MODEL a.tif b.tif --out maps/`` with a model fitted on ``raster-file`` tiles: each raster is
    cut as at fit and gets its heat map, a GeoTIFF on its grid named after it, equal to what ``raster-file --data
    path=`` gives. Was: "fitted on image data, got cube data" for each file, and the one raster ``--data path=``
    takes had its map named ``raster-file``. (The commands run in this process through the CLI's entry point: a
    subprocess each cost an interpreter and torch's import and tested nothing more.)"""
    import shutil
    from types import SimpleNamespace

    from had_sdk.testing import run_cli

    _survey_tif(tmp_path / "survey.tif")
    shutil.copy(tmp_path / "survey.tif", tmp_path / "other.tif")
    monkeypatch.chdir(tmp_path)

    def had_cli(*args):
        code, stdout, stderr = run_cli(capfd, *args)
        return SimpleNamespace(returncode=code, stdout=stdout, stderr=stderr)

    out = had_cli("fit", "geohgan", "raster-file", "--data", "path=survey.tif", "--data", "tile_size=8",
                  "--set", "epochs=1", "-o", "m")
    assert out.returncode == 0, out.stderr
    out = had_cli("score", "m", "raster-file", "--data", "path=survey.tif", "-o", "ref.tif")
    assert out.returncode == 0, out.stderr
    out = had_cli("score", "m", "survey.tif", "other.tif", "--out", "maps")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["other.tif", "survey.tif"]
    with rasterio.open(tmp_path / "ref.tif") as ref, rasterio.open(tmp_path / "maps" / "other.tif") as got:
        assert got.transform == ref.transform == rasterio.Affine(*TRANSFORM) and got.crs == ref.crs
        np.testing.assert_array_equal(got.read(1), ref.read(1))
        assert np.isfinite(ref.read(1)).sum() > 100
    out = had_cli("score", "m", "survey.tif")
    assert out.returncode == 0, out.stderr
    assert "survey.tif: cut into tiles by raster-file, as the model's training raster was" in out.stdout
