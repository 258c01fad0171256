"""Each fact stated once: the registry names detectors, registrations carry the one summary, files are claimed."""

from __future__ import annotations

import json

import numpy as np
import pytest

import had
from had import hookimpl, plugins


class _TwinRX:
    """An in-process plugin registering the core's RX class under a second name."""

    @hookimpl
    def register_detectors(self, register):
        register("rx-twin", "had.rx:RX", summary="RX again, under another name", contamination=0.2)


@pytest.fixture
def twin():
    plugins.register_plugin(_TwinRX(), "twin")
    yield
    plugins.unregister_plugin("twin")


def test_get_detector_carries_the_registered_name(twin):
    assert had.get_detector("rx").name == "rx"
    det = had.get_detector("rx-twin")
    assert det.name == "rx-twin" and type(det).name == "rx"
    assert det.contamination == 0.2  # the registration's defaults still apply


def test_artifact_saves_and_loads_the_registered_name(twin, tmp_path, rng):
    X = rng.normal(size=(200, 4))
    det = had.get_detector("rx-twin").fit(X)
    had.save(det, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["detector"] == "rx-twin" and manifest["plugin"] == "twin"
    back = had.load(tmp_path / "m")
    assert back.name == "rx-twin"
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X))


def test_onnx_metadata_names_the_registered_detector(twin, rng):
    pytest.importorskip("onnx")
    from had.onnx_export import metadata

    det = had.get_detector("rx-twin").fit(rng.normal(size=(100, 3)))
    meta = metadata(det, exporter="test")
    assert meta["detector"] == "rx-twin" and meta["plugin"] == "twin"


def test_one_summary_per_registration():
    """The registration states the summary (`had list` reads it without importing the plugin); classes don't."""
    for kind in ("detector", "datasource"):
        for name, entry in plugins.registry()[kind].items():
            assert entry.summary.strip(), f"{kind} {name!r} is registered without a summary"
            cls = entry.load()
            assert "summary" not in vars(cls), f"{cls.__qualname__} restates the summary of {name!r}"
            assert entry.describe() == entry.summary


def test_plugin_distributions_come_from_their_entry_points_records():
    import importlib.metadata as md

    infos = {info.name: info for info in plugins.plugins()}
    assert (infos["had"].distribution, infos["had"].version) == ("had", had.__version__)
    assert infos["hsi"].distribution == "had-plugin-hsi" and infos["hsi"].version
    for ep in md.entry_points(group="had"):  # each loaded plugin: its entry point's distribution and version
        if ep.name in infos and ep.dist is not None:
            assert (infos[ep.name].distribution, infos[ep.name].version) == (ep.dist.metadata["Name"],
                                                                             ep.dist.version)


# ---- files claimed by the plugins that read them (source_for_path) ---------------------------------------------
@pytest.fixture
def files(tmp_path, rng):
    import scipy.io

    cube, cube_map = rng.normal(size=(6, 5, 4)), (rng.random((6, 5)) > 0.8).astype(np.uint8)
    rows, labels = rng.normal(size=(40, 3)), (rng.random(40) > 0.9).astype(np.int64)
    np.savez(tmp_path / "cube.npz", data=cube, map=cube_map)
    scipy.io.savemat(tmp_path / "rows.mat", {"X": rows, "y": labels[:, None]})
    np.savez(tmp_path / "other.npz", Z=rows, W=labels)  # two arrays, neither plugin's key
    return {"cube": (tmp_path / "cube.npz", cube, cube_map), "rows": (tmp_path / "rows.mat", rows, labels),
            "other": (tmp_path / "other.npz", rows, None)}


def test_mat_and_npz_files_are_claimed_by_the_source_that_reads_them(files):
    from had.scenefiles import source_for_path

    assert source_for_path(files["cube"][0]) == "hsi-file"
    assert source_for_path(files["rows"][0]) == "table-file"
    assert source_for_path(files["other"][0]) is None  # neither plugin's key
    assert source_for_path(files["other"][0], {"x_key": "Z"}) == "table-file"
    assert source_for_path(files["other"][0], {"data_key": "Z"}) == "hsi-file"
    assert source_for_path(files["cube"][0].with_name("absent.npz")) is None


def test_load_dataset_takes_a_claimed_path(files):
    path, cube, cube_map = files["cube"]
    data = had.load_dataset(str(path))
    assert data.kind == "cube" and data.name == "cube"
    np.testing.assert_array_equal(data.X, cube)
    np.testing.assert_array_equal(data.y, (cube_map > 0).astype(np.int64))
    path, rows, labels = files["rows"]
    data = had.load_dataset(str(path))
    np.testing.assert_array_equal(data.X, rows)
    np.testing.assert_array_equal(data.y, labels)
    data = had.load_dataset(str(files["other"][0]), x_key="Z", y_key=None)
    assert data.kind == "tabular" and data.y is None and data.X.shape == (40, 3)


