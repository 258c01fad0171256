"""GeoTIFF with its georeferencing: pixels and the ``transform``/``crs`` through rasterio, and the
``geotiff-scene`` data source (a multiband GeoTIFF as a cube ``(H, W, B)`` for pixel-wise detectors such as RX).

The affine ``transform`` is kept as six numbers ``a, b, c, d, e, f`` (rasterio's order: ``x = a*col + b*row + c``,
``y = d*col + e*row + f``) and the CRS as WKT, under ``meta["transform"]`` and ``meta["crs"]``: the same keys
the ENVI reader fills, so :func:`had.maps.open_map` writes the anomaly map on the same grid. A TIFF without
georeferencing gets None for both.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.datadir import sha256_of
from had.errors import DataFileError
from pydantic import Field

from .io import as_hwc


def _open(path: Path):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not path.is_file():
        raise DataFileError(f"no such file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as exc:
        raise DataFileError(f"{path} is corrupt or not a GeoTIFF: {exc}") from None


def georeference_of(source) -> dict[str, Any]:
    """``transform`` and ``crs`` of an open rasterio dataset (None where the file has none)."""
    transform = None if source.transform.is_identity and source.crs is None else list(source.transform)[:6]
    return {"transform": transform, "crs": None if source.crs is None else source.crs.to_wkt()}


def read_georeference(path: str | Path) -> dict[str, Any]:
    """``transform`` and ``crs`` of a GeoTIFF file, reading only its header."""
    with _open(Path(path).expanduser()) as source:
        return georeference_of(source)


def read_geotiff(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A GeoTIFF's bands as a float64 ``(H, W, B)`` cube and its meta: georeferencing, band names, no-data value."""
    path = Path(path).expanduser()
    with _open(path) as source:
        try:
            bands = source.read()
        except Exception as exc:
            raise DataFileError(f"{path}: the pixels cannot be read ({type(exc).__name__}: {exc})") from None
        meta = {**georeference_of(source), "band_names": list(source.descriptions), "nodata": source.nodata}
    return as_hwc(bands, "first", what=str(path)), meta


class GeoTiffSceneConfig(DataSourceConfig):
    path: str = Field(..., description="a GeoTIFF (.tif/.tiff), one band per spectral band or element")


class GeoTiffScene(DataSource):
    """A multiband GeoTIFF as a cube ``(H, W, B)``, its transform and CRS in ``meta`` (read whole)."""

    name = "geotiff-scene"
    Config = GeoTiffSceneConfig
    kind = "cube"
    default_protocol = "transductive"
    summary = "a multiband GeoTIFF as a cube (H, W, B), its transform and CRS kept for georeferenced maps"

    def load(self) -> Dataset:
        path = Path(self.config.path).expanduser()
        X, geo = read_geotiff(path)
        meta = {"path": str(path), "sha256": sha256_of(path), "citation": "", "url": None,
                "default_protocol": self.default_protocol, **geo}
        return Dataset(path.stem, X, meta=meta)
