"""``had score MODEL FILES --out DIR`` after a probe of many-file scoring (6 December 2026): a corrupt ``.npz``
among the inputs stopped the whole run at planning (nothing scored, numpy's advice to load pickled data
unsafely in the line); ``--quicklooks`` with rows named a ``.png`` it never wrote, and ``--skip-existing``
then refused the finished map for the want of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_reliability_cli import run_cli

from had.matfile import _failed


@pytest.fixture
def cube_model(tmp_path, capsys):
    cube = np.random.default_rng(0).normal(size=(20, 24, 5))
    np.save(tmp_path / "a.npy", cube)
    np.save(tmp_path / "b.npy", cube[:10])
    code, _, err = run_cli(capsys, "fit", "rx", tmp_path / "a.npy", "-o", tmp_path / "m")
    assert code == 0, err
    return tmp_path


def test_a_corrupt_npz_among_the_inputs_is_its_own_line_and_the_others_are_scored(cube_model, capsys):
    tmp = cube_model
    (tmp / "bad.npz").write_bytes(b"not a zip")
    code, out, err = run_cli(capsys, "score", tmp / "m", tmp / "a.npy", tmp / "bad.npz", tmp / "b.npy",
                             "--out", tmp / "maps", "--map-format", "npy")
    assert code == 1, (out, err)
    assert sorted(p.name for p in (tmp / "maps").iterdir()) == ["a.npy", "b.npy"]
    line = next(line for line in (out + err).splitlines() if "bad.npz" in line)
    assert "not a zip archive" in line and "allow_pickle" not in out + err and "Traceback" not in err, line


def test_an_unreadable_file_is_said_as_such_not_as_corrupt():
    said = str(_failed(Path("x.npz"), PermissionError(13, "Permission denied", "x.npz")))
    assert "cannot be read (Permission denied" in said and "corrupt" not in said and "re-create" not in said


def test_quicklooks_of_rows_are_not_claimed_and_a_rerun_skips_the_finished_maps(tmp_path, capsys):
    rows = np.random.default_rng(1).normal(size=(80, 4))
    np.save(tmp_path / "t.npy", rows)
    code, _, err = run_cli(capsys, "fit", "rx", tmp_path / "t.npy", "-o", tmp_path / "m")
    assert code == 0, err
    code, out, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "t.npy", "--out", tmp_path / "maps",
                             "--quicklooks", "--json")
    assert code == 0, err
    record = json.loads(out)[0]
    assert record["png"] is None and record["status"] == "scored", record
    assert "no quicklook for" in err and ".png" not in err, err
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["t.npy"]
    code, out, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "t.npy", "--out", tmp_path / "maps",
                             "--quicklooks", "--skip-existing")
    assert code == 0 and "skipped" in out + err, (out, err)
