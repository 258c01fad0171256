"""``hsi-file``: any user cube from a .mat or .npz file, and its typed errors. No data files needed."""

from __future__ import annotations

import had
import numpy as np
import pytest
import scipy.io
from had.datadir import sha256_of
from had.errors import ConfigError, DataFileError, InvalidInputError, LabelError


@pytest.fixture
def cube():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 1000, size=(7, 5, 4)).astype(np.uint16)  # non-square, integer like AVIRIS files
    gt = np.zeros((7, 5))
    gt[1, 2], gt[5, 4], gt[3, 0] = 1.0, 2.0, -1.0  # anomaly where > 0: two pixels
    return X, gt


def test_npz_cube_and_map(tmp_path, cube):
    X, gt = cube
    path = tmp_path / "scene.npz"
    np.savez(path, data=X, map=gt)
    data = had.load_dataset("hsi-file", path=str(path))
    assert data.name == "scene" and data.kind == "cube"
    assert data.X.shape == (7, 5, 4) and data.X.dtype == np.float64
    np.testing.assert_array_equal(data.X, X.astype(np.float64))
    assert data.y.shape == (7, 5) and set(np.unique(data.y)) == {0, 1}
    assert data.n_anomalies == 2 and data.y[1, 2] == 1 and data.y[5, 4] == 1 and data.y[3, 0] == 0
    assert data.meta["sha256"] == sha256_of(path) and data.meta["path"] == str(path)


def test_mat_cube_with_custom_keys(tmp_path, cube):
    X, gt = cube
    path = tmp_path / "mine.mat"
    scipy.io.savemat(path, {"cube": X, "truth": gt > 0})  # a MATLAB logical map
    data = had.load_dataset("hsi-file", path=str(path), data_key="cube", map_key="truth")
    assert data.X.shape == (7, 5, 4) and data.n_anomalies == 2


def test_no_ground_truth(tmp_path, cube):
    path = tmp_path / "scene.npz"
    np.savez(path, data=cube[0])
    data = had.load_dataset("hsi-file", path=str(path), map_key=None)
    assert data.y is None and data.X.shape == (7, 5, 4)
    data = had.load_dataset(str(path))  # the cube alone: no truth (was: "has no key 'map'")
    assert data.y is None and data.X.shape == (7, 5, 4)


def test_missing_key_names_the_available_keys(tmp_path, cube):
    path = tmp_path / "scene.mat"
    scipy.io.savemat(path, {"cube": cube[0], "gt": cube[1]})
    with pytest.raises(DataFileError, match="'data'") as info:
        had.load_dataset("hsi-file", path=str(path))
    assert "cube" in str(info.value) and "gt" in str(info.value)
    with pytest.raises(DataFileError, match="'map'"):
        had.load_dataset("hsi-file", path=str(path), data_key="cube")


@pytest.mark.parametrize("shape", [(35, 4), (2, 7, 5, 4), (35,)])
def test_wrong_rank_is_invalid_input(tmp_path, shape):
    path = tmp_path / "flat.npz"
    np.savez(path, data=np.ones(shape))
    with pytest.raises(InvalidInputError, match=r"\(H, W, B\)"):
        had.load_dataset("hsi-file", path=str(path), map_key=None)


def test_map_of_another_shape_is_a_label_error(tmp_path, cube):
    X, gt = cube
    path = tmp_path / "scene.npz"
    np.savez(path, data=X, map=gt[:6])
    with pytest.raises(LabelError, match="7x5"):
        had.load_dataset("hsi-file", path=str(path))
    np.savez(path, data=X, map=gt.T)
    with pytest.raises(LabelError, match="transposed"):
        had.load_dataset("hsi-file", path=str(path))


def test_nan_in_the_cube_is_invalid_input(tmp_path, cube):
    X = cube[0].astype(np.float64)
    X[0, 0, 0] = np.nan
    path = tmp_path / "scene.npz"
    np.savez(path, data=X)
    with pytest.raises(InvalidInputError, match="NaN"):
        had.load_dataset("hsi-file", path=str(path), map_key=None)


