"""Hostile model folders and ONNX files of the eighteenth probe (second part): integers past Python's 4,300-digit
limit, a config ``nodata`` that is not a number, input specs of the wrong types (manifest and ONNX metadata), a graph
with string scores, and model strings holding newlines. Each is one typed error, never a traceback; what a model
says is printed on one line."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import had
from had.artifact import MANIFEST, read_manifest
from had.errors import ArtifactError

BIG = "1" + "0" * 5000  # past Python's 4,300-digit limit of integer string conversion


def cli(args, capsys) -> tuple[int, str, str]:
    """`had ARGS` in this process: (exit code, stdout, stderr)."""
    from had_sdk.testing import run_cli

    return run_cli(capsys, *args)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """An rx model of a 4-band cube, with its model.onnx where onnx and onnxruntime are installed."""
    cube = np.random.default_rng(0).normal(size=(12, 10, 4))
    path = had.save(had.get_detector("rx").fit(cube), tmp_path_factory.mktemp("m18b") / "rx")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return path
    from had.onnx_export import export

    export(path, cube)
    return path


@pytest.fixture
def model(saved, tmp_path) -> Path:
    copy = tmp_path / "rx"
    shutil.copytree(saved, copy)
    return copy


def _needs_onnx(folder: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    assert (folder / "model.onnx").is_file()


def _edit_text(folder: Path, edit) -> None:
    """manifest.json rewritten as `edit` (text -> text) returns it (the manifest is not hashed itself)."""
    path = folder / MANIFEST
    path.write_text(edit(path.read_text()))


def _edit(folder: Path, change) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def _onnx_with(folder: Path, **props: str) -> None:
    """model.onnx with its metadata `props` replaced, its sha256 in the manifest updated (a consistent forgery)."""
    import onnx

    from had.onnx_export import set_metadata

    proto = onnx.load_from_string((folder / "model.onnx").read_bytes())
    set_metadata(proto, props)
    data = proto.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    _edit(folder, lambda m: m["files"].__setitem__("model.onnx", hashlib.sha256(data).hexdigest()))


# ---- 1. integers of thousands of digits ------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["threshold", "format_version", "seed"])
def test_an_integer_of_thousands_of_digits_in_the_manifest_is_an_artifact_error(model, where):
    def edit(text: str) -> str:
        manifest = json.loads(text)
        (manifest["config"] if where == "seed" else manifest)[where] = 7
        return json.dumps(manifest).replace(f'"{where}": 7', f'"{where}": {BIG}')

    _edit_text(model, edit)
    for read in (read_manifest, had.load):
        with pytest.raises(ArtifactError, match="holds a number thousands of digits long.*re-save the model"):
            read(model)


def test_had_score_says_such_a_manifest_in_one_line(model, tmp_path, capsys):
    _edit_text(model, lambda text: text.replace('"threshold": ', f'"threshold": {BIG}, "was": ', 1))
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 4)))
    for engine in ("auto", "eager"):
        code, _, err = cli(["score", "--engine", engine, model, tmp_path / "cube.npy", "-o", tmp_path / "s.npy"],
                           capsys)
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert "thousands of digits" in err


def test_an_integer_of_thousands_of_digits_in_the_onnx_input_spec_is_an_artifact_error(model):
    _needs_onnx(model)
    from had.runtime import OnnxScorer

    _onnx_with(model, input_spec='{"kind": "cube", "n_features": ' + BIG + "}")
    for source in (model, model / "model.onnx", (model / "model.onnx").read_bytes()):
        with pytest.raises(ArtifactError, match="input_spec metadata holds a number thousands of digits long"):
            OnnxScorer(source)


# ---- 2. config.nodata that is not a number -------------------------------------------------------------------
@pytest.mark.parametrize("value", ["abc", [1], {"a": 1}])
def test_a_config_nodata_that_is_not_a_number_is_refused_by_every_engine(model, value):
    from had.score_data import score_dataset

    _edit(model, lambda m: m["config"].__setitem__("nodata", value))
    with pytest.raises(ArtifactError, match=r"config: nodata is .*, not a number, \"nan\" or null; re-save"):
        read_manifest(model)
    engines = ["eager"] + (["onnx"] if (model / "model.onnx").is_file() else [])
    for engine in engines:
        with pytest.raises(ArtifactError, match="nodata is"):
            score_dataset(model, np.zeros((3, 3, 4)), engine=engine)


@pytest.mark.parametrize("value", [None, "nan", "NaN", -9999, 0.5])
def test_a_config_nodata_had_writes_is_read(model, value):
    _edit(model, lambda m: m["config"].__setitem__("nodata", value))
    assert read_manifest(model)["config"]["nodata"] == value


# ---- 3. input specs of the wrong types -------------------------------------------------------------------------
BAD_SPECS = [
    ({"data_view": {"band_names": 5}}, "input_spec.data_view.band_names"),
    ({"data_view": {"bands": 5, "of": "x"}}, "input_spec.data_view.bands"),
    ({"feature_names": 5}, "input_spec.feature_names"),
    ({"kind": "image", "sample_shape": [4, 2, 2], "value_range": 5}, "input_spec.value_range"),
    ({"kind": "image", "sample_shape": [4, 2, 2], "value_range": ["a", "b"]}, "input_spec.value_range.0"),
    ({"kind": "image", "sample_shape": [4, 2, 2], "required_range": [0, 1, 2]}, "input_spec.required_range"),
]


@pytest.mark.parametrize("change,where", BAD_SPECS)
def test_a_manifest_input_spec_of_the_wrong_types_is_an_artifact_error(model, change, where):
    _edit(model, lambda m: m["input_spec"].update(change))
    for read in (read_manifest, had.load):
        with pytest.raises(ArtifactError, match=rf"manifest.json is invalid: {where}: .*edited or written by another "
                                                r"tool: re-save the model"):
            read(model)


@pytest.mark.parametrize("change,where", BAD_SPECS + [
    ({"kind": "image", "sample_shape": ["a", "b", "c"]}, "input_spec.sample_shape.0"),
    ({"n_features": "4"}, "input_spec.n_features")])
def test_an_onnx_input_spec_of_the_wrong_types_is_an_artifact_error(model, change, where):
    _needs_onnx(model)
    from had.runtime import OnnxScorer

    spec = {**read_manifest(model)["input_spec"], **change}
    _onnx_with(model, input_spec=json.dumps(spec))
    data = (model / "model.onnx").read_bytes()
    with pytest.raises(ArtifactError, match=rf"its ONNX metadata is invalid: {where}: .*export the model again"):
        OnnxScorer(data)


def test_the_input_specs_had_writes_are_read():
    from had.cubeview import record_of
    from had.manifest import check_spec

    view = record_of({"bands_kept": [0, 1, 3], "file_bands": 8, "band_names": ["Cu", "Zn", "Pb"],
                      "nodata_any_band": True, "tiling": {"tile_size": 16, "stride": 8, "nodata": "nan"},
                      "alpha": "mask"})
    check_spec({"kind": "cube", "n_features": 3, "dtype": "float64", "sample_shape": None, "data_view": view,
                "wavelengths": [400.0, 500.0, 600.0], "reflectance_scale_factor": None}, "m", "fix")
    check_spec({"kind": "image", "n_features": 1, "sample_shape": [1, 4, 4], "value_range": [0, 1.0],
                "required_range": [0.0, 1.0], "data_view": None, "later_key": {"any": "thing"}}, "m", "fix")
    check_spec({"kind": "tabular", "n_features": 2, "feature_names": ["a", "b"]}, "m", "fix")


# ---- 4. a graph with string scores ---------------------------------------------------------------------------
def _string_scores(parsable: bool) -> bytes:
    """Rows (N, 4) -> scores (N,) as strings: the row sums ("1.5", parsable as numbers) or with text appended."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceSum", ["x", "axis"], ["sum"], keepdims=0),
             helper.make_node("Cast", ["sum"], ["text" if not parsable else "score"], to=TensorProto.STRING)]
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis")]
    if not parsable:
        nodes.append(helper.make_node("StringConcat", ["text", "suffix"], ["score"]))
        inits.append(numpy_helper.from_array(np.array(["abc"], dtype=object), "suffix"))
    graph = helper.make_graph(nodes, "strings", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("score", TensorProto.STRING, ["N"])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    proto.ir_version = 9
    return proto.SerializeToString()


@pytest.mark.parametrize("parsable", [True, False])
def test_a_graph_of_string_scores_is_refused_by_its_type(parsable):
    from had.runtime import OnnxScorer

    with pytest.raises(ArtifactError, match=r"its output score is of type tensor\(string\), not real numbers"):
        OnnxScorer(_string_scores(parsable)).score(np.ones((3, 4)))


def test_a_folder_whose_graph_gives_strings_is_refused_in_one_line(model, tmp_path, capsys):
    _needs_onnx(model)
    import onnx
    from onnx import TensorProto, helper

    proto = onnx.load_from_string((model / "model.onnx").read_bytes())
    graph = proto.graph
    old = next(o for o in graph.output if o.name == "anomaly_map")
    for node in graph.node:  # the map renamed, then cast to strings under its name
        node.output[:] = ["map_f" if name == "anomaly_map" else name for name in node.output]
        node.input[:] = ["map_f" if name == "anomaly_map" else name for name in node.input]
    graph.node.append(helper.make_node("Cast", ["map_f"], ["anomaly_map"], to=TensorProto.STRING))
    old.type.tensor_type.elem_type = TensorProto.STRING
    data = proto.SerializeToString()
    (model / "model.onnx").write_bytes(data)
    _edit(model, lambda m: m["files"].__setitem__("model.onnx", hashlib.sha256(data).hexdigest()))
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 4)))
    code, _, err = cli(["score", model, tmp_path / "cube.npy", "-o", tmp_path / "s.npy"], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "its output anomaly_map is of type tensor(string)" in err


# ---- 5. model strings holding newlines -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rx\nwrote /tmp/FAKE (npy)", "rx\x1b[2J", " ", "rx\u2028x"])
def test_a_detector_name_holding_a_newline_is_refused(model, name):
    _edit(model, lambda m: m.__setitem__("detector", name))
    for read in (read_manifest, had.load):
        with pytest.raises(ArtifactError, match="detector: .* is not a detector name") as info:
            read(model)
        assert str(info.value).isprintable()


def test_the_transductive_note_prints_the_detector_on_one_line():
    from types import SimpleNamespace

    from had.score_notes import other_scene_note

    prints = SimpleNamespace(fitted="a" * 64, scored="b" * 64, transductive=True, detector="rx\nwrote /tmp/FAKE")
    note = other_scene_note("m", prints)
    assert note is not None and "\n" not in note and "wrote /tmp/FAKE" in note


def test_band_ranges_other_than_had_writes_are_refused(model):
    from had.runtime import OnnxScorer

    forged = {"bands": "1-4\nwrote /tmp/FAKE (npy)", "of": 8}
    _edit(model, lambda m: m["input_spec"].__setitem__("data_view", forged))
    with pytest.raises(ArtifactError, match=r"input_spec.data_view.bands: '1-4\\nwrote /tmp/FAKE \(npy\)' is not "
                                            r"1-based band ranges such as 1-50,60"):
        read_manifest(model)
    if (model / "model.onnx").is_file():
        _edit(model, lambda m: m["input_spec"].pop("data_view"))
        _onnx_with(model, input_spec=json.dumps({"kind": "cube", "n_features": 4, "data_view": forged}))
        with pytest.raises(ArtifactError, match=r"its ONNX metadata is invalid: input_spec.data_view.bands"):
            OnnxScorer(model / "model.onnx")


def test_had_serve_says_a_model_s_band_selection_on_one_line(model, monkeypatch):
    _needs_onnx(model)
    import had.serve
    from had.serve import serve

    # what the metadata's checks refuse (above), escaped where it is printed all the same
    monkeypatch.setattr(had.serve, "band_selection", lambda spec: {"bands": "1-4\nEVIL \x1b[31m", "of": 8})
    lines = []

    class Started(Exception):
        pass

    def log(line: str) -> None:
        lines.append(line)
        if line.startswith("serving"):
            raise Started

    with pytest.raises(Started):
        serve(str(model / "model.onnx"), port=0, log=log)
    assert lines[-1].isprintable() and "bands '1-4\\nEVIL \\x1b[31m' of 8" in lines[-1]
