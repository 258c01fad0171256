"""``had.cubeview``: a file's cube read with some bands left out (``--data bands=...``) or with the no-data value
widened to any band (``--data nodata_any_band=true``), lazily, tile by tile. What a detector fits and scores
on a view equals what it fits and scores on the same numbers as an array; a memory map stays a memory map."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.cubeview import (CubeView, crop_truth, parse_bands, parse_span, ranges_text, record_of, same_file_bands,
                          settings_to_match, view_scene)
from had.errors import ConfigError, InvalidInputError
from had.fingerprint import training_sha256
from had.rx import RX
from had.tiling import sample_pixels, tiles


@pytest.fixture
def mapped(tmp_path, correlated_scene):
    """conftest's correlated 61x37x12 scene (float32) as a read-only memory map, band 5 holding NaN (a bad band)."""
    X = correlated_scene.astype(np.float32)
    X[..., 4] = np.nan
    np.save(tmp_path / "cube.npy", X)
    return np.load(tmp_path / "cube.npy", mmap_mode="r"), X


KEEP = np.r_[0:4, 5:12]  # every band but the fifth


def test_a_view_reads_like_the_array_it_stands_for(mapped):
    M, X = mapped
    view, kept = CubeView(M, KEEP), np.ascontiguousarray(X[..., KEEP])
    assert view.shape == (61, 37, 11) and view.dtype == np.float32 and view.ndim == 3 and len(view) == 61
    assert view.size == kept.size and view.nbytes == kept.nbytes
    np.testing.assert_array_equal(np.asarray(view), kept)
    for key in (slice(3, 9), (slice(None, None, 4), slice(2, None, 5), 7), (Ellipsis, [0, 10]), 5, (2, 3),
                (slice(0, 10), slice(None), slice(1, 6)), (Ellipsis, -1)):
        np.testing.assert_array_equal(view[key], kept[key], err_msg=str(key))
    np.testing.assert_array_equal(np.concatenate([b for _, _, b in tiles(view, tile_bytes=20000)]), kept)
    rows, picks = sample_pixels(view, 500, seed=3)
    np.testing.assert_array_equal(rows, kept.reshape(-1, 11)[picks])
    assert training_sha256(view) == training_sha256(kept)


def test_rx_and_a_pixel_trained_detector_on_a_view_equal_the_array(mapped):
    """The bad band (NaN) makes the whole cube unusable; the view without it fits, tile by tile, as the array of
    the kept bands does; the torch autoencoder samples and scores the view as it would the array."""
    M, X = mapped
    with pytest.raises(InvalidInputError, match=r"holds 2257 NaN or infinite value\(s\) of 27084 \(in band 5\)"):
        RX().fit(M)
    view, kept = CubeView(M, KEEP), np.ascontiguousarray(X[..., KEEP])
    on_view, on_array = RX().fit(view), RX().fit(kept)
    np.testing.assert_allclose(on_view.decision_scores_, on_array.decision_scores_, rtol=1e-12)
    np.testing.assert_allclose(on_view.decision_function(view), on_array.decision_function(kept), rtol=1e-12)
    assert on_view.training_sha256_ == on_array.training_sha256_
    pytest.importorskip("had_autoencoder")
    small = dict(epochs=2, max_fit_pixels=1000, seed=1)
    ae_view = had.get_detector("autoencoder", **small).fit(view)
    ae_array = had.get_detector("autoencoder", **small).fit(kept)
    assert ae_view.fit_sample_ == ae_array.fit_sample_ and ae_view.fit_sample_["pixels"] == 1000
    np.testing.assert_allclose(ae_view.decision_scores_, ae_array.decision_scores_, rtol=1e-6)
    iforest = pytest.importorskip("had_pyod") and had.get_detector("pyod-iforest")  # no views: read whole
    assert iforest.fit(view).decision_scores_.shape == (61 * 37,)