def test_missing_or_unsupported_file(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        had.load_dataset("hsi-file", path=str(tmp_path / "absent.mat"))
    other = tmp_path / "scene.csv"
    other.write_text("1,2,3\n")
    with pytest.raises(DataFileError, match="unsupported"):
        had.load_dataset("hsi-file", path=str(other))


def test_config_needs_a_path():
    with pytest.raises(ConfigError, match="path"):
        had.get_datasource("hsi-file")


def _cube_with_a_nan_band(path, shape, seed):
    """A .mat cube (`data`, with its truth `map`) whose fifth band is NaN and whose pixel (3, 3) is the one anomaly;
    returns the cube."""
    X = np.random.default_rng(seed).normal(size=shape)
    X[..., 4] = np.nan
    truth = np.zeros(shape[:2])
    truth[3, 3] = 1
    X[3, 3] += 5.0
    scipy.io.savemat(path, {"data": X, "map": truth})
    return X


def test_bands_leave_water_bands_out_of_a_mat_cube_at_fit_and_at_score(tmp_path):
    """``hsi-file`` takes ``bands`` (1-based ranges) as the file sources do: a .mat cube whose fifth band holds NaN
    fits on the others; ``had score`` (the in-memory path) reads the file with the model's bands, says so, and
    prints the metrics of the map it wrote; the model equals RX on the kept bands."""
    import subprocess
    import sys

    from had.rx import RX

    X = _cube_with_a_nan_band(tmp_path / "pav.mat", (30, 20, 6), seed=0)
    data = had.load_dataset("hsi-file", path=str(tmp_path / "pav.mat"), bands="1-4,6")
    assert data.X.shape == (30, 20, 5) and data.meta["bands_kept"] == [0, 1, 2, 3, 5]

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "had.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("fit", "rx", tmp_path / "pav.mat", "-o", tmp_path / "m", "--data", "bands=1-4,6")
    said = run("score", tmp_path / "m", tmp_path / "pav.mat", "-o", tmp_path / "s.npy")
    assert "pav: read as the model's scene was at fit: bands=1-4,6" in said
    assert "pav: using 5 bands (bands 1-4, 6 of the file)" in said and "auroc 1.0000" in said
    kept = X[..., [0, 1, 2, 3, 5]]
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), RX().fit(kept).decision_function(kept), rtol=1e-9)


def test_export_reads_its_dataset_with_the_models_bands_as_score_does(tmp_path):
    """``had export MODEL DATA`` read DATA as given, so a model fitted on ``--data bands=...`` refused the very file
    ``had score`` scores ("fitted on 5 bands, got 6"); it now reads it as ``had score`` does, and says so."""
    import subprocess
    import sys

    _cube_with_a_nan_band(tmp_path / "pav.mat", (20, 15, 6), seed=1)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "had.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    assert run("fit", "rx", tmp_path / "pav.mat", "-o", tmp_path / "m", "--data", "bands=1-4,6").returncode == 0
    done = run("export", tmp_path / "m", tmp_path / "pav.mat")
    assert done.returncode == 0, done.stderr
    assert "pav: read as the model's scene was at fit: bands=1-4,6" in done.stdout
    assert (tmp_path / "m" / "model.onnx").is_file()
    assert "AUROC against ground truth: eager 1.0000, onnx 1.0000" in done.stdout, done.stdout
    assert "parity passed" in done.stdout
    before = (tmp_path / "m" / "model.onnx").stat().st_mtime_ns
    alone = run("export", tmp_path / "m", "--data", "bands=1-4")  # was: --data dropped, the export redone
    assert alone.returncode == 2 and "--data bands=1-4 configures DATASET, and none was given" in alone.stderr
    assert (tmp_path / "m" / "model.onnx").stat().st_mtime_ns == before
