"""RX with a fill value (``nodata``, :mod:`had.nodata`): the pixels around a flight line's footprint that hold
the file's no-data value in every band are left out of the mean, the covariance and the threshold, and scored
NaN, by the eager code and by the ONNX graph; the fit equals RX on the other pixels alone."""

from __future__ import annotations

import numpy as np
import pytest

import had.tiling
from had import nodata
from had.errors import InvalidInputError
from had.rx import RX


@pytest.fixture
def footprint(correlated_scene):
    """conftest's correlated 61x37x12 scene inside a slanted footprint: the pixels outside hold -9999 in every
    band (a flight line's fill), and `inside` says which pixels are the scene's."""
    rows, cols = np.mgrid[:61, :37]
    inside = (cols + 0.4 * rows > 6) & (cols + 0.4 * rows < 48)
    X = correlated_scene.copy()
    X[~inside] = -9999.0
    return X, inside


def test_the_fit_is_rx_on_the_footprint_alone_and_fill_is_scored_nan(footprint):
    X, inside = footprint
    masked = RX(nodata=-9999.0).fit(X)
    alone = RX().fit(X[inside])  # the footprint's pixels as rows: what a user who cropped them would fit
    assert masked.fill_pixels_ == int((~inside).sum()) > 200
    np.testing.assert_allclose(masked.mean_, alone.mean_, rtol=1e-12)
    np.testing.assert_allclose(masked.whitening_, alone.whitening_, rtol=1e-9, atol=1e-12)
    assert masked.threshold_ == pytest.approx(alone.threshold_, rel=1e-9)  # the quantile of the footprint's scores
    scores = masked.decision_function(X)
    assert np.isnan(scores[~inside]).all()
    np.testing.assert_allclose(scores[inside], alone.decision_function(X[inside]), rtol=1e-9)
    assert np.isnan(masked.decision_scores_.reshape(61, 37)[~inside]).all()
    labels = masked.fit_predict(X)
    assert labels.shape == (61, 37) and not labels[~inside].any()
    assert labels[inside].sum() == pytest.approx(0.1 * inside.sum(), abs=2)  # contamination of the footprint
    # unmasked, the fill is one point far from the rest that the mean and covariance are pulled to
    unmasked = RX().fit(X)
    assert np.abs(unmasked.mean_ - alone.mean_).max() > 1000.0


def test_nan_fill_is_fitted_and_a_nan_inside_the_footprint_is_still_refused(footprint):
    """A GeoTIFF whose no-data value is NaN (common for float rasters) could not be fitted at all before."""
    X, inside = footprint
    X = np.where(inside[..., None], X, np.nan).astype(np.float32)
    with pytest.raises(InvalidInputError, match="NaN"):
        RX().fit(X)
    rx = RX(nodata="nan").fit(X)
    np.testing.assert_allclose(rx.mean_, RX().fit(X[inside]).mean_, rtol=1e-12)
    assert np.isnan(rx.decision_function(X)[~inside]).all() and np.isfinite(rx.decision_function(X)[inside]).all()
    broken = X.copy()
    broken[30, 20, 3] = np.nan  # one band of one pixel inside: bad data, not fill
    assert inside[30, 20]
    with pytest.raises(InvalidInputError, match="1 NaN"):
        RX(nodata="nan").fit(broken)
    with pytest.raises(InvalidInputError, match="1 NaN"):
        rx.decision_function(broken)


def test_a_pixel_is_fill_only_when_every_band_holds_the_value():
    """A real spectrum with one band at the value (a zeroed water-absorption band) is kept."""
    block = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    assert nodata.fill_pixels(block, 0.0).tolist() == [True, False, False]
    assert nodata.fill_pixels(block, None).tolist() == [False, False, False]
    assert nodata.fill_pixels(np.array([[np.nan, np.nan], [np.nan, 1.0]]), np.nan).tolist() == [True, False]
    assert nodata.declared({"nodata": -9999}) == -9999.0 and nodata.declared({"data_ignore_value": [0.0]}) == 0.0
    assert nodata.declared({"data_ignore_value": [0.0, -1.0]}) is None and nodata.declared({}) is None


