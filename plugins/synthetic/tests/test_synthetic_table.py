"""``synthetic-table``: shapes, labels, determinism and planted outliers."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import ConfigError
from had.metrics import auroc
from had_synthetic import make_table


def test_default_table_shapes_and_labels():
    data = had.load_dataset("synthetic-table")
    assert data.name == "synthetic-table" and data.kind == "tabular"
    assert data.X.shape == (1000, 10) and data.X.dtype == np.float64
    assert data.y.shape == (1000,) and np.issubdtype(data.y.dtype, np.integer)
    assert set(np.unique(data.y)) == {0, 1} and data.n_anomalies == 50
    assert "default_protocol" not in data.meta  # the source class states it (bench reads it there)


def test_same_seed_same_table_other_seed_other_table():
    a, b = had.load_dataset("synthetic-table", seed=3), had.load_dataset("synthetic-table", seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = had.load_dataset("synthetic-table", seed=4)
    assert not np.allclose(a.X, c.X)


@pytest.mark.parametrize("n, d, contamination, expected", [(200, 3, 0.1, 20), (50, 1, 0.01, 1), (10, 2, 0.5, 5)])
def test_sizes_and_contamination(n, d, contamination, expected):
    data = had.load_dataset("synthetic-table", n_samples=n, n_features=d, contamination=contamination)
    assert data.X.shape == (n, d) and data.n_anomalies == expected


def test_outliers_are_global_and_local_and_shuffled():
    table = make_table(seed=0)
    assert set(table.kind[table.y == 1]) == {"global", "local"}
    assert set(table.kind[table.y == 0]) == {"inlier"}
    assert table.y[:950].sum() > 0  # outliers are not all at the end


def test_planted_outliers_are_detectable():
    data = had.load_dataset("synthetic-table")
    scores = had.get_detector("rx").fit(data.X).decision_function(data.X)
    assert auroc(data.y, scores) > 0.9


def test_invalid_configs_are_config_errors():
    with pytest.raises(ConfigError, match="contamination"):
        had.load_dataset("synthetic-table", contamination=0.7)
    with pytest.raises(ConfigError):
        had.load_dataset("synthetic-table", n_samples=3)
