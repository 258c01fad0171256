"""`deepsvdd`'s optional input scaling for rows, inside the graph: the rank (quantile) transform of each feature.

:class:`QuantileScale` is scikit-learn's :class:`~sklearn.preprocessing.QuantileTransformer` (uniform output,
fitted on the training rows) as a torch module: the fitted quantiles are a buffer, saved with the weights. Eager,
each value's place among the quantiles is found by binary search (``torch.searchsorted``); exported, by a binary
search of fixed steps written in graph operations (:meth:`QuantileScale.bisected`; ONNX has no search
operator), in the same ONNX graph as the network; then the same arithmetic. Both give the values of the plain
definition, a sum of clamped ramps, one per pair of neighbouring quantiles (:meth:`QuantileScale.segments`, kept
as the reference with :meth:`QuantileScale.counted`, the graph exported before), to the bit (tested). It
reproduces scikit-learn's values, ties included
(a value equal to a run of tied quantiles maps to the middle of their references, as scikit-learn's average of
the forward and backward interpolation does); values outside the training range map to 0 or 1.

Why: the protocol's standard + min-max scaling leaves a heavy-tailed feature (shuttle's) squashed into a sliver
of [0, 1] by a few extreme rows; the rank transform spreads every feature over [0, 1] (what the autoencoder's
sigmoid output expects) whatever its tails (deepsvdd_tabular_choice.md, "Second round").
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: quantiles per feature (fewer when the training set has fewer rows)
N_QUANTILES = 100
#: quantiles compared with the values at once in the exported graph (:meth:`QuantileScale.counted`)
BLOCK = 10


class QuantileScale(nn.Module):
    """Per feature, the empirical CDF of the training rows (piecewise linear between ``n_quantiles`` quantiles)."""

    def __init__(self, n_features: int, n_quantiles: int = N_QUANTILES):
        super().__init__()
        self.register_buffer("quantiles", torch.zeros(n_quantiles, n_features))
        #: whether a feature has tied quantiles (a discrete feature): only then is ``R`` counted (a plain bool, set
        #: when the quantiles are, so the exported graph holds no data-dependent branch)
        self.tied = False

    def fit(self, X: np.ndarray, seed: int = 0) -> "QuantileScale":
        from sklearn.preprocessing import QuantileTransformer  # here: scikit-learn takes ~1 s to import, and only
        # a fit with scaling="quantile" needs it (every deepsad and deepsvdd command paid it)

        X = np.asarray(X, dtype=np.float64).reshape(X.shape[0], -1)
        n_quantiles = min(self.quantiles.shape[0], X.shape[0])
        qt = QuantileTransformer(n_quantiles=n_quantiles, output_distribution="uniform", subsample=100_000,
                                 random_state=seed).fit(X)
        self.quantiles = torch.from_numpy(qt.quantiles_.astype(np.float32))
        self.tied = self._has_ties()
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        stored = state_dict.get(prefix + "quantiles")
        if stored is not None:  # a training set of fewer than N_QUANTILES rows stored fewer quantiles
            self.quantiles = torch.empty_like(stored)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.tied = self._has_ties()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or x.ndim != 2:
            return self.bisected(x)  # ONNX has no binary search: the graph runs one in a fixed number of steps
        return self.searched(x)

    def searched(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`segments`' values, each value's place among the quantiles found by binary search
        (``torch.searchsorted``: O(log K) per value instead of K passes over the rows); eager scoring."""
        columns = self.quantiles.T.contiguous()  # (d, K), each row sorted
        values = x.T.contiguous()  # (d, n)
        below = torch.searchsorted(columns, values, right=False).T  # L: quantiles < x, (n, d)
        upto = torch.searchsorted(columns, values, right=True).T if self.tied else None  # R: <= x
        return self._from_counts(x, below, upto)

    def bisected(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`searched`'s values, each value's place found by a binary search of a fixed number of steps
        written in graph operations (the export: ONNX has no binary search, and a loop would be a data-dependent
        branch): the quantiles padded with +inf to ``2**m - 1`` (``m = ceil(log2(K + 1))``, 7 for 100), then one
        step per power of two from ``2**(m-1)`` down to 1, each a ``GatherElements`` of the probed quantile, a
        comparison and a ``Where``: about 4m passes over the rows where :meth:`counted` compares every value with
        every quantile."""
        below = self._bisect(x, strict=True)
        return self._from_counts(x, below, self._bisect(x, strict=False) if self.tied else None)

    def _bisect(self, x: torch.Tensor, strict: bool) -> torch.Tensor:
        """How many quantiles of each value's feature are below it (`strict`: ``<``, else ``<=``), at most K: the
        branchless lower bound over the padded quantiles (a probe ``pos + step - 1`` never passes the padding)."""
        q = self.quantiles
        count = q.shape[0]
        steps = int(np.ceil(np.log2(count + 1)))
        pad = torch.full((2 ** steps - 1 - count, q.shape[1]), float("inf"), dtype=q.dtype, device=q.device)
        padded = torch.cat([q, pad], dim=0)  # +inf is below no value, and at most +inf itself (clamped to K)
        pos = torch.zeros(x.shape, dtype=torch.int64, device=x.device)
        for power in range(steps - 1, -1, -1):
            step = 2 ** power
            value = torch.gather(padded, 0, pos + (step - 1))
            ahead = (value < x) if strict else (value <= x)
            pos = torch.where(ahead, pos + step, pos)
        return pos if strict else pos.clamp(max=count)

    def counted(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`searched`'s values, each value's place found by comparing it with the quantiles, a block of
        :data:`BLOCK` at a time (``Greater``/``GreaterOrEqual`` and ``ReduceSum`` in ONNX; memory: one boolean
        block ``(n, BLOCK, d)``): the graph exported before :meth:`bisected` (3.6x its onnxruntime time), kept as
        a reference."""
        q = self.quantiles
        below = torch.zeros(x.shape, dtype=torch.int64, device=x.device)
        upto = torch.zeros(x.shape, dtype=torch.int64, device=x.device) if self.tied else None
        for start in range(0, q.shape[0], BLOCK):
            block = q[start:start + BLOCK].unsqueeze(0)  # (1, b, d)
            below = below + (x.unsqueeze(1) > block).sum(dim=1)
            if upto is not None:
                upto = upto + (x.unsqueeze(1) >= block).sum(dim=1)
        return self._from_counts(x, below, upto)

    def _has_ties(self) -> bool:
        """Whether a feature has tied quantiles (a discrete feature): only then is ``R`` needed."""
        return bool((self.quantiles[1:] == self.quantiles[:-1]).any())

    def _from_counts(self, x: torch.Tensor, below: torch.Tensor, upto: torch.Tensor | None) -> torch.Tensor:
        """The transform from each value's place: ``L`` quantiles below it (`below`) and ``R`` at most it
        (`upto`; None when no feature has tied quantiles). Strictly inside the training range, the segment sum
        is ``L - 1`` plus the value's fraction of the segment ending at or after it when at most one quantile
        equals it (``R <= L + 1``: a value at a quantile is then ``L``), else ``(L + R - 1) / 2`` (the segment
        ending at it counts 1, each tied segment at it 1/2): the same float operations as :meth:`segments`, so
        the same values to the bit (tested)."""
        q = self.quantiles  # (K, d)
        last = q.shape[0] - 1
        lo = torch.gather(q, 0, (below - 1).clamp(0, last))
        hi = torch.gather(q, 0, below.clamp(0, last))
        width = hi - lo
        fraction = torch.clamp((x - lo) / torch.where(width > 0, width, torch.ones_like(width)), 0.0, 1.0)
        total = (below - 1).to(x.dtype) + fraction  # exact wherever one quantile at most equals x
        if upto is not None:
            total = torch.where(upto > below + 1, 0.5 * (below + upto - 1).to(x.dtype), total)
        out = torch.where(x >= q[-1], torch.ones_like(total), total / last)
        return torch.where(x <= q[0], torch.zeros_like(out), out)

    def segments(self, x: torch.Tensor) -> torch.Tensor:
        """The transform as a sum of one clamped ramp per segment (elementwise operations only: exported)."""
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
