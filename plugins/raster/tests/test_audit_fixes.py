"""``raster-file`` on a survey GeoTIFF (declared nodata -9999 outside the surveyed area), as a user audit found it:

* one NaN in one band inside the survey left 4 more tiles out without a word (``had fit rx`` refuses the same
  file naming the NaN): NaN in a band is no-data, as the README says, and now a note says where it is, how many
  tiles it left out and the ``max_no_data`` that keeps them;
* with the default ``max_no_data=0``, 30% of the surveyed pixels were in no tile (NaN in the heat map, as outside
  the survey) and only "77 tiles holding no-data pixels left out" was said: now how many surveyed pixels lie in no
  tile kept and how many each larger ``max_no_data`` would leave;
* the tiling record carries the raster's nodata and a ``max_no_data`` above 0 (``had score`` repeats it; the
  runtime scores NaN the tiles it would leave out).
"""

from __future__ import annotations

import had
import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")

TRANSFORM = [10.0, 0.0, 300000.0, 0.0, -10.0, 5000000.0]


def _survey(path, nan_at=None):
    """40x48, 3 bands, -9999 in every band outside an ellipse; `nan_at` (row, col): NaN in band 2 there."""
    rows, cols = np.mgrid[:40, :48]
    outside = ((cols - 24) / 23) ** 2 + ((rows - 20) / 19) ** 2 > 1
    stack = np.random.default_rng(3).lognormal(size=(3, 40, 48)).astype(np.float32)
    stack[:, outside] = -9999.0
    if nan_at is not None:
        stack[1, nan_at[0], nan_at[1]] = np.nan
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=3, dtype="float32", nodata=-9999.0,
                       crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(stack)
    return outside


def _kept_and_covered(no_data, size, stride, share):
    """Brute force: the tiles (top-left) of at most `share` no-data, and the pixels they cover."""
    H, W = no_data.shape
    starts = lambda n: sorted(set(range(0, n - size + 1, stride)) | {n - size})  # noqa: E731
    kept, covered = [], np.zeros_like(no_data)
    for r in starts(H):
        for c in starts(W):
            if no_data[r:r + size, c:c + size].mean() <= share + 1e-9:
                kept.append((r, c))
                covered[r:r + size, c:c + size] = True
    return kept, covered


def test_the_surveyed_pixels_in_no_tile_kept_are_counted_with_the_settings_that_cover_them(tmp_path):
    outside = _survey(tmp_path / "s.tif")
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "s.tif"), tile_size=8, stride=4)
    kept, covered = _kept_and_covered(outside, 8, 4, 0.0)
    assert len(tiles.X) == len(kept)
    uncovered = int((~outside & ~covered).sum())
    surveyed = int((~outside).sum())
    left = {s: int((~outside & ~_kept_and_covered(outside, 8, 4, s)[1]).sum()) for s in (0.1, 0.25, 0.5, 0.75)}
    assert uncovered > 0 and left[0.75] < uncovered
    options = []
    for share, n in left.items():
        options.append(f"{share:g} covers {'them all' if n == 0 else f'all but {n:,}'}")
        if n == 0:
            break
    note = (f"note: {uncovered:,} of the {surveyed:,} surveyed pixels of s ({uncovered / surveyed:.0%}) lie in no "
            f"tile kept (max_no_data=0): NaN in the heat map, as outside the survey; --data max_no_data="
            f"{', '.join(options)} (a tile holding up to that share of no-data pixels is kept, and they take their "
            "band's median)")
    assert tiles.meta["reader_notes"] == [note]
    heat = np.asarray(had.get_datasource("raster-file", path=str(tmp_path / "s.tif"), tile_size=8, stride=4)
                      .score_map(tiles, np.ones(len(tiles.X))))
    assert int((np.isnan(heat) & ~outside).sum()) == uncovered  # what the note counts is what the map lacks


def test_the_heat_map_path_of_had_score_says_the_readers_notes(tmp_path):
    from had.score_file import score_to_map

    _survey(tmp_path / "s.tif")
    said: list[str] = []
    score_to_map("unused", "raster-file", str(tmp_path / "heat.tif"),
                 scorer=(lambda tiles: np.asarray(tiles).mean(axis=(1, 2, 3)), 0.0, "the tile mean"),
                 settings={"path": str(tmp_path / "s.tif"), "tile_size": 8, "stride": 4}, echo=said.append)
    text = "\n".join(said)
    assert "tiles holding no-data pixels left out" in text
    assert text.count("surveyed pixels of s (") == 1 and "lie in no tile kept (max_no_data=0)" in text


