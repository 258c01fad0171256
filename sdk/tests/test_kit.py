"""The conformance kit: it passes good detectors and data sources, and each check fails the broken ones."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.data import DataSource, Dataset
from had.datadir import KnownFile, sha256_of
from had.errors import ChecksumError, ExportNotSupported, ExportParityError
from had.rx import RX
from had_sdk import kit
from had_sdk.testing import DataSourceSuite, DetectorSuite


class TestTinyAEConformance(DetectorSuite):
    detector = "tiny-ae"
    kinds = ("tabular", "cube")


def test_image_detector_through_the_fixture(check_detector):
    reports = check_detector("tiny-image", {"epochs": 2})
    assert set(reports) == {"image"} and reports["image"]["passed"]
    assert reports["image"]["layout"] == "image"


def test_whole_scene_detector_through_the_fixture(check_detector):
    reports = check_detector("tiny-scene")  # pixelwise = False: exported through SceneGraph
    assert reports["cube"]["passed"] and reports["cube"]["shapes"] == [[12, 10, 6], [11, 9, 6]]


@pytest.fixture
def rows():
    return kit.make_data("tabular")[0]


def test_catches_wrong_score_shapes(rows):
    class Short(RX):
        def _score(self, X):
            return super()._score(X)[:-1]

    with pytest.raises(AssertionError, match="scores"):
        kit.check_fit_score(Short, rows)


def test_catches_nondeterminism(rows):
    class Noisy(RX):
        def _score(self, X):
            return super()._score(X) + np.random.default_rng().random(len(X))

    with pytest.raises(AssertionError, match="same seed"):
        kit.check_deterministic(Noisy, rows)


def test_catches_a_wrong_export(tmp_path, rows):
    class Off(RX):
        def export_onnx(self):
            self.whitening_ = self.whitening_ * 1.1
            try:
                return super().export_onnx()
            finally:
                self.whitening_ = self.whitening_ / 1.1

    with pytest.raises(ExportParityError, match="relative error"):
        kit.check_export(Off().fit(rows), rows, tmp_path / "m")


def test_catches_undeclared_and_false_export_claims(tmp_path, rows):
    class Undeclared(RX):
        export_onnx = had.Detector.export_onnx  # claims support (onnx_unsupported None) but raises

    with pytest.raises(ExportNotSupported):
        kit.check_export(Undeclared().fit(rows), rows, tmp_path / "a")

    class Claims(RX):
        onnx_unsupported = "eager only"  # says unsupported but exports

    with pytest.raises(AssertionError, match="did not raise"):
        kit.check_export(Claims().fit(rows), rows, tmp_path / "b")


def test_catches_swallowed_nan(rows):
    class Lenient(RX):
        def decision_function(self, X):
            return super().decision_function(np.nan_to_num(np.asarray(X, dtype=float)))

    with pytest.raises(AssertionError, match="NaN in scored data"):
        kit.check_bad_input(Lenient, Lenient().fit(rows), rows)


def test_catches_a_lax_config():
    from pydantic import ConfigDict

    class LaxConfig(RX.Config):
        model_config = ConfigDict(extra="allow")

    class Lax(RX):
        Config = LaxConfig

    class Plugin:
        @had.hookimpl
        def register_detectors(self, register):
            register("lax", Lax)

    had.plugins.register_plugin(Plugin(), name="lax-plugin")
    with pytest.raises(AssertionError, match="__no_such_field__"):
        kit.check_config("lax", {})


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

    had.plugins.register_plugin(Plugin(), name="toy-data")
    return path


class _ToySuite(DataSourceSuite):
    datasource = "toy-rows"


def test_datasource_suite_passes_a_good_source(toy_data):
    suite = _ToySuite()
    suite.test_dataset()
    suite.test_labels()
    suite.test_checksums()


def test_datasource_suite_catches_a_tampered_file(toy_data):
    np.save(toy_data, np.zeros((50, 3)))
    with pytest.raises(ChecksumError):
        _ToySuite().test_checksums()


def test_datasource_suite_skips_when_the_file_is_absent(toy_data):
    toy_data.unlink()
    with pytest.raises(pytest.skip.Exception, match="not in the data directory"):
        _ToySuite().test_dataset()
