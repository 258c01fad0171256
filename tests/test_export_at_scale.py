"""The export check at scale: bounded to a window of the check data (memory and time whatever the scene size), and
RX's graph centring in two float32 parts, so that radiance with a large offset is not refused for the mean's
rounding (an audit of `had fit DET line.hdr --export` on a 1 GiB ENVI line, 5 December 2026)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from had import onnx_export  # noqa: E402
from had.cubeview import CubeView  # noqa: E402
from had.errors import ExportParityError  # noqa: E402
from had.rx import RX  # noqa: E402
from had_sdk.testing import radiance_line  # noqa: E402



class WholeReadRefused(CubeView):
    """A lazy scene that fails when read whole (as ``np.asarray`` of a flight line larger than memory would)."""

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the check read the whole scene")


def test_a_scene_above_the_bound_is_checked_on_a_middle_window_of_whole_rows():
    """1024x1024x8: the check scores 64 middle rows (65,536 pixels) and a 63x1023 crop of them, says so, and reads
    neither the scene whole nor more than a few MB. Was: the whole scene and a 1023x1023 copy, in one ONNX batch
    (a 2048x2048x64 line: 2082 MB for `had fit rx --export` against 276 MB without)."""
    X, truth = radiance_line(1024, 1024, bands=8)
    det = RX().fit(X)
    model = det.export_onnx()
    tracemalloc.start()
    try:
        report = onnx_export.verify_export(model, det, WholeReadRefused(X), y=truth)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report["passed"]
    assert report["window"] == {"of": 1024 * 1024, "pixels": 65536, "rows": [480, 543]}
    assert report["shapes"] == [[64, 1024, 8], [63, 1023, 8]]
    assert report["n_checked"] == 64 * 1024 + 63 * 1023
    assert peak < 12 * 2**20, f"the check held {peak / 2**20:.1f} MiB"  # the scene alone is 32 MiB
    lines = onnx_export.report_lines(report)
    assert "parity on 65,536 of 1,048,576 pixels (scene rows 481-544, 1-based: the middle of the scene; " \
           "the check is bounded at 65,536)" in lines
    # the ground truth is cut to the same window: the AUROC is against it, the same for eager and ONNX
    window_truth = truth[480:544]
    assert 0 < window_truth.sum() and report["auroc_labels"] == "ground truth"
    assert report["auroc_onnx"] == pytest.approx(report["auroc_eager"], abs=1e-6)


def test_the_window_of_rows_images_and_wide_scenes():
    X = np.arange(200_000 * 2, dtype=np.float64).reshape(200_000, 2)
    window, y, where = onnx_export.check_window(X, np.arange(200_000) % 2)
    assert where == {"of": 200_000, "pixels": 50_000, "every": 4, "unit": "rows"}
    np.testing.assert_array_equal(window, X[::4])
    np.testing.assert_array_equal(y, (np.arange(200_000) % 2)[::4])
    images = np.zeros((100, 1, 32, 32), np.float32)  # 1,024 pixels an image
    window, _, where = onnx_export.check_window(images)
    assert window.shape == (50, 1, 32, 32) and where["pixels"] == 51_200 and where["every"] == 2
    wide = np.zeros((3, 100_000, 2), np.float32)  # one row is wider than the bound: its middle columns
    window, _, where = onnx_export.check_window(wide)
    assert window.shape == (1, 65_536, 2)
    assert where == {"of": 300_000, "pixels": 65_536, "rows": [1, 1], "columns": [17_232, 82_767]}


def test_data_at_or_below_the_bound_is_checked_whole():
    X, _ = radiance_line(256, 256, bands=4)  # 65,536 pixels: whole, as before
    det = RX().fit(X)
    report = onnx_export.verify_export(det.export_onnx(), det, X)
    assert "window" not in report and report["shapes"] == [[256, 256, 4], [255, 255, 4]]
    assert not any(line.startswith("parity on") for line in onnx_export.report_lines(report))


def test_rx_exports_radiance_with_a_large_offset_within_the_default_tolerance():
    """Offsets 200-800 and directions of 1/20 the spread: a float32 mean (rounded by up to 3e-5) shifted every
    centred pixel alike and the whitening magnified it, 5.2e-4 relative on this line (1.5e-3 on a 1024x1024x64
    one) > 1e-4: refused. Centring by mean_hi then mean_lo leaves the whitening's rounding, 2.8e-6."""
    X, truth = radiance_line(128, 128)
    det = RX().fit(X)
    report = onnx_export.verify_export(det.export_onnx(), det, X, y=truth)
    assert report["passed"] and report["rtol"] == onnx_export.DEFAULT_RTOL
    assert report["max_rel_err"] < 2e-5
    assert report["label_agreement"] == 1.0


def _with(model_bytes: bytes, name: str, change) -> bytes:
    model = onnx.load_from_string(model_bytes)
    for tensor in model.graph.initializer:
        if tensor.name == name:
            tensor.CopyFrom(onnx.numpy_helper.from_array(change(onnx.numpy_helper.to_array(tensor)), name))
    return model.SerializeToString()


@pytest.mark.parametrize("name, change, at_least", [
    ("mean_lo", np.zeros_like, 3e-4),  # the one-part float32 mean of before: its rounding is still refused
    ("whitening", lambda W: W * (1 + 1e-3), 1.9e-3),  # a whitening off by 0.1 %
])
def test_a_wrong_rx_graph_is_still_refused_on_that_line(name, change, at_least):
    X, _ = radiance_line(128, 128)
    det = RX().fit(X)
    with pytest.raises(ExportParityError, match=r"max relative error .* > 0.0001") as info:
        onnx_export.verify_export(_with(det.export_onnx(), name, change), det, X)
    assert info.value.report["max_rel_err"] > at_least
