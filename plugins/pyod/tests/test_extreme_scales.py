"""Data whose squares leave float64 (values beyond 1e150, or all below 1e-150: a float file read with the wrong
byte order often looks like this) gets one typed line from every row model that squares its values; before,
PyOD and scikit-learn failed inside (kNN's reshape ValueError, PCA's LinAlgError, OSQP's exception for SSAD) or
scored NaN. IForest, whose trees split float32 values, refuses data beyond float32's range (it used to isolate
nothing: every value infinite)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import InvalidInputError

pytest.importorskip("pyod")

SQUARING = ["pyod-ocsvm", "pyod-knn", "pyod-kde", "pyod-ecod", "pyod-pca", "pyod-gmm", "ssad"]


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).random((120, 5))


@pytest.mark.parametrize("name", SQUARING)
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_squaring_models_refuse_data_whose_squares_leave_float64(name, scale, rows):
    beyond = r"beyond 3e\+150" if scale > 1 else r"all below 3e-151"
    with pytest.raises(InvalidInputError, match=f"{name} computes squares of the values.*data {beyond}.*"
                                                 "multiply by a constant"):
        had.get_detector(name).fit(rows * scale)


@pytest.mark.parametrize("name", ["pyod-ocsvm", "pyod-knn", "pyod-ecod", "pyod-pca", "ssad"])
def test_the_bounds_leave_ordinary_scales_alone(name, rows):
    # 1e100 and 1e-100 square inside float64: fitted, and these scale-free models rank as at unit scale
    # (KDE's bandwidth grid and GMM's reg_covar are absolute: they need data near unit scale anyway)
    unit = had.get_detector(name).fit(rows).decision_scores_
    for scale in (1e100, 1e-100):
        scores = had.get_detector(name).fit(rows * scale).decision_scores_
        assert np.isfinite(scores).all()
        assert np.corrcoef(np.argsort(np.argsort(scores)), np.argsort(np.argsort(unit)))[0, 1] > 0.99


def test_iforest_refuses_data_beyond_float32_and_fits_within(rows):
    with pytest.raises(InvalidInputError, match=r"pyod-iforest splits the values in float32.*beyond 1e\+36"):
        had.get_detector("pyod-iforest").fit(rows * 1e300)
    unit = had.get_detector("pyod-iforest", seed=3).fit(rows).decision_scores_
    large = had.get_detector("pyod-iforest", seed=3).fit(rows * 2.0**100).decision_scores_
    np.testing.assert_allclose(large, unit, rtol=1e-6)


@pytest.mark.parametrize("name", ["pyod-ecod", "pyod-knn"])
def test_scoring_data_beyond_the_range_is_refused_too(name, rows):
    # fitted at unit scale, scored on a file at 1e300: ECOD scored NaN (had's no-data mark), PyOD's AutoEncoder
    # raised scikit-learn's "Input contains infinity"
    det = had.get_detector(name).fit(rows)
    with pytest.raises(InvalidInputError, match=f"{name} computes squares of the values.*beyond"):
        det.decision_function(rows * 1e300)
    assert np.isfinite(det.decision_function(rows * 1e100)).all()


def test_an_rbf_gamma_beyond_float32_fits_without_a_bare_numpy_warning(rows):
    """OC-SVM on rows at the 1e-100 scale: gamma ~1e200 does not fit float32, and skl2onnx's cast of it used to
    print numpy's bare "overflow encountered in cast" during the fit; the fit is silent and the eager scores rank
    as at unit scale (the ONNX export is refused by its parity check instead)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        det = had.get_detector("pyod-ocsvm").fit(rows * 1e-100)
    assert np.isfinite(det.decision_scores_).all() and np.ptp(det.decision_scores_) > 0


@pytest.mark.parametrize("offset", [1e10, 1e12])
def test_kernels_do_not_move_with_a_far_common_offset(offset):
    """Rows at 1e10 + N(0, 1): SSAD's RBF kernel, expanded about the origin, cancelled and was not positive
    semi-definite (an OSQPException traceback); the median gamma heuristic (SSAD, OC-SVM) was garbage. Distances do
    not move with the rows: new rows score at the offset as at the origin, the far one first."""
    from had_pyod.heuristics import rbf_gamma

    rng = np.random.default_rng(0)
    rows, new = rng.normal(size=(60, 5)), rng.normal(size=(20, 5))
    new[3] += 10.0
    assert rbf_gamma(rows + offset) == pytest.approx(rbf_gamma(rows), rel=1e-3)  # the rows themselves round at 1e12
    near = had.get_detector("ssad").fit(rows).decision_function(new)
    far = had.get_detector("ssad").fit(rows + offset).decision_function(new + offset)
    assert int(np.argmax(far)) == int(np.argmax(near)) == 3
    assert np.corrcoef(far, near)[0, 1] > 0.999  # the rest as well, up to the rows' own rounding at 1e12
