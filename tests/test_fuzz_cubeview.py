"""Property: a :class:`had.cubeview.CubeView` indexes, tiles and materialises as the array it stands for (the
kept bands, the fill widened), for any band subset and the index forms detectors, the tiling and the quicklook
use (slices with steps, integers, lists on the band axis, Ellipsis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from had.cubeview import CubeView
from had.tiling import tiles

BASE = np.random.default_rng(0).integers(-3, 4, size=(7, 5, 6)).astype(np.float32)  # -3 plays the fill


def expected(bands, fill):
    out = BASE if bands is None else BASE[..., bands]
    if fill is not None:
        out = np.where((out == fill).any(axis=-1, keepdims=True), np.float32(fill), out)
    return np.ascontiguousarray(out)


axis_key = st.one_of(st.integers(-5, 4), st.builds(slice, st.none() | st.integers(-6, 6),
                                                   st.none() | st.integers(-6, 6), st.none() | st.integers(1, 3)),
                     st.lists(st.integers(0, 4), min_size=1, max_size=3))


@fuzz(150)
@given(bands=st.none() | st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True).map(sorted),
       fill=st.sampled_from([None, -3.0]),
       lead=st.lists(axis_key, min_size=0, max_size=2),
       last=st.none() | st.integers(-1, 0) | st.lists(st.integers(0, 0), min_size=1, max_size=3),
       ellipsis=st.booleans(),
       as_float64=st.booleans())
def test_a_view_indexes_like_its_array(bands, fill, lead, last, ellipsis, as_float64):
    """(With `as_dtype`, an integer file seen as float64: every read comes back float64, equal values.)"""
    base = BASE.astype(np.int16) if as_float64 else BASE
    view = CubeView(base, None if bands is None else np.array(bands), fill, np.float64 if as_float64 else None)
    array = expected(bands, fill).astype(np.float64 if as_float64 else np.float32)
    np.testing.assert_array_equal(np.asarray(view), array)
    assert view.shape == array.shape and view.dtype == array.dtype and np.asarray(view).dtype == array.dtype
    key = tuple(lead)
    if ellipsis:
        key = (Ellipsis,) + ((last,) if last is not None else ())
    elif last is not None and len(key) == 2:
        key = key + (last,)
    try:
        want = array[key]
    except IndexError:  # index arrays that do not broadcast: the view refuses them as numpy does
        with pytest.raises(IndexError):
            view[key]
    else:
        got = view[key]
        np.testing.assert_array_equal(got, want)
        assert np.asarray(got).dtype == array.dtype
    np.testing.assert_array_equal(np.concatenate([b for _, _, b in tiles(view, tile_bytes=5 * 6 * 8 * 2)]), array)
