"""The units a scene's values are stored in (an ENVI header's ``reflectance scale factor``): recorded by ``had fit``,
compared by ``had score``.

A model fitted on an int16 flight line stored as reflectance x 10000 (``reflectance scale factor = 10000``)
scored the same scene stored as float reflectance (no factor) without a word: every pixel some 10,000 times
nearer the model's mean than its training pixels, a flat map that means nothing, exit 0 (was: the field was not
read). ``had fit`` now records the factor of a scene whose reader gives one (``input_spec["reflectance_scale_factor"]``:
ENVI files, None where the header has none), and ``had score`` refuses a scene whose factor differs, a missing one
read as 1 (ENVI: the values as stored). Values are not rescaled: the user decides which file to score. Models
saved before, and scenes of other formats (whose meta has no such key), are not compared.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ArtifactError, InvalidInputError, shown

#: the input spec's key, and the scene meta's (an ENVI reader's ``reflectance scale factor``)
KEY = "reflectance_scale_factor"


def record(meta: dict[str, Any], spec: dict[str, Any]) -> None:
    """Put the scene's factor (its `meta`'s, None included) in the model's input `spec` where its reader gives one."""
    if KEY in meta:
        spec[KEY] = meta[KEY]


def _text(factor: float | None) -> str:
    return "none (values as stored)" if factor is None else f"{factor:g}"


def check(spec: dict[str, Any], meta: dict[str, Any], name: str) -> None:
    """:class:`InvalidInputError` when the scene's factor (its `meta`'s) is not the one the model recorded (its
    input `spec`'s), None read as 1; nothing when either has no record (models saved before, other formats)."""
    if KEY not in spec or KEY not in meta:
        return
    model, scene = spec[KEY], meta[KEY]
    if model is not None and (isinstance(model, bool) or not isinstance(model, (int, float))
                              or not math.isfinite(model) or model <= 0):  # was: a ValueError traceback
        raise ArtifactError(f"the model's input_spec.{KEY} is {shown(repr(model)[:60])}, not a positive number or "
                            "null: its manifest was edited; fit and save the model again")
    if math.isclose(1.0 if model is None else float(model), 1.0 if scene is None else float(scene), rel_tol=1e-9):
        return
    stored = ("with no reflectance scale factor" if model is None
              else f"with reflectance scale factor = {model:g}")
    raise InvalidInputError(
        f"{name}: its reflectance scale factor is {_text(scene)} and the model's is {_text(model)}: its values are "
        f"in other units, so the scores would mean nothing; score a file stored as the model's was ({stored}), or "
        "fit a model on this file's data")
