"""``had bench --resume`` on a results.csv edited by hand, and a file of the user's named like the lock.

Found by a probe: a column the user added to results.csv was dropped by the rewrite (exit 0); a file of the user's
named ``.had-bench.lock`` was deleted unsaid; a repeated row counted as one more seed; rows of cells outside the
grid (another seed) were averaged into its summary, and names read from results.csv were printed raw; a finished
row whose metric was unreadable (``abc``, ``nan``, a dropped column) was kept with a blank value."""

from __future__ import annotations

import csv
import os

import pytest
from test_bench_resume import GRID, finished, rows_of  # noqa: F401  (finished: the fixture, by its name)
from test_reliability_cli import run_cli

from had import bench_resume


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != bench_resume.LOCK_NAME}


def resume(capsys, folder, *grid):
    return run_cli(capsys, "bench", *(grid or GRID), "--out", str(folder), "--resume")


def rewrite(path, change):
    """Rewrite results.csv `path` with `change(header, rows)` -> (header, rows), as a user's editor would."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header, rows = change(list(rows[0]), rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_column_of_the_users_is_refused_with_results_csv_untouched(finished, capsys):
    path = finished / "results.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",note"] + [line + ",mine" for line in lines[1:]]) + "\n")
    before = snapshot(finished)
    code, _, err = resume(capsys, finished)
    assert code == 2 and err.count("\n") == 1, err
    assert "results.csv has columns had does not write (note); move them to another file, or remove them, " \
           "then --resume" in err, err
    assert snapshot(finished) == before


def test_a_metric_the_grid_does_not_compute_is_refused_where_no_record_compares_them(finished, capsys):
    """A folder of an earlier had (no grid.json): an ``eer`` column was written back without its values."""
    (finished / "grid.json").unlink()
    rewrite(finished / "results.csv", lambda header, rows: (header + ["eer"], [{**r, "eer": "0.2"} for r in rows]))
    before = snapshot(finished)
    code, _, err = resume(capsys, finished)
    assert code == 2 and "holds metric(s) this grid does not compute (eer)" in err and "--overwrite" in err, err
    assert snapshot(finished) == before


def test_a_file_of_the_users_named_like_the_lock_is_left_alone(tmp_path, capsys):
    grid = ["--detectors", "rx", "--datasets", "synthetic-table", "--no-plots", "--out", str(tmp_path)]
    (tmp_path / ".had-bench.lock").write_text("mine\n")
    code, _, err = run_cli(capsys, "bench", *grid)
    assert code == 2 and err.count("\n") == 1, err
    assert ".had-bench.lock holds data had did not write" in err and "move it away or rename it" in err, err
    assert (tmp_path / ".had-bench.lock").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".had-bench.lock"]  # nothing ran, nothing written
    os.unlink(tmp_path / ".had-bench.lock")
    target = tmp_path.parent / (tmp_path.name + "-target")
    target.write_text("theirs")
    os.symlink(target, tmp_path / ".had-bench.lock")
    code, _, err = run_cli(capsys, "bench", *grid)
    assert code == 2 and ".had-bench.lock is a symbolic link" in err, err
    assert target.read_text() == "theirs" and os.path.islink(tmp_path / ".had-bench.lock")
    os.unlink(tmp_path / ".had-bench.lock")
    (tmp_path / ".had-bench.lock").write_bytes(b"")  # an empty one: left by an earlier had, taken and removed
    code, _, err = run_cli(capsys, "bench", *grid)
    assert code == 0 and not os.path.lexists(tmp_path / ".had-bench.lock"), err


def test_the_lock_is_had_own_while_it_runs(tmp_path):
    with bench_resume.exclusive(tmp_path):
        assert (tmp_path / ".had-bench.lock").read_bytes().startswith(bench_resume.LOCK_MARK)
        (tmp_path / ".had-bench.lock").unlink()
        (tmp_path / ".had-bench.lock").write_text("mine")  # put there meanwhile: not the run's to remove
    assert (tmp_path / ".had-bench.lock").read_text() == "mine"


def test_a_repeated_row_is_refused_naming_both_lines(finished, capsys):
    path = finished / "results.csv"
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 5 and lines[1].startswith("rx,synthetic-table,0,")
    path.write_text("".join(lines) + lines[1])
    before = snapshot(finished)
    code, _, err = resume(capsys, finished)
    assert code == 2 and err.count("\n") == 1, err
    assert "results.csv:6 repeats the cell rx on synthetic-table (seed 0) of line 2; delete one" in err, err
    assert snapshot(finished) == before


def test_rows_outside_the_grid_are_kept_but_left_out_of_its_summary(finished, capsys):
    path = finished / "results.csv"
    rx0 = next(line for line in path.read_text().splitlines() if line.startswith("rx,synthetic-table,0,"))
    other = rx0.replace("rx,synthetic-table,0,", "rx,synthetic-table,7,", 1).split(",")
    other[3] = "0.125"  # its auroc: in no mean of this grid
    odd = rx0.replace("rx,synthetic-table,0,", "rx,s\x1b[31mred\x00x,0,", 1)
    path.write_text(path.read_text() + ",".join(other) + "\n" + odd + "\n")
    code, _, err = resume(capsys, finished)
    assert code == 0, err
    assert err.count("left out of this grid's summary") == 1, err
    assert "2 kept cell(s) are not in this grid" in err and "\x1b" not in err and "\x00" not in err, err
    assert "'s\\x1b[31mred\\x00x'" in err, err
    kept = rows_of(path)
    assert [(r["detector"], r["dataset"], r["seed"]) for r in kept][-2:] == [
        ("rx", "s\x1b[31mred\x00x", "0"), ("rx", "synthetic-table", "7")]
    assert next(r for r in kept if r["seed"] == "7")["auroc"] == "0.125"
    md = (finished / "results.md").read_text()
    rx = next(line for line in md.splitlines() if line.startswith("| synthetic-table | rx |"))
    assert rx.split(" | ")[2] == "2" and "0.125" not in md and "red" not in md.split("## Notes")[0], md
    assert "not in this grid" in md
    html = (finished / "report.html").read_text()
    summary = html[html.index('<table id="summary">'):html.index('<table id="cells">')]
    assert "<td>2</td>" in summary and "0.1250" not in summary and "red" not in summary
    assert "4 cell(s): 2 detector(s) x 1 dataset(s) x 2 seed(s) (0, 1)" in html
    assert "0.1250" in html[html.index('<table id="cells">'):]  # the kept row: in the cells table


def test_a_failed_row_outside_the_grid_is_kept_and_one_inside_is_run_again(finished, capsys):
    """A failed cell of another grid (seed 7) was dropped by --resume (a finished one was kept); it stays now, out
    of this grid's count of failures, while this grid's failed cell runs again."""
    path = finished / "results.csv"
    header = path.read_text().splitlines()[0].split(",")
    blank = dict.fromkeys(header, "")
    failed = [{**blank, "detector": "rx", "dataset": "synthetic-table", "seed": seed, "error": "it broke"}
              for seed in ("7", "1")]

    def change(head, rows):
        rows = [r for r in rows if (r["detector"], r["seed"]) != ("rx", "1")]  # this grid's rx seed 1: failed
        return head, rows + failed
    rewrite(path, change)
    code, _, err = resume(capsys, finished)
    assert code == 0, err
    kept = rows_of(path)
    assert [r["error"] for r in kept if r["seed"] == "7"] == ["it broke"]
    rerun = [r for r in kept if (r["detector"], r["seed"]) == ("rx", "1")]
    assert len(rerun) == 1 and not rerun[0]["error"] and float(rerun[0]["auroc"]) > 0.5, rerun
    assert "1 kept cell(s) are not in this grid" in err and "cells failed" not in err, err
    assert "it broke" not in (finished / "results.md").read_text().split("## Notes")[0]


def test_a_finished_cell_whose_metric_cannot_be_read_is_run_again(finished, capsys):
    path = finished / "results.csv"

    def damage(header, rows):
        rows[0]["auroc"] = "abc"  # rx, seed 0
        rows[3]["auroc"] = "nan"  # pyod-pca, seed 1
        rows[2]["auprc"] = ""  # rx, seed 1: blank is a value had did not compute, kept as it is
        return header, rows + [{**rows[1], "seed": "7", "auroc": "xyz"}]  # outside the grid: kept verbatim

    rewrite(path, damage)
    code, _, err = resume(capsys, finished)
    assert code == 0, err
    assert "2 finished cell(s)" in err and "are run again, their values cannot be read" in err, err
    assert "rx on synthetic-table (seed 0): auroc 'abc'" in err and "pyod-pca on synthetic-table (seed 1): " \
           "auroc 'nan'" in err, err
    assert "resuming: 3 finished cell(s) kept" in err, err  # rx seed 1 and pyod-pca seed 0, and the seed-7 row
    rows = {(r["detector"], r["seed"]): r for r in rows_of(path)}
    assert 0.5 < float(rows["rx", "0"]["auroc"]) <= 1 and 0.5 < float(rows["pyod-pca", "1"]["auroc"]) <= 1
    assert rows["rx", "1"]["auprc"] == "" and rows["pyod-pca", "7"]["auroc"] == "xyz"
    assert "were run again" in (finished / "results.md").read_text()


def test_a_metric_column_dropped_from_results_csv_runs_its_cells_again(finished, capsys):
    path = finished / "results.csv"
    rewrite(path, lambda header, rows: ([c for c in header if c != "auprc"], rows))
    code, _, err = resume(capsys, finished)
    assert code == 0, err
    assert "4 finished cell(s)" in err and "no auprc column" in err and "resuming: 0 finished cell(s) kept" in err, err
    rows = rows_of(path)
    assert len(rows) == 4 and all(0 < float(r["auprc"]) <= 1 for r in rows)


@pytest.mark.parametrize("value", ["abc", "nan", "inf"])
def test_read_results_keeps_an_unreadable_number_as_its_text(tmp_path, value):
    from had import bench

    (tmp_path / "results.csv").write_text(f"detector,dataset,seed,auroc,error\nrx,x,0,{value},\nrx,x,1,,\n")
    rows = bench.read_results(tmp_path / "results.csv")
    assert rows[0]["auroc"] == value and bench.unreadable(rows[0], ["auroc"]) == [f"auroc {value!r}"]
    assert bench.unreadable(rows[1], ["auroc"]) == [] and bench.unreadable(rows[1], ["auprc"]) == ["no auprc column"]
