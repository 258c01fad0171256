"""Grid files (`had bench --config`) and the seeds syntax (`--seeds 5`, `3,7`, `0-4`)."""

from __future__ import annotations

import csv

import pytest
from test_reliability_cli import run_cli

from had.errors import ConfigError, DataFileError
from had.grid import grid_from_dict, grid_from_options, load_grid, parse_seeds

GRID_TOML = """
seeds = [3, 7]
out = "{out}"

[detectors.rx]
[detectors.pyod-iforest]
n_estimators = 20

[datasets.synthetic-table]
n_samples = 200
"""


@pytest.mark.parametrize("given, seeds", [
    ("5", [0, 1, 2, 3, 4]), (5, [0, 1, 2, 3, 4]), ("1", [0]), ("3,7", [3, 7]), ("0-4", [0, 1, 2, 3, 4]),
    ("2-3,9", [2, 3, 9]), ([3, 7], [3, 7]), (" 7 , 3 ", [7, 3]), ("10000", list(range(10_000))),
    ([4294967295], [4294967295]),
])
def test_seeds_are_a_count_a_list_or_a_range(given, seeds):
    assert parse_seeds(given) == seeds


@pytest.mark.parametrize("given, says", [
    ("0", "at least 1"), ("4-2", "a range goes up"), ("a,b", "not a non-negative integer"), ("3,3", "repeat"),
    ("-1", "not a non-negative integer"), (True, "give a count"), ([], "empty"),
    # a typo'd count or range (was: an OverflowError traceback, or a list of 1e8 seeds growing until the process
    # was killed); a seed numpy and scikit-learn cannot take
    ("99999999999999999999", "more than a grid may list"), ("0-100000000", "100000001 seeds, more than"),
    (10_001, "more than a grid may list"), ("0-5000,6000-12000", "11002 seeds"), ([4294967296], "above 4294967295"),
    ("4294967296-4294967297", "above 4294967295"), ("4294967295", "4294967295 seeds, more than"),
])
def test_bad_seeds_say_what_to_write(given, says):
    with pytest.raises(ConfigError, match=says):
        parse_seeds(given)


def test_a_toml_grid_file_names_detectors_datasets_settings_seeds_and_out(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(GRID_TOML.format(out="res"))
    grid = load_grid(path)
    assert grid.detectors == ["rx", "pyod-iforest"] and grid.datasets == ["synthetic-table"]
    assert grid.seeds == [3, 7] and grid.out == "res" and grid.protocol is None
    assert grid.detector_config == {"pyod-iforest": {"n_estimators": 20}}
    assert grid.dataset_config == {"synthetic-table": {"n_samples": 200}}


def test_a_yaml_grid_file_reads_the_same(tmp_path):
    pytest.importorskip("yaml", reason="PyYAML is not installed: YAML grid files need it")
    (tmp_path / "g.toml").write_text(GRID_TOML.format(out="res"))
    (tmp_path / "g.yaml").write_text("seeds: [3, 7]\nout: res\ndetectors:\n  rx:\n  pyod-iforest: {n_estimators: 20}\n"
                                     "datasets:\n  synthetic-table: {n_samples: 200}\n")
    assert load_grid(tmp_path / "g.yaml") == load_grid(tmp_path / "g.toml")


@pytest.mark.parametrize("raw, says", [
    ({"detectors": ["rx"], "datasets": ["a"], "seed": [1]}, "unknown key.*seed"),
    ({"datasets": ["a"]}, "no detectors"),
    ({"detectors": {"rx": 3}, "datasets": ["a"]}, "detectors.rx must be a table"),
    ({"detectors": ["rx"], "datasets": ["a"], "workers": 0}, "workers"),
    ({"detectors": ["rx"], "datasets": ["a"], "protocol": 1}, "protocol must be a string"),
])
def test_bad_grid_files_say_what_is_wrong(raw, says):
    with pytest.raises(ConfigError, match=says):
        grid_from_dict(raw)


def test_grid_file_errors_name_the_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_grid(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("seeds = [")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_grid(tmp_path / "bad.toml")
    (tmp_path / "g.json").write_text("{}")
    with pytest.raises(ConfigError, match="use a .toml"):
        load_grid(tmp_path / "g.json")


def test_options_lay_over_the_grid_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(GRID_TOML.format(out="res"))
    grid = grid_from_options(path, seeds="0-2", detectors=["rx"], detector_config={"rx": {"contamination": 0.1}})
    assert grid.detectors == ["rx"] and grid.seeds == [0, 1, 2] and grid.datasets == ["synthetic-table"]
    # the file's settings of pyod-iforest, which --detectors leaves out, go with it (bench.run refuses settings of
    # names outside the grid, a typo's mark)
    assert grid.detector_config == {"rx": {"contamination": 0.1}}
    with pytest.raises(ConfigError, match="--datasets"):
        grid_from_options(None, detectors=["rx"])


def test_settings_for_a_name_outside_the_grid_are_refused_not_dropped():
    """``--set rxx.threads=1`` or ``--data lin.hdr.map_path=...`` (a typo of a name in the grid) ran the grid without
    the setting, unsaid; now one line naming the grid's detectors or datasets."""
    with pytest.raises(ConfigError, match=r"--set rxx.threads=...: 'rxx' is not one of this grid's detectors \(rx\)"):
        grid_from_options(None, detectors=["rx"], datasets=["synthetic-table"], detector_config={"rxx": {"threads": 1}})
    with pytest.raises(ConfigError, match=r"'lin.hdr' is not one of this grid's datasets \(line.hdr\)"):
        grid_from_options(None, detectors=["rx"], datasets=["line.hdr"],
                          dataset_config={"lin.hdr": {"map_path": "t.tif"}})
    grid = grid_from_options(None, detectors=["rx"], datasets=["line.hdr"], dataset_config={"line.hdr": {"map_path": "t"}})
    assert grid.dataset_config == {"line.hdr": {"map_path": "t"}}


def test_cli_runs_a_grid_file_with_chosen_seeds(tmp_path, capsys):
    out = tmp_path / "res"
    path = tmp_path / "grid.toml"
    path.write_text(GRID_TOML.format(out=out.as_posix()))
    code, stdout, err = run_cli(capsys, "bench", "--config", str(path), "--no-plots")
    assert code == 0, err
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["seed"], r["detector"]) for r in rows] == [("3", "rx"), ("3", "pyod-iforest"), ("7", "rx"),
                                                           ("7", "pyod-iforest")]
    assert "| synthetic-table | rx | 2 |" in stdout


