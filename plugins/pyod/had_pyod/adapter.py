"""The adapter from a row-wise shallow model (PyOD's ``fit`` / ``decision_function``) to :class:`had.Detector`.

* Data: rows ``(N, D)``, or a cube ``(H, W, B)`` as pixel rows, scored back into an ``(H, W)`` map.
* Scores: the model's ``decision_function`` (PyOD's convention: higher = more anomalous), float64.
* Seeding: ``config.seed`` seeds numpy's global RNG (and torch's, for PyOD's deep models) before every fit and is
  passed as ``random_state`` where the model takes one.
* Artifacts: scikit-learn/PyOD models can only be serialised by pickle, which `had` never loads. The state is
  therefore the training rows (and known labels) themselves, and loading refits the model on them with the same
  config and seed, which reproduces the scores of these deterministic fits. The artifact thus contains the
  training data: keep that in mind before sharing one.
* ONNX: not exported (``onnx_unsupported`` says why).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from had.detector import Detector, as_pixels, like_input
from had.errors import InvalidInputError, PluginError

NO_ONNX = ("PyOD/scikit-learn models have no verified ONNX export in had; score them with the Python detector "
           "(the artifact refits from its stored training rows)")


def require(module: str, extra: str, detector: str) -> None:
    """A PluginError naming the extra of had-plugin-pyod that provides `module`, if it is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise PluginError(f"{detector} needs {module}, which is not installed; pip install 'had-plugin-pyod[{extra}]' "
                          "(install the CPU build of torch first: see docs/user-guide.md)")


def seed_everything(seed: int) -> None:
    """Seed numpy's global RNG and, if it is already imported, torch (PyOD's deep models use both)."""
    import sys

    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


class RowModelDetector(Detector):
    """Base of the row-wise adapters: subclasses write :meth:`_fit_rows` and :meth:`_score_rows`."""

    kinds = ("tabular", "cube")
    onnx_unsupported = NO_ONNX
    #: the fewest training rows the model accepts
    min_rows: int = 2

    @abstractmethod
    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        """Fit on float64 rows (and known labels for semi-supervised models)."""

    @abstractmethod
    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores (n,) of float64 rows, higher = more anomalous."""

    def _fit(self, X: np.ndarray, known: np.ndarray | None) -> None:
        rows = np.ascontiguousarray(as_pixels(X), dtype=np.float64)
        if rows.shape[0] < self.min_rows:
            raise InvalidInputError(f"{self.name} needs at least {self.min_rows} training rows, got {rows.shape[0]} sample"
                                    f"{'' if rows.shape[0] == 1 else 's'}")
        self.train_rows_ = rows
        self.train_known_ = None if known is None else np.asarray(known, dtype=np.int8).reshape(-1)
        seed_everything(self.config.seed)
        self._fit_rows(rows, self.train_known_)
        return None

    def _score(self, X: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(as_pixels(X), dtype=np.float64)
        return like_input(np.asarray(self._score_rows(rows), dtype=np.float64).reshape(-1), X)

    def _get_state(self) -> dict[str, np.ndarray]:
        state = {"train_rows": self.train_rows_}
        if self.train_known_ is not None:
            state["train_known"] = self.train_known_
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.train_rows_ = np.asarray(state["train_rows"], dtype=np.float64)
        known = state.get("train_known")
        self.train_known_ = None if known is None else np.asarray(known, dtype=np.int8)
        seed_everything(self.config.seed)
        self._fit_rows(self.train_rows_, self.train_known_)


class PyODDetector(RowModelDetector):
    """A PyOD model: subclasses write :meth:`make_model` from the validated config and the training rows."""

    @abstractmethod
    def make_model(self, rows: np.ndarray) -> Any:
        """An unfitted PyOD model configured from ``self.config`` (rows given for data-driven defaults)."""

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        self.model_ = self.make_model(rows)
        self.model_.fit(rows)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.model_.decision_function(rows)
