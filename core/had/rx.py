"""Global RX (Reed-Xiaoli): the Mahalanobis distance of each pixel (or row) to the background statistics.

Fit computes the mean and covariance in float64 and, from the eigendecomposition ``C = V diag(l) V^T``, the
whitening matrix ``W = V[:, keep] diag(l[keep] ** -1/2)``; the score is ``||(x - mu) W||^2``. Scoring in the
whitening form keeps float32 error small on ill-conditioned scene covariances (cond 1e6 to 1e8), where a
float32 inverse covariance loses three orders of magnitude (docs/architecture.md). The ONNX export
(:meth:`RX.export_onnx`) is this same formula with float32 constants.

Out of core. Fit reads the data once, tile by tile (:func:`had.tiling.tiles`: whole image rows of a cube,
or blocks of table rows), into float64 accumulators (:class:`Moments`) merged exactly with the parallel update
of Chan, Golub and LeVeque (1979); the training scores are then computed tile by tile. A memory-mapped scene is
therefore never read whole: peak memory is one tile plus ``B x B`` statistics. On data that fits in memory the
result equals the two-pass formula to rounding (tests/test_rx_tiles.py: 1e-9 relative).

Scale. RX does not change when the data is multiplied by a constant, so the accumulators hold the data divided
by a power of two ``2**k`` at least as large as every ``|x|`` seen so far (exact in floating point; ``k`` grows
as larger tiles arrive, rescaling what was accumulated). Data scaled to 1e-200 (whose squares underflow to zero)
or near 1e154 (whose squares overflow) thus gets the same scores as the same data at unit scale.

Eigenvalue floor: directions with ``l < eig_floor * max(l)`` carry no measurable variance (a constant band,
rank-deficient data) and are dropped, as a pseudo-inverse does, rather than divided by ~0.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from pydantic import Field

from . import validation
from .detector import Detector, DetectorConfig, as_pixels, like_input
from .errors import ExportNotSupported, InvalidInputError
from .sklearn_compat import check_not_sparse, column_names
from .tiling import map_tiles, tiles


#: rows per BLAS call (moments and scores): float64 buffers of this many rows stay in cache and are reused
SCORE_CHUNK = 16384


class RXConfig(DetectorConfig):
    eig_floor: float = Field(1e-10, gt=0.0, lt=1.0, description="relative eigenvalue floor; smaller directions are dropped")


class Moments:
    """Count, mean and co-moment ``sum (x - mean)(x - mean)^T`` of rows added in blocks, in float64.

    Blocks are merged with Chan et al.'s update (exact up to rounding, in any order); values are held divided
    by ``2**exponent`` (see the module docstring), so ``mean * 2**exponent`` is the mean of the data.
    """

    def __init__(self, n_features: int):
        self.count = 0
        self.exponent: int | None = None
        self.mean = np.zeros(n_features, dtype=np.float64)
        self.comoment = np.zeros((n_features, n_features), dtype=np.float64)

    def add(self, rows: np.ndarray) -> "Moments":
        """Merge the rows ``(m, D)`` of one block."""
        rows = np.asarray(rows)
        if rows.shape[0] == 0:
            return self
        peak = max(float(rows.max()), -float(rows.min()))
        if peak > 0.0:
            exponent = math.frexp(peak)[1]  # 2**exponent > peak
            if self.exponent is None:
                self.exponent = exponent
            elif exponent > self.exponent:
                shift = math.ldexp(1.0, self.exponent - exponent)
                self.mean *= shift
                self.comoment *= shift * shift
                self.exponent = exponent
        # in chunks of SCORE_CHUNK rows through one reused float64 buffer (kept in cache): cast and divide by
        # 2**exponent (exact), centre on the chunk's mean, co-moment by BLAS syrk, merged
        scale = math.ldexp(1.0, -(self.exponent or 0))
        buffer = np.empty((min(SCORE_CHUNK, rows.shape[0]), rows.shape[1]))
        for start in range(0, rows.shape[0], SCORE_CHUNK):
            part = rows[start:start + SCORE_CHUNK]
            scaled = buffer[:part.shape[0]]
            np.multiply(part, scale, out=scaled)
            block = Moments(rows.shape[1])
            block.count = part.shape[0]
            block.mean = scaled.mean(axis=0)
            scaled -= block.mean
            block.comoment = scaled.T @ scaled  # numpy calls BLAS syrk for a.T @ a
            self._merge(block)
        return self

    def _merge(self, other: "Moments") -> "Moments":
        total = self.count + other.count
        delta = other.mean - self.mean
        self.comoment += other.comoment + np.outer(delta, delta) * (self.count * other.count / total)
        self.mean += delta * (other.count / total)
        self.count = total
        return self

    def whitening(self, eig_floor: float) -> tuple[np.ndarray, np.ndarray]:
        """The mean and the whitening matrix ``W`` of the data (original units), see the module docstring."""
        if self.count < 2:
            raise InvalidInputError("RX needs at least 2 samples to estimate a covariance, got 1 sample")
        scale = math.ldexp(1.0, self.exponent or 0)
        cov = self.comoment / (self.count - 1)
        eigval, eigvec = np.linalg.eigh(cov)
        top = max(float(eigval[-1]), np.finfo(np.float64).tiny)
        keep = eigval >= eig_floor * top
        return self.mean * scale, eigvec[:, keep] / (np.sqrt(eigval[keep]) * scale)


class RX(Detector):
    """Global RX detector for rows and cubes, fitted and scored tile by tile (memory-mapped scenes welcome)."""

    name = "rx"
    Config = RXConfig
    kinds = ("tabular", "cube")
    onnx_unsupported = None

    def fit(self, X, y=None) -> "RX":
        """Fit in one pass over tiles of `X` (an array or a ``np.memmap``), then score it tile by tile.

        Does what :meth:`Detector.fit` does (validation, input spec, training hash, threshold) tile by tile,
        so that a scene larger than memory is never copied whole; the hash equals the in-memory one.
        """
        if getattr(self._fit, "__func__", None) is not RX._fit:  # an overridden _fit(X, y): the in-memory fit
            return Detector.fit(self, X, y)
        check_not_sparse(X)
        names = column_names(X)
        X = X if isinstance(X, np.ndarray) else np.asarray(X)
        if validation.kind_of(X) not in self.kinds or X.size == 0:
            validation.check_array(X, self.kinds)  # raises the usual message
        digest = hashlib.sha256()
        dtypes = set()

        def checked(start: int, stop: int, block: np.ndarray) -> np.ndarray:
            block = np.ascontiguousarray(block)
            # a NaN makes max NaN, an Inf makes max or min infinite: two cheap reductions find both; the full
            # check (its message names the rows; integers become float64) runs only where they find something
            if not np.issubdtype(block.dtype, np.floating) or not np.isfinite([block.max(), block.min()]).all():
                block = np.ascontiguousarray(validation.check_array(block, self.kinds,
                                                                    what=f"data rows {start}..{stop - 1}"))
            dtypes.add(str(block.dtype))
            digest.update(block)  # the bytes Detector.fit hashes, in order; the copy also serves the moments
            return block

        scores = self._fit_tiles(X, checked)
        self.input_spec_ = {"kind": validation.kind_of(X), "n_features": validation.n_features(X),
                            "dtype": dtypes.pop(), "sample_shape": None}
        if names is not None:  # a DataFrame's columns, checked at scoring (had.sklearn_compat)
            self.input_spec_["feature_names"] = names
        self.training_sha256_ = digest.hexdigest()
        self.decision_scores_ = np.asarray(scores, dtype=np.float64).reshape(-1)
        self._set_threshold()
        return self

    def _fit(self, X, y):
        return self._fit_tiles(X)

    def _fit_tiles(self, X, check=None):
        """One pass of :class:`Moments` over the tiles of `X` (each passed through `check` first), then scores."""
        moments = Moments(validation.n_features(X))
        for start, stop, block in tiles(X):
            moments.add(as_pixels(check(start, stop, block) if check else block))
        self.mean_, self.whitening_ = moments.whitening(self.config.eig_floor)
        return self._score(X)

    def _rows(self, block: np.ndarray) -> np.ndarray:
        """Scores ``(n,)`` of the pixels (rows) of one tile, in chunks of about :data:`SCORE_CHUNK` pixels whose
        two float64 buffers are reused: each chunk is centred straight from the tile (a tile in BIL or BSQ order
        is strided: no separate pixel-order copy), whitened by one BLAS product and summed while in cache."""
        block = np.asarray(block)
        per_row = block.shape[1] if block.ndim == 3 else 1
        step = max(1, SCORE_CHUNK // per_row)
        size = min(step, block.shape[0]) * per_row
        centred = np.empty((size, block.shape[-1]))
        whitened = np.empty((size, self.whitening_.shape[1]))
        out = np.empty(block.shape[0] * per_row)
        for start in range(0, block.shape[0], step):
            part = block[start:start + step]
            n = part.shape[0] * per_row
            np.subtract(part, self.mean_, out=centred[:n].reshape(part.shape))
            np.matmul(centred[:n], self.whitening_, out=whitened[:n])
            np.einsum("ij,ij->i", whitened[:n], whitened[:n], out=out[start * per_row:start * per_row + n])
        return out

    def _score(self, X):
        return map_tiles(lambda block: like_input(self._rows(block), block), X)

    def decision_function(self, X) -> np.ndarray:
        """Scores tile by tile; each tile is validated as :meth:`Detector.decision_function` validates data."""
        self._require_fitted()
        check_not_sparse(X)
        self._check_feature_names(column_names(X))  # once, here: the tiles below are plain arrays
        X = X if isinstance(X, np.ndarray) else np.asarray(X)
        if X.size == 0 or validation.kind_of(X) not in self.kinds:
            return Detector.decision_function(self, X)  # raises the usual message
        self._check_scoring_input(X[:1], names=False)  # kind, bands, dtype: what a first row shows

        def scored(block: np.ndarray) -> np.ndarray:
            scores = self._score(block)
            if not np.isfinite(scores).all():  # NaN/Inf in the data give non-finite scores (0 * NaN is NaN)
                self._check_scoring_input(block, names=False)  # raises the usual message if the data is at fault
            return scores

        return map_tiles(scored, X)

    def export_onnx(self) -> bytes:
        """The ONNX graph ``ReduceSum((x - mean) @ W * ((x - mean) @ W), axis=-1)``, built with onnx.helper.

        Mean and whitening are float32 constants; the whitening form keeps the float32 error near 1e-6
        relative on real scenes (see :mod:`had.onnx_export` for the contract and the check). Statistics outside
        float32's range (data near 1e39 or 1e-39 and beyond) cannot be exported: ExportNotSupported says so.
        """
        from onnx import helper

        from .onnx_export import pixelwise_model

        self._require_fitted()
        nodes = [
            helper.make_node("Sub", ["x", "mean"], ["centred"]),
            helper.make_node("MatMul", ["centred", "whitening"], ["whitened"]),
            helper.make_node("Mul", ["whitened", "whitened"], ["squared"]),
            helper.make_node("ReduceSum", ["squared", "last_axis"], ["rx"], keepdims=0),
        ]
        with np.errstate(over="ignore", under="ignore"):
            constants = {"mean": self.mean_.astype(np.float32), "whitening": self.whitening_.astype(np.float32)}
        for key, value in constants.items():
            original = self.mean_ if key == "mean" else self.whitening_
            if not np.isfinite(value).all() or (not value.any() and original.any()):
                raise ExportNotSupported(
                    f"rx: the fitted {key} is outside float32's range (data scaled near 1e38 or 1e-38); "
                    "rescale the data to unit scale before fitting, or score with the eager engine"
                )
        constants["last_axis"] = np.array([-1], dtype=np.int64)
        return pixelwise_model(self, nodes, constants, "rx")

    def _get_state(self):
        return {"mean": self.mean_, "whitening": self.whitening_}

    def _set_state(self, state):
        self.mean_, self.whitening_ = state["mean"], state["whitening"]
