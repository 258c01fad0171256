"""Each cell's scores, kept by ``had bench --save-scores``: what a metric, a figure or a test no grid computed needs.

``OUT/scores/<detector>/<dataset>/seed-<N>.npz`` holds ``scores`` (float64, the shape of the scored part: a
scene's (H, W) map, a table's test rows; NaN where no data), ``y`` (its truth, same shape) and ``threshold``
(the fitted detector's, NaN if it has none), written atomically as each cell finishes, beside its row of
results.csv; a failed cell has none. Names are URL-quoted (``/`` and ``.`` too), so a dataset's label
``flight-a/scene`` is one folder, never a path out of ``OUT``. Only numeric arrays: :func:`load` reads them with
``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

import numpy as np

from .atomic import write_bytes

SCORES_DIR = "scores"
_SEED_FILE = re.compile(r"seed-\d+\.npz")


def path_of(out: str | Path, detector: str, dataset: str, seed: int) -> Path:
    """Where the cell (`detector`, `dataset`, `seed`) of the grid in `out` keeps its scores."""
    return Path(out) / SCORES_DIR / _name(detector) / _name(dataset) / f"seed-{int(seed)}.npz"


def save(out: str | Path, detector: str, dataset: str, seed: int, scores: np.ndarray, truth: np.ndarray,
         threshold: float | None) -> Path:
    """Write one cell's scores, truth and threshold (atomically: a run stopped half way leaves no partial file)."""
    path = path_of(out, detector, dataset, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, scores=np.asarray(scores, dtype=np.float64), y=np.asarray(truth),
             threshold=np.float64(np.nan if threshold is None else threshold))
    return write_bytes(path, buf.getvalue())


def load(out: str | Path, detector: str, dataset: str, seed: int) -> dict[str, np.ndarray]:
    """One cell's ``scores``, ``y`` and ``threshold``, as :func:`save` wrote them."""
    with np.load(path_of(out, detector, dataset, seed), allow_pickle=False) as held:
        return {key: held[key] for key in held.files}


def remove(out: str | Path, detectors: Iterable[str], datasets: Iterable[str]) -> None:
    """Delete the score files of `detectors` x `datasets` in `out` (an earlier grid's, replaced by
    ``--overwrite``): files named ``seed-<N>.npz`` alone, then the folders left empty; anything else stays."""
    root = Path(out) / SCORES_DIR
    datasets = list(datasets)
    for detector in detectors:
        for dataset in datasets:
            folder = root / _name(detector) / _name(dataset)
            for path in folder.glob("seed-*.npz") if folder.is_dir() else ():
                if _SEED_FILE.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            for empty in (folder, folder.parent):
                with contextlib.suppress(OSError):  # not empty, or not there
                    empty.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()


def _name(label: str) -> str:
    """`label` as one file name: URL-quoted, ``/`` and ``.`` included (``..`` is ``%2E%2E``)."""
    return quote(label, safe="@+-_").replace(".", "%2E")
