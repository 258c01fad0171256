"""What a detector can do beyond the contract, declared in one table with defaults (scikit-learn's tags).

A detector class states only what differs from the defaults::

    class MyNet(TorchDetector):
        capabilities = Capabilities(onnx_dynamo=False, blind_to_planted={"tabular": "sees spatial texture only"})

and every reader asks :func:`capabilities_of`, never ``getattr`` with a default of its own. A class that still
sets one of these names as a loose attribute gets a :class:`had.PluginError` saying where it belongs, instead of
the setting being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

from .errors import PluginError


@dataclass(frozen=True)
class Capabilities:
    """The capability flags of a detector class; each field's default is what a detector without it gets."""

    #: images of another height/width than at fit may be scored (fully convolutional, or resized inside)
    accepts_any_image_size: bool = False
    #: the ONNX export makes the image height and width dynamic axes
    dynamic_image_size: bool = False
    #: lower bound of the exported dynamic spatial axes (None: none; 2 for reflection padding of 1)
    onnx_min_extent: int | None = None
    #: export with torch's dynamo exporter first (False: the TorchScript exporter only)
    onnx_dynamo: bool = True
    #: ``{kind: reason}``: planted anomalies of these data kinds the method cannot see by design (the
    #: conformance kit reports them as not checked instead of failing)
    blind_to_planted: Mapping[str, str] = field(default_factory=dict)
    #: the training scores ``_fit`` returns score each training sample held out from the model (kNN: against the
    #: other rows), so scoring the training data again does not reproduce them (the kit does not ask it to)
    held_out_training_scores: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "blind_to_planted", MappingProxyType(dict(self.blind_to_planted)))


DEFAULT = Capabilities()
#: the flags' names: a class attribute of one of these names outside `capabilities` is a mistake
FLAG_NAMES = tuple(f.name for f in fields(Capabilities))


def capabilities_of(detector: Any) -> Capabilities:
    """The capabilities of a detector instance or class (its ``capabilities``; :class:`had.Detector`'s are the
    defaults)."""
    cls = detector if isinstance(detector, type) else type(detector)
    loose = [name for name in FLAG_NAMES if hasattr(cls, name)]
    if loose:
        raise PluginError(
            f"{cls.__qualname__} sets {', '.join(loose)} as a class attribute; declare it as "
            f"`capabilities = had.capabilities.Capabilities({loose[0]}=...)`"
        )
    declared = cls.capabilities  # had.Detector declares the defaults
    if not isinstance(declared, Capabilities):
        raise PluginError(f"{cls.__qualname__}.capabilities must be a had.capabilities.Capabilities, "
                          f"got {type(declared).__name__}")
    return declared
