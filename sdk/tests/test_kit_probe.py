"""The kit catches fitted state kept outside the saved model (loaded in a new process, it fails) and a fit that
writes into a writeable input (was: both passed every check; the second showed only as "same seed, different
scores").

The detectors are tiny numpy ones in a module written to a temporary folder on ``sys.path``, so that the kit's
other process can import them by their module path (this file, imported by pytest's importlib mode, cannot be).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import had
from had_sdk import kit

TOYS = textwrap.dedent('''
    import numpy as np
    import had

    class Standardised(had.Detector):
        """Squared distance to the training mean in training standard deviations: all its state saved."""
        onnx_unsupported = "numpy only"

        def _fit(self, X, y):
            P = X.reshape(-1, X.shape[-1])
            self.mu_, self.sd_ = P.mean(0), P.std(0) + 1e-9
            return None

        def _score(self, X):
            return (((X - self.mu_) / self.sd_) ** 2).sum(-1)

        def _get_state(self):
            return {"mu": self.mu_, "sd": self.sd_}

        def _set_state(self, state):
            self.mu_, self.sd_ = state["mu"], state["sd"]

    _shared = {}

    class OutsideState(Standardised):
        """Keeps its fitted mean and scale in a module-level dict; saves a dummy."""

        def _fit(self, X, y):
            super()._fit(X, y)
            _shared["mu"], _shared["sd"] = self.mu_, self.sd_
            return None

        def _score(self, X):
            return (((X - _shared["mu"]) / _shared["sd"]) ** 2).sum(-1)

        def _get_state(self):
            return {"dummy": np.zeros(1)}

        def _set_state(self, state):
            pass

    class WritesInput(Standardised):
        """Centres its training data in place when numpy lets it."""

        def _fit(self, X, y):
            super()._fit(X, y)
            if X.flags.writeable:
                X -= self.mu_
            return None

    class SaltedScore(Standardised):
        """Saves all its state, but scales its scores by a factor taken from hash() of a string when scoring."""

        def _score(self, X):
            return super()._score(X) * (1 + hash("probe") % 1000)

    class KeepsRows(Standardised):
        """Scores by the distance to the nearest training row, keeping the caller's array as it came."""

        def _fit(self, X, y):
            self.rows_ = X.reshape(-1, X.shape[-1])
            return None

        def _score(self, X):
            P = X.reshape(-1, X.shape[-1])
            return (((P[:, None, :] - self.rows_[None]) ** 2).sum(-1)).min(1).reshape(X.shape[:-1])

        def _get_state(self):
            return {"rows": self.rows_}

        def _set_state(self, state):
            self.rows_ = state["rows"]

    class SetOrderScore(Standardised):
        """Saves all its state, but scales its scores by the order of a set of two strings (salted per process)."""

        def _score(self, X):
            return super()._score(X) * (1 + ["probe-a", "probe-b"].index(next(iter({"probe-a", "probe-b"}))))

    class Toys:
        @had.hookimpl
        def register_detectors(self, register):
            register("probe-set-order-score", SetOrderScore)
            register("probe-keeps-rows", KeepsRows)
            register("probe-standardised", Standardised)
            register("probe-outside-state", OutsideState)
            register("probe-writes-input", WritesInput)
            register("probe-salted-score", SaltedScore)
