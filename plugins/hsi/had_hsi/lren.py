"""LREN's published detection maps (Jiang et al., AAAI 2021), for checking metrics and reproductions."""

from __future__ import annotations

import numpy as np
from had.datadir import locate
from had.errors import DataFileError
from had.matfile import read_arrays

from .scenes import LREN_MAPS, SCENES, UnknownSceneError


def _resolve(scene: str) -> str:
    """A registered scene name from the name or the file stem (``hydice`` or ``HYDICE_data``)."""
    if scene in LREN_MAPS:
        return scene
    for name in LREN_MAPS:
        if SCENES[name].file.relpath.endswith(f"/{scene}.mat"):
            return name
    raise UnknownSceneError(scene, list(LREN_MAPS), what="scene with a published LREN map")


def lren_published_map(scene: str) -> np.ndarray:
    """LREN's published score map of `scene` as a float64 ``(H, W)`` array (higher = more anomalous).

    The file ``hsi/lren-results/<stem>.lren-map.mat`` (key ``array``) is read from ``$HAD_DATA_DIR`` and verified.
    """
    name = _resolve(scene)
    path = locate(LREN_MAPS[name])
    scores = np.asarray(read_arrays(path, ["array"], sha256=LREN_MAPS[name].sha256)["array"], dtype=np.float64)
    expected = SCENES[name].shape[:2]
    if scores.shape != expected:
        raise DataFileError(f"{path}: the map has shape {scores.shape}, expected {expected} for scene {name!r}")
    return scores
