"""What a plugin's scores must be, checked by the core (found by a plugin author's audit, 5 December 2026):
one score per sample (a wrong count was saved by `had fit`, then a reshape traceback in `had score`; `(N, 2)`
scores were flattened into 2N training scores; `had bench` blamed the labels), no NaN outside the data's fill
(`had fit` measured and saved such a model; `had score` counted the NaN as no-data pixels and measured the
rest), and config errors that name the registered detector (they named the Python class, and a `had describe`
of it that fails)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import Field
from test_reliability_cli import assert_one_line, run_cli

import had
from had import Detector, DetectorConfig, plugins
from had.errors import ConfigError, InvalidInputError, PluginError


class _Distance(Detector):
    """Distance to the training mean, with one defect chosen by the subclass."""

    kinds = ("tabular", "cube")

    def _fit(self, X, y):
        self.mean_ = np.asarray(X, dtype=np.float64).reshape(-1, np.shape(X)[-1]).mean(axis=0)
        return None

    def _distance(self, X):
        rows = np.asarray(X, dtype=np.float64)
        return np.linalg.norm(rows.reshape(-1, rows.shape[-1]) - self.mean_, axis=1)

    def _get_state(self):
        return {"mean": self.mean_}

    def _set_state(self, state):
        self.mean_ = state["mean"]


class OneShort(_Distance):
    def _score(self, X):
        return self._distance(X)[:-1]


class TwoColumns(_Distance):
    def _score(self, X):
        d = self._distance(X)
        return np.stack([d, d], axis=1)


class FlatMap(_Distance):
    def _score(self, X):  # a cube's scores as (H * W,): taken, reshaped to (H, W)
        return self._distance(X)


class NaNFar(_Distance):
    def _score(self, X):  # fails (NaN) on rows far from the training mean: none of the training rows
        d = self._distance(X)
        return np.where(d > 6.0, np.nan, d)


class NaNAlways(_Distance):
    def _score(self, X):
        d = self._distance(X)
        d[::7] = np.nan
        return d


class NamelessConfig(DetectorConfig):
    k: int = Field(1, ge=1)


class Nameless(_Distance):
    Config = NamelessConfig
    name = None  # the registry gives it its name

    def _score(self, X):
        return self._distance(X)


class ScoresPlugin:
    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        for name, cls in (("one-short", OneShort), ("two-columns", TwoColumns), ("nan-far", NaNFar),
                          ("nan-always", NaNAlways), ("nameless-det", Nameless), ("flat-map", FlatMap)):
            register(name, cls)


@pytest.fixture(autouse=True)
def registered():
    plugins.register_plugin(ScoresPlugin, name="scores-plugin")
    yield
    plugins.unregister_plugin("scores-plugin")


@pytest.fixture
def rows():
    return np.random.default_rng(0).normal(size=(200, 4))


@pytest.mark.parametrize("name, said", [("one-short", "199 scores (shape (199,))"),
                                        ("two-columns", "400 scores (shape (200, 2))")])
def test_a_wrong_number_of_scores_is_the_plugins_defect_said_at_fit(rows, name, said):
    with pytest.raises(PluginError) as raised:
        had.get_detector(name).fit(rows)
    assert str(raised.value).startswith(f"{name}'s fit gave {said} for 200 samples (expected shape (200,)): a "
                                        f"defect of the plugin that provides {name}")


def test_a_wrong_number_of_scores_at_scoring_too(rows):
    det = had.get_detector("one-short")
    det.mean_ = rows.mean(axis=0)
    with pytest.raises(PluginError, match=r"^one-short's _score gave 49 scores \(shape \(49,\)\) for 50 samples"):
        det._scores_of(rows[:50], det._score(rows[:50]), "_score")


def test_a_cubes_scores_as_one_vector_become_its_map():
    cube = np.random.default_rng(1).normal(size=(6, 5, 3))
    det = had.get_detector("flat-map").fit(cube)
    assert det.decision_function(cube).shape == (6, 5) and det.decision_scores_.shape == (30,)
    np.testing.assert_allclose(det.decision_function(cube).reshape(-1), det.decision_scores_)


def test_had_fit_refuses_and_writes_nothing(capsys, tmp_path, rows):
    np.save(tmp_path / "rows.npy", rows)
    code, _, err = run_cli(capsys, "fit", "two-columns", str(tmp_path / "rows.npy"), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "two-columns's fit gave 400 scores", "a defect of the plugin")
    assert not (tmp_path / "m").exists()


def test_nan_training_scores_are_refused_at_fit(capsys, tmp_path, rows):
    with pytest.raises(InvalidInputError, match=r"^29 of 200 scores are NaN on samples that are not the data's fill "
                                                 r"\(no-data value\): nan-always failed on them"):
        had.get_detector("nan-always").fit(rows)
    np.save(tmp_path / "rows.npy", rows)
    code, _, err = run_cli(capsys, "fit", "nan-always", str(tmp_path / "rows.npy"), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "scores are NaN")
    assert not (tmp_path / "m").exists()


def test_nan_scores_of_new_rows_are_refused_by_had_score(capsys, tmp_path, rows):
    """Were: "(1 no-data pixels, scored NaN)" and the AUROC of the other rows."""
    other = rows.copy()
    other[5] += 50.0  # far from the training mean: the detector fails there
    labels = np.zeros(200, dtype=np.int64)
    labels[5] = 1
    np.save(tmp_path / "rows.npy", rows)
    np.save(tmp_path / "other.npy", other)
    np.save(tmp_path / "labels.npy", labels)
    model = str(tmp_path / "m")
    code, _, err = run_cli(capsys, "fit", "nan-far", str(tmp_path / "rows.npy"), "-o", model)
    assert code == 0, err
    code, out, err = run_cli(capsys, "score", model, str(tmp_path / "other.npy"), "--data",
                             f"labels={tmp_path / 'labels.npy'}", "-o", str(tmp_path / "s.csv"))
    assert_one_line(code, err, "1 of 200 scores are NaN", "nan-far failed on them")
    assert "auroc" not in out and not (tmp_path / "s.csv").exists()


def test_a_config_error_names_the_registered_detector():
    with pytest.raises(ConfigError, match=r"invalid config for detector nameless-det: zz: Extra inputs are not "
                                          r"permitted \(`had describe nameless-det` lists the fields\)"):
        had.get_detector("nameless-det", zz=1)
    with pytest.raises(ConfigError, match=r"detector nameless-det"):
        had.get_detector("nameless-det", k=0)


def test_nan_scores_of_a_scene_scored_tile_by_tile_are_refused_and_no_map_is_left(capsys, tmp_path):
    save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads ENVI scenes").save_envi
    cube = np.random.default_rng(2).normal(size=(12, 10, 4))
    far = cube.copy()
    far[3, 4] += 50.0
    np.save(tmp_path / "cube.npy", cube)
    save_envi(tmp_path / "far.hdr", far.astype(np.float32), "bil")
    model = str(tmp_path / "m")
    code, _, err = run_cli(capsys, "fit", "nan-far", str(tmp_path / "cube.npy"), "-o", model)
    assert code == 0, err
    code, _, err = run_cli(capsys, "score", model, str(tmp_path / "far.hdr"), "-o", str(tmp_path / "map.npy"))
    assert_one_line(code, err, "1 of ", "scores are NaN", "nan-far failed on them")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.npy", "far.hdr", "far.img", "m"]


def test_data_of_the_other_kind_gets_the_way_to_score_it():
    """A raster-file (images) model given the .tif itself said "fitted on image data, got cube data" alone."""
    from had.detector import Detector

    det = had.get_detector("rx").fit(np.random.default_rng(3).normal(size=(40, 4)))
    det.input_spec_ = {**det.input_spec_, "kind": "image", "sample_shape": [4, 8, 8]}
    with pytest.raises(InvalidInputError, match=r"fitted on image data, got cube data of shape \(6, 5, 4\); it "
                                                r"takes images \(N, C, H, W\): .*raster-file --data path=FILE"):
        Detector._check_shape(det, np.zeros((6, 5, 4)))


class ColumnScores(_Distance):
    def _score(self, X):  # a network's (N, 1) column
        return self._distance(X)[:, None]


def test_a_column_of_scores_is_taken_as_one_score_per_sample(rows):
    plugins.register_plugin(type("ColumnPlugin", (), {"register_detectors": staticmethod(
        had.hookimpl(lambda register: register("column-scores", ColumnScores)))}), name="column-plugin")
    try:
        det = had.get_detector("column-scores").fit(rows)
        assert det.decision_scores_.shape == (200,) and det.decision_function(rows[:5]).shape == (5,)
    finally:
        plugins.unregister_plugin("column-plugin")


def test_nan_scores_of_images_are_checked_image_by_image():
    """Was: a broadcast ValueError traceback for images (N, C, h, w): the fill mask reduced the last axis only."""
    from had.nodata import check_nan_scores

    images = np.random.default_rng(4).normal(size=(4, 3, 2, 2))
    images[0] = -9999.0  # an image of fill: its NaN score is no failure
    scores = np.array([np.nan, 1.0, 2.0, 3.0])
    check_nan_scores(scores, images, -9999.0)
    scores[2] = np.nan
    with pytest.raises(InvalidInputError, match=r"^1 of 4 scores are NaN"):
        check_nan_scores(scores, images, -9999.0)


def test_infinite_scores_are_refused_wherever_they_are():
    """Was: a bench cell with -inf on some test rows had its metrics left empty, and the grid's table averaged the
    other seeds under a seed count that included it."""
    from had.nodata import check_nan_scores

    rows = np.zeros((5, 2))
    with pytest.raises(InvalidInputError, match=r"^1 of 5 scores are infinite: inf-det failed on them"):
        check_nan_scores(np.array([0.0, 1.0, -np.inf, 2.0, 3.0]), rows, None, who="inf-det")


def test_nan_on_the_files_declared_fill_is_no_failure_in_memory_either(tmp_path, rows):
    """The tiled path took NaN on the file's declared fill pixels; the in-memory path refused them."""
    from had.score_data import score_dataset

    model = tmp_path / "m"
    had.save(had.get_detector("nan-far").fit(rows), model)
    scored = rows.copy()
    scored[:3] = -9999.0  # the file's fill rows: far from the mean, scored NaN by this detector
    scores, *_ = score_dataset(str(model), scored, "eager", declared=-9999.0)
    assert np.isnan(scores[:3]).all() and np.isfinite(scores[3:]).all()
    with pytest.raises(InvalidInputError, match=r"^3 of 200 scores are NaN"):
        score_dataset(str(model), scored, "eager")


