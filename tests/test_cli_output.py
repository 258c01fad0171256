"""Outputs a script can read: `--json`, `had score -o` by suffix, escaped tables, export reports, reprs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_reliability_cli import assert_one_line, run_cli

import had
from had.data import Dataset
from had.metrics import auroc


@pytest.fixture
def scene_model(tmp_path, capsys):
    """RX fitted on the synthetic scene (a labelled cube), saved under tmp_path/rx."""
    code, out, err = run_cli(capsys, "fit", "rx", "synthetic-scene", "-o", str(tmp_path / "rx"))
    assert code == 0, err
    return tmp_path / "rx"


def test_score_csv_of_a_map_has_one_row_per_pixel_with_its_label(scene_model, tmp_path, capsys):
    code, _, err = run_cli(capsys, "score", str(scene_model), "synthetic-scene", "--engine", "eager",
                           "-o", str(tmp_path / "s.npy"))
    assert code == 0, err
    code, out, err = run_cli(capsys, "score", str(scene_model), "synthetic-scene", "--engine", "eager",
                             "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    amap = np.load(tmp_path / "s.npy")
    truth = had.load_dataset("synthetic-scene").y
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row", "col", "score", "label"]
    assert len(rows) == amap.size
    got = np.zeros(amap.shape)
    labels = np.zeros(amap.shape, dtype=int)
    for r in rows:
        got[int(r["row"]), int(r["col"])] = float(r["score"])
        labels[int(r["row"]), int(r["col"])] = int(r["label"])
    np.testing.assert_allclose(got, amap, rtol=1e-8)
    np.testing.assert_array_equal(labels, truth)


def test_score_csv_of_a_table_and_json_summary(tmp_path, capsys):
    code, _, err = run_cli(capsys, "fit", "rx", "synthetic-table", "-o", str(tmp_path / "m"))
    assert code == 0, err
    code, out, err = run_cli(capsys, "score", str(tmp_path / "m"), "synthetic-table", "--engine", "eager",
                             "-o", str(tmp_path / "t.csv"), "--json")
    assert code == 0, err
    summary = json.loads(out)  # stdout is JSON only; the progress lines went to stderr
    assert "scored with" in err
    data = had.load_dataset("synthetic-table")
    scores = had.load(tmp_path / "m").decision_function(data.X)
    assert summary["n_scores"] == data.n_samples == len(scores)
    assert summary["flagged"] == int((scores > summary["threshold"]).sum())
    assert summary["metrics"]["auroc"] == pytest.approx(auroc(data.y, scores))
    assert summary["engine"] == "eager" and summary["map"] == str(tmp_path / "t.csv")
    table = np.genfromtxt(tmp_path / "t.csv", delimiter=",", names=True)
    assert table.dtype.names == ("index", "score", "label")
    np.testing.assert_array_equal(table["index"], np.arange(len(scores)))
    np.testing.assert_allclose(table["score"], scores, rtol=1e-8)


@pytest.mark.parametrize("name", ["scores.txt", "scores", "scores.json"])
def test_unknown_output_suffix_fails_before_scoring(scene_model, tmp_path, capsys, monkeypatch, name):
    import had.score_data

    def never(*_, **__):
        raise AssertionError("scored although the output could not be written")

    monkeypatch.setattr(had.score_data, "score_dataset", never)
    code, _, err = run_cli(capsys, "score", str(scene_model), "synthetic-scene", "-o", str(tmp_path / name))
    assert_one_line(code, err, "unknown output type", ".csv, .npy, .tif")
    assert not (tmp_path / name).exists()


def test_fit_json_and_export_report_against_ground_truth(tmp_path, rng, capsys):
    pytest.importorskip("had_hsi")
    cube = rng.normal(size=(30, 20, 5))
    truth = (rng.random((30, 20)) < 0.1).astype(np.uint8)  # labels unrelated to the data: AUROC near 0.5
    np.savez(tmp_path / "scene.npz", data=cube, map=truth)
    scene = str(tmp_path / "scene.npz")
    code, out, err = run_cli(capsys, "fit", "rx", scene, "-o", str(tmp_path / "m"), "--export", "--json")
    assert code == 0, err
    result = json.loads(out)
    truth_auroc = auroc(truth, had.load(tmp_path / "m").decision_function(cube))
    assert 0.3 < truth_auroc < 0.7
    assert result["metrics"]["auroc_on_fit_data"] == pytest.approx(truth_auroc)
    report = result["export"]
    assert report["passed"] and report["auroc_labels"] == "ground truth"
    # measured on the scene and a cropped copy of it: near the scene's own AUROC, not the 1.0 of pseudo labels
    assert report["auroc_eager"] == pytest.approx(truth_auroc, abs=0.05)
    assert report["auroc_onnx"] == pytest.approx(report["auroc_eager"], abs=1e-3)
    assert "AUROC against ground truth: eager" in err and "parity passed" in err

    code, out, err = run_cli(capsys, "export", str(tmp_path / "m"), scene)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == f"exported {tmp_path / 'm'}/model.onnx"
    assert f"AUROC against ground truth: eager {report['auroc_eager']:.4f}" in out
    assert any(line.strip().startswith("max relative error") for line in lines)
    code, out, err = run_cli(capsys, "export", str(tmp_path / "m"))  # no data: pseudo labels, and it says so
    assert code == 0, err
    assert "AUROC against pseudo labels (eager score > threshold): eager 1.0000" in out


def test_list_and_describe_json(capsys):
    code, out, err = run_cli(capsys, "list", "detectors", "--json")
    assert code == 0, err
    detectors = {row["name"]: row for row in json.loads(out)}
    assert detectors["rx"]["plugin"] and set(detectors["rx"]) == {"name", "plugin", "summary"}
    assert set(detectors) == set(had.plugins.registry()["detector"])
    code, out, err = run_cli(capsys, "list", "datasets", "--json")
    assert code == 0, err
    assert all("files" in row for row in json.loads(out))
    code, out, err = run_cli(capsys, "describe", "rx", "--json")
    assert code == 0, err
    (info,) = json.loads(out)
    assert info["kind"] == "detector" and info["onnx_export"] is True and "cube" in info["data_kinds"]
    fields = {f["name"]: f for f in info["fields"]}
    assert fields["eig_floor"]["type"] == "float" and fields["eig_floor"]["default"] == 1e-10  # JSON values
    assert fields["threshold_sample"]["default"] == 2**18 and fields["nodata"]["default"] is None
    assert not fields["eig_floor"]["required"]
    code, out, err = run_cli(capsys, "describe", "rx")
    assert code == 0 and any(line.startswith("| eig_floor | float | 1e-10 |") for line in out.splitlines()), out


def test_describe_table_escapes_union_types(capsys):
    pytest.importorskip("had_hsi")
    code, out, err = run_cli(capsys, "describe", "hsi-file")
    assert code == 0, err
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert any("str \\| None" in line for line in table), out
    for line in table:  # every row has the header's four cells once escaped pipes are set aside
        assert line.replace("\\|", "").count("|") == 5, line


def test_dataset_repr_shows_shapes_not_arrays():
    data = Dataset("scene", np.zeros((40, 30, 5)), np.zeros((40, 30), dtype=np.int64), meta={"url": "x"})
    text = repr(data)
    assert text == ("Dataset(name='scene', kind='cube', X=<float64 40x30x5>, y=<int64 40x30>, known=None, "
                    "classes=None, meta keys=[url])")


def test_hsi_file_map_from_a_second_file_and_map_key_null(tmp_path, rng, capsys):
    pytest.importorskip("had_hsi")
    import scipy.io

    cube = rng.normal(size=(20, 15, 6))
    mask = np.zeros((20, 15), dtype=np.uint8)
    mask[5:7, 4:6] = 1
    cube[5:7, 4:6] += 5.0
    scipy.io.savemat(tmp_path / "cube.mat", {"data": cube})
    scipy.io.savemat(tmp_path / "mask.mat", {"groundtruth": mask})  # the mask file's only array, any key
    np.save(tmp_path / "mask.npy", mask)
    for mask_file in ("mask.mat", "mask.npy"):
        data = had.load_dataset("hsi-file", path=str(tmp_path / "cube.mat"), map_path=str(tmp_path / mask_file))
        np.testing.assert_array_equal(data.y, mask)
        assert data.name == "cube" and data.meta["map_path"] == str(tmp_path / mask_file)
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "cube.mat"), "-o", str(tmp_path / "m"),
                             "--data", f"map_path={tmp_path / 'mask.mat'}", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "cube" and result["metrics"]["auroc_on_fit_data"] > 0.9
    for spelled in ("null", "None"):  # no ground truth: no metrics, no error about a key named "None"
        code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "cube.mat"), "-o", str(tmp_path / "m2"),
                                 "--data", f"map_key={spelled}", "--json", "--overwrite")
        assert code == 0, err
        assert json.loads(out)["metrics"] == {}


def test_demo_takes_output_and_keeps_out_hidden(capsys):
    code, out, _ = run_cli(capsys, "demo", "--help")
    assert code == 0
    assert "-o, --output" in out and "--out " not in out


def test_export_with_one_class_labels_falls_back_to_pseudo_labels_and_says_so(tmp_path, rng, capsys):
    pytest.importorskip("had_hsi")
    np.savez(tmp_path / "clean.npz", data=rng.normal(size=(20, 16, 4)), map=np.zeros((20, 16), dtype=np.uint8))
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "clean.npz"), "-o", str(tmp_path / "m"),
                             "--export", "--json")
    assert code == 0, err
    assert "metrics on the fit data skipped: the labels hold one class only" in err
    result = json.loads(out)
    assert result["metrics"] == {}
    report = result["export"]
    assert report["passed"] and report["auroc_labels"].startswith("pseudo labels")


def test_a_scene_scored_tile_by_tile_refuses_csv_before_scoring(tmp_path, capsys):
    pytest.importorskip("had_hsi")
    from test_cli_output_readme import write_envi_line

    write_envi_line(tmp_path, shape=(20, 10, 4))
    code, _, err = run_cli(capsys, "fit", "rx", str(tmp_path / "line.hdr"), "-o", str(tmp_path / "m"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "line.hdr"), "-o",
                           str(tmp_path / "map.csv"))
    assert_one_line(code, err, "tile by tile", ".tif")
    assert not (tmp_path / "map.csv").exists()
    code, out, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "line.hdr"), "-o",
                             str(tmp_path / "map.npy"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    amap = np.load(tmp_path / "map.npy")
    assert amap.shape == (20, 10) and summary["n_scores"] == 200
    assert summary["flagged"] == int((amap > summary["threshold"]).sum())


@pytest.mark.parametrize("option", ["-o", "--png"])
def test_an_output_that_is_a_folder_or_below_a_file_fails_before_scoring(scene_model, tmp_path, capsys,
                                                                          monkeypatch, option):
    """``-o map.tif`` naming a folder (or a path below a file) used to be scored, then the rename failed with the
    temporary file's name in the message and that file left behind; now one line before any scoring."""
    import had.score_data

    def never(*_, **__):
        raise AssertionError("scored although the output could not be written")

    monkeypatch.setattr(had.score_data, "score_dataset", never)
    folder = tmp_path / ("map.npy" if option == "-o" else "look.png")
    folder.mkdir()
    extra = ["-o", str(tmp_path / "s.npy")] if option == "--png" else []
    code, _, err = run_cli(capsys, "score", str(scene_model), "synthetic-scene", option, str(folder), *extra)
    assert_one_line(code, err, f"{option} {folder} is a folder, not a file")
    (tmp_path / "afile").write_text("mine")
    below = tmp_path / "afile" / ("m.npy" if option == "-o" else "q.png")
    code, _, err = run_cli(capsys, "score", str(scene_model), "synthetic-scene", option, str(below), *extra)
    assert_one_line(code, err, "which is a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["rx", folder.name, "afile"])
    assert (tmp_path / "afile").read_text() == "mine" and not any(folder.iterdir())


@pytest.mark.parametrize("shape", [(50,), (9, 7)])
def test_a_score_csv_written_in_pieces_is_the_csv_written_at_once(tmp_path, monkeypatch, shape):
    """A table of millions of rows is formatted CSV_ROWS rows at a time into the temporary file: pieces of 7 rows
    give the file one piece gives, row and column indices included, and it is readable as before."""
    from had import score_output

    rng = np.random.default_rng(0)
    scores = rng.normal(size=shape) * 1e3
    labels = (rng.random(shape) < 0.2).astype(np.int8)
    score_output.write_scores(tmp_path / "whole.csv", scores, labels)
    monkeypatch.setattr(score_output, "CSV_ROWS", 7)
    score_output.write_scores(tmp_path / "pieces.csv", scores, labels)
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    table = np.genfromtxt(tmp_path / "pieces.csv", delimiter=",", names=True)
    assert table.size == scores.size
    np.testing.assert_allclose(table["score"], scores.reshape(-1), rtol=1e-8)
    np.testing.assert_array_equal(table["label"], labels.reshape(-1))
    if len(shape) == 2:
        rows, cols = np.indices(shape)
        np.testing.assert_array_equal(table["row"], rows.reshape(-1))
        np.testing.assert_array_equal(table["col"], cols.reshape(-1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pieces.csv", "whole.csv"]


def test_a_score_csv_that_fails_half_way_leaves_no_file(tmp_path, monkeypatch):
    """An error after the first pieces (here the second) leaves neither a partial CSV nor its temporary file."""
    from had import score_output

    calls = []
    original = np.savetxt

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)

    monkeypatch.setattr(score_output, "CSV_ROWS", 5)
    monkeypatch.setattr(score_output.np, "savetxt", failing)
    with pytest.raises(OSError):
        score_output.write_scores(tmp_path / "s.csv", np.arange(20.0))
    assert list(tmp_path.iterdir()) == []


def test_the_describe_a_config_error_points_to_exists(capsys):
    """``--data thyroid.bogus=1`` said "`had describe odds-table` lists the fields", and that command said no such
    name: a source's class name is described too, without a registration's defaults; the config error now names
    the registered dataset (`had describe thyroid`), as a detector's names its registration."""
    pytest.importorskip("had_odds")
    code, _, err = run_cli(capsys, "fit", "rx", "thyroid", "-o", "unused", "--data", "bogus=1")
    assert code == 2 and "`had describe thyroid` lists the fields" in err, err
    code, out, err = run_cli(capsys, "describe", "odds-table", "--json")
    assert code == 0, err
    (info,) = json.loads(out)
    fields = {f["name"]: f for f in info["fields"]}
    assert info["kind"] == "datasource" and fields["table"]["required"] and fields["table"]["default"] is None


def test_fitting_on_mostly_anomalies_and_a_window_on_a_named_scene_are_said(capsys, tmp_path):
    """`had fit deepsvdd mnist` fitted a one-class method on 90 % anomalies (AUROC 0.498) without a word;
    `--data rows=1-40` on a named scene said only "Extra inputs are not permitted"."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "rows.npy", rng.normal(size=(100, 3)))
    np.save(tmp_path / "truth.npy", (np.arange(100) < 60).astype(np.int64))
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "rows.npy"), "--data",
                             f"labels={tmp_path / 'truth.npy'}", "-o", str(tmp_path / "m"))
    assert code == 0 and "60% of rows are anomalies by its labels" in out + err, out + err
    pytest.importorskip("had_hsi")
    code, _, err = run_cli(capsys, "fit", "rx", "sandiego_plane", "--data", "rows=1-40", "-o", str(tmp_path / "w"))
    assert code == 2 and "rows applies to scene files: pass the scene's file as DATASET" in err, err