def test_cli_seeds_list_and_bad_seeds(tmp_path, capsys):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "3,7",
                           "--out", str(tmp_path), "--no-plots")
    assert code == 0, err
    with open(tmp_path / "results.csv", newline="") as fh:
        assert [r["seed"] for r in csv.DictReader(fh)] == ["3", "7"]
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "4-2")
    assert code == 2 and "a range goes up" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "bench", "--datasets", "synthetic-table")
    assert code == 2 and "--detectors" in err


def test_grid_file_mistakes_are_one_line_before_any_cell(tmp_path, capsys):
    """Found by hand: a grid file's unknown protocol ran every cell, each failing with it (exit 1); a YAML grid
    naming a detector 123 (read as a number) was a TypeError traceback; a grid file that is not UTF-8 was "not
    valid TOML" whatever its suffix; a folder given as --config "did not exist"; a missing data file in --datasets
    was an "unknown datasource"."""
    (tmp_path / "p.toml").write_text('seeds = [0]\nprotocol = "nosuch"\n[detectors.rx]\n[datasets.synthetic-table]\n')
    code, _, err = run_cli(capsys, "bench", "--config", str(tmp_path / "p.toml"), "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "protocol 'nosuch' is not one of transductive" in err, err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ConfigError, match="detectors name 123 is not text"):
        grid_from_dict({"detectors": {123: {}}, "datasets": ["synthetic-table"]})
    with pytest.raises(ConfigError, match="datasets name 7 is not text"):
        grid_from_dict({"detectors": ["rx"], "datasets": {"synthetic-table": {}, 7: None}})
    for name in ("bad.yaml", "bad.toml"):
        (tmp_path / name).write_bytes(b"\xff\xfeseeds = 1\n")
        with pytest.raises(ConfigError, match="is not UTF-8 text .*save it as UTF-8"):
            load_grid(tmp_path / name)
    with pytest.raises(DataFileError, match="is a folder; give the grid file's path"):
        load_grid(tmp_path)
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", str(tmp_path / "none.mat"))
    assert code == 2 and "none.mat does not exist (no such file); check the path" in err, err


def test_a_detectors_own_seed_in_a_grid_is_refused(tmp_path, capsys):
    """``--set rx.seed=5`` (or ``seed = 5`` under [detectors.rx]) was replaced by each cell's seed, the rows
    saying seed 0: refused, naming the grid's seeds as the way."""
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--set",
                           "rx.seed=5", "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "rx.seed: each cell's seed is the grid's" in err, err
    assert not (tmp_path / "o").exists()
