"""LREN's second stage in numpy (no torch): dictionary selection and the low-rank representation solve.

* :func:`select_atoms` picks the dictionary from the GMM memberships ``gamma`` (``N x K``), as LREN's
  ``construct_Dict`` does: for each non-empty cluster (``argmax_k gamma``) the member with the largest and the
  member with the smallest ``gamma_k``, each located as the *first row of the whole gamma matrix* holding that
  exact value (the reference's ``np.where(Gamma == value)[0][0]``), so at most ``2K`` atoms.
* :func:`lrr` solves ``min ||X||_* + lam ||E||_{2,1}  s.t.  A = B X + E`` by the linearised ADMM of LibADMM
  (Canyi Lu), with the reference's constants, fully vectorised: the l2,1 proximal step shrinks every column at
  once, and the singular value thresholding of the small ``n_atoms x N`` matrix goes through an SVD of that
  matrix (``svt="svd"``, the reference) or through the eigendecomposition of its ``n_atoms x n_atoms`` Gram
  matrix (``svt="gram"``; the same result up to rounding of singular values below ``1e-8 * s_max``).
* :func:`column_scores` is LREN's anomaly score, the l2 norm of each column of ``E``.

Everything runs in float64 (the ADMM's iterates in float32 on request: ``lrr(..., dtype=np.float32)``).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np


def first_row_holding(gamma: np.ndarray, value) -> int:
    """The first row of `gamma` with an entry exactly equal to `value` (row-major ``np.where`` order)."""
    rows = np.flatnonzero((gamma == value).any(axis=1))
    return int(rows[0])


def select_atoms(gamma: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Dictionary rows chosen from memberships `gamma` ``(N, K)`` (see the module docstring); int64 indices.

    Order: cluster 0 (largest, smallest), cluster 1 (largest, smallest), ...; empty clusters are skipped, and an
    index may repeat (a one-member cluster gives its member twice), as in the reference. `allowed` (``(N,)``
    bool, the stabilised LREN's atom exclusion): only these rows may become atoms (None: all, the reference).
    """
    gamma = np.asarray(gamma)
    if gamma.ndim != 2 or gamma.shape[0] == 0:
        raise ValueError(f"gamma must be a non-empty (N, K) matrix, got shape {gamma.shape}")
    cluster = np.argmax(gamma, axis=1)
    if allowed is not None:
        cluster = np.where(np.asarray(allowed, dtype=bool), cluster, -1)
    atoms: list[int] = []
    for k in range(gamma.shape[1]):
        members = np.flatnonzero(cluster == k)
        if members.size == 0:
            continue
        column = gamma[members, k]
        if allowed is None:
            atoms.append(first_row_holding(gamma, column.max()))
            atoms.append(first_row_holding(gamma, column.min()))
        else:  # looked up among the candidates only
            atoms.append(int(members[np.argmax(column)]))
            atoms.append(int(members[np.argmin(column)]))
    return np.asarray(atoms, dtype=np.int64)


def whitening(z: np.ndarray, floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean ``(d,)``, whitening matrix ``W`` ``(d, d)``, squared Mahalanobis distance of each row ``(N,)``) of the
    codes `z` ``(N, d)`` in float64: ``W = V diag(l^-1/2)`` from the covariance's eigendecomposition, eigenvalues
    floored at ``floor * max(l)`` so that a collapsed direction is scaled up by at most ``floor^-1/2``."""
    Z = np.asarray(z, dtype=np.float64)
    mean = Z.mean(axis=0)
    centred = Z - mean
    cov = centred.T @ centred / max(Z.shape[0] - 1, 1)
    w, V = np.linalg.eigh(cov)
    top = max(float(w.max()), np.finfo(np.float64).tiny)
    matrix = V / np.sqrt(np.maximum(w, floor * top))
    white = centred @ matrix
    return mean, matrix, np.einsum("ij,ij->i", white, white)


def principal_space(X: np.ndarray, k: int, floor: float = 1e-12,
                    axes: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows ``(N, kept)``, mean ``(B,)``, projection ``P`` ``(B, kept)``) of rows `X` ``(N, B)`` on their leading
    principal components, whitened, in float64: ``P`` holds the covariance's (ddof 1) ``min(k, B)`` leading
    eigenvectors divided by the square roots of their eigenvalues, those with an eigenvalue at most ``floor`` times
    the largest left out (``kept`` stay: a prefix, the order being descending); the rows are ``(X - mean) @ P``
    (the raw branch's space, :class:`had_lren.detector.LREN`). `axes`: (mean, P) computed before for the same `X`
    (the restarts of one fit share their pixels), so only the rows are computed. One float64 copy of `X`, centred
    in place (was two: 0.7 GB at 200,000 pixels of 224 bands)."""
    centred = np.array(X, dtype=np.float64).reshape(-1, np.shape(X)[-1])
    if axes is None:
        mean = centred.mean(axis=0)
        centred -= mean
        values, vectors = np.linalg.eigh(centred.T @ centred / max(centred.shape[0] - 1, 1))
        order = np.argsort(values)[::-1][:min(k, centred.shape[1])]
        values, vectors = values[order], vectors[:, order]
        keep = values > floor * values[0]
        projection = vectors[:, keep] / np.sqrt(values[keep])
    else:
        mean, projection = axes
        centred -= mean
    return centred @ projection, mean, projection


