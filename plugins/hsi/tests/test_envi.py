"""``envi-file``: ENVI scenes in every interleave, data type and byte order, memory-mapped, with wavelengths and
georeferencing (checked against GDAL's ENVI driver through rasterio), and the typed errors of bad files."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import DataFileError
from had_hsi.envi import georeference, open_envi, save_envi

UTM = ["UTM", 1.0, 1.0, 500000.0, 4000000.0, 30.0, 30.0, 11, "North", "WGS-84", "units=Meters"]


@pytest.fixture
def cube():
    rng = np.random.default_rng(3)
    return rng.integers(0, 4000, size=(9, 7, 5)).astype(np.int16)  # non-square, integer like AVIRIS radiance


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("dtype,byte_order", [("int16", "big"), ("float32", "little"), ("uint16", "little"),
                                              ("float64", "big")])
def test_every_layout_reads_back_the_cube(tmp_path, cube, interleave, dtype, byte_order):
    save_envi(tmp_path / "line.hdr", cube.astype(dtype), interleave, byte_order, wavelength=[450, 550, 650, 750, 850])
    data = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))
    assert isinstance(data.X, np.memmap) and data.X.shape == (9, 7, 5)
    np.testing.assert_array_equal(np.asarray(data.X, dtype=np.float64), cube.astype(np.float64))
    assert data.meta["interleave"] == interleave and data.meta["byte_order"] == byte_order
    assert data.meta["data_type"] == dtype and data.meta["wavelengths"] == [450.0, 550.0, 650.0, 750.0, 850.0]
    assert data.name == "line" and data.meta["transform"] is None
    fitted = had.get_detector("rx").fit(data.X)  # tile by tile from the map, any byte order
    expected = had.get_detector("rx").fit(cube.astype(np.float64))
    np.testing.assert_allclose(fitted.decision_scores_, expected.decision_scores_, rtol=1e-9)


@pytest.mark.parametrize("suffix", [".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ""])
def test_data_file_suffixes_and_the_data_path_itself(tmp_path, cube, suffix):
    data_file = save_envi(tmp_path / "scene.hdr", cube, "bil", data_suffix=suffix)
    for path in (tmp_path / "scene.hdr", data_file):
        X, meta = open_envi(path)
        np.testing.assert_array_equal(X, cube)
        assert meta["data_file"] == str(data_file)


def test_map_info_and_crs_agree_with_gdal(tmp_path, cube):
    rasterio = pytest.importorskip("rasterio")
    rotated = ["UTM", 2.0, 3.0, 500000.0, 4000000.0, 30.0, 20.0, 11, "South", "WGS-84", "units=Meters", "rotation=30"]
    for name, info in (("north", UTM), ("rotated", rotated)):
        data_file = save_envi(tmp_path / f"{name}.hdr", cube.astype(np.float32), "bil", map_info=info)
        _, meta = open_envi(data_file)
        with rasterio.open(data_file) as gdal:
            np.testing.assert_allclose(meta["transform"], list(gdal.transform)[:6], rtol=1e-12)
            assert rasterio.crs.CRS.from_user_input(meta["crs"]) == gdal.crs
    assert georeference({"map info": UTM})[1] == "EPSG:32611"
    assert georeference({"map info": ["Geographic Lat/Lon", 1, 1, -120.5, 38.2, 1e-4, 1e-4, "WGS-84"]}) == (
        [1e-4, 0.0, -120.5, 0.0, -1e-4, 38.2], "EPSG:4326")
    wkt = 'PROJCS["x", GEOGCS["WGS 84"]]'
    assert georeference({"map info": UTM, "coordinate system string": wkt})[1] == wkt
    assert georeference({}) == (None, None)


ALBERS = ('PROJCS["NAD83 / Conus Albers",GEOGCS["NAD83",DATUM["North_American_Datum_1983",SPHEROID["GRS 1980",'
          '6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
          'PROJECTION["Albers_Conic_Equal_Area"],PARAMETER["latitude_of_center",23],PARAMETER["longitude_of_center",'
          '-96],PARAMETER["standard_parallel_1",29.5],PARAMETER["standard_parallel_2",45.5],'
          'PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1]]')


def test_a_coordinate_system_string_is_the_crs_gdal_reads(tmp_path, cube):
    """ENVI writes the WKT as ``coordinate system string = {PROJCS[...]}``; spectral splits a braced value at its
    commas, and had joined the parts with blanks, a WKT no parser reads: ``had score ... -o map.tif`` failed with
    rasterio's CRSError traceback."""
    rasterio = pytest.importorskip("rasterio")
    info = ["Albers Conical Equal Area", 1, 1, 100000.0, 200000.0, 5.0, 5.0, "North American 1983", "units=Meters"]
    data_file = save_envi(tmp_path / "albers.hdr", cube.astype(np.float32), "bil", map_info=info,
                          coordinate_system_string=[ALBERS])
    _, meta = open_envi(data_file)
    with rasterio.open(data_file) as gdal:
        assert rasterio.crs.CRS.from_user_input(meta["crs"]) == gdal.crs
    assert rasterio.crs.CRS.from_user_input(meta["crs"]).to_epsg() == 5070


