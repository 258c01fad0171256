"""A scene's cube as the user asked to see it, applied block by block as the cube is read.

Data settings of the scene file sources (``envi-file``, ``geotiff-scene``; ``hsi-file`` all but
``nodata_any_band``; ``raster-file`` ``bands`` and ``nodata_any_band``) change what a detector sees without writing a
new file (a model records them, and the tiling of a raster's tiles, :func:`record_of`):

* ``bands``: the bands kept, as 1-based ranges (``"1-100,120-150"``), band names where the file has them
  (``"Cu,Pb,Zn"``), or ``"good"``: the bands an ENVI header's bad band list (``bbl``) does not mark bad (water
  absorption, dead detectors); ``"names:Pb,Cu"`` keeps exactly the bands of those names in that order and refuses
  a file lacking one (what ``had score`` adds for a model fitted on named bands: :func:`settings_to_match`);
* ``rows``/``cols``: a window (one 1-based range each): a slice of the cube, its transform moved to the
  window (a model fitted on a background window scores the whole file);
* ``nodata_any_band``: a pixel holding the file's no-data value in *any* kept band is no-data in all of them
  (a stack of layers with different footprints: geochemical grids, bands resampled at a swath's edge), so the
  detectors that mask no-data leave it out (:mod:`had.nodata`; by default a pixel is no-data only when every band
  holds the value, so that a zeroed bad band does not hide a spectrum).

:class:`CubeView` wraps the (memory-mapped) cube: it has the shape, dtype and indexing of the cube it stands
for, and each block read from it (a tile of :func:`had.tiling.tiles`, a sample's rows, a quicklook's
decimation) has the bands selected and the fill widened then. The tiling reads the underlying memory map as
before (a reader thread, pages released), so a flight line larger than memory is still read tile by tile; RX,
the pixel sample of pixel-trained detectors, validation and the training fingerprint work tile by tile on a
view; a detector that needs the whole array gets it from ``np.asarray(view)`` (only the kept bands).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .errors import ConfigError


class LazyCube:
    """What a lazily read cube shares with an array (``shape``, ``dtype``, ``ndim``, ``size``, ``nbytes``,
    ``len``): :class:`CubeView` and readers such as had-plugin-raster's ``WindowedGeoTiff`` derive from it."""

    ndim = 3
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]


