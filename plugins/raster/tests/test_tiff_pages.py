"""A TIFF whose bands are pages written one at a time (a tifffile series each: always so where their data types
differ) is read whole by `raster-file` (a read-only probe of 7 December 2026: its first page alone was read, and a
4-band stack fitted on 1 band unsaid)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import DataFileError

tifffile = pytest.importorskip("tifffile")


def _pages(path, pages):
    with tifffile.TiffWriter(path) as tif:
        for page in pages:
            tif.write(page)


def test_pages_of_one_size_are_the_bands_in_their_order(tmp_path):
    rng = np.random.default_rng(0)
    pages = [(rng.random((32, 32)) * 200).astype(dtype) for dtype in ("uint8", "float32", "int16", "uint16")]
    _pages(tmp_path / "stack.tif", pages)
    data = had.load_dataset("raster-file", path=str(tmp_path / "stack.tif"), tile_size=16, stride=16)
    assert data.X.shape == (4, 4, 16, 16)  # 4 tiles of 4 bands (was: (4, 1, 16, 16))
    first = data.X[0]  # the top-left tile, each band scaled as the source scales it: its order is the pages'
    for band, page in enumerate(pages):
        tile = page[:16, :16].astype(np.float64)
        assert np.corrcoef(first[band].ravel(), tile.ravel())[0, 1] > 0.999, band


def test_pages_of_other_sizes_are_refused(tmp_path):
    _pages(tmp_path / "sizes.tif", [np.zeros((32, 32), np.float32), np.zeros((20, 20), np.float32)])
    with pytest.raises(DataFileError, match=r"holds 2 images \(TIFF pages\) of shapes 20x20, 32x32"):
        had.load_dataset("raster-file", path=str(tmp_path / "sizes.tif"), tile_size=16, stride=16)
