"""No-data (fill) pixels: the pixels around a flight line's footprint, or outside a geochemical survey's area,
that hold the file's declared fill value instead of a measurement.

A file declares its fill value: GeoTIFF ``nodata``, ENVI ``data ignore value``; the readers put it in the scene's
``meta`` (:func:`declared`). A pixel is *fill* when every band holds that value (NaN for a NaN value), as in
GDAL's dataset mask (a pixel is valid when any band is), so a real spectrum with one band at the value (a zeroed
water-absorption band) is kept (:func:`fill_pixels`).

A detector masks fill when its config has a ``nodata`` field (RX): fill pixels are left out of its fit and of its
threshold and are scored NaN, by its eager code and by its ONNX graph; ``had fit`` sets the field from the
scene's declared value unless ``--set nodata=...`` says otherwise. ``had score MODEL scene -o map.tif`` scores of
the scene's fill pixels are NaN whatever the detector (the map declares NaN as its no-data value), and the
count above the threshold is of the other pixels.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field

def _nan_spelled(value: Any) -> Any:
    """NaN however given (``float("nan")``, ``"NaN"``, ``"nan"``) as ``"nan"``: a config holds no NaN float."""
    if (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and value.strip().lower() == "nan"):
        return "nan"
    return value


#: a detector config's ``nodata`` field: a number, ``"nan"``, or None
FillValue = Annotated[float | Literal["nan"] | None, BeforeValidator(_nan_spelled)]

FIELD = "nodata"


def nodata_field() -> Any:
    """``nodata: FillValue = nodata_field()`` in a detector's config (RX's,
    :class:`had.pixel_sample.PixelSampleConfig`)."""
    return Field(None, description="fill value: pixels holding it in every band (\"nan\": NaN) are left out of the "
                 "fit and the threshold and scored NaN; had fit sets it from the file's declared no-data value")


def declared(meta: dict[str, Any]) -> float | None:
    """The fill value `meta` declares (GeoTIFF ``nodata``, ENVI ``data ignore value``; NaN allowed), or None when
    none or several (ENVI allows one; a header listing several is said by :func:`note`, not masked)."""
    value = meta.get("nodata", meta.get("data_ignore_value"))
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    return None if value is None else float(value)


def as_number(value: FillValue) -> float | None:
    """A config's fill value as a float (``"nan"``: NaN), or None."""
    return None if value is None else math.nan if value == "nan" else float(value)


def as_config(value: float | None) -> FillValue:
    """A float fill value as a config holds it (NaN: ``"nan"``)."""
    return None if value is None else "nan" if math.isnan(value) else float(value)


def fill_value_of(detector: Any) -> float | None:
    """The fill value a detector masks (its config's ``nodata`` as the model was fitted with it: a
    ``set_params(nodata=...)`` since the fit takes effect at the next fit, as every other field does; was: at once,
    in scoring), or None (no field, or not set)."""
    fitted = getattr(detector, "fitted_value", None)
    if callable(fitted) and hasattr(detector.config, FIELD):
        return as_number(fitted(FIELD))
    return as_number(getattr(detector.config, FIELD, None))


def masks_fill(detector: Any) -> bool:
    """Whether the detector's config has the ``nodata`` field (it can mask fill pixels)."""
    return FIELD in type(detector.config).model_fields


class PartialFill:
    """Pixels holding the fill value in some bands but not in every one, counted over the tiles of a pass.

    They are data to had (:func:`fill_pixels`: a zeroed water-absorption band must not hide a spectrum), but in a
    stack of layers with different footprints (geochemical grids, bands resampled at a swath's edge) they are
    pixels whose measurement is missing in those bands, and a detector sees the fill value there as an extreme
    reading: ``had fit`` and ``had score`` say how many there are and in which bands (:func:`partial_line`)."""

    def __init__(self) -> None:
        self.pixels = 0
        self.bands: set[int] = set()
        #: the bands holding the value in every pixel that is not fill, so far (None: no such pixel seen yet)
        self.dead: np.ndarray | None = None

    def add(self, same: np.ndarray, fill: np.ndarray) -> None:
        """`same`: which values of a tile ``(..., B)`` equal the fill value; `fill`: its fill pixels."""
        some = same.any(axis=-1)
        some &= ~fill
        count = int(np.count_nonzero(some))
        data = int(fill.size - np.count_nonzero(fill))  # pixels that are not fill
        if count:
            partly = same[some]
            self.pixels += count
            self.bands.update(np.flatnonzero(partly.any(axis=0)).tolist())
        if data:  # a band is dead where every such pixel holds the value in it: all of them partly fill, then
            here = partly.all(axis=0) if count == data else np.zeros(same.shape[-1], dtype=bool)
            self.dead = here if self.dead is None else self.dead & here

    def record(self) -> dict[str, Any] | None:
        """``{"pixels": n, "bands": [0-based indices]}`` (and ``"dead"``: the bands holding the value in every
        pixel that is not fill, never measured, where there are some), or None when no pixel was partly fill."""
        if not self.pixels:
            return None
        dead = [] if self.dead is None else np.flatnonzero(self.dead).tolist()
        return {"pixels": self.pixels, "bands": sorted(self.bands), **({"dead": dead} if dead else {})}


