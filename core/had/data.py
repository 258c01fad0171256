"""The :class:`Dataset` value and the :class:`DataSource` interface.

A data source is a named, configurable loader returning a :class:`Dataset`. Splits and protocols
(train/test, known labels) are functions of :mod:`had.protocols`, shared by every data plugin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from . import validation
from .config import HadConfig, build_config


@dataclass(frozen=True)
class Dataset:
    """Data, ground truth and metadata.

    X: rows ``(N, D)``, a cube ``(H, W, B)`` or images ``(N, C, H, W)``.
    y: ground truth, 0 = normal, 1 = anomaly: ``(N,)``, or ``(H, W)`` for a cube; None if unknown.
    known: semi-supervised labels for fit (1 known anomaly, -1 known normal, 0 unlabeled), or None.
    classes: the original class of each sample where there is one (MNIST digits), else None.
    meta: citation, source address, sha256, default protocol, anything a plugin wants to say.
    """

    name: str
    X: np.ndarray
    y: np.ndarray | None = None
    known: np.ndarray | None = None
    classes: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # lazy: an integer line read from a file holds no NaN and stays on disk (was: converted whole to float64 to
        # be checked, 4x an int16 file's size in memory, by had.load_dataset)
        # a scene's pixels that are NaN in every band pass (fill outside a survey's area or a swath): the detector
        # that fits it refuses them unless its nodata is NaN, and says so (the load had refused them first, so
        # `--set nodata=nan`, the fix it gives, could never take effect on a file)
        fill = float("nan") if np.ndim(self.X) == 3 else None
        validation.check_array(self.X, what=f"dataset {self.name!r}", lazy=True, fill=fill)
        if self.y is not None:
            validation.check_truth(self.y, self.X, what=f"ground truth of {self.name!r}")
        if self.known is not None:
            validation.check_known(self.known, self.X)

    @property
    def kind(self) -> str:
        return validation.kind_of(self.X)

    @property
    def n_samples(self) -> int:
        return validation.n_samples(self.X)

    @property
    def n_anomalies(self) -> int | None:
        return None if self.y is None else int(np.sum(self.y))

    def subset(self, index: np.ndarray, name: str | None = None, **changes: Any) -> "Dataset":
        """Rows/images `index` of a tabular or image dataset (not a cube)."""
        if self.kind == "cube":
            raise ValueError("a cube cannot be subset by sample index")
        return replace(
            self,
            name=name or self.name,
            X=self.X[index],
            y=None if self.y is None else self.y[index],
            known=None if self.known is None else self.known[index],
            classes=None if self.classes is None else self.classes[index],
            **changes,
        )

    def __repr__(self) -> str:
        """Shapes and dtypes, never the arrays themselves (a scene's repr would print millions of numbers)."""
        def array(a: np.ndarray | None) -> str:
            return "None" if a is None else f"<{a.dtype} {'x'.join(str(s) for s in a.shape) or 'scalar'}>"

        meta = ", ".join(sorted(self.meta)) if self.meta else ""
        return (f"Dataset(name={self.name!r}, kind={self.kind!r}, X={array(self.X)}, y={array(self.y)}, "
                f"known={array(self.known)}, classes={array(self.classes)}, meta keys=[{meta}])")

    def describe(self) -> str:
        shape = "x".join(str(s) for s in self.X.shape)
        anomalies = "" if self.y is None else f", {self.n_anomalies} anomalies"
        return f"{self.name}: {self.kind} {shape}{anomalies}"


class DataSourceConfig(HadConfig):
    """Fields every data source has (none yet; plugins add theirs)."""


class DataSource(ABC):
    """A named, configurable loader. Subclasses set `name`, `Config`, `kind` and implement `load`."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[DataSourceConfig]] = DataSourceConfig
    kind: ClassVar[str] = "tabular"
    summary: ClassVar[str] = ""
    #: protocol `had bench` uses by default: "transductive" (scenes), "adbench" or "deepsad" (tables)
    default_protocol: ClassVar[str] = "transductive"

    def __init__(self, config: Any = None, **overrides: Any):
        self.config = build_config(self.Config, f"data source {self.name or type(self).__name__}", config, **overrides)

    @abstractmethod
    def load(self) -> Dataset:
        """Read (and verify) the data; return a Dataset."""

    def score_map(self, dataset: Dataset, scores: np.ndarray) -> np.ndarray | None:
        """Per-sample scores as an ``(H, W)`` picture, where samples have places (tiles of a raster);
        None otherwise. `had bench` writes it as a heat map beside :meth:`truth_map`."""
        return None

    def truth_map(self, dataset: Dataset) -> np.ndarray | None:
        """The ``(H, W)`` ground truth picture matching :meth:`score_map`, or None."""
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.config.model_dump().items())
        return f"{type(self).__name__}({fields})"
