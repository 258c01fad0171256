"""Turning the arrays read from a file into float64 rows ``(n, d)`` and int64 0/1 labels ``(n,)``, with typed errors."""

from __future__ import annotations

import numpy as np
from had.errors import InvalidInputError, LabelError


def as_rows(data, what: str) -> np.ndarray:
    """`data` as float64 rows ``(n, d)``; InvalidInputError for another rank or a non-numeric array."""
    X = np.asarray(data)
    if X.ndim != 2:
        hint = "; reshape a single feature (n,) to (n, 1)" if X.ndim == 1 else ""
        raise InvalidInputError(f"{what}: X has shape {X.shape} (rank {X.ndim}); expected rows (n, d){hint}")
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise InvalidInputError(f"{what}: X has dtype {X.dtype}; expected real numbers")
    return X.astype(np.float64, copy=False)


def as_labels(labels, n_rows: int, what: str) -> np.ndarray:
    """`labels` ((n,), (n, 1) or (1, n)) as int64 0/1 of shape ``(n,)``; LabelError for another length or values."""
    y = np.asarray(labels)
    if y.ndim > 2 or (y.ndim == 2 and 1 not in y.shape) or y.size != n_rows:
        raise LabelError(f"{what}: y has shape {y.shape} for {n_rows} rows; pass one 0/1 label per row, (n,) or (n, 1)")
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.number)) or np.iscomplexobj(y):
        raise LabelError(f"{what}: y has dtype {y.dtype}; expected 0 = normal, 1 = anomaly")
    y = y.reshape(-1)
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise LabelError(f"{what}: y holds values {values[:10].tolist()}; expected 0 = normal, 1 = anomaly "
                         "(convert your labels first)")
    return y.astype(np.int64)