def test_envi_paths_are_claimed_for_the_cli(tmp_path, cube):
    from had.scenefiles import open_scene, source_for_path

    data_file = save_envi(tmp_path / "line.hdr", cube, "bip")
    assert source_for_path(tmp_path / "line.hdr") == "envi-file" == source_for_path(data_file)
    assert source_for_path(tmp_path / "other.npz") is None
    # a file of another kind that only shares the header's stem is its own reader's (was: claimed, then "line.hdr
    # is not an ENVI header", or the ENVI cube read in place of the .npy the user named)
    for name in ("line.npy", "line.csv", "line.tif"):
        (tmp_path / name).write_bytes(b"")
        assert source_for_path(tmp_path / name) != "envi-file", name
    np.save(tmp_path / "line.npy", np.zeros((4, 3)))
    assert open_scene(str(tmp_path / "line.npy")).X.shape == (4, 3)
    # ENVI's own NAME.hdr naming, for any data suffix
    (tmp_path / "line.hyspex").write_bytes(data_file.read_bytes())
    (tmp_path / "line.hyspex.hdr").write_text((tmp_path / "line.hdr").read_text())
    assert source_for_path(tmp_path / "line.hyspex") == "envi-file"
    np.testing.assert_array_equal(open_scene(str(tmp_path / "line.hyspex")).X, cube)
    scene = open_scene(str(tmp_path / "line.hdr"))
    assert isinstance(scene.X, np.memmap) and scene.X.shape == (9, 7, 5) and scene.name == "line"


def _header(tmp_path, **changes):
    save_envi(tmp_path / "bad.hdr", np.zeros((4, 3, 2), dtype=np.float32), "bil")
    text = (tmp_path / "bad.hdr").read_text()
    for key, value in changes.items():
        key = key.replace("_", " ")
        line = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
        text = text.replace(line + "\n", "" if value is None else f"{key} = {value}\n")
    (tmp_path / "bad.hdr").write_text(text)
    return tmp_path / "bad.hdr"


@pytest.mark.parametrize("changes,message", [
    ({"bands": None}, r"lacks bands; add e.g. 'bands = 100'"),
    ({"interleave": "bsl"}, r"unknown interleave 'bsl'; ENVI files are bsq, bil or bip"),
    ({"data_type": 6}, r"data type '6' is not a real-number ENVI type"),
    ({"lines": 5}, r"bad.img is truncated: 96 bytes where the header needs 120 \(5 lines x 3 samples x 2 bands of "
                   r"float32, 4 bytes each\); copy the whole file again, or, if the file is whole, correct the "
                   r"header's sizes, data type or header offset"),
    ({"data_type": 5}, r"bands of float64, 8 bytes each\); .*correct the header's sizes, data type"),  # int16 read
    # as float64 was "copy the whole file again" alone, for a whole file (an audit's wrong data type)
    ({"samples": "abc"}, r"samples = 'abc' is not a whole number of at least 1; correct the header"),  # was a traceback
    ({"lines": -5}, r"lines = '-5' is not a whole number of at least 1"),  # was "axes don't match array"
    ({"bands": 0}, r"bands = '0' is not a whole number of at least 1"),
    ({"header_offset": -1}, r"header offset = '-1' is not a whole number of at least 0"),
    ({"byte_order": 7}, r"byte order = 7 is neither 0 \(little-endian\) nor 1 \(big-endian\)"),  # was read swapped
])
def test_bad_headers_get_one_typed_line(tmp_path, changes, message):
    with pytest.raises(DataFileError, match=message) as info:
        had.load_dataset("envi-file", path=str(_header(tmp_path, **changes)))
    assert "\n" not in str(info.value)


def test_fields_that_only_decorate_the_scene_are_dropped_when_unreadable(tmp_path, cube):
    """`default bands` and `map info` pick a quicklook's colours and place the map: a header written by hand with a
    typo there still reads (they were a ValueError traceback)."""
    save_envi(tmp_path / "deco.hdr", cube, "bil", default_bands=["x", 9],
              map_info=["UTM", 1, 1, 500000, 4000000, 30, 30, "zz", "North", "WGS-84"])
    scene = had.load_dataset("envi-file", path=str(tmp_path / "deco.hdr"))
    np.testing.assert_array_equal(np.asarray(scene.X), cube)
    assert scene.meta["default_bands"] is None and scene.meta["crs"] is None
    assert scene.meta["transform"] == [30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0]
    save_envi(tmp_path / "rot.hdr", cube, "bil", default_bands=[3, 2, 1],
              map_info=["UTM", 1, 1, 500000, 4000000, 30, 30, 11, "North", "WGS-84", "rotation=abc"])
    scene = had.load_dataset("envi-file", path=str(tmp_path / "rot.hdr"))
    assert scene.meta["default_bands"] == [2, 1, 0] and scene.meta["transform"] is None
    save_envi(tmp_path / "out.hdr", cube, "bil", default_bands=[1, 2, 6])  # 5 bands: band 6 is not there
    assert had.load_dataset("envi-file", path=str(tmp_path / "out.hdr")).meta["default_bands"] is None


