"""What a torch-free deployment host (the core `had` and onnxruntime, no plugins, no rasterio) is told: each
missing piece named once, with the distribution that provides it and how to get it."""

from __future__ import annotations

import builtins
import importlib.metadata as md
import sys

import numpy as np
import pytest

import had
import had.plugins
from had import catalog
from had.errors import HadError
from test_reliability_cli import assert_one_line, model, run_cli  # noqa: F401 (model: a fixture)


@pytest.fixture
def no_rasterio(monkeypatch):
    """rasterio as on a host without it: ``import rasterio`` fails."""
    monkeypatch.setitem(sys.modules, "rasterio", None)


@pytest.fixture
def no_plugins(monkeypatch):
    """Only the core's own plugin loaded, and no had-plugin-* distribution installed (as on a deployment host)."""
    monkeypatch.setenv("HAD_PLUGINS", "")
    monkeypatch.setattr(catalog, "_installed", lambda dist: False)
    had.plugins.reset()
    yield
    had.plugins.reset()


@pytest.fixture
def cube_model(tmp_path):
    rng = np.random.default_rng(3)
    cubes = [rng.normal(size=(9 + i, 7, 4)).astype(np.float32) for i in range(3)]
    rx = had.get_detector("rx", contamination=0.05).fit(cubes[0])
    model = had.save(rx, tmp_path / "rx")
    files = []
    for i, X in enumerate(cubes):
        np.save(tmp_path / f"c{i}.npy", X)
        files.append(str(tmp_path / f"c{i}.npy"))
    return str(model), files, cubes, rx


def test_map_format_auto_without_rasterio_writes_npy_maps_with_one_note(capsys, no_rasterio, cube_model, tmp_path):
    """`had score MODEL a.npy b.npy c.npy --out DIR` (default --map-format auto) without rasterio: every cube's map is
    DIR/NAME.npy and one note says what is lost and how to get GeoTIFF (was: each file failed with "writing GeoTIFF
    needs rasterio", then "3 of 3 file(s) failed", exit 1)."""
    model, files, cubes, rx = cube_model
    code, out, err = run_cli(capsys, "score", model, *files, "--out", str(tmp_path / "maps"))
    assert code == 0, err
    assert "error" not in err
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["c0.npy", "c1.npy", "c2.npy"]
    for i, X in enumerate(cubes):
        np.testing.assert_allclose(np.load(tmp_path / "maps" / f"c{i}.npy"), rx.decision_function(X), rtol=1e-6)
    said = out + err
    assert said.count("note: ") == 1 and said.count("needs rasterio") == 1, said
    note = next(line for line in said.splitlines() if line.startswith("note: "))
    assert "pip install rasterio" in note and "had-plugin-raster" in note and "transform and CRS" in note
    assert "--map-format npy" in note


def test_map_format_auto_without_rasterio_says_nothing_for_tables(capsys, no_rasterio, cube_model, tmp_path):
    """Rows get .npy whatever rasterio: no note about GeoTIFF for them."""
    model, _, cubes, _ = cube_model
    np.save(tmp_path / "rows.npy", cubes[1].reshape(-1, 4))
    code, out, err = run_cli(capsys, "score", model, str(tmp_path / "rows.npy"), "--out", str(tmp_path / "maps"))
    assert code == 0, err
    assert "rasterio" not in out + err and (tmp_path / "maps" / "rows.npy").is_file()


def test_map_format_tif_without_rasterio_is_still_refused_once(capsys, no_rasterio, cube_model, tmp_path):
    model, files, _, _ = cube_model
    code, out, err = run_cli(capsys, "score", model, *files, "--out", str(tmp_path / "maps"), "--map-format", "tif")
    assert_one_line(code, err, "writing GeoTIFF needs rasterio")
    assert out == ""


@pytest.mark.parametrize("name, dist", [("scene.hdr", "had-plugin-hsi"), ("scene.img", "had-plugin-hsi"),
                                        ("table.csv", "had-plugin-odds"), ("table.tsv", "had-plugin-odds"),
                                        ("area.tif", "had-plugin-raster"), ("area.tiff", "had-plugin-raster")])
