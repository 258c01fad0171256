"""``npy-file``: a bare array in numpy's own ``.npy`` format, the one data file the core reads itself.

The core's plugin (:mod:`had.builtins`) registers this source and claims ``.npy`` paths through the
``source_for_path`` hook, as data plugins claim theirs, so one path works the same in ``had fit``, ``had bench``,
``had score`` and :func:`had.load_dataset`. It is the core's because a deployment host that has only ``had`` and
onnxruntime (no torch, no data plugin) must still score a bare array, and ``.npy`` needs nothing but numpy, which
``had score -o`` also writes. A plugin that claims ``.npy`` files itself is asked first (pluggy asks later
registrations first) and wins.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .cubeview import view_scene
from .data import DataSource, DataSourceConfig, Dataset
from .datadir import expand_home
from .errors import ConfigError
from .matfile import npy_header, read_npy
from .truth import OptionalName

SUFFIX = ".npy"


class NpyFileConfig(DataSourceConfig):
    path: str = Field(..., description="a .npy array: rows (N, D), a cube (H, W, B) or images (N, C, H, W)")
    labels: OptionalName = Field(None, description="a second .npy holding the ground truth, 0 normal / 1 anomaly: "
                                 "(N,) for rows and images, (H, W) for a cube; default: none")
    bands: str | int | None = Field(None, description="a cube's bands to use, 1-based ranges such as 1-100,120-150 "
                                    "(leave out a band that was never measured); default: every band (the model "
                                    "records it: had score repeats it)")


class NpyFile(DataSource):
    """Your own array saved with ``numpy.save`` (never unpickled), with optional ground truth beside it."""

    name = "npy-file"
    Config = NpyFileConfig

    @property
    def default_protocol(self) -> str:  # type: ignore[override]
        """``adbench`` for rows ``(N, D)``, as for a CSV or ``.mat`` table (was: transductive, so the same rows
        as a ``.npy`` were measured on the data they were fitted on); ``one-class`` for images ``(N, C, H, W)``
        with ``labels`` (split per class by :func:`had.protocols.one_class`; was: transductive, fitted on every
        image and measured on the same ones); ``transductive`` for a cube and for images without labels. The
        shape comes from the file's header alone; a file whose header cannot be read is the load's to report."""
        try:
            with open(expand_home(self.config.path), "rb") as fh:
                shape = npy_header(fh)[0]
        except (OSError, ValueError, SyntaxError):
            return "transductive"
        if len(shape) == 4 and self.config.labels:
            return "one-class"
        return "adbench" if len(shape) == 2 else "transductive"

    def load(self) -> Dataset:
        path = expand_home(self.config.path)
        labels = self.config.labels
        meta = {"path": str(path)}
        if labels:
            meta["labels"] = str(expand_home(labels))
        X = read_npy(path)
        if self.config.bands is not None:  # the fix had's notes give for a band never measured (was: refused)
            if X.ndim != 3:
                raise ConfigError(f"bands: {path.name} holds a {X.ndim}-D array {tuple(X.shape)}, and bands selects "
                                  "the bands of a cube (H, W, B); select its columns with numpy and save it again")
            X, meta = view_scene(X, meta, path.stem, bands=self.config.bands)
        return Dataset(path.stem, X, read_npy(expand_home(labels)) if labels else None, meta=meta)


def claims(path: str) -> bool:
    """True for a ``.npy`` path (any case)."""
    return Path(path).suffix.lower() == SUFFIX
