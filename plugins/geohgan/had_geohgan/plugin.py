"""Entry point of the `had` plugin: registers ``geohgan`` by "module:Class" string (torch is not imported here)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_detectors(register):
    register("geohgan", "had_geohgan.detector:GeoHgan",
             summary="Geo-Hgan: AE + latent GAN + sample WGAN-GP (CBAM critic), GAN-guided encoder; tiles (N, C, h, w)")