def fill_pixels(block: np.ndarray, value: float | None, partial: PartialFill | None = None) -> np.ndarray:
    """Which pixels (rows) of `block` ``(..., B)`` are fill: every band equal to `value` (NaN: every band NaN).
    A boolean array ``block.shape[:-1]``; all False when `value` is None. `partial` counts the pixels holding
    `value` in some bands only (:class:`PartialFill`)."""
    block = np.asarray(block)
    if value is None:
        return np.zeros(block.shape[:-1], dtype=bool)
    same = np.isnan(block) if math.isnan(value) else block == value
    fill = same.all(axis=-1)
    if partial is not None:
        partial.add(same, fill)
    return fill


def partial_line(name: str, value: float, record: dict[str, Any] | None, scored: bool = False,
                 kept: list[int] | None = None) -> str | None:
    """The line saying that pixels of `name` hold the fill `value` in some bands only (`record`:
    :meth:`PartialFill.record`, its bands numbered among those read), or None when none does. `kept`: the file's
    0-based bands that were read (a ``--data bands=`` selection, ``meta["bands_kept"]``), so the line numbers the
    bands as the file does, as ``--data bands=`` takes them (was: their positions among the bands read)."""
    if not record:
        return None
    if kept:
        record = {**record, **{key: [kept[band] for band in record[key]] for key in ("bands", "dead") if key in record}}
    what = "scored" if scored else "fitted and scored"
    said = (f"note: {record['pixels']:,} pixels of {name} hold the no-data value {value:g} in some bands but not "
            f"all ({band_ranges(record['bands'])}): {what} as data, so a missing measurement reads as an extreme "
            "value there, which skews the background and the scores; ")
    if record.get("dead"):  # nodata_any_band would leave no pixel (was: advised all the same)
        dead = record["dead"]
        return said + (f"{band_ranges(dead)} {'holds' if len(dead) == 1 else 'hold'} it in every pixel (never "
                       f"measured): leave {'it' if len(dead) == 1 else 'them'} out (--data bands= the others), which "
                       "nodata_any_band=true would not do: it would leave no pixel")
    return said + ("if they lack data, add --data nodata_any_band=true (they are then left out, and scored NaN; "
                   "score with it too)")


def band_runs(bands: list[int]) -> list[list[int]]:
    """Sorted 0-based band indices as runs of consecutive ones: ``[0, 1, 2, 6]`` -> ``[[0, 2], [6, 6]]``."""
    runs: list[list[int]] = []
    for band in bands:
        if runs and band == runs[-1][1] + 1:
            runs[-1][1] = band
        else:
            runs.append([band, band])
    return runs


def band_ranges(bands: list[int]) -> str:
    """1-based band numbers as ranges: ``[0, 1, 2, 6]`` -> ``"bands 1-3, 7"``."""
    runs = band_runs(bands)
    text = ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in runs[:8])
    more = f" and {len(runs) - 8} more runs" if len(runs) > 8 else ""
    return ("band " if len(bands) == 1 else "bands ") + text + more


def scored_pixels(truth: Any, scores: Any) -> tuple[Any, Any]:
    """`truth` and `scores` without the pixels scored NaN (no data), flattened; both as given when none is, so a
    metric sees what it saw before. What every metric of a map with fill is computed on."""
    flat = np.asarray(scores, dtype=np.float64).reshape(-1)
    kept = ~np.isnan(flat)
    return (truth, scores) if kept.all() else (np.asarray(truth).reshape(-1)[kept], flat[kept])


def masked(scores: np.ndarray, block: np.ndarray, value: float | None,
           partial: PartialFill | None = None, fill: np.ndarray | None = None) -> np.ndarray:
    """`scores` (one per pixel of `block`) as float64, NaN where `block`'s pixel is fill (`partial`: see
    :func:`fill_pixels`; `fill`: those pixels, where the caller has found them already, :func:`unfilled`).
    Images ``(N, C, h, w)`` have one score each: an image is fill when every value of it is (its channels are not
    the last axis), and those partly fill are not counted in `partial` (a raster's tiles overlap, and its source
    has left out or filled their no-data pixels already, and said so)."""
    scores = np.asarray(scores, dtype=np.float64)
    if value is not None:
        block = np.asarray(block)
        if fill is None:
            fill = fill_samples(block, value) if block.ndim == 4 else fill_pixels(block, value, partial)
        if fill.any():
            scores = scores.copy()
            scores.reshape(fill.shape)[fill] = np.nan
    return scores


