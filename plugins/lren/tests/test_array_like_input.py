"""LREN on an array-like that numpy functions refuse (scikit-learn's estimator checks pass such an object: it has
``__array__`` and an ``__array_function__`` that raises). Was: the fit ran, then the few-pixels note called
``np.shape`` on the raw input, a TypeError (the export probe)."""

from __future__ import annotations

import numpy as np

import had


class ArrayLike:
    def __init__(self, data):
        self.data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError("numpy functions are not for this object")


def test_lren_fits_an_array_like_numpy_functions_refuse():
    X = np.random.default_rng(0).normal(size=(60, 5))
    fitted = had.get_detector("lren", epochs=1, restarts=1, seed=0).fit(ArrayLike(X))
    plain = had.get_detector("lren", epochs=1, restarts=1, seed=0).fit(X)
    np.testing.assert_allclose(fitted.decision_function(X), plain.decision_function(X), rtol=1e-6)
