"""Deep SAD's semi-supervised image setting: counts, ratios, one known class, test untouched, determinism by seed."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had import Dataset
from had.errors import InvalidInputError
from had_images import files
from had_images.semisupervised import known_anomaly_class, normal_class_of, semisupervised_split


def _digits(normal: int = 3, per_class: int = 400, n_test: int = 50) -> Dataset:
    """A stand-in for MNIST: 10 classes x `per_class` training images, then `n_test` test images."""
    classes = np.concatenate([np.repeat(np.arange(10), per_class), np.arange(n_test) % 10]).astype(np.int64)
    X = np.random.default_rng(0).random((classes.size, 1, 4, 4), dtype=np.float32)
    n_train = 10 * per_class
    index = {"train": np.arange(n_train - 10), "val": np.arange(n_train - 10, n_train),
             "test": np.arange(n_train, classes.size)}
    return Dataset("digits", X, (classes != normal).astype(np.int8), classes=classes,
                   meta={"split_index": index})


def test_counts_and_ratios_follow_the_reference_equations():
    data = _digits(normal=3)
    train, test, known = semisupervised_split(data, ratio_known_outlier=0.05, ratio_pollution=0.2, seed=0)
    n_normal = 400  # every normal training image (class 3 sits before the 10 held-out images)
    n_polluting = int(0.2 * n_normal / 0.8)  # n_uo = gamma_p (n_un + n_uo)
    n_known = int(0.05 * (n_normal + n_polluting) / 0.95)  # n_ko = gamma_l T
    assert (n_polluting, n_known) == (100, 26)
    assert int((train.classes == 3).sum()) == n_normal and np.all(train.y[train.classes == 3] == 0)
    assert int((train.known == 1).sum()) == n_known and np.all(train.classes[train.known == 1] == known)
    unlabelled_anomalies = (train.known == 0) & (train.y == 1)
    assert int(unlabelled_anomalies.sum()) == n_polluting
    assert len(np.unique(train.classes[unlabelled_anomalies])) > 1  # pollution from several anomaly classes
    assert int((train.known == -1).sum()) == 0  # no known normals in Deep SAD's MNIST setting
    assert n_polluting / (n_normal + n_polluting) == pytest.approx(0.2)
    # the test part is the source's, untouched; val images never enter training
    np.testing.assert_array_equal(test.X, data.X[-50:])
    np.testing.assert_array_equal(test.y, data.y[-50:])
    assert not np.isin(np.arange(3990, 4000), np.flatnonzero(np.isin(data.X[:, 0, 0, 0], train.X[:, 0, 0, 0]))).any()
    assert train.meta["known_anomaly_class"] == known and train.meta["ratio_pollution"] == 0.2


def test_gamma_l_only_labels_one_class_and_adds_no_pollution():
    train, _, known = semisupervised_split(_digits(normal=0), ratio_known_outlier=0.2, seed=1)
    assert int((train.known == 1).sum()) == int(0.2 * 400 / 0.8) == 100
    assert set(np.unique(train.classes).tolist()) == {0, known}
    assert not ((train.known == 0) & (train.y == 1)).any()


def test_no_labels_no_pollution_is_the_one_class_training_set():
    train, _, _ = semisupervised_split(_digits(normal=7), 0.0, 0.0, seed=0)
    assert train.X.shape[0] == 400 and np.all(train.classes == 7) and np.all(train.known == 0)


def test_same_seed_same_split_other_seed_other_draw():
    data = _digits(normal=5)
    a = semisupervised_split(data, 0.05, 0.1, seed=4)
    b = semisupervised_split(data, 0.05, 0.1, seed=4)
    c = semisupervised_split(data, 0.05, 0.1, seed=5)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.train.known, b.train.known)
    assert a.known_anomaly_class == b.known_anomaly_class
    assert a.train.X.shape == c.train.X.shape  # the same counts ...
    assert not np.array_equal(np.sort(a.train.X[:, 0, 0, 0]), np.sort(c.train.X[:, 0, 0, 0]))  # ... other images


def test_known_class_is_a_seeded_draw_per_normal_class_and_never_the_normal_one():
    draws = [known_anomaly_class(d, range(10), seed=0) for d in range(10)]
    assert draws == [known_anomaly_class(d, range(10), seed=0) for d in range(10)]
    assert all(k != d and 0 <= k <= 9 for d, k in enumerate(draws))
    assert len(set(draws)) > 1  # not the same class for every normal digit
    over_seeds = {known_anomaly_class(3, range(10), seed=s) for s in range(30)}
    assert 3 not in over_seeds and len(over_seeds) >= 6
    # the same draw whatever the ratios: the gamma_l and gamma_p tables share their known class
    data = _digits(normal=2)
    assert semisupervised_split(data, 0.01, 0.0, seed=3).known_anomaly_class == \
        semisupervised_split(data, 0.05, 0.2, seed=3).known_anomaly_class == known_anomaly_class(2, range(10), 3)


def test_bad_input_is_refused_with_a_typed_error():
    data = _digits(normal=1)
    with pytest.raises(InvalidInputError, match="not an anomaly class"):
        semisupervised_split(data, 0.05, known_class=1)
    with pytest.raises(InvalidInputError, match="ratio_pollution"):
        semisupervised_split(data, 0.05, 1.5)
    with pytest.raises(InvalidInputError, match="not enough anomalies"):
        semisupervised_split(data, 0.6, 0.0, known_class=2)  # 600 known wanted, class 2 has 400
    with pytest.raises(InvalidInputError, match="split_index"):
        semisupervised_split(Dataset("x", data.X, data.y, classes=data.classes), 0.05)
    with pytest.raises(InvalidInputError, match="exactly one"):
        normal_class_of(Dataset("x", data.X, np.zeros_like(data.y), classes=data.classes))


@pytest.mark.realdata
def test_official_mnist_setting_counts(real_file):
    for known in (files.MNIST_TRAIN_IMAGES, files.MNIST_TRAIN_LABELS, files.MNIST_TEST_IMAGES, files.MNIST_TEST_LABELS):
        real_file(known.relpath)
    data = had.load_dataset("mnist", normal_class=3, train_set="official")
    train, test, known = semisupervised_split(data, ratio_known_outlier=0.05, ratio_pollution=0.1, seed=0)
    n_normal = 6131 - round(0.05 * 6131)  # the official digit 3 less the source's 5 % validation hold-out
    assert n_normal == 5824 and int((train.classes == 3).sum()) == n_normal
    n_polluting = int((train.y == 1).sum() - (train.known == 1).sum())
    assert n_polluting == int(0.1 * n_normal / 0.9) == 647 and len(np.unique(train.classes[train.known == 0])) == 10
    assert int((train.known == 1).sum()) == int(0.05 * (n_normal + n_polluting) / 0.95) == 340
    assert np.all(train.classes[train.known == 1] == known) and known != 3
    assert test.X.shape[0] == 10000 and test.n_anomalies == 10000 - 1010  # the official test set
