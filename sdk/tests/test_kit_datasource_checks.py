"""DataSourceSuite: a file that fails its sha256 fails the suite (only a missing file skips), and a
``default_protocol`` that is no protocol fails it."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import DataSource, Dataset
from had.datadir import KnownFile, locate, sha256_of
from had.errors import ChecksumError, PluginError
from had_sdk.testing import DataSourceSuite

RELPATH = "kitcheck/rows.npy"


class Rows(DataSource):
    name = "kitcheck-rows"
    kind = "tabular"
    default_protocol = "adbench"
    sha256 = ""

    def known_files(self):
        return [KnownFile(RELPATH, self.sha256, "https://example.org/rows.npy")]

    def load(self):
        X = np.load(locate(self.known_files()[0]))
        return Dataset(self.name, X, (X[:, 0] > 1.5).astype(np.int8))


class TypoProtocol(Rows):
    default_protocol = "adbnech"


@pytest.fixture
def rows_file(tmp_path, monkeypatch):
    path = tmp_path / RELPATH
    path.parent.mkdir(parents=True)
    np.save(path, np.random.default_rng(0).normal(size=(50, 3)))
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(Rows, "sha256", sha256_of(path))

    class Plugin:
        @had.hookimpl
        def register_datasources(self, register):
            register("kitcheck-rows", Rows)
            register("kitcheck-typo", TypoProtocol)

    had.plugins.register_plugin(Plugin(), name="kitcheck-plugin")
    return path


class _Rows(DataSourceSuite):
    datasource = "kitcheck-rows"


class _Typo(DataSourceSuite):
    datasource = "kitcheck-typo"


def test_a_good_source_passes(rows_file):
    suite = _Rows()
    suite.test_dataset()
    suite.test_labels()
    suite.test_default_protocol()
    suite.test_checksums()


def test_a_file_that_fails_its_checksum_fails_the_load_checks_only_a_missing_one_skips(rows_file):
    """Was: a skip (any DataFileError skipped), so a wrong sha256 passed the suite unseen."""
    np.save(rows_file, np.zeros((50, 3)))
    for check in (_Rows().test_dataset, _Rows().test_labels):
        with pytest.raises(ChecksumError, match="the file is corrupt or a different version"):
            try:
                check()
            except pytest.skip.Exception as exc:  # a skip is no failure: the suite would pass
                pytest.fail(f"a file that fails its sha256 was skipped: {exc}")
    rows_file.unlink()  # a missing file still skips
    with pytest.raises(pytest.skip.Exception, match="kitcheck-rows: kitcheck/rows.npy is not in the data directory"):
        _Rows().test_dataset()


def test_a_default_protocol_that_is_no_protocol_fails(rows_file):
    """Was unchecked: `had bench` failed each cell with "unknown protocol 'adbnech'"."""
    with pytest.raises((PluginError, AssertionError), match="default_protocol 'adbnech'"):
        _Typo().test_default_protocol()
