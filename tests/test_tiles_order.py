"""`had.tiling.tiles`: a memory map's tiles keep the file's byte order (BIL, BSQ, BIP views of one file) and equal
the rows they stand for: read-only views of the map where a tile is one stretch of the file (BIL, BIP), copies
otherwise (BSQ); other arrays' tiles are views."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.tiling import read_ahead, tiles

#: the axes of a cube (H, W, B) in the order the file stores them
FILE_AXES = {"bil": (0, 2, 1), "bsq": (2, 0, 1), "bip": (0, 1, 2)}


@pytest.mark.parametrize("interleave", sorted(FILE_AXES))
def test_memory_map_tiles_in_file_order_equal_the_rows(tmp_path, monkeypatch, interleave):
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(23, 11, 5)).astype(np.float32)  # (H, W, B)
    axes = FILE_AXES[interleave]
    path = tmp_path / "scene.raw"
    np.ascontiguousarray(cube.transpose(axes)).tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=tuple(cube.shape[a] for a in axes))
    X = mapped.transpose(np.argsort(axes))  # (H, W, B), as the ENVI reader hands it over
    assert X.shape == cube.shape and np.array_equal(X, cube)
    seen = []
    for start, stop, block in tiles(X):
        assert type(block) is np.ndarray and np.array_equal(block, cube[start:stop])
        order = np.argsort(block.strides)[::-1]  # the copy keeps the file's axis order: no scattered reads
        assert list(order) == list(np.argsort(X.strides)[::-1])
        viewed = interleave != "bsq" and had.tiling.MADV_POPULATE_READ is not None  # no copy of BIL/BIP tiles
        assert np.shares_memory(block, mapped) == viewed and block.flags.writeable != viewed
        seen.append((start, stop))
        read_ahead(X, start, stop)  # a hint only: any tile, any layout, never an error
    assert seen[0][0] == 0 and seen[-1][1] == 23 and len(seen) == 3
    scores = had.get_detector("rx").fit(X).decision_scores_
    np.testing.assert_allclose(scores, had.get_detector("rx").fit(cube).decision_scores_, rtol=1e-9)


def test_in_memory_tiles_are_views():
    X = np.arange(60.0).reshape(6, 5, 2)
    blocks = [block for _, _, block in tiles(X, tile_bytes=80)]
    assert all(np.shares_memory(block, X) for block in blocks) and sum(len(b) for b in blocks) == 6


def test_a_pass_of_viewed_tiles_does_not_keep_the_file_resident(tmp_path):
    """The pages of each viewed tile are released when the next is asked for: a 64 MiB BIL file passed in 4 MiB
    tiles leaves the process's file-backed resident memory grown by a few tiles, not the file."""
    try:
        with open("/proc/self/status") as fh:
            rss_file = [line for line in fh if line.startswith("RssFile:")]
    except OSError:
        rss_file = []
    if not rss_file or had.tiling.MADV_POPULATE_READ is None:
        pytest.skip("needs Linux /proc/self/status (RssFile) and MADV_POPULATE_READ")

    def resident_mb() -> float:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("RssFile:")) / 1024.0

    path = tmp_path / "line.bil"
    np.ones((512, 128, 256), dtype=np.float32).tofile(path)  # (lines, bands, samples): 64 MiB
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(512, 128, 256)).transpose(0, 2, 1)
    before, total, grown = resident_mb(), 0.0, 0.0
    for _, _, block in tiles(X, tile_bytes=8 * 2**20):  # 32 rows as float64: 4 MiB of float32 a tile
        total += float(block.sum(dtype=np.float64))
        grown = max(grown, resident_mb() - before)
    assert total == 512 * 128 * 256 and grown < 16, grown


def test_advise_maps_and_drops_the_pages_it_names(tmp_path):
    """`had.tiling.advise` (libc's madvise through ctypes, so the GIL is free while a cold tile is read) acts on
    the pages at the offset it is given: populating 8 MiB of a 32 MiB file maps those pages (their values are
    the file's), dropping them unmaps them, and an advice the kernel does not know fails as mmap.madvise does."""
    import errno
    import mmap

    try:
        with open("/proc/self/status") as fh:
            has_rss_file = any(line.startswith("RssFile:") for line in fh)
    except OSError:
        has_rss_file = False
    if not has_rss_file or had.tiling.MADV_POPULATE_READ is None or had.tiling._MADVISE is None:
        pytest.skip("needs Linux /proc/self/status (RssFile), MADV_POPULATE_READ and libc's madvise")

    def resident_mb() -> float:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("RssFile:")) / 1024.0

    path = tmp_path / "line.raw"
    np.arange(8 * 2**20, dtype=np.float32).tofile(path)  # 32 MiB
    X = np.memmap(path, dtype=np.float32, mode="r")
    mapped = X._mmap
    had.tiling.advise(mapped, mmap.MADV_DONTNEED, 0, len(mapped))
    before = resident_mb()
    had.tiling.advise(mapped, had.tiling.MADV_POPULATE_READ, 16 * 2**20, 8 * 2**20)
    populated = resident_mb()
    assert 7.5 < populated - before < 9.0
    values = np.asarray(X[4 * 2**20:6 * 2**20])  # the populated pages: reading them maps nothing more
    assert np.array_equal(values, np.arange(4 * 2**20, 6 * 2**20, dtype=np.float32))
    assert resident_mb() - populated < 0.5
    had.tiling.advise(mapped, mmap.MADV_DONTNEED, 0, len(mapped))
    assert resident_mb() - before < 1.0
    with pytest.raises(OSError) as raised:
        had.tiling.advise(mapped, 12345, 0, mmap.PAGESIZE)
    assert raised.value.errno == errno.EINVAL
    del X, mapped