def test_an_unreadable_map_info_is_said_at_fit_too(tmp_path, cube, capsys):
    """`had fit` on a header whose map info cannot be read said nothing; only `had score` did, once its maps had
    come out without a place (an audit of flight lines). A readable one gets no such note."""
    from had_sdk.testing import run_cli

    save_envi(tmp_path / "typo.hdr", cube, "bil", map_info=["UTM", 1, 1, "abc"])
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "typo.hdr", "-o", tmp_path / "m")
    assert code == 0, err
    assert "note: typo: not georeferenced: the input's map info {UTM, 1, 1, abc} cannot be read" in out + err
    save_envi(tmp_path / "utm.hdr", cube, "bil", map_info=UTM)
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "utm.hdr", "-o", tmp_path / "m2")
    assert code == 0 and "georeferenced" not in out + err, out + err


def test_an_unreadable_map_info_or_projection_is_said_where_the_map_is_written(tmp_path, cube):
    """A map info that cannot be read is dropped when the file is read (above), but the GeoTIFF written from the
    scene said "the input has no map transform", and one whose projection had cannot name was "georeferenced"
    without a CRS: each is now said as it is."""
    from had.scenefiles import georeferencing

    save_envi(tmp_path / "typo.hdr", cube, "bil", map_info=["UTM", 1, 1, "abc"])
    meta = had.load_dataset("envi-file", path=str(tmp_path / "typo.hdr")).meta
    assert meta["transform"] is None
    assert georeferencing(meta) == ("not georeferenced: the input's map info {UTM, 1, 1, abc} cannot be read "
                                    "(projection, reference pixel, easting, northing, pixel sizes); correct it in "
                                    "the header")
    save_envi(tmp_path / "zone.hdr", cube, "bil", map_info=["UTM", 1, 1, 500000, 4000000, 30, 30, "zz", "North",
                                                            "WGS-84"])
    meta = had.load_dataset("envi-file", path=str(tmp_path / "zone.hdr")).meta
    assert meta["transform"] is not None and meta["crs"] is None
    assert georeferencing(meta).startswith("placed by the input's map info, without a CRS")
    save_envi(tmp_path / "utm.hdr", cube, "bil", map_info=UTM)
    assert georeferencing(had.load_dataset("envi-file", path=str(tmp_path / "utm.hdr")).meta) == "georeferenced"
    save_envi(tmp_path / "plain.hdr", cube, "bil")
    assert georeferencing(had.load_dataset("envi-file", path=str(tmp_path / "plain.hdr")).meta) == (
        "not georeferenced: the input has no map transform")
    assert georeferencing({"transform": [1.0, 0.0, 0.0, 0.0, -1.0, 0.0], "crs": None}) == (
        "placed by the input's transform, without a CRS: the input has none")


def test_a_data_ignore_value_that_is_not_a_number_is_refused(tmp_path, cube):
    """It decides which pixels are fitted: dropped as a decoration was, the fill was fitted as data in silence."""
    save_envi(tmp_path / "line.hdr", cube, "bil", data_ignore_value="abc")
    with pytest.raises(DataFileError, match=r"line.hdr: data ignore value = 'abc' is not a number; correct the "
                                            r"header \(for example 'data ignore value = -9999'\) or remove the line"):
        had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))


def _cli(capfd, *args):
    """``had ARGS`` in this process through the CLI's entry point, its exit code and what it wrote to stdout and
    stderr read at the file descriptors (a library's C-level warning included): a subprocess per command cost an
    interpreter and the plugins' imports each, and tested nothing more."""
    from types import SimpleNamespace

    from had_sdk.testing import run_cli

    code, out, err = run_cli(capfd, *args)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def test_a_data_file_longer_than_the_header_needs_is_read_with_a_note(tmp_path, cube, capfd):
    """A header whose data type or sizes are not the file's (float32 written, float64 in the file) reads garbage
    that fits and scores like data; extra bytes are now said by had fit and had score."""

    data = save_envi(tmp_path / "line.hdr", cube.astype(np.float32), "bil")
    data.write_bytes(data.read_bytes() * 2)  # as if the file held float64 pixels under a float32 header
    scene = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))
    np.testing.assert_array_equal(np.asarray(scene.X), cube.astype(np.float32))  # read as the header says
    note = ("note: line.img holds 1,260 bytes more than the header's 9 lines x 7 samples x 5 bands of float32 need "
            "(1,260); had reads those and leaves the rest: if the header's sizes or data type are not the file's, "
            "correct them")
    assert scene.meta["reader_notes"] == [note]
    for args in (("fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m"),
                 ("score", tmp_path / "m", tmp_path / "line.hdr", "-o", tmp_path / "map.npy")):
        out = _cli(capfd, *args)
        assert out.returncode == 0 and note in out.stdout, out.stdout + out.stderr
    save_envi(tmp_path / "exact.hdr", cube, "bil")
    assert "reader_notes" not in had.load_dataset("envi-file", path=str(tmp_path / "exact.hdr")).meta


