"""The quicklook's false-colour view of a memory-mapped scene is read a row tile at a time, its pages released.

An audit (5 December 2026): `had score MODEL line.hdr --png q.png` on a 900 MB ENVI BIL line peaked at 1,142 MB
resident against 210 MB without the quicklook: ``scene[::step, ::step, b]`` read the map in one strided pass,
which faults in nearly every page of an interleaved file. The resident figures are a benchmark's matter; this
checks the tiled read gives the same view, tile boundaries included, and that each tile's pages are released."""

from __future__ import annotations

import numpy as np
import pytest

from had import maps, tiling


@pytest.mark.parametrize("step", [1, 3, 7, 40])
def test_the_decimated_view_equals_the_strided_read_across_tiles(tmp_path, monkeypatch, step):
    X = np.random.default_rng(0).random((97, 40, 6)).astype(np.float32)
    X.tofile(tmp_path / "x.dat")
    mapped = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="r", shape=X.shape)
    monkeypatch.setattr(tiling, "TILE_BYTES", tiling.bytes_for_rows(X.shape, 10))  # 10 rows a tile: 10 tiles
    released = []
    real = tiling.release_pages
    monkeypatch.setattr(tiling, "release_pages", lambda A, *rows: (released.append(rows), real(A, *rows))[1])
    got = maps.decimated_bands(mapped, step, [0, 2, 5])
    want = np.stack([X[::step, ::step, b].astype(np.float64) for b in (0, 2, 5)], axis=-1)
    np.testing.assert_array_equal(got, want)
    assert released[:3] == [(0, 10), (10, 20), (20, 30)] and len(released) == 10
