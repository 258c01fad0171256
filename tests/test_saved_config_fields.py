"""Every registered detector's config fields against the record of them (``saved_config_fields.json``), so that a
field added or removed is a decision about the models already saved (an upgrade audit of 7 December 2026 found
three: cxr-deepsvdd's ``score`` and lren's ``restarts``, added with defaults other than what older models were
trained with, and a renamed saved-state key; an older model then loaded with today's default, its scores all above
its threshold unsaid, or failed to load).

A field added: a model saved before it has no value for it in its manifest, and loads with the field's default
unless the detector's ``saved_before`` gives the value those models were trained with. A field removed: a model
saved with it is refused (unknown config fields are) unless the detector's ``removed_fields`` names it (its value
is then dropped at load). After deciding, add or remove the field in the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import had
from had import plugins

RECORD = Path(__file__).with_name("saved_config_fields.json")


def _record() -> dict[str, list[str]]:
    return json.loads(RECORD.read_text())


@pytest.mark.parametrize("name", sorted(plugins.registry()["detector"]))
def test_a_detectors_config_fields_are_the_recorded_ones(name):
    recorded = _record().get(name)
    if recorded is None:
        pytest.fail(f"detector {name} is not in {RECORD.name}: add it with its fields (no model of it is saved yet)")
    detector = had.get_detector(name)
    fields = set(type(detector.config).model_fields)
    added, removed = sorted(fields - set(recorded)), sorted(set(recorded) - fields)
    assert not added, (
        f"{name}: field(s) {', '.join(added)} added since the record. Models saved before have no value for them "
        f"and load with the default: if the default is not how those models were fitted and scored, put the old "
        f"value in {type(detector).__name__}.saved_before (now {type(detector).saved_before}); then add the "
        f"field(s) to {RECORD.name}")
    assert not removed, (
        f"{name}: field(s) {', '.join(removed)} removed since the record. Models saved with them are refused "
        f"(unknown config field): if they did not shape the scores, name them in "
        f"{type(detector).__name__}.removed_fields (now {sorted(type(detector).removed_fields)}), else keep "
        f"reading them; then remove them from {RECORD.name}")


def test_the_record_names_only_registered_detectors():
    gone = sorted(set(_record()) - set(plugins.registry()["detector"]))
    assert not gone, f"{RECORD.name} names detectors no plugin registers: {', '.join(gone)}; remove them"


@pytest.mark.parametrize("name", sorted(plugins.registry()["detector"]))
def test_a_removed_field_is_no_field_now(name):
    """A field dropped from older manifests at load (``removed_fields``) must not be a field now, or its value would
    be lost."""
    cls = type(had.get_detector(name))
    assert not cls.removed_fields & set(cls.Config.model_fields), f"{name}: removed_fields holds current fields"


def test_a_model_saved_with_a_removed_field_loads(tmp_path):
    """The torch detectors' ``optimizer``, ``validation_fraction`` and ``patience``, taken out of several of them on
    1 December 2026: a model saved before was refused ("Extra inputs are not permitted"), found by loading models
    saved by older revisions (geohgan, gan-gp, rlad, bs3lnet, deepsad, deepsad-ae, deepsvdd)."""
    pytest.importorskip("had_deepsad")
    import numpy as np

    X = np.random.default_rng(0).normal(size=(60, 4))
    det = had.get_detector("deepsad", epochs=1, ae_epochs=1, device="cpu", progress=False).fit(X)
    path = had.save(det, tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["config"].update(optimizer="adam", validation_fraction=0.0, patience=None)
    del manifest["config_set"]  # as manifests were written then
    (path / "manifest.json").write_text(json.dumps(manifest))
    np.testing.assert_array_equal(had.load(path).decision_function(X), det.decision_function(X))