def test_pixels_holding_the_value_in_some_bands_are_counted_with_their_bands(tmp_path, footprint):
    """A stack of layers with different footprints: pixels where bands 2-3 lack data hold -9999 there and real
    values elsewhere. They stay data (see above), but the fit counts them and names the bands, the count travels
    with the artifact, and the line saying so names both; a scene without them has no such record."""
    X, inside = footprint
    X = X.copy()
    edge = inside & (np.mgrid[:61, :37][1] < 12)  # an edge strip of the footprint where two layers have no data
    X[edge, 1:3] = -9999.0
    X[5, 30, 11] = -9999.0  # and one pixel missing band 12 alone
    rx = RX(nodata=-9999.0).fit(X)
    assert rx.fill_pixels_ == int((~inside).sum())
    assert rx.partial_fill_ == {"pixels": int(edge.sum()) + int(inside[5, 30]), "bands": [1, 2, 11]}
    assert inside[5, 30] and edge.sum() > 50
    assert RX(nodata=-9999.0).fit(footprint[0]).partial_fill_ is None
    assert RX().fit(X).partial_fill_ is None  # nothing masked: nothing to count
    had.save(rx, tmp_path / "m")
    assert had.load(tmp_path / "m").partial_fill_ == rx.partial_fill_
    line = nodata.partial_line("line", -9999.0, rx.partial_fill_)
    assert line.startswith(f"note: {rx.partial_fill_['pixels']:,} pixels of line hold the no-data value -9999 in "
                           "some bands but not all (bands 2-3, 12): fitted and scored as data")
    assert "add --data nodata_any_band=true (they are then left out, and scored NaN; score with it too)" in line
    assert nodata.partial_line("line", -9999.0, None) is None
    assert nodata.band_ranges([4]) == "band 5"
    # why they are said: fitted as data, the missing values pull the background far from the footprint's own
    assert np.abs(rx.mean_ - RX(nodata=-9999.0).fit(footprint[0]).mean_).max() > 100.0


def test_the_sampled_threshold_leaves_fill_out(footprint, monkeypatch):
    """Above ``threshold_sample`` pixels the threshold comes from a seeded sample: its fill pixels are dropped,
    so the threshold is a quantile of footprint scores (it equals the full-pass threshold to sampling error)."""
    X, inside = footprint
    full = RX(nodata=-9999.0, threshold_sample=None).fit(X)
    sampled = RX(nodata=-9999.0, threshold_sample=1500).fit(X)
    assert sampled.threshold_sample_["pixels"] == 1500
    kept = ~np.isnan(sampled.decision_scores_)
    assert 0 < kept.sum() < 1500
    assert np.isfinite(sampled.threshold_) and sampled.threshold_ == pytest.approx(full.threshold_, rel=0.25)
    assert sampled.threshold_ < 1000.0  # a threshold over fill scores would be huge


def test_tile_by_tile_on_a_memory_map_equals_in_memory(tmp_path, footprint, monkeypatch):
    X, inside = footprint
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)  # a few image rows per tile: fill and footprint mixed
    path = tmp_path / "line.bil"
    np.ascontiguousarray(X.transpose(0, 2, 1)).tofile(path)
    bil = np.memmap(path, dtype=np.float32, mode="r", shape=(61, 12, 37)).transpose(0, 2, 1)
    tiled, whole = RX(nodata=-9999.0).fit(bil), RX(nodata=-9999.0).fit(np.array(X))
    np.testing.assert_allclose(tiled.whitening_, whole.whitening_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tiled.decision_function(bil), whole.decision_function(X), rtol=1e-9)


def test_integer_data_with_fill(footprint):
    X, inside = footprint
    counts = np.where(inside[..., None], np.round(X * 10 + 500), -1).astype(np.int16)
    rx = RX(nodata=-1).fit(counts)
    np.testing.assert_allclose(rx.mean_, RX().fit(counts[inside]).mean_, rtol=1e-12)