def test_a_nan_inside_the_survey_is_said_with_the_tiles_it_left_out(tmp_path):
    outside = _survey(tmp_path / "n.tif", nan_at=(20, 25))
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "n.tif"), tile_size=8, stride=4)
    with_nan = outside.copy()
    with_nan[20, 25] = True
    more = len(_kept_and_covered(outside, 8, 4, 0.0)[0]) - len(_kept_and_covered(with_nan, 8, 4, 0.0)[0])
    assert more == 4 and len(tiles.X) == len(_kept_and_covered(with_nan, 8, 4, 0.0)[0])
    assert tiles.meta["reader_notes"][0] == (
        "note: 1 pixel(s) of n hold NaN in some bands but not all (band 2; the first at row 21, column 26, 1-based): "
        "NaN in a band is no-data here, as outside the survey, so 4 more tile(s) holding them were left out; if "
        "they are bad values in a measured area, fill them, or keep such tiles with --data max_no_data=0.0157 "
        "(it keeps every tile holding up to that share of no-data pixels, which then take their band's median)")
    # 1 of 64 pixels: 0.015625, rounded up; the 4 tiles are kept then (and the edge tiles holding 1 no-data pixel)
    kept = had.load_dataset("raster-file", path=str(tmp_path / "n.tif"), tile_size=8, stride=4, max_no_data=0.0157)
    coords = {tuple(c) for c in kept.meta["tile_coords"]}
    assert {(16, 20), (16, 24), (20, 20), (20, 24)} <= coords and np.isfinite(kept.X).all()
    assert len(kept.X) == len(_kept_and_covered(with_nan, 8, 4, 0.0157)[0])
    assert kept.meta["reader_notes"][0].endswith("1 of them lie in tiles kept and take their band's median there")


def test_the_tiling_record_holds_the_nodata_and_a_max_no_data_above_0(tmp_path):
    from had.cubeview import TILING, record_of, settings_to_match
    from had_raster.sources import RasterFileConfig

    _survey(tmp_path / "s.tif")
    tiles = had.load_dataset("raster-file", path=str(tmp_path / "s.tif"), tile_size=8, stride=4, max_no_data=0.25)
    record = record_of(tiles.meta)
    assert record[TILING] == {"tile_size": 8, "stride": 4, "max_no_data": 0.25, "nodata": -9999.0}
    assert settings_to_match(record, {"path": "x.tif"}, RasterFileConfig.model_fields) == {
        "tile_size": 8, "stride": 4, "max_no_data": 0.25}  # had score leaves out the tiles the fit did
    np.save(tmp_path / "plain.npy", np.ones((16, 16, 2)))  # no declared nodata: nothing recorded of it
    assert record_of(had.load_dataset("raster-file", path=str(tmp_path / "plain.npy"), tile_size=8).meta) == {
        TILING: {"tile_size": 8, "stride": 8}}


def test_the_tile_heat_map_quicklook_has_a_colour_bar_and_grey_no_data(tmp_path, monkeypatch):
    """``had score ... -o heat.tif --png heat.png`` drew the tile heat map without a colour bar and with no-data
    blank (the plain ``maps_png``); it is now the map quicklook (:func:`had.maps.quicklook_png`)."""
    pytest.importorskip("matplotlib")
    import had.score_file
    from had.maps import quicklook_png
    from had.score_file import score_to_map

    outside = _survey(tmp_path / "s.tif")
    drawn = []
    monkeypatch.setattr(had.score_file, "quicklook_png", lambda *a, **k: drawn.append((a, k)) or quicklook_png(*a, **k))
    score_to_map("unused", "raster-file", str(tmp_path / "heat.tif"), png=str(tmp_path / "heat.png"),
                 scorer=(lambda tiles: np.asarray(tiles).mean(axis=(1, 2, 3)), 0.0, "the tile mean"),
                 settings={"path": str(tmp_path / "s.tif"), "tile_size": 8, "stride": 4}, echo=lambda _: None)
    (args, kwargs), = drawn
    with rasterio.open(tmp_path / "heat.tif") as written:
        np.testing.assert_array_equal(args[1], written.read(1))  # the map written, drawn
    assert np.isnan(args[1][outside]).all() and kwargs["title"] == "s"
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "heat.png")[..., :3]
    grey = np.isclose(image, 0.7, atol=0.01).all(axis=-1)  # no-data in grey (was: blank, white)
    assert grey.sum() > 1000
