"""OnnxScorer on models made or edited outside had: external data, graphs that fail, images of another size."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from had.errors import ArtifactError, InvalidInputError  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402

SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


def _leaking_model(location: str) -> onnx.ModelProto:
    """Rows (N, 4) -> scores (N,): the first N bytes of an external uint8 tensor as scores (what an onnxruntime
    without path checks served: the bytes of any file the location names)."""
    leak = numpy_helper.from_array(np.zeros(len(SECRET), dtype=np.uint8), "leak")
    leak.ClearField("raw_data")
    leak.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(SECRET)))):
        leak.external_data.add(key=key, value=value)
    nodes = [helper.make_node("Cast", ["leak"], ["f"], to=TensorProto.DOUBLE),
             helper.make_node("Shape", ["x"], ["n"], start=0, end=1),
             helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array([0], np.int64))),
             helper.make_node("Slice", ["f", "zero", "n"], ["score"])]
    graph = helper.make_graph(nodes, "leak", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("score", TensorProto.DOUBLE, ["N"])], [leak])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("where", ["dotdot", "absolute", "neighbour"])
def test_a_model_naming_external_data_is_refused_before_onnxruntime_opens_it(where, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    folder = tmp_path / "m"
    folder.mkdir()
    location = {"dotdot": os.path.relpath(secret, folder), "absolute": str(secret), "neighbour": "leak.bin"}[where]
    if where == "neighbour":
        (folder / "leak.bin").symlink_to(secret)
    path = folder / "model.onnx"
    path.write_bytes(_leaking_model(location).SerializeToString())
    with pytest.raises(ArtifactError, match=r"stores its tensor 'leak' outside the file .*had export"):
        OnnxScorer(path)
    with pytest.raises(ArtifactError, match="outside the file"):
        OnnxScorer(path.read_bytes())


def test_external_data_inside_a_subgraph_is_found():
    inner = _leaking_model("/etc/passwd").graph
    then = helper.make_graph(list(inner.node), "then", [], list(inner.output), list(inner.initializer))
    cond = numpy_helper.from_array(np.array(True), "cond")
    node = helper.make_node("If", ["cond"], ["score"], then_branch=then, else_branch=then)
    graph = helper.make_graph([node], "outer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("score", TensorProto.DOUBLE, ["N"])], [cond])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ArtifactError, match="'leak' outside the file"):
        OnnxScorer(model.SerializeToString())


def _failing_model() -> bytes:
    """Rows (N, 4) -> a Reshape of 10 constants to (N,): loads, then fails inside onnxruntime for N != 10."""
    ten = numpy_helper.from_array(np.arange(10, dtype=np.float32), "ten")
    nodes = [helper.make_node("Shape", ["x"], ["n"], start=0, end=1),
             helper.make_node("Reshape", ["ten", "n"], ["score"])]
    graph = helper.make_graph(nodes, "fails", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])], [ten])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_graph_failing_inside_onnxruntime_is_one_typed_line():
    scorer = OnnxScorer(_failing_model())
    assert scorer.score(np.ones((10, 4))).shape == (10,)  # the graph itself runs
    with pytest.raises(ArtifactError, match=r"failed while scoring a batch of shape \(7, 4\).*--engine eager"):
        scorer.score(np.ones((7, 4)))


def test_had_score_of_a_failing_graph_exits_2_without_a_traceback(tmp_path):
    from had.artifact import ONNX, save
    from had.rx import RX

    rows = np.random.default_rng(0).normal(size=(40, 4))
    folder = save(RX().fit(rows), tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / ONNX).write_bytes(_failing_model())
    from had.datadir import sha256_of

    manifest["files"][ONNX] = sha256_of(folder / ONNX)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    np.save(tmp_path / "rows.npy", rows[:7])
    run = subprocess.run([sys.executable, "-m", "had.cli", "score", str(folder), str(tmp_path / "rows.npy"),
                          "--engine", "onnx", "-o", str(tmp_path / "out.npy")], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "failed while scoring" in run.stderr
    assert not (tmp_path / "out.npy").exists()


def test_images_of_another_size_are_refused_as_the_eager_engine_refuses_them():
    nodes = [helper.make_node("ReduceMean", ["x"], ["score"], axes=[1, 2, 3], keepdims=0)]
    graph = helper.make_graph(nodes, "img", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])])
    scorer = OnnxScorer(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    assert scorer.image_size == (28, 28)
    assert scorer.score(np.ones((3, 1, 28, 28))).shape == (3,)
    with pytest.raises(InvalidInputError, match=r"fitted on images \(1, 28, 28\), got \(1, 64, 64\); resize them "
                                                r"to 28 x 28"):
        scorer.score(np.ones((3, 1, 64, 64)))
