"""Pixel-trained detectors on large scenes: fit on a seeded sample of the pixels, score every pixel.

A detector that trains on the pixels of a cube (``pixelwise = True``: LREN, the autoencoder, Deep SVDD/SAD on
pixels; the PyOD adapters) sees ``H * W`` training rows; on a flight line that is millions. Its config takes the
field ``max_fit_pixels`` (and ``nodata``) by deriving from :class:`PixelSampleConfig` (or :class:`MaxFitPixelsConfig`,
without ``nodata``) as well (detectors trained on images or whole scenes do not, so ``had describe`` shows the field only
where it acts). :func:`fit_sample` replaces such a cube, when it has more than ``max_fit_pixels`` pixels, by a
seeded uniform sample of that many pixel rows (read in one pass of row tiles, :func:`had.tiling.sample_pixels`),
with the known labels of the same pixels. The detector trains on the sample, then scores every pixel of the
scene tile by tile for ``decision_scores_`` (:class:`~had_sdk.torch_detector.TorchDetector`, the PyOD adapter),
so the threshold still comes from the whole scene. A cube at or below the limit, rows and images are used whole,
exactly as before (same arrays, same random draws). In the core, not the SDK, because detectors without torch
use it too; ``had_sdk.pixel_sample`` re-exports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pydantic import Field

from .cubeview import CubeView
from .detector import DetectorConfig
from .errors import InvalidInputError
from .nodata import FillValue, PartialFill, fill_pixels
from .tiling import PixelSample, sample_pixels, sample_record, tiles

#: the documented default of ``max_fit_pixels``: ~200k pixels train an autoencoder or LREN well and fit in memory
DEFAULT_MAX_FIT_PIXELS = 200_000


class MaxFitPixelsConfig(DetectorConfig):
    """``max_fit_pixels`` alone: detectors that sample a large cube but do not mask fill."""

    max_fit_pixels: int | None = Field(
        DEFAULT_MAX_FIT_PIXELS, ge=2, description="a cube with more pixels is fitted on a seeded sample of this many "
        "(recorded as fit_sample_) and every pixel is scored; None: all pixels")


class PixelSampleConfig(MaxFitPixelsConfig):
    """The fields of detectors trained per pixel: ``class MyConfig(TorchDetectorConfig, PixelSampleConfig)``."""

    nodata: FillValue = Field(
        None, description="fill value: pixels holding it in every band (\"nan\": NaN) are left out of the fit and "
        "the threshold and scored NaN; had fit sets it from the file's declared no-data value")


def fit_sample(X: np.ndarray, y: np.ndarray | None, max_pixels: int | None, seed: int,
               fill: float | None = None, partial: PartialFill | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """``(X, y, None)`` unchanged, or, for a cube ``(H, W, B)`` with more than `max_pixels` pixels, the sampled
    pixel rows ``(max_pixels, B)``, their labels, and what was sampled: ``{"pixels", "of", "seed", "sha256"}``
    (the sha256 of the sorted flat pixel indices, int64 little-endian: the same sample gives the same digest).

    With a `fill` value (:mod:`had.nodata`) and a cube holding fill pixels, the rows are those of the other pixels
    (all of them, or a seeded sample of `max_pixels` of them), and the record says ``"fill_pixels"`` too;
    `partial` counts the pixels holding `fill` in some bands only (:class:`had.nodata.PartialFill`)."""
    if np.ndim(X) == 3 and fill is not None:
        sample = _without_fill(X, y, max_pixels, seed, fill, partial)
        if sample is not None:
            return sample
    if max_pixels is None or np.ndim(X) != 3 or X.shape[0] * X.shape[1] <= max_pixels:
        return (np.asarray(X) if isinstance(X, CubeView) else X), y, None  # a view of a file's bands: read whole
    rows, picks = sample_pixels(X, int(max_pixels), seed=seed)
    labels = None if y is None else np.asarray(y).reshape(-1)[picks]
    return rows, labels, sample_record(picks, X.shape[0] * X.shape[1], seed)


def _without_fill(X: np.ndarray, y: np.ndarray | None, max_pixels: int | None, seed: int,
                  fill: float, partial: PartialFill | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]] | None:
    """:func:`fit_sample` of a cube with fill pixels (None when it has none): one pass of row tiles finds them,
    a second gathers the rows picked among the others."""
    width, total = X.shape[1], X.shape[0] * X.shape[1]
    is_fill = np.empty(total, dtype=bool)
    for start, stop, block in tiles(X):
        is_fill[start * width:stop * width] = fill_pixels(block, fill, partial).reshape(-1)
    if not is_fill.any():
        return None
    valid = np.flatnonzero(~is_fill)
    if valid.size < 2:
        raise InvalidInputError(f"{is_fill.sum():,} pixels hold the no-data value {fill:g} in every band, which "
                                f"leaves {valid.size} to fit on; check the file's no-data value")
    picks = valid
    if max_pixels is not None and valid.size > max_pixels:
        picks = np.sort(np.random.default_rng(seed).choice(valid, size=int(max_pixels), replace=False))
    gathered = PixelSample(tuple(X.shape), 0, seed)
    gathered.picks = picks
    for start, _, block in tiles(X):
        gathered.add(start, np.asarray(block))
    labels = None if y is None else np.asarray(y).reshape(-1)[picks]
    return gathered.rows, labels, {**sample_record(picks, total, seed), "fill_pixels": int(is_fill.sum())}
