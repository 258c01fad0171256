"""torch.onnx's two exporters behind one call: the dynamo exporter first, TorchScript where it fails, the
exporter's chatter silenced, and a failure one :class:`~had.errors.HadError` naming the detector and the exporter
tried. What the SDK's ``TorchDetector.export_onnx`` and the PyOD adapter's deep models (whose ``deep`` extra does
not install had-sdk) export their networks with.

Torch is imported by the callers' modules, never by the core's: this module imports it only when called.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any

from .errors import HadError
from .onnx_export import import_onnx


@contextlib.contextmanager
def quiet_exporter():
    """Silence the exporter's chatter (missing torchvision ops, deprecation notices) for one export."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


def export_module(module, example, *, who: str, names: dict[str, Any], dynamic_shapes: Any,
                  dynamic_axes: dict[str, dict[int, str]], dynamo: bool = True) -> tuple[Any, str]:
    """(the ONNX ``ModelProto`` of `module` traced on `example`, the exporter's label for the model's metadata).

    `names`: torch.onnx's ``input_names``, ``output_names`` and ``opset_version``; `dynamic_shapes` for the dynamo
    exporter, `dynamic_axes` for TorchScript's. With `dynamo` the dynamo exporter is tried first (its failure,
    an op without a translation or onnxscript missing, is kept in the label: ``torch.onnx(torchscript; dynamo
    failed: ...)``); without, TorchScript alone (``torch.onnx(torchscript)``). A failure of the last exporter
    tried is a :class:`HadError` naming `who`."""
    import torch

    onnx = import_onnx()
    exporter, model = "torch.onnx(dynamo)", None
    try:
        with quiet_exporter(), torch.no_grad():
            if dynamo:
                try:
                    program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=dynamic_shapes,
                                                verbose=False, external_data=False, **names)
                    model = program.model_proto
                except Exception as exc:  # noqa: BLE001 - an op without a dynamo translation: try TorchScript
                    exporter = f"torch.onnx(torchscript; dynamo failed: {type(exc).__name__}: {str(exc)[:200]})"
            else:
                exporter = "torch.onnx(torchscript)"
            if model is None:
                buffer = io.BytesIO()
                torch.onnx.export(module, (example,), buffer, dynamo=False, dynamic_axes=dynamic_axes, **names)
                model = onnx.load_from_string(buffer.getvalue())
    except Exception as exc:
        raise HadError(f"{who}: ONNX export failed ({exporter}): {type(exc).__name__}: {exc}") from exc
    return model, exporter
