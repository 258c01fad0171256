"""``had score MODEL a.hdr b.hdr c.hdr --out maps/``: one map per file, on the grid's executors."""

from __future__ import annotations

import json
import os
from pathlib import Path
import sys

import numpy as np
import pytest

import had
from had import score_many
from test_reliability_cli import run_cli

save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads the ENVI files").save_envi
UTM = ["UTM", 1.0, 1.0, 500000.0, 4000000.0, 30.0, 30.0, 11, "North", "WGS-84", "units=Meters"]
NAMES = ("a", "b", "c")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Three small ENVI BIL scenes (different sizes, one planted anomaly each) and an RX model fitted on the first."""
    folder = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(5)
    mixing = rng.normal(size=(6, 6))
    cubes = {}
    for i, name in enumerate(NAMES):
        X = (rng.normal(size=(18 + 3 * i, 13 + i, 6)) @ mixing + 50.0).astype(np.float32)
        X[4, 5 + i] += 9.0
        save_envi(folder / f"{name}.hdr", X, "bil", map_info=UTM)
        cubes[name] = X
    model = folder / "rx-model"
    rx = had.get_detector("rx", contamination=0.01).fit(cubes["a"])
    had.save(rx, model)
    return folder, model, cubes, rx


def score(capsys, scenes, out, *extra):
    folder, model, _, _ = scenes
    return run_cli(capsys, "score", str(model), *(str(folder / f"{n}.hdr") for n in NAMES), "--out", str(out),
                   *extra)


def check_maps(out, scenes, suffix=".npy"):
    _, _, cubes, rx = scenes
    for name in NAMES:
        amap = np.load(out / f"{name}{suffix}")
        expected = rx.decision_function(cubes[name])
        assert amap.shape == cubes[name].shape[:2]
        np.testing.assert_allclose(amap, expected, rtol=1e-9)


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_three_files_one_map_each(capsys, scenes, tmp_path, executor):
    workers = ("--workers", "2") if executor == "processes" else ()  # serial takes none (said: a later test)
    code, out, err = score(capsys, scenes, tmp_path / "maps", "--map-format", "npy", "--executor", executor,
                           *workers)
    assert code == 0, err
    check_maps(tmp_path / "maps", scenes)
    lines = out.strip().splitlines()
    assert lines[0].startswith("scoring 3 file(s)") and len(lines) == 4
    assert sorted(line.split(".hdr:")[0][-1] for line in lines[1:]) == list(NAMES)
    assert all("above the threshold" in line for line in lines[1:])


def test_a_file_that_fails_is_one_line_and_the_others_go_on(capsys, scenes, tmp_path):
    folder = scenes[0]
    (tmp_path / "bad.hdr").write_text((folder / "a.hdr").read_text())
    (tmp_path / "bad.img").write_bytes(b"\0" * 100)  # shorter than its header says
    code, out, err = run_cli(capsys, "score", str(scenes[1]), str(folder / "a.hdr"), str(tmp_path / "bad.hdr"),
                             str(tmp_path / "missing.hdr"), str(folder / "c.hdr"), "--out", str(tmp_path / "maps"),
                             "--map-format", "npy")
    assert code == 1
    errors = err.strip().splitlines()
    assert len(errors) == 3 and "Traceback" not in err
    assert "bad.hdr: " in errors[0] and "is truncated" in errors[0]
    assert "missing.hdr: " in errors[1]
    assert errors[2].startswith("error: 2 of 4 file(s) failed")
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["a.npy", "c.npy"]  # no half map of bad


def test_skip_existing_continues_a_run_that_failed_on_some_files(capsys, scenes, tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    folder = scenes[0]
    code, _, err = run_cli(capsys, "score", str(scenes[1]), str(folder / "a.hdr"), str(tmp_path / "b.hdr"),
                           "--out", str(maps), "--map-format", "npy")  # b is not there yet: its line fails
    assert code == 1 and sorted(p.name for p in maps.iterdir()) == ["a.npy"]
    first = (maps / "a.npy").stat().st_mtime_ns
    (tmp_path / "b.hdr").write_text((folder / "b.hdr").read_text())
    (tmp_path / "b.img").write_bytes((folder / "b.img").read_bytes())
    code, out, err = run_cli(capsys, "score", str(scenes[1]), str(folder / "a.hdr"), str(tmp_path / "b.hdr"),
                             "--out", str(maps), "--map-format", "npy")
    assert code == 2 and "--skip-existing to score only the files without one" in err  # a.npy is kept
    code, out, err = run_cli(capsys, "score", str(scenes[1]), str(folder / "a.hdr"), str(tmp_path / "b.hdr"),
                             "--out", str(maps), "--map-format", "npy", "--skip-existing")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].endswith(f"a.hdr: skipped, {maps / 'a.npy'} exists (--skip-existing)")
    assert lines[1].startswith("scoring 1 file(s)") and lines[1].endswith("; 1 skipped, their maps exist")
    assert "b.hdr: " in lines[2] and len(lines) == 3
    assert (maps / "a.npy").stat().st_mtime_ns == first  # not rescored
    np.testing.assert_allclose(np.load(maps / "b.npy"), scenes[3].decision_function(scenes[2]["b"]), rtol=1e-9)
    code, _, err = run_cli(capsys, "score", str(scenes[1]), str(folder / "a.hdr"), "--out", str(maps),
                           "--skip-existing", "--overwrite")
    assert code == 2 and "give one" in err


def test_each_file_is_measured_against_its_own_mask(capsys, scenes, tmp_path):
    """``--data map_path=masks/{stem}.npy``: one option names each line's own target mask (``{stem}``: the file's
    stem); each file's line gives its AUROC, the JSON its metrics; a line whose mask is missing fails alone."""
    from had.metrics import auroc

    _, _, cubes, rx = scenes
    (tmp_path / "masks").mkdir()
    for i, name in enumerate(NAMES[:2]):
        mask = np.zeros(cubes[name].shape[:2], dtype=np.uint8)
        mask[4, 5 + i] = 1  # the planted anomaly
        mask[0, 0] = 1  # and a background pixel called a target: the AUROC is below 1
        np.save(tmp_path / "masks" / f"{name}.npy", mask)
    code, out, err = score(capsys, scenes, tmp_path / "maps", "--data", f"map_path={tmp_path}/masks/{{stem}}.npy",
                           "--map-format", "npy")
    assert code == 1 and "c.hdr: no such ground truth file" in err and str(tmp_path / "masks" / "c.npy") in err
    for i, name in enumerate(NAMES[:2]):
        truth = np.load(tmp_path / "masks" / f"{name}.npy")
        expected = auroc(truth.reshape(-1), rx.decision_function(cubes[name]).reshape(-1))
        assert 0.5 < expected < 1.0
        assert f"{name}.hdr: " in out and f"auroc {expected:.4f}" in out.split(f"{name}.hdr: ")[1].splitlines()[0]
    assert score_many.per_file({"map_path": "m/{stem}.tif", "n": 3}, "lines/x.hdr") == {"map_path": "m/x.tif", "n": 3}


