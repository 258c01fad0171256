"""Entry point of the `had` plugin: registers ``bs3lnet`` by "module:Class" string (no torch import here)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_detectors(register):
    register("bs3lnet", "had_bs3lnet.detector:BS3LNet",
             summary="BS3LNet (Gao et al., TGRS 2023): blind-spot self-supervised reconstruction of one scene")
