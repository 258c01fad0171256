"""Deep SVDD's (ICML 2018) MNIST preprocessing: global contrast normalisation with the l1 norm, then min-max scaling
with the normal class's minimum and maximum.

``global_contrast_normalise``: per image, subtract the mean of its pixels and divide by the mean absolute deviation
from it (``scale='l1'`` of the reference's ``global_contrast_normalization``). ``gcn_minmax``: then
``(x - lo) / (hi - lo)`` for every image, with ``lo`` and ``hi`` the smallest and largest value after GCN over the
*normal class's training images*: the rule that produced the per-class constants the reference hard-codes
(``min_max`` in Deep-SVDD-PyTorch ``src/datasets/mnist.py``, "pre-computed ... from train data per class").
Test images of the other classes may fall outside [0, 1], as in the reference.
"""

from __future__ import annotations

import numpy as np

def global_contrast_normalise(X: np.ndarray) -> np.ndarray:
    """Per sample of ``(N, ...)``: ``(x - mean(x)) / mean(|x - mean(x)|)`` over all its values (float32).

    A constant image (zero deviation) becomes all zeros instead of NaN."""
    flat = np.asarray(X, dtype=np.float32).reshape(X.shape[0], -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    scale = np.abs(centred).mean(axis=1, keepdims=True)
    centred /= np.where(scale > 0, scale, np.float32(1.0))
    return centred.reshape(X.shape)


def gcn_minmax(X: np.ndarray, fit_index: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """GCN of every image, then min-max scaling by the GCN range of the images `fit_index`; returns the
    scaled images and that ``(lo, hi)``."""
    gcn = global_contrast_normalise(X)
    fitted = gcn[np.asarray(fit_index, dtype=np.int64)]
    lo, hi = float(fitted.min()), float(fitted.max())
    gcn -= np.float32(lo)
    gcn /= np.float32(hi - lo if hi > lo else 1.0)
    return gcn, (lo, hi)
