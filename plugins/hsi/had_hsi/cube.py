"""Turning the arrays read from a file into a float64 cube ``(H, W, B)`` and a 0/1 map ``(H, W)``, with typed errors."""

from __future__ import annotations

import numpy as np
from had.errors import InvalidInputError
from had.truth import as_map  # noqa: F401  (the map's checks live in the core, for every scene reader)


def as_cube(data, what: str) -> np.ndarray:
    """`data` as a float64 ``(H, W, B)`` array; InvalidInputError for another rank or a non-numeric array."""
    X = np.asarray(data)
    if X.ndim != 3:
        hint = "; save a single-band image (H, W) as (H, W, 1)" if X.ndim == 2 else ""
        raise InvalidInputError(
            f"{what}: the cube has shape {X.shape} (rank {X.ndim}); expected a hyperspectral cube (H, W, B){hint}"
        )
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise InvalidInputError(f"{what}: the cube has dtype {X.dtype}; expected real numbers")
    return X.astype(np.float64, copy=False)
