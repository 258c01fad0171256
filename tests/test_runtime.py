"""had.runtime.OnnxScorer: providers, streaming, IO binding, errors, and scoring with torch made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had.errors import BandMismatchError, HadError, InvalidInputError  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer, default_providers  # noqa: E402
from had.rx import RX  # noqa: E402


@pytest.fixture
def cube(rng):
    return rng.normal(size=(23, 19, 6)) * np.arange(1, 7)


@pytest.fixture
def cube_model(tmp_path, cube):
    det = RX().fit(cube)
    path = had.save(det, tmp_path / "cube-model")
    export(path, cube)
    return det, path


@pytest.fixture
def rows_model(tmp_path, cube):
    rows = cube.reshape(-1, 6)
    det = RX().fit(rows)
    path = had.save(det, tmp_path / "rows-model")
    export(path, rows)
    return det, path


def test_provider_order():
    available = ["AzureExecutionProvider", "CPUExecutionProvider", "CUDAExecutionProvider",
                 "TensorrtExecutionProvider"]
    assert default_providers(available) == ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                            "CPUExecutionProvider"]
    assert default_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_reports_the_providers_in_use(cube_model):
    scorer = OnnxScorer(cube_model[1])
    assert scorer.providers == scorer.session.get_providers()
    assert scorer.providers[-1] == "CPUExecutionProvider"
    assert scorer.layout == "cube" and scorer.n_features == 6
    assert scorer.threshold == cube_model[0].threshold_
    assert not scorer.io_binding or "CUDAExecutionProvider" in scorer.providers


@pytest.mark.parametrize("batch_size", [1, 19, 40, 65536])
def test_streamed_cube_equals_eager(cube_model, cube, batch_size):
    det, path = cube_model
    got = OnnxScorer(path).score(cube, batch_size=batch_size)
    assert got.shape == cube.shape[:2] and got.dtype == np.float64
    np.testing.assert_allclose(got, det.decision_function(cube), rtol=1e-4)


def test_batches_stay_bounded(cube_model, cube):
    scorer = OnnxScorer(cube_model[1])
    seen = []
    run = scorer._session_run
    scorer._session_run = lambda x: (seen.append(x.shape), run(x))[1]
    scorer.score(cube, batch_size=40)  # 40 pixels: bands of 2 image rows of 19
    assert max(int(np.prod(s[:2])) for s in seen) <= 40 and len(seen) == 12
    seen.clear()
    scorer.score(cube.reshape(-1, 6), batch_size=100)  # rows fed to the cube graph as (n, 1, B)
    assert all(s[0] <= 100 and s[1] == 1 for s in seen)


def test_rows_and_cubes_cross_graphs(cube_model, rows_model, cube):
    rows = cube.reshape(-1, 6)
    for det, path in (cube_model, rows_model):
        scorer = OnnxScorer(path)
        np.testing.assert_allclose(scorer.score(rows, batch_size=50), det.decision_function(rows), rtol=1e-4)
        np.testing.assert_allclose(scorer.score(cube, batch_size=50), det.decision_function(cube), rtol=1e-4)
        np.testing.assert_array_equal(scorer.predict(cube), det.predict(cube))


def test_io_binding_path_on_cpu(cube_model, cube):
    det, path = cube_model
    got = OnnxScorer(path, io_binding=True).score(cube, batch_size=100)
    np.testing.assert_allclose(got, det.decision_function(cube), rtol=1e-4)


def test_onnx_file_and_bytes_sources(tmp_path, cube_model, cube):
    det, path = cube_model
    data = (path / "model.onnx").read_bytes()
    for source in (path / "model.onnx", data):
        np.testing.assert_allclose(OnnxScorer(source).score(cube), det.decision_function(cube), rtol=1e-4)


def test_errors(tmp_path, cube_model, cube, rng):
    scorer = OnnxScorer(cube_model[1])
    with pytest.raises(BandMismatchError):
        scorer.score(cube[..., :5])
    bad = cube.copy()
    bad[5, 5, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        scorer.score(bad)
    with pytest.raises(InvalidInputError):
        scorer.score(cube.reshape(-1))
    with pytest.raises(InvalidInputError, match="empty"):
        scorer.score(cube[:0])
    with pytest.raises(InvalidInputError):
        scorer.score(rng.normal(size=(2, 6, 4, 4)))  # images into a pixel model
    plain = had.save(RX().fit(cube), tmp_path / "no-onnx")
    with pytest.raises(HadError, match="had export"):
        OnnxScorer(plain)
    with pytest.raises(HadError, match="no such model"):
        OnnxScorer(tmp_path / "missing.onnx")


NO_TORCH = textwrap.dedent("""
    import importlib.abc, sys

    BLOCKED = ("torch", "onnx", "onnxscript", "had_sdk", "had_autoencoder")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: had.runtime must not need it")
            return None

    sys.meta_path.insert(0, Block())
