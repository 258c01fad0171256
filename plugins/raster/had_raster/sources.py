"""Data sources that cut a raster into tiles: ``raster-file``, ``synthetic-geochem`` and ``hsi-raster``.

Each returns a :class:`had.Dataset` of images ``X`` ``(N, C, h, w)`` float32 (raw values: per-band scaling
is fitted later on the training tiles only, by :func:`had_raster.split.split_tiles` or by the detector's own
preprocessing), tile labels ``y`` ``(N,)`` where a mask or occurrence points are given, and ``meta`` holding
the tile grid (``tile_coords``, ``tile_size``, ``raster_shape``; rebuild it with
:meth:`had_raster.TileGrid.from_meta`) and the pixel mask (``pixel_mask``, when known) so that tile scores can
be mapped back to a heat map with :func:`had_raster.heatmap`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.cubeview import TILING, ranges_text, view_scene
from had.datadir import sha256_of
from had.errors import ConfigError, InvalidInputError
from had.nodata import PartialFill, band_ranges, declared, fill_pixels, partial_line
from had.truth import check_same_grid
from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from .geotiff import AlphaSetting, alpha_field
from .io import TIFF_SUFFIXES, read_mask, read_raster
from .synthetic import synthetic_geochem
from .tiles import (TileGrid, extract_tiles, heatmap, labels_from_mask, labels_from_points, tile_grid,
                    uncovered_share)


#: the tile_size field's type, checked before the stride is derived from it
#: (:meth:`TilingConfig._stride_follows_tile_size`)
_AN_INT = TypeAdapter(int)


class TilingConfig(DataSourceConfig):
    """Tiling and tile-label fields shared by every raster source."""

    tile_size: int = Field(64, ge=2, description="tile height = width in pixels (Geo-Hgan uses 64)")
    stride: int | None = Field(32, ge=1, description="step between tiles in pixels, at most tile_size; default: "
                               "32 (half of 64), or tile_size (no overlap) when a smaller tile_size is given")
    label_rule: Literal["any", "fraction"] = Field(
        "any", description="tile label from the mask: 'any' anomalous pixel, or more than `label_fraction` of them")
    label_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share of mask pixels for rule 'fraction'")

    @model_validator(mode="before")
    @classmethod
    def _stride_follows_tile_size(cls, data: Any) -> Any:
        """A stride left out that would leave gaps (the source's default stride above a smaller tile size given)
        is the tile size: tiles side by side, every pixel in one; ``stride=None`` is the tile size too. Was: the
        stride stayed at its default 32 whatever the tile size, so ``tile_size=16`` cut 16x16 tiles every 32 px
        and left three quarters of a raster in no tile, neither fitted nor mapped. Where the default stride leaves
        no gap it holds as before (``tile_size=64`` every 32; ``hsi-raster``'s 16 every 8, given or not). The
        number used is what the config holds, so a model records its stride as a number (:meth:`tiling`)."""
        if not isinstance(data, dict) or data.get("stride") is not None:
            return data
        tile = data.get("tile_size", cls.model_fields["tile_size"].default)
        try:  # the field's own type first: int() of tile_size=Infinity or 1e400 was an OverflowError traceback
            tile = _AN_INT.validate_python(tile)
        except ValidationError:  # the field's own check says what is wrong, in one line naming tile_size
            return data
        if "stride" in data or ("tile_size" in data and cls.model_fields["stride"].default > tile):
            return {**data, "stride": tile}
        return data

    def tiling(self) -> dict:
        """The settings that decide the tiles, as ``--data`` gives them: ``had fit`` records them in the model and
        ``had score`` repeats them where not given (:data:`had.cubeview.TILING`). A ``max_no_data`` above 0 is one
        of them (``raster-file``): the tiles left out for no-data are those of the share the model was fitted with,
        at ``had score`` and in a runtime (:class:`had.image_checks.TileFill`)."""
        share = getattr(self, "max_no_data", 0.0)
        return {"tile_size": self.tile_size, "stride": self.stride or self.tile_size,
                **({"max_no_data": share} if share else {})}


def tile_dataset(name: str, raster: np.ndarray, cfg: TilingConfig, *, mask: np.ndarray | None = None,
                 points=None, meta: dict | None = None, no_data: np.ndarray | None = None,
                 nan_inside: np.ndarray | None = None) -> Dataset:
    """Cut `raster` ``(H, W, C)`` into tiles per `cfg`; labels from `mask` (pixels) or `points` (row, col).
    `no_data` ``(H, W)``: pixels without a measurement (outside a survey's area), see :func:`_without_no_data`;
    `nan_inside`: those of them that are NaN in some bands only (said in a note, with the tiles they left out)."""
    grid = tile_grid(raster.shape[:2], cfg.tile_size, cfg.stride)
    _refuse_gaps(name, grid, cfg)
    extra: dict = {}
    if no_data is not None:
        raster, grid, extra = _without_no_data(name, raster, grid, no_data, getattr(cfg, "max_no_data", 0.0),
                                               nan_inside, (meta or {}).get("bands_kept"))
    X = extract_tiles(raster, grid)
    y = None
    notes = [*((meta or {}).get("reader_notes") or ()), *extra.pop("reader_notes", ())]
    meta = {**(meta or {}), **grid.to_meta(), "stride": cfg.stride or cfg.tile_size, TILING: cfg.tiling(), **extra}
    if notes:
        meta["reader_notes"] = notes
    if mask is not None:
        y = labels_from_mask(mask, grid, cfg.label_rule, cfg.label_fraction)
        meta.update(pixel_mask=np.asarray(mask, dtype=np.int8).tolist(), label_rule=cfg.label_rule,
                    label_fraction=cfg.label_fraction)
    elif points is not None:
        y = labels_from_points(points, grid)
        meta.update(occurrence_points=np.asarray(points).reshape(-1, 2).tolist(), label_rule="points")
    return Dataset(name, X, y, meta=meta)


def _refuse_gaps(name: str, grid: TileGrid, cfg: TilingConfig) -> None:
    """One line refusing a stride larger than the tile size. Was: accepted, and the pixels between the tiles were
    neither fitted nor scored (NaN in the heat map) without a word. The fix it names works at ``had score`` too:
    a stride given there wins over the one a model recorded, and tiles of the model's size is all it needs."""
    stride = cfg.stride or cfg.tile_size
    if stride <= cfg.tile_size:
        return
    share = uncovered_share(grid)
    raise ConfigError(
        f"{name}: stride={stride} is larger than tile_size={cfg.tile_size}, which leaves gaps between the tiles: "
        f"{share:.1%} of the {grid.shape[0]}x{grid.shape[1]} raster would be in no tile (neither fitted nor "
        f"mapped); give --data stride={cfg.tile_size} (tiles side by side) or less (overlapping tiles)")


def _tile_shares(no_data: np.ndarray, grid: TileGrid) -> np.ndarray:
    """The share of `no_data` pixels ``(H, W)`` in each tile of `grid` (an integral image: no window copied)."""
    h, w = grid.size
    counts = np.pad(np.cumsum(np.cumsum(no_data, axis=0, dtype=np.int64), axis=1), ((1, 0), (1, 0)))
    r, c = grid.coords[:, 0], grid.coords[:, 1]
    return (counts[r + h, c + w] - counts[r, c + w] - counts[r + h, c] + counts[r, c]) / (h * w)


def _covered(grid: TileGrid, keep: np.ndarray) -> np.ndarray:
    """Which pixels ``(H, W)`` lie in at least one tile of `grid` that `keep` keeps."""
    h, w = grid.size
    marks = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1), dtype=np.int64)  # 2-D difference array
    for r, c in grid.coords[keep]:
        marks[r, c] += 1
        marks[r, c + w] -= 1
        marks[r + h, c] -= 1
        marks[r + h, c + w] += 1
    return np.cumsum(np.cumsum(marks, axis=0), axis=1)[:-1, :-1] > 0


#: the max_no_data values the coverage note weighs (:func:`_coverage_note`)
COVERAGE_SHARES = (0.1, 0.25, 0.5, 0.75)


def _coverage_note(name: str, grid: TileGrid, no_data: np.ndarray, shares: np.ndarray, keep: np.ndarray,
                   max_share: float) -> str | None:
    """The note on the surveyed pixels (not no-data) that lie in no tile kept: NaN in the heat map, which a GIS
    cannot tell from the area outside the survey, and how many of them each ``max_no_data`` of
    :data:`COVERAGE_SHARES` above the one used would leave, up to the first that leaves none. None when every
    surveyed pixel is in a tile kept. Was: only "77 tiles holding no-data pixels left out", with 30% of the survey
    in no tile."""
    surveyed = ~no_data
    uncovered = int(np.count_nonzero(surveyed & ~_covered(grid, keep)))
    if not uncovered:
        return None
    total = int(np.count_nonzero(surveyed))
    said = (f"note: {uncovered:,} of the {total:,} surveyed pixels of {name} ({uncovered / total:.0%}) lie in no "
            f"tile kept (max_no_data={max_share:g}): NaN in the heat map, as outside the survey")
    options = []
    for share in (s for s in COVERAGE_SHARES if s > max_share):
        left = int(np.count_nonzero(surveyed & ~_covered(grid, shares <= share + 1e-9)))
        options.append(f"{share:g} covers {'them all' if left == 0 else f'all but {left:,}'}")
        if left == 0:
            break
    if not options:
        return said
    return (f"{said}; --data max_no_data={', '.join(options)} (a tile holding up to that share of no-data pixels "
            "is kept, and they take their band's median)")


def _nan_inside_note(name: str, grid: TileGrid, no_data: np.ndarray, nan_inside: np.ndarray, shares: np.ndarray,
                     keep: np.ndarray, max_share: float, raster: np.ndarray, kept_bands: list[int]) -> str:
    """The note on pixels NaN in some bands only (`nan_inside`): no-data to this source as the README says (NaN in a
    band), so the tiles holding them are left out as the survey's edge is; how many more tiles that left out, and
    the ``max_no_data`` that keeps them. Was: left out without a word (4 tiles for one NaN), where ``had fit rx``
    refuses the same file naming the NaN."""
    from had.nodata import band_ranges

    pixels = int(np.count_nonzero(nan_inside))
    first = np.argwhere(nan_inside)[0]
    bands = np.flatnonzero(np.isnan(raster[nan_inside]).any(axis=0)).tolist()
    where = (f"{band_ranges([kept_bands[b] for b in bands])}; the first at row {first[0] + 1}, column {first[1] + 1}, "
             "1-based")
    said = (f"note: {pixels:,} pixel(s) of {name} hold NaN in some bands but not all ({where}): NaN in a band is "
            "no-data here, as outside the survey")
    without = _tile_shares(no_data & ~nan_inside, grid) <= max_share + 1e-9
    more = without & ~keep
    if more.any():
        needed = math.ceil(float(shares[more].max()) * 1e4) / 1e4
        keep_them = (f", or keep such tiles with --data max_no_data={needed:g} (it keeps every tile holding up to "
                     "that share of no-data pixels, which then take their band's median)") if needed < 1 else ""
        return (f"{said}, so {int(more.sum()):,} more tile(s) holding them were left out; if they are bad values in "
                f"a measured area, fill them{keep_them}")
    inside = nan_inside & _covered(grid, keep)
    if inside.any():
        return f"{said}; {int(inside.sum()):,} of them lie in tiles kept and take their band's median there"
    return said


def _without_no_data(name: str, raster: np.ndarray, grid: TileGrid, no_data: np.ndarray,
                     max_share: float, nan_inside: np.ndarray | None = None,
                     kept_bands: list[int] | None = None) -> tuple[np.ndarray, TileGrid, dict]:
    """The tiles of `grid` holding at most `max_share` no-data pixels (NaN in a band, or the file's declared
    nodata in every band: :func:`had.nodata.fill_pixels`), and the raster with its no-data pixels set to their
    band's median over the other pixels (they matter only in the tiles kept when `max_share` > 0). A raster whose
    every tile holds more is one clear error. The notes (``reader_notes`` of the extra meta): the surveyed pixels
    in no tile kept (:func:`_coverage_note`) and the pixels NaN in some bands only, `nan_inside`
    (:func:`_nan_inside_note`)."""
    h, w = grid.size
    if no_data.all():  # was: "use smaller tiles or allow some (max_no_data)", neither of which helps here
        raise InvalidInputError(
            f"{name}: all {no_data.size:,} pixels are no-data (NaN in a band, or the file's nodata value in every "
            "band): there is nothing to tile; check the file and its declared nodata value")
    share = _tile_shares(no_data, grid)
    keep = share <= max_share + 1e-9
    if not keep.any():
        raise InvalidInputError(
            f"{name}: every {h}x{w} tile holds more than {max_share:.0%} no-data pixels ({int(no_data.sum()):,} of "
            f"{no_data.size:,} pixels are no-data); use smaller tiles (--data tile_size=N) or allow some "
            "(--data max_no_data=0.25)")
    notes = []
    if nan_inside is not None and nan_inside.any():
        notes.append(_nan_inside_note(name, grid, no_data, nan_inside, share, keep, max_share, raster,
                                      kept_bands or list(range(raster.shape[-1]))))
    if (said := _coverage_note(name, grid, no_data, share, keep, max_share)) is not None:
        notes.append(said)
    medians = np.median(raster[~no_data], axis=0)  # no NaN there: a pixel with NaN in any band is no-data
    raster = np.where(no_data[:, :, None], medians[None, None, :], raster)
    kept = TileGrid(grid.coords[keep], grid.size, grid.shape)
    extra = {"no_data_pixels": int(no_data.sum()), "tiles_left_out": int((~keep).sum())}
    if notes:
        extra["reader_notes"] = notes
    if max_share > 0:  # no-data pixels inside kept tiles: NaN in the heat map (TiledSource.score_map)
        extra["no_data_mask"] = no_data.astype(np.int8).tolist()
    return raster, kept, extra


def _dead_bands(raster: np.ndarray, fill: float | None) -> list[int]:
    """The 0-based bands of `raster` ``(H, W, C)`` holding the no-data value `fill` (NaN allowed) in every pixel: a
    layer never measured, which the per-pixel no-data rules cannot tell from a missing pixel."""
    if fill is None:
        return []
    same = np.isnan(raster) if math.isnan(fill) else raster == fill
    return np.flatnonzero(same.all(axis=(0, 1))).tolist()


def _dead_band_clause(name: str, dead: list[int], kept: list[int], n_bands: int, names: list[str | None] | None,
                      fill: float | None, any_band: bool) -> str | None:
    """What to say of the bands `dead` (0-based, of the file's `n_bands`) among those `kept`: a clause for the
    note (:func:`_partial_notes`), None when no kept band is dead, or one error where such a band leaves no pixel:
    with `any_band` (nodata_any_band) or a NaN fill (NaN in any band is no-data), and where every kept band is
    dead. Was: said only as pixels "in some bands but not all" with the advice to add nodata_any_band=true, which
    then failed with "every tile holds more than 0% no-data pixels ... use smaller tiles", naming neither the band
    nor a fix that works. The fix named (``--data bands=`` the other bands, numbered as in the file) works with
    nodata_any_band too."""
    dead = [band for band in dead if band in kept]
    if not dead:
        return None
    named = [names[band] for band in dead if names and band < len(names) and names[band]]
    which = band_ranges(dead) + (f" ({', '.join(named)})" if named else "")
    others = [band for band in kept if band not in dead]
    if not others:  # the raster (or the bands asked for) holds no data at all: said as that
        every = len(kept) == n_bands
        raise InvalidInputError(
            f"{name}: every {'band' if every else 'band kept'} ({which}) holds the no-data value {fill:g} in every "
            "pixel: there is no data to tile; check the file and its declared nodata value"
            + ("" if every else ", or keep bands that hold data (--data bands=...)"))
    verb, it = ("holds", "it") if len(dead) == 1 else ("hold", "them")
    fix = f"--data bands={ranges_text(others)}"
    if any_band or math.isnan(fill):
        why = "with nodata_any_band=true" if any_band else "as NaN in any band is no-data"
        raise InvalidInputError(f"{name}: {which} {verb} the no-data value {fill:g} in every pixel (never measured), "
                                f"so {why} every pixel is no-data; leave {it} out: {fix}")
    return (f"{which} {verb} it in every pixel (never measured): fitted as a constant that carries nothing, and "
            f"nodata_any_band=true would leave no pixel; leave {it} out when fitting: {fix}")


def _partial_notes(name: str, fill: float | None, record: dict | None, dead_clause: str | None,
                   dead: list[int], kept: list[int]) -> list[str]:
    """The reader's notes on pixels holding the nodata value `fill` in some bands only (`record`:
    :meth:`had.nodata.PartialFill.record`, bands numbered among the kept ones) and on the bands holding it in
    every pixel (`dead`, numbered alike; `dead_clause`: :func:`_dead_band_clause`). When the dead bands are all
    the partial pixels come from, one note whose advice is to leave them out (nodata_any_band would leave no
    pixel); otherwise the usual note (:func:`had.nodata.partial_line`) and the dead bands' beside it. Bands are
    said by their numbers in the file (`kept`: the file's 0-based bands read), as ``--data bands=`` takes them."""
    if fill is None or math.isnan(fill):  # NaN in some bands only is no-data already
        return []
    if record and dead_clause and set(record["bands"]) <= set(dead):
        return [f"note: {record['pixels']:,} pixels of {name} hold the no-data value {fill:g} in some bands but not "
                f"all ({band_ranges([kept[band] for band in record['bands']])}): {dead_clause}"]
    notes = [partial_line(name, fill, record, kept=kept)] if record else []
    return notes + ([f"note: {name}: {dead_clause}"] if dead_clause else [])


class TiledSource(DataSource):
    """A source of raster tiles: tile scores map back onto the raster (``had bench`` writes the heat map)."""

    def score_map(self, dataset: Dataset, scores) -> np.ndarray | None:
        """Each pixel: the mean score of the tiles covering it; NaN where none does and at no-data pixels."""
        picture = heatmap(scores, TileGrid.from_meta(dataset.meta))
        if dataset.meta.get("no_data_mask") is not None:
            picture[np.asarray(dataset.meta["no_data_mask"], dtype=bool)] = np.nan
        return picture

    def truth_map(self, dataset: Dataset) -> np.ndarray | None:
        mask = dataset.meta.get("pixel_mask")
        return None if mask is None else np.asarray(mask, dtype=np.int8)


class RasterFileConfig(TilingConfig):
    path: str = Field(..., description="raster file: GeoTIFF (.tif/.tiff, read with rasterio; a page stack with "
                                       "tifffile), .mat, .npy or .npz")
    key: str | None = Field(None, description="array name in a .mat/.npz file (None: its only array)")
    band_axis: Literal["auto", "first", "last"] = Field("auto", description="channel axis of the stored array")
    mask_path: str | None = Field(None, description="mask raster (H, W), anomaly where > 0 (any supported format)")
    mask_key: str | None = Field(None, description="array name of the mask in a .mat/.npz file")
    points: list[tuple[float, float]] | None = Field(
        None, description="known-occurrence (row, col) pixel coordinates; a tile holding one is anomalous")
    max_no_data: float = Field(
        0.0, ge=0.0, lt=1.0, description="largest share of no-data pixels (NaN in a band, or the file's nodata "
        "in every band) a tile may hold; tiles with more are left out (the heat map is NaN where none is left), "
        "no-data pixels in the tiles kept take their band's median")
    bands: str | int | None = Field(None, description="bands (elements) to use: 1-based ranges such as 1-3,7, or "
                                    "the GeoTIFF's band names such as Cu,Pb,Zn; default: every band (the model "
                                    "records it: had score repeats it)")
    nodata_any_band: bool = Field(False, description="a pixel holding the file's nodata value in any (kept) band "
                                  "is no-data (layers with different footprints); default: only in every band")
    alpha: AlphaSetting = alpha_field()


class RasterFile(TiledSource):
    """Your own multichannel raster, cut into tiles, with labels from a mask raster or occurrence points."""

    name = "raster-file"
    Config = RasterFileConfig
    kind = "image"
    default_protocol = "transductive"

    def load(self) -> Dataset:
        cfg = self.config
        if cfg.mask_path and cfg.points:
            raise ConfigError("give either mask_path or points for the tile labels, not both")
        raster = read_raster(cfg.path, cfg.key, cfg.band_axis)
        mask = read_mask(cfg.mask_path, cfg.mask_key) if cfg.mask_path else None
        meta = {"path": cfg.path, "sha256": sha256_of(cfg.path), "citation": ""}
        from pathlib import Path

        if Path(cfg.path).suffix.lower() in TIFF_SUFFIXES:  # the raster's grid: tile (row, col) -> map coordinates
            from .geotiff import apply_alpha, read_georeference

            meta.update(read_georeference(cfg.path))
            marked = meta.get("alpha_band")  # a band the header marks alpha: data, or with alpha=mask a mask
            raster, meta = apply_alpha(raster, meta, Path(cfg.path).name, cfg.alpha)
            if cfg.mask_path and Path(cfg.mask_path).suffix.lower() in TIFF_SUFFIXES:
                # a mask of the raster's size drawn on another grid would label these tiles with another area's
                check_same_grid(cfg.mask_path, read_georeference(cfg.mask_path), meta)
        elif cfg.alpha == "mask":  # a .npy/.mat has no header marking a band: the setting would do nothing
            raise ConfigError(f"alpha=mask: {Path(cfg.path).name} is not a GeoTIFF, whose header alone marks a band "
                              "as alpha (transparency); leave the setting out (pixels NaN in every band are "
                              "no-data already)")
        dead = _dead_bands(raster, declared(meta))  # before nodata_any_band spreads a dead band's fill to all
        file_names = meta.get("band_names")
        raster, meta = view_scene(raster, meta, Path(cfg.path).name, cfg.bands, cfg.nodata_any_band)
        if Path(cfg.path).suffix.lower() in TIFF_SUFFIXES:
            from .geotiff import alpha_note

            meta = alpha_note(meta, marked, Path(cfg.path).name, cfg.alpha)
        fill, partial = declared(meta), PartialFill()
        kept = meta.get("bands_kept") or list(range(int(meta.get("file_bands", raster.shape[-1]))))
        dead_clause = _dead_band_clause(Path(cfg.path).stem, dead, kept, int(meta.get("file_bands", len(kept))),
                                        file_names, fill, cfg.nodata_any_band)
        nan = np.isnan(raster)
        some_nan = nan.any(axis=-1)
        no_data = some_nan | fill_pixels(raster, fill, partial)
        # NaN in some bands only, in a raster whose no-data is a number: a bad value inside the survey? said (with a
        # NaN nodata, or none, NaN is the raster's own no-data mark: a layer of another footprint, nothing to say)
        nan_inside = some_nan & ~nan.all(axis=-1) if fill is not None and not math.isnan(fill) else some_nan & False
        del nan
        # pixels holding the nodata value in some bands only are tiled as data: had fit and had score say so (reader
        # notes: had.scenefiles.view_note). NaN in some bands only is no-data already
        notes = _partial_notes(Path(cfg.path).stem, fill, partial.record(), dead_clause,
                               [kept.index(band) for band in dead if band in kept], kept)
        if notes:
            meta["reader_notes"] = [*(meta.get("reader_notes") or ()), *notes]
        if not no_data.any():
            meta.update(no_data_pixels=0, tiles_left_out=0)
        dataset = tile_dataset(Path(cfg.path).stem, raster, cfg, mask=mask, points=cfg.points, meta=meta,
                               no_data=no_data if no_data.any() else None,
                               nan_inside=nan_inside if nan_inside.any() else None)
        if fill is not None:  # recorded by had fit with the tiling: a runtime scores NaN the tiles had score leaves out
            dataset.meta[TILING] = {**dataset.meta[TILING], "nodata": "nan" if math.isnan(fill) else fill}
        return dataset


#: the largest anomaly amplitude (either sign), in log-standard deviations: exp of 20 standard deviations of a
#: log-spread up to 0.8 is a factor 1e7 over the background, far past any ore body; 1000 overflowed exp() (a
#: traceback blamed on the plugin) and 100 made values whose squares overflow the tiles' float32
MAX_STRENGTH = 20.0
#: the largest relative white noise: at 100 the latent fields are 1e-4 of each element's variance (noise alone);
#: 1e308 overflowed to NaN in every element (an error about NaN in the data that did not name noise)
MAX_NOISE = 100.0


class SyntheticGeochemConfig(TilingConfig):
    height: int = Field(512, ge=16, description="raster rows H")
    width: int = Field(512, ge=16, description="raster columns W")
    channels: int = Field(10, ge=1, description="element channels C")
    n_latent: int = Field(3, ge=1, description="latent Gaussian random fields mixed into the channels")
    n_anomalies: int = Field(8, ge=0, description="planted anomalies")
    sizes: list[Annotated[float, Field(ge=1.0)]] = Field(
        [4.0, 8.0, 16.0], min_length=1, description="anomaly radii in pixels (drawn per anomaly), each at least 1 "
        "and below half the raster's smaller side")
    strengths: list[Annotated[float, Field(ge=-MAX_STRENGTH, le=MAX_STRENGTH)]] = Field(
        [1.5, 2.5, 4.0], min_length=1, description="anomaly amplitudes in log-standard deviations (drawn per "
        f"anomaly), each between -{MAX_STRENGTH:g} and {MAX_STRENGTH:g}")
    anomalous_elements: int = Field(4, ge=1, description="size of the element subset anomalies appear in")
    elements_per_anomaly: int = Field(3, ge=1, description="at most this many elements per anomaly")
    correlation_length: float = Field(24.0, gt=0.0, description="smoothing length of the latent fields (pixels), "
                                      "at most twice the raster's larger side")
    noise: float = Field(0.15, ge=0.0, le=MAX_NOISE, description="relative white noise per element")
    seed: int = Field(0, ge=0, description="random seed")

    @field_validator("correlation_length")
    @classmethod
    def _smoothing_within_the_raster(cls, value: float, info: ValidationInfo) -> float:
        """A smoothing length beyond twice the raster's larger side: the fields are flat there, and the filter's
        kernel is 8 lengths long (1e308 was an OverflowError blamed on the plugin, 1e9 a 64 GB kernel). The bound
        holds the default 24 for the smallest raster (16: 32)."""
        sides = [info.data[k] for k in ("height", "width") if k in info.data]
        if sides and value > 2 * max(sides):
            raise ValueError(f"correlation_length={value:g} is longer than twice the raster's larger side "
                             f"(2 x {max(sides)} = {2 * max(sides)}); give at most that (or a larger raster: "
                             "height, width)")
        return value


class SyntheticGeochem(TiledSource):
    """The seeded synthetic geochemical raster (:mod:`had_raster.synthetic`), cut into labelled tiles."""

    name = "synthetic-geochem"
    Config = SyntheticGeochemConfig
    kind = "image"
    default_protocol = "transductive"

    def generate(self):
        """The raster, mask and planted anomalies (:class:`had_raster.synthetic.GeochemRaster`)."""
        cfg = self.config
        return synthetic_geochem(cfg.height, cfg.width, cfg.channels, cfg.n_latent, cfg.n_anomalies, tuple(cfg.sizes),
                                 tuple(cfg.strengths), cfg.anomalous_elements, cfg.elements_per_anomaly,
                                 cfg.correlation_length, cfg.noise, cfg.seed)

    def load(self) -> Dataset:
        made = self.generate()
        meta = {"citation": "synthetic (had-plugin-raster)", "url": None, "anomalies": made.anomalies,
                "anomalous_elements": list(made.anomalous_elements), "seed": self.config.seed}
        return tile_dataset(f"synthetic-geochem-{self.config.seed}", made.raster, self.config, mask=made.mask, meta=meta)


class HSIRasterConfig(TilingConfig):
    scene: str = Field("sandiego_plane", description="a scene of had-plugin-hsi (e.g. sandiego_plane, hydice, abu-beach-4)")
    tile_size: int = Field(16, ge=2, description="tile height = width (scenes are about 100x100 pixels)")
    stride: int | None = Field(8, ge=1, description="step between tiles, at most tile_size; default: 8, or "
                               "tile_size (no overlap) when a tile_size below 8 is given")
    band_step: int = Field(1, ge=1, description="keep every band_step-th band (fewer channels, faster)")

    def tiling(self) -> dict:
        return {**super().tiling(), "band_step": self.band_step}  # the tiles' channels


def _hsi_scenes() -> list[str]:
    """The named scenes had-plugin-hsi registers (its file readers, ``*-file``, read a path, not a scene name)."""
    from had import plugins

    return [name for name, entry in plugins.registry()["datasource"].items()
            if entry.plugin == "hsi" and not name.endswith("-file")]


class HSIRaster(TiledSource):
    """A hyperspectral scene of had-plugin-hsi treated as a raster: tiles, and tile labels from its map."""

    name = "hsi-raster"
    Config = HSIRasterConfig
    kind = "image"
    default_protocol = "transductive"

    def load(self) -> Dataset:
        import had

        scenes = _hsi_scenes()
        if self.config.scene not in scenes:  # a table, a tiled source, a typo: was an IndexError or a reshape error
            raise ConfigError(f"hsi-raster: scene {self.config.scene!r} is not a hyperspectral scene of "
                              f"had-plugin-hsi; give one of {', '.join(scenes) or '(none: pip install had-plugin-hsi)'}")
        scene = had.get_datasource(self.config.scene).load()  # not load_dataset: its advice in the caller's form
        raster = np.asarray(scene.X, dtype=np.float64)[:, :, ::self.config.band_step]
        meta = {k: scene.meta.get(k) for k in ("citation", "url", "sha256", "relpath", "description")}
        meta["scene"] = self.config.scene
        name = f"{scene.name}-tiles{self.config.tile_size}"
        return tile_dataset(name, raster, self.config, mask=np.asarray(scene.y).reshape(raster.shape[:2]), meta=meta)
