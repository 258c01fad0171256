"""Hyper-parameters chosen from the training rows alone (never from test labels).

The reference (Deep SAD's baselines) picks the RBF ``gamma`` of OC-SVM and SSAD by AUROC on 10 % of the
*labelled test set*; `had` does not. Instead:

* :func:`rbf_gamma`: ``"median"`` (default), the median heuristic ``gamma = 1 / median ||x_i - x_j||^2`` over
  pairs of (at most 2,000, seeded) training rows; ``"scale"``, scikit-learn's ``1 / (d * Var(X))``; ``"auto"``,
  ``1 / d`` (PyOD's and scikit-learn's ``gamma="auto"``); or a number.
* :func:`kde_bandwidth`: as the reference does, 5-fold ``GridSearchCV`` of the held-out log-likelihood of a
  Gaussian KDE on the training rows over ``2 ** linspace(0.5, 5, 10)`` (a seeded subsample of at most
  `max_rows` rows keeps it affordable on large tables).
"""

from __future__ import annotations

import numpy as np

REFERENCE_BANDWIDTHS = tuple(float(b) for b in 2.0 ** np.linspace(0.5, 5, 10))


def _subsample(X: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    if max_rows is None or X.shape[0] <= max_rows:
        return X
    return X[np.random.default_rng(seed).choice(X.shape[0], size=max_rows, replace=False)]


def rbf_gamma(X: np.ndarray, rule: float | str = "median", seed: int = 0) -> float:
    """The RBF kernel's gamma for rows `X` by `rule` ("median", "scale", "auto" or a positive number)."""
    if not isinstance(rule, str):
        return float(rule)
    X = np.asarray(X, dtype=np.float64)
    if rule == "auto":  # PyOD's OCSVM default spelling (was: refused, so 1/d had to be given as a number)
        return 1.0 / X.shape[1]
    if rule == "scale":
        var = float(X.var())
        return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
    if rule != "median":
        raise ValueError(f"unknown gamma rule {rule!r}; use 'median', 'scale', 'auto' or a number")
    S = _subsample(X, 2000, seed)
    S = S - S.mean(axis=0)  # distances do not move with the rows; expanded about a far offset (1e10) they cancel
    sq = np.einsum("ij,ij->i", S, S)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * S @ S.T, 0.0)
    med = float(np.median(d2[np.triu_indices(S.shape[0], k=1)])) if S.shape[0] > 1 else 0.0
    return 1.0 / med if med > 0 else 1.0


def kde_bandwidth(X: np.ndarray, grid=REFERENCE_BANDWIDTHS, folds: int = 5, max_rows: int | None = 5000,
                  seed: int = 0) -> float:
    """Gaussian KDE bandwidth maximising the `folds`-fold held-out log-likelihood on the training rows."""
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.neighbors import KernelDensity

    S = _subsample(np.asarray(X, dtype=np.float64), max_rows, seed)
    folds = max(2, min(folds, S.shape[0]))
    search = GridSearchCV(KernelDensity(kernel="gaussian"), {"bandwidth": list(grid)},
                          cv=KFold(folds, shuffle=True, random_state=seed))
    search.fit(S)
    return float(search.best_params_["bandwidth"])
