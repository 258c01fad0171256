"""A whole-scene torch detector (BS3LNet's kind: ``pixelwise = False``) fitted on an integer file of 16 bits or
fewer reads the scene as float32, which holds its values exactly and is what the network takes. Was: as float64
(``Detector._viewed``: ``np.asarray`` of the float64 view), 4x an int16 line's size, beside the network's float32
copy; a 677 MB int16 line held 2.5 GiB for it. The model, its scores and its training fingerprint are unchanged."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from had import fingerprint, tiling
from had.cubeview import CubeView

import sdk_toys


def _int16_line(tmp_path, shape=(96, 64, 24), seed=0) -> np.memmap:
    """An int16 BIL file mapped as the ENVI reader maps it: ``(H, W, B)`` over (line, band, sample) storage."""
    rng = np.random.default_rng(seed)
    cube = rng.integers(-2000, 9000, size=shape).astype(np.int16)
    cube[40:43, 30:33] += 8000  # a small bright target
    path = tmp_path / "line.bil"
    np.ascontiguousarray(cube.transpose(0, 2, 1)).tofile(path)
    mapped = np.memmap(path, dtype=np.int16, mode="r", shape=(shape[0], shape[2], shape[1]))
    return mapped.transpose(0, 2, 1)


def _traced_peak(fn):
    """(fn's result, the peak of numpy's and Python's traced allocations while it ran, in bytes)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_view_read_whole_in_another_dtype_is_read_tile_by_tile(tmp_path, monkeypatch):
    mapped = _int16_line(tmp_path)
    view = CubeView(mapped, bands=np.array([0, 3, 5, 7, 20]), fill_any=-2000, as_dtype=np.float64)
    expected = view.apply(np.asarray(mapped))  # the kept bands, the fill widened, as float64: read whole
    monkeypatch.setattr(tiling, "TILE_BYTES", 16 * 1024)  # many small tiles
    whole = np.asarray(view, dtype=np.float32)
    assert whole.dtype == np.float32 and whole.shape == expected.shape
    np.testing.assert_array_equal(whole, expected.astype(np.float32))
    assert np.asarray(view).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(view), expected)
    # no whole copy in the base's dtype or the view's beside the result (was: int16 bands + float64 + float32)
    _, peak = _traced_peak(lambda: np.asarray(CubeView(mapped, as_dtype=np.float64), dtype=np.float32))
    assert peak < 1.5 * mapped.size * 4, peak


def test_a_whole_scene_detector_fits_an_int16_line_in_float32_with_the_same_model(tmp_path, monkeypatch):
    mapped = _int16_line(tmp_path)
    seen = []
    monkeypatch.setattr(sdk_toys.TinyScene, "on_fit_start", lambda self, X, y: seen.append(X.dtype))
    from_file = sdk_toys.TinyScene(epochs=2, seed=3).fit(mapped)
    assert seen == [np.dtype(np.float32)]  # was float64
    in_memory = sdk_toys.TinyScene(epochs=2, seed=3).fit(np.asarray(mapped, dtype=np.float64))
    assert seen[-1] == np.dtype(np.float64)  # a float64 array is the caller's: taken as it is
    # the same fit: scores, threshold and the float64 values' fingerprint (so had score still knows its data)
    np.testing.assert_array_equal(from_file.decision_scores_, in_memory.decision_scores_)
    assert from_file.threshold_ == in_memory.threshold_
    assert from_file.training_sha256_ == in_memory.training_sha256_ == fingerprint.of_data(mapped)
    assert from_file.input_spec_["dtype"] == "float64"  # what validation hands a fit, as before
    np.testing.assert_array_equal(from_file.decision_function(mapped), in_memory.decision_function(mapped))
    assert "_read_here" not in vars(from_file) or vars(from_file)["_read_here"]() is None  # nothing kept alive


def test_the_fit_holds_one_float32_scene_and_no_float64_one(tmp_path, monkeypatch):
    """numpy's traced allocations during the fit (torch's are not traced): the float32 scene, not a float64 one
    beside a float32 copy (12 bytes a value before), and not a second float32 copy for training either."""
    mapped = _int16_line(tmp_path, shape=(160, 128, 32))
    monkeypatch.setattr(tiling, "TILE_BYTES", 256 * 1024)
    _, peak = _traced_peak(lambda: sdk_toys.TinyScene(epochs=1, seed=0).fit(mapped))
    assert peak < 6 * mapped.size, f"{peak / mapped.size:.1f} bytes a value"


