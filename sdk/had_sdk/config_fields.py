"""Config rules shared by detector configs, without torch (a plugin's config module stays light to import).

:class:`Float32Fields`: every float field holds a value float32 can hold. :class:`~had_sdk.torch_detector.TorchConfig`
derives from it; a config that trains a torch network beside another model (an autoencoder's ``ae_lr``,
``ae_weight_decay`` in a hybrid) may derive from it too.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from pydantic import ValidationInfo, field_validator

from had.config import HadConfig
from had.validation import FLOAT32_MAX, refuse_float32_zero  # float32 bounds: beyond its range, or rounded to 0

__all__ = ["FLOAT32_MAX", "Float32Fields"]


def _floats_only(annotation: Any) -> bool:
    """Whether a field's type holds plain numbers, floats among them: ``float``, ``float | None``,
    ``Annotated[float, ...]``, ``int | float``, ``list[float]``; not a union with strings or literals (a fill
    value spelled ``"nan"``, a threshold rule), whose numbers are not the network's."""
    found: set[Any] = set()

    def walk(a: Any) -> None:
        origin = typing.get_origin(a)
        if origin is typing.Annotated or origin is list:
            walk(typing.get_args(a)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(a):
                walk(arg)
        else:
            found.add(a if isinstance(a, type) else object)

    walk(annotation)
    return float in found and found <= {float, int, type(None)}


def _above_zero(field: Any) -> bool:
    """Whether a field must be above 0 (``gt=0`` or more): float32 making its value 0 gives one the field refuses."""
    return any(getattr(m, "gt", None) is not None and m.gt >= 0 for m in field.metadata)


class Float32Fields(HadConfig):
    """Every float field (``float``, ``float | None``, ``list[float]``) holds a value float32 can hold, and one that
    must be above 0 does not become 0 there (``lr=1e-50``), since a torch detector computes in float32:
    ``weight_decay=1e308`` (an optimiser's scalar), a centre's ``eps``, LREN's ``lrr_lambda`` are refused at once
    with the key named, not a torch traceback at the first step. One rule for every field of every torch
    detector's config (:class:`~had_sdk.torch_detector.TorchConfig` derives from it) rather than a bound per
    field."""

    @field_validator("*", mode="after")
    @classmethod
    def _within_float32(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None or not _floats_only(field.annotation):
            return value
        for number in value if isinstance(value, list) else (value,):
            if isinstance(number, float) and math.isfinite(number) and abs(number) > FLOAT32_MAX:
                raise ValueError(f"{number:g} is beyond float32's range (magnitudes up to {FLOAT32_MAX:.3g}), "
                                 "the precision torch computes in; give a smaller value")
            if isinstance(number, float) and _above_zero(field):
                refuse_float32_zero(number)
        return value
