"""The conformance kit as a pytest plugin (entry point ``pytest11: had``).

One line per detector in a plugin's tests::

    from had_sdk.testing import DetectorSuite

    class TestMyDetector(DetectorSuite):
        detector = "mine"                    # the registered name
        config = {"epochs": 2}               # small and fast

``test_kit`` is parametrised over :func:`had_sdk.kit_plan.plan`, one test per check and data kind the
detector declares: metadata, config validation, fit/score shapes and dtypes, per-sample scoring, detection
of planted anomalies (AUROC >= ``kit.DETECTION_FLOOR``), determinism under a seed (on the CPU), save/load
round trip, ONNX export parity (or a typed ExportNotSupported), typed errors on bad input. Override
``kinds``, ``data`` (``{kind: X or (X, y)}``), ``n_features`` or ``determinism_rtol`` on the class when the
defaults do not suit; list a check known to fail in ``expected_failures`` (``{check id: why}``, a strict xfail).

The same plan as a fixture: ``def test_mine(check_detector): check_detector("mine", {"epochs": 2})``.
A check that cannot run here (onnxruntime missing; a kind the detector declares in ``blind_to_planted``)
is a skip with its reason and a line in the "had conformance kit: not checked" section of pytest's summary.

Data sources: ``class TestMyData(DataSourceSuite): datasource = "name"`` checks the loaded Dataset (shape for
its kind, 0/1 labels of the right length, known labels), its ``default_protocol`` and the sha256 of every known
file that is present; a missing file skips with the loader's message (a file that fails its sha256 fails).
``class TestMyPlugin(DataPluginSuite): plugin = "name"``
runs :func:`had_sdk.datakit.plan`: listing imports no loader, unknown presets are ConfigErrors, file records,
sums, and missing or altered files refused (no data file needed).

Real data: the ``real_file`` fixture, ``real_file("hsi/HYDICE_data.mat")``, is the path of a file in
``HAD_DATA_DIR``, or skips the test saying why the file is absent. ``corrupt_copy(source, relpath)`` copies a
file into a fresh data dir with one byte flipped and points ``HAD_DATA_DIR`` there (checksum tests).
``run_cli(capsys, *args)`` runs ``had ARGS`` in the test's process: (exit code, stdout, stderr);
``edited_config(saved, tmp_path, **config)`` copies a saved model with its manifest's config edited;
``dynamo_fails``: torch.onnx's dynamo exporter raises ("no translation for aten::made_up") for the rest of the
test, the TorchScript one works: a detector's export through :mod:`had.torch_onnx`'s fallback.
``radiance_line(lines, samples, bands)`` is a float32 scene with radiance-like offsets and planted targets.
``third_party_only(folder)`` links this interpreter's third-party packages, without any had distribution, into
`folder` for install tests that put wheels into a fresh venv.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from . import datakit, kit
from .kit_plan import Subject, plan


def radiance_line(lines: int, samples: int, bands: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A float32 scene ``(lines, samples, bands)`` as benchmarks/bench_large.py generates its flight line (mixed
    normal noise whose last directions carry 1/20 of the first's spread, on offsets from 800 down to 200: a
    radiance-like offset that float32 graphs must survive), with 8-sigma targets on 0.2 % of the pixels; and their
    mask ``(lines, samples)`` int8."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(bands, bands)) / np.sqrt(bands) * np.linspace(1.0, 0.05, bands)
    cube = rng.standard_normal((lines, samples, bands), dtype=np.float32) @ mixing.astype(np.float32)
    cube += np.linspace(800.0, 200.0, bands).astype(np.float32)
    hits = rng.random((lines, samples)) < 2e-3
    cube[hits] += 8.0 * mixing[0].astype(np.float32)
    return cube, hits.astype(np.int8)


def run_cli(capsys, *args: Any) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``had ARGS`` run in this process (`capsys`: pytest's fixture), for a plugin's
    tests of its command-line behaviour: ``code, out, err = run_cli(capsys, "fit", "mine", "data.npy", "-o", m)``."""
    from had.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def edited_config(saved: Path, tmp_path: Path, **config: Any) -> Path:
    """A copy of the saved model folder `saved` in `tmp_path`/edited whose manifest's ``config`` has `config`
    written over it (the weights untouched): what a hand edit of ``manifest.json`` makes, for tests of how a
    plugin's load meets a config that no longer fits its weights."""
    import json

    path = Path(tmp_path) / "edited"
    shutil.copytree(saved, path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["config"].update(config)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def third_party_only(target: Path) -> Path:
    """This interpreter's third-party packages (torch, numpy, pluggy, ...) as symlinks in `target`, without any had
    distribution, editable finder or .pth file, so a fresh environment given `target` sees no other plugin."""
    import sys

    here = Path(next(p for p in sys.path if p.endswith("site-packages")))
    target.mkdir()
    for entry in here.iterdir():
        name = entry.name.lower()
        if name.startswith(("had", "__editable__", "_had")) or name.endswith(".pth") or name == "__pycache__":
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture
def real_file():
    """``real_file(relpath)``: the path of a file in HAD_DATA_DIR, or skip saying why it is absent."""

    def find(relpath: str) -> Path:
        env = os.environ.get("HAD_DATA_DIR")
        if not env:
            pytest.skip(f"real data: HAD_DATA_DIR is not set (CI sets HAD_DATA_DIR=../shared/data); needs {relpath}")
        folder = Path(env).expanduser()
        if folder.exists() and not folder.is_dir():
            pytest.skip(f"real data: HAD_DATA_DIR={env} is not a folder; needs {relpath}")
        path = folder / relpath
        if not path.is_file():
            pytest.skip(f"real data: {relpath} is not in HAD_DATA_DIR={env}")
        return path

    return find



@pytest.fixture
def dynamo_fails(monkeypatch):
    """torch.onnx.export with ``dynamo=True`` raises RuntimeError("no translation for aten::made_up"); with
    ``dynamo=False`` it exports as ever (had.torch_onnx falls back to it and records why)."""
    import torch

    real = torch.onnx.export

    def export(*args, dynamo=True, **kwargs):
        if dynamo:
            raise RuntimeError("no translation for aten::made_up")
        return real(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", export)


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

class DetectorSuite:
    """Subclass as ``Test...`` with ``detector = "name"``; see the module docstring."""

    detector: ClassVar[str] = ""
    config: ClassVar[dict[str, Any]] = {}
    kinds: ClassVar[tuple[str, ...] | None] = None
    data: ClassVar[dict[str, Any] | None] = None
    n_features: ClassVar[int] = 6
    determinism_rtol: ClassVar[float] = 0.0
    expected_failures: ClassVar[dict[str, str]] = {}

    @classmethod
    def subject(cls) -> Subject:
        """One Subject per class: its fitted detectors are shared by the class's checks."""
        if "_kit_subject" not in cls.__dict__:
            cls._kit_subject = Subject(cls.detector, dict(cls.config), cls.kinds, cls.data, cls.n_features,
                                       cls.determinism_rtol, dict(cls.expected_failures))
        return cls._kit_subject

    def pytest_generate_tests(self, metafunc):
        if "kit_check" in metafunc.fixturenames:
            ids = [check.id for check in plan(self.subject())]  # looks the detector up at collection time
            metafunc.parametrize("kit_check", ids)

    def test_kit(self, kit_check, tmp_path, request):
        check = next(c for c in plan(self.subject()) if c.id == kit_check)
        why = self.subject().expected_failures.get(kit_check)
        if why:
            request.applymarker(pytest.mark.xfail(reason=why, strict=True))
        try:
            check.run(tmp_path)
        except kit.NotChecked as exc:
            NOT_CHECKED.append(f"{self.detector} {kit_check}: {exc}")
            pytest.skip(f"not checked: {exc}")


@pytest.fixture
def check_detector(tmp_path_factory):
    """``check_detector(name, config=None, data=None, kinds=None, expected_failures=None)`` runs every check of
    the plan (the class suite's list); returns the ONNX export report per kind (None where not checked, which
    the summary says). `data`: ``{kind: X or (X, y)}``; `expected_failures`: ``{check id: why}``."""

    def run(name: str, config: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
            kinds: tuple[str, ...] | None = None, expected_failures: dict[str, str] | None = None) -> dict[str, Any]:
        reports: dict[str, Any] = {}
        subject = Subject(name, dict(config or {}), kinds, data, expected_failures=dict(expected_failures or {}))
        base = tmp_path_factory.mktemp(f"kit-{name}")  # a fresh folder per call
        for check in plan(subject):
            (base / check.id).mkdir()
            result = None
            try:
                result = check.run(base / check.id)
            except kit.NotChecked as exc:
                NOT_CHECKED.append(f"{name} {check.id}: {exc}")
            except Exception:
                if check.id not in subject.expected_failures:
                    raise
            else:
                if check.id in subject.expected_failures:
                    raise AssertionError(f"{name} {check.id} passes: remove it from expected_failures")
            if check.id.startswith("onnx-"):
                reports[check.id.removeprefix("onnx-")] = result
        return reports

    return run


#: checks that could not run in this session ("detector check-id: why"), printed in pytest's summary
NOT_CHECKED: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if NOT_CHECKED:
        terminalreporter.section("had conformance kit: not checked")
        for line in NOT_CHECKED:
            terminalreporter.write_line(line)


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
        """The loaded dataset; a skip only when a file the source lists is missing from the data directory. Was:
        a skip on any DataFileError, so a file that fails its sha256 (ChecksumError) passed the suite unseen."""
        from had import datadir
        from had.errors import ChecksumError, DataFileError

        source = self.source()
        try:
            return source.load()
        except ChecksumError:
            raise
        except DataFileError as exc:
            files = known_files(source)
            if files and all(datadir.available(f) for f in files):
                raise  # every file is there: its failure to read is the source's or the file's, not a skip
            pytest.skip(f"{self.datasource}: {exc}")

    def test_default_protocol(self):
        """The source's ``default_protocol`` is a protocol ``had bench`` knows (was unchecked: a typo failed each
        bench cell with "unknown protocol")."""
        from had.protocols import PROTOCOLS

        protocol = self.source().default_protocol
        assert protocol in PROTOCOLS, (f"{self.datasource}: default_protocol {protocol!r} is not one of "
                                       f"{list(PROTOCOLS)}")

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


class DataPluginSuite:
    """Subclass as ``Test...`` with ``plugin = "name"`` (the entry point name), ``files`` (``{source name:
    KnownFile}``), optionally ``other_files`` and ``loader_modules``: runs :func:`had_sdk.datakit.plan`."""

    plugin: ClassVar[str] = ""
    files: ClassVar[dict[str, Any]] = {}
    other_files: ClassVar[list[Any]] = []
    loader_modules: ClassVar[tuple[str, ...]] = ()

    def data_plugin(self) -> datakit.DataPlugin:
        return datakit.DataPlugin(self.plugin, dict(self.files), list(self.other_files), tuple(self.loader_modules))

    def pytest_generate_tests(self, metafunc):
        if "data_check" in metafunc.fixturenames:
            metafunc.parametrize("data_check", [c.id for c in datakit.plan(self.data_plugin())])

    def test_data_plugin(self, data_check, tmp_path):
        check = next(c for c in datakit.plan(self.data_plugin()) if c.id == data_check)
        try:
            check.run(tmp_path)
        except kit.NotChecked as exc:
            NOT_CHECKED.append(f"{self.plugin} {data_check}: {exc}")
            pytest.skip(f"not checked: {exc}")
