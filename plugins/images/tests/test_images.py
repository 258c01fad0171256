"""had-plugin-images: IDX reader, one-class protocol, and the two sources on the real files (skipped if absent)."""

from __future__ import annotations

import gzip

import had
import had.plugins
import numpy as np
import pytest
from had.errors import ChecksumError, ConfigError, DataFileError, InvalidInputError
from had_images import files, one_class_split
from had_images.idx import parse_idx, read_idx
from had_images.oneclass import stratified_parts


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_idx_round_trip_through_gzip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(array)))
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
    (bytes([0, 0, 8, 1]) + np.array([3], ">u4").tobytes() + b"\x01", "header says"),
])
def test_idx_rejects_bad_bytes(raw, message):
    with pytest.raises(DataFileError, match=message):
        parse_idx(raw)


def test_stratified_parts_are_disjoint_cover_and_seeded():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    parts = stratified_parts(labels, (0.6, 0.2), seed=1)
    joined = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(joined), np.arange(100))
    assert [int((labels[parts["train"]] == c).sum()) for c in range(3)] == [30, 18, 12]
    again = stratified_parts(labels, (0.6, 0.2), seed=1)
    other = stratified_parts(labels, (0.6, 0.2), seed=2)
    assert all(np.array_equal(parts[p], again[p]) for p in parts)
    assert not np.array_equal(parts["train"], other["train"])
    with pytest.raises(InvalidInputError):
        stratified_parts(labels, (0.9, 0.2), seed=0)


def test_one_class_split_trains_on_normal_images_without_labels():
    X = np.random.default_rng(0).random((10, 1, 4, 4), dtype=np.float32)
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0, 1], dtype=np.int8)
    index = {"train": np.arange(5), "val": np.arange(5, 8), "test": np.arange(8, 10)}
    data = had.Dataset("toy", X, y, meta={"split_index": index})
    train, val, test = one_class_split(data)
    assert train.y is None and train.X.shape[0] == 3
    np.testing.assert_array_equal(train.X, X[[0, 2, 3]])
    np.testing.assert_array_equal(val.y, y[5:8])
    np.testing.assert_array_equal(test.y, y[8:])
    assert "split_index" not in test.meta and test.meta["part"] == "test"
    with pytest.raises(InvalidInputError, match="split_index"):
        one_class_split(had.Dataset("toy", X, y))


def test_sources_are_registered_and_configs_validated():
    assert {"pneumoniamnist", "mnist"} <= set(had.plugins.names("datasource"))
    with pytest.raises(ConfigError):
        had.get_datasource("mnist", normal_class=10)
    with pytest.raises(ConfigError):
        had.get_datasource("pneumoniamnist", split="everything")


def test_missing_file_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match="zenodo|githubusercontent"):
        had.load_dataset("pneumoniamnist")


@pytest.mark.realdata
def test_pneumoniamnist_parts(real_file):
    real_file(files.PNEUMONIA.relpath)
    data = had.load_dataset("pneumoniamnist")
    assert data.kind == "image" and data.X.shape == (5030, 1, 28, 28) and data.X.dtype == np.float32
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    assert "default_protocol" not in data.meta and data.meta["sha256"] == files.PNEUMONIA.sha256
    train, val, test = one_class_split(data)
    assert train.X.shape[0] == 388 and train.y is None
    assert (val.X.shape[0], val.n_anomalies) == (524, 389)
    assert (test.X.shape[0], test.n_anomalies) == (624, 390)
    only_test = had.load_dataset("pneumoniamnist", split="test")
    np.testing.assert_array_equal(only_test.X, test.X)
    assert had.load_dataset("pneumoniamnist", split="train").y is None


@pytest.mark.realdata
def test_mnist_one_class(real_file):
    real_file(files.MNIST_TEST_IMAGES.relpath)
    real_file(files.MNIST_TEST_LABELS.relpath)
    data = had.load_dataset("mnist", normal_class=3, seed=0)
    assert data.X.shape == (10000, 1, 28, 28) and data.X.dtype == np.float32
    assert np.bincount(data.classes).tolist()[3] == 1010 and data.n_anomalies == 8990
    train, val, test = one_class_split(data)
    assert train.X.shape[0] == 606
    assert val.n_anomalies == int((val.classes != 3).sum()) and test.X.shape[0] + val.X.shape[0] == 4001


@pytest.mark.realdata
def test_corrupt_file_fails_its_checksum(real_file, corrupt_copy):
    source = real_file(files.PNEUMONIA.relpath)
    corrupt_copy(source, files.PNEUMONIA.relpath)
    with pytest.raises(ChecksumError):
        had.load_dataset("pneumoniamnist")


from had_sdk.testing import DataSourceSuite  # noqa: E402


class TestPneumoniaConformance(DataSourceSuite):
    datasource = "pneumoniamnist"


class TestPneumoniaTestPartConformance(DataSourceSuite):
    datasource = "pneumoniamnist"
    config = {"split": "test"}


class TestMNISTConformance(DataSourceSuite):
    datasource = "mnist"
    config = {"normal_class": 7, "seed": 3}


def test_train_fraction_with_the_official_split_is_refused_not_ignored():
    """``--data train_set=official --data train_fraction=0.3`` trained on the official set, the 0.3 ignored unsaid."""
    import had
    from had.errors import ConfigError

    with pytest.raises(ConfigError, match="train_fraction is for train_set='test-split'"):
        had.get_datasource("mnist", train_set="official", train_fraction=0.3)
    assert had.get_datasource("mnist", train_set="official", val_fraction=0.1).config.val_fraction == 0.1
    assert had.get_datasource("mnist", train_fraction=0.3).config.train_fraction == 0.3