''')


@pytest.fixture
def toys(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("kit_probe_toys")
    (folder / "kit_probe_toys.py").write_text(TOYS)
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    sys.modules.pop("kit_probe_toys", None)
    module = importlib.import_module("kit_probe_toys")
    had.plugins.register_plugin(module.Toys(), name="kit-probe-toys")
    yield module
    sys.modules.pop("kit_probe_toys", None)


def test_state_kept_outside_the_artifact_fails_save_load(toys, tmp_path):
    """The saved model of a detector keeping its state in a module-level dict failed in a new process, yet
    loaded in the process that fitted it (where the dict still was) it scored the same: save_load passed."""
    X, _ = kit.make_data("cube")
    det = had.get_detector("probe-outside-state").fit(X)
    with pytest.raises(AssertionError, match="its fitted state is not all saved"):
        kit.check_roundtrip(det, X, tmp_path / "saved")


def test_scoring_salted_per_process_is_said_as_that_not_as_unsaved_state(toys, tmp_path):
    """A detector saving all its state but scoring with hash() of a string scored otherwise in the load process and
    was told "its fitted state is not all saved" (was); now the kit asks a second process and names the cause."""
    X, _ = kit.make_data("tabular")
    det = had.get_detector("probe-salted-score").fit(X)
    with pytest.raises(AssertionError, match="scores differently in each new Python process") as info:
        kit.check_roundtrip(det, X, tmp_path / "saved")
    assert "hash()" in str(info.value) and "not all saved" not in str(info.value)
    det = had.get_detector("probe-outside-state").fit(X)  # unsaved state: the same in both other processes
    with pytest.raises(AssertionError, match="its fitted state is not all saved"):
        kit.check_roundtrip(det, X, tmp_path / "saved2")


def test_a_detector_saving_all_its_state_passes_save_load(toys, tmp_path):
    X, _ = kit.make_data("tabular")
    det = had.get_detector("probe-standardised").fit(X)
    back = kit.check_roundtrip(det, X, tmp_path / "saved")
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X))


def test_a_class_another_process_cannot_import_is_reported_not_passed(tmp_path, toys):
    class Local(toys.Standardised):
        pass

    had.plugins.register_plugin(type("LocalToys", (), {"register_detectors": had.hookimpl(
        lambda self, register: register("probe-local", Local))})(), name="kit-probe-local")
    X, _ = kit.make_data("tabular")
    with pytest.raises(kit.NotChecked, match="save/load in a new process not checked"):
        kit.check_roundtrip(had.get_detector("probe-local").fit(X), X, tmp_path / "saved")


def test_the_plan_fails_save_load_of_state_kept_outside_the_artifact(toys, check_detector):
    """The probe's repro: a cube detector with its state in a module-level dict passed all 14 checks."""
    check_detector("probe-outside-state", kinds=("cube",),
                   expected_failures={"save_load-cube": "its state lives in a module-level dict"})


def test_state_shared_by_every_instance_is_said_as_that_across_processes(toys):
    """Another fit in this process replaced the shared state of the detector checked; the check across processes
    blamed hash() and PYTHONHASHSEED for the difference."""
    X, _ = kit.make_data("tabular")
    det = had.get_detector("probe-outside-state").fit(X[:120])
    had.get_detector("probe-outside-state").fit(X)
    with pytest.raises(AssertionError, match="kept outside the detector") as failed:
        kit.check_deterministic_across_processes(det, X[:120], X)
    assert "PYTHONHASHSEED" not in str(failed.value)


def test_a_fit_writing_into_a_writeable_input_fails_fit_score(toys):
    X, _ = kit.make_data("tabular")
    with pytest.raises(AssertionError, match="probe-writes-input modifies its input"):
        kit.check_fit_score(lambda: had.get_detector("probe-writes-input"), X)
    kit.check_fit_score(lambda: had.get_detector("probe-standardised"), X)


def test_a_model_keeping_the_callers_training_array_fails_fit_score(toys):
    """A model keeping a reference to the float64 rows it was fitted on (as four PyOD wrappers did) scored the
    caller's array as edited after the fit: the kit now edits it and scores again."""
    X, _ = kit.make_data("tabular")
    with pytest.raises(AssertionError, match="probe-keeps-rows keeps the caller's training array"):
        kit.check_fit_score(lambda: had.get_detector("probe-keeps-rows"), X)


def _first_of_set(hashseed: int) -> str:
    return subprocess.run([sys.executable, "-c", 'print(next(iter({"probe-a", "probe-b"})))'], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONHASHSEED": str(hashseed)}).stdout.strip()


def test_scoring_salted_per_process_is_told_where_two_salts_agree(toys, tmp_path, monkeypatch):
    """Scoring by the order of a set of two strings: the second process's salt gives the first's order half the
    time, and the difference was then told as unsaved state. A PYTHONHASHSEED is chosen here for which the load
    process and the second one agree and a third one does not: the kit asks on and names the cause."""
    from had_sdk import kit_process

    first = {seed: _first_of_set(seed) for seed in range(1, 40)}
    mine = next((s for s in range(0, 36) if first[s + 1] == first[s + 2] != first[s + 3]), None)
    if mine is None:
        pytest.skip("no PYTHONHASHSEED below 40 orders the set so on this Python")
    monkeypatch.setenv("PYTHONHASHSEED", str(mine))
    monkeypatch.setattr(kit_process, "_workers", {})  # workers with these salts, closed below
    try:
        X, _ = kit.make_data("tabular")
        det = had.get_detector("probe-set-order-score").fit(X)
        had.save(det, tmp_path / "saved")
        other = kit_process.load_elsewhere(det, tmp_path / "saved", X)
        with pytest.raises(AssertionError, match="scores differently in each new Python process") as info:
            kit._salted_scoring(det, "probe-set-order-score", tmp_path / "saved", X, other)
        assert f"PYTHONHASHSEED {mine + 1} and {mine + 3}" in str(info.value)
    finally:
        for worker in kit_process._workers.values():
            worker.close()
