"""``had bench --resume`` keeps only cells computed with the grid's settings, and one run writes a folder at a time.

Found by running grids by hand: a resume with ``--set rx.contamination=0.3`` kept the cells run at 0.1 and
averaged them with the new ones (report.html gave them all 0.3); a results.csv cut short was read as finished
cells with the cut values; two runs resuming into one folder each rewrote results.csv from their own rows, and
one grid's cells were lost (both exit 0); a resume redrew a dataset's ROC with only the cells run again."""

from __future__ import annotations

import csv
import json

import pytest
from test_reliability_cli import run_cli

from had import bench, bench_resume

GRID = ["--detectors", "rx,pyod-pca", "--datasets", "synthetic-table", "--seeds", "0,1", "--no-plots"]


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def drop_rows(path, keep):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(line for line in lines[1:] if keep(line)))


@pytest.fixture
def finished(tmp_path, capsys):
    assert run_cli(capsys, "bench", *GRID, "--out", str(tmp_path))[0] == 0
    return tmp_path


def test_a_resume_with_other_settings_is_refused_before_any_work(finished, capsys):
    record = json.loads((finished / "grid.json").read_text())
    assert record["detectors"]["rx"]["contamination"] == 0.1 and "synthetic-table" in record["datasets"]
    drop_rows(finished / "results.csv", lambda line: not line.startswith("pyod-pca,synthetic-table,1"))
    before = {p.name: p.read_bytes() for p in finished.iterdir()}
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume", "--set", "rx.contamination=0.3")
    assert code == 2 and err.count("\n") == 1, err
    assert "rx's settings differ" in err and "contamination 0.1 then, 0.3 now" in err and "--overwrite" in err
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume", "--data",
                           "synthetic-table.n_samples=300")
    assert code == 2 and "synthetic-table's settings differ" in err and "n_samples" in err, err
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume", "--protocol", "transductive")
    assert code == 2 and "protocol" in err, err
    assert {p.name: p.read_bytes() for p in finished.iterdir()} == before
    # the same settings: the one missing cell runs, the others are kept byte for byte
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume")
    assert code == 0 and "1 of" not in err and "resuming: 3 finished cell(s)" in err, err
    assert [(r["detector"], r["seed"]) for r in rows_of(finished / "results.csv")] == [
        ("rx", "0"), ("pyod-pca", "0"), ("rx", "1"), ("pyod-pca", "1")]


def test_cells_outside_the_grid_are_said_and_listed_after_its_own(finished, capsys):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2-2",
                           "--no-plots", "--out", str(finished), "--resume")
    assert code == 0 and "4 kept cell(s) are not in this grid and stay in the results as they were" in err, err
    assert [(r["detector"], r["seed"]) for r in rows_of(finished / "results.csv")] == [
        ("rx", "2"), ("pyod-pca", "0"), ("rx", "0"), ("pyod-pca", "1"), ("rx", "1")]
    record = json.loads((finished / "grid.json").read_text())
    assert set(record["detectors"]) == {"rx", "pyod-pca"}  # the kept cells' settings stay recorded


def test_a_results_csv_cut_short_is_refused_by_resume(finished, capsys):
    text = (finished / "results.csv").read_text()
    (finished / "results.csv").write_text(text[:text.index("\n", text.index("\n") + 1) + 40])
    code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume")
    assert code == 2 and err.count("\n") == 1 and "results.csv:3: the row has" in err and "cut short" in err, err


def test_a_second_run_into_the_same_folder_is_refused(finished, capsys):
    with bench_resume.exclusive(finished):
        code, _, err = run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume")
        assert code == 2 and "another had bench is writing its results into" in err, err
    assert not (finished / bench_resume.LOCK_NAME).exists()
    assert run_cli(capsys, "bench", *GRID, "--out", str(finished), "--resume")[0] == 0


def test_a_resume_keeps_the_earlier_figures_instead_of_redrawing_them_with_fewer_curves(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    grid = [arg for arg in GRID if arg != "--no-plots"] + ["--out", str(tmp_path)]
    assert run_cli(capsys, "bench", *grid)[0] == 0
    roc = (tmp_path / "roc_synthetic-table.png").read_bytes()
    drop_rows(tmp_path / "results.csv", lambda line: not line.startswith("pyod-pca,synthetic-table,0"))
    code, out, err = run_cli(capsys, "bench", *grid, "--resume")
    assert code == 0, err
    assert (tmp_path / "roc_synthetic-table.png").read_bytes() == roc
    assert "the figures of synthetic-table are the earlier run's" in (tmp_path / "results.md").read_text()
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()  # the earlier figure, embedded



def test_overwrite_removes_the_replaced_grids_figures(tmp_path, capsys):
    """--overwrite with a grid of other datasets left the earlier grid's ROC PNGs in the folder, beside results
    that no longer named them."""
    pytest.importorskip("matplotlib")
    assert run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out", str(tmp_path))[0] == 0
    assert (tmp_path / "roc_synthetic-table.png").is_file()
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "thyroid", "--no-plots",
                           "--overwrite", "--out", str(tmp_path))
    assert code in (0, 1), err  # thyroid may be absent here: its cell fails, the folder is still replaced
    assert not (tmp_path / "roc_synthetic-table.png").exists() and (tmp_path / "notes.txt").read_text() == "mine"


def test_an_overwrite_stopped_before_its_first_cell_leaves_no_cells_of_the_old_settings(finished, capsys, monkeypatch):
    """A grid at contamination 0.1, then --overwrite at 0.3 stopped during its first cell: grid.json said 0.3 and
    results.csv still held the 0.1 cells, which a --resume at 0.3 then kept as its own (f1 of 0.1 reported)."""
    from had import executors

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(executors, "run_cell", stopped)
    code, _, _ = run_cli(capsys, "bench", *GRID, "--set", "rx.contamination=0.3", "--overwrite", "--out", str(finished))
    assert code != 0
    assert not (finished / "results.csv").exists()  # the replaced grid's cells went before the new record was written
    assert json.loads((finished / "grid.json").read_text())["detectors"]["rx"]["contamination"] == 0.3
    monkeypatch.undo()
    code, out, err = run_cli(capsys, "bench", *GRID, "--set", "rx.contamination=0.3", "--resume", "--out", str(finished))
    assert code == 0, err
    assert "resuming: 0 finished cell(s) kept" in out + err
    assert len(rows_of(finished / "results.csv")) == 4


def test_overwrite_replaces_a_damaged_grid_record(finished, capsys):
    """A grid.json that cannot be read refused --overwrite, with a message saying to run with --overwrite."""
    (finished / "grid.json").write_text("garbage")
    code, _, err = run_cli(capsys, "bench", *GRID, "--overwrite", "--out", str(finished))
    assert code == 0, err
    assert json.loads((finished / "grid.json").read_text())["detectors"]["rx"]["contamination"] == 0.1