def test_a_scene_that_is_all_fill_is_one_clear_error(footprint):
    X, _ = footprint
    with pytest.raises(InvalidInputError, match="no-data value -9999 in every band, which leaves 0"):
        RX(nodata=-9999.0).fit(np.full_like(X, -9999.0))


def test_onnx_scores_fill_nan_as_the_eager_code_does(footprint):
    pytest.importorskip("onnxruntime")
    from had.onnx_export import export_and_verify
    from had.runtime import OnnxScorer

    X, inside = footprint
    for value, data in ((-9999.0, X), ("nan", np.where(inside[..., None], X, np.nan).astype(np.float32))):
        rx = RX(nodata=value).fit(data)
        model, report = export_and_verify(rx, data)
        assert report["passed"] and report["n_fill"] > 400
        scorer = OnnxScorer(model)
        assert scorer.fill_value == -9999.0 if value == -9999.0 else np.isnan(scorer.fill_value)  # from the metadata
        got = scorer.score(data)
        assert np.isnan(got[~inside]).all()
        np.testing.assert_allclose(got[inside], rx.decision_function(data)[inside], rtol=1e-4)
        broken = data.copy()
        broken[30, 20, 3] = np.nan
        with pytest.raises(InvalidInputError, match="NaN"):
            scorer.score(broken)
    plain = RX().fit(X[inside])  # a model without a fill value still refuses NaN input
    scorer = OnnxScorer(export_and_verify(plain, X[inside])[0])
    assert scorer.fill_value is None
    with pytest.raises(InvalidInputError, match="NaN"):
        scorer.score(np.where(inside[..., None], X, np.nan))


