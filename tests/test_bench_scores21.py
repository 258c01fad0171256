"""``had bench --save-scores``: each finished cell's scores, truth and threshold in OUT/scores.

Was: a grid kept its metrics only (the first seed's scores went into the figures and were dropped), so a metric,
a figure or a statistical test no grid computed meant fitting every cell again."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from had_sdk.testing import run_cli

import had
from had import bench_scores
from had.metrics import auroc

SCENE = ("--datasets", "synthetic-scene,synthetic-table", "--data", "synthetic-scene.height=24", "--data",
         "synthetic-scene.width=24", "--seeds", "0-1", "--no-plots")


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_every_cell_keeps_its_scores_and_they_give_its_metrics(capsys, tmp_path, executor):
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest@few", "--set",
                           "pyod-iforest@few.n_estimators=5", *SCENE, "--save-scores", "--out", out, "--executor",
                           executor)
    assert code == 0, err
    rows = _rows(out)
    assert len(rows) == 8
    for row in rows:
        kept = bench_scores.load(out, row["detector"], row["dataset"], int(row["seed"]))
        assert kept["scores"].dtype == np.float64 and kept["scores"].shape == kept["y"].shape
        assert float(row["auroc"]) == pytest.approx(auroc(kept["y"].ravel(), kept["scores"].ravel()), rel=1e-5)
        if row["dataset"] == "synthetic-scene":  # a scene's map, as its pixels lie
            assert kept["scores"].shape == (24, 24)
    # the scene's RX scores are RX's: fitted on the scene, its Mahalanobis distances (transductive)
    data = had.load_dataset("synthetic-scene", height=24, width=24)
    det = had.get_detector("rx").fit(data.X)
    kept = bench_scores.load(out, "rx", "synthetic-scene", 0)
    np.testing.assert_allclose(kept["scores"], det.decision_scores_.reshape(24, 24), rtol=1e-12)
    assert float(kept["threshold"]) == pytest.approx(det.threshold_)
    assert bench_scores.path_of(out, "pyod-iforest@few", "synthetic-scene", 1).is_file()


def test_overwrite_removes_the_earlier_grids_scores_and_nothing_else(capsys, tmp_path):
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out)[0] == 0
    mine = out / "scores" / "notes.txt"  # a file of the user's beside them stays
    mine.write_text("mine")
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out, "--overwrite")[0] == 0
    assert not bench_scores.path_of(out, "rx", "synthetic-scene", 0).exists()
    assert sorted(p.name for p in (out / "scores").rglob("*")) == ["notes.txt"]


def test_a_dataset_label_with_folders_is_one_folder_under_scores(tmp_path):
    path = bench_scores.path_of(tmp_path, "rx@a.b", "../flight-a/scene", 3)
    assert path.parent.parent.parent == tmp_path / "scores" and path.name == "seed-3.npz"
    assert path.parent.name == "%2E%2E%2Fflight-a%2Fscene" and path.parent.parent.name == "rx@a%2Eb"


def test_saving_needs_an_output_folder_and_refuses_a_users_scores_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores")
    assert code == 2 and "saving the scores (--save-scores) needs an output folder (--out)" in err
    out = tmp_path / "o"
    (out / "scores").mkdir(parents=True)
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out)
    assert code == 2 and "was not written by had bench --save-scores" in err and not (out / "results.csv").exists()
    # without --save-scores a folder of the user's named scores is no concern of the grid's
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out)[0] == 0


def test_a_grid_file_asks_for_them(capsys, tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('save_scores = true\ndetectors = ["rx"]\ndatasets = ["synthetic-table"]\n')
    assert run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", tmp_path / "o")[0] == 0
    assert bench_scores.path_of(tmp_path / "o", "rx", "synthetic-table", 0).is_file()
    assert run_cli(capsys, "bench", "--config", grid, "--no-save-scores", "--no-plots", "--out", tmp_path / "p")[0] == 0
    assert not (tmp_path / "p" / "scores").exists()
    grid.write_text('save_scores = "yes"\ndetectors = ["rx"]\ndatasets = ["synthetic-table"]\n')
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--no-plots")
    assert code == 2 and "save_scores 'yes' must be true or false" in err


def test_resume_computes_new_metrics_from_the_saved_scores_without_refitting(capsys, tmp_path):
    out, fresh = tmp_path / "o", tmp_path / "fresh"
    first = ("bench", "--detectors", "rx,pyod-iforest@few", "--set", "pyod-iforest@few.n_estimators=5", *SCENE)
    assert run_cli(capsys, *first, "--metrics", "auroc", "--save-scores", "--out", out)[0] == 0
    before = {(r["detector"], r["dataset"], r["seed"]): r for r in _rows(out)}
    more = ("--metrics", "auroc,eer,precision_at_n@top5", "--metric-set", "precision_at_n@top5.n=5")
    code, _, err = run_cli(capsys, *first, *more, "--save-scores", "--out", out, "--resume")
    assert code == 0, err
    assert "the metrics of 8 kept cell(s) computed again from their saved scores" in err
    after = {(r["detector"], r["dataset"], r["seed"]): r for r in _rows(out)}
    assert run_cli(capsys, *first, *more, "--out", fresh)[0] == 0
    for key, row in {(r["detector"], r["dataset"], r["seed"]): r for r in _rows(fresh)}.items():
        assert [after[key][m] for m in ("auroc", "eer", "precision_at_n@top5")] == \
            [row[m] for m in ("auroc", "eer", "precision_at_n@top5")]
        assert after[key]["fit_s"] == before[key]["fit_s"]  # kept, not fitted again
    assert list(_rows(out)[0])[3:6] == ["auroc", "eer", "precision_at_n@top5"]


def test_a_kept_cell_without_its_scores_is_run_again_and_one_of_another_grid_stops_it(capsys, tmp_path):
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc", "--save-scores", "--out",
                   out)[0] == 0
    bench_scores.path_of(out, "rx", "synthetic-table", 1).unlink()
    fit_s = {(r["dataset"], r["seed"]): r["fit_s"] for r in _rows(out)}
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,eer", "--save-scores",
                           "--out", out, "--resume")
    assert code == 0, err
    assert "the metrics of 3 kept cell(s) computed again from their saved scores" in err
    rows = {(r["dataset"], r["seed"]): r for r in _rows(out)}
    assert all(r["eer"] for r in rows.values())
    assert [k for k in rows if rows[k]["fit_s"] != fit_s[k]] == [("synthetic-table", "1")]  # run again alone
    # a kept cell of another grid (seed 1, not in this one) without its scores: its metrics cannot be had again
    bench_scores.path_of(out, "rx", "synthetic-table", 1).unlink()
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE[:-3], "--seeds", "0-0", "--no-plots",
                           "--metrics", "auroc", "--out", out, "--resume")
    assert code == 2 and "the metrics differ from those of the finished cells" in err
    assert "keep the cells' scores with --save-scores, from which --resume computes new metrics" in err


def test_links_under_scores_are_never_followed(capsys, tmp_path):
    """Was: a linked folder under scores/ had --overwrite delete the user's files it led to and write there."""
    out, outside = tmp_path / "o", tmp_path / "outside"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out)[0] == 0
    outside.mkdir()
    (outside / "seed-0.npz").write_text("mine")
    (outside / "seed-7.npz").write_text("mine too")
    linked = out / "scores" / "rx" / "synthetic-table"
    for path in linked.iterdir():
        path.unlink()
    linked.rmdir()
    linked.symlink_to(outside, target_is_directory=True)
    before = (out / "results.csv").read_text()
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out, "--overwrite")
    assert code == 2 and "is a link or a file, where had bench keeps the cells' scores" in err
    assert (out / "results.csv").read_text() == before  # refused before anything was removed
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out, "--overwrite")
    assert code == 0, err  # without --save-scores: the replaced grid's files removed, none through the link
    assert sorted(p.name for p in outside.iterdir()) == ["seed-0.npz", "seed-7.npz"]
    assert (outside / "seed-0.npz").read_text() == "mine"


