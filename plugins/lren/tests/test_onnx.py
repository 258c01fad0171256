"""The exported graph: parity with eager scoring (the SDK's verified export), only standard ONNX ops, and the
LREN score computed by onnxruntime in a process that cannot import torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(fitted, scene, tmp_path_factory):
    from had.onnx_export import export

    X, y = scene
    path = tmp_path_factory.mktemp("lren") / "model"
    report = export(fitted, X, path=path, y=y)
    return path, report


def test_export_passes_the_parity_check_with_the_default_tolerance(exported, fitted):
    _, report = exported
    assert report["passed"] and report["rtol"] == 1e-4
    assert report["max_rel_err"] < 1e-4
    assert report["auroc_onnx"] == pytest.approx(report["auroc_eager"], abs=1e-6)
    assert report["label_agreement"] == 1.0


def test_graph_is_plain_onnx_without_loops(exported):
    import onnx

    path, _ = exported
    model = onnx.load(str(path / "model.onnx"))
    ops = {node.op_type for node in model.graph.node}
    assert not ops & {"Loop", "Scan", "If"}  # the Newton steps are unrolled
    assert {node.domain for node in model.graph.node} <= {"", "ai.onnx"}
    assert [o.name for o in model.graph.output] == ["anomaly_map", "score"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["detector"] == "lren" and meta["distribution"] == "had-plugin-lren"


def test_onnxruntime_alone_gives_the_lren_score(exported, fitted, scene, tmp_path):
    """A fresh interpreter where `import torch` fails scores the scene through had.runtime."""
    path, _ = exported
    X, _ = scene
    np.save(tmp_path / "x.npy", X)
    code = textwrap.dedent(f"""
        import sys

        class NoTorch:  # any torch import now raises ImportError
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")

        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        from had.runtime import OnnxScorer
        scorer = OnnxScorer({str(path)!r}, providers=["CPUExecutionProvider"])
        scores = scorer.score(np.load({str(tmp_path / 'x.npy')!r}))
        np.save({str(tmp_path / 'onnx.npy')!r}, scores)
        assert "torch" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    got = np.load(tmp_path / "onnx.npy")
    np.testing.assert_allclose(got, fitted.decision_function(X), rtol=1e-4, atol=1e-6 * got.max())
    np.testing.assert_allclose(got.reshape(-1), fitted.decision_scores_, rtol=1e-4, atol=1e-6 * got.max())
