"""The deployment audit's items D3-D10: what a torch-free host (the core and onnxruntime, no plugins) is told, and
what the ONNX engine imports and checks. Each test failed on the code before its fix."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import had
import had.plugins
from had.errors import ArtifactError, BandMismatchError, InvalidInputError
from had.onnx_export import export
from had.runtime import OnnxScorer
from test_deploy_hints import no_plugins  # noqa: F401 (a fixture: only the core's plugin, none installed)
from test_reliability_cli import assert_one_line, run_cli


@pytest.fixture
def no_onnxruntime(monkeypatch):
    """``import onnxruntime`` fails, as on a host with the core alone."""
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name == "onnxruntime" or name.startswith("onnxruntime."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)


@pytest.fixture
def rx_model(tmp_path):
    """An exported RX model of a 6-band cube, and a 6-band .npy to score."""
    rng = np.random.default_rng(0)
    det = had.get_detector("rx", contamination=0.1).fit(rng.normal(size=(12, 10, 6)))
    path = had.save(det, tmp_path / "rx")
    export(path, rng.normal(size=(12, 10, 6)))
    data = rng.normal(size=(7, 5, 6))
    np.save(tmp_path / "x.npy", data)
    return path, det, data


# ---- D3: a folder of images without had-plugin-images --------------------------------------------------------
def test_an_image_folder_without_the_images_plugin_names_it(capsys, no_plugins, rx_model, tmp_path):
    """Was: "data file imgs is a folder; pass a file inside it", which no image file satisfies (an image is read by
    the folder holding it, through had-plugin-images)."""
    folder = tmp_path / "imgs" / "normal"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"\x89PNG not really")
    code, _, err = run_cli(capsys, "score", str(rx_model[0]), str(tmp_path / "imgs"))
    assert_one_line(code, err, "is a folder of images", "had-plugin-images", "pip install had-plugin-images")
    assert "pass a file inside it" not in err
    empty = tmp_path / "empty"  # a folder of no images: said as such (was "pass a file inside it", an audit's
    empty.mkdir()  # empty folder of images-to-be)
    code, _, err = run_cli(capsys, "score", str(rx_model[0]), str(empty))
    assert_one_line(code, err, "is a folder that holds no images (.png, .jpg, .jpeg, .bmp)", "or a folder of images")


# ---- D4: an ENVI data file without a suffix, its header beside it ---------------------------------------------
@pytest.mark.parametrize("name, header", [("noext", "noext.hdr"), ("scene.img", "scene.hdr"),
                                          ("line", "line.HDR")])
def test_an_envi_file_without_the_hsi_plugin_is_called_envi(capsys, no_plugins, rx_model, tmp_path, name, header):
    """Was: "unsupported file type '': no installed plugin reads it; pass a data source that does" for a file
    had-plugin-hsi reads as ENVI (its header beside it)."""
    (tmp_path / name).write_bytes(b"\0" * 64)
    (tmp_path / header).write_text("ENVI\nsamples = 2\nlines = 2\nbands = 4\ndata type = 4\ninterleave = bsq\n")
    code, _, err = run_cli(capsys, "score", str(rx_model[0]), str(tmp_path / name))
    assert_one_line(code, err, "looks like an ENVI data file", f"its header {header} is beside it",
                    "pip install had-plugin-hsi")
    assert "pass a data source" not in err


# ---- D5: a model of some bands given the whole spectrum --------------------------------------------------------
@pytest.fixture
def band_model(tmp_path):
    """RX fitted on bands 2-4 of a 6-band scene (as `had fit ... --data bands=2-4` records it), exported."""
    rng = np.random.default_rng(1)
    scene = rng.normal(size=(12, 10, 6))
    det = had.get_detector("rx", contamination=0.1).fit(scene[..., 1:4])
    det.input_spec_ = {**det.input_spec_, "data_view": {"bands": "2-4", "of": 6}}
    path = had.save(det, tmp_path / "rx-bands")
    export(path, scene[..., 1:4])
    np.save(tmp_path / "full.npy", scene)
    return path, scene


@pytest.mark.parametrize("engine", ["onnx", "eager"])
def test_a_band_subset_model_says_which_bands_and_how(capsys, band_model, tmp_path, engine):
    """Was: "the model expects 3 features/bands, got 6; score data with the same features/bands", the 6-band
    scene the model's bands were chosen from left unexplained (ONNX and eager engines alike)."""
    path, scene = band_model
    with pytest.raises(BandMismatchError) as caught:
        OnnxScorer(path).score(scene) if engine == "onnx" else had.load(path).decision_function(scene)
    for said in ("fitted on bands 2-4 of a 6-band input", "--data bands=2-4 (ENVI, GeoTIFF, a .npy cube)",
                 "select those bands first for a request to had serve or in Python (numpy: x[..., 1:4])"):
        assert said in str(caught.value), str(caught.value)
    # had score reads a .npy cube with the model's bands, as it reads a scene file (was: refused, as above)
    code, out, err = run_cli(capsys, "score", str(path), str(tmp_path / "full.npy"), "--engine", engine,
                             "-o", str(tmp_path / "s.npy"))
    assert code == 0 and "using 3 bands (bands 2-4 of the file)" in out, err
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), had.load(path).decision_function(scene[..., 1:4]),
                               rtol=1e-4)


