"""A NaN inside a cube is said by its band and its first pixel's row and column (1-based, in the scene, also when the
cube is checked tile by tile), and channels-last tiles of any channel count get the moveaxis hint when the model's
fitted shape says so (user audit of geochemical rasters)."""

from __future__ import annotations

import numpy as np
import pytest

import had.tiling
from had.cubeview import CubeView
from had.errors import InvalidInputError
from had.image_checks import channels_last_error
from had.validation import check_array


def test_a_nan_in_a_cube_is_said_by_band_and_pixel():
    cube = np.ones((30, 40, 10))
    cube[14, 19, 2] = np.nan
    cube[20, 5, 2] = np.inf
    with pytest.raises(InvalidInputError) as caught:
        check_array(cube)
    assert str(caught.value).startswith("data holds 2 NaN or infinite value(s) of 12000 (in band 3), the first at "
                                        "row 15, column 20 (1-based); fill or drop them first")
    rows = cube.reshape(-1, 10)  # a table keeps its columns' words, and names its row (was: the column alone)
    with pytest.raises(InvalidInputError, match=r"of 12000 \(in column 3\), the first in row 580 \(1-based\); fill"):
        check_array(rows)


def test_the_pixel_is_placed_in_the_scene_when_checked_tile_by_tile(monkeypatch):
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)  # a few rows per tile: the NaN is in a later tile
    cube = np.ones((30, 40, 3))
    cube[22, 7, 1] = np.nan
    with pytest.raises(InvalidInputError) as caught:
        check_array(CubeView(cube))
    said = str(caught.value)
    assert "(in band 2), the first at row 23, column 8 (1-based)" in said
    assert not said.startswith("data rows 1-30 ")  # a later tile than the first


def test_channels_last_of_the_fitted_shape_whatever_the_channel_count():
    error = channels_last_error((5, 64, 64, 10), (10, 64, 64))
    assert str(error) == ("fitted on images (10, 64, 64); images of shape (5, 64, 64, 10) are those images stored "
                          "channels-last (N, H, W, C); move the channel axis second, e.g. numpy.moveaxis(x, -1, 1), "
                          "to get (5, 10, 64, 64) (N, C, H, W)")
    assert channels_last_error((5, 10, 64, 64), (10, 64, 64)) is None  # the fitted layout
    assert channels_last_error((5, 64, 64, 10), None) is None  # 10 channels, no fitted shape: not told apart
    assert channels_last_error((5, 32, 32, 10), (10, 64, 64)) is None  # another size: not this shape moved
    assert "look channels-last" in str(channels_last_error((5, 28, 28, 1), (1, 28, 28)))  # the photo case as before
