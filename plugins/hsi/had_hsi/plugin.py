"""Entry point of the `had` plugin: registers every known scene, ``hsi-file`` and ``envi-file`` by "module:Class"
string, and claims ENVI paths (``.hdr``, or a data file with its header beside it) for ``envi-file``.

Light on purpose: it imports only the scene table, never the loaders (scipy) or the data.
"""

from __future__ import annotations

from pathlib import Path

from had import hookimpl

from .scenes import SCENES

_SCENE_TARGET = "had_hsi.sources:HSIScene"


@hookimpl
def register_datasources(register):
    for scene in SCENES.values():
        h, w, b = scene.shape
        summary = f"{scene.description}: {h}x{w}x{b}, {scene.n_anomalies} anomaly pixels"
        register(scene.name, _SCENE_TARGET, summary=summary, scene=scene.name)
    register("hsi-file", "had_hsi.sources:HSIFile",
             summary="a hyperspectral cube (H, W, B) and optional (H, W) map from your own .mat/.npz file")
    register("envi-file", "had_hsi.sources:ENVIFile",
             summary="an ENVI scene (.hdr with .img/.dat/.raw; BSQ, BIL, BIP), memory-mapped, wavelengths and map info kept")


@hookimpl
def source_for_path(path):
    """``envi-file`` for a ``.hdr`` file, or a data file with an ENVI header beside it."""
    path = Path(path)
    if path.suffix.lower() == ".hdr" or path.with_suffix(".hdr").is_file() or Path(f"{path}.hdr").is_file():
        return "envi-file"
    return None
