"""Checks of an image batch's layout: images stored channels-last ``(N, H, W, C)`` where had takes ``(N, C, H, W)``.

A channels-last batch has rank 4 like a channels-first one, so nothing else catches it: ``(N, 28, 28, 1)`` would
be read as 28 channels of 28 x 1 pixels, and a detector that resizes inside trains on that without a word. The
detector base refuses it at fit (:func:`refuse_channels_last`) and explains it at scoring
(:func:`channels_last_error` from :meth:`had.detector.Detector._check_shape`), in the words the cube check uses for
band-first order (:func:`had.truth.as_map`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import InvalidInputError

#: channel counts of images as they are stored channels-last: grey, RGB, RGBA
STORED_CHANNELS = (1, 3, 4)


def looks_channels_last(shape: Sequence[int]) -> bool:
    """Whether an image batch `shape` ``(N, A, B, C)`` looks stored channels-last: the last axis holds 1, 3 or 4
    values, fewer than the channel axis, and the channel axis equals the height (square images ``(N, H, H, C)``).
    Genuine multichannel tiles ``(N, 12, 16, 16)`` or ``(N, 12, 3, 3)`` do not."""
    if len(shape) != 4:
        return False
    _, channels, height, last = (int(v) for v in shape)
    return last in STORED_CHANNELS and last < channels and channels == height


def channels_last_error(shape: Sequence[int], fitted: Sequence[int] | None = None) -> InvalidInputError | None:
    """The error for an image batch `shape` that looks channels-last (:func:`looks_channels_last`), else None;
    `fitted`: the ``(C, H, W)`` a model was fitted on, named first (at scoring)."""
    if not looks_channels_last(shape):
        return None
    n, channels, height, width = (int(v) for v in shape)
    prefix = f"fitted on images {tuple(int(v) for v in fitted)}; " if fitted is not None else ""
    return InvalidInputError(
        f"{prefix}images of shape {(n, channels, height, width)} look channels-last: they are probably stored as "
        f"(N, H, W, C), which had would read as {channels} channels of {height}x{width} pixels; move the channel "
        f"axis second, e.g. numpy.moveaxis(x, -1, 1), to get {(n, width, channels, height)} (N, C, H, W)")


def refuse_channels_last(X: Any) -> None:
    """Raise :func:`channels_last_error` for data `X` (its shape only) that looks like channels-last images."""
    error = channels_last_error(getattr(X, "shape", ()))
    if error is not None:
        raise error