def test_serve_says_the_band_selection_in_health_and_errors(band_model):
    from had.serve import ScoringServer

    path, scene = band_model
    server = ScoringServer(OnnxScorer(path), "127.0.0.1", 0)
    try:
        assert server.info()["band_selection"] == {"bands": "2-4", "of": 6}
        with pytest.raises(BandMismatchError, match=r"fitted on bands 2-4 of a 6-band input"):
            server.score(scene)
        assert json.loads(server.score(scene[..., 1:4]))["shape"] == [12, 10]
    finally:
        server.server_close()


def test_a_model_of_every_band_has_no_band_selection(rx_model):
    from had.serve import ScoringServer

    server = ScoringServer(OnnxScorer(rx_model[0]), "127.0.0.1", 0)
    try:
        assert server.info()["band_selection"] is None
        with pytest.raises(BandMismatchError, match="score data with the same bands in the same order"):
            server.score(rx_model[2][..., :4])
    finally:
        server.server_close()


# ---- D6: a raster given to a model of its tiles ----------------------------------------------------------------
def _tile_model(tiling: dict | None) -> bytes:
    """An image graph (N, 5, 16, 16) -> score (N,) whose input spec records the tiling of a raster (Geo-Hgan's)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    axes = helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["score"], keepdims=0)], "tiles",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5, 16, 16])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    spec = {"kind": "image", "n_features": 5, "dtype": "float32", "sample_shape": [5, 16, 16]}
    if tiling:
        spec["data_view"] = {"tiling": tiling}
    helper.set_model_props(model, {"detector": "geohgan", "threshold": "1.0", "input_spec": json.dumps(spec)})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_a_raster_given_to_a_tile_model_gets_the_raster_fix():
    """Was: "if these are 64 grayscale images of 64x5 (N, H, W), add the channel axis", for the raster (H, W, 5)
    the model's tiles were cut from."""
    scorer = OnnxScorer(_tile_model({"tile_size": 16, "stride": 8}))
    with pytest.raises(InvalidInputError) as info:
        scorer.score(np.zeros((64, 64, 5), dtype=np.float32))
    said = str(info.value)
    assert "tiles (N, 5, 16, 16) cut from a raster (tile_size=16, stride=8)" in said
    assert "its last axis holds the model's 5 bands" in said
    assert "raster-file --data path=FILE" in said and "grayscale" not in said
    assert scorer.score(np.ones((2, 5, 16, 16))).tolist() == [1280.0, 1280.0]  # tiles themselves score
    plain = OnnxScorer(_tile_model(None))  # images not cut from a raster: the grayscale stack's fix, as before
    with pytest.raises(InvalidInputError, match="grayscale images"):
        plain.score(np.zeros((64, 64, 5), dtype=np.float32))


