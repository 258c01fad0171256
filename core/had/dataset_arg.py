"""A command's DATASET argument: a registered dataset name, or the path of a data file.

``.mat``/``.npz`` files hold a cube with its map (read by the ``hsi-file`` source) or a table with its labels
(``table-file``); ``.npy`` is a bare array; ENVI ``.hdr`` and GeoTIFF files go to the plugin that reads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DATA_SUFFIXES = (".mat", ".npz", ".npy")


def looks_like_path(spec: str) -> bool:
    return os.path.lexists(spec) or os.sep in spec or Path(spec).suffix.lower() in DATA_SUFFIXES


def open_dataset(spec: str, settings: dict[str, Any] | None = None):
    """A dataset by registered name, or by path (.mat/.npz: a cube with data/map or a table with X/y; .npy)."""
    from . import load_dataset, plugins
    from .data import Dataset
    from .datadir import regular_file
    from .errors import DataFileError

    settings = dict(settings or {})
    if spec in plugins.registry()["datasource"] or not looks_like_path(spec):
        return load_dataset(spec, settings)
    path = regular_file(spec)
    from .scenefiles import open_scene, source_for_path

    if source_for_path(path):  # a file a plugin reads: .hdr (ENVI, memory-mapped), .tif (GeoTIFF)
        return open_scene(spec, settings)
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise DataFileError(f"{path}: unsupported file type {suffix!r}; pass a .mat, .npz, .npy, ENVI .hdr or "
                            "GeoTIFF file, or a dataset name (`had list datasets`)")
    if suffix == ".npy":
        from .matfile import read_npy

        return Dataset(path.stem, read_npy(path))
    from .matfile import list_keys

    keys = set(list_keys(path))
    source = "table-file" if ("X" in keys or "x_key" in settings) else "hsi-file"
    return load_dataset(source, {"path": str(path), **settings})
