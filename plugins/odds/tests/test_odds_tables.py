"""The known ODDS/ADBench tables: registration, real-data tests (skipped when absent) and file errors."""

from __future__ import annotations

import re

import had
import had.plugins
import had_odds
import numpy as np
import pytest
from had.errors import ChecksumError
from had_sdk.testing import DataPluginSuite

# /work/shared/data/MANIFEST.md: rows, features and anomalies of each table
MANIFEST = {
    "arrhythmia": (452, 274, 66),
    "cardio": (1831, 21, 176),
    "musk": (3062, 166, 97),
    "satellite": (6435, 36, 2036),
    "satimage-2": (5803, 36, 71),
    "shuttle": (49097, 9, 3511),
    "thyroid": (3772, 6, 93),
}


def test_every_table_and_table_file_is_registered():
    assert set(MANIFEST) | {"table-file"} <= set(had.plugins.names("datasource"))
    assert "odds" not in had.plugins.load_errors()
    for name in MANIFEST:
        entry = had.plugins.entry("datasource", name)
        assert entry.plugin == "odds" and entry.defaults == {"table": name}


def test_the_table_list_agrees_with_the_manifest():
    assert {n: (t.n_samples, t.n_features, t.n_outliers) for n, t in had_odds.TABLES.items()} == MANIFEST
    for name, table in had_odds.TABLES.items():
        assert re.fullmatch(r"[0-9a-f]{64}", table.file.sha256)
        assert table.file.url.startswith("https://raw.githubusercontent.com/") and table.file.citation
    assert had_odds.TABLES["thyroid"].file.relpath == "odds/thyroid.npz"
    thyroid = had_odds.TABLES["thyroid"].file.url
    assert thyroid.endswith("/Minqi824/ADBench/main/adbench/datasets/Classical/38_thyroid.npz")
    assert had_odds.TABLES["cardio"].file.url.endswith("/yzhao062/pyod/master/notebooks/data/cardio.mat")


class TestODDSDataPlugin(DataPluginSuite):
    """The SDK's data kit: listing imports no loader, an unknown table is a ConfigError naming the known ones,
    each file is well formed, agrees with HAD_DATA_DIR's SHA256SUMS, and is refused when missing or altered."""

    plugin = "odds"
    files = {name: table.file for name, table in had_odds.TABLES.items()}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_table_loads_with_the_manifest_shape_and_outlier_count(name, real_file):
    table = had_odds.TABLES[name]
    real_file(table.file.relpath)
    data = had.load_dataset(name)
    n, d, outliers = MANIFEST[name]
    assert data.name == name and data.kind == "tabular"
    assert data.X.shape == (n, d) and data.X.dtype == np.float64
    assert data.y.shape == (n,) and np.issubdtype(data.y.dtype, np.integer)
    assert set(np.unique(data.y)) == {0, 1} and data.n_anomalies == outliers
    for key in ("citation", "url", "sha256", "relpath"):
        assert data.meta[key] == getattr(table.file, key)
    assert "default_protocol" not in data.meta  # the source class states it (bench reads it there)


@pytest.mark.realdata
def test_a_corrupted_real_file_fails_its_checksum(real_file, corrupt_copy):
    table = had_odds.TABLES["arrhythmia"]
    corrupt_copy(real_file(table.file.relpath), table.file.relpath)
    with pytest.raises(ChecksumError, match="sha256"):
        had.load_dataset("arrhythmia")