# ---- D8: the core's rx under --engine auto without onnxruntime -------------------------------------------------
def test_rx_scores_eagerly_under_auto_without_onnxruntime(capsys, rx_model, tmp_path, no_onnxruntime):
    """Was: refused ("onnxruntime is not installed") though rx is the core's and scores without it."""
    path, det, data = rx_model
    out_file = tmp_path / "s.npy"
    code, out, err = run_cli(capsys, "score", str(path), str(tmp_path / "x.npy"), "-o", str(out_file))
    assert code == 0, err
    assert "onnxruntime is not installed" in out and "scored with the rx plugin (eager)" in out
    np.testing.assert_allclose(np.load(out_file), det.decision_function(data), rtol=1e-10)
    code, _, err = run_cli(capsys, "score", str(path), str(tmp_path / "x.npy"), "--engine", "onnx")
    assert_one_line(code, err, "onnxruntime is not installed", 'pip install "had[onnx]"')


# ---- D9: a manifest threshold that is not model.onnx's ---------------------------------------------------------
def test_an_edited_manifest_threshold_is_refused(capsys, rx_model, tmp_path):
    """Was: the folder scored at the edited threshold (nothing above 99), the bare model.onnx at the exported one."""
    path, det, _ = rx_model
    assert OnnxScorer(path).threshold == pytest.approx(det.threshold_)  # untouched: accepted
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["threshold"] = 99.0
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as info:
        OnnxScorer(path)
    assert "manifest.json's threshold 99.0 differs from model.onnx's" in str(info.value)
    assert f"`had export {path}`" in str(info.value)
    assert OnnxScorer(path / "model.onnx").threshold == pytest.approx(det.threshold_)  # the bare file: its own
    code, out, err = run_cli(capsys, "score", str(path), str(tmp_path / "x.npy"), "--engine", "onnx")
    assert_one_line(code, err, "manifest.json's threshold 99.0", "restore manifest.json's threshold")
    assert out == ""


# ---- D10: --engine onnx imports neither torch nor onnx -----------------------------------------------------------
CHECK_IMPORTS = textwrap.dedent("""
    import sys
    from had.cli import main
    try:
        main(["score", sys.argv[1], sys.argv[2], "--engine", "onnx"])
    except SystemExit as exc:
        assert not exc.code, exc.code
    print("imported:", sorted({m.split(".")[0] for m in sys.modules} & {"torch", "onnx", "onnxscript"}))
""")


