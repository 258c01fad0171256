"""API misuse a probe found silently wrong or ending in a bare Python error: a numpy masked array's mask dropped
(its fill fitted and scored as data), a ``pathlib.Path`` refused as a dataset, wrong-typed names, settings and
model paths (AttributeError/TypeError from deep inside), an unread ``.npz``'s every key in one error line, and a
``--set`` key with a space refused for a space the message could not show. Each is now a typed error with one
line saying what to do, or taken as meant."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import had
from had.cli import main
from had.cli_args import parse_settings, per_name
from had.errors import ConfigError, DataFileError, InvalidInputError


# ---- a masked array ---------------------------------------------------------------------------------------------
@pytest.fixture
def masked_scene():
    """A 40x40x6 scene whose first 8 rows are -9999 fill, masked (rasterio's ``read(masked=True)``), the same
    scene with the fill at the bottom, and the clean scene."""
    cube = np.random.default_rng(0).random((40, 40, 6))
    fill = cube.copy()
    fill[:8] = -9999.0
    top = np.broadcast_to((np.arange(40) < 8)[:, None, None], fill.shape)
    masked = np.ma.masked_array(fill, mask=top)
    bottom = np.ma.masked_array(fill[::-1].copy(), mask=top[::-1])  # a first row unmasked (RX checks it alone)
    return masked, bottom, cube


@pytest.mark.parametrize("name", ["rx", "pyod-pca"])  # RX's own one-pass fit and tiled scoring; the base class's
def test_a_masked_array_with_values_masked_is_refused_at_fit_and_scoring(name, masked_scene):
    """Was: the -9999 fill fitted and scored as data (another threshold, the masked pixels scored finite)."""
    masked, bottom, cube = masked_scene
    fitted = had.get_detector(name).fit(cube)
    for call in (lambda: had.get_detector(name).fit(masked), lambda: had.get_detector(name).fit(bottom),
                 lambda: had.get_detector(name).fit_predict(bottom), lambda: fitted.decision_function(masked),
                 lambda: fitted.decision_function(bottom), lambda: fitted.predict(bottom),
                 lambda: fitted.decision_function(bottom.reshape(-1, 6))):
        with pytest.raises(InvalidInputError, match=r"masked array with 1,920 masked value\(s\)") as info:
            call()
        assert "X.filled(np.nan)" in str(info.value) and "nodata='nan'" in str(info.value)


def test_the_route_a_masked_array_is_told_fits_as_the_unmasked_pixels(masked_scene):
    """The fix the refusal gives: ``X.filled(np.nan)`` with ``nodata='nan'`` fits the pixels not masked, as if the
    masked ones were not there, and scores the masked ones NaN."""
    masked, _, cube = masked_scene
    filled = masked.filled(np.nan)
    told = had.get_detector("rx", nodata="nan").fit(filled)
    clean = had.get_detector("rx").fit(cube[8:])
    assert told.threshold_ == pytest.approx(clean.threshold_, rel=1e-12)
    scores = told.decision_function(filled)
    assert np.isnan(scores[:8]).all()
    np.testing.assert_allclose(scores[8:], clean.decision_function(cube[8:]), rtol=1e-10)


@pytest.mark.parametrize("name", ["rx", "pyod-pca"])
def test_a_masked_array_with_nothing_masked_is_its_data(name, masked_scene):
    _, _, cube = masked_scene
    unmasked = np.ma.masked_array(cube, mask=False)
    plain = had.get_detector(name).fit(cube)
    given = had.get_detector(name).fit(unmasked)
    assert given.threshold_ == plain.threshold_
    np.testing.assert_array_equal(given.decision_function(unmasked), plain.decision_function(cube))
    np.testing.assert_array_equal(given.predict(unmasked), plain.predict(cube))


def test_a_masked_array_whose_masked_values_are_nan_is_taken_as_the_route_gives(masked_scene):
    """``np.ma.masked_invalid`` of a NaN-filled scene: the values under the mask are NaN already, what
    ``X.filled(np.nan)`` gives, so it fits as the filled array does (a review: the first refusal took it too)."""
    masked, _, _ = masked_scene
    filled = masked.filled(np.nan)
    given = had.get_detector("rx", nodata="nan").fit(np.ma.masked_invalid(filled))
    told = had.get_detector("rx", nodata="nan").fit(filled)
    assert given.threshold_ == told.threshold_
    np.testing.assert_array_equal(given.decision_function(np.ma.masked_invalid(filled)), told.decision_function(filled))


def test_a_masked_ground_truth_is_refused_with_a_fix_for_labels_too():
    """A metric's masked input: the line offers dropping the masked entries (not only a detector's route)."""
    y = np.ma.masked_array([0, 1, 0, 1], mask=[False, False, True, False])
    with pytest.raises(InvalidInputError, match="drop the masked entries first"):
        had.metrics.auroc(y, np.array([0.1, 0.9, 0.2, 0.8]))


def test_a_dataset_and_labels_refuse_a_mask_too(masked_scene):
    masked, _, cube = masked_scene
    with pytest.raises(InvalidInputError, match="dataset 'scene' is a masked array"):
        had.Dataset("scene", masked)
    truth = np.ma.masked_array(np.zeros((40, 40), dtype=int), mask=np.eye(40, dtype=bool))
    with pytest.raises(InvalidInputError, match="masked array"):
        had.Dataset("scene", cube, y=truth)


# ---- a pathlib.Path as a dataset --------------------------------------------------------------------------------
def test_load_dataset_takes_a_path_as_load_does(tmp_path):
    """Was: "invalid config for data source npy-file: path: Input should be a valid string", no path given."""
    X = np.random.default_rng(1).random((20, 20, 5))
    np.save(tmp_path / "cube.npy", X)
    for data in (had.load_dataset(tmp_path / "cube.npy"), had.load_dataset("npy-file", path=tmp_path / "cube.npy"),
                 had.load_dataset("npy-file", {"path": tmp_path / "cube.npy"})):
        np.testing.assert_array_equal(data.X, X)
        assert data.meta["path"] == str(tmp_path / "cube.npy")


# ---- wrong-typed names, settings and model paths ----------------------------------------------------------------
@pytest.mark.parametrize("call, said", [
    (lambda: had.get_detector("rx", "contamination=0.2"),
     r"detector rx: settings must be a dict or keyword arguments, got str 'contamination=0.2' .*keyword argument"),
    (lambda: had.get_detector("rx", [("seed", 1)]), r"settings must be a dict or keyword arguments, got list"),
    (lambda: had.load_dataset("npy-file", "x.npy"), r"data source npy-file: settings must be a dict .*got str"),
    (lambda: had.get_detector(5), r"expected a detector name \(str\), got int 5; `had list detectors`"),
    (lambda: had.load_dataset(5), r"expected a dataset name or the path of a data file \(str or pathlib.Path\), "
                                  r"got int 5"),
    (lambda: had.get_datasource(["rx"]), r"expected a dataset name .*got list \['rx'\]"),
    (lambda: had.get_metric(None), r"expected a metric name \(str\), got NoneType None"),
])
def test_a_wrong_typed_name_or_settings_is_a_config_error(call, said):
    """Were: AttributeError 'str' object has no attribute 'model_dump'; TypeError from difflib."""
    with pytest.raises(ConfigError, match=said):
        call()


@pytest.mark.parametrize("path", [None, 5, b"model"])
def test_a_model_path_that_is_not_a_path_is_invalid_input(path, tmp_path):
    """Was: TypeError from pathlib ("expected str, bytes or os.PathLike object, not NoneType")."""
    with pytest.raises(InvalidInputError, match=r"expected the path of a model folder \(str or pathlib.Path\), got"):
        had.load(path)
    fitted = had.get_detector("rx").fit(np.random.default_rng(2).random((50, 3)))
    with pytest.raises(InvalidInputError, match="the path of a model folder"):
        had.save(fitted, path)
    had.save(fitted, tmp_path / "m")  # a Path still names one
    assert had.load(pathlib.Path(tmp_path / "m")).threshold_ == fitted.threshold_


def test_a_settings_model_is_still_taken():
    given = had.get_detector("rx", had.get_detector("rx", seed=4).config, contamination=0.2)
    assert (given.config.seed, given.config.contamination) == (4, 0.2)
    from types import MappingProxyType

    assert had.get_detector("rx", MappingProxyType({"seed": 3})).config.seed == 3  # any mapping, as a dict


# ---- an unread .npz of many arrays ------------------------------------------------------------------------------
def test_an_unread_file_lists_ten_of_its_keys(tmp_path):
    """Was: every key of an .npz of 3,000 arrays in one 26 KB error line."""
    from had.dataset_arg import unread_file_error

    np.savez(tmp_path / "many.npz", **{f"a{i:04d}": np.zeros(2) for i in range(3000)})
    said = str(unread_file_error(tmp_path / "many.npz"))
    assert "(its keys are ['a0000', 'a0001', " in said and "'a0009', ... and 2,990 more])" in said
    assert "'a0010'" not in said and len(said) < 1000
    np.savez(tmp_path / "few.npz", x=np.zeros(2), y=np.ones(2))
    assert "(its keys are ['x', 'y'])" in str(unread_file_error(tmp_path / "few.npz"))
    assert isinstance(unread_file_error(tmp_path / "few.npz"), DataFileError)


# ---- a --set key with spaces ------------------------------------------------------------------------------------
def test_spaces_around_a_setting_s_key_and_value_are_dropped():
    """Was: `--set "contamination = 0.2"` refused as "contamination : Extra inputs are not permitted (did you mean
    contamination?)", the space unseen; the value's spaces were already dropped by JSON (` 0.2` is 0.2)."""
    assert parse_settings(("contamination = 0.2", " threshold= otsu ")) == {"contamination": 0.2, "threshold": "otsu"}
    assert parse_settings(('name=" x "',)) == {"name": " x "}  # spaces that matter: a JSON string
    assert per_name(("rx . seed = 2",), "--set DETECTOR") == {"rx": {"seed": 2}}
    with pytest.raises(Exception, match="is not key=value"):
        parse_settings((" = 1",))


def test_had_fit_takes_a_setting_written_with_spaces(tmp_path):
    np.save(tmp_path / "cube.npy", np.random.default_rng(3).random((20, 20, 5)))
    main(["fit", "rx", str(tmp_path / "cube.npy"), "-o", str(tmp_path / "m"), "--set", "contamination = 0.2",
          "--set", "threshold = otsu"])
    config = had.load(tmp_path / "m").config
    assert (config.contamination, config.threshold) == (0.2, "otsu")


def test_a_name_setting_given_twice_with_spaces_is_refused_as_twice():
    """``rx.seed=1`` and ``rx . seed=2`` name one field once stripped: refused as given twice (the review: the
    second was kept without a word), and the same value twice passes."""
    import click

    with pytest.raises(click.BadParameter, match=r"rx\.seed is given twice"):
        per_name(("rx.seed=1", "rx . seed=2"), "--set")
    assert per_name(("rx.seed=1", "rx . seed=1"), "--set") == {"rx": {"seed": 1}}
