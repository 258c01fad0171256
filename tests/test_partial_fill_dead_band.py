"""The partial-fill note of a band that holds the no-data value in every pixel: leave it out (was: "add --data
nodata_any_band=true", which then left no pixel to fit)."""

from __future__ import annotations

import numpy as np

from had.nodata import PartialFill, fill_pixels, partial_line


def _record(cube, value=-9999.0, tiles=3):
    partial = PartialFill()
    for block in np.array_split(cube, tiles):
        fill_pixels(block, value, partial)
    return partial.record()


def test_a_band_never_measured_is_named_and_left_out():
    cube = np.random.default_rng(0).normal(size=(9, 5, 4))
    cube[:, :, 2] = -9999.0
    cube[0, :, :] = -9999.0  # a row of fill pixels (every band): not data, does not make a band live
    record = _record(cube)
    assert record == {"pixels": 40, "bands": [2], "dead": [2]}
    said = partial_line("scene", -9999.0, record)
    assert "band 3 holds it in every pixel (never measured): leave it out (--data bands= the others)" in said
    assert "add --data nodata_any_band=true" not in said


def test_a_band_missing_in_part_keeps_the_nodata_any_band_advice():
    cube = np.random.default_rng(1).normal(size=(9, 5, 4))
    cube[:4, :, 1] = -9999.0  # the band's footprint ends: partly measured
    record = _record(cube)
    assert record == {"pixels": 20, "bands": [1]}
    assert "add --data nodata_any_band=true" in partial_line("scene", -9999.0, record)
