"""Failure injection, round 5: had killed (SIGKILL, SIGINT, SIGTERM) or its output folder removed while it writes.

Found by an audit that signalled ``had score ... --out`` and ``had bench`` with ``--executor processes`` and
removed output folders mid-run: workers that outlived a killed had and went on writing maps, workers' temporary
maps left after a clean stop, a 0-byte temporary map left by a SIGTERM in the ms after it appeared, the hidden
temporary name in the error of a map whose folder was removed, a bench folder recreated without its grid.json,
and "add --resume" told to a second run that the lock then refused."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import had
from had import atomic, bench, bench_resume, maps
from had_sdk.testing import run_cli

pytest.importorskip("had_hsi", reason="had-plugin-hsi reads the ENVI scenes")

BANDS, LINES, SAMPLES = 32, 1000, 1000  # 128 MB: a map takes a while to score, even on a fast machine
NAMES = ("a", "b", "c")
HEADER = (f"ENVI\nsamples = {SAMPLES}\nlines = {LINES}\nbands = {BANDS}\nheader offset = 0\n"
          "file type = ENVI Standard\ndata type = 4\ninterleave = bil\nbyte order = 0\n")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Three ENVI scenes sharing one large data file (symlinks), and an RX model of their bands."""
    folder = tmp_path_factory.mktemp("round5")
    rng = np.random.default_rng(0)
    with open(folder / "big.img", "wb") as fh:
        for _ in range(LINES // 100):
            fh.write(rng.standard_normal((100, BANDS, SAMPLES), dtype=np.float32).tobytes())
    for name in NAMES:
        (folder / f"{name}.hdr").write_text(HEADER)
        (folder / f"{name}.img").symlink_to(folder / "big.img")
    model = folder / "rx-model"
    had.save(had.get_detector("rx").fit(rng.standard_normal((40, 40, BANDS))), model)
    return folder, model


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _had(*args, new_session=False):
    return subprocess.Popen([sys.executable, "-m", "had.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=new_session)


def _wait_for(found, proc, seconds=120.0):
    """Poll `found()` until true (returns it) or `proc` ends or the time is up (returns None)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        hit = found()
        if hit:
            return hit
        time.sleep(0.001)
    return None


def _children(pid):
    """The processes whose parent is `pid` (the pool's workers, multiprocessing's resource tracker)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


def _wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _reap(proc, pids=()):
    """Whatever the test left running (a failing run): ended, by pid."""
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=60)


def _temporaries(folder):
    return sorted(p.name for p in Path(folder).glob(".*")) if Path(folder).is_dir() else []


needs_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc: Linux")


@needs_linux
def test_sigkill_to_had_score_ends_its_worker_processes(scenes, tmp_path):
    """kill -9 of ``had score m a b c --out maps --executor processes --workers 2`` left the workers (and the
    resource tracker) running with PPID 1, writing maps into the folder, c's too, which had not started."""
    folder, model = scenes
    out = tmp_path / "maps"
    proc = _had("score", model, *(folder / f"{n}.hdr" for n in NAMES), "--out", out, "--map-format", "npy",
                "--executor", "processes", "--workers", "2")
    kids = []
    try:
        assert _wait_for(lambda: glob.glob(str(out / ".a.npy.*")), proc), proc.communicate()[1][-2000:]
        kids = _children(proc.pid)
        proc.kill()
        proc.wait(60)
        assert kids and not _wait_gone(kids, 15), "had's workers outlived it"
        # no temporary map; the run's lock, which SIGKILL leaves (the next run takes it over), is no map
        assert not (out / "c.npy").exists() and _temporaries(out) in ([], [".had-score.lock"])
    finally:
        _reap(proc, kids)


@needs_linux
def test_sigkill_to_had_bench_ends_its_worker_processes(tmp_path):
    """The same for ``had bench ... --executor processes --workers 2``: its workers ran on, orphaned, for good."""
    out = tmp_path / "grid"
    proc = _had("bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "0-60", "--no-plots",
                "--executor", "processes", "--workers", "2", "--out", out)
    kids = []
    try:
        assert _wait_for(lambda: (out / "results.csv").exists(), proc), proc.communicate()[1][-2000:]
        kids = _children(proc.pid)
        proc.kill()
        proc.wait(60)
        assert kids and not _wait_gone(kids, 15), "had's workers outlived it"
    finally:
        _reap(proc, kids)


@needs_linux
@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGINT", "SIGTERM"])
def test_a_stopped_had_score_with_processes_leaves_no_temporary_map(scenes, tmp_path, how):
    """Ctrl-C (SIGINT to the process group), SIGINT or SIGTERM to had exited 130/143 as it should, but left the
    workers' temporary maps ``maps/.a.npy.<hex>.npy`` (they were terminated before their own cleanup ran)."""
    folder, model = scenes
    out = tmp_path / "maps"
    group = how.endswith("group")
    proc = _had("score", model, *(folder / f"{n}.hdr" for n in NAMES), "--out", out, "--map-format", "npy",
                "--executor", "processes", "--workers", "2", new_session=group)
    kids = []
    try:
        assert _wait_for(lambda: glob.glob(str(out / ".a.npy.*")), proc), proc.communicate()[1][-2000:]
        kids = _children(proc.pid)
        sig = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        assert not _wait_gone(kids, 15), err[-2000:]
        assert _temporaries(out) == [], err[-2000:]
    finally:
        _reap(proc, kids)


def test_an_interrupt_just_after_the_temporary_map_is_made_leaves_none(tmp_path, monkeypatch):
    """SIGTERM in the ms after ``.map.npy.<hex>.npy`` appeared (before the writer's own cleanup covered it) left the
    temporary file, 0 bytes: an interrupt between its creation and the lock taken on it."""
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "hold", interrupted)
    with pytest.raises(KeyboardInterrupt):
        maps.NpyMap(tmp_path / "map.npy", (4, 5))
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_before_the_maps_with_block_leaves_no_temporary_file_at_exit(tmp_path):
    """The same interrupt landing after the writer was made but before the caller's ``with`` block (as
    ``with open_map(...) as out:`` is entered): the process removes the file as it ends."""
    script = ("import sys\nfrom had import maps\nm = maps.open_map(sys.argv[1], (30, 20))\n"
              "raise KeyboardInterrupt  # before any `with` holds m\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "map.npy")], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert "KeyboardInterrupt" in done.stderr
    assert list(tmp_path.iterdir()) == []


def _remove_at_first_write(monkeypatch, victim):
    """The folder `victim` removed (``rm -rf``) as the first map's first tile is written; later maps written as
    they are."""
    real, calls = maps.NpyMap.write, []

    def write(self, start, block):
        calls.append(start)
        if len(calls) == 1:
            shutil.rmtree(victim)
        return real(self, start, block)

    monkeypatch.setattr(maps.NpyMap, "write", write)


def test_an_out_folder_removed_mid_map_is_one_line_naming_it(scenes, tmp_path, capsys, monkeypatch):
    """``rm -rf del1`` during a.tif's write: "error: a.hdr: FileNotFoundError: ... 'del1/maps/.a.tif.050de769.tif'
    -> 'del1/maps/a.tif'" (the raw exception, a hidden name), then "the others' maps are in del1/maps"."""
    folder, model = scenes
    out = tmp_path / "del1" / "maps"
    _remove_at_first_write(monkeypatch, tmp_path / "del1")
    code, _, err = run_cli(capsys, "score", model, folder / "a.hdr", folder / "b.hdr", "--out", out,
                           "--map-format", "npy")
    lines = err.strip().splitlines()
    assert code == 1, err
    failed = [line for line in lines if line.startswith("error: ") and "a.hdr" in line]
    assert len(failed) == 1 and f"the output folder {out} disappeared while had wrote a.npy" in failed[0], err
    assert ".a.npy." not in err and "FileNotFoundError" not in err, err
    assert (out / "b.npy").is_file() and _temporaries(out) == []  # b's map made the folder anew
    assert lines[-1].endswith(f"the others' maps are in {out}"), err
    monkeypatch.undo()

    real = maps.NpyMap.write  # removed during every map: the last line names no folder that is gone as holding maps

    def write(self, start, block):
        if start == 0:
            shutil.rmtree(tmp_path / "del2", ignore_errors=True)
        return real(self, start, block)

    monkeypatch.setattr(maps.NpyMap, "write", write)
    out = tmp_path / "del2" / "maps"
    code, _, err = run_cli(capsys, "score", model, folder / "a.hdr", folder / "b.hdr", "--out", out,
                           "--map-format", "npy")
    assert code == 1 and err.count("disappeared while had wrote") == 2, err
    assert err.strip().splitlines()[-1] == f"error: 2 of 2 file(s) failed (listed above); {out} no longer exists", err


def test_a_map_whose_folder_is_removed_mid_write_or_as_it_is_renamed_fails(scenes, tmp_path, capsys, monkeypatch):
    """``had score m scene -o del1/map.tif`` with del1 removed mid-write exited 0 (or said the temporary name);
    GDAL's "Attempt to create new tiff file '.map.tif.<hex>.tif' failed" named the hidden file too."""
    folder, model = scenes
    scene = folder / "a.hdr"
    victim = tmp_path / "del1"
    victim.mkdir()
    _remove_at_first_write(monkeypatch, victim)
    code, _, err = run_cli(capsys, "score", model, scene, "-o", victim / "map.npy")
    assert code == 2 and err.count("\n") == 1, err
    assert f"the output folder {victim} disappeared while had wrote map.npy" in err and ".map.npy." not in err
    monkeypatch.undo()

    victim.mkdir()
    real = atomic._rename_new

    def renamed_then_removed(src, dst):  # the folder removed just as the finished map was renamed into it
        done = real(src, dst)
        shutil.rmtree(victim)
        return done

    monkeypatch.setattr(atomic, "_rename_new", renamed_then_removed)
    code, out, err = run_cli(capsys, "score", model, scene, "-o", victim / "map.npy")
    assert code == 2 and err.count("\n") == 1 and "disappeared" in err and "\nwrote " not in "\n" + out, (out, err)
    monkeypatch.undo()

    pytest.importorskip("rasterio")
    victim.mkdir()
    real_open = maps.open_raster

    def open_removed(path, mode="r", **profile):  # removed before GDAL creates the temporary GeoTIFF
        shutil.rmtree(victim, ignore_errors=True)
        return real_open(path, mode, **profile)

    monkeypatch.setattr(maps, "open_raster", open_removed)
    code, _, err = run_cli(capsys, "score", model, scene, "-o", victim / "map.tif")
    assert code == 2 and err.count("\n") == 1, err
    assert f"the output folder {victim} disappeared while had wrote map.tif" in err and ".map.tif." not in err, err


GRID = ["--detectors", "rx,pyod-pca", "--datasets", "synthetic-table", "--seeds", "0,1", "--no-plots"]


def test_a_bench_folder_removed_mid_grid_gets_its_record_back(tmp_path, capsys):
    """The results folder removed during the grid was made anew by the next results written, without grid.json:
    a later --resume said "has no grid.json (an earlier had): the kept cells' settings are not compared"."""
    out = tmp_path / "grid"
    said = []

    def echo(line):
        said.append(line)
        if "auroc" in line and sum("auroc" in s for s in said) == 2:  # after the second cell, before its write
            shutil.rmtree(out)

    bench.run(["rx", "pyod-pca"], ["synthetic-table"], [0, 1], out=out, plots=False, echo=echo)
    assert (out / bench_resume.RECORD_NAME).is_file() and bench_resume.is_record(out / bench_resume.RECORD_NAME)
    lines = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(lines[:-1]) + "\n")  # one cell to run again
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", out, "--resume")
    assert code == 0 and "no grid.json" not in err and "resuming: 3 finished cell(s)" in err, err


def test_a_second_bench_into_a_folder_being_written_is_told_so_first(tmp_path, capsys):
    """It was told "holds an earlier grid's results ... add --resume", and --resume then met the lock."""
    out = tmp_path / "grid"
    assert run_cli(capsys, "bench", *GRID, "--out", out)[0] == 0
    with bench_resume.exclusive(out):  # another run writing there
        code, _, err = run_cli(capsys, "bench", *GRID, "--out", out)
    assert code == 2 and err.count("\n") == 1, err
    assert "another had bench is writing its results into" in err and "--resume" not in err, err