def test_truncated_copy_missing_data_and_not_envi(tmp_path, cube):
    data_file = save_envi(tmp_path / "line.hdr", cube, "bil")
    data_file.write_bytes(data_file.read_bytes()[:-10])
    with pytest.raises(DataFileError, match="truncated: 620 bytes where the header needs 630"):
        open_envi(tmp_path / "line.hdr")
    data_file.unlink()
    with pytest.raises(DataFileError, match=r"no data file beside the header \(tried line.img"):
        open_envi(tmp_path / "line.hdr")
    (tmp_path / "notes.hdr").write_text("samples = 3\n")
    with pytest.raises(DataFileError, match="is not an ENVI header"):
        open_envi(tmp_path / "notes.hdr")


@pytest.mark.parametrize("change", ["cp1252", "bom", "bom+cp1252"])
def test_headers_from_windows_are_read(tmp_path, cube, change):
    """A header written by ENVI on Windows in cp1252 (``wavelength units = µm``, a description ``Café``), or
    saved by Notepad with a UTF-8 byte-order mark, was "not an ENVI header (its first line must be 'ENVI')":
    spectral reads headers as the locale's text. Read as they were meant, and binary junk is still refused."""
    save_envi(tmp_path / "line.hdr", cube, "bil", wavelength=[0.45, 0.55, 0.65, 0.75, 0.85])
    text = (tmp_path / "line.hdr").read_bytes().replace(
        b"ENVI\n", b"ENVI\ndescription = {Caf\xe9 survey}\nwavelength units = \xb5m\n", 1)
    if change == "bom":
        text = b"\xef\xbb\xbf" + text.decode("cp1252").encode("utf-8")
    elif change == "bom+cp1252":
        text = b"\xef\xbb\xbf" + text
    (tmp_path / "line.hdr").write_bytes(text)
    X, meta = open_envi(tmp_path / "line.hdr")
    np.testing.assert_array_equal(X, cube)
    assert meta["wavelengths"] == [0.45, 0.55, 0.65, 0.75, 0.85]
    assert not list(tmp_path.glob("had-envi-*"))  # the UTF-8 copy was temporary (and not beside the file)
    (tmp_path / "junk.hdr").write_bytes(b"\x00\xff\xfe binary" * 10)
    with pytest.raises(DataFileError, match="is not an ENVI header"):
        open_envi(tmp_path / "junk.hdr")


def test_flight_line_fit_and_score_from_the_cli(tmp_path, capfd):
    """``had fit rx line.hdr -o m`` then ``had score m line.hdr -o map.tif --png q.png``: a georeferenced map."""

    rasterio = pytest.importorskip("rasterio")
    rng = np.random.default_rng(11)
    X = (rng.normal(size=(40, 33, 8)) @ rng.normal(size=(8, 8)) + 100.0).astype(np.float32)
    X[20, 9] += 12.0
    save_envi(tmp_path / "line.hdr", X, "bil", map_info=UTM, wavelength=list(range(450, 2050, 200)))

    def had_cli(*args, code=0):  # in this process, stdout and stderr read at the file descriptors (capfd)
        out = _cli(capfd, *args)
        assert out.returncode == code, out.stdout + out.stderr
        return out

    had_cli("fit", "rx", str(tmp_path / "line.hdr"), "-o", str(tmp_path / "m"), "--export")
    for engine in ("eager", "onnx"):
        out = had_cli("score", str(tmp_path / "m"), str(tmp_path / "line.hdr"), "-o", str(tmp_path / f"{engine}.tif"),
                      "--png", str(tmp_path / "q.png"), "--engine", engine, "--overwrite")  # the second: q.png again
        assert "tile by tile" in out.stdout and "(georeferenced)" in out.stdout
    expected = had.get_detector("rx").fit(X).decision_scores_.reshape(40, 33)
    with rasterio.open(tmp_path / "eager.tif") as eager, rasterio.open(tmp_path / "onnx.tif") as onnx:
        assert list(eager.transform)[:6] == [30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0]
        assert eager.crs.to_epsg() == 32611 == onnx.crs.to_epsg()
        np.testing.assert_allclose(eager.read(1), expected, rtol=1e-9)
        assert np.max(np.abs(onnx.read(1) - expected)) / expected.max() < 1e-4
    assert (tmp_path / "q.png").stat().st_size > 5000
    save_envi(tmp_path / "plain.hdr", X, "bil")  # no map info: a plain map, said in had's words, no library warning
    plain = had_cli("score", str(tmp_path / "m"), str(tmp_path / "plain.hdr"), "-o", str(tmp_path / "plain.tif"),
                    "--png", str(tmp_path / "plain.png"))  # the quicklook reads the written map back: quietly too
    assert "(not georeferenced: the input has no map transform)" in plain.stdout and "Warning" not in plain.stderr
    (tmp_path / "line.img").write_bytes(b"\0" * 100)
    bad = had_cli("score", str(tmp_path / "m"), str(tmp_path / "line.hdr"), "-o", str(tmp_path / "x.tif"), code=2)
    assert bad.stderr.startswith("error: ") and "is truncated" in bad.stderr and bad.stderr.count("\n") == 1
    assert not (tmp_path / "x.tif").exists()