def shrink_columns(M: np.ndarray, tau: float) -> np.ndarray:
    """Proximal operator of ``tau * ||.||_{2,1}``: column ``c -> (1 - tau/||c||) c`` if ``||c|| > tau`` else 0."""
    norms = np.sqrt(np.einsum("ij,ij->j", M, M))
    factor = np.zeros_like(norms)
    big = norms > tau
    factor[big] = 1.0 - tau / norms[big]
    return M * factor


def svt(M: np.ndarray, tau: float, method: Literal["svd", "gram"] = "svd") -> tuple[np.ndarray, float]:
    """Singular value thresholding ``U max(S - tau, 0) V^T`` of a wide matrix `M`; returns (result, nuclear norm).

    ``"gram"``: with ``M M^T = Q diag(s^2) Q^T``, ``SVT(M) = Q diag(max(1 - tau/s, 0)) Q^T M`` (the rows of `M`
    are few, so this is one small eigendecomposition and one ``m x m`` by ``m x N`` product).
    """
    if method == "svd":
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        keep = s > tau
        if not keep.any():
            return np.zeros_like(M), 0.0
        shrunk = s[keep] - tau
        return (U[:, keep] * shrunk) @ Vt[keep], float(shrunk.sum())
    if method == "gram":
        w, Q = np.linalg.eigh(M @ M.T)
        s = np.sqrt(np.clip(w, 0.0, None))
        keep = s > tau
        if not keep.any():
            return np.zeros_like(M), 0.0
        factor = np.zeros_like(s)
        factor[keep] = 1.0 - tau / s[keep]
        return (Q * factor) @ (Q.T @ M), float((s[keep] - tau).sum())
    raise ValueError(f"unknown svt method {method!r}; use 'svd' or 'gram'")


