"""Crafted pyod-iforest artifacts (an audit of hostile inputs): trees whose child indices loop, point back or out
of range, and a stored ONNX graph (``onnx_core``) that is not ONNX or has two outputs.

Was: ``had score`` and ``had.load`` of a forest whose root is its own child ran forever (the tree walk had no
bound); a child index of 10**9 on a branch the load's probe rows never take passed ``had.load`` and failed on real
data with an ``IndexError`` traceback; a child pointing into another tree scored silently; ``had export`` of a
garbage or two-output graph gave a protobuf ``DecodeError`` or a ``ValueError`` traceback. Now each is one
``ArtifactError`` line ("the model's trees are corrupt ...: fit it again"), exit 2 from the command line, in
seconds. Every artifact is tampered as the audit's builder did: the weights rewritten, their sha256 in the
manifest with them, so the checksum check passes and the state itself must be refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import had
from had.errors import ArtifactError
from had_pyod import fitted

HAD = [sys.executable, "-m", "had.cli"]
D = 4


@contextlib.contextmanager
def within(seconds: float):
    """Fail (TimeoutError) a block that runs longer than `seconds`: the unfixed tree walk never returned."""
    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A saved 8-tree pyod-iforest (its artifact holds skl2onnx's graph as ``onnx_core``)."""
    rng = np.random.default_rng(0)
    det = had.get_detector("pyod-iforest", {"n_estimators": 8, "max_samples": 64}).fit(rng.normal(size=(200, D)))
    return had.save(det, tmp_path_factory.mktemp("base") / "m")


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> Path:
    """Rows to score, every first column 100: they take the branches the audit's ``oob`` forest corrupts."""
    X = np.random.default_rng(1).normal(size=(50, D))
    X[:, 0] = 100.0
    path = tmp_path_factory.mktemp("rows") / "rows.npy"
    np.save(path, X)
    return path


def tampered(saved: Path, where: Path, change) -> Path:
    """A copy of `saved` whose weights `change` edited, the manifest's sha256 rewritten to match."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = shutil.copytree(saved, where / "m")
    weights = path / "weights.safetensors"
    with safe_open(str(weights), framework="numpy") as f:
        metadata = f.metadata()
    state = load_file(str(weights))
    change(state)
    save_file(state, str(weights), metadata=metadata)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return path


def loop(s):  # tree 0's root is its own child
    s["left"][0] = s["right"][0] = 0


def cycle(s):  # an internal node of tree 0 whose left child is its parent (a loop of two)
    end = int(s["tree_start"][1])
    child = next(j for j in range(1, end) if s["left"][j] >= 0)
    s["left"][child] = next(p for p in range(end) if child in (s["left"][p], s["right"][p]))


def out_of_range(s):  # the audit's `oob`: rows with column 0 > 50 reach a node whose children are 10**9
    s["feature"][0], s["split"][0] = 0, 50.0
    right = int(s["right"][0])
    if s["left"][right] < 0:  # a leaf there: made an internal node
        s["feature"][right], s["split"][right] = 0, 0.0
    s["left"][right] = s["right"][right] = 10**9


def into_another_tree(s):  # tree 1's root's children point back into tree 0 (it scored, silently wrong)
    root = int(s["tree_start"][1])
    s["left"][root] = s["right"][root] = 1


def unknown_feature(s):  # a split on column 99 of 4
    s["feature"][0] = 99


CORRUPT = [loop, cycle, out_of_range, into_another_tree, unknown_feature]


@pytest.mark.parametrize("change", CORRUPT, ids=lambda f: f.__name__)
def test_corrupt_trees_are_one_artifact_error_through_had_load(saved, rows, tmp_path, change):
    """had.load refuses it, within seconds: its probe score runs the trees' check, and core's ``_check_state``
    passes the detector's ArtifactError on (other HadErrors of the probe are a shape it does not score)."""
    path = tampered(saved, tmp_path, change)
    with within(20), pytest.raises(ArtifactError, match=r"pyod-iforest: the model's trees are corrupt \(tree \d+, "
                                                          r"node \d+: .*\); a broken or tampered artifact: fit it "
                                                          r"again$"):
        had.load(path)


@pytest.mark.parametrize("change", [loop, out_of_range, into_another_tree], ids=lambda f: f.__name__)
def test_corrupt_trees_are_one_line_from_had_score(saved, rows, tmp_path, change):
    path = tampered(saved, tmp_path, change)
    done = subprocess.run(HAD + ["score", str(path), str(rows)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the model's trees are corrupt" in errors[0] and "fit it again" in errors[0], (
        done.stderr)


@pytest.mark.parametrize("config", [{"n_estimators": 20}, {"n_estimators": 20, "max_features": 0.5,
                                                           "max_samples": 32}, {"n_estimators": 5, "max_samples": 8}])
def test_the_check_accepts_what_scikit_learn_builds(config):
    """scikit-learn stores a tree in depth-first preorder: every child follows its parent, in the same tree."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(300, 6)), rng.normal(4.0, 1.0, size=(10, 6)), np.zeros((30, 6))])
    det = had.get_detector("pyod-iforest", config).fit(X)
    fitted.check_forest(det.state_, X.shape[1])
    np.testing.assert_allclose(det.decision_function(X), det.model_.decision_function(X), rtol=1e-9, atol=1e-12)


def test_a_bounded_walk_refuses_a_loop_the_check_did_not_see(monkeypatch):
    """The second guard: each tree's walk takes at most as many steps as the tree has nodes."""
    rng = np.random.default_rng(3)
    det = had.get_detector("pyod-iforest", {"n_estimators": 3, "max_samples": 32}).fit(rng.normal(size=(100, 3)))
    state = {k: np.array(v) for k, v in det.state_.items()}
    state["left"][0] = state["right"][0] = 0
    monkeypatch.setattr(fitted, "check_forest", lambda *a, **k: None)
    with within(20), pytest.raises(ArtifactError, match="tree 0 has a path longer than its nodes"):
        fitted.forest_scores(state, rng.normal(size=(10, 3)))


def garbage(s):
    s["onnx_core"] = np.frombuffer(b"\x08\x07garbage\xff\xff", dtype=np.uint8).copy()


def two_outputs(s):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("rows", TensorProto.FLOAT, ["n", D])
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", D]) for name in ("a", "b")]
    graph = helper.make_graph([helper.make_node("Identity", ["rows"], [name]) for name in ("a", "b")], "g", [x], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    s["onnx_core"] = np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()


@pytest.mark.parametrize("change,said", [(garbage, r"is not an ONNX model \(DecodeError"),
                                         (two_outputs, r"gives outputs \['a', 'b'\]")], ids=["garbage", "two_outputs"])
def test_a_broken_stored_onnx_graph_is_one_artifact_error(saved, tmp_path, change, said):
    pytest.importorskip("onnx")
    path = tampered(saved, tmp_path, change)
    det = had.load(path)  # the graph is read by an export only
    with pytest.raises(ArtifactError, match=rf"m: the ONNX graph its state holds \(onnx_core\) .*{said}.*a broken or "
                                            "tampered artifact: fit it again$"):
        det.export_onnx()
    done = subprocess.run(HAD + ["export", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the ONNX graph its state holds (onnx_core)" in errors[0], done.stderr
