"""ENVI headers from an audit of hostile inputs: a ``map info`` whose numbers place no map (a pixel size of 0, NaN
or infinite numbers) and an infinite ``data ignore value``.

Was: the map info became a transform of collapsed or NaN bounds and ``had score ... -o map.tif`` wrote a GeoTIFF
"(georeferenced)"; ``data ignore value = 1e400`` gave "invalid config for detector rx: nodata.float: Input should
be a finite number", naming a setting the user never gave. Now such a map info is one that cannot be read (the
map is written without a place, and ``had fit``/``had score`` say why), and an infinite data ignore value is
refused as a word there is: the file, the header line and the fix.
"""

from __future__ import annotations

import math

import had
import numpy as np
import pytest
from had.errors import DataFileError
from had.scenefiles import georeferencing
from had_hsi.envi import georeference, save_envi
from had_sdk.testing import run_cli

PLACE = ["UTM", 1, 1, 500000, 4000000]
ZONE = [13, "North", "WGS-84"]
UNREADABLE = {
    "zero_pixel_size": PLACE + [0, 0] + ZONE,  # the audit's map_info_zero_px
    "zero_y_pixel_size": PLACE + [30, 0] + ZONE,
    "infinite_and_nan": ["UTM", 1, 1, "1e400", "-1e400", "nan", 0] + ZONE,  # the audit's map_info_huge
    "nan_pixel_size": PLACE + ["nan", 30] + ZONE,
    "infinite_pixel_size": PLACE + [30, "inf"] + ZONE,
    "infinite_rotation": PLACE + [30, 30] + ZONE + ["rotation=1e400"],
    "far_corner_at_infinity": PLACE + [1e307, 30] + ZONE,
}


@pytest.fixture
def cube():
    return np.random.default_rng(0).normal(size=(30, 20, 5)).astype(np.float32)


@pytest.mark.parametrize("info", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_map_info_that_places_no_map_cannot_be_read(tmp_path, cube, info):
    save_envi(tmp_path / "s.hdr", cube, "bsq", map_info=info)
    meta = had.load_dataset("envi-file", path=str(tmp_path / "s.hdr")).meta
    assert meta["transform"] is None, meta["transform"]
    assert georeferencing(meta).startswith("not georeferenced: the input's map info {UTM, 1, 1, ")
    assert georeferencing(meta).endswith(" cannot be read (projection, reference pixel, easting, northing, pixel "
                                         "sizes); correct it in the header")


def test_had_fit_and_score_say_it_and_write_the_map_without_a_place(tmp_path, cube, capsys):
    rasterio = pytest.importorskip("rasterio")
    save_envi(tmp_path / "s.hdr", cube, "bsq", map_info=UNREADABLE["zero_pixel_size"])
    said = ("not georeferenced: the input's map info {UTM, 1, 1, 500000, 4000000, 0, 0, 13, North, WGS-84} cannot "
            "be read")
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "s.hdr", "-o", tmp_path / "m")
    assert code == 0, err
    assert f"note: s: {said}" in out + err
    code, out, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "s.hdr", "-o", tmp_path / "map.tif")
    assert code == 0, err
    assert f"map.tif ({said}" in out + err and "(georeferenced)" not in out + err, out + err
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning), rasterio.open(tmp_path / "map.tif") as tif:
        assert tif.crs is None and tif.transform.is_identity
        assert all(math.isfinite(v) for v in tif.bounds)


def test_a_negative_pixel_size_stays_a_map_flipped_as_gdal_reads_it(tmp_path, cube):
    """Not refused with the others: GDAL's ENVI driver (which writes one for a south-up raster) reads it as a
    valid transform, and a GIS shows the map so."""
    rasterio = pytest.importorskip("rasterio")
    info = PLACE + [30, -30] + ZONE
    data_file = save_envi(tmp_path / "s.hdr", cube, "bsq", map_info=info)
    meta = had.load_dataset("envi-file", path=str(tmp_path / "s.hdr")).meta
    with rasterio.open(data_file) as gdal:
        np.testing.assert_allclose(meta["transform"], list(gdal.transform)[:6], rtol=1e-12)
    assert georeference({"map info": info})[0] == [30.0, 0.0, 500000.0, 0.0, 30.0, 4000000.0]


@pytest.mark.parametrize("value", ["1e400", "-1e400", "inf", "{0, 1e400}"])
def test_an_infinite_data_ignore_value_is_refused_as_a_word_there_is(tmp_path, cube, value):
    save_envi(tmp_path / "s.hdr", cube, "bsq", data_ignore_value=value)
    with pytest.raises(DataFileError, match=r"s\.hdr: data ignore value = .* is not a finite number; correct the "
                                            r"header \(for example 'data ignore value = -9999'\) or remove the "
                                            r"line$"):
        had.load_dataset("envi-file", path=str(tmp_path / "s.hdr"))


def test_had_fit_of_an_infinite_data_ignore_value_is_one_line_naming_the_header(tmp_path, cube, capsys):
    save_envi(tmp_path / "s.hdr", cube, "bsq", data_ignore_value="1e400")
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "s.hdr", "-o", tmp_path / "m")
    assert code == 2
    errors = [line for line in err.splitlines() if line.strip()]
    assert errors == [f"error: {tmp_path / 's.hdr'}: data ignore value = '1e400' is not a finite number; correct the "
                      "header (for example 'data ignore value = -9999') or remove the line"], err
    assert "nodata" not in err and not (tmp_path / "m").exists()


def test_a_nan_data_ignore_value_is_still_read(tmp_path, cube):
    """NaN is a float file's no-data marker: not refused with the infinite values."""
    save_envi(tmp_path / "s.hdr", cube, "bsq", data_ignore_value="nan")
    assert math.isnan(had.load_dataset("envi-file", path=str(tmp_path / "s.hdr")).meta["data_ignore_value"])
