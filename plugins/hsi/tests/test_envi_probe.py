"""ENVI headers from a probe of the readers: a key given twice, a NaN or infinite wavelength, and a float file whose
header states the wrong byte order.

Was: ``samples``/``lines`` given twice were read with the last values, silently (the scene transposed, its map
scrambled); ``wavelength = {400, nan, ...}`` dropped the wavelengths without a word (a word there got a note); and a
little-endian float file with ``byte order = 1`` was refused for "16 NaN or infinite value(s) ... replace bad
pixels by the band median", a fix that hides the noise.
"""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import DataFileError
from had_hsi.envi import open_envi, save_envi
from had_sdk.testing import run_cli

#: the probe's scene: 20 lines x 30 samples x 6 bands of float32 in [0, 1), BSQ
LINES, SAMPLES, BANDS = 20, 30, 6
HEAD = ("ENVI\nsamples = 30\nlines = 20\nbands = 6\nheader offset = 0\ndata type = 4\ninterleave = bsq\n"
        "byte order = 0\n")


@pytest.fixture
def cube():
    return np.random.default_rng(0).random((LINES, SAMPLES, BANDS)).astype(np.float32)


def _scene(tmp_path, cube, header_text: str):
    """The probe's data file (little-endian BSQ) beside a header of `header_text`; the header's path."""
    np.ascontiguousarray(cube.transpose(2, 0, 1)).astype("<f4").tofile(tmp_path / "line.img")
    (tmp_path / "line.hdr").write_text(header_text)
    return tmp_path / "line.hdr"


def _only_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# 1. a key given twice

def test_samples_and_lines_given_twice_with_other_values_are_refused(tmp_path, cube, capsys):
    header = _scene(tmp_path, cube, HEAD + "samples = 20\nlines = 30\n")
    with pytest.raises(DataFileError) as caught:
        open_envi(header)
    said = str(caught.value)
    assert str(header) in said and "'samples' is given twice" in said and "'30'" in said and "'20'" in said
    assert "keep one" in said
    code, out, err = run_cli(capsys, "fit", "rx", header, "-o", tmp_path / "m")
    assert code == 2 and "'samples' is given twice, as '30' and as '20'" in _only_error(err)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("twice", ["Samples  = 31\n", "SAMPLES=31\n", "  samples = 31\n"], ids=["case", "blanks",
                                                                                                  "indent"])
def test_a_key_is_matched_in_any_case_and_spacing(tmp_path, cube, twice):
    header = _scene(tmp_path, cube, HEAD + twice)
    with pytest.raises(DataFileError, match=r"'samples' is given twice, as '30' and as '31'"):
        open_envi(header)


def test_a_braced_key_given_twice_differently_is_refused(tmp_path, cube):
    header = _scene(tmp_path, cube, HEAD + "wavelength = {1, 2, 3, 4, 5, 6}\nwavelength = {\n 1, 2, 3,\n 4, 5, 7}\n")
    with pytest.raises(DataFileError, match=r"'wavelength' is given twice, as '\{1, 2, 3, 4, 5, 6\}' and as "
                                            r"'\{1, 2, 3, 4, 5, 7\}'"):
        open_envi(header)


@pytest.mark.parametrize("twice", [
    "samples = 020\n", "interleave = BIL\ninterleave = bsq\n", "data ignore value = -9999\ndata ignore value = 0\n",
    "byte order = 1\n", "band names = {a, b, c, d, e, f}\nband names = {a, b, c, d, e, g}\n", "bbl = {1, 1, 1, 1, 1, 1}\n"
    "bbl = {1, 1, 0, 1, 1, 1}\n", "reflectance scale factor = 10000\nreflectance scale factor = 1\n",
    "map info = {UTM, 1, 1, 500000, 4000000, 30, 30, 11, North, WGS-84}\n"
    "map info = {UTM, 1, 1, 500000, 4000000, 30, 30, 12, North, WGS-84}\n",
    "fwhm = {10, 10, 10, 10, 10, 10}\nfwhm = {10, 10, 10, 10, 10, 12}\n",
    "coordinate system string = {GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,"
    "298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]}\n"
    "coordinate system string = {GEOGCS[\"GCS_North_American_1983\",DATUM[\"D_North_American_1983\",SPHEROID["
    "\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]}\n"],
    ids=["size", "interleave", "fill", "byte-order", "band-names", "bbl", "scale", "map-info", "fwhm", "crs-wkt"])