def test_a_data_ignore_value_is_masked_by_rx_fit_and_score(tmp_path, capfd):
    """An AVIRIS-like line (int16, BIL) whose pixels outside a slanted footprint hold the header's ``data ignore
    value`` in every band: ``had fit rx line.hdr`` fits the footprint alone, ``had score`` maps the fill as NaN."""

    rows, cols = np.mgrid[:30, :20]
    inside = (cols + 0.5 * rows > 4) & (cols + 0.5 * rows < 26)
    cube = np.random.default_rng(5).integers(900, 1100, size=(30, 20, 6)).astype(np.int16)
    cube[~inside] = -50
    save_envi(tmp_path / "line.hdr", cube, "bil", data_ignore_value=-50)
    assert open_envi(tmp_path / "line.hdr")[1]["data_ignore_value"] == -50.0

    def run(*args):
        out = _cli(capfd, *args)
        assert out.returncode == 0, out.stderr
        return out.stdout

    said = run("fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m")
    assert f"masked the no-data value -50 of line: {(~inside).sum():,} pixels" in said
    fitted = had.load(tmp_path / "m")
    alone = had.get_detector("rx").fit(cube[inside].astype(np.float64))
    np.testing.assert_allclose(fitted.mean_, alone.mean_, rtol=1e-12)
    run("score", tmp_path / "m", tmp_path / "line.hdr", "-o", tmp_path / "map.npy")
    amap = np.load(tmp_path / "map.npy")
    assert np.isnan(amap[~inside]).all()
    np.testing.assert_allclose(amap[inside], alone.decision_function(cube[inside].astype(np.float64)), rtol=1e-9)


def test_a_flight_line_with_its_target_mask_is_measured_by_fit_score_and_bench(tmp_path, capfd):
    """The targets of a flight line drawn as a mask of their own (a single-band GeoTIFF, an ENVI classification
    image, a .npy): ``--data map_path=MASK`` gives ``had fit`` its metrics on the fit data, ``had score`` (tile by
    tile, to a map) AUROC and AUC(Pf, tau) of the map, and ``had bench`` a labelled scene. Before, an ENVI or
    GeoTIFF scene had no truth at all: the bench refused it and the scores could not be measured."""
    import json

    from had.metrics import auroc

    rng = np.random.default_rng(3)
    cube = rng.normal(100.0, 5.0, size=(40, 50, 8)).astype(np.float32)
    truth = np.zeros((40, 50), dtype=np.uint8)
    truth[10:12, 20:23] = 1
    truth[30, 7] = 2  # a second class of target: anomaly where > 0
    cube[truth > 0] += rng.normal(0.0, 12.0, size=(7, 8)).astype(np.float32)
    save_envi(tmp_path / "line.hdr", cube, "bil")
    save_envi(tmp_path / "targets.hdr", truth[..., None], "bsq")  # an ENVI classification image
    np.save(tmp_path / "targets.npy", truth)
    expected = auroc((truth > 0).reshape(-1), had.get_detector("rx").fit(cube.astype(np.float64)).decision_scores_)
    assert 0.9 < expected < 1.0

    def run(*args, code=0):
        out = _cli(capfd, *args)
        assert out.returncode == code, out.stderr
        return out.stdout + out.stderr

    said = run("fit", "rx", tmp_path / "line.hdr", "--data", f"map_path={tmp_path / 'targets.hdr'}", "-o", tmp_path / "m")
    assert f"auroc_on_fit_data {expected:.4f}" in said
    said = run("score", tmp_path / "m", tmp_path / "line.hdr", "--data", f"map_path={tmp_path / 'targets.npy'}",
               "-o", tmp_path / "map.tif", "--json")
    summary = json.JSONDecoder().raw_decode(said[said.index("{"):])[0]
    assert summary["metrics"]["auroc"] == pytest.approx(expected, abs=1e-6)  # the map (float32 GeoTIFF) read back
    assert run("score", tmp_path / "m", tmp_path / "line.hdr", "--json").count('"metrics": {}') == 1  # no map: none
    out = tmp_path / "grid"
    run("bench", "--detectors", "rx", "--datasets", tmp_path / "line.hdr", "--data",
        f"{tmp_path / 'line.hdr'}.map_path={tmp_path / 'targets.npy'}", "--no-plots", "--out", out)
    assert f"{expected:.4f}" in (out / "results.md").read_text()
    said = run("bench", "--detectors", "rx", "--datasets", tmp_path / "line.hdr", "--no-plots", code=1)
    assert f"give its map with --data {tmp_path / 'line.hdr'}.map_path=MASK" in said
    said = run("fit", "rx", tmp_path / "line.hdr", "--data", f"map_path={tmp_path / 'line.hdr'}", "-o", tmp_path / "m2",
               code=2)
    assert "a ground truth map is one band (H, W); this file holds an array of shape (40, 50, 8)" in said
    np.save(tmp_path / "wrong.npy", truth.T)
    said = run("fit", "rx", tmp_path / "line.hdr", "--data", f"map_path={tmp_path / 'wrong.npy'}", "-o", tmp_path / "m3",
               code=2)
    assert "the ground truth map has shape (50, 40) but the cube is 40x50 (is it transposed?)" in said
    assert not (tmp_path / "m2").exists() and not (tmp_path / "m3").exists()


