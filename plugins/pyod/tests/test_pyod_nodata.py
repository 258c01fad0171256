"""The PyOD adapters, SSAD and the hybrids mask a cube's fill pixels (``nodata``, set by ``had fit`` from the file's
declared value) as RX and the torch detectors do: left out of the fit and the threshold, scored NaN, in the
eager scores and in the ONNX graph."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import had

pytest.importorskip("pyod")

FILL = -9999.0


def _scene():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 20, 5)) @ rng.normal(size=(5, 5)) + 10.0
    X[:, :3] = FILL  # a flight line's edge: no data
    X[12, 11] += 9.0
    return X


@pytest.mark.parametrize("fill", [FILL, float("nan")])  # NaN: float GeoTIFFs' usual nodata
@pytest.mark.parametrize("name", ["pyod-iforest", "pyod-knn", "pyod-ecod", "pyod-pca", "pyod-ocsvm", "pyod-gmm",
                                  "ssad"])
def test_fill_pixels_are_left_out_of_the_fit_and_score_nan(name, fill, tmp_path):
    # a NaN fill reached scikit-learn at scoring ("Input contains NaN", a traceback) for all but IForest and ECOD
    X = _scene()
    X[:, :3] = fill
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        det = had.get_detector(name, nodata=fill).fit(X)
        rows = X[:, 3:].reshape(-1, 5)  # the pixels with data, in order
        on_rows = had.get_detector(name).fit(rows)
    scores = det.decision_function(X)
    assert det.fill_pixels_ == 90 and np.isnan(scores[:, :3]).all() and np.isfinite(scores[:, 3:]).all()
    np.testing.assert_allclose(scores[:, 3:].reshape(-1), on_rows.decision_function(rows), rtol=1e-9)
    assert det.threshold_ == pytest.approx(on_rows.threshold_, rel=1e-9)  # the fill is not in the threshold
    assert np.nanargmax(scores) == 12 * 20 + 11 or name == "ssad"
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.fill_pixels_ == 90
    np.testing.assert_array_equal(np.isnan(back.decision_function(X)), np.isnan(scores))
    if name in ("pyod-knn", "pyod-pca"):  # graphs of their own kinds (skl2onnx, onnx.helper); IForest's float32
        # split thresholds are checked by its own tests
        from had.onnx_export import export
        from had.runtime import OnnxScorer

        assert export(tmp_path / "m", X)["passed"]
        onnx_scores = OnnxScorer(tmp_path / "m").score(X)
        assert np.isnan(onnx_scores[:, :3]).all() and np.isfinite(onnx_scores[:, 3:]).all()
        np.testing.assert_allclose(onnx_scores[:, 3:], scores[:, 3:], rtol=1e-3)


def test_without_nodata_the_fill_is_fitted_as_before():
    X = _scene()
    det = had.get_detector("pyod-iforest").fit(X)
    assert det.fill_pixels_ == 0 and np.isfinite(det.decision_function(X)).all()


def test_a_hybrid_leaves_the_fill_out_before_its_encoder():
    pytest.importorskip("had_deepsad")
    X = _scene()
    det = had.get_detector("hybrid-iforest", nodata=FILL, ae_epochs=2, hidden=[8], rep_dim=3).fit(X)
    scores = det.decision_function(X)
    assert det.fill_pixels_ == 90 and np.isnan(scores[:, :3]).all() and np.isfinite(scores[:, 3:]).all()
    assert det.inner_.config.nodata is None  # the inner model fits codes


def test_had_fit_sets_nodata_from_the_files_declared_value(tmp_path, capsys):
    save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi writes the ENVI file").save_envi
    from had.cli import main

    save_envi(tmp_path / "line.hdr", _scene().astype(np.float32), "bil", **{"data ignore value": FILL})
    try:
        main(["fit", "pyod-ecod", str(tmp_path / "line.hdr"), "-o", str(tmp_path / "m")])
    except SystemExit as done:
        assert done.code in (0, None), capsys.readouterr().err
    captured = capsys.readouterr()
    assert "masked the no-data value -9999 of line: 90 pixels" in captured.out + captured.err
    assert had.load(tmp_path / "m").config.nodata == FILL


@pytest.mark.parametrize("name", ["pyod-iforest", "pyod-knn", "pyod-gmm", "ssad"])
def test_fill_rows_of_pixel_rows_are_left_out_and_score_nan(name):
    """Pixel rows ``(N, B)`` with ``nodata``: the fill rows were fitted and scored as data here, while the torch
    detectors left them out (documented as cubes only); now as a cube's pixels: out of the fit, scored NaN, the
    other rows' scores those of a fit without them."""
    rows = _scene().reshape(-1, 5)
    fill = (rows == FILL).all(axis=1)
    det = had.get_detector(name, nodata=FILL, seed=3).fit(rows)
    scores = det.decision_function(rows)
    assert det.fill_pixels_ == int(fill.sum()) == 90
    assert np.isnan(scores[fill]).all() and np.isfinite(scores[~fill]).all()
    assert np.isnan(det.decision_scores_[fill]).all() and np.isfinite(det.decision_scores_[~fill]).all()
    clean = had.get_detector(name, seed=3).fit(rows[~fill])
    np.testing.assert_allclose(scores[~fill], clean.decision_function(rows[~fill]), rtol=1e-12)
    assert np.isfinite(det.threshold_) and det.predict(rows)[fill].sum() == 0


def test_a_hybrid_on_images_with_nodata_scores_as_without():
    """Images are left as they are (their fit leaves none out, nor does their ONNX graph): the rows' masking had
    reached them, zeroing an image line that held the fill across its width and scoring an all-fill image NaN
    while its training score was finite (review)."""
    pytest.importorskip("had_deepsad")
    images = np.random.default_rng(4).random((40, 1, 28, 28)).astype(np.float32)
    images[3, 0, 5] = -5.0
    images[7] = -5.0
    settings = {"ae_epochs": 2, "seed": 1, "device": "cpu"}
    plain = had.get_detector("hybrid-iforest", **settings).fit(images)
    masked = had.get_detector("hybrid-iforest", nodata=-5.0, **settings).fit(images)
    np.testing.assert_array_equal(masked.decision_function(images), plain.decision_function(images))
    np.testing.assert_array_equal(masked.decision_function(images), masked.decision_scores_)


def test_rows_that_are_all_fill_are_said_as_rows():
    """Was "... pixels hold the no-data value -9999 in every band", a cube's words, for a table's rows."""
    from had.errors import InvalidInputError

    rows = np.full((30, 4), FILL)
    rows[0] = 1.0
    with pytest.raises(InvalidInputError, match=r"^29 rows hold the no-data value -9999 in every column, which "
                                                r"leaves 1 to fit on"):
        had.get_detector("pyod-iforest", nodata=FILL).fit(rows)
