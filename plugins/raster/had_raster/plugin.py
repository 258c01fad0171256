"""Entry point of the `had` plugin: registers the raster sources by "module:Class" string (imports nothing heavy)
and claims GeoTIFF paths for ``geotiff-scene``."""

from __future__ import annotations

from pathlib import Path

from had import hookimpl


@hookimpl
def register_datasources(register):
    register("raster-file", "had_raster.sources:RasterFile",
             summary="a multichannel raster (GeoTIFF/.mat/.npy) cut into tiles, labels from a mask or occurrence points")
    register("synthetic-geochem", "had_raster.sources:SyntheticGeochem",
             summary="seeded synthetic geochemical raster (512x512x10, 8 planted anomalies) as 64x64 tiles; no file needed")
    register("hsi-raster", "had_raster.sources:HSIRaster",
             summary="a hyperspectral scene (had-plugin-hsi) as 16x16 tiles with labels from its anomaly map")
    register("geotiff-scene", "had_raster.geotiff:GeoTiffScene",
             summary="a multiband GeoTIFF as a cube (H, W, B), its transform and CRS kept for georeferenced maps")


@hookimpl
def source_for_path(path):
    """``geotiff-scene`` for ``.tif``/``.tiff`` files."""
    return "geotiff-scene" if Path(path).suffix.lower() in (".tif", ".tiff") else None
