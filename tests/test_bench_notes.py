"""What a grid's protocol did that its numbers do not show is said in its notes (results.md, report.html, the
terminal): a detector that learns from known labels fitted with none, and a labelled image stack measured on
held-out images (was: fitted on every image and measured on the same ones, unsaid)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import bench, protocols

FAST = {"epochs": 1, "ae_epochs": 1}


def test_a_detector_that_learns_from_labels_is_said_to_get_none_under_adbench(tmp_path):
    """`had bench --detectors deepsvdd,deepsad,ssad --datasets cardio` gave deepsad and ssad no known labels (the
    adbench protocol has none) without a word; now one note per detector and dataset, whatever the seeds."""
    lines: list[str] = []
    result = bench.run(["rx", "deepsad"], ["synthetic-table"], [0, 1], out=tmp_path, plots=False,
                       detector_config={"deepsad": FAST}, echo=lines.append)
    assert not result.failed
    said = [n for n in result.notes if "learns from known labels" in n]
    assert said == ["deepsad learns from known labels (1 anomaly, -1 normal) and synthetic-table under the adbench "
                    "protocol gives none: every sample was fitted as unlabelled; --protocol deepsad gives it "
                    "labelled anomalies"]
    assert said[0] in (tmp_path / "results.md").read_text(encoding="utf-8")
    assert [line for line in lines if line.startswith("[bench] note:")] == [f"[bench] note: {said[0]}"]
    # the protocol that gives known anomalies: nothing to say of them
    deepsad = bench.run(["deepsad"], ["synthetic-table"], [0], protocol="deepsad", plots=False,
                        detector_config={"deepsad": FAST}, echo=lambda line: None)
    assert not deepsad.failed and not [n for n in deepsad.notes if "learns from known labels" in n]


@pytest.fixture
def image_stack(tmp_path):
    """100 images 1x28x28 (the reference networks' size), 80 % anomalies, and their labels."""
    rng = np.random.default_rng(0)
    X = rng.random((100, 1, 28, 28)).astype(np.float32)
    y = np.ones(100, dtype=np.int64)
    y[:20] = 0
    X[:20] *= 0.2  # the normal images are dark
    np.save(tmp_path / "imgs.npy", X)
    np.save(tmp_path / "truth.npy", y)
    return str(tmp_path / "imgs.npy"), str(tmp_path / "truth.npy"), y


def test_a_labelled_npy_image_stack_is_benchmarked_on_held_out_images(image_stack, tmp_path):
    """`had bench --datasets img.npy --data img.npy.labels=y.npy` fitted every image (90 % anomalies there) and
    measured the AUROC on the same images; now the one-class protocol: normal training images only, a seeded
    per-class train/val/test split, the metrics on the test part. A stack without labels stays transductive."""
    path, truth, y = image_stack
    assert had.get_datasource(path).default_protocol == "transductive"
    assert had.get_datasource(path, {"labels": truth}).default_protocol == "one-class"
    split = protocols.apply("one-class", had.load_dataset(path, labels=truth), seed=3)
    train_idx = protocols.one_class_parts(y, 3)
    assert split.train.y is None and split.train.n_samples == int((y[train_idx["train"]] == 0).sum()) == 12
    assert split.test.n_samples == 20 and split.val.n_samples == 20 and set(np.unique(split.test.y)) == {0, 1}
    assert protocols.apply("one-class", had.load_dataset(path, labels=truth), seed=3).train.X.tobytes() == \
        split.train.X.tobytes()  # the same parts for every detector of a seed
    lines: list[str] = []
    result = bench.run(["deepsad"], [path], [0], dataset_config={path: {"labels": truth}}, plots=False,
                       detector_config={"deepsad": FAST}, echo=lines.append)
    assert not result.failed and result.datasets["imgs"]["protocol"] == "one-class"
    assert not [n for n in result.notes if "transductive" in n]
    (note,) = [n for n in result.notes if "learns from known labels" in n]
    assert "under the one-class protocol gives none" in note and "--protocol deepsad is for tables" in note


def test_transductive_measurement_of_images_asked_for_is_said_to_be_on_training_data(image_stack, tmp_path):
    path, truth, _ = image_stack
    result = bench.run(["deepsvdd"], [path], [0], dataset_config={path: {"labels": truth}}, plots=False,
                       protocol="transductive", detector_config={"deepsvdd": FAST}, echo=lambda line: None)
    assert not result.failed
    label = bench.dataset_labels([path])[path]  # the file as the rows name it (its stem)
    assert result.notes == [f"{label}: the transductive protocol fits every detector on all its image samples and "
                            "measures it on the same samples: the metrics are on training data"]


def test_the_one_class_protocol_still_needs_parts_or_labelled_images(rng):
    with pytest.raises(had.InvalidInputError, match="labelled images"):
        protocols.one_class(had.Dataset("x", rng.random((4, 2)), np.array([0, 1, 0, 1])))
    with pytest.raises(had.InvalidInputError, match="split_index"):
        protocols.one_class(had.Dataset("x", rng.random((4, 1, 2, 2))))
