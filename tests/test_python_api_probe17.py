"""The Python API as a researcher uses it (a read-only probe of 7 December 2026): a list kept by set_params and
edited since, contamination set under a threshold rule, an unregistered detector saved, the wrong object fitted."""

from __future__ import annotations

import re

import numpy as np
import pytest

import had
from had.errors import ConfigError


def test_a_list_set_and_edited_since_is_validated_at_the_fit():
    """set_params keeps the list given (scikit-learn's rule); `hidden.append(-3)` afterwards reached the fit
    unchecked and the plugin failed (a PluginError blaming it). The fit validates the config again."""
    X = np.random.default_rng(0).normal(size=(60, 4))
    hidden = [4]
    det = had.get_detector("autoencoder", epochs=1, restarts=1)
    det.set_params(hidden=hidden)
    assert det.get_params()["hidden"] is hidden
    hidden.append(-3)
    with pytest.raises(ConfigError, match=r"hidden\.1: Input should be greater than 0"):
        det.fit(X)
    assert not det.is_fitted


def test_contamination_set_under_a_threshold_rule_is_said_to_be_unused():
    """threshold='otsu', then set_params(contamination=0.02): nothing moved and nothing was said (the guide said
    it moves the threshold at once). It still does not move (the rule stands, as scikit-learn's set_params sets
    only what it is given), and a warning says so and names set_contamination, which does."""
    from had.errors import UnusedSettingWarning

    X = np.random.default_rng(0).normal(size=(200, 3))
    det = had.get_detector("rx", threshold="otsu").fit(X)
    before = det.threshold_
    with pytest.warns(UnusedSettingWarning, match=r"contamination=0\.02 is not used while threshold='otsu'"):
        det.set_params(contamination=0.02)
    assert det.threshold_ == before and det.config.threshold == "otsu"
    det.set_contamination(0.02)
    assert det.config.threshold is None and det.labels_.mean() == pytest.approx(0.02, abs=0.006)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        had.get_detector("rx").set_params(contamination=0.05)  # the default rule: no warning
        had.get_detector("rx", threshold="otsu").set_params(threshold=None, contamination=0.05)


def test_saving_an_unregistered_class_says_to_register_it(tmp_path):
    """A class fitted unregistered was refused as "unknown detector 'my-det'; known detectors: ..." (every name);
    a subclass keeping its base's name was saved as the base and loaded as it. Both are told what to do."""
    from had.errors import ArtifactError
    from had.rx import RX

    class Mine(RX):
        pass

    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ArtifactError, match="that name loads RX, not Mine; give Mine a name of its own"):
        had.save(Mine().fit(X), tmp_path / "a")
    det = Mine()
    det.name = "my-det"
    with pytest.raises(ArtifactError, match="its name 'my-det' is not a registered detector; register it first"):
        had.save(det.fit(X), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    had.save(RX().fit(X), tmp_path / "c")  # the registered class itself, by its name


@pytest.mark.parametrize("given, said", [
    (None, "data is None, not an array of numbers; pass a numpy array"),
    ("cardio", "data is a str 'cardio', not an array of numbers; a dataset's name or a file is loaded first"),
    ({"a": 1}, "data is a dict, not an array of numbers"),
])
def test_fitting_an_object_that_is_no_array_names_it(given, said):
    """``fit(dataset)`` for ``fit(dataset.X)``, a name, a dict or None: "got an array of shape ()", of an array
    the user never made. The object is named, and what to pass instead."""
    from had.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=re.escape(said)):
        had.get_detector("rx").fit(given)
    dataset = had.load_dataset("synthetic-table")
    with pytest.raises(InvalidInputError, match=re.escape("data is a Dataset, not an array of numbers; pass its "
                                                          "array, dataset.X")):
        had.get_detector("rx").fit(dataset)
