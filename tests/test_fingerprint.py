"""The training fingerprint: sha256 of the rows in memory order, computed from views (no copy of the data), equal
between RX's one-pass fit and Detector.fit, and fitting a memory-mapped scene allocates no second copy of it."""

from __future__ import annotations

import hashlib
import tracemalloc

import numpy as np
import pytest

import had
import had.tiling
from had.detector import Detector
from had.fingerprint import training_sha256

#: the axes of a cube (H, W, B) in the order the file stores them
FILE_AXES = {"bil": (0, 2, 1), "bsq": (2, 0, 1), "bip": (0, 1, 2)}


def mapped_scene(tmp_path, cube: np.ndarray, interleave: str):
    axes = FILE_AXES[interleave]
    path = tmp_path / f"scene.{interleave}"
    np.ascontiguousarray(cube.transpose(axes)).tofile(path)
    mapped = np.memmap(path, dtype=cube.dtype, mode="r", shape=tuple(cube.shape[a] for a in axes))
    return mapped.transpose(np.argsort(axes)), path  # (H, W, B), as the ENVI reader hands it over


class BandMeans(Detector):
    """A detector whose fit reads the data tile by tile: what Detector.fit itself allocates is what is measured."""

    name = "band-means"
    kinds = ("cube",)

    def _fit(self, X, y):
        self.mean_ = sum(np.asarray(t, dtype=np.float64).sum(axis=(0, 1)) for _, _, t in had.tiling.tiles(X))
        return np.zeros(X.shape[0] * X.shape[1])

    def _score(self, X):
        return np.zeros(X.shape[:2])


@pytest.fixture
def cube():
    return np.random.default_rng(5).normal(size=(29, 13, 6)).astype(np.float32)


def test_a_c_ordered_array_hashes_as_its_bytes(cube):
    assert training_sha256(cube, tile_bytes=1000) == hashlib.sha256(cube.tobytes()).hexdigest()
    rows = cube.reshape(-1, 6).astype(np.float64)
    assert training_sha256(rows, tile_bytes=500) == hashlib.sha256(rows.tobytes()).hexdigest()


@pytest.mark.parametrize("interleave", sorted(FILE_AXES))
def test_a_memory_map_hashes_in_file_order_whatever_the_tiles(tmp_path, cube, interleave):
    X, path = mapped_scene(tmp_path, cube, interleave)
    digests = {training_sha256(X, tile_bytes=size) for size in (1, 700, 5000, 10**9)}
    assert len(digests) == 1  # one row, a few rows, everything: the same fingerprint
    if interleave in ("bil", "bip"):  # rows are stretches of the file: its sha256sum
        assert digests == {hashlib.sha256(path.read_bytes()).hexdigest()}
    rx = had.get_detector("rx").fit(X)  # the one-pass fit hashes its own tile copies: the same value
    assert rx.training_sha256_ in digests
    assert BandMeans().fit(X).training_sha256_ in digests


def test_fitting_a_memory_map_allocates_no_second_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 2**20)
    cube = np.random.default_rng(0).normal(size=(256, 128, 64)).astype(np.float32)  # 8 MiB
    X, _ = mapped_scene(tmp_path, cube, "bil")
    tracemalloc.start()
    try:
        BandMeans().fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * X.nbytes, peak  # before: a C-order copy and its bytes (2x the scene)
    tracemalloc.start()
    try:
        rx = had.get_detector("rx").fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes + rx.decision_scores_.nbytes, peak  # a few 1 MiB tiles and the training scores


def test_a_known_fingerprint_is_given_for_that_object_only_and_only_within_the_block():
    from had import fingerprint

    X = np.arange(24, dtype=np.float32).reshape(4, 6)
    with fingerprint.known(X, "given"):
        assert training_sha256(X) == "given"
        assert training_sha256(X.copy()) == hashlib.sha256(X.tobytes()).hexdigest()  # an equal array is hashed
        with fingerprint.known(X[:2], "inner"):
            assert training_sha256(X) == hashlib.sha256(X.tobytes()).hexdigest()
        assert training_sha256(X) == "given"
    assert training_sha256(X) == hashlib.sha256(X.tobytes()).hexdigest()
