"""PyOD's deep models and the hybrids' encoder export through ``had.torch_onnx.export_module``, the exporter the
SDK uses (was: a copy of the SDK's dynamo-then-TorchScript fallback in the PyOD adapter, and a hybrid's encoder
exported by dynamo alone, failing where dynamo could not translate an op)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pyod")
onnx = pytest.importorskip("onnx")

import torch  # noqa: E402

import had  # noqa: E402
from had.errors import HadError  # noqa: E402
from had.onnx_export import verify_export  # noqa: E402


def _rows(n: int = 400, d: int = 6) -> np.ndarray:
    X = np.random.default_rng(5).normal(size=(n, d))
    X[:8] += 4.0
    return X


def _exporter(model: bytes) -> str:
    return {p.key: p.value for p in onnx.load_from_string(model).metadata_props}["exporter"]


@pytest.mark.parametrize("name,config", [("pyod-autoencoder", {"epochs": 2, "hidden": [5, 3]}),
                                         ("pyod-deepsvdd", {"epochs": 2})])
def test_a_pyod_deep_model_falls_back_to_torchscript_and_says_so(name, config, dynamo_fails):
    X = _rows()
    det = had.get_detector(name, config).fit(X)
    model = det.export_onnx()
    assert "dynamo failed: RuntimeError: no translation for aten::made_up" in _exporter(model)
    assert verify_export(model, det, X)["passed"]


def test_a_hybrids_encoder_falls_back_to_torchscript(dynamo_fails):
    """Was: the RuntimeError of the dynamo exporter, raw."""
    X = _rows()
    det = had.get_detector("hybrid-iforest", ae_epochs=2, device="cpu", n_estimators=20).fit(X)
    model = det.export_onnx()
    assert verify_export(model, det, X)["passed"]
    # the metadata says which exporter made the encoder (a review: it said dynamo whatever did)
    assert _exporter(model).startswith("torch.onnx(torchscript; dynamo failed: RuntimeError: no translation")
    assert _exporter(model).endswith(" + onnx.helper")


def test_an_export_that_fails_with_both_exporters_is_one_haderror_naming_the_detector(monkeypatch):
    det = had.get_detector("pyod-autoencoder", {"epochs": 1, "hidden": [4]}).fit(_rows())

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(HadError, match=r"^pyod-autoencoder: ONNX export failed \(torch\.onnx\(torchscript; dynamo "
                                       r"failed: RuntimeError: unsupported op\)\): RuntimeError: unsupported op"):
        det.export_onnx()
    json.dumps(det.get_params())  # the detector is left usable
