"""`deepsvdd`'s whitening input scaling for rows (``scaling="whiten"``), inside the graph: the training rows'
principal components, each divided by the square root of its (shrunk) variance, then one affine map for all
features that puts the training values in [0, 1].

With the eigendecomposition ``C = V diag(l) V^T`` of the training rows' covariance (float64), the map is
``z = ((x - mu) V diag((l + shrinkage * mean(l)) ** -1/2) - lo) / (hi - lo)``, with ``lo`` and ``hi`` the
smallest and largest value of the training rows' whitened coordinates (one pair for all features, so the
relative scale that whitening sets is kept, and the autoencoder's sigmoid output can reach the training values);
with ``whiten_tail`` > 0 (0.005 by default since the sixth round), that share of the values lies below ``lo``
and as many above ``hi``: on heavy-tailed polluted shuttle a few extreme rows set the minimum and maximum and
squashed every other value into a sliver (AUROC 25 with min and max, 86 with the 0.5-99.5 % range).
``shrinkage=0`` is full whitening: directions whose variance is below RX's eigenvalue floor (``eig_floor`` times
the largest, :class:`had.rx.RXConfig`) carry no measurable variance and are dropped, as RX's pseudo-inverse does
(their column of the map is zero). ``shrinkage > 0`` adds that multiple of the mean variance to every direction
before dividing: a direction's weight is bounded by ``(shrinkage * mean(l)) ** -1/2``, so the directions in which
the normal rows hardly vary count more than in the raw input but not without bound; nothing is dropped.

Why (deepsvdd_tabular_choice.md, "Fifth round"): on tables whose normal rows are close to one Gaussian (digit pairs
as pooled pixels) global RX, the Mahalanobis distance, is far above Deep SVDD on the raw features, whose distance
is set by the few directions of largest variance; whitened input gives the network every direction at the same
scale. Not in the papers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from had.rx import RXConfig

#: directions with less variance than this times the largest are dropped when shrinkage is 0 (RX's floor)
EIG_FLOOR = RXConfig.model_fields["eig_floor"].default


#: rows converted to float64 at a time (the training rows are never copied whole)
CHUNK_ROWS = 65536


def _chunks(X: np.ndarray, mean: np.ndarray | None = None):
    for start in range(0, X.shape[0], CHUNK_ROWS):
        rows = X[start:start + CHUNK_ROWS].astype(np.float64)
        yield rows if mean is None else rows - mean


def whitening_map(X: np.ndarray, shrinkage: float, tail: float = 0.0) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(mean, matrix, lo, span) of the map ``((x - mean) @ matrix - lo) / span`` fitted on the rows of `X`
    (float64, :data:`CHUNK_ROWS` rows at a time: mean, then covariance, then the whitened range). `tail` 0: lo and
    hi are the smallest and largest whitened value; ``tail > 0``: its ``tail`` and ``1 - tail`` quantiles (of all
    values of at most :data:`CHUNK_ROWS` rows, evenly spaced), so a few extreme rows do not squash the rest."""
    X = np.asarray(X).reshape(X.shape[0], -1)
    mean = sum(rows.sum(axis=0) for rows in _chunks(X)) / X.shape[0]
    cov = sum(rows.T @ rows for rows in _chunks(X, mean)) / max(X.shape[0] - 1, 1)
    eigval, eigvec = np.linalg.eigh(cov)
    eigval = np.clip(eigval, 0.0, None)
    top = float(eigval[-1])
    if top <= 0.0:  # constant rows: nothing to whiten; every value maps to 0
        return mean, np.zeros_like(cov), 0.0, 1.0
    if shrinkage > 0.0:
        weight = 1.0 / np.sqrt(eigval + shrinkage * float(eigval.mean()))
    else:
        keep = eigval >= EIG_FLOOR * top
        weight = np.where(keep, 1.0 / np.sqrt(np.where(keep, eigval, 1.0)), 0.0)
    matrix = eigvec * weight
    if tail > 0.0:
        picked = np.unique(np.linspace(0, X.shape[0] - 1, min(X.shape[0], CHUNK_ROWS)).round().astype(np.int64))
        lo, hi = (float(q) for q in np.quantile((X[picked].astype(np.float64) - mean) @ matrix, [tail, 1.0 - tail]))
    else:
        ranges = [(float(w.min()), float(w.max())) for w in (rows @ matrix for rows in _chunks(X, mean))]
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return mean, matrix, lo, (hi - lo) if hi > lo else 1.0


class WhitenScale(nn.Module):
    """The whitening map of :func:`whitening_map` as a torch module (its statistics are buffers, saved with the
    weights and exported in the same ONNX graph as the network)."""

    def __init__(self, n_features: int, shrinkage: float, tail: float = 0.0):
        super().__init__()
        self.shrinkage, self.tail = float(shrinkage), float(tail)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("matrix", torch.eye(n_features))
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("span", torch.ones(()))

    def fit(self, X: np.ndarray) -> "WhitenScale":
        mean, matrix, lo, span = whitening_map(X, self.shrinkage, self.tail)
        self.mean = torch.from_numpy(mean.astype(np.float32))
        self.matrix = torch.from_numpy(matrix.astype(np.float32))
        self.lo = torch.tensor(lo, dtype=torch.float32)
        self.span = torch.tensor(span, dtype=torch.float32)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(x.shape[0], -1)
        return (((rows - self.mean) @ self.matrix - self.lo) / self.span).reshape(x.shape)
