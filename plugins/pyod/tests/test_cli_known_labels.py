"""`had fit --known FILE`: known labels (1 anomaly, -1 normal, 0 unlabelled) for a detector that learns from them
(SSAD here), read from a file beside the data; without them such a fit says in one note line that every sample
was unlabelled. Bad label files get one line, exit 2, before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.cli import main

pytest.importorskip("pyod")


def _fit(capsys, *args: str) -> str:
    main(["fit", *args])
    captured = capsys.readouterr()
    return captured.out + captured.err


def _refused(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["fit", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


@pytest.fixture()
def scene(tmp_path):
    """A 30 x 20 x 4 scene with a 3 x 3 block of anomalies; known: four of them and six normal pixels."""
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(30, 20, 4))
    cube[10:13, 5:8] += 2.5
    known = np.zeros((30, 20), np.int8)
    known[10:12, 5:7] = 1
    known[0, :6] = -1
    np.save(tmp_path / "scene.npy", cube)
    np.save(tmp_path / "known.npy", known)
    truth = np.zeros((30, 20), np.int8)
    truth[10:13, 5:8] = 1
    np.save(tmp_path / "truth.npy", truth)
    return cube, known


def test_fit_without_known_labels_says_every_sample_was_unlabelled(tmp_path, capsys, scene):
    said = _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "m"))
    assert ("note: ssad learns from known labels (1 anomaly, -1 normal) and scene gives none: every sample was "
            "fitted as unlabelled; give them with --known FILE (or fit(X, known) in Python)") in said
    assert (tmp_path / "m" / "manifest.json").exists()
    said = _fit(capsys, "rx", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "rx"))  # no labels to miss
    assert "known labels" not in said


def test_known_labels_from_a_file_are_the_ones_the_python_api_takes(tmp_path, capsys, scene):
    cube, known = scene
    said = _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "--known", str(tmp_path / "known.npy"),
                "-o", str(tmp_path / "with"))
    assert "gives none" not in said
    _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "without"))
    with_known = had.load(tmp_path / "with").decision_function(cube)
    without = had.load(tmp_path / "without").decision_function(cube)
    api = had.get_detector("ssad").fit(cube, known).decision_function(cube)
    np.testing.assert_allclose(with_known, api, rtol=1e-10)
    assert not np.allclose(with_known, without, rtol=1e-3)  # the labels changed the model
    # the known anomalies are pushed out: they rank higher among all pixels than without their labels
    ranks = lambda s: np.argsort(np.argsort(s.reshape(-1)))[known.reshape(-1) == 1]  # noqa: E731
    assert ranks(with_known).mean() > ranks(without).mean()


def test_known_labels_in_an_npz_under_their_key(tmp_path, capsys, scene):
    cube, known = scene
    np.savez(tmp_path / "labels.npz", truth=(known > 0).astype(np.int8), known=known)
    _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "--known", str(tmp_path / "labels.npz"),
         "-o", str(tmp_path / "m"))
    api = had.get_detector("ssad").fit(cube, known).decision_function(cube)
    np.testing.assert_allclose(had.load(tmp_path / "m").decision_function(cube), api, rtol=1e-10)


@pytest.mark.parametrize("labels,message", [
    (np.zeros((20, 30), np.int8), "the known labels have shape (20, 30) but scene needs (30, 20) (is it transposed?)"),
    (np.zeros(600, np.int8), "the known labels have shape (600,) but scene needs (30, 20): one label per pixel"),
    (np.full((30, 20), 2, np.int8), "known labels hold values [2]; use 1 = known anomaly, -1 = known normal"),
    (np.full((30, 20), "a"), "the known labels have dtype <U1; use numbers 1, -1 and 0"),
])
def test_a_bad_label_file_is_one_line_and_nothing_is_written(tmp_path, capsys, scene, labels, message):
    np.save(tmp_path / "bad.npy", labels)
    err = _refused(capsys, "ssad", str(tmp_path / "scene.npy"), "--known", str(tmp_path / "bad.npy"),
                   "-o", str(tmp_path / "m"))
    assert message in err
    assert not (tmp_path / "m").exists()


def test_known_labels_for_a_detector_that_ignores_them_are_refused_before_the_data_is_read(tmp_path, capsys):
    err = _refused(capsys, "rx", str(tmp_path / "absent.npy"), "--known", str(tmp_path / "k.npy"),
                   "-o", str(tmp_path / "m"))
    assert "rx does not learn from known labels; drop --known" in err
    err = _refused(capsys, "ssad", "synthetic-scene", "--known", str(tmp_path / "absent.npy"),
                   "-o", str(tmp_path / "m"))
    assert "no such known labels file" in err
    assert not (tmp_path / "m").exists()


def test_metrics_on_the_fit_data_leave_out_the_samples_given_as_known(tmp_path, capsys, scene):
    cube, known = scene
    said = _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "--data", f"labels={tmp_path / 'truth.npy'}",
                "--known", str(tmp_path / "known.npy"), "-o", str(tmp_path / "m"))
    assert "metrics below leave out the 10 samples given as known labels" in said
    scores = had.load(tmp_path / "m").decision_function(cube).reshape(-1)
    truth = np.load(tmp_path / "truth.npy").reshape(-1)
    unlabelled = known.reshape(-1) == 0  # 5 anomalies and 584 normal pixels left
    expected = had.get_metric("auroc")(truth[unlabelled], scores[unlabelled])
    assert f"auroc_on_fit_data {expected:.4f}" in said
    everything = had.get_metric("auroc")(truth, scores)
    assert f"{everything:.4f}" != f"{expected:.4f}"  # the given anomalies would have raised it


def test_a_sampled_fit_keeps_every_pixel_given_as_known(tmp_path, capsys, scene):
    cube, known = scene
    said = _fit(capsys, "ssad", str(tmp_path / "scene.npy"), "--known", str(tmp_path / "known.npy"),
                "--set", "max_fit_pixels=100", "-o", str(tmp_path / "m"))
    assert ("trained on a seeded sample of 100 of 600 pixels (max_fit_pixels, seed 0, the 10 with known labels "
            "among them)") in said
    assert had.load(tmp_path / "m").fit_sample_["labelled"] == 10


@pytest.mark.parametrize("header", ["label\n", "known\n", ""])
def test_known_labels_of_a_table_as_one_csv_column(tmp_path, capsys, header):
    pytest.importorskip("had_odds")  # table-file reads the CSVs
    rows = np.random.default_rng(1).normal(size=(60, 3))
    known = np.zeros(60, dtype=int)
    known[:3], known[10:15] = 1, -1
    np.savetxt(tmp_path / "table.csv", rows, delimiter=",", header="a,b,c", comments="")
    (tmp_path / "known.csv").write_text(header + "\n".join(map(str, known)) + "\n")
    _fit(capsys, "ssad", str(tmp_path / "table.csv"), "--known", str(tmp_path / "known.csv"), "-o", str(tmp_path / "m"))
    api = had.get_detector("ssad").fit(rows, known).decision_function(rows)
    np.testing.assert_allclose(had.load(tmp_path / "m").decision_function(rows), api, rtol=1e-6)
    np.savetxt(tmp_path / "two.csv", np.zeros((60, 2)), delimiter=",")
    err = _refused(capsys, "ssad", str(tmp_path / "table.csv"), "--known", str(tmp_path / "two.csv"),
                   "-o", str(tmp_path / "n"))
    assert "the known labels have shape (60, 2) but table needs (60,): one label per sample" in err
