"""A command's DATASET argument: a registered dataset name, or the path of a data file.

A file goes to the plugin that claims it (``source_for_path``: ``.mat``/``.npz`` cubes and tables, ENVI ``.hdr``,
GeoTIFF; ``.npy``, a bare array, is claimed by the core's own plugin: :mod:`had.npy_source`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def looks_like_path(spec: str) -> bool:
    """A file (existing or not: then the message says it is missing), not a name: registered names have no
    folder and no suffix, so the core needs no list of the suffixes plugins read."""
    return os.path.lexists(spec) or os.sep in spec or bool(Path(spec).suffix)


def open_dataset(spec: str, settings: dict[str, Any] | None = None):
    """A dataset by registered name or by a file a plugin claims (``source_for_path``)."""
    from . import load_dataset, plugins
    from .datadir import regular_file
    from .errors import DataFileError

    settings = dict(settings or {})
    if spec in plugins.registry()["datasource"] or not looks_like_path(spec):
        return load_dataset(spec, settings)
    path = regular_file(spec)
    from .scenefiles import open_scene, source_for_path

    if source_for_path(path, settings) is None:  # plugins claim the files they read (.hdr, .tif, .mat, .npz, .npy)
        what = f"unsupported file type {path.suffix.lower()!r}: no installed plugin reads it"
        if path.suffix.lower() in (".mat", ".npz"):
            from .matfile import list_keys

            what = f"no installed plugin reads this file (its keys are {sorted(list_keys(path))})"
        raise DataFileError(f"{path}: {what}; pass a data source that does (`had list datasets`) as DATASET, with "
                            "--data path=FILE and --data KEY=... naming its arrays (`had describe SOURCE`)")
    return open_scene(spec, settings)
