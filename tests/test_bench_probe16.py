"""`had bench` against a read-only probe of 7 December 2026: seeds written in other scripts' digits, a range in a
seed list, a user's figure replaced when a resumed grid adds a dataset, kept cells' settings hidden in the report,
a `|` in a dataset's name breaking results.md's table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from had.errors import ConfigError
from had.grid import count_note, parse_seeds
from had.tables import markdown
from had_sdk.testing import run_cli


@pytest.mark.parametrize("seeds", ["³", "²-3", "1,²", "٣", ["٣"]])
def test_seeds_in_other_digits_are_one_config_error(seeds):
    """``--seeds ³`` was a ValueError traceback (exit 1; str.isdigit is True for it, int() refuses it), and
    ``--seeds ٣`` ran seeds 0-2."""
    with pytest.raises(ConfigError, match="is not a non-negative integer"):
        parse_seeds(seeds)
    assert count_note("³") is None


def test_a_seed_list_may_hold_ranges_as_its_text_form_does():
    """A grid file's ``seeds = ["0-2", 5]`` was refused ("write seeds as 3,7 or 0-4") though "0-2,5" was taken."""
    assert parse_seeds(["0-2", 5]) == parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert parse_seeds([5]) == [5]  # a list of one number is that seed, not a count
    with pytest.raises(ConfigError, match="repeat a seed"):
        parse_seeds(["0-2", 1])


def test_a_bar_in_a_cell_keeps_the_markdown_rows_columns():
    table = markdown(["dataset", "auroc"], [["x|y", 0.9]])
    assert table.splitlines()[2] == "| x\\|y | 0.9 |"


def test_a_resumed_grid_adding_a_dataset_does_not_replace_a_users_figure_of_its_name(tmp_path, capsys):
    out = tmp_path / "grid"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "1",
                           "--out", out)
    assert code == 0, err
    (out / "roc_synthetic-scene.png").write_bytes(b"the user's own picture")
    for again in ("--resume", "--overwrite"):
        code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table,synthetic-scene",
                               "--seeds", "1", "--out", out, again)
        assert code == 2 and "roc_synthetic-scene.png, not written by had bench for its earlier grid" in err, err
        assert (out / "roc_synthetic-scene.png").read_bytes() == b"the user's own picture"


def test_the_report_gives_kept_cells_the_settings_they_ran_with(tmp_path, capsys):
    """Cells kept by --resume of a detector the new grid does not name showed only the detector's name in
    report.html's cells (its settings were in grid.json)."""
    out = tmp_path / "grid"
    assert run_cli(capsys, "bench", "--detectors", "pyod-knn", "--set", "pyod-knn.n_neighbors=7", "--datasets",
                   "synthetic-table", "--seeds", "1", "--no-plots", "--out", out)[0] == 0
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "1",
                           "--no-plots", "--out", out, "--resume")
    assert code == 0, err
    assert json.loads((out / "grid.json").read_text())["detectors"]["pyod-knn"]["n_neighbors"] == 7
    report = (out / "report.html").read_text()
    assert "n_neighbors" in report and "&quot;n_neighbors&quot;: 7" in report or '"n_neighbors": 7' in report


def test_notes_name_a_dataset_file_as_its_rows_do(tmp_path, capsys):
    """An undefined metric's note said "auc_pf_tau of rx on const.npz" of rows named `const` (the grids probe)."""
    X = np.zeros((40, 3))
    y = np.r_[np.zeros(36), np.ones(4)].astype(np.int8)
    np.savez(tmp_path / "const.npz", X=X, y=y)  # constant rows: constant scores, auc_pf_tau undefined
    code, out, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", tmp_path / "const.npz", "--seeds",
                             "1", "--no-plots", "--out", tmp_path / "grid")
    notes = [line for line in (out + err).splitlines() if "not computed" in line]
    assert notes and all(" on const (seed 0)" in line and "const.npz" not in line for line in notes), out + err