def test_cli_fits_and_scores_a_claimed_path_and_names_unclaimed_files(files, tmp_path, capsys):
    from had.cli import main

    path, rows, _ = files["rows"]
    main(["fit", "rx", str(path), "-o", str(tmp_path / "m")])
    main(["score", str(tmp_path / "m"), str(path), "--engine", "eager", "-o", str(tmp_path / "s.npy")])
    expected = had.get_detector("rx").fit(rows).decision_function(rows)
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["fit", "rx", str(files["other"][0]), "-o", str(tmp_path / "m2")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert "no installed plugin reads this file (its keys are ['W', 'Z'])" in err and "Traceback" not in err


def test_a_file_holding_one_array_under_any_name_is_read(tmp_path, rng):
    """``scipy.io.savemat("PaviaU.mat", {"paviaU": cube})``: a file holding one array under a name of its own
    (was: "no installed plugin reads this file") is a scene when the array is 3-D, a table when 2-D, from the
    reader's headers alone; a key given by the user still decides; a 1-D array is claimed by neither."""
    import scipy.io

    from had.matfile import only_array
    from had.scenefiles import source_for_path

    cube, rows = rng.normal(size=(6, 5, 4)), rng.normal(size=(40, 3))
    scipy.io.savemat(tmp_path / "paviaU.mat", {"paviaU": cube})
    np.savez(tmp_path / "scene.npz", img=cube)
    scipy.io.savemat(tmp_path / "feats.mat", {"features": rows})
    np.savez(tmp_path / "feats.npz", features=rows)
    np.savez(tmp_path / "vector.npz", v=np.arange(5.0))
    for name in ("paviaU.mat", "scene.npz"):
        assert source_for_path(tmp_path / name) == "hsi-file"
        data = had.load_dataset(str(tmp_path / name))
        np.testing.assert_array_equal(data.X, cube)
        assert data.y is None
    for name in ("feats.mat", "feats.npz"):
        assert source_for_path(tmp_path / name) == "table-file"
        np.testing.assert_array_equal(had.load_dataset(str(tmp_path / name)).X, rows)
    assert only_array(tmp_path / "paviaU.mat") == ("paviaU", 3) and only_array(tmp_path / "feats.npz") == ("features", 2)
    assert source_for_path(tmp_path / "vector.npz") is None
    assert source_for_path(tmp_path / "paviaU.mat", {"data_key": "cube"}) is None  # the user's key decides
    with pytest.raises(had.errors.DataFileError, match="has no key 'cube'"):
        had.load_dataset("hsi-file", path=str(tmp_path / "paviaU.mat"), data_key="cube")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "v73.mat", "w") as fh:  # MATLAB v7.3 stores arrays transposed
        fh.create_dataset("hsi", data=cube.T)
    assert source_for_path(tmp_path / "v73.mat") == "hsi-file"
    np.testing.assert_array_equal(had.load_dataset(str(tmp_path / "v73.mat")).X, cube)


# ---- capabilities: one table with defaults ---------------------------------------------------------------------
def test_capabilities_have_defaults_and_are_read_through_one_function():
    from had.capabilities import DEFAULT, capabilities_of
    from had.rx import RX

    assert capabilities_of(RX) == DEFAULT == capabilities_of(had.get_detector("rx"))
    assert (DEFAULT.accepts_any_image_size, DEFAULT.dynamic_image_size, DEFAULT.onnx_dynamo,
            DEFAULT.onnx_min_extent, dict(DEFAULT.blind_to_planted)) == (False, False, True, None, {})

    class Blind(RX):
        capabilities = had.Capabilities(onnx_dynamo=False, blind_to_planted={"tabular": "why"})

    caps = capabilities_of(Blind())
    assert caps.onnx_dynamo is False and caps.blind_to_planted == {"tabular": "why"} and not caps.dynamic_image_size
    with pytest.raises(TypeError):
        caps.blind_to_planted["cube"] = "mutated"  # shared by every instance: read-only


def test_a_loose_capability_attribute_is_a_plugin_error_not_ignored():
    from had.capabilities import capabilities_of
    from had.rx import RX

    class Loose(RX):
        onnx_dynamo = False

    with pytest.raises(had.PluginError, match="onnx_dynamo.*capabilities = had.capabilities.Capabilities"):
        capabilities_of(Loose)


def test_every_registered_detector_declares_valid_capabilities():
    from had.capabilities import capabilities_of

    declared = {}
    for name, entry in plugins.registry()["detector"].items():
        caps = capabilities_of(entry.load())
        assert set(caps.blind_to_planted) <= set(entry.load().kinds), name
        declared[name] = caps
    assert declared["lren"].onnx_dynamo is False and declared["bs3lnet"].onnx_min_extent == 2
    assert declared["memdae"].onnx_dynamo is False and declared["autoencoder"].onnx_dynamo is True


def test_bench_takes_a_claimed_path(files):
    from had import bench

    path, rows, labels = files["rows"]
    result = bench.run(["rx"], [str(path)], [0], protocol="transductive")
    (row,) = result.rows
    expected = had.get_metric("auroc")(labels, had.get_detector("rx").fit(rows).decision_scores_)
    assert row["auroc"] == pytest.approx(expected)
