"""The detector kit: it passes good detectors, and each check fails the broken ones (constant, random and
inverted scores among them). The data kits are tested in test_datakit.py."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.capabilities import Capabilities
from had.errors import ExportNotSupported, ExportParityError
from had.rx import RX
from had_sdk import kit, testing
from had_sdk.kit_plan import Subject, plan
from had_sdk.testing import DetectorSuite


class TestTinyAEConformance(DetectorSuite):
    detector = "tiny-ae"
    kinds = ("tabular", "cube")


def test_image_detector_through_the_fixture(check_detector):
    reports = check_detector("tiny-image", {"epochs": 2})
    assert set(reports) == {"image"} and reports["image"]["passed"]
    assert reports["image"]["layout"] == "image"


def test_whole_scene_detector_through_the_fixture(check_detector):
    reports = check_detector("tiny-scene")  # pixelwise = False: exported through SceneGraph
    assert reports["cube"]["passed"] and reports["cube"]["shapes"] == [[16, 15, 6], [15, 14, 6]]


@pytest.fixture
def rows():
    return kit.make_data("tabular")[0]


# ---- detection: a constant, a random and an inverted score fail; RX passes ---------------------------------
class ScoredByScore(RX):
    def _fit(self, X, y):
        super()._fit(X, y)
        return None  # the base scores the training data with _score


class Constant(ScoredByScore):
    def _score(self, X):
        return np.zeros(X.shape[:-1])


class Random(ScoredByScore):
    def _score(self, X):
        return np.random.default_rng(0).random(X.shape[:-1])


class Inverted(ScoredByScore):
    def _score(self, X):
        return -super()._score(X)


@pytest.mark.parametrize("kind", ["tabular", "cube"])
def test_detection_passes_rx_and_fails_constant_random_and_inverted_scores(kind):
    X, y = kit.make_data(kind)
    assert kit.check_detection(RX().fit(X), X, y) > 0.99
    for toy, most in ((Constant, 0.5), (Random, 0.7), (Inverted, 0.01)):
        with pytest.raises(AssertionError, match="AUROC") as info:
            kit.check_detection(toy().fit(X), X, y)
        got = float(str(info.value).split("AUROC ")[1].split()[0])
        assert got <= most, f"{toy.__name__}: AUROC {got}"


def test_detection_on_images_fails_a_constant_image_score():
    X, y = kit.make_data("image")

    class Brightness(ScoredByScore):  # mean brightness of each image: sees the planted images (they are brighter by 3)
        kinds = ("image",)

        def _fit(self, X, y):
            return None

        def _score(self, X):
            return X.mean(axis=(1, 2, 3))

    class Flat(Brightness):
        def _score(self, X):
            return np.ones(X.shape[0])

    assert kit.check_detection(Brightness().fit(X), X, y) == 1.0
    with pytest.raises(AssertionError, match="AUROC 0.500"):
        kit.check_detection(Flat().fit(X), X, y)


def test_a_declared_blind_kind_is_reported_not_passed(rows):
    class Blind(Constant):
        capabilities = Capabilities(blind_to_planted={"tabular": "looks at spatial texture only"})

    kit.check_metadata(Blind)
    with pytest.raises(kit.NotChecked, match="spatial texture"):
        kit.check_detection(Blind().fit(rows), rows, kit.make_data("tabular")[1])

    class Undeclared(RX):
        capabilities = Capabilities(blind_to_planted={"image": "not a kind it accepts"})

    with pytest.raises(AssertionError, match="blind_to_planted"):
        kit.check_metadata(Undeclared)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # relative error against all zeros
def test_an_all_zero_detector_fails_the_plan(check_detector):
    class Zeros(Constant):
        name = "zeros"

    class Plugin:
        @had.hookimpl
        def register_detectors(self, register):
            register("zeros", Zeros)

    had.plugins.register_plugin(Plugin(), name="zeros-plugin")
    with pytest.raises(AssertionError, match="AUROC 0.500"):
        check_detector("zeros", kinds=("tabular",))
    # a known failure listed as such passes the plan; listed for a detector that passes, it is reported
    check_detector("zeros", kinds=("tabular",), expected_failures={"detection-tabular": "returns zeros",
                                                                   "onnx-tabular": "exports RX's graph"})
    with pytest.raises(AssertionError, match="detection-tabular passes: remove it"):
        check_detector("rx", kinds=("tabular",), expected_failures={"detection-tabular": "thought broken"})


# ---- training scores and per-sample scoring ----------------------------------------------------------------
def test_catches_training_scores_that_scoring_does_not_reproduce(rows):
    class Stale(RX):
        def _fit(self, X, y):
            super()._fit(X, y)
            return self._score(X) * 1.01  # returned training scores off by 1 %

    with pytest.raises(AssertionError, match="_fit returned"):
        kit.check_fit_score(Stale, rows)
    kit.check_fit_score(RX, rows)  # RX's own returned scores agree


def test_catches_scores_that_depend_on_the_batch(rows):
    class BatchNormed(ScoredByScore):  # standardises the scores over whatever batch it is given
        def _score(self, X):
            s = super()._score(X)
            return (s - s.mean()) / s.std()

    det = BatchNormed().fit(rows)
    kit.check_fit_score(BatchNormed, rows)  # the old check compared _score with itself: it passes
    with pytest.raises(AssertionError, match="depend on the other samples"):
        kit.check_per_sample(det, rows)
    kit.check_per_sample(RX().fit(rows), rows)


def test_catches_a_cube_map_that_differs_from_its_pixels():
    X, _ = kit.make_data("cube")

    class Centred(ScoredByScore):  # subtracts the mean score of a cube, not of rows
        def _score(self, X):
            s = super()._score(X)
            return s - s.mean() if X.ndim == 3 else s

    with pytest.raises(AssertionError, match="pixels scored as rows"):
        kit.check_per_sample(Centred().fit(X), X)


def test_catches_a_map_that_reads_beyond_its_tile_unless_the_context_is_declared():
    """A scene-wide scorer (here: each pixel's RX score plus the mean of the rows above and below it, a stand-in
    for a convolutional network) gives seams when scored tile by tile, unless it declares its `context_rows`."""
    from scipy.ndimage import uniform_filter1d

    X, _ = kit.make_data("cube")

    class Smoothed(ScoredByScore):
        context_rows = 0

        def _score(self, X):
            s = super()._score(X)
            return s + uniform_filter1d(s, size=3, axis=0, mode="reflect") if X.ndim == 3 else s

    with pytest.raises(AssertionError, match=r"tiles of 3 rows \(context_rows = 0\)"):
        kit.check_tiles(Smoothed().fit(X), X)
    Smoothed.context_rows = 1  # the filter reads one row each side
    kit.check_tiles(Smoothed().fit(X), X)
    kit.check_tiles(RX().fit(X), X)


def test_catches_scores_that_change_between_calls(rows):
    class Drifting(RX):
        calls = 0

        def _score(self, X):
            Drifting.calls += 1
            return super()._score(X) + 1e-3 * Drifting.calls

    with pytest.raises(AssertionError, match="scoring twice"):
        kit.check_per_sample(Drifting().fit(rows), rows)


class _Told(RX):
    """RX plus `weight` x the known label of each training sample (when scoring the training data): a detector
    whose fit sees the labels, through `Detector.fit` when it declares `uses_labels`, or by overriding fit."""

    weight = 100.0

    def fit(self, X, y=None):
        self.told_ = None if y is None else np.asarray(y, dtype=float).reshape(-1)
        return super().fit(X, y)

    def _score(self, X):
        scores = super()._score(X)
        told = getattr(self, "told_", None)
        return scores + self.weight * told if told is not None and told.size == scores.size else scores


def test_the_labels_check_passes_a_detector_that_ignores_labels_and_one_that_learns_from_them():
    X, y = kit.make_data("tabular")
    kit.check_labels(lambda: RX(), X, y)  # RX does not declare uses_labels and ignores y

    class Learns(_Told):
        uses_labels = True

    kit.check_labels(lambda: Learns(), X, y)


def test_the_labels_check_catches_labels_leaking_into_a_detector_that_does_not_declare_them():
    X, y = kit.make_data("tabular")
    with pytest.raises(AssertionError, match="does not declare uses_labels, yet the labels given to fit changed"):
        kit.check_labels(lambda: _Told(), X, y)


def test_the_labels_check_catches_a_detector_that_declares_labels_and_ignores_or_inverts_them():
    X, y = kit.make_data("tabular")

    class Deaf(RX):
        uses_labels = True

    with pytest.raises(AssertionError, match="declares uses_labels, but known labels did not change its fit"):
        kit.check_labels(lambda: Deaf(), X, y)

    class Contrary(_Told):
        uses_labels = True
        weight = -100.0

    with pytest.raises(AssertionError, match="ranks the anomalies it was told of lower"):
        kit.check_labels(lambda: Contrary(), X, y)


def test_catches_a_constant_feature_that_makes_scores_nan(rows):
    class Scaling(RX):  # divides by each feature's range, a dead band's (exactly 0) included
        def _score(self, X):
            X = np.asarray(X, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                return ((X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))).sum(axis=-1)

    kit.check_constant_feature(lambda: RX(), rows)
    with pytest.raises(AssertionError, match="a constant feature made fit refuse the data: no training score"):
        kit.check_constant_feature(lambda: Scaling(), rows)


def test_catches_an_internal_error_on_few_samples(rows):
    class Indexing(RX):  # reads a fourth row it was never given
        def _fit(self, X, known):
            _ = np.asarray(X)[3]
            return super()._fit(X, known)

    kit.check_few_samples(lambda: RX(), rows)  # fitted, or refused with a typed error
    with pytest.raises(AssertionError, match="3 samples made fit or scoring fail with IndexError"):
        kit.check_few_samples(lambda: Indexing(), rows)


def test_catches_a_detector_that_writes_into_the_callers_data(rows):
    import warnings

    import torch

    class Centring(RX):  # centres the training rows in place through a tensor sharing their memory
        def _fit(self, X, known):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # torch warns that the array is not writable, then writes
                t = torch.from_numpy(np.asarray(X))
            t -= t.mean(dim=0)
            return super()._fit(X, known)

    kit.check_fit_score(lambda: RX(), rows)
    with pytest.raises(AssertionError, match="wrote into the caller's data"):
        kit.check_fit_score(lambda: Centring(), rows)


# ---- one plan for the class suite and the fixture; ONNX not silently skipped -------------------------------
def test_class_suite_and_fixture_run_the_same_plan():
    ids = [c.id for c in plan(Subject("rx", kinds=("tabular", "cube")))]
    per_kind = ["fit_score", "per_sample", "detection", "deterministic", "save_load", "onnx", "bad_input"]
    per_cube = per_kind[:2] + ["tiles"] + per_kind[2:]
    assert ids == (["metadata", "config"] + [f"{c}-tabular" for c in per_kind] + [f"{c}-cube" for c in per_cube]
                   + ["deterministic_process-tabular", "labels-tabular", "constant_feature-tabular",
                      "few_samples-tabular"])

    class TestRX(DetectorSuite):
        detector = "rx"
        kinds = ("tabular", "cube")

    class Meta:
        fixturenames = ["kit_check"]

        def parametrize(self, name, values):
            self.values = values

    meta = Meta()
    TestRX().pytest_generate_tests(meta)
    assert meta.values == ids


def test_missing_onnxruntime_is_reported_in_the_summary(check_detector, monkeypatch):
    monkeypatch.setattr(kit, "onnx_runtime_missing", lambda: "onnxruntime not installed (pip install 'had[onnx]')")
    monkeypatch.setattr(testing, "NOT_CHECKED", [])
    reports = check_detector("rx", kinds=("tabular",))
    assert reports == {"tabular": None}
    assert testing.NOT_CHECKED == ["rx onnx-tabular: ONNX export parity not checked: onnxruntime not installed "
                                   "(pip install 'had[onnx]')"]

    lines = []

    class Reporter:
        def section(self, title):
            lines.append(f"== {title}")

        def write_line(self, line):
            lines.append(line)

    testing.pytest_terminal_summary(Reporter())
    assert lines == ["== had conformance kit: not checked", testing.NOT_CHECKED[0]]


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


def test_the_kit_fails_a_name_another_plugin_kept():
    """A plugin registering "rx" lost the name to the core's RX, and its kit then ran on the core's detector (with
    ``config={}`` it would have passed)."""
    import had
    from had import plugins
    from had_sdk.kit import check_config

    class Plugin:
        @staticmethod
        @had.hookimpl
        def register_detectors(register):
            from had.rx import RX

            register("rx", RX)

    plugins.register_plugin(Plugin, name="wants-rx")
    try:
        with pytest.raises(AssertionError, match="the registration of 'rx' was refused .*wants-rx"):
            check_config("rx", {})
    finally:
        plugins.unregister_plugin("wants-rx")
