"""Output files and other processes: a file that appears at the target while had works is never written over,
a target name of 242-255 bytes works, and GDAL/libtiff print nothing of their own when a GeoTIFF write fails.

Found by a file-safety audit: ``had score m huge.hdr -o race2.npy &`` then ``echo USER DATA > race2.npy``
printed "wrote race2.npy" and the user's file was gone (two ``had score ... -o race.tif`` at once both said
"wrote"); ``-o "$(printf 'a%.0s' $(seq 245)).npy"`` scored, then failed on its temporary name ("File name too
long"); a full disk under a GeoTIFF printed libtiff's ``_tiffWriteProc: No space left on device.`` lines before
had's one line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import had
from had import atomic
from had.maps import open_map
from test_reliability_cli import assert_one_line, run_cli

USER = b"USER DATA\n"


def _suffixes():
    return [".npy", pytest.param(".tif", marks=pytest.mark.skipif(
        not _has_rasterio(), reason="GeoTIFF maps need rasterio"))]


def _has_rasterio() -> bool:
    try:
        import rasterio  # noqa: F401
    except ImportError:
        return False
    return True


# ---- 1. a file that appeared meanwhile is kept ---------------------------------------------------------------
def test_a_written_file_never_replaces_one_that_appeared_meanwhile(tmp_path):
    target = tmp_path / "scores.csv"
    with pytest.raises(atomic.AppearedError, match=r"scores.csv appeared while had was writing it.*nothing was "
                       r"written over") as info:
        with atomic.writing(target) as fh:
            fh.write(b"index,score\n")
            target.write_bytes(USER)
    assert "\n" not in str(info.value)
    assert target.read_bytes() == USER and sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


@pytest.mark.parametrize("suffix", _suffixes())
def test_a_map_never_replaces_a_file_that_appeared_meanwhile(tmp_path, suffix):
    target = tmp_path / f"race{suffix}"
    with pytest.raises(atomic.AppearedError, match="nothing was written over"):
        with open_map(target, (3, 4)) as out:
            out.write(0, np.ones((3, 4)))
            target.write_bytes(USER)
    assert target.read_bytes() == USER and sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("suffix", _suffixes())
def test_two_writers_of_one_map_at_once_one_wins_the_other_says_so(tmp_path, suffix):
    target = tmp_path / f"race{suffix}"
    first, second = open_map(target, (3, 4)), open_map(target, (3, 4))
    first.write(0, np.ones((3, 4)))
    second.write(0, np.zeros((3, 4)))
    first.close()
    with pytest.raises(atomic.AppearedError, match="race"):
        with second:
            pass
    from had.score_file import read_map

    np.testing.assert_array_equal(np.asarray(read_map(target)), np.ones((3, 4)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_an_existing_file_is_still_replaced_as_the_caller_decided(tmp_path):
    """A file there when the writer started (``had score --overwrite``, bench's results.csv) is replaced."""
    target = tmp_path / "results.csv"
    target.write_bytes(b"old\n")
    atomic.write_bytes(target, "new\n")
    assert target.read_bytes() == b"new\n"


@pytest.fixture
def no_hard_links(monkeypatch):
    """A file system without renameat2 nor hard links (FAT: link is EPERM)."""
    def refused(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(src))

    monkeypatch.setattr(atomic, "_RENAMEAT2", None)
    monkeypatch.setattr(os, "link", refused)


def test_without_hard_links_a_new_file_is_written_and_one_that_appeared_is_kept(tmp_path, no_hard_links):
    atomic.write_bytes(tmp_path / "a.csv", "new\n")
    assert (tmp_path / "a.csv").read_bytes() == b"new\n"
    with pytest.raises(atomic.AppearedError):
        with atomic.writing(tmp_path / "b.csv") as fh:
            fh.write(b"new\n")
            (tmp_path / "b.csv").write_bytes(USER)
    assert (tmp_path / "b.csv").read_bytes() == USER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


@pytest.fixture
def cube(tmp_path):
    data = np.random.default_rng(1).random((20, 15, 4))
    np.save(tmp_path / "cube.npy", data)
    had.save(had.get_detector("rx").fit(data), tmp_path / "m")
    return tmp_path


@pytest.mark.parametrize("name", ["s.csv", "s.npy"])
def test_cli_scores_never_replace_a_file_that_appeared_while_scoring(capsys, monkeypatch, cube, name):
    """Scored in memory, then written: the file appeared after ``had score`` checked the path (before the
    writer started), and without --overwrite it stays the user's."""
    import had.score_output

    real = had.score_output.write_scores

    def user_writes_first(path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(USER)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(had.score_output, "write_scores", user_writes_first)
    out = cube / name
    code, stdout, err = run_cli(capsys, "score", str(cube / "m"), str(cube / "cube.npy"), "-o", str(out))
    assert_one_line(code, err, str(out), "appeared while had was writing it", "nothing was written over")
    assert f"wrote {out}" not in stdout
    assert out.read_bytes() == USER and sorted(p.name for p in cube.iterdir()) == ["cube.npy", "m", name]


def test_cli_overwrite_still_replaces_an_existing_file(capsys, cube):
    out = cube / "s.npy"
    out.write_bytes(USER)
    code, _, err = run_cli(capsys, "score", str(cube / "m"), str(cube / "cube.npy"), "-o", str(out), "--overwrite")
    assert code == 0, err
    assert np.load(out).shape == (20, 15)


# ---- 2. names of 242-255 bytes -------------------------------------------------------------------------------
LONG = ["a" * 251, "é" * 125 + "a"]  # 251 bytes before the suffix: the temporary name would be 265


def test_a_file_name_of_255_bytes_is_written(tmp_path):
    target = tmp_path / ("a" * 251 + ".csv")
    atomic.write_bytes(target, "x\n")
    assert target.read_bytes() == b"x\n" and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("suffix", _suffixes())
@pytest.mark.parametrize("stem", LONG, ids=["ascii", "utf8"])
def test_a_map_name_of_up_to_255_bytes_is_written(tmp_path, suffix, stem):
    while len(os.fsencode(stem + suffix)) > 255:
        stem = stem[1:]
    target = tmp_path / (stem + suffix)
    with open_map(target, (3, 4)) as out:
        out.write(0, np.full((3, 4), 2.0))
        seen = [p.name for p in tmp_path.iterdir()]
    assert len(seen) == 1 and seen[0].startswith("." + target.name[:40]) and len(os.fsencode(seen[0])) <= 255
    assert sorted(tmp_path.iterdir()) == [target]


def test_a_long_names_leftover_is_still_cleaned_up(tmp_path):
    """The shortened temporary name stays recognisable: one left by a killed writer goes with the next write."""
    target = tmp_path / ("b" * 250 + ".npy")
    with open_map(target, (2, 2)) as out:
        out.write(0, np.ones((2, 2)))
        (leftover,) = [p for p in tmp_path.iterdir()]
        stale = leftover.read_bytes()
    leftover.write_bytes(stale)  # as a killed writer would have left it (no lock on it)
    other = tmp_path / ("b" * 249 + "c.npy")  # another name sharing the beginning: its leftovers are its own
    assert not atomic.stale_files(other, ".npy")
    assert atomic.stale_files(target, ".npy") == [leftover]
    with open_map(target, (2, 2)) as out:
        out.write(0, np.zeros((2, 2)))
    assert sorted(tmp_path.iterdir()) == [target]


def test_a_name_longer_than_the_file_system_allows_is_refused_before_scoring(capsys, cube):
    out = cube / ("a" * 256 + ".npy")
    code, stdout, err = run_cli(capsys, "score", str(cube / "m"), str(cube / "cube.npy"), "-o", str(out))
    assert_one_line(code, err, "File name too long", "use a shorter path")
    assert "scored" not in stdout and sorted(p.name for p in cube.iterdir()) == ["cube.npy", "m"]


# ---- 3. GDAL/libtiff print nothing of their own ----------------------------------------------------------------
def test_a_geotiff_that_cannot_be_written_prints_only_hads_line(tmp_path):
    """The file size limit (``ulimit -f``) fails libtiff's writes as a full disk does (no mount needed): had's
    one line, no ``_tiffWriteProc: File too large.`` from libtiff nor ``ERROR 1:`` from GDAL."""
    pytest.importorskip("rasterio")
    save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads the ENVI files").save_envi
    cube = np.random.default_rng(0).random((120, 100, 4)).astype(np.float32)
    save_envi(tmp_path / "line.hdr", cube, "bil")
    had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    script = textwrap.dedent("""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))
        from had.cli import main
        main(sys.argv[1:])
    """)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", script, "score", str(tmp_path / "m"), str(tmp_path / "line.hdr"),
                           "-o", str(tmp_path / "map.tif")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.hdr", "line.img", "m"]
