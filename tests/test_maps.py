"""Map writers and quicklooks: GeoTIFF on the input's grid, typed errors, false-colour band choice, the PNG."""

from __future__ import annotations

import os
import stat
import warnings

import numpy as np
import pytest

from had.errors import HadError
from had.maps import false_colour_bands, open_map, quicklook_png


def test_false_colour_bands_by_wavelength_header_or_position():
    nm = list(np.linspace(400, 2500, 50))
    picked = false_colour_bands(50, {"wavelengths": nm})
    assert [round(nm[b]) for b in picked] == [871, 657, 529]  # nearest 860, 650, 550 nm (550 ties: the first)
    assert false_colour_bands(50, {"wavelengths": [w / 1000 for w in nm]}) == picked  # micrometres
    assert false_colour_bands(50, {"wavelengths": nm[:10]}) == [37, 25, 12]  # length mismatch: by position
    assert false_colour_bands(50, {"default_bands": [29, 19, 9]}) == [29, 19, 9]
    assert false_colour_bands(2) == [0, 0, 0]


def test_the_false_colour_title_gives_the_files_band_numbers():
    """The quicklook's title said the 0-based indices into the bands read ("bands 7, 4, 2" for file bands 8, 5,
    3; after --data bands=good, indices among the kept bands): now the file's 1-based numbers, as every other
    band number had prints, with their wavelengths."""
    from had.maps import band_label

    assert band_label([7, 4, 2], 8) == "bands 8, 5, 3"
    nm = [400.0, 460.0, 520.0, 580.0, 640.0, 700.0, 760.0, 820.0]
    kept = [0, 1, 3, 4, 5, 7]  # file bands 3 and 7 left out (bbl)
    meta = {"bands_kept": kept, "wavelengths": [nm[b] for b in kept]}
    assert band_label([5, 3, 2], 6, meta) == "bands 8, 5, 4 (820, 640, 580 nm)"
    assert band_label([5, 3, 2], 6, {"wavelengths": [0.82, 0.8, 0.6, 0.5, 0.45, 0.4]}) == (
        "bands 6, 4, 3 (0.4, 0.5, 0.6 µm)")
    assert band_label([1, 0, 0], 2, {"wavelengths": nm}) == "bands 2, 1, 1"  # wavelengths of another band count


