"""A command's DATASET argument: a registered dataset name, or the path of a data file.

A file goes to the plugin that claims it (``source_for_path``: ``.mat``/``.npz`` cubes and tables, ENVI ``.hdr``,
GeoTIFF; ``.npy``, a bare array, is claimed by the core's own plugin: :mod:`had.npy_source`). Known labels for a
semi-supervised detector can come beside it as a file of their own (``had fit --known``: :func:`with_known`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .datadir import expand_home


def looks_like_path(spec: str) -> bool:
    """A file (existing or not: then the message says it is missing), not a name: registered names have no
    folder and no suffix, so the core needs no list of the suffixes plugins read."""
    return os.path.lexists(spec) or os.sep in spec or bool(Path(spec).suffix)


def open_dataset(spec: str, settings: dict[str, Any] | None = None):
    """A dataset by registered name or by a file a plugin claims (``source_for_path``)."""
    from . import get_datasource, plugins

    settings = dict(settings or {})
    if spec in plugins.registry()["datasource"] or not looks_like_path(spec):  # (not had.load_dataset: its errors
        return get_datasource(spec, settings).load()  # advise settings in Python's form, the CLI's --data)
    path = data_path(spec, settings)
    from .scenefiles import open_scene, source_for_path

    if source_for_path(path, settings) is None:  # plugins claim the files they read (.hdr, .tif, .mat, .npz, .npy)
        raise unread_file_error(path)
    return open_scene(spec, settings)


def data_path(spec: str, settings: dict[str, Any] | None = None) -> Path:
    """`spec` as the path of data: a regular file, or a folder a plugin claims (``image-folder``: a folder of
    images); anything else is one DataFileError (:func:`had.datadir.regular_file`: a folder no plugin reads is
    "a folder; pass a file inside it")."""
    from .datadir import regular_file
    from .scenefiles import source_for_path

    if os.path.isdir(spec) and source_for_path(spec, dict(settings or {})) is not None:
        return expand_home(spec)
    if os.path.isdir(spec) and (error := image_folder_error(expand_home(spec))) is not None:
        raise error
    if os.path.isdir(spec):  # no plugin claims it, and it holds no images: empty, or files of other kinds
        from .catalog import READS_FILES
        from .errors import DataFileError

        kinds = ", ".join(READS_FILES["had-plugin-images"][1])
        raise DataFileError(f"{expand_home(spec)} is a folder that holds no images ({kinds}) and that no plugin reads as "
                            "data; pass a data file (a scene, a table, a raster, a .npy), or a folder of images")
    return regular_file(spec)


#: how many entries of a folder are looked at to tell a folder of images (a folder no plugin claims)
FOLDER_LOOK = 2000


def image_folder_error(folder: Path) -> "DataFileError | None":
    """The error for a folder of images that no loaded plugin claims (had-plugin-images not installed, or not
    loaded): such a folder is read by had-plugin-images, named with its ``pip install``; None for a folder without
    images among its first :data:`FOLDER_LOOK` entries (and its subfolders'), or when the plugin that reads them
    is loaded (then the folder itself is what is wrong). Was: "is a folder; pass a file inside it", which no
    image file can satisfy (a single image is read by the folder holding it)."""
    from . import plugins
    from .catalog import READS_FILES, unread_file_hint
    from .errors import DataFileError

    suffixes = READS_FILES["had-plugin-images"][1]
    seen, found = 0, None
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            seen += 1
            if Path(name).suffix.lower() in suffixes:
                found = Path(root) / name
                break
        if found is not None or seen >= FOLDER_LOOK:
            break
    if found is None:
        return None
    hint = unread_file_hint(found.suffix, plugins.registry()["datasource"])
    if hint is None:
        return None
    return DataFileError(f"{folder} is a folder of images ({found.relative_to(folder)}, ...), which no loaded plugin "
                         f"reads: {hint}")


def unread_file_error(path: Path) -> "DataFileError":
    """The error for an existing file that no installed plugin claims (``had fit``/``had score``, and
    ``had bench`` and :func:`had.load_dataset` given a path): its keys where it has some, the plugin that reads
    such files, and how to name its arrays."""
    from . import plugins
    from .catalog import READS_FILES, file_readers, is_loaded, unread_file_hint
    from .errors import DataFileError

    suffix = path.suffix.lower()
    registered = plugins.registry()["datasource"]
    if (header := envi_header_beside(path)) is not None and (hint := unread_file_hint(".hdr", registered)):
        return DataFileError(f"{path}: looks like an ENVI data file (its header {header.name} is beside it), which "
                             f"no loaded plugin reads: {hint}")
    what = f"unsupported file type {suffix!r}: no installed plugin reads it"
    if suffix in (".mat", ".npz"):
        from .matfile import list_keys

        what = f"no installed plugin reads this file (its keys are {_first_keys(sorted(list_keys(path)))})"
    if suffix in READS_FILES["had-plugin-images"][1] and "image-folder" in registered:  # images are read by the folder holding them
        return DataFileError(f"{path}: one image file; image-folder reads images by folder: give the folder holding "
                             "it (every image in it and its subfolders is read), or put this image in a folder of "
                             "its own")
    fixes = [unread_file_hint(suffix, registered)]  # the plugin that reads such files, when it is not loaded
    if fixes[0] is None or any(is_loaded(dist, registered) for dist in file_readers(suffix)):
        fixes.append("pass a data source that does (`had list datasets`) as DATASET, with --data path=FILE and "
                     "--data KEY=... naming its arrays (`had describe SOURCE`; in had bench --data FILE.KEY=..., in "
                     "Python had.load_dataset(FILE, KEY=...))")
    return DataFileError(f"{path}: {what}; {'; '.join(f for f in fixes if f)}")


#: how many of a file's keys an error lists (an .npz of 3,000 arrays made a 26 KB line)
KEYS_SHOWN = 10


def _first_keys(keys: list[str]) -> str:
    """`keys` as an error lists them: the first :data:`KEYS_SHOWN` quoted (``repr``: a key's control characters
    escaped, as a list's repr showed them), then "... and N more"."""
    listed = ", ".join(repr(k) for k in keys[:KEYS_SHOWN])
    rest = len(keys) - KEYS_SHOWN
    return f"[{listed}{f', ... and {rest:,} more' if rest > 0 else ''}]"


def envi_header_beside(path: Path) -> Path | None:
    """The ENVI header beside a data file `path` that had-plugin-hsi would read as ENVI (as its ``is_envi_path``
    tells one): ``NAME.hdr`` (ENVI's ``scene.img.hdr``), or ``STEM.hdr`` for a file without a suffix or with an
    ENVI data suffix (``.img``, ``.dat``, ``.raw``, ``.bsq``, ``.bil``, ``.bip``), either case; None otherwise."""
    from .catalog import READS_FILES

    if not path.name or path.suffix.lower() == ".hdr":
        return None
    candidates = [Path(f"{path}.hdr"), Path(f"{path}.HDR")]
    suffix = path.suffix.lower()
    if suffix == "" or (suffix in READS_FILES["had-plugin-hsi"][1] and suffix not in (".mat", ".npz")):
        candidates += [path.with_suffix(".hdr"), path.with_suffix(".HDR")]
    return next((c for c in candidates if c.is_file()), None)


def with_known(data, path: str):
    """`data` with the known labels in the file `path` (``had fit --known``): 1 known anomaly, -1 known normal,
    0 unlabelled, one per sample: ``(N,)`` for rows or images, ``(H, W)`` for a scene. The file is anything
    :func:`had.truth.read_map_file` reads (``.npy``; ``.mat``/``.npz`` with one array or one named ``known``; a
    single-band GeoTIFF or ENVI image, its no-data read as unlabelled), or for rows and images a one-column table
    (a CSV, with or without a header). LabelError or DataFileError, one line."""
    from dataclasses import replace

    import numpy as np

    from .errors import LabelError
    from .truth import ARRAY_SUFFIXES, read_map_file

    if data.known is not None and np.any(data.known):
        raise LabelError(f"{data.name} already holds known labels (its protocol draws them); drop --known, or pass "
                         "the data as a file of your own")
    shape = np.shape(data.X)
    if len(shape) != 3 and Path(path).suffix.lower() not in ARRAY_SUFFIXES and Path(path).is_file():
        from .errors import ConfigError
        from .scenefiles import open_scene

        try:  # rows' labels as a table: one column of a CSV, read as numbers whatever its header (y_key=None)
            labels = np.asarray(open_scene(str(path), {"y_key": None}).X)
        except ConfigError:  # a reader without the field (not a table)
            labels = np.asarray(open_scene(str(path)).X)
    else:
        labels = read_map_file(path, "known", what="known labels",
                               key_hint="keep the labels alone in the file, or under the key 'known'")
    expected = shape[:2] if len(shape) == 3 else shape[:1]  # a scene's (H, W) map; one per row or image
    if labels.shape != expected and not (len(shape) != 3 and labels.shape == (shape[0], 1)):
        hint = " (is it transposed?)" if labels.shape == expected[::-1] and len(expected) == 2 else ""
        raise LabelError(f"{path}: the known labels have shape {labels.shape} but {data.name} needs "
                         f"{expected}{hint}: one label per {'pixel' if len(shape) == 3 else 'sample'} "
                         "(1 known anomaly, -1 known normal, 0 unlabelled)")
    if not (labels.dtype == bool or np.issubdtype(labels.dtype, np.number)) or np.iscomplexobj(labels):
        raise LabelError(f"{path}: the known labels have dtype {labels.dtype}; use numbers 1, -1 and 0")
    return replace(data, known=labels.reshape(-1))  # Dataset checks the values (1, -1, 0 only)