@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_other_files_are_read_as_before(tmp_path, dtype):
    """int32 (not exact in float32: read as float64, float32_of's refusal and rounding as before) and float
    files (their own dtype) are left to Detector._viewed."""
    mapped = _int16_line(tmp_path)
    path = tmp_path / f"line.{np.dtype(dtype).name}"
    np.asarray(mapped, dtype=dtype).tofile(path)
    other = np.memmap(path, dtype=dtype, mode="r", shape=mapped.shape)
    det = sdk_toys.TinyScene(epochs=1)
    lazy = CubeView(other, as_dtype=np.float64) if np.issubdtype(dtype, np.integer) else CubeView(other)
    assert det._viewed(lazy).dtype == (np.float64 if np.issubdtype(dtype, np.integer) else np.float32)


def test_a_pixel_trained_detector_reads_an_int16_line_into_float32_with_the_same_model(tmp_path, monkeypatch):
    """Pixel-trained detectors (LREN, the autoencoder) took an integer line's pixels as float64, then a float32 copy
    (12 bytes a value: an all-pixel LREN fit of a 144 MB int16 line stopped for 502 MiB of float64 under a 2 GB
    limit, a probe of 7 December 2026). Now read (or sampled) straight into float32; the same model."""
    mapped = _int16_line(tmp_path, shape=(160, 128, 32))
    from_file = sdk_toys.TinyAE(epochs=1, seed=2).fit(mapped)
    in_memory = sdk_toys.TinyAE(epochs=1, seed=2).fit(np.asarray(mapped, dtype=np.float64))
    np.testing.assert_array_equal(from_file.decision_scores_, in_memory.decision_scores_)
    assert from_file.training_sha256_ == in_memory.training_sha256_
    monkeypatch.setattr(tiling, "TILE_BYTES", 256 * 1024)

    class Unscaled(sdk_toys.TinyAE):  # no Standardize, whose fit takes a float64 copy of the training pixels
        def build_preprocessing(self, spec):
            return torch.nn.Identity()

    Unscaled(epochs=1, seed=2).fit(mapped)  # torch's first-call allocations out of the measure
    _, peak = _traced_peak(lambda: Unscaled(epochs=1, seed=2).fit(mapped))
    assert peak < 6 * mapped.size, f"{peak / mapped.size:.1f} bytes a value"  # was 12.4 (float64, then float32)


def test_training_pixels_that_cannot_fit_are_refused_before_they_are_read(tmp_path, monkeypatch):
    import had.memory

    mapped = _int16_line(tmp_path)
    monkeypatch.setattr(had.memory, "available_memory", lambda: 2**20)  # 1 MiB left
    gathered = []
    monkeypatch.setattr("had.pixel_sample.gather_pixels", lambda *a, **k: gathered.append(1))
    with pytest.raises(MemoryError, match=r"tiny-ae's training pixels \(6,144 of 24 bands, float32\) needs 1\.1 MiB "
                                          r"and 1\.0 MiB are available; fit it on a window of the scene"):
        sdk_toys.TinyAE(epochs=1).fit(mapped)
    assert not gathered


def test_a_scene_detector_that_scored_an_int16_line_still_pickles(tmp_path):
    """The weak reference _viewed keeps is not part of the detector's state (a review: pickle.dumps raised
    "cannot pickle 'weakref'" after scoring an int16 line)."""
    mapped = _int16_line(tmp_path)
    det = sdk_toys.TinyScene(epochs=1).fit(mapped)
    det.decision_function(mapped)
    state = det.__reduce_ex__(2)[2]  # what pickle (a user's joblib.dump; had itself never pickles) would write
    assert "_read_here" not in state and "model_" in state


def test_a_model_with_a_scalar_parameter_loads(tmp_path):
    """A 0-d parameter is saved as shape (1,), which load_state_dict takes; the shape check took it for an edit
    (a review)."""
    import had

    class Tempered(sdk_toys.TinyAE):
        def build_network(self, spec):
            network = super().build_network(spec)
            network.register_parameter("temperature", torch.nn.Parameter(torch.tensor(1.5)))
            return network

    X = np.random.default_rng(0).normal(size=(64, 5))
    det = Tempered(epochs=1).fit(X)
    det._check_state_shapes({k: v.detach().numpy().reshape(-1) if v.ndim == 0 else v.detach().numpy()
                             for k, v in det.model_.state_dict().items()})  # as saved: no error
