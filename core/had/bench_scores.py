"""Each cell's scores, kept by ``had bench --save-scores``: what a metric, a figure or a test no grid computed needs.

``OUT/scores/<detector>/<dataset>/seed-<N>.npz`` holds ``scores`` (float64, the shape of the scored part: a
scene's (H, W) map, a table's test rows; NaN where no data), ``y`` (its truth, same shape) and ``threshold``
(the fitted detector's, NaN if it has none), written atomically as each cell finishes, beside its row of
results.csv; a failed cell has none. Names are URL-quoted (``/`` and ``.`` too), so a dataset's label
``flight-a/scene`` is one folder, never a path out of ``OUT``. Only numeric arrays: :func:`load` reads them with
``allow_pickle=False``.

The folders are had's own: :func:`check` refuses, before any cell, a ``scores`` entry had did not write (the
grid record's ``save_scores``), a folder on the way that is a link or a file, and a name too long for the file
system; :func:`save` and :func:`remove` never follow a link (a probe of 7 December 2026: a linked folder under
``scores/`` had ``--overwrite`` delete and overwrite files outside ``OUT``).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

import numpy as np

from .atomic import name_max, write_bytes
from .errors import ConfigError, DataFileError, flat_text

SCORES_DIR = "scores"
#: the grid record's key saying that the grid kept its cells' scores (absent: it did not)
RECORD_KEY = "save_scores"


def path_of(out: str | Path, detector: str, dataset: str, seed: int) -> Path:
    """Where the cell (`detector`, `dataset`, `seed`) of the grid in `out` keeps its scores."""
    return Path(out) / SCORES_DIR / _name(detector) / _name(dataset) / f"seed-{int(seed)}.npz"


def check(out: str | Path, detectors: Iterable[str], datasets: Iterable[str], saved: bool,
          seeds: Iterable[int] = ()) -> None:
    """:class:`ConfigError` before any cell when the grid in `out` could not keep its scores there: a ``scores``
    entry had did not write (`saved`: the folder's record says it did, :data:`RECORD_KEY`), a folder on the way
    that is a link or a file, a cell's file (of `seeds`) that is a folder, or a name longer than the file system
    takes."""
    root = Path(out) / SCORES_DIR
    if os.path.lexists(root) and not saved:
        raise ConfigError(f"{root} was not written by had bench --save-scores: the scores would go among its files; "
                          "move it, or give another --out")
    limit = name_max(Path(out))
    datasets = list(datasets)
    for detector in detectors:
        for dataset in datasets:
            for name in (_name(detector), _name(dataset)):
                if len(name.encode()) > limit:
                    raise ConfigError(f"{name[:40]}...: a scores folder's name of {len(name.encode())} bytes, more "
                                      f"than the {limit} its file system takes; give the detector or dataset a "
                                      "shorter name (a file's stem)")
            for part in _folders(path_of(out, detector, dataset, 0)):
                if _not_a_folder(part):
                    raise ConfigError(f"{part} is a link or a file, where had bench keeps the cells' scores in "
                                      "folders of its own; remove it, or give another --out")
            for seed in seeds:  # (a link there is replaced, not followed)
                path = path_of(out, detector, dataset, seed)
                if os.path.isdir(path) and not os.path.islink(path):
                    raise ConfigError(f"{path} is a folder, where had bench keeps a cell's scores; remove it, or "
                                      "give another --out")


def save(out: str | Path, detector: str, dataset: str, seed: int, scores: np.ndarray, truth: np.ndarray,
         threshold: float | None) -> Path:
    """Write one cell's scores, truth and threshold (atomically: a run stopped half way leaves no partial file),
    in folders made one at a time and never through a link."""
    path = path_of(out, detector, dataset, seed)
    for part in _folders(path):
        with contextlib.suppress(FileExistsError):
            part.mkdir()
        if _not_a_folder(part):  # made a link or a file since check(): nothing written through it
            raise ConfigError(f"{part} is a link or a file, where had bench keeps the cells' scores; nothing was "
                              "written there")
    buf = io.BytesIO()
    np.savez(buf, scores=np.asarray(scores, dtype=np.float64), y=np.asarray(truth),
             threshold=np.float64(np.nan if threshold is None else threshold))
    return write_bytes(path, buf.getvalue())


def load(out: str | Path, detector: str, dataset: str, seed: int) -> dict[str, np.ndarray]:
    """One cell's ``scores``, ``y`` and ``threshold``, as :func:`save` wrote them: a :class:`DataFileError` naming
    the file when it is not there, not a regular file in had's folders (a link is not followed), or not what
    :func:`save` writes (numbers alone, the scores and truth of one shape, one threshold)."""
    path = path_of(out, detector, dataset, seed)
    if not has(out, detector, dataset, seed):
        raise DataFileError(f"no scores kept for {detector} on {dataset} (seed {seed}) in {out}: the cell failed, "
                            f"was not run, or its grid ran without --save-scores ({path} is not there as a file "
                            "of had's, or a link)")
    try:
        with np.load(path, allow_pickle=False) as held:
            cell = {key: held[key] for key in held.files}
    except Exception as exc:  # not an npz, pickled data, a truncated zip: said as the file's fault
        raise DataFileError(f"{path} cannot be read as a cell's saved scores ({type(exc).__name__}: "
                            f"{flat_text(exc)[:120]})") from None
    if set(cell) != {"scores", "y", "threshold"} or cell["threshold"].ndim != 0 or \
            cell["scores"].shape != cell["y"].shape or not all(cell[k].dtype.kind in "biuf" for k in cell):
        raise DataFileError(f"{path} is not a cell's saved scores (had writes scores, y and threshold, numbers of "
                            "one shape and one threshold)")
    return cell


def has(out: str | Path, detector: str, dataset: str, seed: int) -> bool:
    """Whether the cell's scores are there as had keeps them: a regular file, in folders that are not links."""
    path = path_of(out, detector, dataset, seed)
    if any(_not_a_folder(part) for part in _folders(path)):
        return False
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def remove(out: str | Path, cells: Iterable[tuple[str, str, Any]]) -> None:
    """Delete the score files of `cells` (detector, dataset, seed: the rows of the results.csv being replaced by
    ``--overwrite``, of a grid that saved them), then the folders left empty; a link, a folder that is a link and
    anything else stay."""
    root = Path(out) / SCORES_DIR
    folders = set()
    for detector, dataset, seed in cells:
        with contextlib.suppress(ValueError, TypeError):
            path = path_of(out, detector, dataset, int(seed))
            if any(_not_a_folder(part) for part in _folders(path)):
                continue
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    path.unlink()
            folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        for empty in (folder, folder.parent):
            with contextlib.suppress(OSError):  # not empty, or not there
                empty.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()


def _folders(path: Path) -> tuple[Path, Path, Path]:
    """The folders on the way to a cell's file `path` (:func:`path_of`), outermost first: ``scores``, the
    detector's, the dataset's."""
    return path.parent.parent.parent, path.parent.parent, path.parent


def _not_a_folder(path: Path) -> bool:
    """Whether `path` is there as anything but a real folder (a link, to a folder or not; a file)."""
    try:
        return not stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _name(label: str) -> str:
    """`label` as one file name: URL-quoted, ``/`` and ``.`` included (``..`` is ``%2E%2E``)."""
    return quote(label, safe="@+-_").replace(".", "%2E")
