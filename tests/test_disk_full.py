"""A full disk is one line that says so, before the scoring where it can be, and never a killed process.

Found by scoring onto a 300 KiB tmpfs (``mount -t tmpfs -o size=300k``): a ``.npy`` map of an ENVI line was
written through a memory map of a sparse file, and the first page the disk could not back killed ``had score``
with SIGBUS (exit 135, no word, its temporary file left); a GeoTIFF map said "RasterioIOError; check the path
and the disk" after libtiff's own lines; a ``.npy`` of scores "OSError; check the path and the disk". Here the
full disk is simulated (free space, ``posix_fallocate``, a short write), as CI cannot mount a file system."""

from __future__ import annotations

import errno
import os
from collections import namedtuple

import numpy as np
import pytest

import had
from had import atomic
from had.maps import open_map
from test_reliability_cli import assert_one_line, run_cli

Usage = namedtuple("Usage", "total used free")
save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads the ENVI files").save_envi


@pytest.fixture
def line(tmp_path):
    """An ENVI line (scored tile by tile into its map) and an RX model of it."""
    cube = np.random.default_rng(0).random((60, 50, 4)).astype(np.float32)
    save_envi(tmp_path / "line.hdr", cube, "bil")
    had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    return tmp_path


def free_bytes(monkeypatch, free: int) -> None:
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda _: Usage(10**9, 10**9 - free, free))


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_a_map_larger_than_the_free_space_is_refused_before_scoring(capsys, monkeypatch, line, suffix):
    if suffix == ".tif":
        pytest.importorskip("rasterio")
    free_bytes(monkeypatch, 10_000)  # the map needs 60 x 50 x 8 = 24,000 bytes
    out = line / "maps"
    code, _, err = run_cli(capsys, "score", str(line / "m"), str(line / "line.hdr"), "-o", str(out / f"map{suffix}"))
    assert_one_line(code, err, "No space left on device: the map needs 23.4 KiB and 9.8 KiB are free",
                    f"map{suffix}", "the disk is full: free space or choose another path")
    assert not out.exists() or list(out.iterdir()) == []


def test_a_npy_map_reserves_its_blocks_so_a_full_disk_is_an_error_not_sigbus(monkeypatch, tmp_path):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space, raising=False)
    with pytest.raises(OSError, match="No space left on device: the map needs") as caught:
        open_map(tmp_path / "map.npy", (300, 300))
    assert caught.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []


def test_a_file_system_that_cannot_reserve_still_gets_its_map(monkeypatch, tmp_path):
    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported, raising=False)
    with open_map(tmp_path / "map.npy", (3, 4)) as out:
        out.write(0, np.ones((3, 4)))
    np.testing.assert_array_equal(np.load(tmp_path / "map.npy"), np.ones((3, 4)))


def test_a_write_that_fails_without_an_errno_on_a_full_disk_says_the_disk_is_full(monkeypatch, tmp_path):
    free_bytes(monkeypatch, 4096)
    with pytest.raises(OSError) as caught:  # numpy's np.save on a full disk: "90000 requested and 38384 written"
        with atomic.writing(tmp_path / "scores.npy") as fh:
            fh.write(b"x")
            raise OSError("90000 requested and 38384 written")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "scores.npy")
    assert list(tmp_path.iterdir()) == []
    free_bytes(monkeypatch, 10**9)  # with space left it was something else: the error as it came
    with pytest.raises(OSError, match="requested and") as caught:
        with atomic.writing(tmp_path / "scores.npy"):
            raise OSError("90000 requested and 38384 written")
    assert caught.value.errno is None


def test_a_geotiff_write_failure_on_a_full_disk_is_said_as_such(monkeypatch, tmp_path):
    pytest.importorskip("rasterio")
    from had.maps import GeoTiffMap

    out = open_map(tmp_path / "map.tif", (3, 4))
    assert isinstance(out, GeoTiffMap)
    free_bytes(monkeypatch, 0)
    with pytest.raises(OSError) as caught:
        with out:
            raise RuntimeError("Write failed. See previous exception for details.")  # rasterio's, in substance
    assert caught.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_a_quicklook_the_disk_cannot_hold_leaves_no_map_either(capsys, monkeypatch, line, suffix):
    """``-o map.npy --png full/q.png``: the map was renamed into place, then the quicklook failed on the full disk
    (exit 2), and the rerun needed --overwrite for a map the user never got whole with its quicklook. The
    quicklook is now drawn from the complete map before the rename: a failure there leaves neither."""
    if suffix == ".tif":
        pytest.importorskip("rasterio")
    pytest.importorskip("matplotlib")
    import had.score_file

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(had.score_file, "quicklook_png", full)
    code, _, err = run_cli(capsys, "score", str(line / "m"), str(line / "line.hdr"), "-o", str(line / f"map{suffix}"),
                           "--png", str(line / "q.png"))
    assert_one_line(code, err, "No space left on device", "q.png")
    assert sorted(p.name for p in line.iterdir()) == ["line.hdr", "line.img", "m"]


@pytest.mark.parametrize("failing", ["scores", "quicklook"])
def test_an_output_the_disk_cannot_hold_leaves_neither(capsys, monkeypatch, tmp_path, failing):
    """Data scored in memory (a .mat cube): ``-o s.csv --png q.png`` wrote the scores, then failed on the
    quicklook; the quicklook is now drawn first and removed when the scores cannot be written."""
    pytest.importorskip("matplotlib")
    from scipy.io import savemat

    import had.plots
    import had.score_output

    cube = np.random.default_rng(1).random((20, 15, 4))
    savemat(tmp_path / "cube.mat", {"data": cube})
    had.save(had.get_detector("rx").fit(cube), tmp_path / "m")

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(*(had.score_output, "write_scores") if failing == "scores" else (had.plots, "maps_png"), full)
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "cube.mat"), "-o",
                           str(tmp_path / "s.csv"), "--png", str(tmp_path / "q.png"))
    assert_one_line(code, err, "No space left on device", "s.csv" if failing == "scores" else "q.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.mat", "m"]


def test_a_quicklook_without_matplotlib_is_refused_before_scoring(capsys, monkeypatch, tmp_path):
    """Without matplotlib, ``-o s.csv --png q.png`` wrote the CSV, then failed on the quicklook (exit 2), with a
    hint about `had bench --no-plots`; --quicklooks failed every file after its map."""
    import sys

    cube = np.random.default_rng(1).random((20, 15, 4))
    np.save(tmp_path / "cube.npy", cube)
    had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "cube.npy"), "-o",
                           str(tmp_path / "s.csv"), "--png", str(tmp_path / "q.png"))
    assert_one_line(code, err, "figures need matplotlib", "drop --png")
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "cube.npy"), "--out",
                           str(tmp_path / "maps"), "--quicklooks")
    assert_one_line(code, err, "figures need matplotlib", "drop --quicklooks")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.npy", "m"]