def test_nodata_in_any_band_widens_the_fill(correlated_scene):
    """A stack whose layers have different footprints: pixels missing bands 2-3 hold -9999 there. Widened, they
    are fill: RX leaves them out as it leaves out whole-band fill, and equals RX on the complete pixels alone."""
    X = correlated_scene.copy()
    X[:6] = -9999.0  # outside the survey: every band
    edge = np.zeros(X.shape[:2], bool)
    edge[:, 30:] = True
    X[edge, 1:3] = -9999.0  # two layers end earlier
    view = CubeView(X, None, -9999.0)
    widened = np.asarray(view)
    assert (widened[edge] == -9999.0).all() and (widened[~edge & (np.arange(61) >= 6)[:, None]] != -9999.0).all()
    assert X[edge, 0].max() > -9999.0  # the base is untouched
    complete = ~edge & (np.arange(61) >= 6)[:, None]
    rx = RX(nodata=-9999.0).fit(view)
    alone = RX().fit(X[complete])
    assert rx.fill_pixels_ == int((~complete).sum()) and rx.partial_fill_ is None
    np.testing.assert_allclose(rx.mean_, alone.mean_, rtol=1e-12)
    scores = rx.decision_function(view)
    assert np.isnan(scores[~complete]).all()
    np.testing.assert_allclose(scores[complete], alone.decision_function(X[complete]), rtol=1e-9)
    nan_view = CubeView(np.where(X == -9999.0, np.nan, X), None, float("nan"))
    assert np.isnan(np.asarray(nan_view)[edge]).all()


def test_band_settings_are_parsed_and_wrong_ones_get_one_line():
    assert parse_bands("1-3, 7", 8, None, "f").tolist() == [0, 1, 2, 6]
    assert parse_bands(5, 8, None, "f").tolist() == [4]
    assert parse_bands("good", 8, [2, 7], "f").tolist() == [0, 1, 3, 4, 5, 6]
    assert ranges_text([0, 1, 2, 6]) == "1-3,7" and ranges_text([4]) == "5"
    elements = ["Cu", "Pb", None, "Zn"]  # a geochemical stack's band descriptions (one unnamed)
    assert parse_bands("zn, cu,3", 4, None, "f", elements).tolist() == [0, 2, 3]
    with pytest.raises(ConfigError, match=r"'Ag' is not a band number or range nor a band name of f \(Cu, Pb, Zn\)"):
        parse_bands("Cu,Ag", 4, None, "f", elements)
    for spec, said in (("0-3", "outside bands 1-8 of f"), ("4-2", r"the range 4-2 goes down; write it low-high \(2-4\)"),
                       ("3-9", "outside bands 1-8"), ("9-2", "outside bands 1-8"),
                       ("a", "'a' is not a band number or range"), ("good", "marks no band bad"), ("", "not a band")):
        with pytest.raises(ConfigError, match=said):
            parse_bands(spec, 8, None, "f")


def test_view_scene_renumbers_the_per_band_entries_and_records_what_had_score_repeats(tmp_path):
    cube = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float32, shape=(4, 3, 6))
    cube[:] = 1.0
    meta = {"wavelengths": [400, 500, 600, 700, 800, 900], "default_bands": [5, 3, 1], "bad_bands": [2, 4],
            "band_names": list("abcdef"), "nodata": -1.0}
    same, unchanged = view_scene(cube, meta, "c")
    assert same is cube and unchanged is meta
    view, seen = view_scene(cube, meta, "c", bands="1-2,4-6", nodata_any_band=True)
    assert isinstance(view, CubeView) and view.shape == (4, 3, 5)
    assert seen["wavelengths"] == [400, 500, 700, 800, 900] and seen["band_names"] == list("abdef")
    assert seen["default_bands"] == [4, 2, 1] and seen["bad_bands"] == [3] and seen["bands_kept"] == [0, 1, 3, 4, 5]
    assert meta["wavelengths"][2] == 600  # the caller's meta is not changed
    record = record_of(seen)
    assert record == {"bands": "1-2,4-6", "of": 6, "nodata_any_band": True}
    fields = {"bands", "nodata_any_band", "path"}
    assert settings_to_match(record, {}, fields) == {"bands": "1-2,4-6", "nodata_any_band": True}
    assert settings_to_match(record, {"bands": "1-3"}, fields) == {"nodata_any_band": True}  # the user's
    assert settings_to_match(record, {}, {"path"}) == {} and settings_to_match(None, {}, fields) == {}
    assert same_file_bands(record, seen) and not same_file_bands(record, {"file_bands": 7})  # another sensor's
    assert same_file_bands({"nodata_any_band": True}, {})
    in_memory, _ = view_scene(np.ones((4, 3, 6)), meta, "c", bands="2")
    assert type(in_memory) is np.ndarray and in_memory.shape == (4, 3, 1)
    with pytest.raises(ConfigError, match="declares no single no-data value"):
        view_scene(cube, {}, "c", nodata_any_band=True)


