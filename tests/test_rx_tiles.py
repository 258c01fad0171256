"""RX out of core: Chan's merged accumulators against the two-pass formula, memory-mapped scenes, extreme scales,
and tile-by-tile scoring into maps on disk (eager and ONNX)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import had
import had.tiling
from had import fingerprint
from had.errors import ExportNotSupported, InvalidInputError
from had.maps import NpyMap, open_map
from had.moments import Moments
from had.tile_chunks import band_major
from had.tiling import row_tiles, sample_pixels, score_tiles


def two_pass_rx(X: np.ndarray, eig_floor: float = 1e-10) -> np.ndarray:
    """The RX of the in-memory detector before tiling: two-pass mean and covariance, whitening form."""
    P = X.reshape(-1, X.shape[-1]).astype(np.float64)
    mean = P.mean(axis=0)
    centred = P - mean
    eigval, eigvec = np.linalg.eigh(centred.T @ centred / (P.shape[0] - 1))
    keep = eigval >= eig_floor * eigval[-1]
    z = centred @ (eigvec[:, keep] / np.sqrt(eigval[keep]))
    return np.einsum("ij,ij->i", z, z).reshape(X.shape[:-1])


@pytest.fixture
def scene(correlated_scene):
    """conftest's correlated 61x37x12 scene (bands on very different scales, two planted anomalies)."""
    return correlated_scene


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of about 4 KiB: a few image rows each, so the 61-row scene is fitted in many merged pieces."""
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)
    return 4096


def test_moments_merge_in_any_blocks_equals_the_whole():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(1000, 6)) * [1, 10, 100, 1e3, 1e4, 1e5] + 3e4
    whole = Moments(6).add(rows)
    pieces = Moments(6)
    for start, stop in ((0, 1), (1, 8), (8, 500), (500, 999), (999, 1000)):
        pieces.add(rows[start:stop])
    scale = 4.0 ** pieces.exponent
    np.testing.assert_allclose(pieces.mean * 2.0 ** pieces.exponent, rows.mean(axis=0), rtol=1e-12)
    cov = np.cov(rows.T)  # entries span 1e0..1e10: compare to the largest
    np.testing.assert_allclose(pieces.comoment * scale / 999, cov, rtol=0, atol=1e-12 * np.abs(cov).max())
    np.testing.assert_allclose(pieces.comoment, whole.comoment, rtol=0, atol=1e-12 * np.abs(whole.comoment).max())
    assert pieces.count == whole.count == 1000


def test_out_of_core_fit_on_a_memmap_equals_in_memory_rx(tmp_path, scene, small_tiles):
    np.save(tmp_path / "scene.npy", scene)
    mapped = np.load(tmp_path / "scene.npy", mmap_mode="r")
    assert len(list(row_tiles(mapped))) >= 10
    rx = had.get_detector("rx", contamination=0.01).fit(mapped)
    reference = two_pass_rx(scene)
    np.testing.assert_allclose(rx.decision_scores_, reference.ravel(), rtol=1e-9)
    np.testing.assert_allclose(rx.decision_function(mapped), reference, rtol=1e-9)
    assert rx.threshold_ == pytest.approx(np.percentile(reference, 99.0), rel=1e-9)
    assert rx.training_sha256_ == fingerprint.of_file(tmp_path / "scene.npy", offset=mapped.offset)
    assert rx.input_spec_ == {"kind": "cube", "n_features": 12, "dtype": "float32", "sample_shape": None}
    assert np.argmax(rx.decision_scores_) in (5 * 37 + 5, 40 * 37 + 20)


def test_rows_fit_tile_by_tile_and_bad_tiles_named(scene, small_tiles):
    rows = scene.reshape(-1, 12).astype(np.float64)
    rx = had.get_detector("rx").fit(rows)
    np.testing.assert_allclose(rx.decision_scores_, two_pass_rx(scene).ravel(), rtol=1e-9)
    bad = rows.copy()
    bad[2000, 3] = np.nan
    with pytest.raises(InvalidInputError, match=r"data rows \d+-\d+ \(1-based\) holds 1 NaN") as caught:
        had.get_detector("rx").fit(bad)
    first, last = map(int, re.search(r"rows (\d+)-(\d+)", str(caught.value)).groups())
    assert first <= 2001 <= last  # row 2000 counted from 0, as the band ("in column 4") from 1
    assert "(in column 4)" in str(caught.value)
    with pytest.raises(InvalidInputError, match="empty"):
        had.get_detector("rx").fit(np.zeros((0, 12)))


@pytest.mark.parametrize("scale", [1e-200, 1e-305, 1e154])
def test_rx_is_defined_at_extreme_scales(scene, scale):
    reference = two_pass_rx(scene)
    X = scene.astype(np.float64) * scale
    rx = had.get_detector("rx").fit(X)
    np.testing.assert_allclose(rx.decision_scores_, reference.ravel(), rtol=1e-9)
    np.testing.assert_allclose(rx.decision_function(X), reference, rtol=1e-9)
    with pytest.raises(ExportNotSupported, match="float32's range"):
        rx.export_onnx()


def test_rx_refuses_data_too_small_to_whiten_in_float64(scene):
    # subnormal values (a float file read with the wrong byte order looks like this): one typed line, no overflow
    with pytest.raises(InvalidInputError, match="too small for float64.*Multiply the data by a constant"):
        had.get_detector("rx").fit(scene.astype(np.float64) * 1e-320)


def test_score_tiles_writes_the_map_to_disk_as_it_goes(tmp_path, scene, small_tiles):
    rx = had.get_detector("rx").fit(scene)
    with open_map(tmp_path / "map.npy", scene.shape[:2]) as out:
        assert isinstance(out, NpyMap)
        seen = []
        score_tiles(rx.decision_function, scene, out, progress=seen.append)
        assert not (tmp_path / "map.npy").exists()  # renamed into place only when complete
    assert seen[-1] == 61 and len(seen) >= 10
    written = np.load(tmp_path / "map.npy")
    np.testing.assert_allclose(written, rx.decision_function(scene), rtol=1e-12)
    with pytest.raises(RuntimeError):
        with open_map(tmp_path / "half.npy", scene.shape[:2]) as out:
            out.write(0, np.zeros((3, 37)))
            raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["map.npy"]


def test_onnx_scores_a_memmap_tile_by_tile(tmp_path, scene, small_tiles):
    pytest.importorskip("onnxruntime")
    from had.runtime import OnnxScorer

    rx = had.get_detector("rx").fit(scene)
    np.save(tmp_path / "scene.npy", scene)
    mapped = np.load(tmp_path / "scene.npy", mmap_mode="r")
    scores = score_tiles(OnnxScorer(rx.export_onnx()).score, mapped)
    eager = rx.decision_function(scene)
    assert np.max(np.abs(scores - eager)) / np.max(eager) < 1e-4


def test_sample_pixels_is_seeded_uniform_and_read_by_tiles(tmp_path, scene, small_tiles):
    np.save(tmp_path / "scene.npy", scene)
    mapped = np.load(tmp_path / "scene.npy", mmap_mode="r")
    rows, picks = sample_pixels(mapped, 500, seed=3)
    assert rows.shape == (500, 12) and rows.dtype == np.float32 and np.all(np.diff(picks) > 0)
    np.testing.assert_array_equal(rows, scene.reshape(-1, 12)[picks])
    again, same = sample_pixels(scene, 500, seed=3)
    np.testing.assert_array_equal(same, picks)
    assert not np.array_equal(sample_pixels(scene, 500, seed=4)[1], picks)
    everything, index = sample_pixels(scene.reshape(-1, 12), 10**6)
    np.testing.assert_array_equal(index, np.arange(61 * 37))
    np.testing.assert_array_equal(everything, scene.reshape(-1, 12))


def _rss_file_kb() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("RssFile:")), None)
    except OSError:
        return None


def test_a_pass_over_a_memmap_does_not_keep_its_pages_resident(tmp_path):
    if _rss_file_kb() is None:
        pytest.skip("needs Linux /proc/self/status (RssFile)")
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(512, 256, 128))  # 64 MiB
    big[:] = 1.0
    big.flush()
    del big
    mapped = np.load(path, mmap_mode="r")

    def grown_by(tiles) -> float:
        before = _rss_file_kb()
        total = sum(float(np.asarray(mapped[start:stop]).sum()) for start, stop in tiles)
        assert total == 512 * 256 * 128
        return (_rss_file_kb() - before) / 1024.0

    step = 16
    released = grown_by(row_tiles(mapped, tile_bytes=step * 256 * 128 * 8))
    kept = grown_by((s, s + step) for s in range(0, 512, step))  # the same tiles without releasing pages
    assert kept > 48 and released < 16, (kept, released)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("rank_deficient", [False, True])
def test_pixel_ordered_and_band_major_layouts_give_the_same_rx(scene, small_tiles, order, rank_deficient):
    """Rows in C order are worked on as (pixels, bands), in Fortran order as (bands, pixels); a full-rank
    covariance is applied as a triangular whitening (trmm), a rank-deficient one through its eigenvectors."""
    rows = scene.reshape(-1, 12).astype(np.float64)
    if rank_deficient:
        rows[:, 11] = rows[:, 0] + rows[:, 1]  # one band a sum of two others: rank 11
    laid_out = np.asarray(rows, order=order)
    assert band_major(laid_out) == (order == "F")
    rx = had.get_detector("rx").fit(laid_out)
    assert rx.whitening_.shape == ((12, 11) if rank_deficient else (12, 12))
    assert rank_deficient or not np.tril(rx.whitening_, -1).any()  # upper triangular: W = L^-T
    reference = two_pass_rx(rows[None])
    np.testing.assert_allclose(rx.decision_scores_, reference.ravel(), rtol=1e-9)
    np.testing.assert_allclose(rx.decision_function(np.asarray(rows, order="C" if order == "F" else "F")),
                               reference.ravel(), rtol=1e-9)


def test_threads_share_each_tile_and_give_the_same_rx(tmp_path, scene, monkeypatch):
    """threads=3 splits every tile's rows between three threads (chunks of 64 pixels here): the same scores as
    one thread to rounding, the same bits from run to run (parts are merged in order), the same fingerprint."""
    import had.tile_chunks

    monkeypatch.setattr(had.tile_chunks, "SCORE_CHUNK", 64)
    np.save(tmp_path / "scene.npy", scene)
    mapped = np.load(tmp_path / "scene.npy", mmap_mode="r")
    one = had.get_detector("rx").fit(mapped)
    three = had.get_detector("rx", threads=3).fit(mapped)
    np.testing.assert_allclose(three.decision_scores_, two_pass_rx(scene).ravel(), rtol=1e-9)
    np.testing.assert_allclose(three.decision_scores_, one.decision_scores_, rtol=1e-12)
    again = had.get_detector("rx", threads=3).fit(mapped)
    np.testing.assert_array_equal(again.decision_scores_, three.decision_scores_)
    fortran = np.asfortranarray(scene)  # band-major: bands the slowest axis
    assert had.tile_chunks.band_major(fortran)
    np.testing.assert_allclose(three.decision_function(fortran), three.decision_scores_.reshape(61, 37), rtol=1e-12)
    assert three.training_sha256_ == one.training_sha256_
