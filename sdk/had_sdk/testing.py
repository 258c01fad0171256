"""The conformance kit as a pytest plugin (entry point ``pytest11: had``).

One line per detector in a plugin's tests::

    from had_sdk.testing import DetectorSuite

    class TestMyDetector(DetectorSuite):
        detector = "mine"                    # the registered name
        config = {"epochs": 2}               # small and fast

Each ``test_*`` method runs one check of :mod:`had_sdk.kit` for every data kind the detector declares
(parametrised as ``kit_kind``): metadata, config validation, fit/score shapes and dtypes, determinism under
a seed (on the CPU), save/load round trip, ONNX export parity (or a typed ExportNotSupported), typed errors
on bad input. Override ``kinds``, ``data`` (``{kind: X or (X, y)}``), ``n_features`` or
``determinism_rtol`` on the class when the defaults do not suit.

The same checks as a fixture: ``def test_mine(check_detector): check_detector("mine", {"epochs": 2})``.

Data sources: ``class TestMyData(DataSourceSuite): datasource = "name"`` checks the loaded Dataset (shape for
its kind, 0/1 labels of the right length, known labels) and the sha256 of every known file that is present;
a missing file skips with the loader's message.

Real data: the ``real_file`` fixture, ``real_file("hsi/HYDICE_data.mat")``, is the path of a file in
``HAD_DATA_DIR``, or skips the test saying why the file is absent. ``corrupt_copy(source, relpath)`` copies a
file into a fresh data dir with one byte flipped and points ``HAD_DATA_DIR`` there (checksum tests).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from . import kit


@pytest.fixture
def real_file():
    """``real_file(relpath)``: the path of a file in HAD_DATA_DIR, or skip saying why it is absent."""

    def find(relpath: str) -> Path:
        env = os.environ.get("HAD_DATA_DIR")
        if not env:
            pytest.skip(f"real data: HAD_DATA_DIR is not set (CI sets HAD_DATA_DIR=../shared/data); needs {relpath}")
        path = Path(env).expanduser() / relpath
        if not path.is_file():
            pytest.skip(f"real data: {relpath} is not in HAD_DATA_DIR={env}")
        return path

    return find



@pytest.fixture
def corrupt_copy(tmp_path, monkeypatch):
    """``corrupt_copy(source, relpath)``: copy a file into a fresh data dir with one byte flipped.

    HAD_DATA_DIR points at that dir for the rest of the test.
    """

    def make(source: Path, relpath: str) -> Path:
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        with open(target, "r+b") as fh:
            fh.seek(os.path.getsize(target) // 2)
            byte = fh.read(1)
            fh.seek(-1, os.SEEK_CUR)
            fh.write(bytes([byte[0] ^ 0xFF]))
        monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
        return target

    return make

def _load_class(name: str):
    from had import plugins

    return plugins.entry("detector", name).load()


def _cpu(cls, config: dict[str, Any]) -> dict[str, Any]:
    """Run the kit on the CPU (determinism is promised there) without the progress bar."""
    extra = {k: v for k, v in (("device", "cpu"), ("progress", False)) if k in cls.Config.model_fields}
    return {**extra, **config}


class DetectorSuite:
    """Subclass as ``Test...`` with ``detector = "name"``; see the module docstring."""

    detector: ClassVar[str] = ""
    config: ClassVar[dict[str, Any]] = {}
    kinds: ClassVar[tuple[str, ...] | None] = None
    data: ClassVar[dict[str, Any] | None] = None
    n_features: ClassVar[int] = 6
    determinism_rtol: ClassVar[float] = 0.0

    def pytest_generate_tests(self, metafunc):
        if "kit_kind" in metafunc.fixturenames:
            metafunc.parametrize("kit_kind", self.suite_kinds())

    # ---- helpers -------------------------------------------------------------------------------------
    @classmethod
    def detector_class(cls):
        if not cls.detector:
            raise TypeError(f"{cls.__name__}: set `detector = \"registered name\"`")
        return _load_class(cls.detector)

    @classmethod
    def suite_kinds(cls) -> tuple[str, ...]:
        """``kinds`` when set (a kind the detector does not accept then fails, as it should), else the
        detector's declared kinds (this looks the detector up at collection time)."""
        return tuple(cls.kinds) if cls.kinds else tuple(cls.detector_class().kinds)

    @classmethod
    def suite_config(cls) -> dict[str, Any]:
        return _cpu(cls.detector_class(), dict(cls.config))

    def make(self):
        import had

        return had.get_detector(self.detector, self.suite_config())

    def sample(self, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
        if self.data and kind in self.data:
            value = self.data[kind]
            return value if isinstance(value, tuple) else (value, None)
        return kit.make_data(kind, self.n_features)

    def fitted(self, kind: str):
        """A detector fitted on ``sample(kind)``, cached per class and kind (checks must not mutate it)."""
        cache = type(self).__dict__.get("_kit_cache")
        if cache is None:
            cache = {}
            setattr(type(self), "_kit_cache", cache)
        if kind not in cache:
            cache[kind] = self.make().fit(self.sample(kind)[0])
        return cache[kind]

    # ---- the checks ----------------------------------------------------------------------------------
    def test_metadata(self):
        kit.check_metadata(self.detector_class())

    def test_config_validation(self):
        kit.check_config(self.detector, self.suite_config())

    def test_fit_score(self, kit_kind):
        kit.check_fit_score(self.make, self.sample(kit_kind)[0])

    def test_deterministic(self, kit_kind):
        kit.check_deterministic(self.make, self.sample(kit_kind)[0], self.determinism_rtol)

    def test_save_load(self, kit_kind, tmp_path):
        kit.check_roundtrip(self.fitted(kit_kind), self.sample(kit_kind)[0], tmp_path / "model")

    def test_onnx_export(self, kit_kind, tmp_path):
        if not self.detector_class().onnx_unsupported:
            pytest.importorskip("onnx")
            pytest.importorskip("onnxruntime")
        X, y = self.sample(kit_kind)
        kit.check_export(self.fitted(kit_kind), X, tmp_path / "model", y=y)

    def test_bad_input(self, kit_kind):
        kit.check_bad_input(self.make, self.fitted(kit_kind), self.sample(kit_kind)[0])


@pytest.fixture
def check_detector(tmp_path):
    """``check_detector(name, config=None, data=None, kinds=None)`` runs every kit check; returns the export
    reports per kind. `data`: ``{kind: X or (X, y)}``."""

    def run(name: str, config: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
            kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
        suite = type("Suite", (DetectorSuite,), {"detector": name, "config": dict(config or {}),
                                                 "data": data, "kinds": kinds})()
        suite.test_metadata()
        suite.test_config_validation()
        reports = {}
        for kind in suite.suite_kinds():
            suite.test_fit_score(kind)
            suite.test_deterministic(kind)
            suite.test_save_load(kind, tmp_path / f"{kind}-saved")
            X, y = suite.sample(kind)
            if not suite.detector_class().onnx_unsupported:
                pytest.importorskip("onnxruntime")
            reports[kind] = kit.check_export(suite.fitted(kind), X, tmp_path / f"{kind}-exported", y=y)
            suite.test_bad_input(kind)
        return reports

    return run


# ---- data sources --------------------------------------------------------------------------------------
def known_files(source) -> list:
    """The KnownFile entries a data source declares (attribute or method ``known_files``), if any."""
    files = getattr(source, "known_files", None)
    if callable(files):
        files = files()
    if files is None:
        return []
    if isinstance(files, dict):
        files = list(files.values())
    return list(files) if isinstance(files, (list, tuple)) else [files]


class DataSourceSuite:
    """Subclass as ``Test...`` with ``datasource = "name"`` (and ``config``); see the module docstring."""

    datasource: ClassVar[str] = ""
    config: ClassVar[dict[str, Any]] = {}

    def source(self):
        import had

        return had.get_datasource(self.datasource, dict(self.config))

    def load(self):
        from had.errors import DataFileError

        try:
            return self.source().load()
        except DataFileError as exc:
            pytest.skip(f"{self.datasource}: {exc}")

    def test_dataset(self):
        from had import Dataset, validation

        source, ds = self.source(), self.load()
        assert isinstance(ds, Dataset), f"load() returned {type(ds).__name__}, expected had.Dataset"
        assert ds.kind == source.kind, f"{self.datasource} declares kind {source.kind!r}, loaded {ds.kind!r}"
        validation.check_array(ds.X, (source.kind,), what=self.datasource)
        assert ds.n_samples > 0

    def test_labels(self):
        from had import validation

        ds = self.load()
        if ds.y is not None:
            y = np.asarray(ds.y)
            assert set(np.unique(y)) <= {0, 1}, f"labels {np.unique(y)[:10]}: use 0 normal, 1 anomaly"
            expected = (ds.X.shape[:2],) if ds.kind == "cube" else ((ds.X.shape[0],),)
            assert y.shape in (*expected, (validation.n_samples(ds.X),)), f"labels shape {y.shape}"
        if ds.known is not None:
            assert set(np.unique(ds.known)) <= {-1, 0, 1}, "known labels: 1 anomaly, -1 normal, 0 unlabeled"

    def test_checksums(self):
        from had import datadir

        files = known_files(self.source())
        present = [f for f in files if datadir.available(f)]
        if not present:
            pytest.skip(f"{self.datasource}: no known file present in {datadir.data_dir()}")
        for known in present:
            datadir.verify(datadir.data_dir() / known.relpath, known.sha256)
