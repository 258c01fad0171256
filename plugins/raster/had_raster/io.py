"""Reading multichannel rasters ``(H, W, C)`` and masks ``(H, W)`` from GeoTIFF, ``.mat``, ``.npy`` and ``.npz``.

A TIFF of one image goes through rasterio (GDAL reads every compression GeoTIFFs use; the bands come first, so
`band_axis` does not apply); a TIFF of several pages through `tifffile` as a stack. Otherwise the channel axis is
found by `band_axis`: ``"last"`` (``(H, W, C)``, the GeoTIFF "contig" layout), ``"first"`` (``(C, H, W)``,
the "separate" planar layout and multi-page stacks), or ``"auto"``: the smallest axis is the channel axis
(rasters are larger than their channel count). A 2-D array is one channel. Only the pixel values are read
here; :mod:`had_raster.geotiff` reads the transform and CRS (rasterio) into the dataset's ``meta``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from had.datadir import expand_home, regular_file
from had.errors import DataFileError, InvalidInputError

TIFF_SUFFIXES = (".tif", ".tiff")
BandAxis = Literal["auto", "first", "last"]


def _read_tiff(path: Path) -> tuple[np.ndarray, BandAxis | None]:
    """A TIFF's pixels and their band axis: one image through rasterio (GDAL: every compression a GeoTIFF uses,
    bands first), a file of several pages through tifffile as a stack (its axes as tifffile gives them: None; pages
    written one at a time: one band each, :func:`_pages_as_bands`)."""
    from rasterio.errors import RasterioIOError

    from had.maps import open_raster

    try:
        with open_raster(path) as source:
            if len(source.subdatasets) <= 1:
                return source.read(), "first"
    except RasterioIOError as exc:
        raise DataFileError(f"{path} is corrupt or not a TIFF file: {exc}") from None
    except Exception as exc:  # GDAL failing on the pixels of a damaged file
        raise DataFileError(f"{path}: the pixels cannot be read ({type(exc).__name__}: {exc})") from None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = [np.asarray(s.asarray()) for s in tif.series]
    except Exception as exc:
        raise DataFileError(f"{path}: its pages cannot be read as one stack ({type(exc).__name__}: {exc})") from None
    if len(series) == 1:
        return series[0], None
    return _pages_as_bands(path, series), "first"


def _pages_as_bands(path: Path, series: list[np.ndarray]) -> np.ndarray:
    """Pages written one at a time (one tifffile series each: always so where their data types or sizes differ) as
    the bands of one raster, in their order, in the data type that holds them all (uint8, int16 and float32 pages:
    float32). Was: ``tifffile.imread`` read the first series alone, and a 4-band stack was fitted on its first band
    unsaid. Pages of other sizes, or that are not one band each, are refused."""
    shapes = sorted({page.shape for page in series})
    if len(shapes) > 1 or len(shapes[0]) != 2:
        said = ", ".join("x".join(map(str, shape)) for shape in shapes[:4])
        raise DataFileError(f"{path} holds {len(series)} images (TIFF pages) of shapes {said}: had reads pages as the "
                            "bands of one raster only where each is one band of the same height and width; write "
                            "the bands as one image (rasterio with count=bands, or tifffile.imwrite(path, cube, "
                            "planarconfig='separate')) or save the cube as .npy")
    return np.stack(series).astype(np.result_type(*series), copy=False)


def _read_any(path: Path, key: str | None) -> np.ndarray:
    path = regular_file(path, "raster file")
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        array, axis = _read_tiff(path)
        return array[0] if axis == "first" and array.shape[0] == 1 else array  # one band: (H, W)
    if suffix == ".npy":
        from had.matfile import read_npy

        return read_npy(path)
    if suffix in (".mat", ".npz"):
        from had.matfile import list_keys, read_arrays

        if key is None:
            keys = list_keys(path)
            if len(keys) != 1:
                raise DataFileError(f"{path} holds keys {sorted(keys)}; pass the key of the raster")
            key = keys[0]
        return read_arrays(path, [key])[key]
    raise DataFileError(f"{path}: unsupported raster type {suffix!r}; use .tif/.tiff, .mat, .npy or .npz")


def as_hwc(array: np.ndarray, band_axis: BandAxis = "auto", what: str = "raster") -> np.ndarray:
    """`array` as a float64 ``(H, W, C)`` raster (see the module docstring for `band_axis`). NaN (no-data
    pixels) stays, for the caller to mask; an infinite value is refused."""
    array = np.asarray(array)
    if array.ndim > 3:  # (C, H, W, 1) and the like; a 3-D array keeps its axes ((1, H, W) is one band, not (H, W))
        array = np.squeeze(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise InvalidInputError(f"{what} has shape {array.shape}; expected (H, W), (H, W, C) or (C, H, W)")
    if band_axis == "auto":
        band_axis = "first" if int(np.argmin(array.shape)) == 0 and array.shape[0] < array.shape[2] else "last"
    if band_axis == "first":
        array = np.moveaxis(array, 0, -1)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InvalidInputError(f"{what} has dtype {array.dtype}; expected real numbers")
    array = array.astype(np.float64)
    if np.isinf(array).any():
        raise InvalidInputError(f"{what} holds {int(np.isinf(array).sum())} infinite value(s); fill them first")
    return array


def read_raster(path: str | Path, key: str | None = None, band_axis: BandAxis = "auto") -> np.ndarray:
    """A raster file as float64 ``(H, W, C)``. `key`: the array name in a ``.mat``/``.npz`` file."""
    path = expand_home(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        array, axis = _read_tiff(regular_file(path, "raster file"))
        return as_hwc(array, axis or band_axis, what=str(path))  # one image: bands first, whatever `band_axis` says
    return as_hwc(_read_any(path, key), band_axis, what=str(path))


def read_mask(path: str | Path, key: str | None = None) -> np.ndarray:
    """A mask file as an int8 0/1 ``(H, W)`` array (1 where the stored value is > 0)."""
    path = expand_home(path)
    mask = np.squeeze(_read_any(path, key))
    if mask.ndim != 2:
        raise InvalidInputError(f"mask {path} has shape {mask.shape}; expected (H, W)")
    return (np.asarray(mask) > 0).astype(np.int8)
