"""The training fingerprint: the sha256 of the sha256 digests of 16 MiB blocks of the values in C order,
little-endian (the formula in had.fingerprint's docstring, whatever the tiles, pieces and threads), computed from
views (no copy of the data in C order), equal between RX's one-pass fit and Detector.fit; the older forms (rows in
memory order: blocks, the plain sha256) of models saved before it; and fitting a memory-mapped scene allocates no
second copy of it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import had
import had.tiling
from had.detector import Detector
from had import fingerprint
from had.fingerprint import BLOCK_BYTES, BlockDigest, training_sha256

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


def blocks(data: bytes, block: int = BLOCK_BYTES) -> str:
    """The documented form, written out: sha256 of the blocks' sha256 digests, in order."""
    return hashlib.sha256(b"".join(hashlib.sha256(data[i:i + block]).digest()
                                   for i in range(0, len(data), block))).hexdigest()


@pytest.fixture
def cube():
    return np.random.default_rng(5).normal(size=(29, 13, 6)).astype(np.float32)


def test_a_c_ordered_array_hashes_as_its_bytes(cube):
    assert training_sha256(cube, tile_bytes=1000) == blocks(cube.tobytes())
    rows = cube.reshape(-1, 6).astype(np.float64)
    assert training_sha256(rows, tile_bytes=500) == blocks(rows.tobytes())
    # the form of models saved before 5 December 2026, 11:40 UTC, still computed for them: the plain sha256
    assert training_sha256(rows, tile_bytes=500, scheme="sha256") == hashlib.sha256(rows.tobytes()).hexdigest()
    assert blocks(rows.tobytes()) != hashlib.sha256(rows.tobytes()).hexdigest()
    with pytest.raises(ValueError, match="unknown fingerprint scheme 'md5'"):
        training_sha256(rows, scheme="md5")


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 700, 2345])
@pytest.mark.parametrize("workers", [1, 3])
def test_blocks_are_cut_from_the_stream_whatever_the_pieces_fed_and_the_threads(size, workers):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
    rng = np.random.default_rng(workers)
    digest, at = BlockDigest(workers=workers, block_bytes=100), 0
    while at < size:
        step = int(rng.integers(1, 260))  # pieces shorter and longer than a block, across block edges
        digest.update(data[at:at + step])
        at += step
    assert digest.hexdigest() == blocks(data.tobytes(), 100)
    assert BlockDigest(workers=workers, block_bytes=100).update(data).hexdigest() == blocks(data.tobytes(), 100)


def test_a_file_of_several_blocks_the_fit_the_file_and_the_documented_one_liner_agree(tmp_path):
    cube = np.random.default_rng(1).normal(size=(80, 64, 1024)).astype(np.float32)  # 20 MiB: two blocks, one short
    X, path = mapped_scene(tmp_path, cube, "bip")  # the values in C order: the file's bytes are hashed
    expected = blocks(path.read_bytes())
    assert expected != blocks(path.read_bytes()[:BLOCK_BYTES])
    assert fingerprint.of_file(path) == expected
    assert had.get_detector("rx", threads=2).fit(X).training_sha256_ == expected
    assert BandMeans().fit(X).training_sha256_ == expected
    command = re.search(r'python -c "(.+)" line\.img', fingerprint.__doc__).group(1)  # as the docs give it
    run = subprocess.run([sys.executable, "-c", command, str(path)], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == expected


@pytest.mark.parametrize("interleave", sorted(FILE_AXES))
def test_a_memory_map_hashes_in_c_order_whatever_the_interleave_and_the_tiles(tmp_path, cube, interleave):
    X, path = mapped_scene(tmp_path, cube, interleave)
    digests = {training_sha256(X, tile_bytes=size) for size in (1, 700, 5000, 10**9)}
    assert digests == {blocks(cube.tobytes())}  # one row, a few rows, everything, any interleave: the values
    assert (digests == {fingerprint.of_file(path)}) == (interleave == "bip")  # a BIP file's bytes are in C order
    if interleave in ("bil", "bip"):  # the older forms hash rows in memory order: the file's bytes
        assert training_sha256(X, tile_bytes=700, scheme="sha256-blocks-16MiB") == blocks(path.read_bytes())
        assert training_sha256(X, tile_bytes=700, scheme="sha256") == hashlib.sha256(path.read_bytes()).hexdigest()
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
    X = np.arange(24, dtype=np.float32).reshape(4, 6)
    with fingerprint.known(X, "given"):
        assert training_sha256(X) == "given"
        assert training_sha256(X.copy()) == blocks(X.tobytes())  # an equal array is hashed
        assert training_sha256(X, scheme="sha256") == hashlib.sha256(X.tobytes()).hexdigest()  # another form
        with fingerprint.known(X[:2], "inner"):
            assert training_sha256(X) == blocks(X.tobytes())
        assert training_sha256(X) == "given"
    assert training_sha256(X) == blocks(X.tobytes())