def test_a_key_that_decides_the_reading_given_twice_differently_is_refused(tmp_path, cube, twice):
    header = _scene(tmp_path, cube, HEAD + twice)
    with pytest.raises(DataFileError, match=r"' is given twice, as '.*' and as '.*'; keep one"):
        open_envi(header)


@pytest.mark.parametrize("twice,key,read", [
    ("description = {a flight line}\ndescription = {\n  the same line, resampled}\n", None, None),
    ("wavelength units = Nanometers\nwavelength units = nm\n", "wavelength_units", "nm"),
    ("sensor type =\nsensor type = Unknown\n", None, None),
    ("interleave = BSQ\ninterleave = bsq\n", "interleave", "bsq"),
    ("samples = 030\n", None, None),
    ("band names = {a, b, c, d, e, f}\nband  names = {g, h, i, j, k, l}\n", "band_names", list("abcdef")),
    ("data type = 4\nheader offset = 00\nbyte order = 00\nwavelength = {1, 2, 3, 4, 5, 6}\n"
     "wavelength = {1.0, 2.00, 3, 4, 5, 6e0}\n", "wavelengths", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    ("map info = {UTM, 1, 1, 500000, 4000000, 30, 30, 11, North, WGS-84}\n"
     "map info = {utm, 1.0, 1, 500000.0, 4e6, 30, 30, 11, north, wgs-84}\n", "crs", "EPSG:32611")],
    ids=["description", "wavelength-units", "sensor-type", "interleave-case", "leading-zero", "band-names-spacing",
         "numbers-as-written", "map-info-as-written"])
def test_a_key_given_twice_harmlessly_reads_fine(tmp_path, cube, twice, key, read):
    """Keys that do not decide the reading (the last is kept, as spectral keeps it), the same value written two
    ways, and a key spelt with an inner blank (spectral keys ``band  names`` apart from ``band names``)."""
    header = _scene(tmp_path, cube, HEAD + twice)
    X, meta = open_envi(header)
    np.testing.assert_array_equal(X, cube)
    if key is not None:
        assert meta[key] == read


def test_the_same_value_twice_passes(tmp_path, cube):
    header = _scene(tmp_path, cube, HEAD + "samples = 30\nLines  =  20\nwavelength = {1,2, 3, 4, 5, 6}\n"
                                           "; a comment: samples = 99\nwavelength = {1, 2, 3,\n 4, 5, 6}\n")
    X, meta = open_envi(header)
    assert X.shape == (LINES, SAMPLES, BANDS)
    np.testing.assert_array_equal(X, cube)
    assert meta["wavelengths"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


# 2. a NaN or infinite wavelength

@pytest.mark.parametrize("odd", ["nan", "inf", "-inf", "NaN", "1e400"])
def test_a_nan_or_infinite_wavelength_is_said_as_a_word_there_is(tmp_path, cube, odd, capsys):
    header = _scene(tmp_path, cube, HEAD + f"wavelength = {{400, {odd}, 600, 700, 800, 900}}\n")
    scene = had.load_dataset("envi-file", path=str(header))
    assert scene.meta["wavelengths"] is None
    assert (f"note: line.hdr's wavelength holds {odd!r}, not a number, so had records no wavelengths (a model's "
            "bands are then not checked against this file's); correct the header") in scene.meta["reader_notes"]
    code, out, err = run_cli(capsys, "fit", "rx", header, "-o", tmp_path / "m")
    assert code == 0, err
    assert f"wavelength holds {odd!r}, not a number" in out + err


def test_a_single_nan_wavelength_is_said_too(tmp_path):
    save_envi(tmp_path / "one.hdr", np.ones((4, 5, 1), np.float32), "bsq", wavelength="nan")
    text = (tmp_path / "one.hdr").read_text()
    assert "wavelength = nan" in text
    scene = had.load_dataset("envi-file", path=str(tmp_path / "one.hdr"))
    assert scene.meta["wavelengths"] is None and "wavelength holds 'nan'" in scene.meta["reader_notes"][0]


# 3. a float file whose header states the wrong byte order

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("written,stated", [("little", "big"), ("big", "little")])
def test_a_float_file_read_in_the_wrong_byte_order_is_refused_naming_it(tmp_path, cube, capsys, dtype, written,
                                                                       stated):
    save_envi(tmp_path / "line.hdr", cube.astype(dtype), "bsq", written)
    text = (tmp_path / "line.hdr").read_text()
    right, wrong = (f"byte order = {int(order == 'big')}" for order in (written, stated))
    (tmp_path / "line.hdr").write_text(text.replace(right, wrong))
    with pytest.raises(DataFileError) as caught:
        open_envi(tmp_path / "line.hdr")
    said = str(caught.value)
    assert f"{wrong} ({stated}-endian)" in said and f"{written}-endian reads them as ordinary" in said
    assert "byte order is likely wrong" in said and f"write '{right}'" in said
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m")
    line = _only_error(err)
    assert code == 2 and "byte order is likely wrong" in line and "band median" not in line
    assert not (tmp_path / "m").exists()


def test_the_probes_file_is_refused_naming_the_byte_order(tmp_path, cube, capsys):
    header = _scene(tmp_path, cube, HEAD.replace("byte order = 0", "byte order = 1"))
    code, out, err = run_cli(capsys, "fit", "rx", header, "-o", tmp_path / "m")
    line = _only_error(err)
    assert code == 2 and "byte order = 1 (big-endian)" in line and "write 'byte order = 0'" in line


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("values", ["reflectance", "radiance", "zeros", "nan_fill", "tiny_and_huge"])
def test_float_files_in_their_own_byte_order_are_read(tmp_path, cube, order, values):
    """No false alarm: ordinary values, integers stored as floats, all zeros, a NaN fill, a few extreme values."""
    data = {"reflectance": cube, "radiance": np.round(cube * 4000), "zeros": np.zeros_like(cube),
            "nan_fill": np.where(np.arange(LINES)[:, None, None] < 15, np.nan, cube),
            "tiny_and_huge": np.where(np.arange(SAMPLES)[None, :, None] < 3, 1e30, cube)}[values]
    save_envi(tmp_path / "line.hdr", data.astype(np.float32), "bil", order)
    X, meta = open_envi(tmp_path / "line.hdr")
    np.testing.assert_array_equal(X, data.astype(np.float32))
    assert meta["byte_order"] == order


#: float32's lowest, a common fill (GDAL, ArcGIS): it reads NaN byte-swapped
LOWEST = float(np.finfo(np.float32).min)


def _flight_line(values: str, fill: float) -> np.ndarray:
    """An orthorectified flight line, 200 lines x 1500 samples x 8 bands of float32: reflectance in [0, 1) or
    radiance in whole numbers to 10000 on a slanted strip, its corners (80% of the scene) `fill`."""
    rng = np.random.default_rng(3)
    data = rng.random((200, 1500, 8)) if values == "reflectance" else np.round(rng.random((200, 1500, 8)) * 10000)
    row, col = np.mgrid[:200, :1500]
    corners = (col < (199 - row) * 6) | (col > 1499 - row * 6)
    return np.where(corners[..., None], fill, data).astype(np.float32)


@pytest.mark.parametrize("declared", [False, True], ids=["fill-undeclared", "fill-declared"])
@pytest.mark.parametrize("order", ["little", "big"])
def test_a_flight_line_whose_corners_are_float32s_lowest_is_read(tmp_path, declared, order):
    """Was refused as written in the other byte order: the five places sampled (band starts of a BSQ file of 8
    bands, and its end) all fell in the fill corners, whose -3.4028235e38 counted as absurd while its swapped
    reading (NaN) counted as nothing."""
    data = _flight_line("reflectance", LOWEST)
    fields = {"data_ignore_value": "-3.4028235e38"} if declared else {}
    save_envi(tmp_path / "line.hdr", data, "bsq", order, **fields)
    X, meta = open_envi(tmp_path / "line.hdr")
    assert X.shape == (200, 1500, 8) and meta["byte_order"] == order
    np.testing.assert_array_equal(X, data)


def test_a_file_sampled_all_in_fill_is_not_judged(tmp_path):
    """A sample of fill alone (whatever its value) tells nothing of the byte order: read as the header says."""
    data = np.full((LINES, SAMPLES, BANDS), 1e30, np.float32)  # 1e30 reads absurd, byte-swapped ordinary
    save_envi(tmp_path / "line.hdr", data, "bsq", "little")
    X, _ = open_envi(tmp_path / "line.hdr")
    np.testing.assert_array_equal(X, data)


@pytest.mark.parametrize("values,fill,declared", [("reflectance", LOWEST, False), ("reflectance", LOWEST, True),
                                                  ("radiance", -9999.0, True), ("radiance", np.nan, False)],
                         ids=["reflectance-lowest", "reflectance-lowest-declared", "radiance-9999", "radiance-nan"])
def test_a_swapped_flight_line_with_fill_is_still_refused_naming_the_fix(tmp_path, values, fill, declared):
    data = _flight_line(values, fill)
    fields = {"data_ignore_value": str(fill)} if declared else {}
    save_envi(tmp_path / "line.hdr", data, "bsq", "big", **fields)
    text = (tmp_path / "line.hdr").read_text()
    (tmp_path / "line.hdr").write_text(text.replace("byte order = 1", "byte order = 0"))
    with pytest.raises(DataFileError) as caught:
        open_envi(tmp_path / "line.hdr")
    said = str(caught.value)
    assert "byte order = 0 (little-endian)" in said and "big-endian reads them as ordinary" in said
    assert "byte order is likely wrong" in said and "write 'byte order = 1'" in said


def test_an_integer_file_is_not_judged(tmp_path):
    """Integers have no tell (no infinity, no exponent): read as the header says, as before."""
    data = np.random.default_rng(1).integers(0, 4000, size=(LINES, SAMPLES, BANDS)).astype(np.int16)
    save_envi(tmp_path / "line.hdr", data, "bsq", "little")
    text = (tmp_path / "line.hdr").read_text()
    (tmp_path / "line.hdr").write_text(text.replace("byte order = 0", "byte order = 1"))
    X, _ = open_envi(tmp_path / "line.hdr")
    np.testing.assert_array_equal(X, data.byteswap())


# 4. an integer file whose header states the wrong byte order (was read unsaid: the fit ran on noise)

def _smooth_integers(dtype: str, lines: int = 40, samples: int = 50, bands: int = 12) -> np.ndarray:
    """A sensor-like integer cube: smooth in rows, columns and bands (values 500 to 9500), a little noise."""
    row, col, band = np.meshgrid(np.arange(lines), np.arange(samples), np.arange(bands), indexing="ij")
    field = 3000 + 1500 * np.sin(row / 7) + 1200 * np.cos(col / 11)
    values = field * (1 + 0.4 * np.sin(band / 4)) + np.random.default_rng(5).normal(0, 20, row.shape)
    return np.round(values).astype(dtype)


@pytest.mark.parametrize("dtype", ["int16", "uint16", "int32"])
@pytest.mark.parametrize("interleave", ["bip", "bil", "bsq"])
def test_an_integer_file_read_in_the_wrong_byte_order_is_refused_naming_it(tmp_path, capsys, dtype, interleave):
    cube = _smooth_integers(dtype)
    save_envi(tmp_path / "line.hdr", cube, interleave, "little")
    X, _ = open_envi(tmp_path / "line.hdr")  # in its own order: read as written
    np.testing.assert_array_equal(X, cube)
    text = (tmp_path / "line.hdr").read_text()
    (tmp_path / "line.hdr").write_text(text.replace("byte order = 0", "byte order = 1"))
    with pytest.raises(DataFileError) as caught:
        open_envi(tmp_path / "line.hdr")
    said = str(caught.value)
    assert f"byte order = 1 (big-endian) reads line.img's {dtype} values as noise" in said
    assert "byte order is likely wrong; write 'byte order = 0'" in said
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m")
    line = _only_error(err)
    assert code == 2 and "byte order is likely wrong" in line
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("values", ["noise", "below_256", "fill_corners", "constant"])
@pytest.mark.parametrize("order", ["little", "big"])
def test_integer_files_with_no_tell_or_in_their_own_order_are_read(tmp_path, values, order):
    """No false alarm: noise reads as noise in either order (no tell: read as stated), values below 256 read the
    same shape swapped, a declared -9999 fill over most windows, a constant file."""
    cube = _smooth_integers("int16")
    data = {"noise": np.random.default_rng(2).integers(0, 10000, cube.shape).astype(np.int16),
            "below_256": (cube // 40).astype(np.int16),
            "fill_corners": np.where(np.arange(50)[None, :, None] < 35, -9999, cube).astype(np.int16),
            "constant": np.full(cube.shape, 1234, dtype=np.int16)}[values]
    save_envi(tmp_path / "line.hdr", data, "bsq", order, data_ignore_value=-9999)
    X, meta = open_envi(tmp_path / "line.hdr")
    np.testing.assert_array_equal(X, data)
    if values in ("noise", "below_256"):  # the header stating the other order: no tell, read as stated
        text = (tmp_path / "line.hdr").read_text()
        flip = ("byte order = 0", "byte order = 1") if order == "little" else ("byte order = 1", "byte order = 0")
        (tmp_path / "line.hdr").write_text(text.replace(*flip))
        X, _ = open_envi(tmp_path / "line.hdr")
        assert X.shape == data.shape