def test_a_window_is_a_slice_of_the_map_with_its_transform_moved(tmp_path):
    """``rows``/``cols`` cut a window (1-based, inclusive): the memory map stays one (tiles read as before), the
    transform's origin moves to the window's first pixel, and a truth map of the whole file is cut the same way."""
    cube = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float32, shape=(50, 40, 3))
    cube[:] = np.arange(50 * 40 * 3, dtype=np.float32).reshape(50, 40, 3)
    meta = {"transform": [10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0], "crs": "EPSG:32633"}
    window, seen = view_scene(cube, meta, "c", rows="10-20", cols=5)
    assert isinstance(window, np.memmap) and window.shape == (11, 1, 3)
    np.testing.assert_array_equal(window, cube[9:20, 4:5])
    assert seen["transform"] == [10.0, 0.0, 500040.0, 0.0, -10.0, 3999910.0]
    assert seen["window"] == {"rows": [9, 20], "cols": [4, 5]} and seen["file_shape"] == [50, 40]
    truth = np.zeros((50, 40))
    truth[12, 4] = 1
    assert crop_truth(truth, seen).shape == (11, 1) and crop_truth(truth, seen)[3, 0] == 1
    assert crop_truth(truth, meta) is truth and crop_truth(None, seen) is None
    both, seen = view_scene(cube, meta, "c", bands="2-3", rows="1-5")
    assert isinstance(both, CubeView) and both.shape == (5, 40, 2)
    np.testing.assert_array_equal(np.asarray(both), cube[:5, :, 1:])
    assert parse_span("3", 10, "rows", "c") == (2, 3)
    for spec, said in (("0-3", "outside rows 1-10"), ("5-2", "outside rows"), ("1-11", "outside rows 1-10"),
                       ("1-3,5-6", "one 1-based range")):
        with pytest.raises(ConfigError, match=said):
            parse_span(spec, 10, "rows", "c")


@pytest.mark.parametrize("bands", [None, KEEP])
def test_an_integer_memory_map_stays_on_disk_seen_as_float64(tmp_path, correlated_scene, monkeypatch, bands):
    """An int16 flight line (or its view without some bands) is validated without reading it (integers hold no
    NaN) and given to detectors as a float64 view converted a tile at a time: a detector that samples it never
    holds the whole line as float64 (4x the file), and fits and scores as on the float64 array."""
    from had import validation

    ints = np.round(correlated_scene * 20.0).astype(np.int16)
    np.save(tmp_path / "cube16.npy", ints)
    M = np.load(tmp_path / "cube16.npy", mmap_mode="r")
    given = M if bands is None else CubeView(M, bands)
    expected = np.ascontiguousarray(ints[..., bands] if bands is not None else ints, dtype=np.float64)
    checked = validation.check_array(given, ("tabular", "cube"), lazy=True)
    assert isinstance(checked, CubeView) and checked.dtype == np.float64 and checked.shape == expected.shape
    assert checked.base is M  # the memory map itself, not a copy
    blocks = [b for _, _, b in tiles(checked, tile_bytes=20000)]
    assert {b.dtype for b in blocks} == {np.dtype(np.float64)} and len(blocks) > 1
    np.testing.assert_array_equal(np.concatenate(blocks), expected)
    np.testing.assert_array_equal(checked[3:9, ::4, 2], expected[3:9, ::4, 2])
    assert training_sha256(checked) == training_sha256(expected)
    pytest.importorskip("had_pyod")
    whole = []  # a view read whole (np.asarray) by a detector that reads views would defeat the point
    original = CubeView.__array__
    monkeypatch.setattr(CubeView, "__array__", lambda self, *a, **k: whole.append(1) or original(self, *a, **k))
    on_file = had.get_detector("pyod-ecod", max_fit_pixels=800).fit(given)
    assert whole == [] and on_file.fit_sample_["pixels"] == 800
    monkeypatch.undo()
    on_array = had.get_detector("pyod-ecod", max_fit_pixels=800).fit(expected)
    np.testing.assert_allclose(on_file.decision_scores_, on_array.decision_scores_, rtol=1e-12)
    assert on_file.training_sha256_ == on_array.training_sha256_ and on_file.threshold_ == on_array.threshold_
    assert validation.check_array(ints, lazy=True).dtype == np.float64  # in memory: converted as before
    assert type(validation.check_array(M)) is np.ndarray  # not asked to stay lazy: converted as before
