"""`had bench` loses no finished work: per-cell atomic CSV, failed cells as rows, exit 1, --resume."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_reliability_cli import run_cli

from had import bench


def read_csv(path):
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def test_a_missing_dataset_does_not_abort_the_grid(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "empty-data"))
    out = tmp_path / "bench"
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table,hydice",
                                "--seeds", "2", "--out", str(out), "--no-plots")
    assert code == 1
    assert "error: 2 of 4 cells failed" in err and "--resume" in err
    rows = read_csv(out / "results.csv")
    assert [(r["dataset"], r["seed"]) for r in rows] == [("synthetic-table", "0"), ("synthetic-table", "1"),
                                                          ("hydice", "0"), ("hydice", "1")]
    assert list(rows[0])[-3:] == ["fit_s", "score_s", "error"]
    assert all(r["error"] == "" and 0.5 < float(r["auroc"]) <= 1 for r in rows[:2])
    assert all("HYDICE_data.mat is not in the data directory" in r["error"] and r["auroc"] == "" for r in rows[2:])
    assert "## Failed cells" in (out / "results.md").read_text()
    assert "| synthetic-table | rx | 2 |" in stdout


def test_resume_keeps_finished_cells_and_retries_failed_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "empty-data"))
    out = tmp_path / "bench"
    run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table,hydice", "--out", str(out),
            "--no-plots")
    first = read_csv(out / "results.csv")
    lines = []
    result = bench.run(["rx"], ["synthetic-table", "hydice", "synthetic-scene"], [0], out=out, plots=False,
                       resume=True, echo=lines.append)
    rows = read_csv(out / "results.csv")
    assert rows[0] == first[0]  # kept as written, not re-run (same fit_s)
    assert not any("rx on synthetic-table" in line and "..." in line for line in lines)
    assert [(r["dataset"], bool(r["error"])) for r in rows] == [("synthetic-table", False), ("hydice", True),
                                                               ("synthetic-scene", False)]
    assert len(result.failed) == 1 and "resuming: 1 finished cell(s) kept" in lines[0]


def test_each_cell_is_on_disk_when_the_next_starts(tmp_path):
    out = tmp_path / "bench"
    seen = []

    def echo(line):
        if line.endswith("..."):
            path = out / "results.csv"
            seen.append(len(read_csv(path)) if path.exists() else 0)

    bench.run(["rx"], ["synthetic-table"], [0, 1, 2], out=out, plots=False, echo=echo)
    assert seen == [0, 1, 2]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_detector_that_raises_is_a_failed_row(tmp_path, monkeypatch):
    from had.rx import RX

    def broken(self, X, y=None):
        raise RuntimeError("boom in fit")

    monkeypatch.setattr(RX, "fit", broken)
    result = bench.run(["rx"], ["synthetic-table"], [0], out=tmp_path, plots=False, echo=lambda _: None)
    assert result.failed[0]["error"] == "RuntimeError: boom in fit"
    assert read_csv(tmp_path / "results.csv")[0]["error"] == "RuntimeError: boom in fit"


def test_resume_refuses_a_foreign_csv_and_needs_out(tmp_path, capsys):
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out",
                           str(tmp_path), "--resume")
    assert code == 2 and "is not a had bench results file" in err
    assert (tmp_path / "results.csv").read_text() == "a,b\n1,2\n"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--resume")
    assert code == 2 and "--resume needs --out" in err


def test_the_users_own_files_in_out_are_never_replaced(tmp_path, capsys):
    """A folder holding files with the grid's output names but no had bench results.csv (someone's own
    results.csv, notes, report) is refused before any cell runs, every file untouched; a file given as --out is
    refused."""
    own = {"results.csv": "my,own,data\n", "results.md": "# my notes\n", "report.html": "<p>mine</p>\n",
           "roc_synthetic-table.png": "not a png"}
    for name, text in own.items():
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_text(text)
        (folder / "other.txt").write_text("kept")
        code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out",
                               str(folder))
        assert code == 2 and err.count("\n") == 1 and f"holds {name}, not written by had bench" in err, err
        assert sorted(p.name for p in folder.iterdir()) == sorted([name, "other.txt"])
        assert (folder / name).read_text() == text
    (tmp_path / "a_file").write_text("kept")
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out",
                           str(tmp_path / "a_file"))
    assert code == 2 and "is a file; give a folder" in err
    assert (tmp_path / "a_file").read_text() == "kept"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out",
                           str(tmp_path / "a_file" / "grid"))  # refused before the first cell, not after it
    assert code == 2 and err.count("\n") == 1 and "[bench]" not in err and "which is a file" in err, err
    assert (tmp_path / "a_file").read_text() == "kept"


def test_an_earlier_grids_cells_are_kept_unless_resume_or_overwrite_is_given(tmp_path, capsys):
    """A fresh grid into a folder holding an earlier grid's cells would rewrite its results.csv with only its own
    first cell: refused (exit 2, every file byte for byte) unless --resume (keep them) or --overwrite (replace
    them) is given; both at once are refused too. A results.csv with a header and no cells is written over."""
    earlier = ["--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "0,1", "--no-plots", "--out",
               str(tmp_path)]
    assert run_cli(capsys, "bench", *earlier)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fresh = ["--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2,3", "--no-plots", "--out",
             str(tmp_path)]
    code, _, err = run_cli(capsys, "bench", *fresh)
    assert code == 2 and err.count("\n") == 1, err
    assert "holds an earlier grid's results (2 cell(s)" in err and "--resume" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    code, _, err = run_cli(capsys, "bench", *fresh, "--resume", "--overwrite")
    assert code == 2 and "give one" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert run_cli(capsys, "bench", *fresh, "--resume")[0] == 0
    assert sorted(int(row["seed"]) for row in read_csv(tmp_path / "results.csv")) == [0, 1, 2, 3]
    assert run_cli(capsys, "bench", *fresh, "--overwrite")[0] == 0
    assert [int(row["seed"]) for row in read_csv(tmp_path / "results.csv")] == [2, 3]
    header_only = tmp_path / "header_only"
    header_only.mkdir()
    (header_only / "results.csv").write_text("detector,dataset,seed,auroc\n")
    assert run_cli(capsys, "bench", *fresh[:-1], str(header_only))[0] == 0
    assert len(read_csv(header_only / "results.csv")) == 2


def test_an_undefined_metric_is_an_empty_cell_with_a_note(tmp_path, monkeypatch):
    from had.rx import RX

    monkeypatch.setattr(RX, "decision_function", lambda self, X: np.zeros(np.shape(X)[0]))
    result = bench.run(["rx"], ["synthetic-table"], [0], out=tmp_path, plots=False, echo=lambda _: None,
                       metrics=["auroc", "auc_pf_tau"])
    row = read_csv(tmp_path / "results.csv")[0]
    assert row["auroc"] == "0.5" and row["auc_pf_tau"] == "" and row["error"] == ""
    assert "auc_pf_tau of rx on synthetic-table (seed 0) not computed" in result.notes[0]
    assert "## Notes" in (tmp_path / "results.md").read_text()


def test_notes_alike_but_for_their_seed_are_said_once_with_their_seeds(tmp_path, monkeypatch):
    """A metric undefined on every seed was noted once per seed in results.md and report.html (a note of 7
    December 2026): three seeds, three notes alike. Said once now, with the seeds; other notes as they were."""
    from had.bench_report import merged_notes
    from had.rx import RX

    monkeypatch.setattr(RX, "decision_function", lambda self, X: np.zeros(np.shape(X)[0]))
    result = bench.run(["rx"], ["synthetic-table"], [0, 1, 2], out=tmp_path, plots=False, echo=lambda _: None,
                       metrics=["auroc", "auc_pf_tau"])
    assert len(result.notes) == 3  # one per seed as the cells finish (the terminal's)
    md = (tmp_path / "results.md").read_text()
    assert md.count("not computed") == 1 and "auc_pf_tau of rx on synthetic-table (seeds 0, 1, 2) not computed" in md
    assert merged_notes(["a (seed 3) {x}", "b", "a (seed 4) {x}", "c (seed 1) and (seed 2)", "d (seed 5)"]) == [
        "a (seeds 3, 4) {x}", "b", "c (seed 1) and (seed 2)", "d (seed 5)"]


@pytest.mark.parametrize("seeds", [[0]])
def test_unknown_names_still_fail_fast(tmp_path, capsys, seeds):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "nope", "--out", str(tmp_path))
    assert code == 2 and "unknown datasource 'nope'" in err
    assert not (tmp_path / "results.csv").exists()


def test_an_unlabelled_file_is_a_failed_row_that_says_why(tmp_path, capsys):
    cube = tmp_path / "cube.npy"
    np.save(cube, np.random.default_rng(0).normal(size=(12, 12, 4)).astype("float32"))
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", str(cube), "--seeds", "1",
                           "--out", str(tmp_path / "out"), "--no-plots")
    assert code == 1 and "auroc nan" not in err
    row = read_csv(tmp_path / "out" / "results.csv")[0]
    assert row["auroc"] == "" and "has no ground truth" in row["error"] and "had score" in row["error"]


def test_a_split_whose_test_part_holds_one_class_finishes_the_grid(tmp_path, capsys):
    """Six rows with one anomaly: the adbench split leaves one class in the scored part. Each metric is a note; the
    ROC figure, which needs both classes, is skipped with a note (was: LabelError after every cell had run, no
    results.md nor report.html, exit 1)."""
    pytest.importorskip("matplotlib")
    rows, truth = tmp_path / "rows.npy", tmp_path / "truth.npy"
    np.save(rows, np.random.default_rng(0).normal(size=(6, 2)))
    np.save(truth, np.array([0, 0, 0, 1, 0, 0]))
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", str(rows), "--data",
                                f"{rows}.labels={truth}", "--protocol", "adbench", "--seeds", "2",
                                "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert "auroc nan" not in stdout + err and "auroc not computed (see the notes)" in stdout + err
    md = (tmp_path / "out" / "results.md").read_text()
    assert "no ROC figure for rows: the scored samples hold one class only" in md
    assert "auroc of rx on rows (seeds 0, 1) not computed" in md and (tmp_path / "out" / "report.html").is_file()
    assert "(seed 0)" not in md and "(seeds 0, 1)" in (tmp_path / "out" / "report.html").read_text()
    assert [r["auroc"] for r in read_csv(tmp_path / "out" / "results.csv")] == ["", ""]


def test_a_scene_whose_file_name_is_not_utf8_is_benchmarked_and_resumed(tmp_path):
    """A name with bytes that are not UTF-8 (kept by Python as surrogates) made the results table unwritable
    (`UnicodeEncodeError` traceback after the cell ran); now its bytes are written back as they were, so the
    table reads back to the same name and ``--resume`` keeps the cell."""
    name = os.path.join(os.fsencode(tmp_path), b"sc\xffene.npz")
    try:
        rng = np.random.default_rng(0)
        truth = np.zeros((12, 10), dtype=np.uint8)
        truth[3, 4] = 1
        cube = rng.normal(size=(12, 10, 5))
        cube[3, 4] += 8.0
        with open(name, "wb") as fh:
            np.savez(fh, data=cube, map=truth)
    except OSError:
        pytest.skip("this file system refuses file names that are not valid UTF-8")
    out = tmp_path / "bench"
    lines = []
    bench.run(["rx"], [os.fsdecode(name)], [0], out=out, plots=False, echo=lines.append)
    first = read_csv(out / "results.csv")
    assert first[0]["dataset"] == os.fsdecode(b"sc\xffene") and float(first[0]["auroc"]) == 1.0
    assert b"sc\xffene" in (out / "results.csv").read_bytes()
    bench.run(["rx"], [os.fsdecode(name)], [0], out=out, plots=False, resume=True, echo=lines.append)
    assert "1 finished cell(s) kept" in " ".join(lines) and read_csv(out / "results.csv") == first
    # the CLI prints the name's bytes as they are, under a strict UTF-8 locale too (en_US.UTF-8's stdout)
    done = subprocess.run([sys.executable, "-m", "had.cli", "bench", "--detectors", "rx", "--datasets",
                           os.fsdecode(name), "--out", str(tmp_path / "cli"), "--no-plots"], capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert b"rx on sc\xffene (seed 0)" in done.stdout + done.stderr and b"Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no folder can be made")
def test_an_output_folder_that_cannot_be_made_is_refused_before_any_cell(tmp_path, capsys):
    """`out = "/proc/x"` (or any folder that cannot be created or written): one line before the first cell runs
    (was: a cell ran, then its result could not be kept)."""
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table",
                                "--out", "/proc/had-no-such-folder", "--no-plots")
    assert code == 2, err
    assert "the output folder /proc/had-no-such-folder cannot be written" in err and "Traceback" not in err
    assert "[bench] rx on" not in stdout + err  # no cell started


def _half_nan_plugin():
    """A plugin registering RX with NaN scores on every other sample (a detector failing on some inputs)."""
    import numpy as np

    import had
    from had.rx import RX

    class HalfNaNRX(RX):
        name = "half-nan-rx"

        def decision_function(self, X):
            scores = np.array(super().decision_function(X), dtype=np.float64)
            scores.reshape(-1)[::2] = np.nan
            return scores

    class Plugin:
        @staticmethod
        @had.hookimpl
        def register_detectors(register):
            register("half-nan-rx", HalfNaNRX)

    return Plugin


def test_nan_scores_on_samples_that_are_not_fill_fail_the_cell():
    """The metrics leave NaN scores out as no data (a scene's fill pixels); a detector whose scores were NaN on
    half the samples of a table was measured on the others alone, and got a better AUROC than RX, no word said."""
    from had import plugins

    plugins.register_plugin(_half_nan_plugin(), name="half-nan-plugin")
    try:
        result = bench.run(["rx", "half-nan-rx"], ["synthetic-table"], [0], plots=False, echo=lambda line: None)
    finally:
        plugins.unregister_plugin("half-nan-plugin")
    rows = {row["detector"]: row for row in result.rows}
    assert not rows["rx"].get("error") and rows["rx"]["auroc"] > 0.5
    assert "scores are NaN on samples that are not the data's fill" in rows["half-nan-rx"]["error"]


def test_a_plugin_registered_in_this_process_is_refused_for_worker_executors():
    """A detector registered with had.plugins.register_plugin passed the parent's checks, then every cell failed
    in the worker processes with "unknown detector" (they load the installed distributions only)."""
    from had import plugins
    from had.errors import ConfigError

    plugins.register_plugin(_half_nan_plugin(), name="half-nan-plugin")
    try:
        with pytest.raises(ConfigError, match="registered in this process .* which processes workers do not load"):
            bench.run(["half-nan-rx"], ["synthetic-table"], [0], plots=False, executor="processes",
                      echo=lambda line: None)
    finally:
        plugins.unregister_plugin("half-nan-plugin")


def test_sigterm_stops_a_grid_as_ctrl_c_does(tmp_path):
    """``kill`` (SIGTERM, what schedulers and docker send) ended ``had bench`` where it stood (exit 143, no word;
    with Ray, Ray's C++ stack dump and exit 134): it now goes through the interrupt's cleanup, says "stopped
    (SIGTERM)", exits 143, and the finished cells are whole on disk."""
    import signal
    import time

    out = tmp_path / "bench"
    proc = subprocess.Popen([sys.executable, "-m", "had.cli", "bench", "--detectors", "rx", "--datasets",
                             "synthetic-table", "--seeds", "400", "--no-plots", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "results.csv").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and "stopped (SIGTERM)" in err and "Traceback" not in err, err[-2000:]
    rows = read_csv(out / "results.csv")
    assert 1 <= len(rows) < 400 and all(row["auroc"] for row in rows)
