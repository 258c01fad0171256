"""Entry point of the `had` plugin: registers every known scene and ``hsi-file`` by "module:Class" string.

Light on purpose: it imports only the scene table, never the loaders (scipy) or the data.
"""

from __future__ import annotations

from had import hookimpl

from .scenes import SCENES

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)

_SCENE_TARGET = "had_hsi.sources:HSIScene"


@hookimpl
def register_datasources(register):
    for scene in SCENES.values():
        h, w, b = scene.shape
        summary = f"{scene.description}: {h}x{w}x{b}, {scene.n_anomalies} anomaly pixels"
        register(scene.name, _SCENE_TARGET, summary=summary, scene=scene.name)
    register("hsi-file", "had_hsi.sources:HSIFile",
             summary="a hyperspectral cube (H, W, B) and optional (H, W) map from your own .mat/.npz file")