def test_geotiff_maps_and_quicklooks_by_default_and_json(capsys, scenes, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    pytest.importorskip("matplotlib")
    code, out, err = score(capsys, scenes, tmp_path, "--quicklooks", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [s["map"] for s in summary] == [str(tmp_path / f"{n}.tif") for n in NAMES]
    assert all(s["error"] is None for s in summary)
    _, _, cubes, rx = scenes
    for name in NAMES:
        with rasterio.open(tmp_path / f"{name}.tif") as src:
            assert src.crs.to_epsg() == 32611
            np.testing.assert_allclose(src.read(1), rx.decision_function(cubes[name]), rtol=1e-9)
            tags = src.tags()  # what made the map, for a GIS user: score > HAD_THRESHOLD is the detector's mask
            assert tags["HAD_DETECTOR"] == "rx" and tags["HAD_MODEL"] == str(scenes[1].resolve())
            assert tags["HAD_DATASET"] == str((scenes[0] / f"{name}.hdr").resolve())
            assert float(tags["HAD_THRESHOLD"]) == rx.threshold_
            assert np.count_nonzero(src.read(1) > float(tags["HAD_THRESHOLD"])) == next(
                s["flagged"] for s in summary if s["map"].endswith(f"{name}.tif"))
            assert tags["HAD_VERSION"] == had.__version__ and "eager" in tags["HAD_ENGINE"]
            assert src.descriptions == ("anomaly score (higher = more anomalous)",)
        assert (tmp_path / f"{name}.png").stat().st_size > 2000


def test_unexpanded_glob_and_options_that_name_one_file(capsys, scenes, tmp_path):
    folder, model = scenes[0], scenes[1]
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "*.hdr"), "--out", str(tmp_path),
                           "--map-format", "npy")
    assert code == 0, err
    check_maps(tmp_path, scenes)
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), str(folder / "b.hdr"), "-o", "x.npy")
    assert code == 2 and err.count("\n") == 1 and "--out" in err
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--executor", "processes")
    assert code == 2 and err.count("\n") == 1 and "need --out" in err
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--out", str(tmp_path), "--png", "q.png")
    assert code == 2 and err.count("\n") == 1 and "--quicklooks" in err


