"""The bands a model was fitted on, by wavelength: recorded by ``had fit``, compared by ``had score``.

A model's input spec holds only its band count; a scene of another sensor (or the same file with its bands in
reverse order) with as many bands was scored as if its bands were the model's, every pixel flagged or none, no
word said. ``had fit`` now records the scene's wavelengths (``input_spec["wavelengths"]``, nanometres, after
``--data bands=...``) when its header gives one per band, and ``had score`` refuses a scene whose wavelengths
say its bands are others: a band whose centre lies more than half the model's smallest band spacing from the
model's (a band of its neighbour, or of another range). Smaller shifts, between flights of one sensor or
calibrations, are the same bands. A scene or a model without wavelengths is not compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError

#: the input spec's key
KEY = "wavelengths"


#: wavelengths all below this are micrometres, not nanometres (headers give either; the unit field is often absent)
MICROMETRES_BELOW = 100.0


def as_nanometres(values: np.ndarray) -> np.ndarray:
    """float64 `values` in nanometres: micrometres (all below :data:`MICROMETRES_BELOW`, NaN ignored) converted."""
    return values * 1000.0 if np.nanmax(values) < MICROMETRES_BELOW else values


def nanometres(values: Any) -> np.ndarray | None:
    """`values` as float64 nanometres (:func:`as_nanometres`), or None when they are not a list of finite numbers."""
    try:
        nm = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if nm.size == 0 or not np.isfinite(nm).all():
        return None
    return as_nanometres(nm)


def record(meta: dict[str, Any], n_features: int) -> list[float] | None:
    """The wavelengths to record for a scene of `n_features` bands (its meta's), or None."""
    nm = nanometres(meta.get("wavelengths"))
    return None if nm is None or nm.size != n_features else [float(w) for w in nm]


def check(recorded: Any, meta: dict[str, Any], name: str) -> None:
    """:class:`InvalidInputError` when the scene's wavelengths (its `meta`'s) say its bands are not the model's
    (`recorded`, :func:`record`'s); nothing when either is unknown or the band counts differ (said elsewhere)."""
    model, scene = nanometres(recorded), nanometres(meta.get("wavelengths"))
    if model is None or scene is None or model.size != scene.size or model.size < 2:
        return
    spacing = np.diff(np.sort(model))
    spacing = spacing[spacing > 0]
    tolerance = 0.5 * float(spacing.min()) if spacing.size else 0.0
    off = np.abs(scene - model) > tolerance
    if not off.any():
        return
    band = int(np.argmax(off))
    reversed_ = np.allclose(scene[::-1], model, atol=tolerance)
    why = " (the same bands in reverse order)" if reversed_ else ""
    raise InvalidInputError(
        f"{name}: its bands are not the model's{why}: band {band + 1} is at {scene[band]:g} nm here and "
        f"{model[band]:g} nm in the model ({int(off.sum())} of {model.size} bands more than {tolerance:g} nm "
        f"apart; the model was fitted on {model.min():g}-{model.max():g} nm); score a scene of the model's "
        "sensor, pick its bands with --data bands=..., or fit a model on this scene's bands")