""")

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    try:
        import torch
    except ImportError:
        pass
    else:
        raise SystemExit("torch was importable: the block did not work")
    from had.runtime import OnnxScorer
    folder = sys.argv[1]
    for name in ("rx", "autoencoder"):
        X = np.load(f"{folder}/{name}-X.npy")
        scorer = OnnxScorer(f"{folder}/{name}")
        got = scorer.score(X, batch_size=64)
        want = np.load(f"{folder}/{name}-eager.npy")
        assert got.shape == want.shape, (name, got.shape, want.shape)
        err = float(np.max(np.abs(got - want) / np.abs(want)))
        assert err < 1e-4, (name, err)
        print(name, scorer.providers, got.shape, f"{err:.2e}")
    import json, threading, urllib.request
    from had.serve import ScoringServer  # had serve: the same scores over HTTP, torch-free too
    server = ScoringServer(OnnxScorer(f"{folder}/autoencoder"), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = np.load(f"{folder}/autoencoder-X.npy")[:5]
    body = json.dumps({"data": rows.tolist()}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/score", data=body,
                                     headers={"Content-Type": "application/json"})
    served = json.loads(urllib.request.urlopen(request, timeout=60).read())["scores"]
    assert np.allclose(served, np.load(f"{folder}/autoencoder-eager.npy")[:5], rtol=1e-4), served
    server.shutdown()
    print("served", len(served))
    blocked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx", "had_sdk", "had_autoencoder"))
    assert not blocked, blocked
""")


def test_runtime_scores_without_torch(tmp_path, cube, rng):
    pytest.importorskip("had_autoencoder")
    rx = RX().fit(cube)
    rows = rng.normal(size=(300, 5))
    ae = had.get_detector("autoencoder", epochs=2, hidden=[8], latent=3, device="cpu", progress=False).fit(rows)
    for name, det, X in (("rx", rx, cube), ("autoencoder", ae, rows)):
        export(det, X, path=tmp_path / name)
        np.save(tmp_path / f"{name}-X.npy", X)
        np.save(tmp_path / f"{name}-eager.npy", det.decision_function(X))
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(NO_TORCH)
    (tmp_path / "check.py").write_text(SCRIPT)
    env = {"PYTHONPATH": str(block), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(tmp_path / "check.py"), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rx ['CPUExecutionProvider'] (23, 19)" in result.stdout
    assert "autoencoder ['CPUExecutionProvider'] (300,)" in result.stdout
    assert "served 5" in result.stdout


def test_a_model_in_a_folder_whose_name_is_not_utf8_is_scored(tmp_path, cube_model, cube):
    """onnxruntime takes only UTF-8 paths: a model folder named in Latin-1 (held by Python as surrogates) was "not
    a model onnxruntime can load ... re-export it"; the model's bytes are passed instead."""
    import os
    import shutil

    det, path = cube_model
    odd = os.path.join(os.fsencode(tmp_path), b"mod\xe8le")
    try:
        shutil.copytree(os.fsencode(path), odd)
    except OSError:
        pytest.skip("this file system refuses file names that are not valid UTF-8")
    scorer = OnnxScorer(os.fsdecode(odd))
    np.testing.assert_allclose(scorer.score(cube), det.decision_function(cube), rtol=1e-5)


def test_a_graph_giving_one_value_for_many_samples_is_refused():
    """A foreign graph reducing a batch to one value had that value broadcast to every row ([20, 20, 20, 20, 20]
    for five rows), and ``had serve`` answered with it: one score per sample is checked."""
    from onnx import TensorProto, helper

    from had.errors import ArtifactError

    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x"], ["score"], keepdims=0)], "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    scorer = OnnxScorer(model.SerializeToString())
    with pytest.raises(ArtifactError, match=r"gave 1 value\(s\) of shape \(\) for 5 sample\(s\)"):
        scorer.score(np.ones((5, 4)))


def test_a_pixel_nan_in_every_band_is_said_as_the_eager_engine_says_it(tmp_path):
    """Was: the ONNX engine said only "data holds NaN or infinite values" where eager said how many, in which
    bands, and that whole pixels of NaN are what --set nodata=nan leaves out."""
    import had
    from had.errors import InvalidInputError
    from had.runtime import OnnxScorer

    rng = np.random.default_rng(0)
    scene = rng.normal(size=(10, 12, 5))
    model = had.get_detector("rx").fit(scene)
    had.save(model, tmp_path / "m", onnx_model=model.export_onnx())
    scene[2, 3] = np.nan
    with pytest.raises(InvalidInputError, match=r"holds 5 NaN .* \(in bands 1-5\).*1 pixel\(s\) are NaN in every band"):
        OnnxScorer(tmp_path / "m").score(scene)