def test_maps_are_never_written_over_the_inputs(capsys, scenes, tmp_path):
    """``had score m maps/*.npy --out maps``: each map would replace the file it is scored from; refused before any
    file is scored, every input untouched."""
    folder, model, cubes, _ = scenes
    for name in NAMES:
        np.save(tmp_path / f"{name}.npy", cubes[name])
    before = {name: (tmp_path / f"{name}.npy").read_bytes() for name in NAMES}
    code, out, err = run_cli(capsys, "score", str(model), *(str(tmp_path / f"{n}.npy") for n in NAMES), "--out",
                             str(tmp_path), "--map-format", "npy")
    assert code == 2 and err.count("\n") == 1 and "is the input file" in err and "give --out a folder other" in err
    assert out == "" and {name: (tmp_path / f"{name}.npy").read_bytes() for name in NAMES} == before


def test_an_out_folder_below_a_file_or_a_map_name_taken_by_a_folder_is_refused_first(capsys, scenes, tmp_path):
    """``--out notes.txt/maps`` cannot be created, and a folder named like a map (``maps/b.npy/``) cannot be
    renamed over: both are one line before any file is scored, nothing written."""
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = score(capsys, scenes, tmp_path / "notes.txt" / "maps", "--map-format", "npy")
    assert code == 2 and err.count("\n") == 1 and "which is a file; give a folder for the maps" in err, err
    (tmp_path / "maps" / "b.npy").mkdir(parents=True)
    code, out, err = score(capsys, scenes, tmp_path / "maps", "--map-format", "npy")
    assert code == 2 and err.count("\n") == 1 and "b.npy is a folder, not a file" in err, err
    assert out == "" and sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["b.npy"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_tables_get_npy_and_scenes_geotiff_by_default(capsys, scenes, tmp_path):
    """The default map format (auto): a scene's map is a GeoTIFF, a table's scores an .npy (was: .tif for every
    file, so each table failed with "a GeoTIFF map is (H, W)"); --map-format tif on a table still says so; a
    table's .npy map over its input is refused as before."""
    folder, model, cubes, rx = scenes
    rows = cubes["b"].reshape(-1, 6)[:50]
    np.save(tmp_path / "rows.npy", rows)
    code, out, err = run_cli(capsys, "score", str(model), str(tmp_path / "rows.npy"), str(folder / "a.hdr"),
                             "--out", str(tmp_path / "maps"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["a.tif", "rows.npy"]
    np.testing.assert_allclose(np.load(tmp_path / "maps" / "rows.npy"), rx.decision_function(rows), rtol=1e-9)
    assert f"wrote {tmp_path / 'maps' / 'rows.npy'}" in out and f"wrote {tmp_path / 'maps' / 'a.tif'}" in out
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "rows.npy"), "--out", str(tmp_path / "tif"),
                           "--map-format", "tif")
    assert code == 1 and "a GeoTIFF map is (H, W)" in err
    before = (tmp_path / "rows.npy").read_bytes()
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "rows.npy"), str(folder / "a.hdr"), "--out",
                           str(tmp_path))
    assert code == 2 and "is the input file" in err and (tmp_path / "rows.npy").read_bytes() == before


def test_map_names_are_stems_with_parents_where_they_clash():
    assert score_many.map_names(["x/line.hdr", "y/line.hdr", "z.hdr", "hydice"]) == ["x_line", "y_line", "z", "hydice"]
    assert score_many.map_names(["p/x/line.hdr", "q/x/line.hdr"]) == ["p_x_line", "q_x_line"]


def test_ray_tasks_ask_for_the_models_resources(monkeypatch, scenes, tmp_path):
    from test_grid_executors import FakeRay

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    folder, model = scenes[0], scenes[1]
    jobs, _ = score_many.plan(str(model), [str(folder / "a.hdr"), str(folder / "b.hdr")], tmp_path, suffix="npy")
    results = score_many.score_files(jobs, "ray")
    assert [r.error for r in results] == [None, None] and not fake.up
    assert fake.asked == [{"num_cpus": 1.0, "num_gpus": 0.0}] * 2  # rx scores eagerly with one CPU


