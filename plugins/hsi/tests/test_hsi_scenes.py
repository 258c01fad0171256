"""The known scenes: real-data tests (skipped when a file is absent) and file errors (always run)."""

from __future__ import annotations

import had
import had_hsi
import numpy as np
import pytest
from had.errors import ChecksumError, DataFileError
from had.metrics import auc_pf_tau, auroc

# /work/shared/data/MANIFEST.md: shape and anomaly pixel count of each file
MANIFEST = {
    "sandiego_plane": ((100, 100, 189), 134),
    "hydice": ((100, 80, 162), 19),
    "hydice-ii": ((80, 60, 162), 10),
    "abu-airport-1": ((100, 100, 205), 144),
    "abu-airport-3": ((100, 100, 205), 170),
    "abu-beach-1": ((150, 150, 188), 19),
    "abu-beach-3": ((100, 100, 188), 11),
    "abu-beach-4": ((100, 100, 102), 68),
    "abu-urban-1": ((100, 100, 204), 67),
    "abu-urban-2": ((100, 100, 198), 155),
    "abu-urban-4": ((100, 100, 205), 272),
    "muufl-crop": ((36, 36, 72), 3),
}


def test_the_scene_table_agrees_with_the_manifest():
    assert {name: (s.shape, s.n_anomalies) for name, s in had_hsi.SCENES.items()} == MANIFEST


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_scene_loads_with_the_manifest_shape_and_anomaly_count(name, real_file):
    scene = had_hsi.SCENES[name]
    real_file(scene.file.relpath)
    data = had.load_dataset(name)
    shape, n_anomalies = MANIFEST[name]
    assert data.name == name and data.kind == "cube"
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.y.shape == shape[:2] and np.issubdtype(data.y.dtype, np.integer)
    assert set(np.unique(data.y)) <= {0, 1}
    assert data.n_anomalies == n_anomalies
    for key in ("citation", "url", "sha256", "relpath"):
        assert data.meta[key] == getattr(scene.file, key)
    assert "default_protocol" not in data.meta  # the source class states it (bench reads it there)


@pytest.mark.realdata
@pytest.mark.parametrize("name, height, width", [("hydice", 100, 80), ("hydice-ii", 80, 60)])
def test_non_square_scenes(name, height, width, real_file):
    real_file(had_hsi.SCENES[name].file.relpath)
    data = had.load_dataset(name)
    assert data.X.shape[:2] == (height, width) and data.y.shape == (height, width)


@pytest.mark.realdata
@pytest.mark.parametrize("name, expected", [("hydice", 0.9763), ("sandiego_plane", 0.9403)])
def test_global_rx_on_real_scenes_matches_the_manifest(name, expected, real_file):
    real_file(had_hsi.SCENES[name].file.relpath)
    data = had.load_dataset(name)
    scores = had.get_detector("rx").fit(data.X).decision_function(data.X)
    assert auroc(data.y, scores) == pytest.approx(expected, abs=5e-5)


@pytest.mark.realdata
@pytest.mark.parametrize("name, expected_auroc, expected_pf", [
    ("hydice", 0.999756, 0.008677),
    ("abu-beach-4", 0.992857, 0.043182),
    ("sandiego_plane", 0.990021, 0.009059),
])
def test_lren_published_maps_score_as_published(name, expected_auroc, expected_pf, real_file):
    real_file(had_hsi.LREN_MAPS[name].relpath)
    real_file(had_hsi.SCENES[name].file.relpath)
    scores = had_hsi.lren_published_map(name)
    data = had.load_dataset(name)
    assert scores.shape == data.y.shape and scores.dtype == np.float64
    assert auroc(data.y, scores) == pytest.approx(expected_auroc, abs=1e-6)
    assert auc_pf_tau(data.y, scores) == pytest.approx(expected_pf, abs=1e-6)


@pytest.mark.realdata
def test_lren_map_accepts_the_file_stem(real_file):
    real_file(had_hsi.LREN_MAPS["hydice"].relpath)
    np.testing.assert_array_equal(had_hsi.lren_published_map("HYDICE_data"), had_hsi.lren_published_map("hydice"))


@pytest.mark.realdata
def test_a_corrupted_real_file_fails_its_checksum(real_file, corrupt_copy):
    scene = had_hsi.SCENES["muufl-crop"]
    corrupt_copy(real_file(scene.file.relpath), scene.file.relpath)
    with pytest.raises(ChecksumError, match="sha256"):
        had.load_dataset("muufl-crop")


def test_a_missing_lren_map_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match="HAD_DATA_DIR") as info:
        had_hsi.lren_published_map("sandiego_plane")
    assert had_hsi.LREN_MAPS["sandiego_plane"].url in str(info.value)
