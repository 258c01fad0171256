"""Settings typed with ``--data`` on the synthetic sources, as an audit of them found them: a value out of range is
one line naming its key (a ConfigError, exit 2), not an error that names another setting, a run at 4 GB, or NaN
data.

* ``synthetic-table n_clusters`` had no upper bound: 10**30 was an out-of-memory error telling the user to lower
  n_samples and n_features, and 2,000,000 on 1000 rows ran 60 s at 4.1 GB and exited 0;
* ``synthetic-scene noise=1e308`` overflowed: notes "overflow encountered in multiply", then "dataset holds NaN or
  infinite values; fill or drop them first", which did not name noise.
"""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.errors import ConfigError
from had_sdk.testing import run_cli


def _had(capsys, *args) -> tuple[int, str]:
    """(exit code, stderr) of ``had ARGS`` run in this process."""
    code, _, err = run_cli(capsys, *args)
    return code, err


@pytest.mark.parametrize("n_clusters", [10**30, 2_000_000, 1001])
def test_more_clusters_than_rows_is_refused_naming_n_clusters(n_clusters):
    with pytest.raises(ConfigError, match=rf"n_clusters: Value error, n_clusters={n_clusters} is more than the "
                                          r"n_samples=1000 rows to share among them; give at most 1000"):
        had.get_datasource("synthetic-table", n_clusters=n_clusters)


def test_as_many_clusters_as_rows_is_a_table():
    data = had.load_dataset("synthetic-table", n_samples=40, n_features=3, n_clusters=40)
    assert data.X.shape == (40, 3) and np.isfinite(data.X).all()


def test_n_clusters_at_the_command_line_is_one_line_naming_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = _had(capsys, "fit", "rx", "synthetic-table", "-o", "m", "--data", f"n_clusters={10**30}")
    assert code == 2 and err.strip().count("\n") == 0 and "n_clusters" in err, err
    assert "out of memory" not in err and not (tmp_path / "m").exists()


def test_noise_past_100_is_refused_naming_noise(capsys, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"noise: Input should be less than or equal to 100"):
        had.get_datasource("synthetic-scene", noise=1e308)
    monkeypatch.chdir(tmp_path)
    code, err = _had(capsys, "fit", "rx", "synthetic-scene", "-o", "m", "--data", "noise=1e308")
    assert code == 2 and err.strip().count("\n") == 0 and "overflow" not in err and "noise" in err, err
    data = had.load_dataset("synthetic-scene", height=16, width=16, n_targets=2, noise=100.0)
    assert np.isfinite(data.X).all()