def test_onnx_engine_imports_neither_torch_nor_onnx(tmp_path):
    """Was: onnx imported by the external-data check of every model, torch by the note on transductive models
    (the detector's class, its plugin, loaded to ask)."""
    pytest.importorskip("had_autoencoder")
    rows = np.random.default_rng(0).normal(size=(200, 5))
    det = had.get_detector("autoencoder", epochs=1, hidden=[8], latent=3, device="cpu", progress=False).fit(rows)
    export(det, rows, path=tmp_path / "ae")
    np.save(tmp_path / "rows.npy", rows)
    (tmp_path / "check.py").write_text(CHECK_IMPORTS)
    result = subprocess.run([sys.executable, str(tmp_path / "check.py"), str(tmp_path / "ae"),
                             str(tmp_path / "rows.npy")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scored with onnxruntime" in result.stdout
    assert "imported: []" in result.stdout, result.stdout


def test_external_data_is_still_refused_without_scanning_every_model(tmp_path):
    """The quick check (no "location" key, no external data) leaves a model that names a file to the full check."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones(4, dtype=np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    weight.external_data.add(key="location", value="../../etc/passwd")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["score"])], "leak",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 4])],
                              initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ArtifactError, match="outside the file"):
        OnnxScorer(model.SerializeToString())
    del onnx


def test_a_models_manifest_records_whether_it_is_transductive(rx_model):
    """What had score's notes read instead of loading the detector's class (D10)."""
    assert json.loads((rx_model[0] / "manifest.json").read_text())["transductive"] is False


def test_the_eager_engine_gives_a_tile_model_the_raster_fix_too():
    """The eager path (``Detector._check_shape``) said the raster-file fix and then the grayscale stack's (if these
    are 64 grayscale images of 64x5 ...) for the raster a model's tiles were cut from; now the raster fix alone,
    and a model of images not cut from a raster keeps both."""
    from had import plugins

    if "deepsvdd" not in plugins.registry()["detector"]:
        pytest.skip("had-plugin-deepsad is not installed")
    tiles = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    det = had.get_detector("deepsvdd", epochs=1).fit(tiles)
    with pytest.raises(InvalidInputError, match="grayscale images"):  # not cut from a raster: as before
        det.decision_function(np.zeros((64, 64, 1), dtype=np.float32))
    det.input_spec_["data_view"] = {"tiling": {"tile_size": 28, "stride": 14}}  # as raster-file records it
    with pytest.raises(InvalidInputError) as info:
        det.decision_function(np.zeros((64, 64, 1), dtype=np.float32))
    said = str(info.value)
    assert "tiles (N, 1, 28, 28) cut from a raster (tile_size=28, stride=14)" in said and "grayscale" not in said


def test_a_threshold_set_after_the_export_is_stamped_into_the_saved_model(tmp_path):
    """``export_onnx()``, then ``set_threshold``, then ``had.save(onnx_model=...)`` (the public API, nothing edited by
    hand) wrote a folder whose manifest and model.onnx disagreed, which OnnxScorer then refused as edited; the save
    now writes the detector's threshold into the model's metadata (the graph is the same)."""
    X = np.random.default_rng(0).normal(size=(300, 4))
    det = had.get_detector("rx").fit(X)
    graph = det.export_onnx()
    det.set_threshold("fpr:0.01")
    path = had.save(det, tmp_path / "m", onnx_model=graph)
    folder, bare = OnnxScorer(path), OnnxScorer(path / "model.onnx")
    assert folder.threshold == bare.threshold == pytest.approx(det.threshold_)
    np.testing.assert_array_equal(folder.score(X), bare.score(X))
    assert np.mean(folder.score(X) > folder.threshold) == pytest.approx(0.01)


def test_the_raster_hint_survives_a_hostile_input_spec():
    """A bare model.onnx's input_spec is the sender's: a sample shape or band count that is not a number raised a
    bare ValueError from the hint (a 500 under had serve); now no hint, and a control character is quoted."""
    from had.image_checks import raster_tiles_hint

    hostile = {"kind": "image", "n_features": "x", "sample_shape": ["a", 2],
               "data_view": {"tiling": {"tile_size": 16, "stride": 8}}}
    assert raster_tiles_hint(hostile, (64, 64, 5)) is None
    escaped = {"kind": "image", "n_features": 5, "sample_shape": [5, 16, 16],
               "data_view": {"tiling": {"tile_size": 16, "stride": "\x1b[31m"}}}
    assert "stride='\\x1b[31m'" in raster_tiles_hint(escaped, (64, 64, 5))


def test_image_mismatches_name_the_folder_settings_that_fix_them():
    """An audit's folder of grey PNGs saved as palettes (read as RGB) and of 64x64 images: the refusals said
    "score data with the same channels" and "resize them to 28 x 28", never the image-folder settings that do it
    (`--data channels=1`, `--data size=28`)."""
    from had import plugins

    if "deepsvdd" not in plugins.registry()["detector"]:
        pytest.skip("had-plugin-deepsad is not installed")
    images = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    det = had.get_detector("deepsvdd", epochs=1).fit(images)
    with pytest.raises(had.BandMismatchError, match=r"--data channels=1 converts every image as read"):
        det.decision_function(np.repeat(images[:2], 3, axis=1))
    with pytest.raises(InvalidInputError, match=r"resize them to 28 x 28 pixels as at fit \(a folder of images: "
                                                 r"--data size=28 resizes them as read\)"):
        det.decision_function(np.zeros((2, 1, 32, 32), dtype=np.float32))


def test_a_graph_of_another_fit_is_refused_by_save(tmp_path):
    """A graph exported, then the detector fitted again on other data, then saved with it: save stamped this fit's
    threshold into the old graph, and the folder scored ONNX up to 0.345 away from eager (a review). Exports now
    record the fit's training fingerprint, and save refuses a graph of another fit; nothing is written."""
    rng = np.random.default_rng(0)
    det = had.get_detector("rx").fit(rng.normal(size=(300, 4)))
    graph = det.export_onnx()
    det.fit(rng.normal(size=(300, 4)) * 2)
    with pytest.raises(ArtifactError, match="exported from another fit"):
        had.save(det, tmp_path / "m", onnx_model=graph)
    assert not (tmp_path / "m").exists()
    had.save(det, tmp_path / "m", onnx_model=det.export_onnx())  # this fit's graph
    assert OnnxScorer(tmp_path / "m").threshold == pytest.approx(det.threshold_)