class InfFar(_Distance):
    def _score(self, X):  # infinite on rows far from the training mean: none of the training rows
        d = self._distance(X)
        return np.where(d > 6.0, np.inf, d)


def test_infinite_scores_of_a_scene_scored_tile_by_tile_are_refused(capsys, tmp_path):
    """Tile by tile the check ran only where a tile held NaN, so infinite scores went into the map."""
    save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads ENVI scenes").save_envi
    plugins.register_plugin(type("InfPlugin", (), {"register_detectors": staticmethod(
        had.hookimpl(lambda register: register("inf-far", InfFar)))}), name="inf-plugin")
    try:
        cube = np.random.default_rng(2).normal(size=(12, 10, 4))
        far = cube.copy()
        far[3, 4] += 50.0
        np.save(tmp_path / "cube.npy", cube)
        save_envi(tmp_path / "far.hdr", far.astype(np.float32), "bil")
        code, _, err = run_cli(capsys, "fit", "inf-far", str(tmp_path / "cube.npy"), "-o", str(tmp_path / "m"))
        assert code == 0, err
        code, _, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "far.hdr"), "-o",
                               str(tmp_path / "map.npy"))
        assert_one_line(code, err, "1 of ", "scores are infinite", "inf-far failed on them")
        assert not (tmp_path / "map.npy").exists()
    finally:
        plugins.unregister_plugin("inf-plugin")
