"""Global RX (Reed-Xiaoli): the Mahalanobis distance of each pixel (or row) to the background statistics.

Fit computes the mean and covariance ``C`` in float64 and a whitening matrix ``W`` with ``W W^T = C^-1``; the
score is ``||(x - mu) W||^2``. For a full-rank ``C``, ``W`` is the inverse of its Cholesky factor ``L``
(``C = L L^T``, ``W = L^-T``), upper triangular, so scoring applies it in place with half the arithmetic of a
full product (BLAS ``trmm``); otherwise, from the eigendecomposition ``C = V diag(l) V^T``,
``W = V[:, keep] diag(l[keep] ** -1/2)``. Scoring in a whitening form keeps float32 error small on
ill-conditioned scene covariances (cond 1e6 to 1e8), where a float32 inverse covariance loses three orders of
magnitude (docs/architecture.md). The ONNX export (:meth:`RX.export_onnx`) is this same formula with float32
constants (the mean in two float32 parts, so that a large offset is not rounded into every score).

Out of core. Fit reads the data once, tile by tile (:func:`had.tiling.tiles`: whole image rows of a cube,
or blocks of table rows), into float64 accumulators (:class:`had.moments.Moments`) merged exactly with the parallel update
of Chan, Golub and LeVeque (1979). A memory-mapped scene is therefore never read whole: peak memory is one tile
plus ``B x B`` statistics. On data that fits in memory the result equals the two-pass formula to rounding
(tests/test_rx_tiles.py: 1e-9 relative).

Training scores and threshold. Data of at most ``threshold_sample`` pixels (rows) is scored whole after the
moments pass: ``decision_scores_`` holds every training score, the threshold their exact quantile. Larger data is
read once: the moments pass also draws a seeded uniform sample of ``threshold_sample`` pixels
(:class:`had.tiling.PixelSample`, seed ``config.seed``), scored once the whitening is known; ``decision_scores_``
and ``labels_`` are then the sample's, the threshold their quantile, and ``threshold_sample_`` (the manifest's
``state_meta.threshold_sample``) says which pixels: ``{"pixels", "of", "seed", "sha256"}`` (None after a fit
that scored every pixel). The mean and whitening always come from every pixel.

Layout. Each tile is worked on in the layout it was read in: pixel-ordered (BIP, C-ordered arrays) as
``(pixels, bands)`` chunks, band-major (BIL, BSQ, Fortran-ordered tables) as ``(bands, pixels)`` chunks
(:func:`band_major`), so no tile is transposed; the float64 conversion and the centring are one pass per chunk.

Scale. RX does not change when the data is multiplied by a constant. Data whose largest ``|x|`` lies between
``2**-256`` and ``2**256`` is accumulated as it is; beyond, the accumulators hold the data divided by a power of
two ``2**k`` at least as large as every ``|x|`` seen so far (exact in floating point; ``k`` grows as larger
tiles arrive, rescaling what was accumulated). Data scaled to 1e-200 (whose squares underflow to zero) or near
1e154 (whose squares overflow) thus gets the same scores as the same data at unit scale, down to about 1e-307;
below, among float64's subnormal numbers (a float file read with the wrong byte order looks like that), the
whitening overflows and the fit is refused with one typed line.

No data. With ``nodata`` set (``had fit`` sets it from the file's declared fill value, :mod:`had.nodata`), a pixel
whose every band holds the value is fill: left out of the moments and of the threshold, scored NaN (the ONNX
graph too); ``fill_pixels_`` counts those seen at fit, ``partial_fill_`` the pixels holding it in some bands only
(fitted as data, said by ``had fit``: :class:`had.nodata.PartialFill`). The training hash covers every pixel, fill
included.

Eigenvalue floor: directions with ``l < eig_floor * max(l)``, ``l`` the eigenvalues of the correlation matrix
(each feature scaled to unit variance, so the floor does not depend on the features' units), carry no measurable
variance (a constant band, rank-deficient data) and are dropped, as a pseudo-inverse does, rather than divided by
~0; the fit says so (a deviation along them, a constant band that varies in new data among them, is not scored).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field
from scipy.linalg.blas import dtrmm as trmm

from . import nodata, validation
from .detector import Detector, DetectorConfig, like_input
from .cubeview import CubeView
from .errors import ExportNotSupported, InvalidInputError
from .fingerprint import BLOCKS, BlockDigest
from .moments import Moments
from .nodata import FillValue, nodata_field
from .sklearn_compat import check_not_sparse, column_names
from .tile_chunks import band_major, chunk_buffer, chunks, in_parts
from .tiling import PixelSample, map_tiles, tiles


#: pixels (rows) scored at fit for the threshold, above which a seeded sample of this many is (module docstring):
#: at contamination 0.001 the count above the threshold is off by ~6 %; memory: 64 MiB at 64 float32 bands
THRESHOLD_SAMPLE = 2**18

def dropped_directions(kept: int, features: int, constant: np.ndarray, eig_floor: float) -> str:
    """The fit note of a whitening that kept `kept` of `features` directions (`constant`: the features with no
    spread at all). Was: nothing said, and a feature constant in training that varied in new data (up to 1e6) left
    the scores as they were, unflagged, where every other detector flagged it."""
    named = ", ".join(str(int(i)) for i in constant[:8]) + (", ..." if len(constant) > 8 else "")
    which = (f"; feature{'s' if len(constant) > 1 else ''} {named} (0-based) {'have' if len(constant) > 1 else 'has'} "
             "no spread at all" if len(constant) else "")
    return (f"rx kept {kept} of the data's {features} directions: the other {features - kept} carry less than "
            f"eig_floor={eig_floor:g} of the largest variance (features scaled to unit variance){which}. A sample's "
            "deviation along them is not scored, so a feature that varies in new data but not here is not seen: "
            "leave such features out (a scene's bands: --data bands=...; a table's columns: select them first), or "
            "fit on data where they vary")


class RXConfig(DetectorConfig):
    eig_floor: float = Field(1e-10, gt=0.0, lt=1.0, description="relative eigenvalue floor (of the correlation "
                             "matrix's largest eigenvalue); smaller directions are dropped, and the fit says so")
    threads: int = Field(1, ge=1, le=256, description="threads sharing each tile's arithmetic (numpy and BLAS release "
                         "the GIL) and, at fit, hashing the training fingerprint's blocks (had.fingerprint); results "
                         "do not depend on which thread finishes first")
    threshold_sample: int | None = Field(
        THRESHOLD_SAMPLE, ge=2, description="data with more pixels (rows) is read once: the threshold and "
        "decision_scores_ come from a seeded sample of this many (recorded as threshold_sample_), the mean and "
        "covariance from every pixel; None: every pixel is scored at fit (a second pass)")
    nodata: FillValue = nodata_field()


class RX(Detector):
    """Global RX detector for rows and cubes, fitted and scored tile by tile (memory-mapped scenes welcome)."""

    name = "rx"
    Config = RXConfig
    kinds = ("tabular", "cube")
    onnx_unsupported = None

    def _fit_read_tiles(self) -> bool:
        """Whether :meth:`fit` is RX's one pass over tiles: not where a subclass overrides ``_fit(X, y)``, whose fit
        is :meth:`Detector.fit`'s in memory."""
        return getattr(self._fit, "__func__", None) is RX._fit

    def fit(self, X, y=None) -> "RX":
        """Fit in one pass over tiles of `X` (an array or a ``np.memmap``), then score it tile by tile, or, above
        ``threshold_sample`` pixels, score the sample drawn in that pass (see the module docstring).

        Does what :meth:`Detector.fit` does (validation, input spec, training hash, threshold) tile by tile,
        so that a scene larger than memory is never copied whole; the hash equals the in-memory one.
        """
        if not self._fit_read_tiles():  # an overridden _fit(X, y): the in-memory fit
            return Detector.fit(self, X, y)
        check_not_sparse(X)
        names = column_names(X)
        X = validation.as_array_or_view(X)  # an array or a view: read tile by tile
        if validation.kind_of(X) not in self.kinds or X.size == 0:
            validation.check_array(X, self.kinds)  # raises the usual message
        dtypes = set()

        def checked(start: int, stop: int, block: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, float]:
            # a NaN makes max NaN, an Inf makes max or min infinite: two cheap reductions find both (and give the
            # moments their scale); the full check (its message names the rows; integers become float64) runs
            # only where they find something. `kept`: the tile's pixels that are not fill (the tile itself when
            # none is), which alone are checked and give the scale
            top = bottom = 0.0
            if np.issubdtype(block.dtype, np.floating) and kept.size:
                top, bottom = float(kept.max()), float(kept.min())
            if not np.issubdtype(block.dtype, np.floating) or not math.isfinite(top) or not math.isfinite(bottom):
                what = f"data rows {start + 1}-{stop} (1-based)" if stop - start < X.shape[0] else "data"
                if kept is block:
                    block = validation.check_array(block, self.kinds, what=what, first_row=start)
                    top, bottom = float(block.max()), float(block.min())
                elif kept.size:
                    if block.ndim == 3:  # a bad value said by its band and pixel in the scene (was: "in column 3")
                        validation.check_array(block, self.kinds, what=what, first_row=start,
                                               fill=nodata.as_number(self.config.nodata))
                    kept = validation.check_array(kept, ("tabular",), what=what)
                    top, bottom = float(kept.max()), float(kept.min())
                block = block.astype(np.float64) if not np.issubdtype(block.dtype, np.floating) else block
            dtypes.add(str(block.dtype))
            # the fingerprint Detector.fit takes (had.fingerprint) of the tiles read anyway, its blocks hashed by
            # the digest's threads while the moments are computed (hashlib releases the GIL); the tile before's
            # blocks are waited for first, so at most two tiles are held
            digest.wait()
            digest.update(block)
            return block, max(top, -bottom)

        sample = self._threshold_sample(X)
        with BlockDigest(workers=self.config.threads) as digest:
            self._fit_tiles(X, checked, sample)
            self.training_sha256_ = digest.hexdigest()
            self.training_sha256_scheme_ = BLOCKS
            scores = (self._score(X) if sample is None else
                      nodata.masked(self._rows(sample.rows), sample.rows, nodata.as_number(self.config.nodata)))
        self.threshold_sample_ = None if sample is None else sample.record()
        self.input_spec_ = {"kind": validation.kind_of(X), "n_features": validation.n_features(X),
                            "dtype": dtypes.pop(), "sample_shape": None}
        if names is not None:  # a DataFrame's columns, checked at scoring (had.sklearn_compat)
            self.input_spec_["feature_names"] = names
        return self._fitted(scores, X)

    def _fit(self, X, y):
        self._fit_tiles(X)
        return self._score(X)

    def _threshold_sample(self, X) -> PixelSample | None:
        """The sample to gather in the moments pass, or None when every pixel (row) is to be scored."""
        limit = self.config.threshold_sample
        pixels = X.shape[0] * (X.shape[1] if X.ndim == 3 else 1)
        return None if limit is None or pixels <= limit else PixelSample(X.shape, limit, self.config.seed)

    def _fit_tiles(self, X, check=None, sample: PixelSample | None = None) -> None:
        """One pass of :class:`Moments` over the tiles of `X` (each passed through `check` with its pixels that
        are not fill; `sample` gathers its pixels from the checked tiles), then the mean and whitening."""
        moments = Moments(validation.n_features(X))
        value = nodata.as_number(self.config.nodata)
        self.fill_pixels_ = 0
        partial = nodata.PartialFill()
        for start, stop, block in tiles(X):
            fill = nodata.fill_pixels(block, value, partial) if value is not None else None
            kept = block if fill is None or not fill.any() else block[~fill]  # pixel rows (n, B) when some are fill
            self.fill_pixels_ += 0 if kept is block else int(fill.sum())
            if sample is not None:  # in the file's type: an int16 line's sample is a quarter of a float64 one
                sample.add(start, block)
            if check:
                checked, peak = check(start, stop, block, kept)
                kept = checked if kept is block else kept.astype(checked.dtype, copy=False)
                block = checked
            else:
                peak = None
            if kept.size:
                moments.add(kept, peak, threads=self.config.threads)
        self.partial_fill_ = partial.record()  # pixels holding the fill value in some bands only: said by had fit
        if moments.count < 2 and self.fill_pixels_:
            raise InvalidInputError(self._no_pixels_left(X, value, moments.count))
        self.mean_, self.whitening_ = moments.whitening(self.config.eig_floor)
        if (kept := self.whitening_.shape[1]) < self.whitening_.shape[0]:
            self.add_fit_note(dropped_directions(kept, self.whitening_.shape[0], moments.constant_features(),
                                                 self.config.eig_floor))

    def _no_pixels_left(self, X, value: float, left: int) -> str:
        """The line refusing a fit that no-data pixels leave fewer than 2 pixels. Was: "N pixels hold the no-data
        value in every band ... (--set nodata=null fits every pixel)" also where nodata_any_band (a view spreading
        the value, :class:`had.cubeview.CubeView`) had made them no-data because one band holds it everywhere:
        untrue, and its fix fitted the no-data value as data. Such bands are found here, on the error's path only,
        by one more pass over the bands as the file holds them (stopped as soon as every band holds data)."""
        count, tail = f"{self.fill_pixels_:,} pixels", f"which leaves {left} to estimate a covariance from (2 at least)"
        spread = isinstance(X, CubeView) and X.fill_any is not None
        dead = np.zeros(X.shape[-1], dtype=bool) if not spread else None
        for _, _, block in ([] if dead is not None else tiles(CubeView(X.base, X.bands, None))):
            same = np.isnan(block) if math.isnan(value) else block == value
            here = same.reshape(-1, same.shape[-1]).all(axis=0)  # a band every pixel of this tile holds it in
            dead = here if dead is None else dead & here
            if not dead.any():
                break
        if not spread or dead.all():  # the fill of a flight line, or a file with no data at all
            return (f"rx: {count} hold the no-data value {value:g} in every band, {tail}; check the file's no-data "
                    "value (--set nodata=null fits every pixel)")
        from .cubeview import ranges_text

        file_band = np.arange(X.shape[-1]) if X.bands is None else X.bands  # numbered as the file's bands
        if dead.any():
            fix = f"--data bands={ranges_text(file_band[~dead].tolist())}"
            which, it = nodata.band_ranges(file_band[dead].tolist()), "it" if dead.sum() == 1 else "them"
            return (f"rx: {which} {'holds' if dead.sum() == 1 else 'hold'} the no-data value {value:g} in every "
                    f"pixel (never measured), so with nodata_any_band=true all {count} are no-data, {tail}; leave "
                    f"{it} out: {fix}")
        return (f"rx: {count} hold the no-data value {value:g} in some band (nodata_any_band=true leaves out a pixel "
                f"missing any band), {tail}: the bands' footprints do not overlap; leave out the bands that lack "
                "data (--data bands=...), or fit without nodata_any_band")

    def fit_predict(self, X, y=None) -> np.ndarray:
        """:meth:`Detector.fit_predict`; after a sampled fit (``labels_`` are the sample's) every pixel is scored."""
        self.fit(X, y)
        if getattr(self, "threshold_sample_", None):
            return self.predict(X)
        return self.labels_.reshape(np.shape(X)[:2]) if np.ndim(X) == 3 else self.labels_

    def _rows(self, block: np.ndarray) -> np.ndarray:
        """Scores ``(n,)`` of the pixels (rows) of one tile, in chunks (:func:`had.tile_chunks.chunks`) through
        two reused float64 buffers: each chunk is centred straight from the tile in its own layout (no transpose),
        whitened by one BLAS product and summed while in cache; ``config.threads`` share the tile's rows."""
        block = np.asarray(block)
        out = np.empty(block.size // block.shape[-1])
        per_row = out.size // max(block.shape[0], 1)

        def into_out(rows: np.ndarray, first_row: int) -> None:
            start = first_row * per_row
            self._rows_into(rows, out[start:start + rows.shape[0] * per_row])

        in_parts(into_out, block, self.config.threads)
        return out

    def _rows_into(self, block: np.ndarray, out: np.ndarray) -> None:
        """:meth:`_rows` of one run of rows, on this thread, into `out`."""
        bands, kept = block.shape[-1], self.whitening_.shape[1]
        bands_first = band_major(block)
        mean = self.mean_.reshape((bands,) + (1,) * (block.ndim - 1)) if bands_first else self.mean_
        buffer = chunk_buffer(block, bands)
        centred = chunks(block, buffer, lambda part, dest: np.subtract(part, mean, out=dest))
        if kept == bands and not np.tril(self.whitening_, -1).any():  # triangular: in place, BLAS trmm
            for first, count, chunk in centred:
                if bands_first:  # chunk (D, n): its transpose (n, D) times W
                    z = trmm(1.0, self.whitening_, chunk.T, side=1, lower=0, overwrite_b=1).T
                    np.einsum("ij,ij->j", z, z, out=out[first:first + count])
                else:  # chunk (n, D) times W, as (W^T chunk^T)^T
                    z = trmm(1.0, self.whitening_, chunk.T, side=0, lower=0, trans_a=1, overwrite_b=1).T
                    np.einsum("ij,ij->i", z, z, out=out[first:first + count])
            return
        whitening = np.ascontiguousarray(self.whitening_.T) if bands_first else self.whitening_
        whitened = np.empty(buffer.size // bands * kept)
        for first, count, chunk in centred:
            if bands_first:  # (D, pixels): W^T (x - mean), squares summed down the columns
                z = np.matmul(whitening, chunk, out=whitened[:kept * count].reshape(kept, count))
                np.einsum("ij,ij->j", z, z, out=out[first:first + count])
            else:
                z = np.matmul(chunk, whitening, out=whitened[:kept * count].reshape(count, kept))
                np.einsum("ij,ij->i", z, z, out=out[first:first + count])

    def _score(self, X):
        value = nodata.fill_value_of(self)  # as fitted (a set_params since: the next fit)
        return map_tiles(lambda block: nodata.masked(like_input(self._rows(block), block), block, value), X)

    def decision_function(self, X) -> np.ndarray:
        """Scores tile by tile; each tile is validated as :meth:`Detector.decision_function` validates data."""
        self._require_fitted()
        check_not_sparse(X)
        self._check_feature_names(column_names(X))  # once, here: the tiles below are plain arrays
        X = validation.as_array_or_view(X)  # an array or a view: read tile by tile
        if X.size == 0 or validation.kind_of(X) not in self.kinds:
            return Detector.decision_function(self, X)  # raises the usual message
        # kind, bands, dtype: what a first row shows (the checks let fill pixels through: had.nodata)
        first = X[:1]
        if np.isfinite(nodata.unfilled(np.asarray(first), nodata.fill_value_of(self))[0]).all():
            self._check_scoring_input(first, names=False)
        else:  # a NaN in it, said by the check of the whole data: its counts and rows (was: "1 NaN ... of 21")
            self._check_scoring_input(X, names=False)
        done = [0]  # rows scored so far: the tiles come in order (score_tiles)

        def scored(block: np.ndarray) -> np.ndarray:
            scores = self._score(block)
            start, done[0] = done[0], done[0] + block.shape[0]
            if not np.isfinite(scores).all():  # NaN/Inf in the data give non-finite scores (0 * NaN is NaN)
                if block.shape[0] < X.shape[0]:  # one tile of several: named by its rows, as the fit names them
                    validation.check_array(block, self.kinds, what=f"data rows {start + 1}-{done[0]} (1-based)",
                                           fill=nodata.fill_value_of(self), first_row=start)
                self._check_scoring_input(block, names=False)  # raises the usual message if the data is at fault
            return scores

        return map_tiles(scored, X)

    def export_onnx(self) -> bytes:
        """The ONNX graph ``ReduceSum(c @ W * (c @ W), axis=-1)`` with ``c = (x - mean_hi) - mean_lo``, built with
        onnx.helper.

        The float64 mean is split into float32 parts ``mean_hi = float32(mean)`` and ``mean_lo = float32(mean -
        mean_hi)``: ``x - mean_hi`` is exact in float32 wherever a pixel lies within a factor 2 of the mean
        (Sterbenz), so the centred value carries float32 rounding relative to itself, not to the mean. Was: one
        float32 ``mean``, whose rounding (up to 3e-5 on radiance near 800) shifted every centred value alike, and
        the whitening, which amplifies the scene's low-variance directions, turned it into a relative error of
        1.5e-3 on a 1024x1024x64 line with offsets 200-800 (3.4e-4 on a 2048x2048 one): the export was refused
        although the docstring said "near 1e-6". Now the error is the whitening's float32 rounding, 4.6e-6 on that
        line, for one more ``Sub`` per pixel (tests/test_export_at_scale.py). The whitening form keeps that small
        on ill-conditioned covariances (see :mod:`had.onnx_export` for the contract and the check). Statistics
        outside float32's range (data near 1e39 or 1e-39 and beyond) cannot be exported: ExportNotSupported says so.
        """
        import onnx
        from onnx import helper

        from .onnx_export import pixelwise_model

        self._require_fitted()
        nodes = [
            helper.make_node("Sub", ["x", "mean"], ["centred_hi"]),
            helper.make_node("Sub", ["centred_hi", "mean_lo"], ["centred"]),
            helper.make_node("MatMul", ["centred", "whitening"], ["whitened"]),
            helper.make_node("Mul", ["whitened", "whitened"], ["squared"]),
            helper.make_node("ReduceSum", ["squared", "last_axis"], ["rx"], keepdims=0),
        ]
        with np.errstate(over="ignore", under="ignore"):
            constants = {"mean": self.mean_.astype(np.float32), "whitening": self.whitening_.astype(np.float32)}
            # the mean's float32 rounding, subtracted after it (the docstring); 0 where the mean is float32 already
            constants["mean_lo"] = (self.mean_ - constants["mean"].astype(np.float64)).astype(np.float32)
        for key in ("mean", "whitening"):
            value, original = constants[key], self.mean_ if key == "mean" else self.whitening_
            if not np.isfinite(value).all() or (not value.any() and original.any()):
                raise ExportNotSupported(
                    f"rx: the fitted {key} is outside float32's range (data scaled near 1e38 or 1e-38); "
                    "rescale the data to unit scale before fitting, or score with the eager engine"
                )
        constants["last_axis"] = np.array([-1], dtype=np.int64)
        return pixelwise_model(self, nodes, constants, "rx")  # fill pixels NaN there (the config's nodata)

    def _get_state(self):
        return {"mean": self.mean_, "whitening": self.whitening_}

    def _set_state(self, state):
        self.mean_, self.whitening_ = state["mean"], state["whitening"]

    def _get_meta(self):
        meta = {"threshold_sample": self.threshold_sample_} if getattr(self, "threshold_sample_", None) else {}
        if getattr(self, "fill_pixels_", 0):
            meta["fill_pixels"] = self.fill_pixels_
        if getattr(self, "partial_fill_", None):
            meta["partial_fill"] = self.partial_fill_
        return meta

    def _set_meta(self, meta):
        self.threshold_sample_ = meta.get("threshold_sample")
        self.fill_pixels_ = meta.get("fill_pixels", 0)
        self.partial_fill_ = meta.get("partial_fill")
