"""Count, mean and co-moment of rows added tile by tile, in float64 (:class:`Moments`): the accumulators of RX's
out-of-core fit (:mod:`had.rx`, whose module docstring gives the whole account: Chan, Golub and LeVeque's exact
merge, the power-of-two scaling of data outside ``2**+-256``, the eigenvalue floor of the whitening)."""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular

from .errors import InvalidInputError
from .validation import without_spread
from .tile_chunks import band_major, chunk_buffer, chunks, in_parts

#: data whose largest magnitude lies between 2**-256 and 2**256 is accumulated as it is (see the module docstring)
UNSCALED_EXPONENT = 256
#: the smallest scaling exponent: ``2**-LOWEST_EXPONENT`` is a finite float64 (subnormal data is scaled up by it)
LOWEST_EXPONENT = -1000


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

    def add(self, block: np.ndarray, peak: float | None = None, threads: int = 1) -> "Moments":
        """Merge the pixels of one block: rows ``(m, D)`` or a tile ``(r, W, D)``, in any memory layout.
        `peak`, the largest ``|x|`` in the block, when the caller knows it already; `threads` share the work
        (:func:`had.tile_chunks.in_parts`: runs of rows, merged in order)."""
        block = np.asarray(block)
        if block.size == 0:
            return self
        if peak is None:
            peak = max(float(block.max()), -float(block.min()))
        if peak > 0.0:
            exponent = math.frexp(peak)[1]  # 2**exponent > peak
            exponent = 0 if -UNSCALED_EXPONENT < exponent <= UNSCALED_EXPONENT else max(exponent, LOWEST_EXPONENT)
            if self.exponent is None:
                self.exponent = exponent
            elif exponent > self.exponent:
                shift = math.ldexp(1.0, self.exponent - exponent)
                self.mean *= shift
                self.comoment *= shift * shift
                self.exponent = exponent
        # in chunks through one reused float64 buffer (kept in cache): cast, centre on the chunk's mean (and
        # divide by 2**exponent, exact, outside the unscaled range), co-moment by BLAS syrk (numpy's a.T @ a or
        # a @ a.T), merged
        scale = np.float64(math.ldexp(1.0, -(self.exponent or 0)))
        bands_first = band_major(block)

        def moments_of(rows: np.ndarray, _first: int) -> Moments:
            means, total = [], Moments(block.shape[-1])

            def centred(part: np.ndarray, out: np.ndarray) -> None:
                axes = tuple(range(1, part.ndim)) if bands_first else tuple(range(part.ndim - 1))
                if scale == 1.0:  # one pass: cast and centre on the mean of the data as it is
                    mean = part.mean(axis=axes, dtype=np.float64, keepdims=True)
                    np.subtract(part, mean, out=out)
                else:
                    np.multiply(part, scale, out=out)
                    mean = out.mean(axis=axes, keepdims=True)
                    out -= mean
                means.append(mean.reshape(-1))

            for _, count, chunk in chunks(rows, chunk_buffer(rows, rows.shape[-1]), centred):
                part = Moments(block.shape[-1])
                part.count, part.mean = count, means.pop()
                part.comoment = chunk @ chunk.T if bands_first else chunk.T @ chunk
                total._merge(part)
            return total

        for part in in_parts(moments_of, block, threads):
            self._merge(part)
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
        # the floor is applied to the correlation matrix, each feature scaled to unit variance, so that it is
        # scale-free as the Mahalanobis distance is (was: to the covariance's eigenvalues, so a feature in other
        # units, 1e6 times the rest, pushed the others' directions below the floor: an AUROC of 1.000 fell to
        # 0.508 without a word); features with no spread (:meth:`no_spread`) give zero rows and columns, and are
        # dropped
        flat = self.no_spread()
        unit = np.where(flat, 1.0, np.sqrt(np.clip(np.diag(cov), 0.0, None)))
        correlation = cov / np.outer(unit, unit)
        correlation[flat, :] = 0.0
        correlation[:, flat] = 0.0
        eigval, eigvec = np.linalg.eigh(correlation)
        top = max(float(eigval[-1]), np.finfo(np.float64).tiny)
        keep = eigval >= eig_floor * top
        if keep.all():  # full rank: the inverse Cholesky factor, upper triangular (half a product to apply: trmm)
            try:
                lower = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:  # cond near 1/eps: the eigen form below
                pass
            else:
                inverse = solve_triangular(lower, np.eye(len(cov)), lower=True)
                with np.errstate(over="ignore"):
                    return self.mean * scale, _finite(np.triu(inverse.T) / scale, scale)
        with np.errstate(over="ignore"):  # the pseudo-inverse's kept directions, in the features' own units
            whitening = eigvec[:, keep] / np.sqrt(eigval[keep]) / unit[:, None] / scale
            return self.mean * scale, _finite(whitening, scale)

    def no_spread(self) -> np.ndarray:
        """Which features have no spread in the rows added: every value equal, so their co-moment is 0, or rounding
        alone above it (a float64 column of 0.1 everywhere: its mean is off by a rounding step, its variance ~1e-25,
        which scaled to unit variance made a full direction of rounding noise, and a row with 0.1001 there scored
        8e20: a review): :func:`had.validation.without_spread` of the standard deviation against the mean."""
        spread = np.sqrt(np.clip(np.diag(self.comoment) / max(self.count - 1, 1), 0.0, None))
        return without_spread(spread, self.mean)

    def constant_features(self) -> np.ndarray:
        """The indices of the features with no spread in the rows added (:meth:`no_spread`)."""
        return np.flatnonzero(self.no_spread())


def _finite(whitening: np.ndarray, scale: float) -> np.ndarray:
    """`whitening`, refused when it overflows float64: data whose spread is near float64's smallest numbers
    (largest ``|x|`` around 1e-300 and below; often a float file read with the wrong byte order or data type)."""
    if np.isfinite(whitening).all():
        return whitening
    raise InvalidInputError(
        f"rx: the data's spread is too small for float64 arithmetic (its largest |x| is below {scale:.1e}): "
        "whitening it overflows. Multiply the data by a constant (RX's scores do not change), or check "
        "the file's data type and byte order")