def single_threaded_blas():
    """Limit BLAS to one thread (threadpoolctl, when installed): these matrices are thin (``d x N``, ``m x N``
    with d, m <= 14), threads buy nothing, and on a busy machine their spin-waiting costs 10-20x."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


@dataclass
class LRRResult:
    """Solution of :func:`lrr`: ``A ~= B X + E``."""

    X: np.ndarray
    E: np.ndarray
    n_iter: int
    converged: bool
    change: float
    objective: float
    seconds: float
    info: dict = field(default_factory=dict)


def lrr(A: np.ndarray, B: np.ndarray, lam: float, *, tol: float = 1e-8, max_iter: int = 500, rho: float = 1.2,
        mu: float = 1e-3, mu_max: float = 1e10, svt_method: Literal["svd", "gram"] = "svd",
        dtype: type = np.float64) -> LRRResult:
    """Low-rank representation with l2,1 error by linearised ADMM (LibADMM's ``lrr``, LREN's constants).

    `A` ``(d, N)``: the samples as columns; `B` ``(d, m)``: the dictionary atoms as columns. Iteration (from
    ``X = E = J = Y1 = Y2 = 0`` and ``P = (B^T B + I)^-1``):
    ``J = SVT(X + Y2/mu, 1/mu)``; ``E = shrink_columns(A - B X + Y1/mu, lam/mu)``;
    ``X = P (B^T (Y1/mu - E) + B^T A - Y2/mu + J)``; stop when the largest absolute change of X, E, J and the
    largest residual of ``A - BX - E`` and ``X - J`` fall below `tol` (checked before the dual update, as the
    reference does); else ``Y1 += mu (A - BX - E)``, ``Y2 += mu (X - J)``, ``mu = min(rho mu, mu_max)``.
    ``n_iter`` counts the iterations run. `dtype`: the iterates' precision (float64, the reference's; float32
    halves the memory traffic of these memory-bound passes, its rounding ~1e-7 of the scores).
    """
    with single_threaded_blas():
        return _lrr(A, B, lam, tol, max_iter, rho, mu, mu_max, svt_method, dtype)


def _lrr(A, B, lam, tol, max_iter, rho, mu, mu_max, svt_method, dtype=np.float64) -> LRRResult:
    """The iteration of :func:`lrr`, arranged so that each product and quotient is formed once per iteration
    (``Y1/mu``, ``Y2/mu``; ``B X`` of the residual is reused by the next error step) and the stopping test stops
    at the first term at or above `tol` (the full maximum is only needed when it is reported): the same
    floating-point operations on the same operands as the iteration written out in :func:`lrr`, so the same
    bits (tested against that form)."""
    t0 = time.perf_counter()
    A = np.asarray(A, dtype=dtype)
    B = np.asarray(B, dtype=dtype)
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ValueError(f"A (d, N) and B (d, m) must share d; got {A.shape} and {B.shape}")
    d, n = A.shape
    m = B.shape[1]
    X = np.zeros((m, n), dtype)
    E = np.zeros((d, n), dtype)
    J = np.zeros((m, n), dtype)
    Y1 = np.zeros((d, n), dtype)
    Y2 = np.zeros((m, n), dtype)
    BX = np.zeros((d, n), dtype)  # B @ X of the current X (X = 0)
    BtA = B.T @ A
    Bt = B.T
    P = np.linalg.inv(Bt @ B + np.eye(m, dtype=dtype))
    nuclear, change, converged, it = 0.0, np.inf, False, 0
    for it in range(1, max_iter + 1):
        X_old, E_old, J_old = X, E, J
        y1, y2 = Y1 / mu, Y2 / mu
        J, nuclear = svt(X + y2, 1.0 / mu, svt_method)
        residual = A - BX
        residual += y1
        E = shrink_columns(residual, lam / mu)
        inner = Bt @ (y1 - E)
        inner += BtA
        inner -= y2
        inner += J
        X = P @ inner
        BX = B @ X
        dY1 = A - BX
        dY1 -= E
        dY2 = X - J
        last = it == max_iter
        change = _largest_change(((X, X_old), (E, E_old), (J, J_old), (dY1, None), (dY2, None)),
                                 None if last else tol)
        if change < tol:
            converged = True
            break
        Y1 += mu * dY1
        Y2 += mu * dY2
        mu = min(rho * mu, mu_max)
    objective = nuclear + lam * float(column_scores(E).sum())
    return LRRResult(X, E, it, converged, float(change), objective, time.perf_counter() - t0,
                     {"mu": mu, "svt": svt_method})


def _largest_change(pairs, stop_at: float | None) -> float:
    """``max`` over `pairs` of ``max |a - b|`` (``max |a|`` where b is None); with `stop_at`, the first term at
    or above it is returned at once (enough to know the iteration has not converged)."""
    largest = 0.0
    for a, b in pairs:
        diff = np.abs(a - b if b is not None else a)
        largest = max(largest, float(diff.max()))
        if stop_at is not None and largest >= stop_at:
            break
    return largest


def column_scores(E: np.ndarray) -> np.ndarray:
    """LREN's score: the l2 norm of every column of the error matrix `E` ``(d, N)``."""
    return np.sqrt(np.einsum("ij,ij->j", E, E))



# ---- out-of-sample scoring ---------------------------------------------------------------------------------
@dataclass
class OutOfSampleRule:
    """LREN's low-rank stage summarised for new samples (see :func:`out_of_sample_rule`).

    basis ``(d, d)``: an orthonormal basis ``K`` of the clean subspace in its first ``rank`` columns, zeros
    after; delta ``(d,)``: the generalised eigenvalues ``delta_j`` (zeros after ``rank``); lam: LRR's lambda.
    """

    basis: np.ndarray
    delta: np.ndarray
    lam: float
    rank: int