def fill_samples(block: np.ndarray, value: float | None) -> np.ndarray:
    """Which samples of `block` are fill, one flag per score: pixels of a cube or rows (:func:`fill_pixels`), or
    images ``(N, C, h, w)``, an image being fill when every value of it is (its channels are not the last axis)."""
    block = np.asarray(block)
    return fill_pixels(block.reshape(len(block), -1) if block.ndim == 4 else block, value)


def unfilled(block: np.ndarray, value: float | None) -> tuple[np.ndarray, np.ndarray]:
    """`block` with its fill pixels as zeros (a copy when it has any): what a model and the checks for NaN and
    Inf may see; and which pixels those are (for :func:`masked`, so a block is searched for fill once)."""
    fill = fill_pixels(block, value)
    return (np.where(fill[..., None], np.zeros((), block.dtype), block) if fill.any() else block), fill


def units(count: int, ndim: int) -> str:
    """`count` scores of data of `ndim` dimensions, said: rows of a table ``(N, B)``, images ``(N, C, H, W)`` (one
    score each), else pixels of a cube ("1 no-data row", "20 no-data pixels")."""
    unit = {2: "row", 4: "image"}.get(ndim, "pixel")
    return f"{count} no-data {unit}" + ("" if count == 1 else "s")


def note(name: str, meta: dict[str, Any], detector: Any = None, rows: bool = False) -> str | None:
    """The line ``had fit``/``had score`` print about a declared fill value, or None when the file declares none.

    With a `detector` that masked it (``fill_pixels_``, set by its fit), how many pixels were left out; without
    one, or one that does not mask, that its fill pixels were fitted like any other. `rows`: the data are rows
    ``(N, B)`` (a table of pixels), said as rows holding it in every column (was: pixels ... in every band)."""
    if meta.get("tiles_left_out") is not None:  # a tiling source (raster-file) left out tiles with no-data pixels
        if not meta.get("no_data_pixels"):
            return None
        return (f"{meta['tiles_left_out']:,} tiles holding no-data pixels left out ({meta['no_data_pixels']:,} "
                "no-data pixels in the raster; max_no_data sets the share a tile may hold)")
    value = meta.get("nodata", meta.get("data_ignore_value"))
    masked = None if detector is None else fill_value_of(detector)
    bands = ("in every column" if rows else
             "in any band (nodata_any_band)" if meta.get("nodata_any_band") else "in every band")
    unit = "row" if rows else "pixel"
    if masked is not None:  # the file's value, or one the user set (--set nodata=...)
        count = getattr(detector, "fill_pixels_", None)
        if count == 0:
            return f"no {unit} of {name} holds the no-data value {masked:g} {bands}"
        counted = f"{count:,} {unit}s" if count is not None else f"its {unit}s"
        return (f"masked the no-data value {masked:g} of {name}: {counted} holding it {bands} left "
                "out of the fit and the threshold, and scored NaN")
    if value is None:
        return None
    who = f"{detector.name} does not mask" if detector is not None else "had does not mask here"
    if isinstance(value, (list, tuple)) and len(value) != 1:
        return (f"note: {name} declares no-data values {list(value)}, which {who}: crop or fill those pixels "
                "first, or set one with --set nodata=VALUE")
    value = declared(meta)
    fix = "leave those rows out" if rows else "crop the scene to its footprint"
    return (f"note: {name} declares the no-data value {value:g}, which {who}: {unit}s holding it are fitted and "
            f"scored like any other; {fix} or fill them first")


#: evenly spaced lines of a cube :func:`undeclared_fill` looks at (a small part of one pass over a flight line)
LOOKED_LINES = 64
#: the share of the looked-at pixels one value must fill, in every band, to be said
UNDECLARED_SHARE = 0.01


