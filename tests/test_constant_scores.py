"""A fit whose training scores are all equal says so in the Python API too (a ConstantScoresWarning); `had fit`
gave a note, `fit()` nothing: pyod-iforest on rows at the 1e-8 scale scored every row 0.0, flagged none."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import had
from had.errors import ConstantScoresWarning


def test_the_api_warns_where_the_cli_notes(tmp_path):
    pytest.importorskip("had_pyod")
    rows = np.random.default_rng(0).normal(size=(60, 5)) * 1e-8
    with pytest.warns(ConstantScoresWarning, match="every training score equals 0: pyod-iforest separates nothing"):
        had.get_detector("pyod-iforest").fit(rows)
    with _no_warning():
        had.get_detector("pyod-iforest").fit(rows * 1e8)  # the same rows at unit scale: scores that differ
    np.save(tmp_path / "tiny.npy", rows)
    run = subprocess.run([sys.executable, "-m", "had.cli", "fit", "pyod-iforest", str(tmp_path / "tiny.npy"), "-o",
                          str(tmp_path / "m")], capture_output=True, text=True)
    assert run.returncode == 0 and "note: every training score equals 0" in run.stdout
    assert "ConstantScoresWarning" not in run.stderr  # the note, once, not the warning beside it


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error", ConstantScoresWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        return False


def test_training_data_all_equal_is_said_as_such_not_as_a_scale():
    """Was: a blank scene (every pixel the same) got "the data's scale may be far from what its settings assume:
    rescale it" from every detector, and pyod-pca scikit-learn's "invalid value encountered in divide" on stderr,
    then "900 of 900 scores are NaN"."""
    blank = np.full((30, 30, 4), 7.0)
    with pytest.warns(ConstantScoresWarning, match=r"equals 0: the 900 training samples are all equal \(no feature "
                                                   r"varies\): rx has nothing to learn; check the data"):
        had.get_detector("rx").fit(blank)
    if "pyod-pca" in had.plugins.registry()["detector"]:
        from had.errors import InvalidInputError

        with pytest.raises(InvalidInputError, match="the 900 training samples are all equal .*pyod-pca has nothing"):
            had.get_detector("pyod-pca").fit(blank)
    from had.validation import all_rows_equal

    varied = blank.copy()
    varied[5, 5, 2] = 8.0
    assert all_rows_equal(blank) and not all_rows_equal(varied)
    assert all_rows_equal(np.vstack([np.full((1, 3), np.nan), np.ones((4, 3))]))  # NaN rows (no data) aside


def test_two_training_rows_are_said_as_too_few_not_as_a_scale():
    """Was: rx fitted on two rows (both at the same distance from their mean) was told to rescale its data."""
    rows = np.random.default_rng(0).normal(size=(2, 6))
    with pytest.warns(ConstantScoresWarning, match="equals 0.5: rx was fitted on 2 samples, which any model scoring "
                                                   "by distance places alike: fit on more samples"):
        had.get_detector("rx").fit(rows)


@pytest.mark.parametrize("shape", [(5, 20), (3, 4), (3, 3, 20)])
def test_no_more_samples_than_features_is_said_as_such_not_as_a_scale(shape):
    """Was: rx on 5 rows of 20 features (every score (n - 1)^2 / n) was told "the data's scale may be far from what
    its settings assume ... rescale it" (a numeric-edge audit)."""
    X = np.random.default_rng(0).normal(size=shape)
    samples, features = int(np.prod(shape[:-1])), shape[-1]
    with pytest.warns(ConstantScoresWarning, match=f"rx was fitted on {samples} samples of {features} features, no "
                                                   "more samples than features") as said:
        had.get_detector("rx").fit(X)
    assert not any("rescale" in str(w.message) for w in said)