def test_overwrite_removes_only_files_had_wrote_for_the_replaced_cells(capsys, tmp_path):
    out = tmp_path / "o"
    theirs = out / "scores" / "rx" / "synthetic-table" / "seed-0.npz"  # a user's, in a folder of their own
    theirs.parent.mkdir(parents=True)
    theirs.write_text("mine")
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out)[0] == 0  # no --save-scores: fine
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out, "--overwrite")[0] == 0
    assert theirs.read_text() == "mine"  # the replaced grid kept no scores: nothing of scores/ is its
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out, "--resume")
    assert code == 2 and "was not written by had bench --save-scores" in err and theirs.read_text() == "mine"
    other = tmp_path / "p"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", other)[0] == 0
    extra = other / "scores" / "rx" / "synthetic-table" / "seed-9.npz"  # no cell of the grid: not had's
    extra.write_text("mine")
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", other, "--overwrite")[0] == 0
    assert extra.read_text() == "mine" and not bench_scores.path_of(other, "rx", "synthetic-table", 0).exists()


def test_what_would_stop_saving_is_said_before_any_cell(capsys, tmp_path):
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out)[0] == 0
    shutil.rmtree(out / "scores")
    (out / "scores").write_text("a file")
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--save-scores", "--out", out, "--resume")
    assert code == 2 and "is a link or a file" in err
    assert (out / "results.csv").is_file()  # the kept results stay
    # a dataset named by a file of 100 accented letters: 900 bytes quoted, past the 255 a name may take
    (tmp_path / "long").mkdir()
    with pytest.raises(had.errors.ConfigError, match="more than the 255 its file system takes"):
        bench_scores.check(tmp_path / "long", ["rx"], ["\u00e9" * 100], False)
    bench_scores.check(tmp_path / "long", ["rx@" + "x" * 64], ["cardio"], False)  # 67 bytes: fine


