"""The low-rank stage in numpy: proximal steps, the LRR solver on a planted problem, the closed form for new
samples, and the dictionary selection rules (methods.md section 1.5-1.6)."""

from __future__ import annotations

import numpy as np
import pytest

from had.metrics import auroc
from had_lren import lrr as L


def test_shrink_columns_is_the_l21_prox():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(4, 50))
    tau = 1.5
    got = L.shrink_columns(M, tau)
    for i in range(M.shape[1]):  # the reference's per-column loop
        n = np.linalg.norm(M[:, i])
        expected = (1 - tau / n) * M[:, i] if n > tau else np.zeros(4)
        np.testing.assert_allclose(got[:, i], expected, atol=1e-15)
    assert (np.linalg.norm(got, axis=0) == 0).sum() == (np.linalg.norm(M, axis=0) <= tau).sum() > 0


def test_svt_svd_and_gram_agree_with_the_definition():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(6, 3)) @ rng.normal(size=(3, 400)) + 0.01 * rng.normal(size=(6, 400))
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    tau = 0.5 * s[2]
    expected = (U[:, :3] * (s[:3] - tau)) @ Vt[:3]
    for method in ("svd", "gram"):
        got, nuclear = L.svt(M, tau, method)
        np.testing.assert_allclose(got, expected, atol=1e-9)
        assert nuclear == pytest.approx(float((s[:3] - tau).sum()))
    zero, nuclear = L.svt(M, 2 * s[0])
    assert not zero.any() and nuclear == 0.0


@pytest.fixture(scope="module")
def planted():
    """Columns on a 3-d subspace of R^9 plus 15 column outliers; the dictionary is 12 clean columns."""
    rng = np.random.default_rng(0)
    d, n = 9, 300
    U = np.linalg.qr(rng.normal(size=(d, 3)))[0]
    A = U @ rng.normal(size=(3, n))
    outliers = np.sort(rng.choice(n, 15, replace=False))
    A[:, outliers] += 3.0 * rng.normal(size=(d, 15))
    inliers = np.setdiff1d(np.arange(n), outliers)
    return A, A[:, inliers[:12]], U, inliers, outliers


def test_lrr_recovers_a_planted_low_rank_plus_column_sparse_split(planted):
    A, B, U, inliers, outliers = planted
    res = L.lrr(A, B, 1.0)
    assert res.converged and res.n_iter < 500
    np.testing.assert_allclose(B @ res.X + res.E, A, atol=1e-7)  # the constraint
    s = np.linalg.svd(res.X, compute_uv=False)
    assert (s > 1e-6 * s[0]).sum() == 3  # the rank of the clean part
    scores = L.column_scores(res.E)
    assert np.all(scores[inliers] < 1e-9)  # inliers: exactly no error
    off_subspace = np.linalg.norm(A - U @ (U.T @ A), axis=0)
    np.testing.assert_allclose(scores[outliers], off_subspace[outliers], rtol=0.02)
    y = np.zeros(A.shape[1], dtype=np.int8)
    y[outliers] = 1
    assert auroc(y, scores) == 1.0
    # the clean part lies in the planted subspace
    clean = B @ res.X
    np.testing.assert_allclose(clean - U @ (U.T @ clean), 0.0, atol=1e-7)


def test_gram_svt_gives_the_same_solution(planted):
    A, B, *_ = planted
    a, b = L.lrr(A, B, 0.3, svt_method="svd"), L.lrr(A, B, 0.3, svt_method="gram")
    np.testing.assert_allclose(L.column_scores(a.E), L.column_scores(b.E), rtol=1e-6, atol=1e-9)


def _objective(A, B, E, lam):
    X = np.linalg.pinv(B) @ (A - E)  # the smallest-nuclear-norm X with B X = A - E
    return np.linalg.svd(X, compute_uv=False).sum() + lam * np.linalg.norm(E, axis=0).sum()


