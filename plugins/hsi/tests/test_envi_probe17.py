"""Probe 17 on ENVI files: a ``map info`` in feet (or another unit than metres) was written as a CRS in metres, and a
header whose ``interleave`` is not the file's was read as a scrambled cube (fitted, every pixel scored anomalous,
exit 0)."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import DataFileError
from had_hsi.envi import georeference, open_envi, save_envi, write_header

FEET = ["UTM", 1, 1, 500000, 4100000, 2, 2, 11, "North", "WGS-84", "units=Feet"]
LAYOUTS = ("bsq", "bil", "bip")


def _map_info(units: str, datum: str = "WGS-84", hemisphere: str = "North", projection: str = "UTM") -> list:
    return [projection, 1, 1, 500000, 4100000, 2, 2, 11, hemisphere, datum, f"units={units}"]


def test_a_utm_map_info_in_feet_gives_a_crs_in_feet_where_gdal_places_it(tmp_path):
    """Was EPSG:32611 (metres): the GeoTIFF landed hundreds of km off where GDAL reads the header in feet."""
    rasterio = pytest.importorskip("rasterio")
    from rasterio.warp import transform

    data = save_envi(tmp_path / "feet.hdr", np.zeros((4, 4, 2), dtype=np.float32), "bil", map_info=FEET)
    meta = had.load_dataset("envi-file", path=str(tmp_path / "feet.hdr")).meta
    crs = rasterio.crs.CRS.from_user_input(meta["crs"])
    assert crs.linear_units_factor[1] == pytest.approx(0.3048)
    assert meta["transform"] == [2.0, 0.0, 500000.0, 0.0, -2.0, 4100000.0]
    place = transform(crs, "EPSG:4326", [1_700_000.0], [13_400_000.0])
    with rasterio.Env() as env:
        if "ENVI" not in env.drivers():
            pytest.skip("GDAL's ENVI driver is not available to compare with")
    with rasterio.open(data) as gdal:
        assert gdal.crs is not None and crs == gdal.crs
        assert np.allclose(place, transform(gdal.crs, "EPSG:4326", [1_700_000.0], [13_400_000.0]), atol=1e-9)


def test_each_linear_unit_is_honoured_and_metres_keep_their_epsg_code():
    rasterio = pytest.importorskip("rasterio")
    factor = {"Feet": 0.3048, "US Survey Feet": 1200 / 3937, "US_Feet": 1200 / 3937, "Kilometers": 1000.0,
              "Yards": 0.9144, "Miles": 1609.344}
    for units, metres in factor.items():
        crs = rasterio.crs.CRS.from_user_input(georeference({"map info": _map_info(units)})[1])
        assert crs.linear_units_factor[1] == pytest.approx(metres), units
    south = georeference({"map info": _map_info("Feet", "North America 1983")})[1]
    assert south == "+proj=utm +zone=11 +datum=NAD83 +units=ft +no_defs"
    assert georeference({"map info": _map_info("Feet", hemisphere="South")})[1] == (
        "+proj=utm +zone=11 +south +datum=WGS84 +units=ft +no_defs")
    for units in ("Meters", "meters", "Metres"):  # exactly what it gave before
        assert georeference({"map info": _map_info(units)})[1] == "EPSG:32611"
    assert georeference({"map info": _map_info("Meters")[:-1]})[1] == "EPSG:32611"  # no units: metres
    assert georeference({"map info": _map_info("Meters", "North America 1983")})[1] == "EPSG:26911"
    geographic = ["Geographic Lat/Lon", 1, 1, -120.5, 38.2, 1e-4, 1e-4, "WGS-84"]
    assert georeference({"map info": geographic})[1] == "EPSG:4326"
    assert georeference({"map info": [*geographic, "units=Degrees"]})[1] == "EPSG:4326"
    assert georeference({"map info": [*geographic, "units=Seconds"]})[1] is None  # was EPSG:4326, in degrees


def test_a_unit_had_cannot_name_gives_no_crs_and_says_so(tmp_path):
    """Was EPSG:32611, in metres, unsaid."""
    from had.scenefiles import georeferencing

    save_envi(tmp_path / "odd.hdr", np.zeros((4, 4, 2), dtype=np.float32), "bil", map_info=_map_info("Furlongs"))
    meta = had.load_dataset("envi-file", path=str(tmp_path / "odd.hdr")).meta
    assert meta["transform"] is not None and meta["crs"] is None
    assert georeferencing(meta).startswith("placed by the input's map info, without a CRS")
    assert any("units=Furlongs, a unit had cannot name for UTM, so had writes no CRS" in note
               for note in meta["reader_notes"])
    geographic = ["Geographic Lat/Lon", 1, 1, -120.5, 38.2, 1e-4, 1e-4, "WGS-84", "units=Seconds"]
    save_envi(tmp_path / "geo.hdr", np.zeros((4, 4, 2), dtype=np.float32), "bil", map_info=geographic)
    meta = had.load_dataset("envi-file", path=str(tmp_path / "geo.hdr")).meta
    assert meta["crs"] is None and any("units=Seconds" in note for note in meta["reader_notes"])
    for plain in (geographic[:-1], [*geographic[:-2], "North America 1927", "units=Degrees"]):  # no unit note
        save_envi(tmp_path / "geo.hdr", np.zeros((4, 4, 2), dtype=np.float32), "bil", map_info=plain)
        assert not had.load_dataset("envi-file", path=str(tmp_path / "geo.hdr")).meta.get("reader_notes")


# --- the interleave -------------------------------------------------------------------------------------------


def _misdeclare(folder, cube, written: str, declared: str):
    """`cube` written as `written`, its header saying `declared`; the data file's path."""
    data = save_envi(folder / f"{written}_as_{declared}.hdr", cube, written)
    write_header(folder / f"{written}_as_{declared}.hdr", cube.shape, cube.dtype, declared)
    return data


