"""torch tensors given to a detector or the ONNX runtime are read as their values. Was (the export probe): a tensor
that requires grad was a raw RuntimeError ("Can't call numpy() on Tensor that requires grad"), a bfloat16 one
"not a rectangular array of numbers"."""

from __future__ import annotations

import numpy as np
import pytest

import had

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["rx", "pyod-pca"])
def test_a_tensor_that_requires_grad_or_is_bfloat16_is_read_as_its_values(name):
    X = np.random.default_rng(0).normal(size=(80, 4)).astype("f4")
    plain = had.get_detector(name).fit(X)
    fitted = had.get_detector(name).fit(torch.tensor(X, requires_grad=True))
    np.testing.assert_allclose(fitted.decision_function(torch.tensor(X, requires_grad=True)),
                               plain.decision_function(X), rtol=1e-6)
    half = torch.tensor(X).bfloat16()
    np.testing.assert_allclose(plain.decision_function(half), plain.decision_function(half.float().numpy()))


def test_the_onnx_runtime_reads_a_tensor_that_requires_grad(tmp_path):
    pytest.importorskip("onnxruntime")
    from had.onnx_export import export
    from had.runtime import OnnxScorer

    X = np.random.default_rng(0).normal(size=(80, 4)).astype("f4")
    had.save(had.get_detector("rx").fit(X), tmp_path / "m")
    export(tmp_path / "m")
    scorer = OnnxScorer(tmp_path / "m")
    np.testing.assert_allclose(scorer.score(torch.tensor(X, requires_grad=True)), scorer.score(X))
