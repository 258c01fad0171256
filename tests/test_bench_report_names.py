"""Datasets given to `had bench` as files are named by their stem, parent folders added only to tell them apart."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
import scipy.io as sio

import had
from had import bench
from had.errors import ConfigError


def _scene(path, seed: int, planted: tuple[int, int]):
    """A small cube whose one anomaly is at `planted`; each file's RX scores differ."""
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(12, 10, 5))
    truth = np.zeros((12, 10))
    cube[planted] += 6
    truth[planted] = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.savemat(path, {"data": cube, "map": truth})
    return cube.reshape(-1, 5), truth.ravel()


@pytest.fixture
def scenes(tmp_path):
    paths = [tmp_path / "flight-a" / "scene.mat", tmp_path / "flight-b" / "scene.mat", tmp_path / "other.mat"]
    data = [_scene(p, seed, (seed + 2, 4)) for seed, p in enumerate(paths)]
    return paths, data


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_two_files_of_one_source_are_told_apart(scenes, tmp_path):
    paths, data = scenes
    out = tmp_path / "out"
    result = bench.run(["rx"], [str(p) for p in paths], [0], out=out, echo=lambda line: None)
    assert [r["dataset"] for r in _rows(out / "results.csv")] == ["flight-a/scene", "flight-b/scene", "other"]
    for row, (X, y) in zip(result.rows, data):  # each row holds its own file's numbers
        assert row["auc_pf_tau"] == pytest.approx(
            had.get_metric("auc_pf_tau")(y, had.get_detector("rx").fit(X).decision_scores_))
    assert len({r["auc_pf_tau"] for r in result.rows}) == 3
    md = (out / "results.md").read_text()
    assert "| flight-a/scene | rx |" in md and "| flight-b/scene | rx |" in md and "hsi-file" not in md
    assert {p.name for p in out.glob("*.png")} >= {"roc_flight-a_scene.png", "map_flight-b_scene.png",
                                                  "roc_other.png"}
    assert result.datasets["flight-a/scene"]["given"] == str(paths[0])
    assert result.datasets["other"]["source"] == "hsi-file"


def test_labels_go_up_only_as_far_as_needed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for rel in ("x/a/scene.mat", "y/a/scene.mat", "z/scene.mat", "synthetic-scene.mat"):
        _scene(tmp_path / rel, 0, (1, 1))
    labels = bench.dataset_labels(["x/a/scene.mat", "y/a/scene.mat", "z/scene.mat", "synthetic-scene.mat",
                                   "synthetic-scene"])
    # equal stems and equal parents: a grandparent more; a stem equal to a registered name in the grid: a parent
    assert labels == {"x/a/scene.mat": "x/a/scene", "y/a/scene.mat": "y/a/scene", "z/scene.mat": "z/scene",
                      "synthetic-scene.mat": f"{tmp_path.name}/synthetic-scene", "synthetic-scene": "synthetic-scene"}
    assert bench.dataset_labels(["synthetic-table", "z/scene.mat"]) == {"synthetic-table": "synthetic-table",
                                                                        "z/scene.mat": "scene"}


def test_one_file_given_twice_is_refused_before_any_work(scenes, tmp_path, monkeypatch):
    paths, _ = scenes
    with pytest.raises(ConfigError, match="given more than once; list each dataset once"):
        bench.run(["rx"], [str(paths[0]), str(paths[0])], [0])
    with pytest.raises(ConfigError, match=r"detector\(s\) rx given more than once; list each detector once"):
        bench.run(["rx", "rx"], [str(paths[0])], [0], out=tmp_path / "never")  # was: every cell run twice
    assert not (tmp_path / "never").exists()
    monkeypatch.chdir(paths[0].parent)
    with pytest.raises(ConfigError, match=r"are the same file; list each dataset once"):
        bench.dataset_labels(["scene.mat", os.path.join("..", "flight-a", "scene.mat")])


def test_resume_keeps_the_rows_of_files_by_their_names(scenes, tmp_path):
    paths, _ = scenes
    out = tmp_path / "out"
    specs = [str(p) for p in paths[:2]]
    bench.run(["rx"], specs, [0], out=out, echo=lambda line: None, plots=False)
    lines = []
    again = bench.run(["rx"], specs, [0], out=out, echo=lines.append, resume=True, plots=False)
    assert "[bench] resuming: 2 finished cell(s) kept" in lines[0] and len(lines) == 1  # nothing ran again
    assert [r["dataset"] for r in again.rows] == ["flight-a/scene", "flight-b/scene"]