def test_a_file_no_installed_plugin_reads_names_the_distribution_that_does(capsys, no_plugins, model, tmp_path, name,
                                                                          dist):
    """`had score m scene.hdr` on a host without the plugin: which distribution reads it, and `pip install` it
    (was: "no installed plugin reads it; pass a data source that does")."""
    path = tmp_path / name
    path.write_bytes(b"x")
    code, _, err = run_cli(capsys, "score", str(model), str(path))
    assert_one_line(code, err, f"unsupported file type {path.suffix!r}: no installed plugin reads it",
                    f"pip install {dist}")
    assert "pass a data source" not in err


def test_a_mat_file_names_both_readers(capsys, no_plugins, model, tmp_path):
    np.savez(tmp_path / "x.npz", W=np.zeros((3, 4)))
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "x.npz"))
    assert_one_line(code, err, "its keys are ['W']", "pip install had-plugin-hsi or had-plugin-odds")


def test_an_installed_but_unloaded_reader_points_at_had_plugins(capsys, monkeypatch, model, tmp_path):
    try:
        md.distribution("had-plugin-hsi")
    except md.PackageNotFoundError:
        pytest.skip("had-plugin-hsi is not installed")
    monkeypatch.setenv("HAD_PLUGINS", "")
    had.plugins.reset()
    (tmp_path / "scene.hdr").write_text("ENVI\n")
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "scene.hdr"))
    assert_one_line(code, err, "had-plugin-hsi reads it but is installed and not loaded; `had plugins` shows why")


def test_the_suffix_table_matches_what_each_plugin_claims(tmp_path):
    """Every suffix listed under a distribution is claimed by that distribution's plugin (a file it reads), and an
    unlisted distribution's plugin claims none of the listed suffixes' simplest files."""
    from had.scenefiles import source_for_path

    had.plugins.reset()
    registered = set(had.plugins.registry()["datasource"])
    checked = 0
    samples = {".hdr": None, ".csv": "a,b\n1,2\n", ".tsv": "a\tb\n1\t2\n", ".tif": None, ".tiff": None}
    for dist, (_, suffixes) in catalog.READS_FILES.items():
        if not catalog.is_loaded(dist, registered):
            continue
        for suffix in suffixes:
            if suffix not in samples:
                continue
            path = tmp_path / f"f{suffix}"
            path.write_text(samples[suffix] or "")
            claimed = source_for_path(path)
            assert catalog.provider("datasource", claimed) == dist, (suffix, claimed)
            checked += 1
        if dist == "had-plugin-hsi":  # an ENVI data file with its header beside it, a .mat/.npz cube
            (tmp_path / "s.hdr").write_text("")
            for suffix in (".img", ".dat", ".raw", ".bsq", ".bil", ".bip"):
                (tmp_path / f"s{suffix}").write_bytes(b"")
                assert catalog.provider("datasource", source_for_path(tmp_path / f"s{suffix}")) == dist, suffix
            np.savez(tmp_path / "cube.npz", data=np.zeros((2, 2, 2)))
            assert catalog.provider("datasource", source_for_path(tmp_path / "cube.npz")) == dist
        if dist == "had-plugin-odds":
            np.savez(tmp_path / "rows.npz", X=np.zeros((2, 2)))
            assert catalog.provider("datasource", source_for_path(tmp_path / "rows.npz")) == dist
    if checked == 0:
        pytest.skip("no had-plugin-* file reader installed")


def test_describe_a_name_of_a_plugin_not_installed_says_which_and_how(capsys, no_plugins):
    """`had describe autoencoder` without the plugin says what `had fit autoencoder` says (was: "no detector,
    dataset or metric is named 'autoencoder'; known: ...")."""
    code, _, err = run_cli(capsys, "describe", "autoencoder")
    assert_one_line(code, err, "unknown detector 'autoencoder': it comes with had-plugin-autoencoder, which is not "
                               "installed here; pip install had-plugin-autoencoder")
    code, _, err = run_cli(capsys, "describe", "hydice")
    assert_one_line(code, err, "unknown datasource 'hydice': it comes with had-plugin-hsi",
                    "pip install had-plugin-hsi")
    code, _, err = run_cli(capsys, "describe", "zzz-nothing")
    assert_one_line(code, err, "no detector, dataset or metric is named 'zzz-nothing'; known: ")


