"""The tiling covers the raster when only ``tile_size`` is given (the stride follows it; a stride that would
leave gaps is refused in one line), and a band holding the declared nodata in every pixel is named with the
``--data bands=`` that leaves it out (an error under ``nodata_any_band``, where it would leave no pixel)."""

from __future__ import annotations

import had
import numpy as np
import pytest
from had.cubeview import TILING, record_of, settings_to_match
from had.errors import ConfigError, InvalidInputError
from had_raster import TileGrid, heatmap
from had_raster.tiles import tile_grid

rasterio = pytest.importorskip("rasterio")

NAMES = ["Cu", "Pb", "Zn", "Au"]


def _stack_tif(path, dead=(), all_dead=False):
    """A 40x48 four-element stack (band names Cu, Pb, Zn, Au) with nodata -9999 in every band on its first 3 rows
    (outside the survey); the bands `dead` (0-based) hold -9999 everywhere, every band with `all_dead`."""
    stack = np.random.default_rng(5).lognormal(size=(4, 40, 48)).astype(np.float32)
    stack[:, :3] = -9999.0
    for band in (range(4) if all_dead else dead):
        stack[band] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=4, dtype="float32", nodata=-9999.0,
                       crs="EPSG:32633", transform=rasterio.Affine(10, 0, 300000, 0, -10, 5000000)) as dst:
        dst.write(stack)
        for band, name in enumerate(NAMES, 1):
            dst.set_band_description(band, name)
    return str(path)


def test_tile_size_alone_tiles_side_by_side_and_maps_every_pixel(tmp_path):
    """Was: the stride stayed 32 whatever the tile size, so 8x8 tiles every 32 px left most pixels unmapped."""
    path = str(tmp_path / "r.npy")
    np.save(path, np.random.default_rng(0).normal(size=(40, 48, 3)).astype(np.float32))
    ds = had.load_dataset("raster-file", path=path, tile_size=8)
    assert ds.meta[TILING] == {"tile_size": 8, "stride": 8} and len(ds.X) == 5 * 6
    assert np.isfinite(heatmap(np.arange(len(ds.X)), TileGrid.from_meta(ds.meta))).all()
    record = record_of(ds.meta)  # the stride used is recorded as a number and repeated by had score
    assert record == {TILING: {"tile_size": 8, "stride": 8}}
    assert settings_to_match(record, {"path": path}, ds.meta.keys() | {"tile_size", "stride"}) == {
        "tile_size": 8, "stride": 8}


def test_the_default_tiling_and_an_explicit_stride_stay_as_they_were():
    source = lambda name, **kw: had.get_datasource(name, **kw).config  # noqa: E731
    assert (source("synthetic-geochem").tile_size, source("synthetic-geochem").stride) == (64, 32)
    assert source("synthetic-geochem", tile_size=16, stride=8).stride == 8
    assert source("synthetic-geochem", stride=None).stride == 64  # None: the tile size
    assert source("hsi-raster").stride == 8 and source("hsi-raster", tile_size=4).stride == 4


def test_a_stride_larger_than_the_tile_is_refused_with_a_fix_that_works(tmp_path):
    path = str(tmp_path / "r.npy")
    np.save(path, np.random.default_rng(0).normal(size=(40, 48, 3)).astype(np.float32))
    with pytest.raises(ConfigError, match=r"stride=16 is larger than tile_size=8, .*: 60\.0% of the 40x48 raster "
                                          r"would be in no tile .*give stride=8"):
        had.load_dataset("raster-file", path=path, tile_size=8, stride=16)
    assert len(had.load_dataset("raster-file", path=path, tile_size=8, stride=8).X) == 30


def test_uncovered_share_counts_the_gaps():
    from had_raster.tiles import uncovered_share

    assert uncovered_share(tile_grid((40, 48), 8, 8)) == 0.0 and uncovered_share(tile_grid((40, 48), 8, 4)) == 0.0
    gappy = tile_grid((40, 48), 8, 16)  # rows 0-7, 16-23, 32-39 (24 of 40); cols 0-7, 16-23, 32-39, 40-47 (32 of 48)
    assert uncovered_share(gappy) == pytest.approx(1 - (24 / 40) * (32 / 48))


def test_a_band_never_measured_is_named_with_the_bands_to_keep(tmp_path):
    """Was: "every 8x8 tile holds more than 0% no-data pixels ... use smaller tiles or allow some", which no
    setting of those fixed."""
    path = _stack_tif(tmp_path / "dead.tif", dead=[2])
    with pytest.raises(InvalidInputError, match=r"^dead: band 3 \(Zn\) holds the no-data value -9999 in every pixel "
                                                r".*nodata_any_band=true every pixel is no-data; leave it out: "
                                                r"bands='1-2,4'$"):
        had.load_dataset("raster-file", path=path, tile_size=8, nodata_any_band=True)
    fixed = had.load_dataset("raster-file", path=path, tile_size=8, nodata_any_band=True, bands="1-2,4")
    assert fixed.X.shape[1] == 3 and np.isfinite(fixed.X).all() and len(fixed.X) == 5 * 6 - 6
    plain = had.load_dataset("raster-file", path=path, tile_size=8)  # fitted as data: one note with the fix
    notes = [n for n in plain.meta["reader_notes"] if "band 3" in n]
    assert len(notes) == 1 and "band 3 (Zn) holds it in every pixel" in notes[0]
    assert notes[0].endswith("leave it out when fitting: --data bands=1-2,4")


def test_a_raster_with_no_data_in_any_band_says_so(tmp_path):
    path = _stack_tif(tmp_path / "none.tif", all_dead=True)
    for any_band in (False, True):
        with pytest.raises(InvalidInputError, match=r"every band \(bands 1-4 \(Cu, Pb, Zn, Au\)\) holds the no-data "
                                                    r"value -9999 in every pixel: there is no data to tile"):
            had.load_dataset("raster-file", path=path, tile_size=8, nodata_any_band=any_band)
