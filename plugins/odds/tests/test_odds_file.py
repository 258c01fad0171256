"""``table-file``: any user table from a .mat or .npz file, and its typed errors. No data files needed."""

from __future__ import annotations

import had
import numpy as np
import pytest
import scipy.io
from had.datadir import sha256_of
from had.errors import ConfigError, DataFileError, InvalidInputError, LabelError


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, size=(20, 3)).astype(np.uint8)  # integer like ODDS satellite
    y = np.zeros(20)
    y[[2, 11, 17]] = 1
    return X, y


def test_mat_with_odds_layout(tmp_path, rows):
    X, y = rows
    path = tmp_path / "mine.mat"
    scipy.io.savemat(path, {"X": X, "y": y[:, None]})  # ODDS stores y as (n, 1) doubles
    data = had.load_dataset("table-file", path=str(path))
    assert data.name == "mine" and data.kind == "tabular"
    assert data.X.shape == (20, 3) and data.X.dtype == np.float64
    np.testing.assert_array_equal(data.X, X.astype(np.float64))
    assert data.y.shape == (20,) and np.issubdtype(data.y.dtype, np.integer)
    np.testing.assert_array_equal(data.y, y.astype(int))
    assert data.meta["sha256"] == sha256_of(path) and "default_protocol" not in data.meta


def test_npz_with_custom_keys_and_bool_labels(tmp_path, rows):
    X, y = rows
    path = tmp_path / "mine.npz"
    np.savez(path, features=X, outlier=y.astype(bool))
    data = had.load_dataset("table-file", path=str(path), x_key="features", y_key="outlier")
    assert data.n_anomalies == 3


def test_no_labels(tmp_path, rows):
    path = tmp_path / "mine.npz"
    np.savez(path, X=rows[0])
    data = had.load_dataset("table-file", path=str(path), y_key=None)
    assert data.y is None and data.X.shape == (20, 3)
    data = had.load_dataset(str(path))  # the rows alone: no labels (was: "has no key 'y'")
    assert data.y is None and data.X.shape == (20, 3)
    with pytest.raises(DataFileError, match="has no key 'label'; its keys are \\['X'\\]"):
        had.load_dataset("table-file", path=str(path), y_key="label")  # a key the user named must be there


def test_missing_key_names_the_available_keys(tmp_path, rows):
    path = tmp_path / "mine.npz"
    np.savez(path, features=rows[0], labels=rows[1])
    with pytest.raises(DataFileError, match="'X'") as info:
        had.load_dataset("table-file", path=str(path))
    assert "features" in str(info.value) and "labels" in str(info.value)
    with pytest.raises(DataFileError, match="has no key 'y'; its keys are \\['features', 'labels'\\]"):
        had.load_dataset("table-file", path=str(path), x_key="features")  # other arrays: which holds the labels?


@pytest.mark.parametrize("shape", [(20,), (4, 5, 3)])
def test_wrong_rank_is_invalid_input(tmp_path, shape):
    path = tmp_path / "mine.npz"
    np.savez(path, X=np.ones(shape))
    with pytest.raises(InvalidInputError, match=r"\(n, d\)"):
        had.load_dataset("table-file", path=str(path), y_key=None)


def test_labels_of_another_length_or_values_are_label_errors(tmp_path, rows):
    X, y = rows
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y[:-1])
    with pytest.raises(LabelError, match="20 rows"):
        had.load_dataset("table-file", path=str(path))
    np.savez(path, X=X, y=np.where(y > 0, -1, 1))  # +1/-1 labels must be converted first
    with pytest.raises(LabelError, match="0 = normal"):
        had.load_dataset("table-file", path=str(path))


def test_missing_file_and_config_errors(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        had.load_dataset("table-file", path=str(tmp_path / "absent.npz"))
    with pytest.raises(ConfigError, match="path"):
        had.get_datasource("table-file")
