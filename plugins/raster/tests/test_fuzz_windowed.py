"""Property: a compressed GeoTIFF read by row windows (``WindowedGeoTiff``, alone and behind a ``CubeView`` with
bands and fill) indexes, crops, tiles and materialises as the array it stands for."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

rasterio = pytest.importorskip("rasterio")
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from fuzzing import fuzz  # noqa: E402

from had.cubeview import CubeView  # noqa: E402
from had.tiling import tiles  # noqa: E402
from had_raster.geotiff import WindowedGeoTiff  # noqa: E402

BASE = np.random.default_rng(1).integers(-3, 4, size=(9, 5, 4)).astype(np.float32)  # -3 plays the fill


@pytest.fixture(scope="module")
def lazy(tmp_path_factory):
    path = tmp_path_factory.mktemp("windowed") / "cube.tif"
    with rasterio.open(path, "w", driver="GTiff", height=9, width=5, count=4, dtype="float32", compress="deflate",
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 0, 0, -1, 9)) as dst:
        dst.write(BASE.transpose(2, 0, 1))
    return WindowedGeoTiff(path, BASE.shape, np.float32)


row_key = st.one_of(st.integers(-10, 9), st.builds(slice, st.none() | st.integers(-11, 11),
                                                   st.none() | st.integers(-11, 11),
                                                   st.none() | st.sampled_from([1, 2, 3, -1, -2])),
                    st.lists(st.integers(-10, 9), min_size=0, max_size=4))
rest_key = st.one_of(st.integers(-5, 4),
                     st.builds(slice, st.none() | st.integers(-6, 6), st.none() | st.integers(-6, 6)),
                     st.lists(st.integers(0, 3), min_size=1, max_size=2))


@fuzz(120)
@given(first=row_key, rest=st.lists(rest_key, max_size=1),
       crop=st.tuples(st.integers(0, 4), st.integers(5, 9), st.integers(0, 2), st.integers(3, 5)))
def test_a_windowed_geotiff_indexes_like_its_array(lazy, first, rest, crop):
    r0, r1, c0, c1 = crop
    for reader, array in ((lazy, BASE), (lazy.crop((r0, r1), (c0, c1)), BASE[r0:r1, c0:c1])):
        key = (np.array(first, dtype=int) if isinstance(first, list) else first, *rest)
        try:
            want = array[key]
        except IndexError:
            with pytest.raises(IndexError):
                reader[key]
        else:
            np.testing.assert_array_equal(reader[key], want)
        np.testing.assert_array_equal(np.asarray(reader), array)
        assert reader.shape == array.shape and len(reader) == array.shape[0]


@fuzz(40)
@given(bands=st.none() | st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True).map(sorted),
       fill=st.sampled_from([None, -3.0]), rows_per_tile=st.integers(1, 9))
def test_a_view_of_it_tiles_like_the_array(lazy, bands, fill, rows_per_tile):
    view = CubeView(lazy, None if bands is None else np.array(bands), fill)
    array = BASE if bands is None else BASE[..., bands]
    if fill is not None:
        array = np.where((array == fill).any(axis=-1, keepdims=True), np.float32(fill), array)
    got = np.concatenate([b for _, _, b in tiles(view, tile_bytes=5 * view.shape[2] * 8 * rows_per_tile)])
    np.testing.assert_array_equal(got, array)
