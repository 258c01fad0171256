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