def out_of_sample_rule(B: np.ndarray, X: np.ndarray, lam: float, rank_tol: float = 1e-6) -> OutOfSampleRule:
    """The per-sample form of the LRR optimum, from a solution ``X`` on dictionary ``B``.

    At the optimum of ``min ||X||_* + lam ||E||_2,1, A = BX + E`` with ``X = U_r S V_r^T`` (rank r), the
    optimality conditions (``B^T Y`` in the subdifferential of the nuclear norm, ``y_i = lam e_i/||e_i||``)
    decouple over columns once ``U_r`` and ``S`` are fixed: with ``M = B U_r``, each error column is
    ``e = a - M c`` with ``c = (M^T M + s S^-1)^-1 M^T a`` and ``s = ||e|| / lam``. Diagonalising ``M^T M`` and
    ``S^-1`` together (``R^T M^T M R = I``, ``R^T S^-1 R = diag(delta)``, ``K = M R`` orthonormal), the error
    norm ``q = ||e||`` of a sample ``a`` is the root of

        ``q^2 = ||a - K K^T a||^2 + sum_j (q delta_j b_j / (lam + q delta_j))^2``,  ``b = K^T a``,

    one scalar equation per sample (:func:`out_of_sample_scores`). Applied to the fitted samples it
    reproduces the solver's scores up to the solver's own convergence (tested); applied to a new sample it
    scores it as one more column of the same low-rank problem whose global structure (``U_r``, ``S``) is
    fixed by the fitted scene.
    """
    d = B.shape[0]
    U, s, _ = np.linalg.svd(np.asarray(X, dtype=np.float64), full_matrices=False)
    keep = s > rank_tol * max(float(s[0]) if s.size else 0.0, np.finfo(np.float64).tiny)
    basis = np.zeros((d, d))
    delta = np.zeros(d)
    if not keep.any():
        return OutOfSampleRule(basis, delta, float(lam), 0)
    M = np.asarray(B, dtype=np.float64) @ U[:, keep]
    s = s[keep]
    # generalised symmetric eigenproblem  (M^T M) x = mu S^-1 x  with  x^T S^-1 x = 1:  R = x / sqrt(mu)
    w = np.sqrt(s)  # S^-1 = W^-2 with W = diag(sqrt(s)):  W (M^T M) W y = mu y,  x = W y
    mu, Y = np.linalg.eigh((M * w).T @ (M * w))
    ok = mu > rank_tol * max(float(mu.max()), np.finfo(np.float64).tiny)
    R = (w[:, None] * Y[:, ok]) / np.sqrt(mu[ok])
    rank = int(ok.sum())
    basis[:, :rank] = M @ R
    delta[:rank] = 1.0 / mu[ok]
    return OutOfSampleRule(basis, delta, float(lam), rank)


def out_of_sample_scores(Z: np.ndarray, rule: OutOfSampleRule, n_iter: int = 60) -> np.ndarray:
    """Error norms ``q`` of samples `Z` ``(N, d)`` under `rule`, solved in float64 (safeguarded Newton).

    The reference implementation of what the detector's torch/ONNX graph computes in float32. At most `n_iter`
    steps; it stops early once a step leaves every ``q`` and its bracket unchanged (a fixed point: the remaining
    steps would repeat it, so the result is the same bits as running all of them).
    """
    Z = np.asarray(Z, dtype=np.float64)
    b = Z @ rule.basis
    perp = Z - b @ rule.basis.T
    p2 = np.einsum("ij,ij->i", perp, perp) if rule.rank < Z.shape[1] else np.zeros(Z.shape[0])
    delta, lam = rule.delta, rule.lam
    lo = np.sqrt(p2)
    hi = np.sqrt(p2 + np.einsum("ij,ij->i", b, b))
    q = hi.copy()
    for _ in range(n_iter):
        state = (q, lo, hi)
        den = lam + q[:, None] * delta
        t = q[:, None] * delta * b / den
        n = np.sqrt(p2 + np.einsum("ij,ij->i", t, t))
        dn = np.einsum("ij,ij->i", t, delta * b * lam / den**2) / np.where(n > 0, n, 1.0)
        psi = q - n
        hi = np.where(psi >= 0, q, hi)
        lo = np.where(psi <= 0, q, lo)
        slope = 1.0 - dn
        newton = q - psi / np.where(slope > 0, slope, 1.0)
        inside = (slope > 0) & (newton > lo) & (newton < hi)
        q = np.where(inside, newton, 0.5 * (lo + hi))
        if all(np.array_equal(new, old) for new, old in zip((q, lo, hi), state)):
            break
    # on the low-rank part and inside the subdifferential ball: the optimum's error is exactly 0
    inside_ball = np.einsum("ij,ij->i", delta * b / lam, delta * b / lam) <= 1.0
    return np.where((p2 == 0) & inside_ball, 0.0, q)