def test_the_bad_band_list_is_read_and_said(tmp_path, cube, capfd):
    """An AVIRIS-type header's ``bbl`` (1 good, 0 bad) is read into ``meta["bad_bands"]`` (0-based) and said by
    ``had fit`` and ``had score``: had uses every band, and a user who expected ENVI's own tools' behaviour learns
    it. Before, the field was read by spectral and dropped without a word."""
    from had.scenefiles import view_note

    bands = cube.shape[-1]
    flags = [1] * bands
    flags[1] = flags[2] = flags[-1] = 0
    save_envi(tmp_path / "line.hdr", cube, "bil", bbl=flags)
    meta = open_envi(tmp_path / "line.hdr")[1]
    assert meta["bad_bands"] == [1, 2, bands - 1]
    assert view_note("line", meta) == (
        f"note: line's header marks bands 2-3, {bands} bad (bbl: water absorption, dead detectors); had uses every "
        "band: to leave them out, add --data bands=good (and score with it too)")
    for other in ([1] * bands, [1] * (bands - 1), ["x"] * bands):  # none bad; not one per band; not numbers
        save_envi(tmp_path / "o.hdr", cube, "bil", bbl=other)
        assert open_envi(tmp_path / "o.hdr")[1]["bad_bands"] is None
    assert view_note("o", {"bad_bands": None}) is None
    for args in (("fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m"),  # the CLI: one line at fit and score
                 ("score", tmp_path / "m", tmp_path / "line.hdr", "-o", tmp_path / "map.npy")):
        done = _cli(capfd, *args)
        assert done.returncode == 0, done.stderr
        assert "note: line's header marks bands 2-3" in done.stdout


def test_a_bench_on_a_flight_line_leaves_its_fill_out(tmp_path):
    """``had bench`` on a labelled flight line whose fill holds the header's data ignore value: RX masks it as
    ``had fit`` does (its row equals RX fitted on the footprint alone), and no detector's metrics count the fill
    pixels (NaN scores are left out; a detector that does not mask has its fill scores set aside too). Before,
    the bench fitted RX on the fill and measured every detector on it."""
    from had import bench
    from had.metrics import auc_pf_tau, auroc

    rng = np.random.default_rng(8)
    cube = rng.normal(100.0, 5.0, size=(40, 50, 6)).astype(np.float32)
    truth = np.zeros((40, 50), dtype=np.uint8)
    truth[20:22, 30:32] = 1
    cube[truth > 0] += 25.0
    rows, cols = np.mgrid[:40, :50]
    inside = (cols + 0.5 * rows > 12) & (cols + 0.5 * rows < 60)
    cube[~inside] = -50
    save_envi(tmp_path / "line.hdr", cube, "bil", data_ignore_value=-50)
    np.save(tmp_path / "t.npy", truth)
    line = str(tmp_path / "line.hdr")
    result = bench.run(["rx", "pyod-iforest"], [line], [0], plots=False, metrics=["auroc", "auc_pf_tau"],
                       dataset_config={line: {"map_path": str(tmp_path / "t.npy")}})
    rows_by = {row["detector"]: row for row in result.rows}
    alone = had.get_detector("rx").fit(cube[inside].astype(np.float64))
    scores = alone.decision_function(cube[inside].astype(np.float64))
    assert rows_by["rx"]["auroc"] == pytest.approx(auroc(truth[inside], scores), abs=1e-9)
    assert rows_by["rx"]["auc_pf_tau"] == pytest.approx(auc_pf_tau(truth[inside], scores), abs=1e-9)
    assert np.isfinite(rows_by["pyod-iforest"]["auroc"]) and not rows_by["pyod-iforest"].get("error")


