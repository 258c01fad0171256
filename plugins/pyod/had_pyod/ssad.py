"""SSAD: semi-supervised anomaly detection (Görnitz, Kloft, Rieck, Brefeld; JAIR 46, 2013), our own dual QP.

Primal (``y_i = +1`` for unlabeled rows and known normals, ``-1`` for known anomalies)::

    min  1/2 ||w||^2 - rho - kappa gamma + sum_i C_i xi_i
    s.t. <w, phi(x_i)> >= rho - xi_i                         (unlabeled)
         y_j <w, phi(x_j)> >= y_j rho + gamma - xi_j          (labelled)
         xi >= 0, gamma >= 0

Dual (as Deep SAD's baseline states it)::

    min_a  1/2 a^T (K o y y^T) a    s.t.  0 <= a_i <= C_i,  sum_i y_i a_i = 1,  sum_{labelled} a_i >= kappa

solved with OSQP (a maintained ADMM QP solver, then solution polishing); the reference uses cvxopt. Without
labelled rows the kappa constraint is dropped (kappa -> 0), which is the one-class SVDD/OC-SVM dual.
``f(x) = sum_i a_i y_i k(x, x_i)`` over the support vectors (``a_i > 1e-9 max a``); the offset ``rho`` is the mean
of ``f`` over the unlabeled margin support vectors (``0 < a_i < C``), or, without any, the midpoint between the
largest ``f`` of bounded and the smallest ``f`` of non-support unlabeled rows (the KKT interval). The anomaly
score is ``rho - f(x)``. ``rho`` moves the threshold only, never the ranking.

Every row labelled (the primal holds no unlabeled constraint, as the paper allows): a known normal on the margin
has ``f = rho + gamma``, a known anomaly ``f = rho - gamma``, so ``rho`` is the midpoint of the two means of ``f``
(over their margin support vectors, or over all rows of that kind where none is on the margin); with known normals
only, ``rho`` and ``gamma`` only appear as their sum and the known normals take the unlabeled rows' rule (was:
``zero-size array to reduction operation minimum``, a traceback). Known anomalies alone cannot meet
``sum_i y_i a_i = 1``: a :class:`~had.errors.LabelError` says to add unlabeled rows or known normals.

Differences from the reference: its CLI accepts ``--kappa`` but never passes it (kappa is always 1); here
``kappa`` is a real config field (default 1.0). Gamma is chosen without labels (median heuristic) instead of on
10 % of the labelled test set. The dense ``n x n`` kernel limits the fit to ``max_train`` rows: larger training
sets are subsampled (seeded), keeping every labelled row.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from had.pixel_sample import PixelSampleConfig
from had.errors import HadError, LabelError

from .adapter import RowModelDetector, refitted_from_rows
from .fitted import scalar
from .heuristics import rbf_gamma
from .models import GammaRule


def rbf_kernel(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma ||a - b||^2)`` for every row pair, the squares expanded about `B`'s mean (the distances do not
    move with the rows; about a far offset, 1e10, the expansion cancelled and the kernel was not positive
    semi-definite: OSQP failed with a traceback)."""
    centre = B.mean(axis=0)
    A, B = A - centre, B - centre
    d2 = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :] - 2.0 * A @ B.T
    return np.exp(-gamma * np.maximum(d2, 0.0))


def solve_dual(K: np.ndarray, y: np.ndarray, labelled: np.ndarray, C: np.ndarray, kappa: float,
               eps: float = 1e-7, max_iter: int = 50000) -> np.ndarray:
    """The SSAD dual's solution ``alpha`` (see the module docstring) by OSQP."""
    import osqp
    from scipy import sparse

    n = K.shape[0]
    P = sparse.triu(sparse.csc_matrix(K * np.outer(y, y)), format="csc")
    rows = [sparse.csc_matrix(y.reshape(1, -1).astype(np.float64))]
    lower, upper = [1.0], [1.0]
    if labelled.any() and kappa > 0:
        rows.append(sparse.csc_matrix(labelled.reshape(1, -1).astype(np.float64)))
        lower.append(min(kappa, float(C[labelled].sum())))
        upper.append(np.inf)
    rows.append(sparse.identity(n, format="csc"))
    A = sparse.vstack(rows, format="csc")
    lo = np.r_[lower, np.zeros(n)]
    hi = np.r_[upper, C]
    solver = osqp.OSQP()
    try:
        solver.setup(P=P, q=np.zeros(n), A=A, l=lo, u=hi, eps_abs=eps, eps_rel=eps, max_iter=max_iter,
                     polishing=True, verbose=False)
        result = solver.solve(raise_error=False)  # a failed solve is reported below as a HadError
    except Exception as exc:  # noqa: BLE001 - OSQPException (its factorisation failed): was a traceback
        raise HadError(f"SSAD: the dual QP could not be set up (OSQP: {type(exc).__name__} {exc}): the kernel matrix "
                       "is not positive semi-definite in floating point; rescale the data (subtract its mean, divide "
                       "by its spread) or give gamma") from None
    status = str(result.info.status)
    if result.x is None or not status.lower().startswith("solved"):  # "solved" or "solved inaccurate"
        raise HadError(f"SSAD: the dual QP was not solved (OSQP status: {status}); check the labels and C/kappa")
    return np.clip(np.asarray(result.x, dtype=np.float64), 0.0, C)


def _offset(f: np.ndarray, rows: np.ndarray, sv: np.ndarray, on_margin: np.ndarray) -> float:
    """The offset of the one-class constraints ``f >= rho - xi`` of `rows`: the mean ``f`` of their margin support
    vectors, or the midpoint of the KKT interval (bounded support vectors below, non-support rows above)."""
    margin = rows & on_margin
    if margin.any():
        return float(f[margin].mean())
    bounded, inactive = rows & sv, rows & ~sv
    lo = float(f[bounded].max()) if bounded.any() else float(f[rows].min())
    hi = float(f[inactive].min()) if inactive.any() else lo
    return 0.5 * (lo + hi)


