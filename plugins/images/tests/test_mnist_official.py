"""MNIST as the papers ran it: the official training set and Deep SVDD 2018's GCN + min-max preprocessing."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import ConfigError, InvalidInputError
from had_images import files, one_class_split
from had_images.contrast import gcn_minmax, global_contrast_normalise
from had_images.idx import read_idx
from had_images.oneclass import official_parts

# the per-digit (min, max) after GCN that Deep-SVDD-PyTorch hard-codes (src/datasets/mnist.py, ``min_max``)
REFERENCE_MIN_MAX = [(-0.8826567065619495, 9.001545489292527), (-0.6661464580883915, 20.108062262467364),
                     (-0.7820454743183202, 11.665100841080346), (-0.7645772083211267, 12.895051191467457),
                     (-0.7253923114302238, 12.683235701611533), (-0.7698501867861425, 13.103278415430502),
                     (-0.778418217980696, 10.457837397569108), (-0.7129780970522351, 12.057777597673047),
                     (-0.8280402650205075, 10.581538445782988), (-0.7369959242164307, 10.697039838804978)]
#: images per digit in the official training set
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_gcn_subtracts_the_mean_and_divides_by_the_mean_absolute_deviation():
    X = np.array([[[[0.0, 1.0], [2.0, 3.0]]], [[[1.0, 1.0], [1.0, 5.0]]], [[[4.0, 4.0], [4.0, 4.0]]]])
    out = global_contrast_normalise(X)
    assert out.shape == X.shape and out.dtype == np.float32
    # image 0: mean 1.5, deviations -1.5 -0.5 0.5 1.5, mean |.| = 1
    np.testing.assert_allclose(out[0].ravel(), [-1.5, -0.5, 0.5, 1.5])
    # image 1: mean 2, deviations -1 -1 -1 3, mean |.| = 1.5
    np.testing.assert_allclose(out[1].ravel(), [-2 / 3, -2 / 3, -2 / 3, 2.0], rtol=1e-6)
    np.testing.assert_array_equal(out[2], 0.0)  # a constant image: zeros, not NaN


def test_minmax_uses_the_range_of_the_fitted_images_only():
    X = np.array([[[[0.0, 1.0], [2.0, 3.0]]], [[[1.0, 1.0], [1.0, 5.0]]]])
    scaled, (lo, hi) = gcn_minmax(X, np.array([0]))
    assert (lo, hi) == (-1.5, 1.5)
    np.testing.assert_allclose(scaled[0].ravel(), [0.0, 1 / 3, 2 / 3, 1.0], rtol=1e-6)
    np.testing.assert_allclose(scaled[1].ravel(), (np.array([-2 / 3, -2 / 3, -2 / 3, 2.0]) + 1.5) / 3, rtol=1e-6)
    assert scaled[1].max() > 1.0  # an image outside the fitted set may leave [0, 1], as in the reference


def test_official_parts_hold_out_validation_per_class_and_test_after_train():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    parts = official_parts(labels, n_test=7, val_fraction=0.1, seed=0)
    assert np.array_equal(parts["test"], np.arange(60, 67))
    assert [int((labels[parts["val"]] == c).sum()) for c in range(3)] == [1, 2, 3]
    assert np.array_equal(np.sort(np.concatenate([parts["train"], parts["val"]])), np.arange(60))
    other = official_parts(labels, n_test=7, val_fraction=0.1, seed=1)
    assert not np.array_equal(other["val"], parts["val"])
    for bad in (0.0, 1.0):
        with pytest.raises(InvalidInputError):
            official_parts(labels, n_test=7, val_fraction=bad, seed=0)


def test_config_refuses_unknown_train_sets_and_preprocessing():
    with pytest.raises(ConfigError):
        had.get_datasource("mnist", train_set="train")
    with pytest.raises(ConfigError):
        had.get_datasource("mnist", preprocessing="zca")
    official = had.get_datasource("mnist", train_set="official")
    assert files.MNIST_TRAIN_IMAGES in official.known_files()
    assert files.MNIST_TRAIN_IMAGES not in had.get_datasource("mnist").known_files()


@pytest.mark.realdata
def test_gcn_ranges_of_the_official_training_set_are_the_reference_constants(real_file):
    real_file(files.MNIST_TRAIN_IMAGES.relpath)
    real_file(files.MNIST_TRAIN_LABELS.relpath)
    images = read_idx(real_file(files.MNIST_TRAIN_IMAGES.relpath)).astype(np.float32) / np.float32(255.0)
    digits = read_idx(real_file(files.MNIST_TRAIN_LABELS.relpath))
    assert np.bincount(digits).tolist() == TRAIN_COUNTS
    gcn = global_contrast_normalise(images)
    for digit, (lo, hi) in enumerate(REFERENCE_MIN_MAX):
        mine = gcn[digits == digit]
        assert mine.min() == pytest.approx(lo, abs=1e-5) and mine.max() == pytest.approx(hi, abs=1e-5)


@pytest.mark.realdata
def test_mnist_official_trains_on_the_training_set_and_tests_on_the_test_set(real_file):
    for known in (files.MNIST_TRAIN_IMAGES, files.MNIST_TRAIN_LABELS, files.MNIST_TEST_IMAGES, files.MNIST_TEST_LABELS):
        real_file(known.relpath)
    data = had.load_dataset("mnist", normal_class=3, train_set="official", preprocessing="gcn-l1-minmax")
    assert data.name == "mnist-official-3" and data.X.shape == (70000, 1, 28, 28)
    np.testing.assert_allclose(data.meta["gcn_min_max"], REFERENCE_MIN_MAX[3], atol=1e-5)
    train, val, test = one_class_split(data)
    n_val = round(0.05 * TRAIN_COUNTS[3])  # the official default: 5 % of each digit held out for validation
    assert train.X.shape[0] == TRAIN_COUNTS[3] - n_val and train.y is None
    assert val.X.shape[0] == sum(round(0.05 * n) for n in TRAIN_COUNTS) and int((val.classes == 3).sum()) == n_val
    assert test.X.shape[0] == 10000 and test.n_anomalies == 10000 - 1010
    assert train.X.min() >= -1e-6 and train.X.max() <= 1.0 + 1e-6  # the range comes from all 6,131 images
    plain = had.load_dataset("mnist", normal_class=3, train_set="official", val_fraction=0.1, seed=1)
    p_train, p_val, p_test = one_class_split(plain)
    assert p_train.X.shape[0] == TRAIN_COUNTS[3] - round(0.1 * TRAIN_COUNTS[3]) and p_val.X.shape[0] == 5999
    assert plain.X.max() == 1.0 and "gcn_min_max" not in plain.meta
    np.testing.assert_array_equal(p_test.classes, test.classes)  # the same official test images
    np.testing.assert_allclose(test.X, (global_contrast_normalise(p_test.X) - REFERENCE_MIN_MAX[3][0])
                               / (REFERENCE_MIN_MAX[3][1] - REFERENCE_MIN_MAX[3][0]), atol=1e-5)