def test_geotiff_map_on_the_input_grid_and_bad_targets(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    meta = {"transform": [2.0, 0.0, 100.0, 0.0, -2.0, 50.0], "crs": "EPSG:4326"}
    scores = np.arange(12.0).reshape(3, 4)
    with open_map(tmp_path / "m.tif", (3, 4), meta) as out:
        out.write(0, scores[:2])
        out.write(2, scores[2:])
    with rasterio.open(tmp_path / "m.tif") as written:
        np.testing.assert_array_equal(written.read(1), scores)
        assert list(written.transform)[:6] == meta["transform"] and written.crs.to_epsg() == 4326
    with pytest.raises(HadError, match=r"use a .npy or a .tif/.tiff file name"):
        open_map(tmp_path / "m.csv", (3, 4))
    with pytest.raises(HadError, match=r"GeoTIFF map is \(H, W\); these scores have shape \(12,\)"):
        open_map(tmp_path / "rows.tif", (12,))


def test_geotiff_map_of_an_ungeoreferenced_input_warns_nothing(tmp_path):
    """An input without a map transform gives a plain GeoTIFF, and rasterio's NotGeoreferencedWarning (a library
    line on the user's terminal) is not shown: the CLI says in its own words that the map is not georeferenced."""
    rasterio = pytest.importorskip("rasterio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_map(tmp_path / "plain.tif", (2, 3), {}) as out:
            out.write(0, np.arange(6.0).reshape(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading it back: rasterio warns the reader too
        written = rasterio.open(tmp_path / "plain.tif")
    with written:
        np.testing.assert_array_equal(written.read(1), np.arange(6.0).reshape(2, 3))
        assert written.crs is None


def test_quicklook_has_the_map_and_the_false_colour_scene(tmp_path):
    rng = np.random.default_rng(0)
    scene = rng.uniform(size=(2100, 30, 6))  # decimated 1 in 3 to stay near 1000 pixels a side
    path = quicklook_png(tmp_path / "q.png", scene[..., 0] * 10, scene, {"wavelengths": [450, 550, 650, 750, 850, 950]})
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[1] > image.shape[0] * 0.6 and image.shape[0] > 300  # two panels side by side


def test_a_quicklook_outlines_the_targets_and_keeps_a_one_pixel_target(tmp_path):
    """With the scene's truth (``map_path``), ``had score --png`` marks the targets on the map; decimated by
    the block maximum, so a one-pixel target of a 3000-pixel-wide line (shown 1 in 3) is still drawn."""
    import matplotlib.image

    from had.maps import _block_max, quicklook_png

    truth = np.zeros((900, 3000), dtype=np.int64)
    truth[40, 2345] = 1
    pooled = _block_max(truth > 0, 3, (300, 1000))
    assert pooled.shape == (300, 1000) and pooled.sum() == 1 and pooled[13, 781] == 1
    assert truth[::3, ::3].sum() == 0  # plain decimation loses it
    amap = np.random.default_rng(0).random((900, 3000))
    quicklook_png(tmp_path / "plain.png", amap, title="x")
    quicklook_png(tmp_path / "outlined.png", amap, title="x", truth=truth)
    def cyan(name):  # the outline's colour, which the inferno colour map never takes
        image = matplotlib.image.imread(tmp_path / name)
        return int(((image[..., 0] < 0.4) & (image[..., 1] > 0.6) & (image[..., 2] > 0.6)).sum())

    assert cyan("plain.png") == 0 and cyan("outlined.png") > 0


def test_a_quicklook_draws_no_data_grey(tmp_path):
    """No-data pixels (NaN in the map) are drawn grey and the title says so; blank, with the axes off, the map
    looked cropped beside the false-colour scene."""
    import matplotlib.image

    def grey(amap, name):  # pixels of the no-data grey (0.7), which the inferno colour map never takes
        quicklook_png(tmp_path / name, amap)
        image = matplotlib.image.imread(tmp_path / name)[..., :3]
        return int((np.abs(image - 0.7) < 0.02).all(axis=-1).sum())

    amap = np.random.default_rng(0).random((60, 40))
    full = grey(amap, "full.png")  # only the anti-aliased edges of the text
    amap[:10] = np.nan
    assert grey(amap, "q.png") > full + 2000  # the ten rows of no data, as drawn


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_maps_honour_the_umask_and_leave_no_temporary_file(tmp_path, suffix, umask):
    """A map gets mode 0o666 less the umask, as the artifacts and CSVs do (``mkstemp``'s 0600 did survive the
    rename: a map the user's group could not open); the temporary file beside it is gone after the rename."""
    if suffix == ".tif":
        pytest.importorskip("rasterio")
    previous = os.umask(umask)
    try:
        with open_map(tmp_path / f"map{suffix}", (3, 4)) as out:
            out.write(0, np.ones((3, 4)))
    finally:
        os.umask(previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"map{suffix}"]
    assert stat.S_IMODE((tmp_path / f"map{suffix}").stat().st_mode) == 0o666 & ~umask


def test_a_killed_writers_temporary_map_is_removed_by_the_next_writer(tmp_path):
    """A map's temporary file left by a killed ``had score`` (SIGKILL: no cleanup ran) is removed when the same
    map is written again; one a live writer still holds, and files of other names, are kept."""
    from had import atomic

    dead = tmp_path / ".map.npy.0badc0de.npy"
    dead.write_bytes(b"x" * 1000)
    live = tmp_path / ".map.npy.0123abcd.npy"
    live.write_bytes(b"y")
    other = tmp_path / ".other.npy.0badc0de.npy"
    other.write_bytes(b"z")
    fd = atomic.hold(live)
    try:
        with open_map(tmp_path / "map.npy", (2, 2)) as out:
            out.write(0, np.zeros((2, 2)))
    finally:
        if fd is not None:
            os.close(fd)
    assert not dead.exists() and live.exists() and other.exists()
    np.testing.assert_array_equal(np.load(tmp_path / "map.npy"), np.zeros((2, 2)))


def test_a_killed_writers_temporary_csv_is_removed_by_the_next_write(tmp_path):
    """The same for the files written whole (score CSVs, bench tables): a stale ``.NAME.<8 hex>.tmp`` goes, a
    held one stays."""
    from had import atomic

    dead = tmp_path / ".scores.csv.0badc0de.tmp"
    dead.write_bytes(b"x" * 1000)
    live = tmp_path / ".scores.csv.0123abcd.tmp"
    live.write_bytes(b"y")
    fd = atomic.hold(live)
    try:
        atomic.write_bytes(tmp_path / "scores.csv", "row,score\n")
    finally:
        if fd is not None:
            os.close(fd)
    assert not dead.exists() and live.exists() and (tmp_path / "scores.csv").read_text() == "row,score\n"


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_a_map_whose_rename_fails_leaves_no_temporary_file(tmp_path, suffix):
    """When the final rename is refused (here a folder took the map's name while it was written), the error
    reaches the caller and the temporary map beside it is removed: no half-written output is left."""
    if suffix == ".tif":
        pytest.importorskip("rasterio")
    target = tmp_path / f"map{suffix}"
    with pytest.raises(OSError):
        with open_map(target, (3, 4)) as out:
            out.write(0, np.ones((3, 4)))
            target.mkdir()
            (target / "keep").write_text("mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"map{suffix}"]
    assert (target / "keep").read_text() == "mine"


def _undecodable(folder, name: bytes):
    path = os.path.join(os.fsencode(folder), name)
    try:
        open(path, "wb").close()
        os.unlink(path)
    except OSError:
        pytest.skip("this file system refuses file names that are not valid UTF-8")
    return os.fsdecode(path)


def test_a_crs_gdal_cannot_read_is_one_line_and_leaves_no_temporary_file(tmp_path):
    """A header's coordinate system string GDAL cannot parse raised rasterio's CRSError (a traceback, exit 1) after
    the temporary map was made, which stayed beside the user's map."""
    pytest.importorskip("rasterio")
    from had.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="coordinate reference system cannot be read by GDAL.*as .npy"):
        open_map(tmp_path / "map.tif", (3, 4), {"transform": [1, 0, 0, 0, -1, 0], "crs": 'PROJCS["x" GEOGCS[['})
    assert list(tmp_path.iterdir()) == []


def test_a_geotiff_path_that_is_not_utf8_is_one_line_and_leaves_no_temporary_file(tmp_path):
    """rasterio raised UnicodeEncodeError (a traceback) for a name with bytes that are not UTF-8, after the
    temporary map beside it was made, which stayed."""
    pytest.importorskip("rasterio")
    from had.errors import InvalidInputError

    target = _undecodable(tmp_path, b"map\xff.tif")
    with pytest.raises(InvalidInputError, match="only file names that are valid UTF-8"):
        open_map(target, (3, 4))
    assert list(tmp_path.iterdir()) == []


def test_a_quicklook_titled_with_a_name_that_is_not_utf8_is_drawn(tmp_path):
    """matplotlib raised TypeError drawing a title holding Python's surrogates for undecodable bytes."""
    pytest.importorskip("matplotlib")
    title = os.fsdecode(b"sc\xffene")
    path = quicklook_png(tmp_path / "q.png", np.random.default_rng(0).random((20, 30)), title=title)
    assert path.stat().st_size > 1000


def test_a_map_on_a_pseudo_file_system_names_the_users_path_and_no_full_disk():
    """/proc has no size (statvfs says 0 blocks): the free-space check must not call that a full disk, and the
    refusal to create the map (or a CSV) names the path the user gave, not the temporary file beside it."""
    import errno
    import shutil

    from had.atomic import write_bytes

    if not os.path.isdir("/proc") or shutil.disk_usage("/proc").total != 0:
        pytest.skip("needs Linux's /proc (a file system of size 0)")
    for suffix in (".npy", ".tif"):
        if suffix == ".tif":
            pytest.importorskip("rasterio")
        target = f"/proc/had-map-test{suffix}"
        with pytest.raises(OSError) as raised:
            open_map(target, (4, 5))
        assert raised.value.filename == target and raised.value.errno != errno.ENOSPC
        assert not os.path.exists(target)
    with pytest.raises(OSError) as raised:  # a CSV or PNG through had.atomic.writing: the same
        write_bytes("/proc/had-scores-test.csv", "score\n1\n")
    assert raised.value.filename == "/proc/had-scores-test.csv"


def test_an_output_that_cannot_be_written_stops_the_command_before_any_is_written(tmp_path):
    """`had score ... -o scores.csv --png /proc/q.png`: the quicklook's folder refuses files, which is said before
    the scoring, so the CSV is not written either (was: the CSV written, then the PNG failed)."""
    import shutil

    from click.testing import CliRunner

    from had.cli import cli

    if not os.path.isdir("/proc") or shutil.disk_usage("/proc").total != 0:
        pytest.skip("needs Linux's /proc (a folder that refuses new files)")
    runner = CliRunner()
    fitted = runner.invoke(cli, ["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m")])
    assert fitted.exit_code == 0, fitted.output
    before = sorted(os.listdir(tmp_path))
    scored = runner.invoke(cli, ["score", str(tmp_path / "m"), "synthetic-scene", "-o", str(tmp_path / "s.csv"),
                                 "--png", "/proc/had-q.png"])
    assert scored.exit_code != 0 and isinstance(scored.exception, OSError)
    assert scored.exception.filename == "/proc/had-q.png"
    assert sorted(os.listdir(tmp_path)) == before  # no s.csv


@pytest.mark.parametrize("shape, least, most", [((2400, 300), 1.0, 2.5),   # a flight line: taller than wide
                                                ((120, 900), 0.1, 0.3),    # a wide strip
                                                ((100, 100), 0.4, 0.6)])   # a square scene: two panels side by side
def test_the_quicklook_is_shaped_as_the_scene(tmp_path, shape, least, most):
    """Was 4.6 x 4.4 inches a panel for any scene: a 2400 x 300 flight line was a thin strip in a square of white
    (the PNG 0.54 as high as wide), a wide one a sliver under a colour bar the figure's height (0.51)."""
    import matplotlib.image

    rng = np.random.default_rng(0)
    scene = rng.random(shape + (6,))
    quicklook_png(tmp_path / "q.png", scene[..., 0], scene, title="a_long_flight_line_name_f180601t01p00r02")
    height, width = matplotlib.image.imread(tmp_path / "q.png").shape[:2]
    assert least <= height / width <= most, (height, width)
