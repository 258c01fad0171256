"""Ground truth maps read from files of their own (had.truth)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from had.errors import DataFileError, LabelError
from had.truth import as_map, read_map_file, truth_for


def test_array_files_give_their_map(tmp_path):
    mask = np.zeros((4, 5), dtype=np.uint8)
    mask[1, 2] = 3
    np.save(tmp_path / "m.npy", mask)
    scipy.io.savemat(tmp_path / "one.mat", {"groundtruth": mask})  # one array under any name
    scipy.io.savemat(tmp_path / "two.mat", {"cube": np.ones((4, 5, 2)), "map": mask})
    np.savez(tmp_path / "keys.npz", a=mask, b=mask.T)
    for name in ("m.npy", "one.mat", "two.mat"):
        assert truth_for(tmp_path / name, (4, 5, 7)).tolist() == (mask > 0).astype(int).tolist()
    assert read_map_file(tmp_path / "keys.npz", "b").shape == (5, 4)
    with pytest.raises(LabelError, match=r"has no array 'map' \(its arrays: 'a', 'b'\); name the map's key"):
        read_map_file(tmp_path / "keys.npz")
    with pytest.raises(DataFileError, match="no such ground truth file"):
        read_map_file(tmp_path / "absent.npy")
    with pytest.raises(LabelError, match="is it transposed"):
        truth_for(tmp_path / "m.npy", (5, 4, 2))


def test_a_single_band_geotiff_is_a_map_and_a_multiband_one_is_refused(tmp_path):
    pytest.importorskip("had_raster")
    rasterio = pytest.importorskip("rasterio")
    mask = np.zeros((6, 7), dtype=np.uint8)
    mask[2, 3] = 1
    with rasterio.open(tmp_path / "t.tif", "w", driver="GTiff", height=6, width=7, count=1, dtype="uint8") as dst:
        dst.write(mask[None])
    assert truth_for(tmp_path / "t.tif", (6, 7, 3)).sum() == 1 and truth_for(tmp_path / "t.tif", (6, 7, 3))[2, 3] == 1
    outside = mask.copy()
    outside[:, 5:] = 255  # a rasterised footprint: the mask's own nodata outside it
    with rasterio.open(tmp_path / "n.tif", "w", driver="GTiff", height=6, width=7, count=1, dtype="uint8",
                       nodata=255) as dst:
        dst.write(outside[None])
    assert truth_for(tmp_path / "n.tif", (6, 7, 3)).tolist() == mask.astype(int).tolist()  # not 12 more targets
    with rasterio.open(tmp_path / "c.tif", "w", driver="GTiff", height=6, width=7, count=2, dtype="uint8") as dst:
        dst.write(np.stack([mask, mask]))
    with pytest.raises(LabelError, match=r"a ground truth map is one band \(H, W\)"):
        read_map_file(tmp_path / "c.tif")


def test_as_map_is_zero_one_and_checks_shape_and_dtype():
    assert as_map(np.array([[0.0, 0.5], [-1.0, 2.0]]), (2, 2, 3), "m").tolist() == [[0, 1], [0, 1]]
    with pytest.raises(LabelError, match=r"stored as \(B, H, W\)"):
        as_map(np.zeros((2, 3)), (4, 2, 3), "m")
    with pytest.raises(LabelError, match="dtype"):
        as_map(np.array([["a", "b"]]), (1, 2, 3), "m")


def test_a_georeferenced_mask_on_another_grid_is_refused(tmp_path):
    """``--data map_path=mask.tif`` checked the mask's height and width only: a mask of another line (another
    origin, another CRS) of the same size was measured pixel by pixel as the scene's (AUROC 1.0, exit 0)."""
    rasterio = pytest.importorskip("rasterio")
    save_envi = pytest.importorskip("had_hsi.envi").save_envi
    import had
    from had.errors import LabelError

    cube = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)
    save_envi(tmp_path / "line.hdr", cube, "bil",
              map_info=["UTM", 1.0, 1.0, 500000.0, 4200000.0, 2.0, 3.0, 11, "North", "WGS-84", "units=Meters"])
    mask = np.zeros((1, 12, 10), dtype=np.uint8)
    mask[0, 3, 4] = 1

    def write(name, transform, crs):
        with rasterio.open(tmp_path / name, "w", driver="GTiff", height=12, width=10, count=1, dtype="uint8",
                           transform=rasterio.Affine(*transform), crs=crs) as dst:
            dst.write(mask)
        return str(tmp_path / name)

    same = write("same.tif", (2.0, 0.0, 500000.0, 0.0, -3.0, 4200000.0), "EPSG:32611")
    moved = write("moved.tif", (0.1, 0.0, 10.0, 0.0, -0.1, 50.0), "EPSG:32611")
    other_crs = write("crs.tif", (2.0, 0.0, 500000.0, 0.0, -3.0, 4200000.0), "EPSG:32612")
    scene = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"), map_path=same)
    assert scene.y.reshape(12, 10)[3, 4] == 1 and scene.y.sum() == 1
    with pytest.raises(LabelError, match="the map lies on another grid than the scene"):
        had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"), map_path=moved)
    with pytest.raises(LabelError, match=r"another coordinate reference system than the scene \(EPSG:32612 "
                                         r"against EPSG:32611\)") as refused:  # was ~800 characters of WKT
        had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"), map_path=other_crs)
    assert len(str(refused.value)) < 300 + len(other_crs)


def test_a_map_of_the_cubes_height_and_another_width_is_not_called_band_first():
    """Was: a (30, 20) map for a (30, 30, 20) cube was told the cube "is probably stored as (B, H, W)" and to move
    its band axis, which would break a cube that was right; the map is what is wrong."""
    with pytest.raises(LabelError) as err:
        as_map(np.zeros((30, 20)), (30, 30, 20), "scene")
    assert "(B, H, W)" not in str(err.value) and "the cube is 30x30" in str(err.value)
    with pytest.raises(LabelError, match=r"probably stored as \(B, H, W\)"):  # still said where it fits
        as_map(np.zeros((40, 50)), (20, 40, 50), "scene")