def test_a_local_ray_scores_the_files(capsys, scenes, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'had[ray]')")
    code, _, err = score(capsys, scenes, tmp_path, "--map-format", "npy", "--executor", "ray")
    assert code == 0, err
    check_maps(tmp_path, scenes)
    assert not ray.is_initialized()


def test_an_out_that_is_a_file_is_refused_first(capsys, scenes, tmp_path):
    """``--out notes.txt`` (a file): one line from the outputs' one check, the file kept, nothing scored."""
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = score(capsys, scenes, tmp_path / "notes.txt", "--map-format", "npy")
    assert code == 2 and err.count("\n") == 1, err
    assert "notes.txt is a file, not a folder; give a folder for the maps (it is created if missing)" in err
    assert (tmp_path / "notes.txt").read_text() == "mine" and out == ""


def test_a_mask_named_by_map_path_is_never_written_over(capsys, scenes, tmp_path):
    """``--data map_path=t.tif -o t.tif --overwrite`` replaced the user's target mask with the map (exit 0), and
    ``--out masks --data map_path=masks/{stem}.tif --overwrite`` each line's mask: the files a data setting names
    are inputs too, refused before any scoring."""
    pytest.importorskip("rasterio")
    folder, model, cubes, _ = scenes
    (tmp_path / "masks").mkdir()
    for name in NAMES:
        np.save(tmp_path / "masks" / f"{name}.npy", np.eye(*cubes[name].shape[:2], dtype=np.uint8))
    before = {p.name: p.read_bytes() for p in (tmp_path / "masks").iterdir()}
    mask = tmp_path / "masks" / "a.npy"
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--data", f"map_path={mask}",
                             "-o", str(mask), "--overwrite")
    assert code == 2 and err.count("\n") == 1 and f"-o {mask} is the input file {mask}" in err, err
    code, out, err = score(capsys, scenes, tmp_path / "masks", "--data", f"map_path={tmp_path}/masks/{{stem}}.npy",
                           "--map-format", "npy", "--overwrite")
    assert code == 2 and err.count("\n") == 1 and "is the input file" in err, err
    assert {p.name: p.read_bytes() for p in (tmp_path / "masks").iterdir()} == before


def test_auto_maps_of_scene_files_are_geotiffs_whatever_npy_lies_beside(capsys, scenes, tmp_path):
    """With --map-format auto an ENVI line's map is NAME.tif; a user's NAME.npy in the folder (a mask) was
    counted as the map: refused without --overwrite, and --skip-existing skipped the line, no GeoTIFF made."""
    pytest.importorskip("rasterio")
    folder, model, _, _ = scenes
    (tmp_path / "maps").mkdir()
    np.save(tmp_path / "maps" / "a.npy", np.zeros(3))
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--out", str(tmp_path / "maps"),
                             "--skip-existing")
    assert code == 0 and "skipped" not in out + err and (tmp_path / "maps" / "a.tif").is_file(), out + err
    (tmp_path / "maps" / "a.tif").unlink()
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--out", str(tmp_path / "maps"))
    assert code == 0 and (tmp_path / "maps" / "a.tif").is_file(), err
    np.testing.assert_array_equal(np.load(tmp_path / "maps" / "a.npy"), np.zeros(3))


def test_json_of_tile_scoring_names_the_engine_and_no_map_for_a_failed_file(capsys, scenes, tmp_path):
    """``had score --json`` gave ``engine`` only for data scored in memory; with --out, a file that failed still
    reported the map path it never wrote."""
    folder, model, _, _ = scenes
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "-o", str(tmp_path / "a.npy"),
                             "--json")
    assert code == 0 and json.loads(out)["engine"] == "eager", err
    (tmp_path / "broken.hdr").write_text("ENVI\nsamples = 4\n")
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "b.hdr"), str(tmp_path / "broken.hdr"),
                             "--out", str(tmp_path / "maps"), "--map-format", "npy", "--json")
    results = {Path(r["dataset"]).name: r for r in json.loads(out)}
    assert code == 1 and results["broken.hdr"]["error"] and results["broken.hdr"]["map"] is None
    assert results["b.hdr"]["map"] == str(tmp_path / "maps" / "b.npy") and results["b.hdr"]["engine"] == "eager"


