"""Pixel-trained detectors on large scenes: fit on a seeded sample of the pixels, score every pixel.

A detector that trains on the pixels of a cube (``pixelwise = True``: LREN, the autoencoder, Deep SVDD/SAD on
pixels; the PyOD adapters) sees ``H * W`` training rows; on a flight line that is millions. Its config takes the
field ``max_fit_pixels`` (and ``nodata``) by deriving from :class:`PixelSampleConfig` (or :class:`MaxFitPixelsConfig`,
without ``nodata``) as well (detectors trained on images or whole scenes do not, so ``had describe`` shows the field only
where it acts). :func:`fit_sample` replaces such a cube, when it has more than ``max_fit_pixels`` pixels, by a
seeded uniform sample of that many pixel rows (read in one pass of row tiles, :func:`had.tiling.sample_pixels`),
with the known labels of the same pixels (a detector that learns from them keeps every labelled pixel). The
detector trains on the sample, then scores every pixel of the scene tile by tile for ``decision_scores_``
(:class:`~had_sdk.torch_detector.TorchDetector`, the PyOD adapter),
so the threshold still comes from the whole scene. A cube at or below the limit, rows and images are used whole,
exactly as before (same arrays, same random draws), but for pixels (of a cube or rows) holding the config's
``nodata`` value in every band, which stay out of the fit. In the core, not the SDK, because detectors without torch
use it too; ``had_sdk.pixel_sample`` re-exports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pydantic import Field

from .cubeview import CubeView
from .detector import DetectorConfig
from .errors import InvalidInputError
from .nodata import FillValue, PartialFill, fill_pixels, nodata_field
from .tiling import gather_pixels, sample_pixels, sample_record, tiles

#: the documented default of ``max_fit_pixels``: ~200k pixels train an autoencoder or LREN well and fit in memory
DEFAULT_MAX_FIT_PIXELS = 200_000


class MaxFitPixelsConfig(DetectorConfig):
    """``max_fit_pixels`` alone: detectors that sample a large cube but do not mask fill."""

    max_fit_pixels: int | None = Field(
        DEFAULT_MAX_FIT_PIXELS, ge=2, description="a cube with more pixels is fitted on a seeded sample of this many "
        "(recorded as fit_sample_) and every pixel is scored; None: all pixels")


class PixelSampleConfig(MaxFitPixelsConfig):
    """The fields of detectors trained per pixel: ``class MyConfig(TorchDetectorConfig, PixelSampleConfig)``."""

    nodata: FillValue = nodata_field()


def fit_sample(X: np.ndarray, y: np.ndarray | None, max_pixels: int | None, seed: int,
               fill: float | None = None, partial: PartialFill | None = None, keep_labelled: bool = False
               ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """``(X, y, None)`` unchanged, or, for a cube ``(H, W, B)`` with more than `max_pixels` pixels, the sampled
    pixel rows ``(max_pixels, B)``, their labels, and what was sampled: ``{"pixels", "of", "seed", "sha256"}``
    (the sha256 of the sorted flat pixel indices, int64 little-endian: the same sample gives the same digest).

    With a `fill` value (:mod:`had.nodata`) and a cube holding fill pixels, the rows are those of the other pixels
    (all of them, or a seeded sample of `max_pixels` of them), and the record says ``"fill_pixels"`` too (pixel
    rows ``(N, B)`` holding fill rows: the other rows, not sampled);
    `partial` counts the pixels holding `fill` in some bands only (:class:`had.nodata.PartialFill`).

    `keep_labelled` (a detector that learns from known labels): the pixels whose label in `y` is not 0 are all in
    the sample, up to half of it (beyond that a seeded half is drawn among them), the rest drawn uniformly from
    the unlabelled pixels, so a handful of labelled targets on a flight line is not thinned out with the
    background; the record says ``"labelled"``, how many were kept. Without labels the draw is the uniform one."""
    labelled = _labelled(y) if keep_labelled else None
    if np.ndim(X) == 2 and fill is not None:  # pixel rows as a one-column scene: the fill rows left out, no sample
        rows = np.asarray(X)  # rows holding it in some columns are not counted (the partial note's advice is a cube's)
        sample = _without_fill(rows[:, None, :], y, None, seed, fill, rows=True)
        return sample if sample is not None else (rows, y, None)
    if np.ndim(X) == 3 and fill is not None:
        sample = _without_fill(X, y, max_pixels, seed, fill, partial, labelled)
        if sample is not None:
            return sample
    if max_pixels is None or np.ndim(X) != 3 or X.shape[0] * X.shape[1] <= max_pixels:
        return (np.asarray(X) if isinstance(X, CubeView) else X), y, None  # a view of a file's bands: read whole
    total = X.shape[0] * X.shape[1]
    if labelled is not None:
        picks, kept = _keeping(labelled, None, total, int(max_pixels), seed)
        return gather_pixels(X, picks), _labels_of(y, picks), {**sample_record(picks, total, seed), "labelled": kept}
    rows, picks = sample_pixels(X, int(max_pixels), seed=seed)
    return rows, _labels_of(y, picks), sample_record(picks, total, seed)


def _labelled(y: np.ndarray | None) -> np.ndarray | None:
    """The sorted flat indices of the pixels with a known label (not 0), or None when there are none."""
    if y is None:
        return None
    labelled = np.flatnonzero(np.asarray(y).reshape(-1))
    return labelled if labelled.size else None


def _labels_of(y: np.ndarray | None, picks: np.ndarray) -> np.ndarray | None:
    return None if y is None else np.asarray(y).reshape(-1)[picks]


def _keeping(labelled: np.ndarray, valid: np.ndarray | None, total: int, n: int, seed: int
             ) -> tuple[np.ndarray, int]:
    """(sorted picks, how many labelled) of `n` pixels: the `labelled` ones (a seeded ``n // 2`` of them when more),
    the rest a seeded uniform draw among the unlabelled ones of `valid` (None: all `total` pixels, drawn without
    listing them: the ``j``-th unlabelled pixel is ``j`` plus the labelled pixels at or before it)."""
    rng = np.random.default_rng(seed)
    kept = labelled if labelled.size <= n // 2 else np.sort(rng.choice(labelled, size=n // 2, replace=False))
    if valid is None:
        j = np.sort(rng.choice(total - labelled.size, size=min(n - kept.size, total - labelled.size), replace=False))
        others = j + np.searchsorted(labelled - np.arange(labelled.size), j, side="right")
    else:
        pool = np.setdiff1d(valid, labelled, assume_unique=True)
        others = rng.choice(pool, size=min(n - kept.size, pool.size), replace=False)
    return np.union1d(kept, others).astype(np.int64), int(kept.size)


def _without_fill(X: np.ndarray, y: np.ndarray | None, max_pixels: int | None, seed: int,
                  fill: float, partial: PartialFill | None = None, labelled: np.ndarray | None = None,
                  rows: bool = False) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]] | None:
    """:func:`fit_sample` of a cube with fill pixels (None when it has none): one pass of row tiles finds them,
    a second gathers the rows picked among the others (keeping the `labelled` ones that are not fill). `rows`:
    `X` is pixel rows as a one-column scene, said as rows and columns."""
    width, total = X.shape[1], X.shape[0] * X.shape[1]
    is_fill = np.empty(total, dtype=bool)
    for start, stop, block in tiles(X):
        is_fill[start * width:stop * width] = fill_pixels(block, fill, partial).reshape(-1)
    if not is_fill.any():
        return None
    valid = np.flatnonzero(~is_fill)
    if valid.size < 2:
        what = ("rows hold the no-data value {:g} in every column" if rows else
                "pixels hold the no-data value {:g} in every band")
        raise InvalidInputError(f"{is_fill.sum():,} {what.format(fill)}, which leaves {valid.size} to fit on; check "
                                "the file's no-data value")
    picks, record = valid, {}
    if labelled is not None:
        labelled = labelled[~is_fill[labelled]]
    if max_pixels is not None and valid.size > max_pixels:
        if labelled is not None and labelled.size:
            picks, kept = _keeping(labelled, valid, total, int(max_pixels), seed)
            record["labelled"] = kept
        else:
            picks = np.sort(np.random.default_rng(seed).choice(valid, size=int(max_pixels), replace=False))
    return (gather_pixels(X, picks), _labels_of(y, picks),
            {**sample_record(picks, total, seed), "fill_pixels": int(is_fill.sum()), **record})
