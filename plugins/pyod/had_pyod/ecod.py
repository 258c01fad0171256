"""ECOD scores of each row as PyOD scores that row alone: independent of the rows scored with it.

PyOD's ``ECOD.decision_function(X)`` ranks the batch ``X`` together with the training rows: every column's
empirical CDF and skewness are those of ``train + X`` (PyOD issues 401, 426 and 604: by design, ECOD being
transductive). A row's score thus depends on the other rows of its batch, and for `had` the batch is whatever
the caller, a tile of a flight line or an HTTP request happens to hold. :func:`row_scores` gives every row the
score ``ECOD.decision_function(row[None])`` would: the ECDFs and the skewness of ``train + [row]``, computed for
all rows at once from the training columns sorted once (:class:`TrainingColumns`), to float rounding.

For a training set ``T`` of ``n`` rows and a row ``x`` (``N = n + 1``), per column ``j``:

* ``F_left = (#{t in T_j : t <= x_j} + 1) / N`` and ``F_right = (#{t >= x_j} + 1) / N`` (PyOD's ECDF counts
  ties as at most, ``column_ecdf``);
* the sign of the skewness of ``T_j + [x_j]`` from ``T_j``'s centred sums: with ``d = x_j - mean(T_j)`` and
  ``delta = d / N``, ``M2 = C2 + d**2 - N delta**2`` and ``M3 = C3 + d**3 - 3 delta (C2 + d**2) + 2 N delta**3``;
  a column scipy calls constant (``M2 / N <= (eps * mean)**2``) has skewness 0, as ``np.nan_to_num`` makes it;
* PyOD's aggregation: ``O = max(-log F_left, -log F_right, U_skew)`` with ``U_skew`` the left tail for a negative
  skew, the right tail for a positive one, their sum for zero; the score is ``sum_j O_j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TrainingColumns:
    """The training rows' columns, sorted (``(D, n)``, each row one column), and their mean and centred sums."""

    sorted: np.ndarray
    mean: np.ndarray
    c2: np.ndarray
    c3: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray) -> "TrainingColumns":
        rows = np.asarray(rows, dtype=np.float64)
        mean = rows.mean(axis=0)
        centred = rows - mean
        return cls(np.sort(rows.T, axis=1), mean, np.einsum("ij,ij->j", centred, centred),
                   np.einsum("ij,ij,ij->j", centred, centred, centred))

    @property
    def n(self) -> int:
        return int(self.sorted.shape[1])


def skew_signs(columns: TrainingColumns, values: np.ndarray) -> np.ndarray:
    """The sign (-1, 0, 1) of each column's skewness with each row added to the training rows: `values` and the
    result ``(D, m)``, a column of the data per row."""
    N = columns.n + 1
    mean, c2, c3 = (v[:, None] for v in (columns.mean, columns.c2, columns.c3))
    d = values - mean
    delta = d / N
    d2 = d * d
    m2 = c2 + d2 - N * delta * delta
    m3 = c3 + d2 * d - 3.0 * delta * (c2 + d2) + (2.0 * N) * (delta * delta * delta)
    constant = m2 / N <= (np.finfo(np.float64).eps * (mean + delta)) ** 2  # scipy.stats.skew's test
    sign = np.sign(m3)
    sign[constant] = 0.0
    return sign


def row_scores(columns: TrainingColumns, rows: np.ndarray) -> np.ndarray:
    """``(m,)`` ECOD scores of float64 `rows` ``(m, D)``, each as PyOD scores it alone against the training rows.

    Each column's values are looked up in sorted order (one ``argsort`` of the batch's column), so the binary
    searches walk the training column forwards instead of jumping about it: about 4x less time on a column of
    200,000 values that is not in the cache."""
    values = np.ascontiguousarray(np.asarray(rows, dtype=np.float64).T)  # (D, m): a data column per row
    n, N = columns.n, columns.n + 1
    at_most = np.empty(values.shape)
    at_least = np.empty(values.shape)
    for j, column in enumerate(columns.sorted):
        order = np.argsort(values[j], kind="stable")
        keys = values[j][order]
        at_most[j, order] = np.searchsorted(column, keys, side="right")
        at_least[j, order] = n - np.searchsorted(column, keys, side="left")
    left = -np.log((at_most + 1.0) / N)
    right = -np.log((at_least + 1.0) / N)
    sign = skew_signs(columns, values)
    skewed = left * -np.sign(sign - 1.0) + right * np.sign(sign + 1.0)  # PyOD's U_skew
    return np.maximum(np.maximum(left, right), skewed).sum(axis=0)