def test_a_scene_whose_wavelengths_are_not_the_models_is_refused(capsys, tmp_path):
    """A model's input spec held only its band count: a scene of another range (or the same bands reversed) was
    scored as if its bands were the model's, exit 0. had fit records the wavelengths; had score refuses bands more
    than half a band spacing away, and takes small shifts (another flight's calibration) and scenes without."""
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(30, 20, 8)) + 5).astype(np.float32)
    nm = [400.0, 460.0, 520.0, 580.0, 640.0, 700.0, 760.0, 820.0]
    save_envi(tmp_path / "a.hdr", X, "bil", wavelength=nm)
    save_envi(tmp_path / "swir.hdr", X, "bil", wavelength=[1500.0 + 100 * i for i in range(8)])
    save_envi(tmp_path / "rev.hdr", X[..., ::-1], "bil", wavelength=nm[::-1])
    save_envi(tmp_path / "shifted.hdr", X, "bil", wavelength=[w / 1000 + 0.003 for w in nm])  # micrometres
    save_envi(tmp_path / "plain.hdr", X, "bil")
    assert run_cli(capsys, "fit", "rx", str(tmp_path / "a.hdr"), "-o", str(tmp_path / "m"))[0] == 0
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["input_spec"]["wavelengths"] == nm
    for name, why in (("swir", "band 1 is at 1500 nm here and 400 nm in the model"),
                      ("rev", "(the same bands in reverse order)")):
        code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / f"{name}.hdr"), "-o",
                               str(tmp_path / f"{name}.npy"))
        assert code == 2 and err.count("\n") == 1 and "its bands are not the model's" in err and why in err, err
        assert not (tmp_path / f"{name}.npy").exists()
    for name in ("shifted", "plain"):
        code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / f"{name}.hdr"), "-o",
                               str(tmp_path / f"{name}.npy"))
        assert code == 0, err


def test_skip_existing_does_not_take_the_input_for_its_map(tmp_path):
    """`had score m sc/c.npy --out sc --skip-existing` said "skipped, sc/c.npy exists" (the input itself) and
    scored nothing, exit 0; without the flag it is refused as the map being the input file. Now refused both ways."""
    import subprocess
    import sys

    import had

    cube = np.random.default_rng(0).normal(size=(12, 10, 4))
    (tmp_path / "sc").mkdir()
    np.save(tmp_path / "sc" / "c.npy", cube)
    had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    before = (tmp_path / "sc" / "c.npy").read_bytes()
    for extra in ([], ["--skip-existing"]):
        run = subprocess.run([sys.executable, "-m", "had.cli", "score", str(tmp_path / "m"), str(tmp_path / "sc" / "c.npy"),
                              "--out", str(tmp_path / "sc"), "--map-format", "npy", *extra], capture_output=True, text=True)
        assert run.returncode == 2, (extra, run.stdout, run.stderr)
        assert "skipped" not in run.stdout and "input" in run.stderr
    assert (tmp_path / "sc" / "c.npy").read_bytes() == before


def test_two_inputs_mapped_to_one_name_are_both_named(tmp_path):
    """Two inputs whose maps take one name were said as "the map and the map both name OUT/NAME"."""
    from had.errors import InvalidInputError
    from had.score_output import check_outputs

    outputs = [("the map of x/a.npy", str(tmp_path / "a.npy")), ("the map of y/a.npy", str(tmp_path / "a.npy"))]
    with pytest.raises(InvalidInputError, match=r"the map of x/a.npy and the map of y/a.npy both name"):
        check_outputs(outputs, [], str(tmp_path / "m"), fix="")


def test_a_job_whose_process_died_leaves_no_temporary_map(tmp_path):
    """A worker killed while writing `so/b.npy` left `so/.b.npy.<hex>.npy` after had score ended."""
    from had.score_many import ScoreJob, job_failed

    stale = tmp_path / ".b.npy.0123abcd.npy"  # no writer holds it: its process is gone
    stale.write_bytes(b"half a map")
    mine = tmp_path / "notes.npy"
    mine.write_bytes(b"the user's")
    result = job_failed(ScoreJob("m", "b.npy", str(tmp_path / "b.npy")), RuntimeError("its process died"))
    assert result.error and not stale.exists() and mine.read_bytes() == b"the user's"