def test_bands_good_leaves_the_bad_bands_out_at_fit_and_at_score(tmp_path, cube, capfd):
    """An AVIRIS-type line whose bad bands (``bbl``) hold NaN could not be fitted at all; the error now names the
    band and the header's bad bands with the way out (``--data bands=good``). With it RX fits the other bands
    tile by tile from the memory map (it equals RX on them), the model records which bands of how many, and
    ``had score`` reads a line of the same sensor with the same bands without being told, and says so."""
    from had.rx import RX

    line = cube.astype(np.float32)
    line[..., 2] = np.nan  # a bad band: no signal
    save_envi(tmp_path / "line.hdr", line, "bil", bbl=[1, 1, 0, 1, 1], wavelength=[450, 550, 650, 750, 850])

    def run(*args, code=0):
        done = _cli(capfd, *args)
        assert done.returncode == code, done.stderr
        return done.stdout + done.stderr

    said = run("fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m", code=2)
    assert "(in band 3)" in said and "line's header marks band 3 bad (bbl): --data bands=good leaves them out" in said
    assert not (tmp_path / "m").exists()
    said = run("fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "m", "--data", "bands=good")
    assert "line: using 4 bands (bands 1-2, 4-5 of the file)" in said
    kept = np.ascontiguousarray(line[..., [0, 1, 3, 4]])
    fitted, alone = had.load(tmp_path / "m"), RX().fit(kept)
    np.testing.assert_allclose(fitted.decision_scores_, alone.decision_scores_, rtol=1e-9)
    assert fitted.input_spec_["data_view"] == {"bands": "1-2,4-5", "of": 5}
    import json

    summary = json.loads(_cli(capfd, "fit", "rx", tmp_path / "line.hdr", "-o", tmp_path / "mj", "--data", "bands=good",
                              "--json").stdout)
    assert summary["data_view"] == {"bands": "1-2,4-5", "of": 5} and summary["notes"] == []
    said = run("score", tmp_path / "m", tmp_path / "line.hdr", "-o", tmp_path / "map.npy", "--png", tmp_path / "q.png")
    assert "line: read as the model's scene was at fit: bands=1-2,4-5" in said
    np.testing.assert_allclose(np.load(tmp_path / "map.npy"), alone.decision_function(kept), rtol=1e-9)
    said = run("score", tmp_path / "m", tmp_path / "line.hdr", "-o", tmp_path / "map2.npy", "--data", "bands=1-2",
               code=2)  # the user's own setting is theirs: a mismatch is said, not overridden
    assert "fitted on 4 bands, got 2" in said
    save_envi(tmp_path / "wide.hdr", np.ones((9, 7, 6), np.float32), "bil")  # another sensor: not the model's bands
    said = run("score", tmp_path / "m", tmp_path / "wide.hdr", "-o", tmp_path / "map3.npy", code=2)
    assert ("note: the model was fitted on bands 1-2,4-5 of a file of 5 bands; "
            f"{tmp_path / 'wide.hdr'} has 6, so had reads it as given") in said
    assert "fitted on 4 bands, got 6" in said
    data = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"), bands="good")  # the Python API
    assert data.X.shape == (9, 7, 4) and data.meta["wavelengths"] == [450.0, 550.0, 750.0, 850.0]
    assert not data.meta["bad_bands"]


@pytest.mark.parametrize("bands", [None, "good"])
def test_load_dataset_keeps_an_integer_line_on_disk(tmp_path, bands):
    """``had.load_dataset("line.hdr")`` (the Python API; the CLI opens lines lazily) converted an int16 line whole to
    float64 to check it for NaN, which integers cannot hold: 1.4-1.6 GB of peak memory for a 269 MB file
    (1000x600x224). The dataset now keeps the memory map (or its band view) and allocates nothing of its size."""
    import tracemalloc

    rng = np.random.default_rng(0)
    cube = rng.integers(-500, 3000, size=(120, 90, 40)).astype(np.int16)
    bbl = [1] * 40
    bbl[7] = 0
    save_envi(tmp_path / "line.hdr", cube, "bil", bbl=bbl)
    settings = {"bands": bands} if bands else {}
    had.load_dataset(str(tmp_path / "line.hdr"), **settings)  # the plugins' imports, before anything is traced
    tracemalloc.start()
    try:
        ds = had.load_dataset(str(tmp_path / "line.hdr"), **settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.X.dtype == np.int16 and ds.X.shape == (120, 90, 39 if bands else 40)
    assert peak < cube.size * 8 / 10, peak  # a float64 copy would be 3.5 MB
    np.testing.assert_array_equal(np.asarray(ds.X[:, :, 0]), cube[:, :, 0])
    det = had.get_detector("rx").fit(ds.X)  # detectors read it tile by tile, as had fit does
    assert det.decision_scores_.shape == (120 * 90,) and np.isfinite(det.decision_scores_).all()


def _without_byte_order(header) -> None:
    header.write_text("".join(line for line in header.read_text().splitlines(keepends=True)
                              if not line.startswith("byte order")))


@pytest.mark.parametrize("dtype, endian", [
    (np.float32, "<"), (np.float32, ">"),   # the other order reads absurd numbers
    (np.int16, "<"), (np.int16, ">"),       # the other order reads noise
    (np.float64, ">")])
def test_a_header_without_byte_order_is_read_in_the_order_its_values_show(tmp_path, dtype, endian):
    """spectral refuses such a header ("Mandatory parameter byte order missing"); had refused it too, asking for
    the line, while GDAL reads the machine's order (a big-endian file as noise, unsaid). Now read in the order its
    values read as ordinary numbers, with a note naming it and the line to add."""
    rng = np.random.default_rng(1)
    rows, cols, bands = np.meshgrid(np.arange(40), np.arange(30), np.arange(20), indexing="ij")
    smooth = 5000 + 2000 * np.sin(cols / 5 + bands / 7) * (1 + rows / 40) + rng.normal(0, 30, size=rows.shape)
    values = smooth.astype(dtype) if np.issubdtype(dtype, np.integer) else (smooth / 10000).astype(dtype)
    data_file = save_envi(tmp_path / "line.hdr", values, "bil", "big" if endian == ">" else "little")
    _without_byte_order(tmp_path / "line.hdr")
    X, meta = open_envi(data_file)
    np.testing.assert_array_equal(np.asarray(X), values)
    order = "big" if endian == ">" else "little"
    noted = [note for note in meta.get("reader_notes") or () if "gives no byte order" in note]
    assert len(noted) == 1 and f"{order}-endian, in which its values read as ordinary numbers" in noted[0]
    assert f"add 'byte order = {int(endian == '>')}'" in noted[0] and meta["byte_order"] == order


def test_a_header_without_byte_order_whose_values_cannot_tell_is_read_little_endian_and_says_so(tmp_path):
    values = np.random.default_rng(0).integers(0, 200, size=(20, 18, 16)).astype(np.uint16)  # high bytes all 0
    data_file = save_envi(tmp_path / "line.hdr", values, "bsq")
    _without_byte_order(tmp_path / "line.hdr")
    X, meta = open_envi(data_file)
    np.testing.assert_array_equal(np.asarray(X), values)
    assert any("read line.img little-endian, as GDAL does" in note and "'byte order = 1'" in note
               for note in meta["reader_notes"])


def test_a_header_without_byte_order_of_bytes_needs_none(tmp_path):
    values = np.random.default_rng(0).integers(0, 255, size=(20, 18, 16)).astype(np.uint8)
    data_file = save_envi(tmp_path / "line.hdr", values, "bip")
    _without_byte_order(tmp_path / "line.hdr")
    X, meta = open_envi(data_file)
    np.testing.assert_array_equal(np.asarray(X), values)
    assert not any("byte order" in note for note in meta.get("reader_notes") or ())


@pytest.mark.parametrize("path", [".", "/", "./"])
def test_a_folder_named_dot_or_root_is_not_envi(path):
    """Was: ``had score m .`` ended in a traceback from ``Path('.').with_suffix`` ("has an empty name")."""
    from had_hsi.envi import is_envi_path

    assert is_envi_path(path) is False


def test_a_wavelength_list_of_another_length_is_said_not_dropped(tmp_path, cube):
    """An audit's header listed 3 wavelengths for 12 bands: they were dropped without a word, and with them the
    check of a scene's bands against a model's wavelengths. Now a note says so; a whole list is kept."""
    save_envi(tmp_path / "line.hdr", cube.astype(np.float32), "bil")  # 5 bands
    text = (tmp_path / "line.hdr").read_text()
    (tmp_path / "line.hdr").write_text(text + "wavelength = {400, 410, 420}\n")
    scene = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))
    assert scene.meta["wavelengths"] is None
    assert scene.meta["reader_notes"] == [
        "note: line.hdr's wavelength lists 3 values for 5 bands, so had records no wavelengths (a model's bands are "
        "then not checked against this file's); correct the header"]
    (tmp_path / "line.hdr").write_text(text + "wavelength = {400, 410, 420, 430, 440}\n")
    scene = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))
    assert scene.meta["wavelengths"] == [400.0, 410.0, 420.0, 430.0, 440.0] and "reader_notes" not in scene.meta