@pytest.fixture
def crop(real_file):
    """A 40 x 40 crop of the development scene abu-urban-1, every band (int16)."""
    from scipy.io import loadmat

    return np.ascontiguousarray(loadmat(real_file("hsi/abu-urban-1.mat"))["data"][:40, :40])


def _pca(cube: np.ndarray, keep: int | None = None) -> np.ndarray:
    lines, samples, bands = cube.shape
    X = cube.reshape(-1, bands).astype(np.float64)
    X -= X.mean(0)
    rotation = np.linalg.svd(X, full_matrices=False)[2].T[:, :keep]
    return (X @ rotation).reshape(lines, samples, -1).astype(np.float32)


@pytest.mark.realdata
def test_a_scene_misdeclared_is_refused_and_declared_rightly_is_read(tmp_path, crop):
    """Each layout declared rightly reads the crop back; declared either wrong way it is refused in one line
    naming the file, the interleave declared, the one the data looks like and the fix. Was: read scrambled."""
    for written in LAYOUTS:
        for declared in LAYOUTS:
            data = _misdeclare(tmp_path, crop, written, declared)
            if declared == written:
                np.testing.assert_array_equal(open_envi(data)[0], crop)
                continue
            with pytest.raises(DataFileError) as caught:
                open_envi(data)
            message = str(caught.value)
            assert message.startswith(f"{data.with_suffix('.hdr')}: interleave = {declared} reads {data.name} as a "
                                      "scrambled cube"), message
            assert f"where {written} reads it as a scene" in message
            assert (f"write 'interleave = {written}' in the header if the file was written {written.upper()}, or, "
                    "if the header is right, read it as declared with --data check_interleave=false") in message


@pytest.mark.realdata
def test_a_bil_file_declared_bsq_stops_had_fit_in_one_line(tmp_path, crop, capsys):
    """The tester's case: had fit trained on the scrambled cube and had score flagged every pixel, exit 0."""
    from had_sdk.testing import run_cli

    _misdeclare(tmp_path, crop, "bil", "bsq")
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "bil_as_bsq.hdr", "-o", tmp_path / "model")
    assert code != 0 and "interleave = bsq reads bil_as_bsq.img as a scrambled cube" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.realdata
def test_a_pca_cube_declared_rightly_is_never_refused(tmp_path, crop):
    """Adjacent components are uncorrelated: its bands are not smooth, and, with few components kept, read as BIP a
    spatially smooth BIL or BSQ cube is smooth. Every component and the first 16 or 20, in each layout."""
    for keep in (None, 16, 20):
        cube = _pca(crop, keep)
        for layout in LAYOUTS:
            data = save_envi(tmp_path / f"pca{keep}_{layout}.hdr", cube, layout)
            np.testing.assert_array_equal(open_envi(data)[0], cube)