def test_a_model_without_onnx_says_where_the_export_runs(capsys, tmp_path):
    """`had serve` / `--engine onnx` on a plugin's model without model.onnx: the export runs where that plugin is
    installed (was: only "export it first with `had export MODEL`", which fails on a deployment host)."""
    import json

    rx = had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(10, 8, 3))), tmp_path / "rx")
    code, _, err = run_cli(capsys, "serve", str(rx))
    assert_one_line(code, err, f"has no model.onnx; export it first with `had export {rx}`")
    assert "plugin" not in err  # the core's rx exports wherever had[onnx] is
    manifest = json.loads((rx / "manifest.json").read_text())
    manifest.update(distribution="had-plugin-pyod", plugin="pyod", detector="pyod-iforest")
    from had.runtime import OnnxScorer

    (rx / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(HadError) as info:
        OnnxScorer._resolve(OnnxScorer.__new__(OnnxScorer), rx)
    assert "where its detector's plugin had-plugin-pyod is installed" in str(info.value)
    assert "then copy the folder here" in str(info.value)


def test_engine_auto_without_onnxruntime_points_at_eager(capsys, monkeypatch, tmp_path):
    """`had score MODEL data` (--engine auto) on an exported model without onnxruntime: besides the extra to
    install, `--engine eager` where the model's plugin is installed (the core's rx scores eagerly anywhere)."""
    from had.onnx_export import export

    rng = np.random.default_rng(0)
    model = had.save(had.get_detector("rx").fit(rng.normal(size=(10, 8, 3))), tmp_path / "rx")
    export(model, rng.normal(size=(10, 8, 3)))
    np.save(tmp_path / "x.npy", rng.normal(size=(6, 5, 3)))
    real_import = builtins.__import__

    def refuse_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime" or name.startswith("onnxruntime."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse_onnxruntime)
    # --engine onnx: refused with the fix (auto scores a core rx eagerly: test_deploy_items)
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "x.npy"), "--engine", "onnx")
    assert_one_line(code, err, "onnxruntime is not installed", "--engine eager",
                    "where the model's plugin is installed")
    code, _, err = run_cli(capsys, "serve", str(model), "--port", "0")  # serve has no --engine: not offered it
    assert_one_line(code, err, "had serve scores with onnxruntime, which is not installed", 'pip install "had[onnx]"')
    assert "--engine" not in err
    monkeypatch.setattr(builtins, "__import__", real_import)
    code, out, err = run_cli(capsys, "score", str(model), str(tmp_path / "x.npy"), "--engine", "eager")
    assert code == 0, err


def test_the_deployment_guide_names_what_each_plugin_reads():
    """docs/deployment.md's "What a deployment host needs" says what catalog.READS_FILES says."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    section = text.split("### What a deployment host needs", 1)[1].split("\n## ", 1)[0]
    for dist, (_, suffixes) in catalog.READS_FILES.items():
        assert f"`{dist}`" in section, dist
        for suffix in suffixes:
            assert suffix in section, (dist, suffix)
    assert "READS_FILES" in section and "--map-format auto" in section


def test_score_auto_on_a_plugins_model_without_onnx_offers_the_export_too(capsys, tmp_path, monkeypatch):
    """`had score MODEL DATA` (--engine auto) on a deep model saved without --export, on a host without its plugin:
    only "install had-plugin-autoencoder" (torch onto a deployment host); now also the export to copy over."""
    import json

    rx = had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(10, 8, 3))), tmp_path / "m")
    manifest = json.loads((rx / "manifest.json").read_text())
    manifest.update(distribution="had-plugin-nosuch", plugin="nosuch", detector="nosuch-net", version="0.1.0")
    (rx / "manifest.json").write_text(json.dumps(manifest))
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(6, 5, 3)))
    code, _, err = run_cli(capsys, "score", str(rx), str(tmp_path / "x.npy"))
    assert_one_line(code, err, "holds a detector named 'nosuch-net', which no loaded plugin provides; install "
                               "had-plugin-nosuch 0.1.0, or export it where that plugin is installed "
                               f"(`had export {rx} DATA`) and copy the folder here, to score it with onnxruntime alone")