class SSADConfig(PixelSampleConfig):
    kernel: Literal["rbf", "linear"] = Field("rbf", description="kernel")
    gamma: GammaRule = Field("median", description="RBF gamma rule or value")
    C: float = Field(1.0, gt=0.0, description="box bound of every dual variable (reference: C_u = C_p = C_n = 1)")
    kappa: float = Field(1.0, ge=0.0, description="weight of the labelled margin gamma (reference: always 1)")
    max_train: int = Field(2000, ge=10, description="rows used in the QP (seeded subsample; labelled rows kept)")


#: the dense ``n x n`` float64 matrices a fit on n rows holds at its peak: the kernel, the QP's ``K o y y^T``, its
#: sparse upper triangle and OSQP's copy (measured: 6.5 and 6.0 times ``8 n^2`` bytes for 2,000 and 4,000 rows)
QP_COPIES = 6


class SSAD(RowModelDetector):
    """Semi-supervised SVDD/OC-SVM with known normals and anomalies; see the module docstring."""

    name = "ssad"
    Config = SSADConfig
    uses_labels = True
    #: was the adapter's "PyOD/scikit-learn models have no verified ONNX export", untrue of most (a docs audit)
    onnx_unsupported = ("ssad's kernel expansion over its support vectors has no ONNX graph in had yet; score it "
                        "with the Python detector (had score MODEL DATA)")
    artifact_holds = "the support vectors (a subset of the training rows), their coefficients, rho and gamma"

    def check_fit_memory(self, n_rows: int) -> None:
        """The QP's dense matrices (:data:`QP_COPIES`) over the ``min(n_rows, max_train)`` rows it uses, against
        the memory available now (was: no check, so a max_train typed with extra zeros on a large table was an
        allocation the kernel's out-of-memory killer ended)."""
        from had.memory import check_fits

        n = min(n_rows, self.config.max_train)
        check_fits(f"{self.name}: the dual QP over {n:,} rows", QP_COPIES * 8 * n * n,
                   f"lower max_train (now {self.config.max_train:,}), the rows the QP uses (--set)")

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return A @ B.T if self.fitted_value("kernel") == "linear" else rbf_kernel(A, B, self.gamma_)

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        cfg = self.config
        known = np.zeros(rows.shape[0], dtype=np.int8) if known is None else known
        rng = np.random.default_rng(cfg.seed)
        labelled_idx = np.flatnonzero(known != 0)
        if rows.shape[0] > cfg.max_train:
            pool = np.flatnonzero(known == 0)
            take = max(cfg.max_train - labelled_idx.size, 0)
            keep = np.sort(np.r_[labelled_idx[:cfg.max_train], rng.choice(pool, size=min(take, pool.size),
                                                                           replace=False)])
        else:
            keep = np.arange(rows.shape[0])
        X, k = rows[keep], known[keep]
        self.gamma_ = rbf_gamma(X, cfg.gamma, cfg.seed) if cfg.kernel == "rbf" else 0.0
        y = np.where(k == 1, -1.0, 1.0)  # known anomalies -1; unlabeled and known normals +1
        labelled = k != 0
        C = np.full(X.shape[0], cfg.C)
        if not (y > 0).any():  # was: "C=1.0 is too small for 0 rows"
            raise LabelError(f"SSAD: every one of the {y.size} rows is a known anomaly (1); it needs unlabeled (0) or "
                             "known normal (-1) rows to describe the normal class: add them")
        if C[y > 0].sum() < 1.0:
            raise HadError(f"SSAD: C={cfg.C} is too small for {int((y > 0).sum())} rows (need sum C >= 1)")
        K = self._kernel(X, X)
        alpha = solve_dual(K, y, labelled, C, cfg.kappa)
        sv = alpha > 1e-9 * max(float(alpha.max()), 1e-300)
        self.support_ = X[sv]
        self.dual_coef_ = (alpha * y)[sv]
        f = K[:, sv] @ self.dual_coef_
        on_margin = sv & (alpha < C - 1e-9 * cfg.C)
        if (~labelled).any():
            self.rho_ = _offset(f, ~labelled, sv, on_margin)
        elif (y < 0).any():  # every row labelled, both kinds: rho halfway between rho + gamma and rho - gamma
            ends = [f[part & on_margin].mean() if (part & on_margin).any() else f[part].mean()
                    for part in (y > 0, y < 0)]
            self.rho_ = float(0.5 * (ends[0] + ends[1]))
        else:  # known normals only: the one-class problem, its offset rho + gamma
            self.rho_ = _offset(f, y > 0, sv, on_margin)
        self.n_support_ = int(sv.sum())

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty(rows.shape[0])
        step = max(1, 4_000_000 // max(self.support_.shape[0], 1))
        for start in range(0, rows.shape[0], step):
            out[start:start + step] = self.rho_ - self._kernel(rows[start:start + step], self.support_) @ self.dual_coef_
        return out

    def _references(self) -> tuple[int, str]:
        return int(self.support_.shape[0]), "support vectors"

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"support": self.support_, "dual_coef": self.dual_coef_, "rho": np.array(self.rho_),
                "gamma": np.array(self.gamma_)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if refitted_from_rows(self, state):
            return
        self.support_ = np.asarray(state["support"], dtype=np.float64)
        self.dual_coef_ = np.asarray(state["dual_coef"], dtype=np.float64)
        self.rho_, self.gamma_ = scalar(state["rho"]), scalar(state["gamma"])
        self.n_support_ = int(self.support_.shape[0])
