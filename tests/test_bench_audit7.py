"""A seventh audit of ``had bench``: what a fit lowered, data changed under ``--resume``, advice the bench refused,
one file under two names.

Found by running grids by hand: ``--set pyod-knn.n_neighbors=500`` on arrhythmia (316 training rows) ran at k=315
with no word, results and grid.json saying 500; ``--resume`` kept cells computed on a file since replaced, or by a
plugin since upgraded; a CSV without a ``y`` column failed every cell with "name it with --data y_key=label", which
had bench refuses ("use --data DATASET.key=value"); ``[datasets."good.csv"]`` and ``[datasets.table-file] path =
"good.csv"`` ran the same cells twice."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from had_sdk.testing import run_cli

from had import bench


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_table(path, n=60, label="label", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.zeros(n, dtype=int)
    y[:6] = 1
    X[:6] += 4.0
    lines = [f"f0,f1,f2,{label}"] + [",".join(f"{v:.6f}" for v in x) + f",{t}" for x, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- 1. a setting the fit lowered ----------------------------------------------------------------------------
LOWERED = ["--detectors", "rx,pyod-knn,pyod-iforest", "--datasets", "synthetic-table", "--seeds", "0,1",
           "--data", "synthetic-table.n_samples=120", "--set", "pyod-knn.n_neighbors=500", "--no-plots"]


def test_a_setting_a_fit_lowered_is_said_once_per_detector_and_dataset(tmp_path, capsys):
    code, _, err = run_cli(capsys, "bench", *LOWERED, "--out", str(tmp_path))
    assert code == 0, err
    knn = [line for line in err.splitlines() if "note:" in line and "n_neighbors=500 was lowered" in line]
    assert len(knn) == 1 and "pyod-knn on synthetic-table" in knn[0], err  # once, not once per seed
    forest = [line for line in err.splitlines() if "note:" in line and "max_samples=256 was lowered" in line]
    assert len(forest) == 1 and "pyod-iforest on synthetic-table" in forest[0], err
    md = (tmp_path / "results.md").read_text()
    assert "## Notes" in md and md.count("n_neighbors=500 was lowered") == 1 and "max_samples=256" in md
    assert "n_neighbors=500 was lowered" in (tmp_path / "report.html").read_text()


def test_a_lowered_setting_comes_back_from_a_worker_process(tmp_path):
    result = bench.run(["pyod-knn"], ["synthetic-table"], [0], dataset_config={"synthetic-table": {"n_samples": 120}},
                       detector_config={"pyod-knn": {"n_neighbors": 500}}, executor="processes", workers=1,
                       plots=False, echo=lambda line: None)
    assert not result.failed
    assert [n for n in result.notes if "n_neighbors=500 was lowered" in n and n.startswith("pyod-knn on")], result.notes


# ---- 2. --resume and data or plugins changed since -------------------------------------------------------------
@pytest.fixture
def finished_on_file(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", label="y")
    out = tmp_path / "out"
    grid = ["--detectors", "rx,pyod-knn", "--datasets", str(table), "--seeds", "0,1", "--no-plots", "--out", str(out)]
    code, _, err = run_cli(capsys, "bench", *grid)
    assert code == 0, err
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:-1]))  # the last cell to run again
    return table, out, grid


def test_resume_refuses_cells_computed_on_a_data_file_changed_since(finished_on_file, capsys):
    table, out, grid = finished_on_file
    record = json.loads((out / "grid.json").read_text())
    assert str(table) in record["files"]["t"] and record["files"]["t"][str(table)]["size"] == table.stat().st_size
    assert record["files"]["t"][str(table)]["sha256"]  # a small file: its bytes compared too
    stat = table.stat()
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched (or copied): the same bytes
    code, _, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 0 and "resuming" in err, err  # was refused: "was modified"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    data = bytearray(table.read_bytes())
    last = max(i for i, b in enumerate(data) if chr(b).isdigit())
    data[last] = ord("1") if data[last] != ord("1") else ord("2")  # other bytes, the same size
    table.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 2 and err.count("\n") == 1, err
    assert str(table) in err and "was modified" in err and "other bytes of the same size" in err, err
    assert "--overwrite" in err and "--out" in err, err
    write_table(table, n=70, label="y")  # another size
    code, _, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 2 and "changed (" in err and "bytes then" in err and str(table) in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    code, _, err = run_cli(capsys, "bench", *grid, "--overwrite")
    assert code == 0 and len(rows_of(out / "results.csv")) == 4, err


def test_a_registered_dataset_resumes_from_a_moved_data_folder(tmp_path, capsys, monkeypatch):
    """A registered dataset's files are sha256-verified on every load, so the record leaves them out: a copied or
    moved HAD_DATA_DIR (the same bytes, another path and time) resumes (was: refused, "... is gone")."""
    import shutil

    import had
    from had.datadir import data_dir

    try:
        relpath = had.get_datasource("cardio").known_files()[0].relpath
    except Exception as exc:  # noqa: BLE001 - no odds plugin
        pytest.skip(f"cardio is not registered ({exc})")
    source = data_dir() / relpath
    if not source.is_file():
        pytest.skip(f"{source} is not there (set HAD_DATA_DIR)")
    out = tmp_path / "out"
    grid = ["--detectors", "rx", "--datasets", "cardio", "--no-plots", "--out", str(out)]
    code, _, err = run_cli(capsys, "bench", *grid, "--seeds", "0,1")
    assert code == 0, err
    assert json.loads((out / "grid.json").read_text())["files"] == {"cardio": {}}
    moved = tmp_path / "elsewhere" / relpath
    moved.parent.mkdir(parents=True)
    shutil.copyfile(source, moved)  # another path, another modification time, the same bytes
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "elsewhere"))
    code, _, err = run_cli(capsys, "bench", *grid, "--seeds", "0-2", "--resume")
    assert code == 0 and "resuming: 2 finished cell(s)" in err, err


def test_resume_refuses_cells_of_a_detector_whose_distribution_changed_version(finished_on_file, capsys):
    table, out, grid = finished_on_file
    record = json.loads((out / "grid.json").read_text())
    assert record["distributions"]["rx"]["distribution"] == "had" and record["had"]
    now = record["distributions"]["pyod-knn"]
    record["distributions"]["pyod-knn"] = {**now, "version": "0.0.0.dev1"}
    (out / "grid.json").write_text(json.dumps(record))
    code, _, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 2 and err.count("\n") == 1, err
    assert f"{now['distribution']} changed version (0.0.0.dev1 -> {now['version']})" in err and "--overwrite" in err


def test_a_record_of_an_earlier_had_still_resumes(finished_on_file, capsys):
    table, out, grid = finished_on_file
    record = json.loads((out / "grid.json").read_text())
    for key in ("files", "distributions", "had"):
        record.pop(key)
    (out / "grid.json").write_text(json.dumps(record))
    code, _, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 0 and "resuming: 3 finished cell(s)" in err and "not checked" in err, err
    assert len(rows_of(out / "results.csv")) == 4


# ---- 3. a data source's advice in had bench's form ----------------------------------------------------------------
def test_a_cells_data_advice_is_in_the_form_had_bench_takes(tmp_path, capsys):
    table = write_table(tmp_path / "good.csv")  # labels under 'label', no 'y'
    grid = ["--detectors", "rx", "--datasets", str(table), "--no-plots", "--out", str(tmp_path / "out")]
    code, _, err = run_cli(capsys, "bench", *grid)
    assert code == 1, err
    error = rows_of(tmp_path / "out" / "results.csv")[0]["error"]
    assert f"--data {table}.y_key=label" in error and "--data y_key" not in error, error
    code, _, err = run_cli(capsys, "bench", *grid, "--overwrite", "--data", f"{table}.y_key=label")  # as advised
    assert code == 0 and not rows_of(tmp_path / "out" / "results.csv")[0]["error"], err


# ---- 4. one file under two names ----------------------------------------------------------------------------------
def test_one_file_as_a_path_and_as_a_path_setting_is_refused(tmp_path, capsys, monkeypatch):
    write_table(tmp_path / "good.csv")
    grid = tmp_path / "grid.toml"
    grid.write_text('detectors = ["rx"]\n[datasets."good.csv"]\ny_key = "label"\n'
                    '[datasets.table-file]\npath = "good.csv"\ny_key = "label"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "bench", "--config", str(grid), "--out", str(tmp_path / "out"), "--no-plots")
    assert code == 2 and err.count("\n") == 1, err
    assert "good.csv and table-file" in err and "same file" in err and "list each dataset once" in err, err
    assert not (tmp_path / "out").exists()
    # other settings make another dataset of the file: both run
    grid.write_text('detectors = ["rx"]\n[datasets."good.csv"]\ny_key = "label"\n'
                    '[datasets.table-file]\npath = "good.csv"\ny_key = "f2"\n')
    code, _, err = run_cli(capsys, "bench", "--config", str(grid), "--out", str(tmp_path / "out"), "--no-plots")
    assert "same file" not in err, err


def test_seeds_given_as_a_count_are_said_with_the_one_seed_form(capsys, tmp_path, monkeypatch):
    """``--seeds 42`` runs seeds 0..41, unsaid (an audit's grid ran 7 cells per pair from ``seeds = 7``, meant as
    one seed): a count of 2 or more is said once, with how to give one seed (``N-N``); a list or range is not."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2",
                             "--no-plots")
    assert code == 0, err
    assert "[bench] note: --seeds 2 is a count: seeds 0-1 (seed 2 alone: --seeds 2-2)" in err
    code, out, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2-2",
                             "--no-plots")
    assert code == 0 and "is a count" not in err and "(seed 2)" in err and "(seed 0)" not in err
    (tmp_path / "grid.toml").write_text('detectors = ["rx"]\ndatasets = ["synthetic-table"]\nseeds = 3\n')
    code, out, err = run_cli(capsys, "bench", "--config", "grid.toml", "--no-plots")
    assert code == 0 and "seeds = 3 is a count: seeds 0-2" in err
