"""ONNX export of BS3LNet's full-image pass, with dynamic H and W.

The SDK exports pixel-wise scorers only; BS3LNet scores a whole scene at once (reflection-padded
convolutions see a pixel's neighbourhood), so this module exports the scene graph itself: input ``x``
``(H, W, B)`` float32, outputs ``anomaly_map`` ``(H, W)`` (mean squared reconstruction error over bands)
and ``score`` ``(H*W,)``, through preprocessing (constants), the network with BatchNorm in eval mode, and
the score. H and W are dynamic with a minimum of 2 (reflection padding of 1 needs two pixels). The result
goes through :func:`had.onnx_export.finalize` (opset, IR version, metadata with ``pixelwise = false``), so
:func:`had.onnx_export.verify_export` and :class:`had.runtime.OnnxScorer` treat it as one scene.
"""

from __future__ import annotations

import io
import warnings

import torch
from had.errors import HadError
from had.onnx_export import OPSET, OUTPUTS, finalize, import_onnx
from torch import nn


class SceneGraph(nn.Module):
    """``(H, W, B)`` -> (``anomaly_map`` ``(H, W)``, ``score`` ``(H*W,)``) around the detector's scoring module."""

    def __init__(self, scoring: nn.Module):
        super().__init__()
        self.scoring = scoring

    def forward(self, x: torch.Tensor):
        anomaly_map = self.scoring(x)
        return anomaly_map, anomaly_map.reshape(-1)


def export_scene_graph(detector) -> bytes:
    """Serialised, finalized ONNX of a fitted BS3LNet detector (see the module docstring)."""
    detector._require_fitted()
    onnx = import_onnx()
    device = detector.device_
    detector.model_.to("cpu").eval()
    module = SceneGraph(detector.model_).eval()
    bands = int(detector.input_spec_["n_features"])
    example = torch.randn(11, 9, bands, generator=torch.Generator().manual_seed(0))
    names = {"input_names": ["x"], "output_names": OUTPUTS["cube"], "opset_version": OPSET}
    exporter = "torch.onnx(dynamo)"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                dim = torch.export.Dim
                shapes = {"x": {0: dim("h", min=2), 1: dim("w", min=2)}}
                program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=shapes,
                                            external_data=False, verbose=False, **names)
                model = program.model_proto
            except Exception as exc:  # fall back on the TorchScript exporter
                exporter = f"torch.onnx(torchscript; dynamo failed: {type(exc).__name__}: {str(exc)[:200]})"
                buffer = io.BytesIO()
                axes = {"x": {0: "h", 1: "w"}, "anomaly_map": {0: "h", 1: "w"}, "score": {0: "hw"}}
                torch.onnx.export(module, (example,), buffer, dynamo=False, dynamic_axes=axes, **names)
                model = onnx.load_from_string(buffer.getvalue())
    except Exception as exc:
        raise HadError(f"bs3lnet: ONNX export failed ({exporter}): {type(exc).__name__}: {exc}") from exc
    finally:
        detector.model_.to(device)
    return finalize(model, detector, exporter=exporter, pixelwise=False)
