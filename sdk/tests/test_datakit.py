"""The data kits: DataSourceSuite passes a good source, fails a tampered file (only a missing one skips) and a
``default_protocol`` that is no protocol; the data plugin kit (had_sdk.datakit) catches a listing that imports a
loader, an unchecked preset, a loader that skips the checksum, malformed file records and sums that disagree."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.data import DataSource, Dataset
from had.datadir import KnownFile, sha256_of
from had.errors import ChecksumError, PluginError
from had_sdk import datakit, kit
from had_sdk.testing import DataSourceSuite


# ---- data sources ---------------------------------------------------------------------------------------
TOY_FILE = "toy/rows.npy"


class ToySource(DataSource):
    name = "toy-rows"
    kind = "tabular"

    def known_files(self):
        return [KnownFile(TOY_FILE, self.sha256, "https://example.org/rows.npy")]

    sha256 = ""

    def load(self):
        from had.datadir import locate

        X = np.load(locate(self.known_files()[0]))
        y = (X[:, 0] > 1.5).astype(np.int8)
        return Dataset(self.name, X, y)


class TypoProtocol(ToySource):
    default_protocol = "adbnech"


@pytest.fixture
def toy_data(tmp_path, monkeypatch):
    path = tmp_path / TOY_FILE
    path.parent.mkdir(parents=True)
    np.save(path, np.random.default_rng(0).normal(size=(50, 3)))
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(ToySource, "sha256", sha256_of(path))

    class Plugin:
        @had.hookimpl
        def register_datasources(self, register):
            register("toy-rows", ToySource)
            register("toy-typo", TypoProtocol)

    had.plugins.register_plugin(Plugin(), name="toy-data")
    return path


class _ToySuite(DataSourceSuite):
    datasource = "toy-rows"


class _TypoSuite(DataSourceSuite):
    datasource = "toy-typo"


def test_datasource_suite_passes_a_good_source(toy_data):
    suite = _ToySuite()
    suite.test_dataset()
    suite.test_labels()
    suite.test_default_protocol()
    suite.test_checksums()


def test_datasource_suite_catches_a_tampered_file(toy_data):
    """The load checks fail too (was: a skip, as for a missing file, so a wrong sha256 passed them unseen)."""
    np.save(toy_data, np.zeros((50, 3)))
    with pytest.raises(ChecksumError):
        _ToySuite().test_checksums()
    for check in (_ToySuite().test_dataset, _ToySuite().test_labels):
        with pytest.raises(ChecksumError, match="the file is corrupt or a different version"):
            try:
                check()
            except pytest.skip.Exception as exc:  # a skip is no failure: the suite would pass
                pytest.fail(f"a file that fails its sha256 was skipped: {exc}")


def test_datasource_suite_skips_when_the_file_is_absent(toy_data):
    toy_data.unlink()
    with pytest.raises(pytest.skip.Exception, match="toy-rows: toy/rows.npy is not in the data directory"):
        _ToySuite().test_dataset()


def test_datasource_suite_fails_a_default_protocol_that_is_no_protocol(toy_data):
    """Was unchecked: `had bench` failed each cell with "unknown protocol 'adbnech'"."""
    with pytest.raises((PluginError, AssertionError), match="default_protocol 'adbnech'"):
        _TypoSuite().test_default_protocol()


# ---- the data plugin kit ------------------------------------------------------------------------------------
def test_data_kit_catches_a_listing_that_imports_a_loader():
    datakit.check_listing_imports_no_loader("sdk", [], ["had_sdk.torch_detector", "torch"])
    with pytest.raises(AssertionError, match="listing imported"):
        datakit.check_listing_imports_no_loader("sdk", [], ["had.plugins"])  # listing always imports this one


class PresetSource(ToySource):
    class Config(had.DataSourceConfig):
        table: str = "rows"  # any value accepted: an unknown preset is no error


def _register_preset_source():
    class Plugin:
        @had.hookimpl
        def register_datasources(self, register):
            register("toy-preset", PresetSource, table="rows")

    had.plugins.register_plugin(Plugin(), name="toy-preset-plugin")


def test_data_kit_catches_an_unchecked_preset_and_a_loader_without_checksum(toy_data, tmp_path):
    _register_preset_source()
    with pytest.raises(AssertionError, match="__no_such_preset__"):
        datakit.check_unknown_preset("toy-preset", {"table": "rows"})
    known = KnownFile(TOY_FILE, ToySource.sha256, "https://example.org/rows.npy")
    datakit.check_file_refused("toy-rows", known, tmp_path / "empty")

    class Trusting(ToySource):
        def load(self):
            from had.datadir import locate

            return Dataset(self.name, np.zeros((3, 2)), None) if locate(known, check=False) else None

    class Plugin:
        @had.hookimpl
        def register_datasources(self, register):
            register("toy-trusting", Trusting)

    had.plugins.register_plugin(Plugin(), name="toy-trusting-plugin")
    with pytest.raises(AssertionError, match="expected ChecksumError"):
        datakit.check_file_refused("toy-trusting", known, tmp_path / "other")


def test_data_kit_checks_file_records_and_sums(tmp_path):
    good = KnownFile("t/a.npy", "a" * 64, "https://example.org/a.npy", "A. Author, 2020")
    datakit.check_known_file(good)
    for bad in (KnownFile("/abs/a.npy", good.sha256, good.url, "x"), KnownFile("t/a.npy", "abc", good.url, "x"),
                KnownFile("t/a.npy", good.sha256, "http://example.org/a b", "x"),
                KnownFile("t/a.npy", good.sha256, good.url, "")):
        with pytest.raises(AssertionError):
            datakit.check_known_file(bad)
    with pytest.raises(kit.NotChecked, match="SHA256SUMS"):
        datakit.check_sums_agree([good], tmp_path)
    (tmp_path / "SHA256SUMS").write_text(f"{'a' * 64}  ./t/a.npy\n")
    datakit.check_sums_agree([good], tmp_path)
    (tmp_path / "SHA256SUMS").write_text(f"{'b' * 64}  ./t/a.npy\n")
    with pytest.raises(AssertionError, match="differs"):
        datakit.check_sums_agree([good], tmp_path)
