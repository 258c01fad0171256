"""Turning the arrays read from a file into a float64 cube ``(H, W, B)`` and a 0/1 map ``(H, W)``, with typed errors."""

from __future__ import annotations

import numpy as np
from had.errors import InvalidInputError, LabelError


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


def as_map(gt, cube_shape: tuple[int, ...], what: str) -> np.ndarray:
    """The ground truth `gt` as an int64 0/1 map ``(H, W)``: 1 where ``gt > 0``; LabelError if the shape differs."""
    gt = np.asarray(gt)
    h, w = cube_shape[:2]
    if gt.shape != (h, w):
        hint = " (is it transposed?)" if gt.shape == (w, h) else ""
        if gt.shape == tuple(cube_shape[1:3]):
            hint = (f" (the cube's last two axes match the map: it is probably stored as (B, H, W); move the band "
                    f"axis last, e.g. numpy.moveaxis(cube, 0, -1), to get {gt.shape + cube_shape[:1]})")
        raise LabelError(
            f"{what}: the ground truth map has shape {gt.shape} but the cube is {h}x{w}{hint}; "
            "pass an (H, W) map matching the cube (anomaly where map > 0)"
        )
    if not (gt.dtype == bool or np.issubdtype(gt.dtype, np.number)) or np.iscomplexobj(gt):
        raise LabelError(f"{what}: the ground truth map has dtype {gt.dtype}; expected numbers (anomaly where > 0)")
    return (gt > 0).astype(np.int64)
