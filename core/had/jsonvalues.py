"""Python values made JSON types: one conversion for the CLI's ``--json`` output and for artifact manifests."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any, *, nonfinite_as_none: bool = True) -> Any:
    """`value` with numpy scalars/arrays, tuples and paths made JSON types.

    `nonfinite_as_none`: NaN and infinities become None (strict JSON, for output other programs read); False keeps
    them as floats (a manifest that must give back the exact config it was written from).
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v, nonfinite_as_none=nonfinite_as_none) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, nonfinite_as_none=nonfinite_as_none) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), nonfinite_as_none=nonfinite_as_none)
    if isinstance(value, np.generic):
        return jsonable(value.item(), nonfinite_as_none=nonfinite_as_none)
    if isinstance(value, float):
        return value if (math.isfinite(value) or not nonfinite_as_none) else None
    if isinstance(value, Path):
        return str(value)
    return value