def test_a_worker_process_keeps_a_map_that_appeared_after_had_looked(scenes, tmp_path):
    """The planning process notes which maps were absent, but a worker process (spawned) had not looked itself,
    so it replaced a file that appeared at a map's path after the check. The job now carries what was absent."""
    folder, model, _, _ = scenes
    out = tmp_path / "maps"
    jobs, _ = score_many.plan(str(model), [str(folder / f"{n}.hdr") for n in NAMES], out, suffix="npy")
    assert all(job.absent == (job.output,) for job in jobs)
    appeared = Path(jobs[1].output)
    appeared.write_bytes(b"the user's file, written after had looked")
    results = score_many.score_files(jobs, "processes", workers=2)
    by_name = {Path(r.dataset).stem: r for r in results}
    assert by_name["b"].error and "appeared" in by_name["b"].error
    assert appeared.read_bytes() == b"the user's file, written after had looked"
    assert not by_name["a"].error and not by_name["c"].error
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "b.npy", "c.npy"]  # no temporary file left


def test_map_names_tell_apart_suffixes_and_names_joined_like_parents(tmp_path):
    """An audit: line01.hdr and line01.tif in one folder were refused as "the same file"; sub/line01 and a real
    sub_line01 both named maps/sub_line01.tif, a fix --out cannot take; an ENVI scene given by its header and its
    data file was "the same file" too, its fix unsaid."""
    assert score_many.map_names(["m/line01.hdr", "m/line01.tif"]) == ["line01.hdr", "line01.tif"]
    assert score_many.map_names(["s/line01.hdr", "s/sub/line01.hdr", "s/sub_line01.hdr"]) == [
        "s_line01", "sub_line01", "sub_line01-2"]
    with pytest.raises(had.ConfigError, match=r"s/line01.hdr and s/line01.img are one ENVI scene, its header and "
                                              r"its data file: give the header alone \(for example s/\*.hdr\)"):
        score_many.map_names(["s/line01.hdr", "s/line01.img"])
    with pytest.raises(had.ConfigError, match="are the same file"):
        score_many.map_names(["s/a.npy", "./s/a.npy"])


def test_each_files_notes_are_said_under_its_line(capsys, scenes, tmp_path):
    """An audit: with --out, every file's notes were dropped (here: a map info that cannot be read, whose map
    then came out without a place, unsaid)."""
    folder, model, cubes, _ = scenes
    save_envi(tmp_path / "typo.hdr", cubes["a"], "bil", map_info=["UTM", 1, 1, 500000, "4OOOOOO", 30, 30, 11,
                                                                  "North", "WGS-84"])
    code, out, err = run_cli(capsys, "score", str(model), str(tmp_path / "typo.hdr"), str(folder / "b.hdr"),
                             "--out", str(tmp_path / "maps"))
    assert code == 0, err
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{tmp_path / 'typo.hdr'}: "))
    assert lines[at + 1].startswith("  not georeferenced: the input's map info {UTM, 1, 1, 500000, 4OOOOOO"), out
    assert not any("georeferenced" in line for line in lines if "b.hdr" in line or line.startswith("  ") and
                   "typo" not in line and "4OOOOOO" not in line)  # b's map is placed: nothing to say of it


def test_skip_existing_keeps_only_a_files_own_map_and_finishes_a_lone_leftover(capsys, scenes, tmp_path):
    """An audit: yesterday's maps of lines with today's names were taken as today's (scoring 0 files, exit 0);
    a map without its quicklook (a run stopped between the two renames, or run before without --quicklooks) was
    refused with "add --skip-existing", which was given."""
    folder, model, cubes, _ = scenes
    yesterday, today = tmp_path / "day1", tmp_path / "day2"
    yesterday.mkdir()
    today.mkdir()
    save_envi(yesterday / "a.hdr", cubes["a"], "bil", map_info=UTM)
    save_envi(today / "a.hdr", cubes["b"], "bil", map_info=UTM)
    maps = tmp_path / "maps"
    assert run_cli(capsys, "score", str(model), str(yesterday / "a.hdr"), "--out", str(maps))[0] == 0
    before = (maps / "a.tif").read_bytes()
    code, _, err = run_cli(capsys, "score", str(model), str(today / "a.hdr"), "--out", str(maps), "--skip-existing")
    assert code == 2 and f"is the map of {yesterday / 'a.hdr'}, not of {today / 'a.hdr'}" in err, err
    assert (maps / "a.tif").read_bytes() == before  # kept, not replaced
    code, out, err = run_cli(capsys, "score", str(model), str(yesterday / "a.hdr"), "--out", str(maps),
                             "--skip-existing", "--quicklooks")
    assert code == 0 and "scoring 1 file(s)" in out and (maps / "a.png").is_file(), err  # the map's own file
    (maps / "other.tif").write_bytes((maps / "a.tif").read_bytes())
    import rasterio

    with rasterio.open(maps / "a.tif") as src:
        profile, data = src.profile, src.read()
    with rasterio.open(maps / "c.tif", "w", **profile) as dst:  # a GeoTIFF of the user's with a map's name
        dst.write(data)
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "c.hdr"), "--out", str(maps), "--skip-existing")
    assert code == 2 and "c.tif is not a map had wrote (no HAD_DATASET tag)" in err, err