def undeclared_fill(X: Any, name: str, detector: Any = None) -> str | None:
    """A note when many pixels of a cube hold one value in every band that nothing declares as no-data (the edge of
    a flight line filled with -9999 or 0 by a tool that wrote no ``data ignore value``): fitted and scored as data,
    they skew the background and the scores without a word (a 60 x 60 scene with a -9999 edge: AUROC 0.08).
    Looks at :data:`LOOKED_LINES` evenly spaced lines of the cube; None for rows, fewer than three bands, no such
    value, or one inside the range of the other pixels' values (not a fill). A real spectrum holds one extreme
    value in every band only when saturated, which the note's "if" covers."""
    if getattr(X, "ndim", 0) != 3 or X.shape[-1] < 3 or X.shape[0] == 0 or X.shape[1] == 0:
        return None  # two bands: two elements censored at one value (below detection) are data, not fill
    height, width = int(X.shape[0]), int(X.shape[1])
    lines = np.unique(np.linspace(0, height - 1, min(height, LOOKED_LINES)).round().astype(np.int64))
    bands = int(X.shape[-1])
    values, low, high = [], np.full(bands, np.inf), np.full(bands, -np.inf)
    for line in lines:
        pixels = np.asarray(X[int(line)])  # (W, B); a lazily read cube reads that line alone
        same = (pixels == pixels[:, :1]).all(axis=1)  # NaN never equals itself: not counted
        values.append(pixels[same, 0])
        if (~same).any():  # each band's range over the other pixels
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a band of NaN only: no range
                low = np.fmin(low, np.nanmin(pixels[~same], axis=0))
                high = np.fmax(high, np.nanmax(pixels[~same], axis=0))
    found, counts = np.unique(np.concatenate(values), return_counts=True)
    if found.size == 0 or counts.max() < UNDECLARED_SHARE * lines.size * width:
        return None
    top = found[counts.argmax()]
    value, share = float(top), counts.max() / (lines.size * width)
    others = found[found != top]  # pixels of one value in every band that are not the candidate's: data too
    if others.size:  # (a panchromatic image stored as 3 equal bands has no other pixels)
        low, high = np.fmin(low, float(others.min())), np.fmax(high, float(others.max()))
    if share >= 1.0 or ((low < value) & (value < high)).all():  # a blank scene (the training scores' note says
        return None  # it), or a value inside every band's range (a mid-grey of a panchromatic image as 3 bands)
    # the data's own precision: float32's lowest value as -3.4028235e+38, which matches it (was: :g's -3.40282e+38)
    text = str(int(value)) if value.is_integer() and abs(value) < 2**53 else str(top)
    fix = (f"leave them out with --set nodata={text}" if detector is None or masks_fill(detector) else
           "crop the scene to its footprint or fill them first")
    return (f"note: about {share:.0%} of {name}'s pixels hold {text} in every band, which nothing declares as "
            f"no-data: if it is a fill value (a flight line's edge), they were fitted as data, which skews the "
            f"background and the scores; {fix}")


def fill_mask(X: Any, value: float) -> np.ndarray:
    """Which samples (pixels, rows) of `X` hold `value` in every feature, found tile by tile."""
    from .tiling import map_tiles

    return map_tiles(lambda block: fill_samples(block, value), X) > 0


def check_nan_scores(scores: np.ndarray, X: Any, fill: float | None, is_fill: np.ndarray | None = None,
                     who: str = "the detector", infinite: bool = True, declared: float | None = None) -> None:
    """:class:`InvalidInputError` when a score is NaN on a sample that is not fill (`is_fill`: the scene's declared
    fill pixels, already found; `fill`: the detector's no-data value and `declared`: the file's, whose pixels are
    found only when NaN scores remain outside those): the metrics leave NaN scores out as no data, so a detector
    that fails on some samples would be measured on the others alone (was: half NaN scores gave a better AUROC in
    `had bench`; `had fit` measured and saved such a model, `had score` counted its NaN as no-data pixels).
    Infinite scores are refused
    wherever they are (was: a bench cell's metrics left empty and the cell averaged over the other seeds), unless
    `infinite` is False (training scores: the threshold refuses them with the detector's own fix). `who` names the
    detector."""
    from .errors import InvalidInputError

    count = int(np.count_nonzero(np.isinf(scores))) if infinite else 0
    if count:
        raise InvalidInputError(f"{count:,} of {np.size(scores):,} scores are infinite: {who} failed on them (an "
                                "overflow, or a density of zero), and metrics of the others alone would not measure it")
    nan = np.isnan(scores).reshape(-1)
    if is_fill is not None:
        nan &= ~is_fill.reshape(-1)
    if not nan.any():
        return
    for value in (fill, declared):
        if value is not None and nan.any():
            nan &= ~fill_mask(X, value).reshape(-1)
    if nan.any():
        raise InvalidInputError(f"{int(nan.sum()):,} of {nan.size:,} scores are NaN on samples that are not the data's "
                                f"fill (no-data value): {who} failed on them, and metrics of the others alone "
                                "would not measure it")


def of_manifest(manifest: dict[str, Any]) -> float | None:
    """The no-data value a saved model's config holds (None where it has none)."""
    return as_number((manifest.get("config") or {}).get(FIELD))
