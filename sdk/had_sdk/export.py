"""ONNX export of every `TorchDetector`, in one place.

The exported module is the one eager scoring calls (:class:`~had_sdk.torch_detector.ScoringModule`:
preprocessing + network + score), in eval mode on the CPU; for a cube it is wrapped so the graph takes
``x`` ``(H, W, B)`` and returns ``anomaly_map`` ``(H, W)`` and ``score`` ``(H*W,)``: a pixel-wise detector
through :class:`CubeGraph` (pixels scored as rows), a whole-scene one (``pixelwise = False``, e.g.
convolutions over the scene) through :class:`SceneGraph` (its module maps the scene to the map).
H and W may be given a lower bound with the capability ``onnx_min_extent`` (reflection padding of 1 needs 2 pixels).

Exporter: ``torch.onnx.export(dynamo=True)`` with explicit ``dynamic_shapes`` (batch; H and W for cubes;
image height/width when its capabilities say ``dynamic_image_size``), fixed input/output names,
``external_data=False`` and the pinned opset. If the dynamo exporter fails (an op without a translation),
the TorchScript exporter (``dynamo=False`` with ``dynamic_axes``) is tried and the first error is kept in
the ``exporter`` metadata; a detector can skip dynamo with ``Capabilities(onnx_dynamo=False)``. Then
:func:`had.onnx_export.finalize` caps the IR version at 10 and writes the metadata. A detector that declares
``onnx_unsupported`` raises :class:`had.ExportNotSupported` with its reason.
"""

from __future__ import annotations

import torch
from torch import nn

from had.capabilities import capabilities_of
from had.errors import ExportNotSupported, HadError
from had.onnx_export import OPSET, OUTPUTS, finalize, layout_of
from had.torch_onnx import export_module

_EXAMPLE_SHAPES = {"rows": (8,), "cube": (11, 9), "image": (3,)}


class CubeGraph(nn.Module):
    """A per-pixel scorer as a scene graph: ``(H, W, B)`` -> (``anomaly_map`` ``(H, W)``, ``score`` ``(H*W,)``)."""

    def __init__(self, pixels: nn.Module):
        super().__init__()
        self.pixels = pixels

    def forward(self, x: torch.Tensor):
        h, w, b = x.shape
        score = self.pixels(x.reshape(h * w, b))
        return score.reshape(h, w), score


class SceneGraph(nn.Module):
    """A whole-scene scorer: ``(H, W, B)`` -> (``anomaly_map`` ``(H, W)``, ``score`` ``(H*W,)``)."""

    def __init__(self, scene: nn.Module):
        super().__init__()
        self.scene = scene

    def forward(self, x: torch.Tensor):
        anomaly_map = self.scene(x)
        return anomaly_map, anomaly_map.reshape(-1)


def _example(detector, layout: str) -> torch.Tensor:
    spec = detector.input_spec_
    lead = _EXAMPLE_SHAPES[layout]
    shape = (*lead, *spec["sample_shape"]) if layout == "image" else (*lead, spec["n_features"])
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def _dynamic(detector, layout: str) -> tuple[dict, dict]:
    """(dynamic_shapes for dynamo, dynamic_axes for TorchScript)."""
    low = capabilities_of(detector).onnx_min_extent

    def Dim(name: str):
        return torch.export.Dim(name) if low is None else torch.export.Dim(name, min=low)

    if layout == "cube":
        return ({"x": {0: Dim("h"), 1: Dim("w")}},
                {"x": {0: "h", 1: "w"}, "anomaly_map": {0: "h", 1: "w"}, "score": {0: "hw"}})
    axes = {0: Dim("n")}
    names = {0: "n"}
    if layout == "image" and capabilities_of(detector).dynamic_image_size:
        axes.update({2: Dim("height"), 3: Dim("width")})
        names.update({2: "height", 3: "width"})
    return {"x": axes}, {"x": names, "score": {0: "n"}}


def require_exporter() -> None:
    """HadError naming the `export` extra when onnx is missing. (onnxscript, the extra's other half, is what
    torch's dynamo exporter needs; without it the TorchScript exporter is used and the metadata says why.)"""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise HadError('exporting a torch detector needs onnx, which had-sdk installs only with its export extra: '
                       'pip install "had-sdk[export]"')


def export_torch_detector(detector) -> bytes:
    """Serialised ONNX for a fitted TorchDetector (see the module docstring)."""
    if detector.onnx_unsupported:
        raise ExportNotSupported(f"{detector.name}: {detector.onnx_unsupported}")
    detector._require_fitted()
    require_exporter()
    layout = layout_of(detector)
    device = detector.device_
    detector.model_.to("cpu").eval()
    module = detector.model_
    if layout == "cube":
        module = CubeGraph(module) if detector.pixelwise else SceneGraph(module)
    example = _example(detector, layout)
    shapes, axes = _dynamic(detector, layout)
    names = {"input_names": ["x"], "output_names": OUTPUTS[layout], "opset_version": OPSET}
    try:
        model, exporter = export_module(module, example, who=detector.name, names=names, dynamic_shapes=shapes,
                                        dynamic_axes=axes, dynamo=capabilities_of(detector).onnx_dynamo)
    finally:
        detector.model_.to(device)
    return finalize(model, detector, exporter=exporter, pixelwise=detector.pixelwise)
