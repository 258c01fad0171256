"""`had` data plugin: hyperspectral anomaly detection scenes (ABU, San Diego, HYDICE, MUUFL) and user cubes.

Usage::

    import had, had_hsi

    sorted(had_hsi.SCENES)                  # the known scene names
    data = had.load_dataset("hydice")       # reads hsi/HYDICE_data.mat from $HAD_DATA_DIR, sha256-verified
    data.X.shape, data.y.shape              # (100, 80, 162), (100, 80)
    cube = had.load_dataset("hsi-file", path="scene.npz", data_key="cube", map_key=None)

The scene table (:data:`SCENES`) is imported eagerly (it is pure data); the loaders are imported on first use.
"""

from __future__ import annotations

from typing import Any

from .scenes import LREN_MAPS, SCENES, Scene, UnknownSceneError, known_files

__version__ = "0.1.0"

__all__ = [
    "HSIFile", "HSIScene", "LREN_MAPS", "SCENES", "Scene", "UnknownSceneError", "known_files", "lren_published_map",
]

_LAZY = {"HSIScene": "sources", "HSIFile": "sources", "lren_published_map": "lren"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
