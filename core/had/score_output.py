"""Where ``had score -o PATH`` puts the scores: the format follows the suffix.

``.csv``: one row per sample (``index,score``) or per pixel of a map (``row,col,score``), with a ``label``
column when the data has ground truth, readable by any script or spreadsheet. ``.npy``: the scores array as it
is. ``.tif``/``.tiff``: a GeoTIFF map, written tile by tile by :mod:`had.score_file`. Any other suffix is an
error raised before anything is scored.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np

from .artifact import OWN_FILES_ONLY, artifact_above
from .atomic import check_writable, file_in_the_way
from .errors import InvalidInputError
from .maps import TIFF_SUFFIXES

CSV_SUFFIX = ".csv"
NPY_SUFFIX = ".npy"
OUTPUT_SUFFIXES = (CSV_SUFFIX, NPY_SUFFIX, *TIFF_SUFFIXES)


def check_not_an_input(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[str],
                       fix: str = "name another file") -> None:
    """:class:`InvalidInputError` when an output (``(what, path)``, e.g. ``("-o", "map.tif")``) is one of the
    `inputs` files (the same file, through any link): the map would replace the data it is scored from. Checked
    before anything is scored, one ``stat`` per file; `inputs` that are dataset names, not files, are skipped."""
    files = {}
    for spec in inputs:
        if os.path.isfile(spec):
            info = os.stat(spec)
            files[(info.st_dev, info.st_ino)] = spec
    for what, path in outputs:
        if not path or not os.path.exists(path):
            continue
        info = os.stat(path)
        spec = files.get((info.st_dev, info.st_ino))  # os.path.samefile's test
        if spec is not None:
            raise InvalidInputError(f"{what} {path} is the input file {spec}: writing the scores there would "
                                    f"replace the data; {fix}")


def setting_files(settings: dict | None) -> list[str]:
    """The files that data settings name (``--data map_path=targets.tif``): inputs as much as the scene is, so
    no output may replace them (:func:`check_not_an_input`)."""
    return [value for value in (settings or {}).values() if isinstance(value, str) and os.path.isfile(value)]


#: how an existing output file is kept, and how to replace it
REPLACED_ONLY = "had replaces a file only with --overwrite"
KEPT = f"{REPLACED_ONLY} (nothing was scored)"


def check_outputs(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[str], model: str | Path,
                  fix: str = "name another file", *, files: bool = True, replace: bool = True,
                  keep_fix: str = "", maybe: Iterable[str] = ()) -> dict[str, str]:
    """Every check on where ``had score`` writes, before anything is scored: no output is an input file
    (:func:`check_not_an_input`), none lies in the MODEL's artifact folder (a map there would replace its
    weights or manifest, or leave a file in it that a later save refuses to delete), and no two outputs are the
    same file (``-o map.tif --png map.tif``: the quicklook would replace the map); none lies below a file, and
    with `files` (outputs that are files) none is a folder (the rename at the end would fail, after the scoring),
    without it (outputs that are folders, ``--out``) none is a file. Without `replace` (``had score`` without
    ``--overwrite``) none is an existing file: a typo or a tab completion (``-o scene.npy`` for ``-o
    scores.npy``) would otherwise replace a file of the user's; `keep_fix` ends that message. Of `maybe`, outputs
    that are written or not as their input turns out (``had score --out``'s ``NAME.tif`` or ``NAME.npy``), an
    existing one is not refused here: returned, ``{path: message}``, for its writer to refuse
    (:func:`had.maps.scoring`; was: a table's map refused for a ``NAME.tif`` it would never write)."""
    outputs = [(what, path) for what, path in outputs if path]
    maybe = {os.path.abspath(path) for path in maybe if path}
    kept: dict[str, str] = {}
    for what, path in outputs:
        if files and os.path.isdir(path):
            raise InvalidInputError(f"{what} {path} is a folder, not a file; {fix}")
        if not files and os.path.exists(path) and not os.path.isdir(path):
            raise InvalidInputError(f"{what} {path} is a file, not a folder; {fix}")
        blocker = file_in_the_way(path)
        if blocker is not None:
            raise InvalidInputError(f"{what} {path} is inside {blocker}, which is a file; {fix}")
    check_not_an_input(outputs, inputs, fix)
    artifact = Path(model).resolve()
    seen: dict[Path, str] = {}
    for what, path in outputs:
        where = Path(path).resolve()
        if where == artifact or artifact in where.parents:
            raise InvalidInputError(f"{what} {path} is inside the model folder {model}: writing there would change "
                                    "the saved model; write the scores outside it")
        # another model's folder (was: written there, and that model could no longer be exported or replaced)
        if (other := artifact_above(where)) is not None:
            raise InvalidInputError(f"{what} {path} is inside the saved model {other}, {OWN_FILES_ONLY}; write the "
                                    "scores outside it")
        if where in seen:
            raise InvalidInputError(f"{seen[where]} and {what} both name {path}: the second would replace the "
                                    "first; give each its own file")
        seen[where] = what
    for what, path in outputs:
        if files and not replace and os.path.lexists(path):
            if os.path.abspath(path) in maybe:
                kept[path] = f"{path} exists; {REPLACED_ONLY}{keep_fix}"  # said on its input's line
                continue
            raise InvalidInputError(f"{what} {path} exists; {KEPT}{keep_fix}")
    for what, path in outputs:
        check_writable(path, folder=not files)
    return kept


def output_format(path: str | Path, *, tiled: bool = False) -> str:
    """``csv``, ``npy`` or ``tif`` from the suffix of `path`; :class:`InvalidInputError` for any other, and for
    CSV when the scene is scored tile by tile (`tiled`: its map goes to disk as it is scored)."""
    suffix = Path(path).suffix.lower()
    if suffix == CSV_SUFFIX:
        if tiled:
            raise InvalidInputError(f"-o {path}: this scene is scored tile by tile into a map on disk; "
                                    "write it to a .tif (GeoTIFF) or .npy file")
        return "csv"
    if suffix == NPY_SUFFIX:
        return "npy"
    if suffix in TIFF_SUFFIXES:
        return "tif"
    raise InvalidInputError(f"-o {path}: unknown output type {suffix or '(no suffix)'!r}; "
                            f"name the file with one of {', '.join(OUTPUT_SUFFIXES)}")


#: rows of a score CSV formatted at once (:func:`write_scores_csv`): about 40 MB of text
CSV_ROWS = 1 << 20


def write_scores_csv(fh: BinaryIO, scores: np.ndarray, labels: np.ndarray | None = None,
                     files: list[str] | None = None) -> None:
    """The CSV of per-sample scores ``(N,)`` or of a map ``(H, W)`` (one row per pixel, row-major) into the
    binary file `fh`, :data:`CSV_ROWS` rows at a time (a table of millions of rows is never one string).
    `files`: one name per sample (an image folder's relative paths), written in a ``file`` column after the
    index, quoted where they need it, so a score joins to its file."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim not in (1, 2):
        raise InvalidInputError(f"scores of shape {scores.shape} have no CSV layout (expected (N,) or (H, W)); "
                                "write them to a .npy file instead")
    if files is not None and scores.ndim == 1 and len(files) == scores.size:
        _write_named_csv(fh, scores, labels, files)
        return
    header = ["index"] if scores.ndim == 1 else ["row", "col"]
    header.append("score")
    fmt = ["%d"] * (scores.ndim) + ["%.9g"]
    flat = scores.reshape(-1)
    if labels is not None:
        header.append("label")
        fmt.append("%d")
        labels = np.asarray(labels).reshape(-1)
    fh.write((",".join(header) + "\n").encode())
    width = scores.shape[1] if scores.ndim == 2 else 1
    for start in range(0, flat.size, CSV_ROWS):
        index = np.arange(start, min(start + CSV_ROWS, flat.size))
        columns = [index] if scores.ndim == 1 else [index // width, index % width]
        columns.append(flat[index])
        if labels is not None:
            columns.append(labels[index].astype(np.int64))
        buf = io.StringIO()
        np.savetxt(buf, np.column_stack(columns), fmt=fmt, delimiter=",")
        fh.write(buf.getvalue().encode())


def _write_named_csv(fh: BinaryIO, scores: np.ndarray, labels: np.ndarray | None, files: list[str]) -> None:
    """:func:`write_scores_csv` with a ``file`` column (Python's csv module quotes a name holding a comma)."""
    import csv

    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["index", "file", "score"] + (["label"] if labels is not None else []))
    flat = None if labels is None else np.asarray(labels).reshape(-1).astype(np.int64)
    for i, (name, score) in enumerate(zip(files, scores.tolist())):
        writer.writerow([i, name, f"{score:.9g}"] + ([int(flat[i])] if flat is not None else []))
    text.flush()
    text.detach()  # `fh` stays open: its owner (had.atomic.writing) closes and renames it


def write_scores(path: str | Path, scores: np.ndarray, labels: np.ndarray | None = None,
                 files: list[str] | None = None) -> None:
    """Write in-memory scores to `path` as CSV (in pieces) or ``.npy``, whole or not at all
    (:func:`had.atomic.writing`); GeoTIFF maps go through :func:`had.score_file.score_to_map`. `files`: a name
    per sample for the CSV's ``file`` column (:func:`write_scores_csv`)."""
    from .atomic import writing

    kind = output_format(path)
    if kind not in ("csv", "npy"):
        raise InvalidInputError(f"-o {path}: a GeoTIFF map is written from a scene scored tile by tile")
    with writing(path) as fh:
        if kind == "csv":
            write_scores_csv(fh, scores, labels, files)
        else:
            np.save(fh, np.asarray(scores))
