"""RX on a scene read with ``nodata_any_band`` (:class:`had.cubeview.CubeView` spreading the no-data value) where
one band holds the value in every pixel: the fit that has no pixel left names that band and the ``--data bands=``
leaving it out (was: "N pixels hold the no-data value in every band ... --set nodata=null fits every pixel",
untrue, and a fix that fitted the no-data value as data); a scene with no data at all still says that."""

from __future__ import annotations

import numpy as np
import pytest

from had.cubeview import view_scene
from had.errors import InvalidInputError
from had.rx import RX


def _memmap_scene(tmp_path, dead=(), footprints=False):
    """A 30x20x4 float32 scene as a memory map (read lazily, so the view stays a CubeView), -9999 on its first 2
    rows in every band; the bands `dead` (0-based) hold -9999 everywhere; with `footprints`, bands 1 and 2 miss
    each other's halves (every pixel lacks one of them)."""
    rng = np.random.default_rng(1)
    cube = np.lib.format.open_memmap(tmp_path / "scene.npy", mode="w+", dtype=np.float32, shape=(30, 20, 4))
    cube[:] = rng.normal(10, 1, size=(30, 20, 4))
    cube[:2] = -9999.0
    for band in dead:
        cube[..., band] = -9999.0
    if footprints:
        cube[:, :10, 0] = -9999.0
        cube[:, 10:, 1] = -9999.0
    cube.flush()
    return np.load(tmp_path / "scene.npy", mmap_mode="r"), {"nodata": -9999.0}


def test_a_band_never_measured_is_named_with_the_bands_to_keep(tmp_path):
    cube, meta = _memmap_scene(tmp_path, dead=[2])
    view, _ = view_scene(cube, meta, "scene.npy", nodata_any_band=True)
    with pytest.raises(InvalidInputError) as caught:
        RX(nodata=-9999.0).fit(view)
    line = str(caught.value)
    assert "band 3 holds the no-data value -9999 in every pixel" in line and "in every band" not in line
    assert line.endswith("leave it out: --data bands=1-2,4")
    fixed, _ = view_scene(cube, meta, "scene.npy", bands="1-2,4", nodata_any_band=True)  # the fix named
    assert RX(nodata=-9999.0).fit(fixed).fill_pixels_ == 2 * 20


def test_bands_whose_footprints_do_not_overlap_are_said_as_that(tmp_path):
    cube, meta = _memmap_scene(tmp_path, footprints=True)
    view, _ = view_scene(cube, meta, "scene.npy", nodata_any_band=True)
    with pytest.raises(InvalidInputError, match="in some band .*footprints do not overlap") as caught:
        RX(nodata=-9999.0).fit(view)
    assert "in every band" not in str(caught.value)


def test_a_scene_with_no_data_in_any_band_still_says_every_band(tmp_path):
    cube, meta = _memmap_scene(tmp_path, dead=[0, 1, 2, 3])
    view, _ = view_scene(cube, meta, "scene.npy", nodata_any_band=True)
    for X in (view, np.asarray(cube)):
        with pytest.raises(InvalidInputError, match="600 pixels hold the no-data value -9999 in every band, which "
                                                    "leaves 0"):
            RX(nodata=-9999.0).fit(X)
