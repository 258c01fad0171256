"""Calls into a plugin's code that were not wrapped as ``DataSource.load`` is: the ``source_for_path`` hook, a
detector's ``_fit``/``_score`` and its scores, ``_get_state``/``_get_meta`` at save and ``_set_state`` at load, a data
source's ``open()``, a metric in a benchmark cell. Each failure is one PluginError line naming the plugin, nothing
written (a probe of plugin calls, items 2 and 9-13)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from test_reliability_cli import assert_one_line, run_cli

import had
from had import Detector, plugins
from had.data import DataSource, DataSourceConfig, Dataset
from had.errors import ArtifactError, InvalidInputError, PluginError
from had.metrics import Metric


class Mean(Detector):
    """Squared distance to the mean; subclasses break one call each."""

    def _fit(self, X, y):
        self.mu_ = np.asarray(X).reshape(-1, X.shape[-1]).mean(0)

    def _score(self, X):
        return ((np.asarray(X) - self.mu_) ** 2).sum(-1)

    def _get_state(self):
        return {"mu": np.asarray(self.mu_)}

    def _set_state(self, state):
        self.mu_ = state["mu"]


def _variant(name, **methods):
    return type(name, (Mean,), {"name": name, **methods})


def _raise(exc):
    def method(self, *args):
        raise exc
    return method


def _once_then(exc):
    """A _score that works on its first call (the fit) and raises `exc` after."""
    def method(self, X):
        if getattr(self, "scored_", False):
            raise exc
        self.scored_ = True
        return Mean._score(self, X)
    return method


class NoSaving(Mean):
    name = "no-saving"
    _get_state = Detector._get_state


DETECTORS = [
    _variant("fit-raises", _fit=_raise(ValueError("boom in fit"))),
    _variant("fit-refuses", _fit=_raise(InvalidInputError("these rows are not mine"))),
    _variant("fit-oom", _fit=_raise(MemoryError())),
    _variant("score-raises", _score=_once_then(IndexError("index boom in score"))),
    _variant("score-str", _score=lambda self, X: np.array(["a"] * len(X))),
    _variant("score-obj", _score=lambda self, X: np.array([object()] * len(X))),
    _variant("state-none", _get_state=lambda self: None),
    _variant("state-list", _get_state=lambda self: [np.zeros(3)]),
    _variant("state-int-key", _get_state=lambda self: {1: np.zeros(3)}),
    _variant("meta-set", _get_meta=lambda self: {"s": {1, 2}}),
    _variant("meta-none", _get_meta=lambda self: None),
    _variant("spec-broken", _fit=lambda self, X, y: (Mean._fit(self, X, y), self.input_spec_.update(n_features=0))[0]),
    _variant("set-state-raises", _set_state=_raise(RuntimeError("cannot restore"))),
    NoSaving,
]


class OpenConfig(DataSourceConfig):
    path: str = ""
    mode: str = "raise"


class BadOpen(DataSource):
    name = "bad-open"
    Config = OpenConfig
    kind = "cube"

    def load(self):
        return Dataset("bad-open", np.random.default_rng(0).random((8, 8, 4)))

    def open(self):
        if self.config.mode == "exit":
            sys.exit(6)
        if self.config.mode == "none":
            return None
        raise ValueError("open boom")


class Probe:
    """The in-process plugin 'probe-calls'; `answer` is what its source_for_path hook does for a .npy file."""

    answer = None

    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        for cls in DETECTORS:
            register(cls.name, cls)

    @staticmethod
    @had.hookimpl
    def register_datasources(register):
        register("bad-open", BadOpen)

    @staticmethod
    @had.hookimpl
    def register_metrics(register):
        register(Metric("m-boom", lambda y, s: 1 / 0))
        register(Metric("m-text", lambda y, s: "high"))

    @staticmethod
    @had.hookimpl
    def source_for_path(path, settings):
        if path.endswith(".badopen"):
            return "bad-open"
        if not path.endswith(".npy") or Probe.answer is None:
            return None
        return Probe.answer(path)


@pytest.fixture(autouse=True)
def probe():
    Probe.answer = None
    plugins.register_plugin(Probe, name="probe-calls")
    yield
    plugins.unregister_plugin("probe-calls")
    Probe.answer = None


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.random.default_rng(0).normal(size=(60, 4)))
    return path


def _exit(code):
    def answer(path):
        sys.exit(code)
    return answer


def _boom(path):
    raise ValueError("sfp boom")


# ---- item 2: the source_for_path hook ----------------------------------------------------------------------------
@pytest.mark.parametrize("answer,said", [(_boom, "ValueError: sfp boom"), (_exit(9), "sys.exit(9)"),
                                         (lambda path: 12345, "answered int 12345")])
def test_a_failing_source_for_path_hook_is_one_line_naming_its_plugin(capsys, tmp_path, rows, answer, said):
    Probe.answer = answer
    code, _, err = run_cli(capsys, "fit", "rx", str(rows), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "source_for_path hook of plugin 'probe-calls'", said)
    assert "got int" not in err and not (tmp_path / "m").exists()


def test_a_source_for_path_hook_failing_on_one_file_fails_that_file_alone(capsys, tmp_path, rows):
    """``had score MODEL f0 f1 f2 --out dir``: the file the hook fails on is one line, the others are scored."""
    model = had.save(had.get_detector("rx").fit(np.load(rows)), tmp_path / "model")
    for name in ("f0", "f1", "f2"):
        np.save(tmp_path / f"{name}.npy", np.random.default_rng(1).normal(size=(20, 4)))
    Probe.answer = lambda path: _boom(path) if path.endswith("f1.npy") else None
    code, _, err = run_cli(capsys, "score", str(model), *(str(tmp_path / f"{n}.npy") for n in ("f0", "f1", "f2")),
                           "--out", str(tmp_path / "maps"), "--map-format", "npy")
    assert code == 1 and "Traceback" not in err, err
    errors = err.strip().splitlines()
    assert len(errors) == 2 and "f1.npy" in errors[0] and "plugin 'probe-calls'" in errors[0], err
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["f0.npy", "f2.npy"]


# ---- item 9: a detector's _fit and _score --------------------------------------------------------------------------
@pytest.mark.parametrize("name,said", [
    ("fit-raises", "ValueError: boom in fit"),
    ("score-str", "not numbers"),
    ("score-obj", "not numbers"),
])
def test_a_detector_failing_in_its_fit_is_one_line_naming_its_plugin(capsys, tmp_path, rows, name, said):
    code, _, err = run_cli(capsys, "fit", name, str(rows), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, f"the {name!r} detector of plugin 'probe-calls'", said)
    assert not (tmp_path / "m").exists()


def test_a_detector_failing_in_its_scoring_is_one_line_naming_its_plugin(capsys, tmp_path, rows):
    code, _, err = run_cli(capsys, "fit", "score-raises", str(rows), "-o", str(tmp_path / "m"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(rows))
    assert_one_line(code, err, "scoring of the 'score-raises' detector of plugin 'probe-calls'",
                    "IndexError: index boom in score")


def test_what_a_detector_raises_deliberately_or_for_memory_goes_on_as_it_is(rows):
    X = np.load(rows)
    with pytest.raises(InvalidInputError, match="these rows are not mine"):
        had.get_detector("fit-refuses").fit(X)
    with pytest.raises(MemoryError):
        had.get_detector("fit-oom").fit(X)
    with pytest.raises(PluginError, match="ValueError: boom in fit") as info:
        had.get_detector("fit-raises").fit(X)
    assert isinstance(info.value.__cause__, ValueError)  # kept for HAD_DEBUG and the Python API


# ---- items 10 and 11: state and meta at save, state at load --------------------------------------------------------
@pytest.mark.parametrize("name,said", [
    ("state-none", "_get_state() of the 'state-none' detector of plugin 'probe-calls' gave NoneType"),
    ("state-list", "gave list"),
    ("state-int-key", "keys are not all strings"),
    ("meta-set", "not JSON serializable"),
    ("meta-none", "the model of the 'meta-none' detector of plugin 'probe-calls' would not load again (state_meta"),
    ("spec-broken", "would not load again (input_spec.n_features"),
    ("no-saving", "NotImplementedError: NoSaving does not implement saving"),
])
def test_a_state_or_meta_that_cannot_be_saved_is_one_line_and_nothing_is_written(capsys, tmp_path, rows, name,
                                                                                  said):
    code, _, err = run_cli(capsys, "fit", name, str(rows), "-o", str(tmp_path / "m"))
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and said in lines[-1] and "probe-calls" in lines[-1], err
    assert "(nothing was written)" in lines[-1] or name == "no-saving"
    assert not (tmp_path / "m").exists()


def test_a_state_its_plugin_cannot_restore_is_the_plugins_failure(capsys, tmp_path, rows):
    """Was: "does not fit the set-state-raises detector (RuntimeError: ...); incompatible artifact", blaming a file
    had wrote and checked."""
    code, _, err = run_cli(capsys, "fit", "set-state-raises", str(rows), "-o", str(tmp_path / "m"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(rows))
    assert_one_line(code, err, "_set_state() of the 'set-state-raises' detector of plugin 'probe-calls'",
                    "RuntimeError: cannot restore", "plugin's fault")
    assert "incompatible artifact" not in err


def test_weights_rewritten_by_another_tool_stay_an_incompatible_artifact(tmp_path, rows):
    from safetensors.numpy import load_file, save_file

    path = had.save(had.get_detector("set-state-raises").fit(np.load(rows)), tmp_path / "m")
    save_file(load_file(str(path / "weights.safetensors")), str(path / "weights.safetensors"))  # no had metadata
    manifest = had.artifact.raw_manifest(path)
    from had.datadir import sha256_of

    manifest["files"]["weights.safetensors"] = sha256_of(path / "weights.safetensors")
    import json

    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not fit the set-state-raises detector .RuntimeError"):
        had.load(path)


# ---- item 12: a data source's open() -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,said", [("raise", "ValueError: open boom"), ("exit", "sys.exit(6)"),
                                       ("none", "returned NoneType, not a had.tiling.LazyScene")])
def test_a_failing_open_is_one_line_naming_its_plugin(capsys, tmp_path, mode, said):
    scene = tmp_path / "s.badopen"
    scene.write_text("x")
    code, _, err = run_cli(capsys, "fit", "rx", str(scene), "--data", f"mode={mode}", "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "the open of data source 'bad-open' of plugin 'probe-calls'", said)


# ---- item 13: a metric in a benchmark cell --------------------------------------------------------------------------
@pytest.mark.parametrize("metric,said", [("m-boom", "ZeroDivisionError"), ("m-text", "ValueError")])
def test_a_failing_metric_is_noted_and_the_cells_other_metrics_are_kept(metric, said):
    """Was: the cell's error, its AUROC and timings lost with it (and, before that, a traceback ending the grid)."""
    import math

    from had.executors import Cell, run_cell

    cell = Cell("rx", "synthetic-table", 0, metrics=("auroc", metric))
    result = run_cell(cell)
    assert not result.row.get("error") and result.row["auroc"] > 0.5 and math.isnan(result.row[metric])
    assert result.row["fit_s"] >= 0 and result.row["score_s"] >= 0
    noted = [note for note in result.notes if note.startswith(f"{metric} of rx")]
    assert len(noted) == 1 and f"metric {metric!r} of plugin 'probe-calls'" in noted[0] and said in noted[0]
    assert run_cell(Cell("rx", "synthetic-table", 1, metrics=("auroc",))).row["auroc"] > 0.5


def test_the_cores_own_detector_failing_is_said_as_hads_defect():
    """A review: an error inside the core's rx was "the plugin's fault: report it to its authors", naming plugin
    'had'."""
    from had.data import plugin_failure

    said = str(plugin_failure("the fit of the 'rx' detector of plugin 'had'", ValueError("x")))
    assert "a defect of had itself" in said and "the plugin's fault" not in said