def test_the_fill_value_survives_save_and_load(tmp_path, footprint):
    X, inside = footprint
    rx = RX(nodata=-9999.0).fit(X)
    had.save(rx, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.config.nodata == -9999.0 and back.fill_pixels_ == rx.fill_pixels_
    np.testing.assert_array_equal(back.decision_function(X), rx.decision_function(X))


def test_the_fit_line_says_what_was_masked(footprint):
    X, inside = footprint
    meta = {"nodata": -9999.0}
    assert nodata.note("line", meta, RX(nodata=-9999.0).fit(X)) == (
        f"masked the no-data value -9999 of line: {(~inside).sum():,} pixels holding it in every band left out of "
        "the fit and the threshold, and scored NaN")
    assert nodata.note("line", meta, RX(nodata=-9999.0).fit(X[inside])) == (
        "no pixel of line holds the no-data value -9999 in every band")
    assert nodata.note("scene", {}, RX(nodata=0.0).fit(np.where(inside[..., None], X, 0.0))).startswith(
        f"masked the no-data value 0 of scene: {(~inside).sum():,} pixels")  # set by the user, not the file
    assert nodata.note("line", meta, RX().fit(X)).startswith(
        "note: line declares the no-data value -9999, which rx does not mask")
    assert nodata.note("line", {"nodata": None}) is None


def test_a_fill_value_set_by_the_user_is_said_and_counted(tmp_path, footprint):
    """A file that declares nothing (``.npy``), the fill named with ``--set nodata=-9999``: the fit line says how
    many pixels were left out; every score summary counts pixels above the threshold among the others."""
    import subprocess
    import sys

    X, inside = footprint
    np.save(tmp_path / "line.npy", X)

    def had_cli(*args):
        done = subprocess.run([sys.executable, "-m", "had.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    fill = int((~inside).sum())
    said = had_cli("fit", "rx", tmp_path / "line.npy", "-o", tmp_path / "m", "--set", "nodata=-9999")
    assert f"masked the no-data value -9999 of line: {fill:,} pixels" in said
    alone = RX().fit(X[inside])
    flagged = int((alone.decision_function(X[inside]) > alone.threshold_).sum())
    counted = f"{flagged} of {inside.sum()} above the threshold"
    assert f"{counted} {alone.threshold_:.6g} ({fill} no-data pixels" in had_cli(
        "score", tmp_path / "m", tmp_path / "line.npy", "-o", tmp_path / "s.npy")
    assert np.isnan(np.load(tmp_path / "s.npy")[~inside]).all()
    assert f"{counted} {alone.threshold_:.6g} ({fill} no-data pixels)" in had_cli(
        "score", tmp_path / "m", tmp_path / "line.npy", "--out", tmp_path / "maps")


def test_a_scene_with_whole_nan_pixels_and_no_nodata_is_told_to_set_it():
    """A survey raster with NaN outside its area and no declared nodata was told to 'replace bad pixels by the band
    median'; the fix is nodata=nan, which the message now gives, and which works."""
    import had
    from had.errors import InvalidInputError

    X = np.random.default_rng(0).normal(size=(12, 10, 4))
    X[:3] = np.nan  # outside the surveyed area
    with pytest.raises(InvalidInputError, match=r"30 pixel\(s\) are NaN in every band .*--set nodata=nan"):
        had.get_detector("rx").fit(X)
    X[5, 5, 1] = np.nan  # one value inside: the usual advice, and the whole pixels said as well
    with pytest.raises(InvalidInputError, match=r"holds 121 NaN .*; 30 pixel\(s\) are NaN in every band"):
        had.get_detector("rx").fit(X)
    X[5, 5, 1] = 0.0
    det = had.get_detector("rx", nodata=float("nan")).fit(X)
    assert np.isnan(det.decision_function(X)[:3]).all() and np.isfinite(det.decision_function(X)[3:]).all()


def test_a_scene_file_with_nan_fill_fits_through_the_cli_with_nodata_nan(tmp_path):
    """The load refused the whole-NaN pixels before the detector's nodata could apply: `had fit rx f.npy --set
    nodata=nan`, the fix the message gives, failed with the same message."""
    import subprocess
    import sys

    X = np.random.default_rng(0).normal(size=(12, 10, 4))
    X[:3] = np.nan
    np.save(tmp_path / "f.npy", X)
    cmd = [sys.executable, "-m", "had.cli", "fit", "rx", str(tmp_path / "f.npy")]
    refused = subprocess.run([*cmd, "-o", str(tmp_path / "m1")], capture_output=True, text=True)
    assert refused.returncode == 2 and "--set nodata=nan" in refused.stderr
    done = subprocess.run([*cmd, "-o", str(tmp_path / "m2"), "--set", "nodata=nan"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "30 pixels holding it in every band left out" in done.stdout
    half = X.copy()
    half[5, 5, 1] = np.nan  # NaN in one band only is still refused at the load
    np.save(tmp_path / "g.npy", half)
    partly = subprocess.run([sys.executable, "-m", "had.cli", "fit", "rx", str(tmp_path / "g.npy"), "-o",
                             str(tmp_path / "m3"), "--set", "nodata=nan"], capture_output=True, text=True)
    assert partly.returncode == 2 and "1 NaN" in partly.stderr


def test_a_nan_inside_the_footprint_is_said_by_band_and_pixel():
    """With fill pixels left out, RX checked the other pixels as rows: "(in column 3)" for band 3, no pixel."""
    X = np.random.default_rng(0).normal(size=(40, 30, 6))
    X[:, :5] = -9999.0  # fill outside the footprint
    X[21, 17, 2] = np.nan
    with pytest.raises(InvalidInputError) as caught:
        RX(nodata=-9999.0).fit(X)
    assert "1 NaN or infinite value(s)" in str(caught.value)
    assert "(in band 3), the first at row 22, column 18 (1-based)" in str(caught.value)


def test_an_undeclared_fill_is_said_at_fit_with_its_fix(footprint, tmp_path, capsys):
    """Was: a -9999 edge that the file does not declare fitted as data without a word (had fit's AUROC fell)."""
    from had.cli import main

    X, inside = footprint
    np.save(tmp_path / "line.npy", X)
    main(["fit", "rx", str(tmp_path / "line.npy"), "-o", str(tmp_path / "m")])
    said = capsys.readouterr().out
    share = f"{(~inside).mean():.0%}"
    assert (f"note: about {share} of line's pixels hold -9999 in every band, which nothing declares as no-data: if it "
            "is a fill value (a flight line's edge), they were fitted as data, which skews the background and the "
            "scores; leave them out with --set nodata=-9999") in said
    main(["fit", "rx", str(tmp_path / "line.npy"), "-o", str(tmp_path / "m2"), "--set", "nodata=-9999"])
    assert "nothing declares" not in capsys.readouterr().out  # masked: nothing to say


def test_no_undeclared_fill_is_said_of_a_measured_scene(correlated_scene):
    assert nodata.undeclared_fill(correlated_scene, "scene") is None
    edge = correlated_scene.astype(np.float32)
    edge[:, :1] = np.finfo(np.float32).min  # one column of 37 (under 3 %): GDAL's float32 fill, said as it is
    said = nodata.undeclared_fill(edge, "scene")  # stored (was "-3.40282e+38", which matched no pixel)
    assert "hold -3.4028235e+38 in every band" in said and said.endswith("--set nodata=-3.4028235e+38")
    assert float("-3.4028235e+38") == np.float32(np.finfo(np.float32).min)  # the value the setting then masks
    inside = correlated_scene.copy()
    inside[:, :1] = float(np.median(correlated_scene))  # a value inside the data's range: data, not fill
    assert nodata.undeclared_fill(inside, "scene") is None
    pan = np.repeat(np.random.default_rng(0).integers(0, 256, size=(40, 40, 1)), 3, axis=2).astype(np.uint8)
    assert nodata.undeclared_fill(pan, "pan") is None  # (was: "hold 117 in every band", a mid-grey)
    assert nodata.undeclared_fill(correlated_scene[..., :2], "scene") is None  # two bands: censored data, maybe
    assert nodata.undeclared_fill(np.full((20, 20, 3), 7.0), "scene") is None  # blank: the constant-scores note's


def test_fill_rows_of_a_table_are_said_as_rows_and_columns(capsys, tmp_path):
    """`had fit` on pixel rows ``(N, B)`` with nodata said "pixels holding it in every band", a cube's words."""
    from had_sdk.testing import run_cli

    X = np.random.default_rng(0).normal(size=(200, 5))
    X[:20] = -9999.0
    np.save(tmp_path / "rows.npy", X)
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "rows.npy"), "-o", str(tmp_path / "m"),
                             "--set", "nodata=-9999")
    assert code == 0, err
    assert "masked the no-data value -9999 of rows: 20 rows holding it in every column left out" in out + err
    assert "pixels holding it" not in out + err
    code, out, err = run_cli(capsys, "score", str(tmp_path / "m"), str(tmp_path / "rows.npy"), "-o",
                             str(tmp_path / "s.npy"))
    assert code == 0, err
    assert "(20 no-data rows, scored NaN)" in out + err and "no-data pixels" not in out + err
    assert [nodata.units(1, 2), nodata.units(1234, 3), nodata.units(1, 4)] == [
        "1 no-data row", "1234 no-data pixels", "1 no-data image"]  # was "(1 no-data pixels" for any data
    assert nodata.note("t", {"nodata": -9999.0}, rows=True) == (
        "note: t declares the no-data value -9999, which had does not mask here: rows holding it are fitted and "
        "scored like any other; leave those rows out or fill them first")


def test_confidence_and_probability_are_nan_at_fill_as_the_scores(footprint):
    """predict_confidence gave 0.0 at fill pixels (a NaN score sorted last, then 1 - confidence), while the score
    and predict_proba are NaN there (a review)."""
    X, inside = footprint
    det = RX(nodata=-9999.0).fit(X)
    confidence = det.predict_confidence(X)
    proba = det.predict_proba(X)
    assert np.isnan(confidence[~inside]).all() and np.isfinite(confidence[inside]).all()
    assert np.isnan(proba[~inside]).all() and np.isfinite(proba[inside]).all()
    assert ((confidence[inside] >= 0) & (confidence[inside] <= 1)).all()
    _, again = det.predict_proba(X, return_confidence=True)
    np.testing.assert_array_equal(again, confidence)
