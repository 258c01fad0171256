"""What the training-fingerprint tests share: a detector fitted by ``Detector.fit`` itself and the note's words."""

from __future__ import annotations

import numpy as np

from had.detector import Detector

ON_TRAINING = "the metrics are on training data"


class Zeros(Detector):
    """A detector fitted by ``Detector.fit`` itself (not RX's one-pass fit)."""

    name = "zeros"
    kinds = ("tabular", "cube")

    def _fit(self, X, y):
        return None

    def _score(self, X):
        return np.zeros(np.shape(X)[:2] if np.ndim(X) == 3 else np.shape(X)[:1])
