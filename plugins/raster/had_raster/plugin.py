"""Entry point of the `had` plugin: registers the raster sources by "module:Class" string (imports nothing heavy)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_datasources(register):
    register("raster-file", "had_raster.sources:RasterFile",
             summary="a multichannel raster (GeoTIFF/.mat/.npy) cut into tiles, labels from a mask or occurrence points")
    register("synthetic-geochem", "had_raster.sources:SyntheticGeochem",
             summary="seeded synthetic geochemical raster (512x512x10, 8 planted anomalies) as 64x64 tiles; no file needed")
    register("hsi-raster", "had_raster.sources:HSIRaster",
             summary="a hyperspectral scene (had-plugin-hsi) as 16x16 tiles with labels from its anomaly map")
