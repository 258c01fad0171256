"""A grid gives its protocol's parameters (``had bench --protocol-set KEY=VALUE``, a grid file's ``[protocol]``
table), carried to every cell, checked before any cell, recorded in grid.json and said in results.md.

Was: ``had bench --protocol deepsad`` could not run Deep SAD's clean setting (pollution 0): ``--data
cardio.ratio_pollution=0`` was "Extra inputs are not permitted", a grid file's ``ratio_pollution`` an unknown key,
``[protocol.deepsad]`` "protocol must be a string"; each cell got the seed only. Also the deepsad protocol on
images failed in every cell with "needs a labelled table" and no alternative, and ``deepsad_split`` with
``ratio_known_outlier=1.0`` raised ZeroDivisionError."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from test_reliability_cli import run_cli

import had
from had import bench, protocols
from had.errors import ConfigError, InvalidInputError
from had.grid import grid_from_dict, grid_from_options

GRID = ["--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "1", "--no-plots", "--protocol", "deepsad"]


def test_protocol_set_reaches_every_cell_and_is_recorded(tmp_path, capsys, monkeypatch):
    seen = []
    real = protocols.deepsad_split

    @functools.wraps(real)
    def spy(dataset, seed=0, **params):
        seen.append((seed, params))
        return real(dataset, seed=seed, **params)

    monkeypatch.setitem(protocols.PROTOCOLS, "deepsad", spy)
    code, out, err = run_cli(capsys, "bench", *GRID[:5], "0,1", *GRID[6:], "--protocol-set", "ratio_pollution=0",
                             "--protocol-set", "ratio_known_outlier=0.05", "--out", str(tmp_path))
    assert code == 0, err
    assert seen == [(s, {"ratio_pollution": 0.0, "ratio_known_outlier": 0.05}) for s in (0, 1)]
    record = json.loads((tmp_path / "grid.json").read_text())
    assert record["datasets"]["synthetic-table"]["protocol_params"] == {"ratio_known_outlier": 0.05,
                                                                        "ratio_pollution": 0.0}
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "Protocol deepsad with ratio_known_outlier=0.05, ratio_pollution=0." in md
    html = (tmp_path / "report.html").read_text(encoding="utf-8")  # was: the parameters in no line of the report
    assert '<p id="protocol">Protocol deepsad with ratio_known_outlier=0.05, ratio_pollution=0.</p>' in html
    header = (tmp_path / "results.csv").read_text().splitlines()[0]
    assert "ratio_pollution" not in header  # the columns stay as they were
    # a resume with other parameters is refused as other settings are, before any cell
    code, _, err = run_cli(capsys, "bench", *GRID, "--protocol-set", "ratio_pollution=0.05", "--out", str(tmp_path),
                           "--resume")
    assert code != 0 and "--resume" in err and "protocol_params.ratio_pollution 0.0 then, 0.05 now" in err


def test_the_clean_setting_has_no_polluting_anomaly():
    table = had.load_dataset("synthetic-table")
    clean = protocols.apply("deepsad", table, seed=0, params={"ratio_pollution": 0})
    assert clean.train.meta["ratio_pollution"] == 0.0
    assert np.all(clean.train.y[clean.train.known == 0] == 0)  # every anomaly in train is a known one
    polluted = protocols.apply("deepsad", table, seed=0)
    assert np.any(polluted.train.y[polluted.train.known == 0] == 1)


@pytest.mark.parametrize("args, said", [
    (["--protocol-set", "ratio_polution=0"], "--protocol-set ratio_polution: not a parameter of the deepsad protocol; "
                                             "use ratio_known_normal, ratio_known_outlier, ratio_pollution"),
    (["--protocol-set", "ratio_pollution=1"], "--protocol-set ratio_pollution=1: must be in [0, 1)"),
    (["--protocol-set", "ratio_pollution=-0.1"], "must be in [0, 1)"),
    (["--protocol-set", "ratio_pollution=lots"], "ratio_pollution='lots': give a number"),
    (["--protocol-set", "test_size=0"], "test_size=0: must be in (0, 1)"),
])
def test_bad_protocol_parameters_are_one_line_before_any_cell(tmp_path, capsys, args, said):
    code, out, err = run_cli(capsys, "bench", *GRID, *args, "--out", str(tmp_path / "o"))
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o" / "results.csv").exists()


def test_parameters_for_a_protocol_that_takes_none_or_no_protocol_are_refused(capsys):
    code, _, err = run_cli(capsys, "bench", *GRID[:-2], "--protocol", "transductive", "--protocol-set",
                           "ratio_pollution=0")
    assert code == 2 and "the transductive protocol takes no parameters; drop them" in err
    code, _, err = run_cli(capsys, "bench", *GRID[:-2], "--protocol-set", "ratio_pollution=0")
    assert code == 2 and "name the protocol they are for (--protocol NAME" in err


@pytest.mark.parametrize("raw", [
    {"protocol": {"name": "deepsad", "ratio_pollution": 0.0}},
    {"protocol": {"deepsad": {"ratio_pollution": 0.0}}},  # [protocol.deepsad]
])
def test_a_grid_file_gives_the_protocol_with_its_parameters(raw):
    grid = grid_from_dict({"detectors": ["rx"], "datasets": ["cardio"], **raw})
    assert grid.protocol == "deepsad" and grid.protocol_params == {"ratio_pollution": 0.0}


def test_a_grid_file_protocol_table_is_read_and_the_command_line_wins(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('seeds = [0]\n[protocol]\nname = "deepsad"\nratio_pollution = 0.0\nratio_known_outlier = 0.02\n'
                    '[detectors.rx]\n[datasets.cardio]\n')
    grid = grid_from_options(path, protocol_params={"ratio_pollution": 0.05})
    assert grid.protocol == "deepsad" and grid.protocol_params == {"ratio_pollution": 0.05, "ratio_known_outlier": 0.02}
    assert grid_from_dict({"detectors": ["rx"], "datasets": ["a"], "protocol": "adbench"}).protocol_params == {}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) ratio_pollution; .*; a protocol's parameters go in a "
                                          r"\[protocol\] table with name = \"NAME\""):
        grid_from_dict({"detectors": ["rx"], "datasets": ["a"], "protocol": "deepsad", "ratio_pollution": 0.0})
    with pytest.raises(ConfigError, match=r"the \[protocol\] table has no name; write protocol = "):
        grid_from_dict({"detectors": ["rx"], "datasets": ["a"], "protocol": {"ratio_pollution": 0.0}})


def test_deepsad_split_checks_the_known_ratio_before_dividing_by_it():
    table = had.load_dataset("synthetic-table")
    with pytest.raises(InvalidInputError, match=r"^ratio_known_outlier must be in \[0, 1\), got 1.0$"):
        protocols.deepsad_split(table, ratio_known_outlier=1.0)


def test_the_deepsad_protocol_on_images_is_refused_before_any_cell_with_the_alternatives(tmp_path):
    """`had bench --detectors deepsad --datasets mnist --protocol deepsad` failed in every cell at run time."""
    pytest.importorskip("had_images")
    with pytest.raises(ConfigError, match="dataset mnist holds images, and the deepsad protocol needs a labelled "
                                          "table: for images use --protocol one-class, or, for Deep SAD's "
                                          "semi-supervised setting on images, had_images.semisupervised_split"):
        bench.run(["rx"], ["mnist"], [0], protocol="deepsad", out=tmp_path / "o", plots=False,
                  echo=lambda line: None)
    assert not (tmp_path / "o").exists()


def test_the_table_protocols_on_loaded_images_say_the_alternatives(tmp_path):
    images = had.Dataset("imgs", np.zeros((6, 1, 4, 4), dtype=np.float32), np.r_[np.zeros(4), np.ones(2)].astype(int))
    with pytest.raises(InvalidInputError, match="needs a labelled table.*--protocol one-class.*semisupervised_split"):
        protocols.apply("deepsad", images)