def _smooth_scene(lines: int = 40, samples: int = 40, bands: int = 48, seed: int = 0) -> np.ndarray:
    """A scene without real data: four smooth spectra mixed in smoothly varying amounts, with a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:lines, 0:samples] / 10.0
    amounts = np.stack([np.sin(y * a + x * b + phase) + 1.5 for a, b, phase in rng.uniform(0.2, 1.0, (4, 3))], -1)
    wavelength = np.linspace(0, 1, bands)
    spectra = np.stack([np.exp(-((wavelength - centre) / 0.3) ** 2) + 0.2 for centre in (0.1, 0.4, 0.7, 0.9)])
    return (1000 * amounts @ spectra + rng.normal(0, 5, (lines, samples, bands))).astype(np.float32)


def test_misdeclared_layouts_of_a_smooth_scene_are_refused(tmp_path):
    """Without real data: the misdeclarations whose evidence is overwhelming on a small smooth scene."""
    cube = _smooth_scene()
    for written, declared in (("bsq", "bil"), ("bsq", "bip"), ("bil", "bip"), ("bip", "bsq")):
        with pytest.raises(DataFileError, match=f"interleave = {declared} reads .* as a scrambled cube .* write "
                                                f"'interleave = {written}'"):
            open_envi(_misdeclare(tmp_path, cube, written, declared))
    for layout in LAYOUTS:
        data = save_envi(tmp_path / f"right_{layout}.hdr", cube, layout)
        np.testing.assert_array_equal(open_envi(data)[0], cube)


def test_noise_a_pca_cube_and_small_files_are_read_in_any_layout(tmp_path):
    """Noise has no smooth reading; a PCA rotation of a scene none either but as written; a file with fewer than 16
    lines, samples or bands is not judged (too little evidence), even misdeclared."""
    rng = np.random.default_rng(3)
    noise = {"float": rng.normal(size=(40, 40, 48)).astype(np.float32),
             "int16": rng.integers(0, 4000, size=(40, 40, 48)).astype(np.int16)}
    for name, cube in noise.items():
        for written in LAYOUTS:
            for declared in LAYOUTS:
                data = _misdeclare(tmp_path, cube, written, declared)
                assert open_envi(data)[0].shape == cube.shape, (name, written, declared)
    for keep in (None, 16):
        cube = _pca(_smooth_scene(bands=48), keep)
        for layout in LAYOUTS:
            data = save_envi(tmp_path / f"pca_{layout}.hdr", cube, layout)
            np.testing.assert_array_equal(open_envi(data)[0], cube)
    small = _smooth_scene(lines=12)  # 12 lines
    open_envi(_misdeclare(tmp_path, small, "bip", "bsq"))
    few = _smooth_scene(bands=8)  # 8 bands
    open_envi(_misdeclare(tmp_path, few, "bip", "bsq"))


def test_a_wide_cube_of_few_smooth_components_is_read_in_any_layout(tmp_path):
    """An MNF or PCA cube keeping its first components, of a wide flight line (samples much more than bands): its
    bands are uncorrelated, its space smooth, so read as BIP a BIL copy is smooth too (its "bands" neighbouring
    samples, its "samples" 16 pixels apart). Only BIP's missing period (values a pixel apart no closer than values
    half a pixel apart) keeps it from being refused as misdeclared."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:200] / 80.0
    slope_y, slope_x, phase = rng.uniform(0.3, 1.5, (3, 16))
    cube = (rng.uniform(0.2, 3.0, 16) * np.sin(y[..., None] * slope_y + x[..., None] * slope_x + 6 * phase)
            + rng.normal(0, 0.01, (40, 200, 16))).astype(np.float32)
    for layout in LAYOUTS:
        data = save_envi(tmp_path / f"mnf_{layout}.hdr", cube, layout)
        np.testing.assert_array_equal(open_envi(data)[0], cube)


def test_a_bsq_stack_of_unrelated_smooth_layers_is_read_and_the_check_can_be_turned_off(tmp_path, capsys):
    """A review: with an odd band count, BIL's "other bands of the same line" stride landed half a line across
    the swath, so a rightly declared BSQ stack of unrelated smooth layers (geochemical grids) read as a BIL scene
    and was refused, with no way past. Read now; and a header the check doubts can be read as declared."""
    from scipy import ndimage

    from had_sdk.testing import run_cli

    rng = np.random.default_rng(1)
    layers = np.stack([ndimage.gaussian_filter(rng.normal(size=(200, 201)), 40) for _ in range(17)], axis=2)
    save_envi(tmp_path / "grids.hdr", (layers / layers.std(axis=(0, 1))).astype(np.float32), "bsq")
    open_envi(tmp_path / "grids.hdr")
    doubted = _misdeclare(tmp_path, _smooth_scene(), "bsq", "bil")  # as the test above: refused
    with pytest.raises(DataFileError, match="check_interleave=false"):
        open_envi(doubted)
    open_envi(doubted, check_interleave=False)
    code, _, err = run_cli(capsys, "fit", "rx", doubted, "--data", "check_interleave=false", "-o", tmp_path / "m")
    assert code == 0, err