def test_a_wavelength_that_is_no_number_is_said_by_had_not_by_spectrals_log(tmp_path, cube, capsys):
    """An audit: `wavelength = {a, b, c, d, e}` printed "spectral:WARNING: Unable to parse "wavelength" field from
    header" (spectral's log line, the same for fwhm and bbl) and nothing of had's: the wavelengths were dropped,
    and with them the check of a scene's bands against a model's."""
    import logging

    save_envi(tmp_path / "line.hdr", cube.astype(np.float32), "bil")  # 5 bands
    text = (tmp_path / "line.hdr").read_text()
    (tmp_path / "line.hdr").write_text(text + "wavelength = {400, b, 420, 430, 440}\nfwhm = {a, b}\nbbl = {1, x}\n")
    records, level = [], logging.getLogger("spectral").level  # spectral sets its own (INFO)
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("spectral").addHandler(handler)
    try:
        scene = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"))
    finally:
        logging.getLogger("spectral").removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.WARNING], [r.getMessage() for r in records]
    assert scene.meta["wavelengths"] is None
    assert ("note: line.hdr's wavelength holds 'b', not a number, so had records no wavelengths (a model's bands "
            "are then not checked against this file's); correct the header") in scene.meta["reader_notes"]
    assert any("bbl holds 'x'" in note for note in scene.meta["reader_notes"])
    assert logging.getLogger("spectral").level == level  # put back as it was