def test_resuming_with_the_option_changed_is_said_and_a_missing_cell_is_a_typed_error(capsys, tmp_path):
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE[:-3], "--seeds", "0-0", "--no-plots",
                   "--save-scores", "--out", out)[0] == 0
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--out", out, "--resume")
    assert code == 0 and "the kept cells' scores are in scores/, the cells run now keep none" in err
    with pytest.raises(had.errors.DataFileError, match="no scores kept for rx on synthetic-table .seed 1."):
        bench_scores.load(out, "rx", "synthetic-table", 1)


@pytest.mark.parametrize("bad", ["text", "pickled", "no-threshold", "shapes", "link"])
def test_a_saved_file_had_did_not_write_is_not_used_its_cell_runs_again(capsys, tmp_path, bad):
    """Was: a traceback (a text file, an object array, a missing key), a blank metric kept for good (shapes
    apart), or metrics computed through a link from a file outside OUT."""
    out = tmp_path / "o"
    args = ("bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "0-0", "--no-plots")
    assert run_cli(capsys, *args, "--metrics", "auroc", "--save-scores", "--out", out)[0] == 0
    path = bench_scores.path_of(out, "rx", "synthetic-table", 0)
    good = bench_scores.load(out, "rx", "synthetic-table", 0)
    path.unlink()
    if bad == "text":
        path.write_text("not an npz")
    elif bad == "pickled":
        np.savez(path, scores=np.array([object()], dtype=object), y=good["y"], threshold=good["threshold"])
    elif bad == "no-threshold":
        np.savez(path, scores=good["scores"], y=good["y"])
    elif bad == "shapes":
        np.savez(path, scores=good["scores"][:5], y=good["y"], threshold=good["threshold"])
    else:
        outside = tmp_path / "outside.npz"
        np.savez(outside, scores=-good["scores"], y=good["y"], threshold=good["threshold"])
        path.symlink_to(outside)
    with pytest.raises(had.errors.DataFileError):
        bench_scores.load(out, "rx", "synthetic-table", 0)
    fit_s = _rows(out)[0]["fit_s"]
    code, _, err = run_cli(capsys, *args, "--metrics", "auroc,eer", "--out", out, "--resume")
    assert code == 0 and "Traceback" not in err, err
    (row,) = _rows(out)
    assert row["fit_s"] != fit_s and float(row["auroc"]) > 0.9  # run again: RX's own scores, not the link's


def test_a_cell_file_that_is_a_folder_is_refused_before_overwrite_removes_anything(capsys, tmp_path):
    out = tmp_path / "o"
    args = ("bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "0-0", "--no-plots")
    assert run_cli(capsys, *args, "--save-scores", "--out", out)[0] == 0
    path = bench_scores.path_of(out, "rx", "synthetic-table", 0)
    path.unlink()
    path.mkdir()
    code, _, err = run_cli(capsys, *args, "--save-scores", "--out", out, "--overwrite")
    assert code == 2 and "is a folder, where had bench keeps a cell's scores" in err
    assert (out / "results.csv").is_file() and (out / "results.md").is_file()