class CubeView(LazyCube):
    """A lazy view of a cube `base` ``(H, W, B)``: the bands `bands` (0-based indices, None: all) and, with
    `fill_any` (a fill value, NaN allowed), pixels holding it in any kept band set to it in every kept band; with
    `as_dtype`, each block read converted to it (an int16 flight line seen as float64 a tile at a time, not
    converted whole: :func:`had.validation.check_array`)."""

    def __init__(self, base: Any, bands: np.ndarray | None = None, fill_any: float | None = None,
                 as_dtype: Any = None):
        if np.ndim(base) != 3:
            raise ValueError(f"a CubeView wraps a cube (H, W, B), not shape {np.shape(base)}")
        self.base = base
        self.bands = None if bands is None else np.asarray(bands, dtype=np.intp)
        self.fill_any = fill_any
        self.as_dtype = None if as_dtype is None else np.dtype(as_dtype)
        kept = base.shape[-1] if self.bands is None else self.bands.size
        self.shape = tuple(base.shape[:-1]) + (int(kept),)
        self.dtype = np.dtype(base.dtype) if self.as_dtype is None else self.as_dtype

    def converted(self, dtype: Any) -> "CubeView":
        """The same view with its blocks converted to `dtype`."""
        return CubeView(self.base, self.bands, self.fill_any, dtype)

    def __repr__(self) -> str:
        return f"CubeView(shape={self.shape}, dtype={self.dtype}, of {type(self.base).__name__} {self.base.shape})"

    def apply(self, block: np.ndarray) -> np.ndarray:
        """`block` (any leading shape, the base's bands last) as this view shows it: the kept bands, the fill
        widened. A new array when either applies (the block of a memory map is never written)."""
        block = np.asarray(block)
        if self.bands is not None:
            block = np.take(block, self.bands, axis=-1)
        if self.fill_any is not None and block.size:
            same = np.isnan(block) if math.isnan(self.fill_any) else block == self.fill_any
            some = same.any(axis=-1)
            if some.any():
                block = np.where(some[..., None], np.asarray(self.fill_any).astype(block.dtype), block)
        return self._cast(block)

    def _cast(self, block: Any) -> np.ndarray:
        block = np.asarray(block)
        return block if self.as_dtype is None else block.astype(self.as_dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:at] + (slice(None),) * (3 - len(key) + 1) + key[at + 1:]
        if len(key) < 3:  # leading axes only: every kept band
            return self.apply(self.base[key])
        lead, last = key[:-1], key[-1]
        if self.fill_any is None:  # the bands asked for, read straight from the base
            picked = np.arange(self.base.shape[-1])[last] if self.bands is None else self.bands[last]
            return self._cast(self.base[lead + (picked,)])
        if isinstance(last, (int, np.integer, slice)) or all(isinstance(k, slice) for k in lead):
            return self.apply(self.base[lead + (slice(None),)])[..., last]  # every kept band, then the band key
        return np.asarray(self)[key]  # index arrays on the band axis and before it: numpy's order, read whole

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole view read into one new array of `dtype` (else the view's), a tile at a time
        (:func:`had.tiling.tiles`): was the base read whole, its kept bands taken, then converted, so an int16
        line read as float32 held an int16 copy and a float64 one beside the result."""
        from .tiling import tiles

        out = np.empty(self.shape, dtype=self.dtype if dtype is None else dtype)
        for start, stop, block in tiles(self):
            out[start:stop] = block
        return out


def is_lazy(cube: Any) -> bool:
    """Whether `cube` reads its pixels from a file as they are asked for: a ``np.memmap``, or an object that says
    so (``reads_by_window = True``: a compressed GeoTIFF read by row windows, had-plugin-raster)."""
    return isinstance(cube, np.memmap) or bool(getattr(cube, "reads_by_window", False))


def base_of(X: Any) -> Any:
    """The array a :class:`CubeView` reads (its memory map), or `X` itself."""
    return X.base if isinstance(X, CubeView) else X


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def _range(text: str) -> tuple[int, int] | None:
    """``(first, last)`` of a 1-based inclusive range ``"3-7"`` (or one number ``"5"``), or None when not one."""
    match = _RANGE.match(text)
    return None if match is None else (int(match.group(1)), int(match.group(2) or match.group(1)))


def parse_bands(spec: str, n_bands: int, bad: list[int] | None, name: str,
                names: list[str | None] | None = None, bad_unread: str | None = None) -> np.ndarray:
    """The 0-based band indices `spec` keeps, sorted: ``"good"`` (those `bad`, 0-based, does not list), or
    1-based inclusive ranges ``"1-100,120-150"`` and, where the file names its bands (`names`: GeoTIFF band
    descriptions, such as a geochemical stack's elements, ENVI band names), names (``"Cu,Pb,Zn"``, any case);
    ConfigError naming what is wrong. `bad_unread`: why the file's bad band list was not read (an ENVI reader's
    ``meta["bad_bands_unread"]``, ``"bbl lists 188 flags for 189 bands"``), said for ``"good"`` (was: "marks no
    band bad ... this file has none, or one of ones")."""
    text = str(spec).strip()
    if text.lower().startswith(BY_NAME):
        return bands_by_name(text[len(BY_NAME):].split(","), names, name, n_bands)
    if text.lower() == "good":
        if not bad and bad_unread:
            raise ConfigError(f"bands=good: {name}'s {bad_unread}; correct the header (or give the bands to keep as "
                              "1-based ranges, for example bands=1-100,120-150)")
        if not bad:
            raise ConfigError(f"bands=good: {name} marks no band bad (bad bands come from an ENVI header's "
                              "bbl list; this file has none, or one of ones): give the bands to keep as 1-based "
                              "ranges, for example bands=1-100,120-150")
        kept = np.setdiff1d(np.arange(n_bands), np.asarray(bad, dtype=np.intp))
    else:
        chosen: set[int] = set()
        known = {str(n).strip().lower(): i for i, n in enumerate(names or []) if n}
        for part in text.split(","):
            span = _range(part)
            if span is None and part.strip().lower() in known:
                chosen.add(known[part.strip().lower()])
                continue
            if span is None:
                named = (f" nor a band name of {name} ({', '.join(str(n) for n in names if n)})" if known else "")
                raise ConfigError(f"bands={spec!r}: {part.strip()!r} is not a band number or range{named}; give "
                                  "1-based ranges such as bands=1-100,120-150, or bands=good (an ENVI header's bbl)")
            first, last = span
            if 1 <= last < first <= n_bands:  # was: "5-2 is outside bands 1-8", which it is not
                raise ConfigError(f"bands={spec!r}: the range {part.strip()} goes down; write it low-high "
                                  f"({last}-{first})")
            if not 1 <= first <= last <= n_bands:
                raise ConfigError(f"bands={spec!r}: {part.strip()} is outside bands 1-{n_bands} of {name} "
                                  "(band numbers are 1-based, ranges low-high)")
            chosen.update(range(first - 1, last))
        kept = np.asarray(sorted(chosen), dtype=np.intp)
    if kept.size == 0:
        raise ConfigError(f"bands={spec!r} keeps no band of {name}")
    return kept


#: the prefix of a ``bands`` setting naming the bands to keep, in order, where a file lacking one is refused
BY_NAME = "names:"


def _name_key(name: Any) -> str:
    """A band name as bands are matched by it: stripped, any case."""
    return str(name).strip().lower()


def _names_text(names: list[str | None] | None, n_bands: int, name: str = "") -> str:
    """A file's band names as an error shows them: ``"named Pb, Cu, (unnamed)"``, or that it names none (in the
    words of its format: an ENVI header's band names, else GeoTIFF band descriptions)."""
    if not names or not any(names):
        where = "band names in its ENVI header" if str(name).lower().endswith(".hdr") else "GeoTIFF band descriptions"
        return f"unnamed ({n_bands} bands without {where})"
    return "named " + ", ".join(str(n).strip() if n else "(unnamed)" for n in names)


def bands_by_name(wanted: list[str], names: list[str | None] | None, name: str,
                  n_bands: int | None = None) -> np.ndarray:
    """The 0-based indices of the bands of `name` named `wanted`, in `wanted`'s order (the order a model was fitted
    on, whatever the file's); BandMismatchError naming the elements missing (or named twice) and the file's band
    names when one cannot be picked. Not a ConfigError: ``had score`` reads a file as given when the bands it adds
    are not the file's (numbers of another sensor), which for named bands would score other elements."""
    from .errors import BandMismatchError

    wanted = [w.strip() for w in wanted if w.strip()]
    n_bands = len(names or []) if n_bands is None else n_bands
    where: dict[str, list[int]] = {}
    for i, n in enumerate(names or []):
        if n:
            where.setdefault(_name_key(n), []).append(i)
    missing = [w for w in wanted if _name_key(w) not in where]
    twice = [w for w in wanted if len(where.get(_name_key(w), ())) > 1]
    if not wanted or missing or twice:
        what = (f"has no band named {', '.join(missing)}" if missing else
                f"names more than one band {', '.join(twice)}" if twice else "is given no band name")
        raise BandMismatchError(
            f"{name} {what}: the bands asked for (--data bands=names:..., or those a model was fitted on) are named "
            f"{', '.join(wanted) or '(none)'} and {name}'s bands are {_names_text(names, n_bands, name)}; give a file "
            "holding those bands, or choose its bands for them with --data bands=... (1-based numbers or its band "
            "names)")
    return np.asarray([where[_name_key(w)][0] for w in wanted], dtype=np.intp)


def parse_span(spec: str | int, length: int, axis: str, name: str) -> tuple[int, int]:
    """``(start, stop)`` (0-based, stop excluded) of the 1-based inclusive range `spec` (``"1-500"``, or one
    number) along an axis of `length` (`axis`: ``rows``/``cols``); ConfigError naming what is wrong."""
    span = _range(str(spec))
    if span is None:
        raise ConfigError(f"{axis}={spec!r}: give one 1-based range such as {axis}=1-500 (or one number)")
    first, last = span
    if not 1 <= first <= last <= length:
        raise ConfigError(f"{axis}={spec!r} is outside {axis} 1-{length} of {name} (1-based, low-high)")
    return first - 1, last


def window_meta(meta: dict[str, Any], rows: tuple[int, int], cols: tuple[int, int],
                shape: tuple[int, ...]) -> dict[str, Any]:
    """`meta` of a window (``rows``, ``cols``: 0-based, stop excluded) of a scene of `shape`: the transform moved
    to the window's first pixel (rasterio's order ``a, b, c, d, e, f``), and ``window`` recorded."""
    meta = dict(meta, window={"rows": list(rows), "cols": list(cols)}, file_shape=list(shape[:2]))
    transform = meta.get("transform")
    if transform is not None:
        a, b, c, d, e, f = (float(v) for v in transform[:6])
        meta["transform"] = [a, b, c + a * cols[0] + b * rows[0], d, e, f + d * cols[0] + e * rows[0]]
    return meta


def crop_truth(y: Any, meta: dict[str, Any]) -> Any:
    """A ground truth map ``(H, W)`` of the whole file cut to the window `meta` records (or as it is)."""
    window = meta.get("window")
    if y is None or not window:
        return y
    (r0, r1), (c0, c1) = window["rows"], window["cols"]
    return np.asarray(y)[r0:r1, c0:c1]


def _subset(values: Any, kept: np.ndarray) -> Any:
    """A per-band list of `meta` (wavelengths, band names) for the kept bands; other values as they are."""
    if isinstance(values, (list, tuple)) and len(values) > int(kept.max()):
        return [values[int(i)] for i in kept]
    return values


def view_scene(cube: Any, meta: dict[str, Any], name: str, bands: str | None = None,
               nodata_any_band: bool = False, rows: str | None = None,
               cols: str | None = None) -> tuple[Any, dict[str, Any]]:
    """`cube` and `meta` as the data settings ask (see the module docstring): both unchanged when none is set.

    ``rows``/``cols`` (1-based ranges) cut a window: a slice of the cube (a memory map stays one), its transform
    moved to the window (:func:`window_meta`; cut the truth with :func:`crop_truth`). ``bands`` and
    ``nodata_any_band`` give a :class:`CubeView` and `meta` with the per-band entries (wavelengths, band names,
    default bands, bad bands) renumbered for the kept bands, ``bands_kept`` (0-based indices of the file's bands),
    ``file_bands`` (the file's band count) and ``nodata_any_band``. A cube in memory (not a ``np.memmap``) comes
    back as the array the view shows, a copy; a lazily read one (:func:`is_lazy`) stays lazy."""
    if rows is not None or cols is not None:
        height, width = int(cube.shape[0]), int(cube.shape[1])
        span_rows = parse_span(rows, height, "rows", name) if rows is not None else (0, height)
        span_cols = parse_span(cols, width, "cols", name) if cols is not None else (0, width)
        meta = window_meta(meta, span_rows, span_cols, tuple(cube.shape))
        cube = (cube.crop(span_rows, span_cols) if hasattr(cube, "crop")  # a window reader stays one
                else cube[span_rows[0]:span_rows[1], span_cols[0]:span_cols[1]])
    if bands is None and not nodata_any_band:
        return cube, meta
    from .nodata import declared

    n_bands = int(cube.shape[-1])
    kept = (parse_bands(bands, n_bands, meta.get("bad_bands"), name, meta.get("band_names"),
                        meta.get("bad_bands_unread")) if bands is not None else None)
    fill = None
    if nodata_any_band:
        fill = declared(meta)
        if fill is None:
            raise ConfigError(f"nodata_any_band: {name} declares no single no-data value (GeoTIFF nodata, ENVI "
                              "data ignore value), so there is nothing to widen; leave the setting out")
    if fill is None and _whole_file_by_name(bands, kept, n_bands):
        return cube, meta  # a model's named bands, all of this file's in its order: the file as it is
    meta = dict(meta, file_bands=n_bands)
    if kept is not None:
        position = {int(band): i for i, band in enumerate(kept)}
        meta["bands_kept"] = kept.tolist()
        for key in ("wavelengths", "band_names", "fwhm"):
            if meta.get(key) is not None:
                meta[key] = _subset(meta[key], kept)
        for key in ("default_bands", "bad_bands"):
            if meta.get(key):
                renumbered = [position[int(b)] for b in meta[key] if int(b) in position]
                meta[key] = (renumbered or None) if key == "bad_bands" else (
                    renumbered if len(renumbered) == len(meta[key]) else None)
    if nodata_any_band:
        meta["nodata_any_band"] = True
    view = CubeView(cube, kept, fill)
    return (view if is_lazy(cube) else view.apply(cube)), meta  # in memory: applied now


def _whole_file_by_name(spec: Any, kept: np.ndarray | None, n_bands: int) -> bool:
    """Whether `spec` names bands (``names:...``) and picks every band of the file in the file's order: nothing to
    view (a model fitted on a whole named stack, scored on the same stack)."""
    return (kept is not None and str(spec).strip().lower().startswith(BY_NAME)
            and np.array_equal(kept, np.arange(n_bands)))


def bands_field() -> Any:
    """``bands: str | int | None = bands_field()`` in a scene file source's config (see the module docstring)."""
    from pydantic import Field

    return Field(None, description="bands to use, 1-based ranges such as 1-100,120-150, band names such as "
                 "Cu,Zn, or 'good': those the ENVI header's bbl does not mark bad; default: every band (the model "
                 "records it, and the bands' names where the file has them: had score repeats it, by name)")


def span_field(axis: str) -> Any:
    """``rows``/``cols: str | int | None = span_field(axis)``: a window of the scene (see :func:`view_scene`)."""
    from pydantic import Field

    return Field(None, description=f"a window of the scene: its {axis}, one 1-based range such as 1-500; "
                 "default: all (fit on a window, score the whole file)")


def nodata_any_band_field() -> Any:
    """``nodata_any_band: bool = nodata_any_band_field()`` beside :func:`bands_field`."""
    from pydantic import Field

    return Field(False, description="a pixel holding the file's no-data value in any (kept) band is no-data in "
                 "all, left out of the fit and scored NaN (layers with different footprints); default: only a "
                 "pixel holding it in every band")


def ranges_text(bands: list[int]) -> str:
    """0-based band indices as the ``bands`` setting writes them, 1-based: ``[0, 1, 2, 6]`` -> ``"1-3,7"``."""
    from .nodata import band_runs

    runs = band_runs(sorted(int(b) for b in bands))
    return ",".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in runs)


#: the key of a model's input spec (``had fit``) recording the data settings its scene was read with
RECORD = "data_view"

#: the key of a dataset's `meta` where a source that cuts a raster into tiles (had-plugin-raster's ``raster-file``,
#: ``hsi-raster``) puts the data settings that decided the tiles (``{"tile_size": 16, "stride": 8}``), recorded
#: by ``had fit`` and repeated by ``had score`` like the bands
TILING = "tiling"


#: a band name that only numbers the band (GDAL's "Band 1", "Band_1", "B1", "layer 2", "channel3")
GENERIC_NAME = re.compile(r"(band|b|layer|channel|ch)[\s_-]*\d+", re.IGNORECASE)


def recordable_names(meta: dict[str, Any]) -> list[str] | None:
    """The names of the bands a scene's detector sees (``meta["band_names"]``, the kept ones: GeoTIFF band
    descriptions, a geochemical stack's elements), where every one has a name that tells it from the others and
    fits a ``bands`` setting (no comma); None otherwise (numbers then say which bands, as before), and for a
    scene whose bands have wavelengths: a sensor's spectrum, whose bands :mod:`had.wavelengths` compares at
    scoring (hundreds of names such as "Band 12" would add nothing to that). Names a tool gives any band ("Band
    1", "Band_2", "B3", "layer 4": :data:`GENERIC_NAME`) say nothing of what was measured: a file of the same
    layout with other or no such names must still score, so they are not recorded (was: refused)."""
    names = meta.get("band_names")
    if meta.get("wavelengths") is not None:
        return None
    if not isinstance(names, (list, tuple)) or not names:
        return None
    if any(not n or not str(n).strip() or "," in str(n) or GENERIC_NAME.fullmatch(str(n).strip()) for n in names):
        return None
    if len({_name_key(n) for n in names}) < len(names):
        return None
    return [str(n).strip() for n in names]


def record_of(meta: dict[str, Any]) -> dict[str, Any] | None:
    """What ``had fit`` records in the model's input spec about a scene read through a view: ``{"bands": "1-2,4-7",
    "of": 8}`` (the kept bands of a file of `of` bands), ``{"band_names": ["Cu", "Zn"]}`` (the names of the bands
    the detector saw, where the file names them: :func:`recordable_names`, with or without ``bands``),
    ``{"nodata_any_band": True}``, ``{"alpha": "mask"}`` (a GeoTIFF's alpha band read as a mask) and/or
    ``{"tiling": {"tile_size": 16, "stride": 8}}`` (the tiles of a raster, :data:`TILING`); None otherwise.

    was: only the band numbers, so a stack of the same elements in another order (Pb, Cu, Au, Zn) was scored on
    bands 1 and 3 (Pb, Au) for a model of Cu and Zn, and a named stack fitted whole was never compared by name."""
    record: dict[str, Any] = {}
    if meta.get("bands_kept"):
        record.update(bands=ranges_text(meta["bands_kept"]), of=int(meta["file_bands"]))
    if (names := recordable_names(meta)) is not None:  # had score picks these by name (settings_to_match)
        record["band_names"] = names
    if meta.get("nodata_any_band"):
        record["nodata_any_band"] = True
    if meta.get(TILING):
        record[TILING] = dict(meta[TILING])
    if meta.get("alpha"):  # a GeoTIFF's alpha band read as a transparency mask (had-plugin-raster's alpha=mask)
        record["alpha"] = meta["alpha"]
    return record or None


def settings_to_match(record: dict[str, Any] | None, settings: dict[str, Any], fields: Any) -> dict[str, Any]:
    """The data settings ``had score`` adds so that a scene is read as the model's was at fit (`record`:
    :func:`record_of`), where the user gave none of them and the scene's source takes them (`fields`: its
    config's field names). Empty when nothing is to add. ``bands`` holds only for a file with as many bands as
    the model's had (:func:`same_file_bands`). A model that recorded the names of its bands gets them by name
    (``bands=names:Cu,Zn``: :func:`bands_by_name`), in whatever order the scored file holds them, a file lacking
    one refused (was: the record's band numbers, which in a stack of another order are other elements)."""
    if not record:
        return {}
    added: dict[str, Any] = {}
    if "bands" not in settings and "bands" in fields:
        if record.get("band_names"):
            added["bands"] = BY_NAME + ",".join(record["band_names"])
        elif "bands" in record:
            added["bands"] = record["bands"]
    if record.get("nodata_any_band") and "nodata_any_band" not in settings and "nodata_any_band" in fields:
        added["nodata_any_band"] = True
    if record.get("alpha") and "alpha" not in settings and "alpha" in fields:
        added["alpha"] = record["alpha"]
    for key, value in (record.get(TILING) or {}).items():  # the tiles cut as at fit; a setting given wins
        if key not in settings and key in fields:
            added[key] = value
    return added


def tiling_remedy(record: dict[str, Any] | None, fitted: tuple[int, ...]) -> str | None:
    """How to cut a raster's tiles to the size a model of images ``(C, h, w)`` `fitted` takes: the tiling its
    record holds (:func:`record_of`), or (a model saved without one) the tile size its images had; None where
    no ``tile_size`` gives that size (images that are not square)."""
    tiling = {k: v for k, v in ((record or {}).get(TILING) or {}).items() if k in ("tile_size", "stride")}
    if not tiling:
        height, width = (int(v) for v in fitted[-2:])
        if height != width:
            return None
        tiling = {"tile_size": height}
    return "cut the tiles as at fit: " + " ".join(f"--data {k}={v}" for k, v in tiling.items())


def same_file_bands(record: dict[str, Any], meta: dict[str, Any]) -> bool:
    """Whether a scene read with the record's ``bands`` (`meta`) comes from a file of as many bands as the
    model's: the same sensor's layout, where the record's band numbers mean the same bands; or, for a model that
    recorded its bands' names, whether the bands read are those names in the model's order, in a file of any band
    count (was: the band count alone, so a stack holding the elements among others was read whole)."""
    if record.get("band_names"):
        names = meta.get("band_names") or []
        return [_name_key(n) if n else None for n in names] == [_name_key(n) for n in record["band_names"]]
    return "bands" not in record or meta.get("file_bands") == record["of"]