def test_closed_form_is_the_solvers_optimum(planted):
    """Per sample, the closed form gives the error norm of the LRR optimum for the solver's low-rank structure:
    equal to a tightly converged ADMM, and no worse an objective than the reference's stopping point."""
    A, B, *_ = planted
    lam = 0.3
    reference = L.lrr(A, B, lam)  # LREN's constants
    tight = L.lrr(A, B, lam, tol=1e-12, max_iter=5000, rho=1.02)
    rule = L.out_of_sample_rule(B, reference.X, lam)
    q = L.out_of_sample_scores(A.T, rule)
    np.testing.assert_allclose(q, L.column_scores(tight.E), rtol=1e-3, atol=1e-6)
    # the error vectors of the closed form (e = a - M c) have that objective
    U, s, _ = np.linalg.svd(reference.X, full_matrices=False)
    keep = s > 1e-6 * s[0]
    M, S_inv = B @ U[:, keep], np.diag(1.0 / s[keep])
    E = np.stack([a - M @ np.linalg.solve(M.T @ M + (qi / lam) * S_inv, M.T @ a) for a, qi in zip(A.T, q)], axis=1)
    np.testing.assert_allclose(np.linalg.norm(E, axis=0), q, atol=1e-9)
    assert _objective(A, B, E, lam) <= _objective(A, B, reference.E, lam) + 1e-9


def test_closed_form_newton_converges_well_within_its_budget(planted):
    from had_lren.network import OOS_ITERATIONS

    A, B, *_ = planted
    rule = L.out_of_sample_rule(B, L.lrr(A, B, 0.05).X, 0.05)
    converged = L.out_of_sample_scores(A.T, rule, n_iter=200)
    np.testing.assert_allclose(L.out_of_sample_scores(A.T, rule, n_iter=OOS_ITERATIONS // 2), converged,
                               rtol=1e-9, atol=1e-8 * converged.max())


def test_closed_form_of_an_empty_low_rank_part_is_the_sample_norm():
    rule = L.out_of_sample_rule(np.eye(3), np.zeros((3, 10)), 0.1)
    Z = np.random.default_rng(0).normal(size=(10, 3))
    assert rule.rank == 0
    np.testing.assert_allclose(L.out_of_sample_scores(Z, rule), np.linalg.norm(Z, axis=1))


def test_dictionary_takes_largest_and_smallest_member_of_each_nonempty_cluster():
    gamma = np.array([
        [0.7, 0.2, 0.1],   # 0: cluster 0
        [0.9, 0.05, 0.05],  # 1: cluster 0, largest
        [0.5, 0.4, 0.1],   # 2: cluster 0, smallest
        [0.1, 0.8, 0.1],   # 3: cluster 1, only member
    ])
    # cluster 2 has no member: skipped; a one-member cluster gives its member twice
    np.testing.assert_array_equal(L.select_atoms(gamma), [1, 2, 3, 3])


def test_dictionary_ties_resolve_to_the_first_row_of_the_whole_matrix():
    """The reference looks a value up in the whole gamma matrix (np.where(Gamma == v)[0][0]), so an exact tie
    with an earlier row, even in another column, picks that earlier row."""
    gamma = np.array([
        [0.2, 0.6, 0.2],   # 0: cluster 1; holds 0.6, the smallest gamma_0 of cluster 0, in column 1
        [0.8, 0.1, 0.1],   # 1: cluster 0, largest
        [0.6, 0.3, 0.1],   # 2: cluster 0, smallest (0.6)
        [0.3, 0.6, 0.1],   # 3: cluster 1, its gamma_1 = 0.6 ties with row 0's: the smallest is row 0
        [0.1, 0.7, 0.2],   # 4: cluster 1, largest
    ])
    np.testing.assert_array_equal(L.select_atoms(gamma), [1, 0, 4, 0])


def test_dictionary_rejects_bad_gamma():
    with pytest.raises(ValueError):
        L.select_atoms(np.zeros((0, 3)))


def test_float32_iterates_give_the_float64_scores_to_float32_rounding():
    """`dtype=np.float32` (the `lrr_float32` field): every iterate in float32, the error norms within float32
    rounding of the float64 solve's, which stays the default and unchanged."""
    rng = np.random.default_rng(3)
    S = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    B = S[rng.choice(2000, 6, replace=False)].T
    r64 = L.lrr(S.T, B, 0.01, max_iter=15, rho=1.44, svt_method="gram")
    r32 = L.lrr(S.T, B, 0.01, max_iter=15, rho=1.44, svt_method="gram", dtype=np.float32)
    assert r64.E.dtype == np.float64 and r32.E.dtype == np.float32 and r32.X.dtype == np.float32
    s64, s32 = L.column_scores(r64.E), L.column_scores(r32.E)
    assert np.max(np.abs(s32 - s64)) <= 1e-4 * np.max(s64)
    assert np.max(np.abs(s32 - s64)) > 0  # computed in float32, not cast at the end
    np.testing.assert_array_equal(L.lrr(S.T, B, 0.01, max_iter=15, rho=1.44, svt_method="gram",
                                        dtype=np.float64).E, r64.E)
