"""had-sdk: what a detector plugin needs beyond the core.

* :class:`TorchDetector` (``had_sdk.torch_detector``): the shared training loop, batched scoring, safetensors
  state and ONNX export for torch detectors; a plugin writes its network, loss and score.
* :mod:`had_sdk.testing`: the conformance kit (``DetectorSuite``, ``DataSourceSuite``, the ``check_detector``
  fixture), registered as a pytest plugin.
* :mod:`had_sdk.scaffold`: ``new_plugin(name, dest)`` and the ``had plugin new`` command.

Importing ``had_sdk`` does not import torch; the torch names are loaded on first access.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Standardize", "TorchDetector", "TorchDetectorConfig", "new_plugin"]

_LAZY = {
    "TorchDetector": "had_sdk.torch_detector",
    "TorchDetectorConfig": "had_sdk.torch_detector",
    "Standardize": "had_sdk.nn",
    "new_plugin": "had_sdk.scaffold",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'had_sdk' has no attribute {name!r}")
