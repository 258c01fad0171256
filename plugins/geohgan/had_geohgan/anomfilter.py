"""AnomFilter: pick high-confidence anomalous tiles of a source domain to label target-domain training data.

methods.md section 5.6 (``GEO:AnomFilter.py``), as a function:

1. ``M`` = mean over the target-domain tiles of each tile's per-channel spatial mean (length C);
2. candidates = source tiles whose anomaly score is an outlier: ``score > Q3 + 1.5 IQR`` (of all source scores);
3. ``D_j = ||M - tile_j||`` (Frobenius norm of the difference broadcast over the tile's C x h x w values);
   ``R = (min D + max D) / 2`` over the candidates; keep the candidates with ``D_j <= R`` (the half closer to
   the target domain).

The reference reads each score from a file name's integer part (``float(name.split('.')[0])``); here the
scores are passed as floats. It copies files; here the indices are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from had.errors import InvalidInputError


@dataclass(frozen=True)
class AnomFilterResult:
    """Selected tile indices (into the source tiles) and the quantities that chose them."""

    selected: np.ndarray        # indices of confident anomalies, ascending
    candidates: np.ndarray      # indices passing the score outlier rule
    score_cut: float            # Q3 + 1.5 IQR
    distances: np.ndarray       # D_j of each candidate (aligned with `candidates`)
    radius: float               # R = (min D + max D) / 2 (nan when there is no candidate)
    target_mean: np.ndarray     # M, length C


def _tiles(tiles, what: str) -> np.ndarray:
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim != 4 or tiles.shape[0] == 0:
        raise InvalidInputError(f"{what} must be non-empty tiles (N, C, h, w), got shape {tiles.shape}")
    if not np.isfinite(tiles).all():
        raise InvalidInputError(f"{what} hold NaN or infinite values")
    return tiles


def target_mean(target_tiles) -> np.ndarray:
    """``M``: the mean over target tiles of each tile's per-channel spatial mean ``(C,)``."""
    return _tiles(target_tiles, "target tiles").mean(axis=(2, 3)).mean(axis=0)


def outlier_cut(scores) -> float:
    """``Q3 + 1.5 IQR`` of `scores` (numpy percentiles, linear interpolation, as scipy.stats.iqr)."""
    q1, q3 = np.percentile(np.asarray(scores, dtype=np.float64), [25, 75])
    return float(q3 + 1.5 * (q3 - q1))


def anom_filter(scores, source_tiles, target_tiles) -> AnomFilterResult:
    """Run AnomFilter (see the module docstring). `scores` ``(N,)`` belong to `source_tiles` ``(N, C, h, w)``."""
    source = _tiles(source_tiles, "source tiles")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size != source.shape[0]:
        raise InvalidInputError(f"{scores.size} scores for {source.shape[0]} source tiles; pass one per tile")
    if not np.isfinite(scores).all():
        raise InvalidInputError("scores hold NaN or infinite values")
    m = target_mean(target_tiles)
    if m.size != source.shape[1]:
        raise InvalidInputError(f"target tiles have {m.size} channels, source tiles {source.shape[1]}")
    cut = outlier_cut(scores)
    candidates = np.flatnonzero(scores > cut)
    if candidates.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return AnomFilterResult(empty, empty, cut, np.zeros(0), float("nan"), m)
    diff = source[candidates] - m[None, :, None, None]
    distances = np.sqrt((diff**2).sum(axis=(1, 2, 3)))
    radius = float((distances.min() + distances.max()) / 2.0)
    selected = candidates[distances <= radius]
    return AnomFilterResult(np.sort(selected), candidates, cut, distances, radius, m)