def test_engine_onnx_without_model_onnx_is_one_error_before_any_file(capsys, scenes, tmp_path):
    code, out, err = score(capsys, scenes, tmp_path / "maps", "--engine", "onnx")
    assert code == 2 and err.count("error:") == 1 and "has no model.onnx; export it first" in err, err
    assert "scoring" not in out


def test_workers_without_the_processes_executor_is_said(capsys, scenes, tmp_path):
    """An audit: --workers 2 without --executor processes ran one file at a time without a word."""
    code, out, err = score(capsys, scenes, tmp_path / "maps", "--workers", "2")
    assert code == 0, err
    assert out.splitlines()[0] == ("note: --workers 2 applies to --executor processes; serial runs one at a time "
                                   "(add --executor processes)")
    code, out, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--workers", "2",
                             "--no-plots")
    assert code == 0 and "[bench] note: --workers 2 applies to --executor processes" in err, err


def test_a_quoted_double_star_pattern_reaches_subfolders_and_a_pattern_matching_nothing_is_said(tmp_path):
    """An audit: 'scenes/**/*.hdr' (quoted) scored the top folder's files alone, exit 0; 'scenes/*.HDR' was "data
    file scenes/*.HDR does not exist", exit 1."""
    (tmp_path / "s" / "sub").mkdir(parents=True)
    for name in ("s/a.hdr", "s/sub/b.hdr"):
        (tmp_path / name).write_text("ENVI\n")
    assert score_many.expand([str(tmp_path / "s" / "**" / "*.hdr")]) == [str(tmp_path / "s/a.hdr"),
                                                                        str(tmp_path / "s/sub/b.hdr")]
    with pytest.raises(had.ConfigError, match=r"no file matches .*\*\.HDR \(matching is case-sensitive\)"):
        score_many.expand([str(tmp_path / "s" / "*.HDR")])


def test_skip_existing_never_replaces_what_it_cannot_tell_is_the_files_own(capsys, scenes, tmp_path):
    """A review: --skip-existing replaced a picture of the user's named like a quicklook, and the .npy map of
    another input of the same name (a .npy records no origin); both were refused before, and are again, saying
    what to do."""
    folder, model, cubes, _ = scenes
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "a.png").write_bytes(b"my holiday photo")
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), "--out", str(maps), "--quicklooks",
                           "--skip-existing")
    assert code == 2 and "a.png exists without its map (a file of yours, or had's before 6 December 2026" in err, err
    assert (maps / "a.png").read_bytes() == b"my holiday photo"
    other = tmp_path / "d1"
    other.mkdir()
    save_envi(other / "b.hdr", cubes["a"], "bil", map_info=UTM)
    npy_maps = tmp_path / "npy"
    assert run_cli(capsys, "score", str(model), str(other / "b.hdr"), "--out", str(npy_maps), "--map-format",
                   "npy")[0] == 0
    before = (npy_maps / "b.npy").read_bytes()
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "b.hdr"), "--out", str(npy_maps),
                           "--map-format", "npy", "--skip-existing", "--quicklooks")
    if had.maps.keeps_origins(str(npy_maps)):  # the .npy map records its input (an extended attribute)
        assert code == 2 and f"is the map of {(other / 'b.hdr').resolve()}, not of" in err, err
    assert (npy_maps / "b.npy").read_bytes() == before


def test_a_files_notes_do_not_repeat_its_line():
    """A review: the metrics line was said again under the file's line; a raster's placed heat map was noted as
    if it had no place; a quicklook not drawn was dropped."""
    summary = {"metrics": {"auroc": 1.0, "auc_pf_tau": 0.02}}
    said = ["scored with rx, tile by tile", "a: 3 of 234 above the threshold 1", "  auroc 1.0000, auc_pf_tau 0.0200",
            "  note: 2 bands marked bad", "wrote m.tif (the tile scores as a heat map on the raster's 5x5 grid, "
            "georeferenced)", "no quicklook for r: its images have no place on a raster",
            "wrote n.tif (not georeferenced: the input has no map transform)"]
    assert score_many.file_notes(said, summary) == [
        "note: 2 bands marked bad", "no quicklook for r: its images have no place on a raster",
        "not georeferenced: the input has no map transform"]


