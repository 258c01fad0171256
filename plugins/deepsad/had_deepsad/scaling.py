"""`deepsvdd`'s optional input scaling for rows, inside the graph: the rank (quantile) transform of each feature.

:class:`QuantileScale` is scikit-learn's :class:`~sklearn.preprocessing.QuantileTransformer` (uniform output,
fitted on the training rows) as a torch module: the fitted quantiles are a buffer, and the transform is written
with elementwise operations only (a sum of clamped ramps, one per pair of neighbouring quantiles, added one
segment at a time), so it is saved
with the weights and exported into the same ONNX graph. It reproduces scikit-learn's values, ties included
(a value equal to a run of tied quantiles maps to the middle of their references, as scikit-learn's average of
the forward and backward interpolation does); values outside the training range map to 0 or 1.

Why: the protocol's standard + min-max scaling leaves a heavy-tailed feature (shuttle's) squashed into a sliver
of [0, 1] by a few extreme rows; the rank transform spreads every feature over [0, 1] (what the autoencoder's
sigmoid output expects) whatever its tails (deepsvdd_tabular_choice.md, "Second round").
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.preprocessing import QuantileTransformer
from torch import nn

#: quantiles per feature (fewer when the training set has fewer rows)
N_QUANTILES = 100


class QuantileScale(nn.Module):
    """Per feature, the empirical CDF of the training rows (piecewise linear between ``n_quantiles`` quantiles)."""

    def __init__(self, n_features: int, n_quantiles: int = N_QUANTILES):
        super().__init__()
        self.register_buffer("quantiles", torch.zeros(n_quantiles, n_features))

    def fit(self, X: np.ndarray, seed: int = 0) -> "QuantileScale":
        X = np.asarray(X, dtype=np.float64).reshape(X.shape[0], -1)
        n_quantiles = min(self.quantiles.shape[0], X.shape[0])
        qt = QuantileTransformer(n_quantiles=n_quantiles, output_distribution="uniform", subsample=100_000,
                                 random_state=seed).fit(X)
        self.quantiles = torch.from_numpy(qt.quantiles_.astype(np.float32))
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        stored = state_dict.get(prefix + "quantiles")
        if stored is not None:  # a training set of fewer than N_QUANTILES rows stored fewer quantiles
            self.quantiles = torch.empty_like(stored)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quantiles  # (K, d), non-decreasing along K
        width = q[1:] - q[:-1]
        flat = width > 0
        safe = torch.where(flat, width, torch.ones_like(width))
        out = torch.zeros_like(x)
        for k in range(q.shape[0] - 1):  # one segment at a time: memory stays (n, d) for any K
            ramp = torch.clamp((x - q[k]) / safe[k], 0.0, 1.0)
            step = 0.5 * (torch.sign(x - q[k + 1]) + 1.0)  # a tied segment: 0 below, 1/2 at the tie, 1 above
            out = out + torch.where(flat[k], ramp, step)
        out = torch.where(x >= q[-1], torch.ones_like(out), out / (q.shape[0] - 1))  # the training range's ends
        return torch.where(x <= q[0], torch.zeros_like(out), out)  # (both: a constant feature, 0) as scikit-learn
