"""A bandwidth that is not finite or not above 0 (``inf``, ``nan``, ``0``, ``-1``) is refused at the config in one
line that says which it is and what to give, for pyod-kde and hybrid-kde, as ``bandwidth`` and as a
``bandwidth_grid`` value: it was pydantic's line for each member of ``PositiveFloat | 'gridsearch'``
("bandwidth.constrained-float: Input should be a finite number; bandwidth.literal['gridsearch']: Input should be
'gridsearch'"), which named neither the bandwidth's bounds nor a value to give, while a loaded artifact's
non-finite bandwidth is refused in words. ``gridsearch`` and positive numbers are taken as before."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError, HadError
from had_sdk.testing import run_cli

FIX = ("a bandwidth must be a finite number of at least 2**-511 (1.49e-154); give a bandwidth near the spacing of "
       "the rows (e.g. 1.0 for data scaled to unit spread) or 'gridsearch'")


@pytest.mark.parametrize("typed,said", [("inf", "inf is not finite"), ("Infinity", "inf is not finite"),
                                        ("nan", "nan is not a number"), ("0", "0 is not above 0"),
                                        ("-1", "-1 is not above 0"), ("-inf", "-inf is not above 0")])
def test_the_cli_refuses_the_bandwidth_in_one_line(capsys, tmp_path, typed, said):
    model = tmp_path / "m"
    code, out, err = run_cli(capsys, "fit", "pyod-kde", "cardio", "--set", f"bandwidth={typed}", "-o", model)
    assert code == 2
    assert err == f"error: invalid config for detector pyod-kde: bandwidth: Value error, {said}: {FIX}\n"
    assert out == ""
    assert not model.exists()


@pytest.mark.parametrize("name", ["pyod-kde", "hybrid-kde"])
@pytest.mark.parametrize("value,said", [(float("inf"), "inf is not finite"), (np.float64("nan"), "nan is not a number"),
                                        (0, "0 is not above 0"), (-2.5, "-2.5 is not above 0"),
                                        ("inf", "inf is not finite")])
def test_the_config_refuses_a_bandwidth_not_finite_or_not_positive(name, value, said):
    try:
        had.get_detector(name)
    except had.errors.UnknownNameError:
        pytest.skip(f"{name} is not installed")
    with pytest.raises(ConfigError) as info:
        had.get_detector(name, bandwidth=value)
    assert str(info.value) == f"invalid config for detector {name}: bandwidth: Value error, {said}: {FIX}"


def test_a_grid_value_not_finite_or_not_positive_is_refused():
    for grid, said in (([1.0, float("inf")], "inf is not finite"), ([0.0, 2.0], "0.0 is not above 0")):
        with pytest.raises(ConfigError) as info:
            had.get_detector("pyod-kde", bandwidth_grid=grid)
        assert str(info.value) == (
            f"invalid config for detector pyod-kde: bandwidth_grid: Value error, {said}: a bandwidth_grid value must "
            "be a finite number of at least 2**-511 (1.49e-154); give a bandwidth near the spacing of the rows (e.g. "
            "1.0 for data scaled to unit spread)")


def test_gridsearch_and_positive_bandwidths_are_still_taken():
    assert had.get_detector("pyod-kde").config.bandwidth == "gridsearch"
    assert had.get_detector("pyod-kde", bandwidth="gridsearch").config.bandwidth == "gridsearch"
    assert had.get_detector("pyod-kde", bandwidth=2).config.bandwidth == 2.0
    assert had.get_detector("pyod-kde", bandwidth="0.5").config.bandwidth == 0.5
    assert had.get_detector("pyod-kde", bandwidth_grid=[0.5, 3]).config.bandwidth_grid == [0.5, 3.0]
    X = np.random.default_rng(0).normal(size=(60, 3))
    X[0] += 8.0  # one row far from the others
    det = had.get_detector("pyod-kde", bandwidth=1.0).fit(X)
    assert det.bandwidth_ == 1.0
    scores = det.decision_scores_
    assert np.isfinite(scores).all() and int(np.argmax(scores)) == 0


def test_the_cli_fits_with_a_typed_bandwidth(capsys, tmp_path):
    try:
        had.load_dataset("cardio")
    except HadError as exc:
        pytest.skip(f"cardio is not available: {exc}")
    model = tmp_path / "m"
    code, out, err = run_cli(capsys, "fit", "pyod-kde", "cardio", "--set", "bandwidth=1.5", "-o", model)
    assert code == 0, err
    assert out.startswith("fitted pyod-kde on cardio: tabular 1831x21")
    assert had.load(model).bandwidth_ == 1.5
