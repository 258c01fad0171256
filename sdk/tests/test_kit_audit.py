"""The kit and the SDK against the mistakes of the plugin-author audit (a beta-VAE plugin with planted bugs): a
seed salted per process, scoring that reseeds or draws from the global generators, scoring that changes the fitted
state, score_batch of the wrong shape, a config field without a default, a fit that writes into the caller's
numpy array, and every refused name of a plugin reported."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import Field

import had
from had.errors import PluginError
from had.rx import RX
from had_sdk import kit
from sdk_toys import HashSeeded, TinyAE, TinyConfig, TinyScene

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-guide.md"


@pytest.fixture
def rows():
    return kit.make_data("tabular")[0]


# ---- 1. the same seed in another process ---------------------------------------------------------------------
def test_a_seed_salted_per_process_fails_the_check_across_processes(rows):
    det = HashSeeded().fit(rows)
    np.testing.assert_array_equal(HashSeeded().fit(rows).decision_function(rows), det.decision_function(rows))
    kit.check_deterministic(HashSeeded, rows)  # two fits in one process agree: the old check passed it
    with pytest.raises(AssertionError, match=r"hash-seeded: same config and seed, different scores in another Python "
                                             r"process .*hash\(\) of a string"):
        kit.check_deterministic_across_processes(det, rows, rows)


def test_a_seeded_detector_passes_across_processes_and_a_local_class_is_reported_not_passed(rows):
    kit.check_deterministic_across_processes(had.get_detector("tiny-ae").fit(rows), rows, rows)

    class Local(TinyAE):
        pass

    with pytest.raises(kit.NotChecked, match="inside a function, so another process cannot import it"):
        kit.check_deterministic_across_processes(Local().fit(rows), rows, rows)


# ---- 2. the global generators around fit and scoring -------------------------------------------------------
class ReseedsInScoring(TinyAE):
    def score_batch(self, x):
        torch.manual_seed(0)
        np.random.seed(0)
        return super().score_batch(x)


class DrawsInScoring(TinyAE):  # Monte Carlo scoring from torch's global generator
    def score_batch(self, x):
        s = super().score_batch(x)
        return s + 0.0 * torch.randn_like(s)


@pytest.mark.parametrize("toy", [ReseedsInScoring, DrawsInScoring])
def test_scoring_that_moves_the_global_generators_fails_fit_score(rows, toy):
    # fit scores the training data with score_batch after training: the first call to move them is fit's
    with pytest.raises(AssertionError, match=r"tiny-ae's fit changed the process's global random generator.*"
                                             r"torch's CPU generator.*scores the training data"):
        kit.check_fit_score(toy, rows)


def test_a_decision_function_that_reseeds_numpy_is_named(rows):
    class Reseeds(RX):
        def decision_function(self, X):
            np.random.seed(0)
            return super().decision_function(X)

    with pytest.raises(AssertionError, match=r"rx's decision_function changed the process's global random "
                                             r"generator \(numpy's \(np.random\)\).*scoring draws nothing"):
        kit.check_fit_score(Reseeds, rows)


def test_a_fit_or_a_predict_that_moves_a_global_generator_is_named(rows):
    class SeedsNumpy(RX):
        def _fit(self, X, y):
            np.random.seed(0)
            return super()._fit(X, y)

    with pytest.raises(AssertionError, match=r"rx's fit changed .*numpy's \(np.random\)"):
        kit.check_fit_score(SeedsNumpy, rows)

    class DrawsInPredict(RX):
        def predict(self, X):
            random.random()
            return super().predict(X)

    with pytest.raises(AssertionError, match=r"rx's predict changed .*Python's random"):
        kit.check_fit_score(DrawsInPredict, rows)
    kit.check_fit_score(RX, rows)
    kit.check_fit_score(lambda: had.get_detector("tiny-ae"), rows)


# ---- 3. the fitted state around scoring ------------------------------------------------------------------
def test_scoring_that_changes_the_fitted_state_is_named(rows):
    class AdaptsThreshold(RX):
        def _score(self, X):
            scores = super()._score(X)
            self.threshold_ = float(np.quantile(scores, 0.9))
            return scores

    class StoresScores(RX):
        def _score(self, X):
            scores = super()._score(X)
            self.decision_scores_ = scores
            return scores

    class Learns(TinyAE):  # moves a weight at each scoring
        def score_batch(self, x):
            if not self.network_.training:  # scoring (under torch.no_grad)
                self.network_[0].bias.add_(1e-3)
            return super().score_batch(x)

    X, y = kit.make_data("tabular")
    normals = X[y == 0]  # as the kit's suites fit: the batch scored (all of X) is not the training data
    with pytest.raises(AssertionError, match=r"rx's decision_function changed its fitted attribute "
                                             r"'threshold_' \(.* became .*\).*fixed at fit"):
        kit.check_per_sample(AdaptsThreshold().fit(normals), X)
    with pytest.raises(AssertionError, match=r"rx's decision_function changed its fitted attribute 'decision_scores_' "
                                             r"\(array <f8 \(228,\) became <f8 \(240,\)\)"):
        kit.check_per_sample(StoresScores().fit(normals), X)
    kit.check_per_sample(RX().fit(normals), X)
    with pytest.raises(AssertionError, match=r"changed its fitted attribute 'model_' \(its tensors \['network.0.bias'\]"):
        kit.check_fit_score(Learns, rows)


def test_a_private_cache_filled_by_scoring_passes(rows):
    class Caches(RX):
        def _score(self, X):
            self._last = super()._score(X)
            self.scored_ = True  # a new attribute: not a change of the fitted state
            return self._last

    kit.check_fit_score(Caches, rows)


# ---- 4. score_batch of the wrong shape --------------------------------------------------------------------
class Pairs(TinyAE):
    def score_batch(self, x):
        s = super().score_batch(x)
        return torch.stack([s, s], dim=-1) if not self.network_.training else s


class Twice(TinyAE):
    def score_batch(self, x):
        s = super().score_batch(x)
        return torch.cat([s, s]) if not self.network_.training else s


class MeanLoss(TinyAE):
    def score_batch(self, x):
        s = super().score_batch(x)
        return s.mean() if not self.network_.training else s


@pytest.mark.parametrize("toy, shape", [(Pairs, "(240, 2)"), (Twice, "(480,)"), (MeanLoss, "()")])
def test_score_batch_of_the_wrong_shape_is_a_plugin_error_naming_it(rows, toy, shape):
    with pytest.raises(PluginError, match=re.escape(f"tiny-ae.score_batch returned shape {shape} for a batch of 240 "
                                                    "rows; return one score per row, shape (240,)")):
        toy().fit(rows)  # named tiny-ae (TinyAE's name)


def test_a_scene_scorer_returning_a_scalar_is_a_plugin_error():
    class Flat(TinyScene):
        def score_batch(self, x):
            return super().score_batch(x).mean()

    cube = kit.make_data("cube")[0]
    with pytest.raises(PluginError, match=re.escape("tiny-scene.score_batch returned shape () for a scene of 16 x 15 pixels; "
                                                    "return its map, shape (16, 15)")):
        Flat().fit(cube)
    assert TinyScene().fit(cube).decision_function(cube).shape == (16, 15)


# ---- 5. a config field without a default -----------------------------------------------------------------
class RequiredConfig(TinyConfig):
    prior_scale: float = Field(gt=0.0, description="a field without default")


class NeedsSetting(TinyAE):
    Config = RequiredConfig


def test_a_config_field_without_default_fails_the_config_check_even_when_the_suite_gives_it():
    class Plugin:
        @had.hookimpl
        def register_detectors(self, register):
            register("needs-setting", NeedsSetting)
            register("preset-setting", NeedsSetting, prior_scale=1.0)

    had.plugins.register_plugin(Plugin(), name="needs-setting-plugin")
    with pytest.raises(AssertionError, match=r"needs-setting: config field 'prior_scale' has no default, so "
                                             r"had.get_detector\('needs-setting'\) .* fail without it"):
        kit.check_config("needs-setting", {"prior_scale": 1.0})
    kit.check_config("preset-setting", {})  # the registration presets it: had.get_detector works
    kit.check_config("tiny-ae", {})


# ---- 6. numpy writes into the caller's (read-only) array -------------------------------------------------
def test_a_numpy_write_into_the_callers_data_is_explained(rows):
    class Scales(RX):
        def _fit(self, X, y):
            np.asarray(X)[...] *= 1.0
            return super()._fit(X, y)

    with pytest.raises(AssertionError, match=r"rx: fit or scoring wrote into the caller's data \(numpy raised "
                                             r"ValueError: .*read-only.*work on a copy"):
        kit.check_fit_score(Scales, rows)


# ---- 7. every refused name of a plugin on its row ----------------------------------------------------------
def test_every_refused_registration_of_a_plugin_is_reported():
    class Greedy:
        @had.hookimpl
        def register_detectors(self, register):
            register("rx", RX)  # the core's
            register("tiny-ae", TinyAE)  # sdk-toys registered it first
            register("greedy-own", RX)

    had.plugins.register_plugin(Greedy(), name="greedy")
    error = had.plugins.load_errors()["greedy"]
    assert "detector 'rx' is already registered by plugin 'had'" in error
    assert "detector 'tiny-ae' is already registered by plugin 'sdk-toys'" in error
    row = next(info for info in had.plugins.plugins() if info.name == "greedy")
    assert row.error == error and row.registers == {"detector": ["greedy-own"]}
    had.plugins._state.registry = None  # a rebuilt registry says each refusal once
    assert had.plugins.load_errors()["greedy"] == error


# ---- 8. where a loose capability attribute is refused --------------------------------------------------------
def test_a_loose_capability_attribute_is_refused_when_capabilities_are_read_as_the_guide_says(rows):
    class Loose(TinyAE):
        dynamic_image_size = True

    Loose().fit(rows)  # defining, building and fitting it raise nothing
    with pytest.raises(PluginError, match="declare it as `capabilities = had.capabilities.Capabilities"):
        kit.check_metadata(Loose)
    text = " ".join(GUIDE.read_text().split())
    assert ("is a `PluginError` that says where it belongs, raised where the capabilities are read: the kit's "
            "metadata, detection and ONNX checks, `had export` and `export_onnx`") in text