def test_numbered_map_names_do_not_meet_a_real_name_nor_follow_the_arguments_order():
    names = score_many.map_names(["s/line01.hdr", "s/sub/line01.hdr", "s/sub_line01.hdr", "s/sub_line01-2.hdr"])
    assert len(set(names)) == 4 and names[3] == "sub_line01-2"
    again = score_many.map_names(["s/sub_line01.hdr", "s/sub/line01.hdr", "s/line01.hdr"])
    assert dict(zip(["s/sub_line01.hdr", "s/sub/line01.hdr"], again)) == {"s/sub_line01.hdr": "sub_line01-2",
                                                                          "s/sub/line01.hdr": "sub_line01"}


def test_a_file_given_twice_leaves_no_out_folder(capsys, scenes, tmp_path):
    """An audit: the refusal of a repeated input came after --out was created, leaving an empty folder."""
    folder, model, _, _ = scenes
    code, _, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), f"{folder}/./a.hdr",
                           "--out", str(tmp_path / "maps"))
    assert code == 2 and "the same file" in err, err
    assert not (tmp_path / "maps").exists()


def test_skip_existing_replaces_a_lone_quicklook_that_had_drew_of_the_same_file(capsys, scenes, tmp_path):
    """A run stopped between the quicklook's rename and the map's left the quicklook alone; --skip-existing
    refused it ("remove it"), as it could not tell it from a picture of the user's. A quicklook now records its
    input (PNG text ``HAD_DATASET``): had's own of this file is replaced, another file's is still refused."""
    from had.maps import png_origin

    folder, model, _, _ = scenes
    maps = tmp_path / "maps"
    args = ["score", str(model), str(folder / "a.hdr"), "--out", str(maps), "--quicklooks"]
    assert run_cli(capsys, *args)[0] == 0
    assert png_origin(maps / "a.png") == str((folder / "a.hdr").resolve())
    (maps / "a.tif").unlink()  # as a stop between the two renames leaves it
    code, out, err = run_cli(capsys, *args, "--skip-existing")
    assert code == 0 and (maps / "a.tif").is_file() and "scoring 1 file(s)" in out + err, out + err
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    for part in folder.glob("a.*"):  # the same scene, header and data, in another folder
        (elsewhere / part.name).write_bytes(part.read_bytes())
    (maps / "a.tif").unlink()
    code, _, err = run_cli(capsys, "score", str(model), str(elsewhere / "a.hdr"), "--out", str(maps), "--quicklooks",
                           "--skip-existing")
    assert code == 2 and "a.png exists without its map" in err, err


def test_a_quicklook_of_a_file_whose_name_is_not_utf8_records_it(scenes, tmp_path):
    """A review: the name's undecodable bytes (kept as surrogates) made Pillow raise UnicodeEncodeError writing
    the PNG text, and the map scored before it was lost (traceback, exit 1)."""
    from had.maps import is_quicklook_of

    folder, model, _, _ = scenes
    stem = os.fsdecode(b"sc\xe9ne")
    for part in folder.glob("a.*"):
        (tmp_path / (stem + part.suffix)).write_bytes(part.read_bytes())
    scene = tmp_path / f"{stem}.hdr"
    from had.score_file import score_to_map

    score_to_map(str(model), str(scene), str(tmp_path / "s.npy"), png=str(tmp_path / "q.png"), echo=lambda line: None)
    assert (tmp_path / "s.npy").is_file()
    assert is_quicklook_of(tmp_path / "q.png", str(scene)) and not is_quicklook_of(tmp_path / "q.png", "other")


def test_a_file_given_twice_is_scored_once_and_that_is_said(capsys, scenes, tmp_path):
    """Was scored once unsaid ("scoring 1 file(s)" for two names given: a flight-line probe of 7 December 2026)."""
    folder, model, _, _ = scenes
    code, out, err = run_cli(capsys, "score", str(model), str(folder / "a.hdr"), str(folder / "a.hdr"),
                             str(folder / "b.hdr"), "--out", str(tmp_path / "maps"))
    assert code == 0, err
    assert f"note: {folder / 'a.hdr'} given more than once: scored once" in out + err
    assert sorted(p.name for p in (tmp_path / "maps").glob("*.tif")) == ["a.tif", "b.tif"]
