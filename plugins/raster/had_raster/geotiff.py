"""GeoTIFF with its georeferencing: pixels and the ``transform``/``crs`` through rasterio, and the
``geotiff-scene`` data source (a multiband GeoTIFF as a cube ``(H, W, B)`` for pixel-wise detectors such as RX).

The affine ``transform`` is kept as six numbers ``a, b, c, d, e, f`` (rasterio's order: ``x = a*col + b*row + c``,
``y = d*col + e*row + f``) and the CRS as WKT, under ``meta["transform"]`` and ``meta["crs"]``: the same keys
the ENVI reader fills, so :func:`had.maps.open_map` writes the anomaly map on the same grid. A TIFF without
georeferencing gets None for both.

A band the file marks as alpha (GDAL's colour interpretation) is read as a data band, as every band is, with a
reader note naming it: rasterio and GDAL mark band 4 of any 4-band uint8 GeoTIFF written with default options so, an
RGB+NIR stack's NIR too. The data setting ``alpha=mask`` (``geotiff-scene`` and ``raster-file`` alike:
:func:`alpha_field`, :func:`apply_alpha`) takes it as a transparency mask instead: the band is left out and the pixels
it marks transparent (alpha 0) are no-data, holding the file's nodata value in every band (NaN, then declared, where
it has none); a model fitted so records it, and ``had score`` repeats it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.cubeview import (LazyCube, bands_field, crop_truth, is_lazy, nodata_any_band_field, span_field,
                          view_scene)
from had.datadir import expand_home, sha256_of
from had.errors import ConfigError, DataFileError
from had.maps import open_raster
from had.truth import OptionalName, map_key_field, map_path_field, truth_for
from pydantic import Field

from .io import as_hwc


def _open(path: Path, pixels: bool = True):
    """The file open in rasterio; with `pixels`, a file of several pages (whose later pages rasterio, as GDAL and a
    GIS, would not read) is refused. Without, only its georeferencing is wanted (tifffile reads the stack)."""
    from rasterio.errors import RasterioIOError

    if not path.is_file():
        raise DataFileError(f"no such file: {path}")
    try:
        source = open_raster(path)
    except RasterioIOError as exc:
        raise DataFileError(f"{path} is corrupt or not a GeoTIFF: {exc}") from None
    pages = len(source.subdatasets)
    if pixels and pages > 1:  # GDAL (and a GIS) reads the first page alone: the other pages' bands would be lost unseen
        source.close()
        raise DataFileError(f"{path} holds {pages} images (TIFF pages), as tifffile writes a (bands, H, W) array "
                            "by default; had reads one image with its bands, as a GIS does: write the cube as one "
                            "image (tifffile.imwrite(path, cube, planarconfig='separate') or rasterio with "
                            "count=bands), or save it as .npy")
    return source


def georeference_of(source) -> dict[str, Any]:
    """``transform`` and ``crs`` of an open rasterio dataset (None where the file has none)."""
    transform = None if source.transform.is_identity and source.crs is None else list(source.transform)[:6]
    return {"transform": transform, "crs": None if source.crs is None else source.crs.to_wkt()}


def header_meta(source) -> dict[str, Any]:
    """What an open rasterio dataset's header says of its pixels: ``transform``, ``crs``, ``band_names``,
    ``nodata`` and ``alpha_band`` (:func:`alpha_band`; :func:`without_alpha` takes it out)."""
    return {**georeference_of(source), "band_names": list(source.descriptions), "nodata": source.nodata,
            "alpha_band": alpha_band(source)}


def alpha_band(source) -> int | None:
    """The 0-based band an open rasterio dataset marks as alpha (transparency; GDAL's colour interpretation, as
    rasterio writes an RGBA image), or None."""
    from rasterio.enums import ColorInterp

    return next((band for band, kind in enumerate(source.colorinterp) if kind == ColorInterp.alpha), None)


def read_georeference(path: str | Path) -> dict[str, Any]:
    """:func:`header_meta` of a GeoTIFF file, reading only its header."""
    with _open(expand_home(path), pixels=False) as source:
        return header_meta(source)


def read_geotiff(path: str | Path, alpha: AlphaSetting = "band") -> tuple[np.ndarray, dict[str, Any]]:
    """A GeoTIFF's bands as a float64 ``(H, W, B)`` cube and its meta: georeferencing, band names, no-data value; a
    band marked alpha read as `alpha` says (:func:`apply_alpha`)."""
    path = expand_home(path)
    with _open(path) as source:
        try:
            bands = source.read()
        except Exception as exc:
            raise DataFileError(f"{path}: the pixels cannot be read ({type(exc).__name__}: {exc})") from None
        meta = header_meta(source)
    marked = meta.get("alpha_band")
    cube, meta = apply_alpha(as_hwc(bands, "first", what=str(path)), meta, path.name, alpha)
    return cube, alpha_note(meta, marked, path.name, alpha)


#: the ``alpha`` data setting: what a band the GeoTIFF's header marks as alpha is (:func:`apply_alpha`)
AlphaSetting = Literal["band", "mask"]


def alpha_field() -> Any:
    """``alpha: AlphaSetting = alpha_field()`` in the config of a source that reads GeoTIFFs."""
    return Field("band", description="a band the GeoTIFF's header marks as alpha (transparency; rasterio and GDAL "
                 "mark band 4 of any 4-band uint8 GeoTIFF so by default, an RGB+NIR stack's NIR too): 'band' reads "
                 "it as a data band, as every band (a note says it is marked); 'mask' takes it as a transparency "
                 "mask: the band is left out and the pixels it marks transparent (alpha 0) are no-data (the model "
                 "records it: had score repeats it)")


def apply_alpha(cube: Any, meta: dict[str, Any], name: str, alpha: AlphaSetting = "band"
                ) -> tuple[Any, dict[str, Any]]:
    """`cube` ``(H, W, B)`` and `meta` (:func:`header_meta`'s keys, ``alpha_band`` taken out: it is said of the
    file) as the ``alpha`` setting reads a band the file marks as alpha: ``"band"``, as they are (the note is
    :func:`alpha_note`'s, once the bands read are known); ``"mask"``, :func:`without_alpha`, one
    :class:`ConfigError` where the file marks no band as alpha or that band is its only one. Was (f25a1b8): the
    band marked alpha always taken as a mask, so an RGB+NIR stack rasterio wrote with default options (band 4
    marked alpha) lost its NIR band, and a model fitted on its 4 bands no longer scored it."""
    marked = meta.get("alpha_band")
    meta = {key: value for key, value in meta.items() if key != "alpha_band"}
    if alpha != "mask":
        return cube, meta
    if marked is None:
        raise ConfigError(f"alpha=mask: {name} marks no band as alpha (transparency) in its header, so there is no "
                          "transparency mask to take; read its bands as they are with --data alpha=band (the "
                          "default; had score repeats alpha=mask from a model fitted with it unless given)")
    if int(cube.shape[-1]) == 1:
        raise ConfigError(f"alpha=mask: the only band of {name} is marked alpha (transparency), so with it taken as "
                          "a mask no data band is left; read it as data with --data alpha=band (the default)")
    return without_alpha(cube, meta, name, marked)


def alpha_note(meta: dict[str, Any], marked: int | None, name: str, alpha: AlphaSetting = "band") -> dict[str, Any]:
    """`meta` with the reader note on the band the file marks as alpha (`marked`, 0-based, or None) read with
    ``alpha="band"``, where it is among the bands read (``bands_kept``: :func:`had.cubeview.view_scene`): a data
    band here, which ``alpha=mask`` would take as a transparency mask (with ``alpha="mask"`` the note is
    :func:`without_alpha`'s)."""
    if alpha == "mask" or marked is None or (meta.get("bands_kept") is not None and marked not in meta["bands_kept"]):
        return meta
    said = (f"note: band {marked + 1} of {name} is marked alpha (transparency) in its header: had reads it as a data "
            "band; if it is a transparency mask, add --data alpha=mask (its band is then left out and its "
            "transparent pixels, alpha 0, are no-data)")
    return {**meta, "reader_notes": [*(meta.get("reader_notes") or ()), said]}


def without_alpha(cube: Any, meta: dict[str, Any], name: str, alpha: int) -> tuple[Any, dict[str, Any]]:
    """`cube` ``(H, W, B)`` and `meta` without the file's alpha band `alpha` (0-based): the pixels it marks
    transparent (alpha 0) hold the file's no-data value in every band (NaN where it declares none, which `meta`
    then declares), so the detectors that mask no-data leave them out; a note says so. A lazy cube stays lazy
    (:class:`AlphaMasked`), one in memory is masked now. ``alpha=mask`` (:func:`apply_alpha`)."""
    fill = math.nan if meta.get("nodata") is None else float(meta["nodata"])
    names = meta.get("band_names")
    meta = {**meta, "nodata": fill, "band_names": None if names is None else names[:alpha] + names[alpha + 1:],
            "alpha": "mask",  # recorded by had fit (had.cubeview.record_of), repeated by had score
            "reader_notes": [*(meta.get("reader_notes") or ()),
                             f"note: band {alpha + 1} of {name} is its alpha (transparency) band: had reads the other "
                             f"{cube.shape[-1] - 1} as the data and takes the pixels it marks transparent (alpha 0) "
                             f"as no-data ({fill:g} in every band)"]}
    masked = AlphaMasked(cube, alpha, fill)
    return (masked if is_lazy(cube) else np.asarray(masked)), meta


def _holds(dtype: np.dtype, value: float) -> bool:
    """Whether `dtype` holds `value` exactly (NaN: a float type)."""
    if dtype.kind in "iu":
        return value.is_integer() and np.iinfo(dtype).min <= value <= np.iinfo(dtype).max
    return dtype.kind == "f" and (math.isnan(value) or float(dtype.type(value)) == value)


class AlphaMasked(LazyCube):
    """A lazy view of a cube `base` ``(H, W, B)`` without its alpha band `alpha` (0-based), the pixels it marks
    transparent (alpha 0) at `fill` in every other band (NaN: the blocks are float); each block is masked as it is
    read, so a file read tile by tile stays so. :meth:`crop` narrows the window without reading."""

    reads_by_window = True

    def __init__(self, base: Any, alpha: int, fill: float):
        self.base, self.alpha, self.fill = base, int(alpha), float(fill)
        self.shape = tuple(int(s) for s in base.shape[:-1]) + (int(base.shape[-1]) - 1,)
        self.dtype = np.dtype(base.dtype) if _holds(np.dtype(base.dtype), self.fill) else \
            np.result_type(base.dtype, np.float32 if math.isnan(self.fill) else np.float64)  # uint8 RGBA: float32

    def __repr__(self) -> str:
        return f"AlphaMasked(shape={self.shape}, dtype={self.dtype}, alpha band {self.alpha + 1} of {self.base!r})"

    def crop(self, rows: tuple[int, int], cols: tuple[int, int]) -> "AlphaMasked":
        """Rows ``rows[0]..rows[1]-1`` and columns ``cols[0]..cols[1]-1`` (0-based, end excluded)."""
        base = (self.base.crop(rows, cols) if hasattr(self.base, "crop")
                else self.base[rows[0]:rows[1], cols[0]:cols[1]])
        return AlphaMasked(base, self.alpha, self.fill)

    def apply(self, block: Any) -> np.ndarray:
        """`block` (any leading shape, the base's bands last) without the alpha band, transparent pixels at the
        fill value (a new array: the block of a memory map is never written)."""
        block = np.asarray(block)
        out = np.delete(block, self.alpha, axis=-1).astype(self.dtype, copy=False)
        out[block[..., self.alpha] == 0] = self.fill
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        """numpy's indexing of the masked cube: the rows a key's first item picks are read (and masked) alone where
        its other items are slices, which index those rows' block as they would the cube; any other key (an
        index or a list beyond the first item, an Ellipsis, a None, a mask) reads the whole and lets numpy index
        it. Was: a row's block indexed with the rest of the key, so ``X[12, :, [2, 0]]`` gave ``(30, 2)`` where
        numpy gives ``(2, 30)`` (advanced indices split by a slice come first)."""
        key = key if isinstance(key, tuple) else (key,)
        first = key[0] if key else slice(None)
        rest = key[1:]
        if all(isinstance(item, slice) for item in rest):
            if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
                return self.apply(self.base[first])[rest]  # one row: (W, B) read
            if isinstance(first, slice) or (not isinstance(first, (bool, np.bool_)) and np.ndim(first) == 1
                                            and np.asarray(first).dtype.kind in "iu"):
                return self.apply(self.base[first])[(slice(None),) + rest]  # rows: (R, W, B) read
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.apply(self.base[:])
        return whole if dtype is None else whole.astype(dtype, copy=False)


class GeoTiffSceneConfig(DataSourceConfig):
    path: str = Field(..., description="a GeoTIFF (.tif/.tiff), one band per spectral band or element")
    map_path: OptionalName = map_path_field()
    map_key: OptionalName = map_key_field()
    bands: str | int | None = bands_field()
    nodata_any_band: bool = nodata_any_band_field()
    rows: str | int | None = span_field("rows")
    cols: str | int | None = span_field("cols")
    alpha: AlphaSetting = alpha_field()


class WindowedGeoTiff(LazyCube):
    """A GeoTIFF's pixels as a read-only ``(H, W, B)`` array read by row windows through rasterio, for files that
    cannot be memory-mapped (compressed, tiled): ``X[a:b]`` reads rows ``a..b-1`` of every band (GDAL decodes
    only the blocks they touch), so :func:`had.tiling.tiles` holds one tile, not the file. Any other index reads
    the rows it needs; ``np.asarray(X)`` reads the whole window. :meth:`crop` narrows the window without reading.
    Holds the path, not an open file, so it travels to worker processes."""

    reads_by_window = True

    def __init__(self, path: Path, shape: tuple[int, int, int], dtype: Any, offset: tuple[int, int] = (0, 0)):
        self.path, self.shape, self.dtype = Path(path), tuple(int(s) for s in shape), np.dtype(dtype)
        self.offset = (int(offset[0]), int(offset[1]))  # the window's first row and column in the file

    def __repr__(self) -> str:
        return f"WindowedGeoTiff({self.path.name}, shape={self.shape}, dtype={self.dtype}, offset={self.offset})"

    def crop(self, rows: tuple[int, int], cols: tuple[int, int]) -> "WindowedGeoTiff":
        """Rows ``rows[0]..rows[1]-1`` and columns ``cols[0]..cols[1]-1`` of this window (0-based, end excluded)."""
        return WindowedGeoTiff(self.path, (rows[1] - rows[0], cols[1] - cols[0], self.shape[2]), self.dtype,
                               (self.offset[0] + rows[0], self.offset[1] + cols[0]))

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start..stop-1`` of the window, ``(rows, W, B)`` in the file's data type."""
        from rasterio.windows import Window

        height, width, bands = self.shape
        if stop <= start:
            return np.empty((0, width, bands), dtype=self.dtype)
        try:
            with open_raster(self.path) as source:
                data = source.read(window=Window(self.offset[1], self.offset[0] + start, width, stop - start),
                                   out_dtype=self.dtype)
        except Exception as exc:  # a block that does not decode, a file changed or removed since it was opened
            raise DataFileError(f"{self.path}: rows {self.offset[0] + start}..{self.offset[0] + stop - 1} cannot be "
                                f"read ({type(exc).__name__}: {exc}); check the file") from None
        return np.ascontiguousarray(np.moveaxis(data, 0, -1))

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        # the rows asked for are read, then indexed with a first-axis key of the same kind (an integer stays an
        # integer, an index array an index array), so numpy combines it with the other keys as it would here
        if isinstance(first, (int, np.integer)):
            row = int(first) + self.shape[0] if first < 0 else int(first)
            if not 0 <= row < self.shape[0]:
                raise IndexError(f"row {first} is outside the {self.shape[0]} rows")
            return self._read(row, row + 1)[(0,) + rest]
        if not isinstance(first, slice):
            index = np.asarray(first)
            if index.ndim == 1 and (np.issubdtype(index.dtype, np.integer) or index.size == 0):
                index = index.astype(np.intp)  # rows by number (an empty list too): those rows alone
                if index.size and not (-self.shape[0] <= index.min() and index.max() < self.shape[0]):
                    raise IndexError(f"rows {index.min()}..{index.max()} are outside the {self.shape[0]} rows")
                return self._rows(index % self.shape[0])[(np.arange(index.size),) + rest]
            return np.asarray(self)[key]  # a mask or a multi-dimensional index: read whole, numpy's indexing
        start, stop, step = first.indices(self.shape[0])
        if step == 1:
            return self._read(start, max(start, stop))[(slice(None),) + rest]
        return self._rows(np.arange(start, stop, step))[(slice(None),) + rest]

    def _rows(self, picked: np.ndarray) -> np.ndarray:
        """Rows `picked` (a decimation, as a quicklook asks) read a tile's span at a time, so that holding them
        never means holding the rows between."""
        from had.tiling import rows_per_tile

        span = rows_per_tile(self.shape)
        out = np.empty((picked.size,) + self.shape[1:], dtype=self.dtype)
        order = np.argsort(picked, kind="stable")
        at = 0
        while at < picked.size:
            low = int(picked[order[at]])
            end = int(np.searchsorted(picked[order], low + span))
            out[order[at:end]] = self._read(low, int(picked[order[end - 1]]) + 1)[picked[order[at:end]] - low]
            at = end
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self._read(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype, copy=False)


class GeoTiffScene(DataSource):
    """A multiband GeoTIFF as a cube ``(H, W, B)``, its transform and CRS in ``meta``; :meth:`open` memory-maps
    uncompressed files and reads compressed or tiled ones by row windows (:class:`WindowedGeoTiff`), so
    ``had fit`` and ``had score`` read them tile by tile; :meth:`load` (``had.load_dataset``, ``had bench``)
    gives the same lazy cube, in the file's type, as the ENVI source does."""

    name = "geotiff-scene"
    Config = GeoTiffSceneConfig
    kind = "cube"
    default_protocol = "transductive"

    def _meta(self, path: Path, geo: dict[str, Any]) -> dict[str, Any]:
        return {"path": str(path), "citation": "", "url": None, **geo}

    def _truth(self, shape: tuple[int, ...], meta: dict[str, Any] | None = None):
        """The ground truth map of ``map_path`` (checked against the scene's shape and, with its `meta`, grid), or
        None."""
        if not self.config.map_path:
            return None
        return truth_for(self.config.map_path, shape, self.config.map_key, scene_meta=meta)

    def load(self) -> Dataset:
        """:meth:`open`'s scene with the file's sha256 (was: the file read whole as float64, 4x a uint16 raster's
        size, by ``had.load_dataset`` and every ``had bench`` cell)."""
        scene = self.open()
        meta = {**scene.meta, "sha256": sha256_of(expand_home(self.config.path))}
        return Dataset(scene.name, scene.X, scene.y, meta=meta)

    def _view(self, cube, meta: dict[str, Any]):
        """`cube` and `meta` with the ``bands``, ``nodata_any_band``, ``rows`` and ``cols`` settings applied
        (:mod:`had.cubeview`)."""
        cfg = self.config
        return view_scene(cube, meta, Path(meta["path"]).name, cfg.bands, cfg.nodata_any_band, cfg.rows, cfg.cols)

    def open(self):
        """A :class:`had.tiling.LazyScene`: the pixels memory-mapped ``(H, W, B)`` when the file stores them
        uncompressed (tifffile's ``memmap``), else read by row windows (:class:`WindowedGeoTiff`, as a
        :class:`had.cubeview.CubeView` so that the checks and the detectors read it tile by tile)."""
        from had.cubeview import CubeView
        from had.tiling import LazyScene

        path = expand_home(self.config.path)
        with _open(path) as source:
            geo = header_meta(source)
            shape = (source.count, source.height, source.width)
            dtype = np.result_type(*source.dtypes)
        cube = _memmap(path, shape)
        if cube is None:
            if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
                raise DataFileError(f"{path} holds {dtype} pixels; expected real numbers")
            cube = WindowedGeoTiff(path, (shape[1], shape[2], shape[0]), dtype)
        marked = geo.get("alpha_band")
        cube, geo = apply_alpha(cube, geo, path.name, self.config.alpha)
        meta = self._meta(path, geo)
        y = self._truth(cube.shape, meta)
        cube, meta = self._view(cube, meta)
        meta = alpha_note(meta, marked, path.name, self.config.alpha)
        if isinstance(cube, (WindowedGeoTiff, AlphaMasked)):
            cube = CubeView(cube)
        return LazyScene(path.stem, cube, meta, y=crop_truth(y, meta))


def _memmap(path: Path, shape: tuple[int, int, int]) -> np.ndarray | None:
    """The pixels as a read-only ``(H, W, B)`` memmap view, or None when they are compressed or not contiguous."""
    import logging

    import tifffile

    log = logging.getLogger("tifffile")  # a tag it cannot parse is logged to stderr; rasterio's read is the fallback
    level, log.level = log.level, logging.CRITICAL
    try:
        mapped = tifffile.memmap(path, mode="r")
    except (ValueError, OSError):
        return None
    finally:
        log.setLevel(level)
    count, height, width = shape
    if mapped.shape == (height, width, count):
        return mapped
    if mapped.shape == (count, height, width):
        return np.moveaxis(mapped, 0, -1)
    if mapped.shape == (height, width) and count == 1:
        return mapped[:, :, None]
    return None
