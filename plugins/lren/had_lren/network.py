"""LREN's networks, GMM energy and loss in torch (Jiang et al., AAAI 2021; methods.md section 1.2-1.3).

* :class:`MinMaxStandardize`: one global min-max over the whole scene, then per-band zero mean and unit
  variance (sklearn ``StandardScaler`` semantics: population std, a constant band keeps scale 1); the four
  statistics are buffers, so they are saved with the weights and folded into the ONNX graph. They are computed
  once per training set: the restarts of one fit (and a process that refits the same scene) reuse them, looked
  up by a digest of the pixels' bytes (the same numbers, without the float64 pass over the scene).
* :class:`LRENNet`: the spectral mapping autoencoder ``B -> hidden (tanh) -> latent (linear)`` and its mirror
  ``latent -> hidden (tanh) -> B (linear)``, and the density estimation net ``latent -> est_hidden (tanh) ->
  clusters (softmax)``. No dropout: the reference's dropout is never active (TF ``training=False``).
  Glorot-uniform weights and zero biases (TF ``tf.layers.dense`` defaults).
* :func:`gmm_parameters`, :func:`gmm_energy`, :func:`cov_diag_penalty`, :func:`lren_loss`: DAGMM's
  mixture estimate from the memberships and its sample energy, on the latent code only.

The module also holds the out-of-sample scoring buffers set after the low-rank stage (see
:func:`had_lren.lrr.out_of_sample_rule`, :meth:`LRENNet.oos_score` and :func:`closed_form_norm`, the closed form
applied to the codes and, with ``raw_components``, to the raw branch's space).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from had.errors import InvalidInputError
from torch import nn

from . import fastops
from .mixture_node import LOG_2PI, mixture_terms, mixture_variance, moments


class MinMaxStandardize(nn.Module):
    """``((x - lo) / (hi - lo) - mean) / std``: LREN's global min-max, then sklearn's StandardScaler."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("lo", torch.zeros((), dtype=torch.float32))
        self.register_buffer("span", torch.ones((), dtype=torch.float32))
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def fit(self, X: np.ndarray) -> "MinMaxStandardize":
        """Statistics from the training pixels ``(N, B)``, computed in float64 (once per set of pixels:
        :func:`standardize_statistics`)."""
        lo, span, mean, std = standardize_statistics(X)
        self.lo.fill_(lo)
        self.span.fill_(span)
        self.mean.copy_(torch.from_numpy(mean))
        self.std.copy_(torch.from_numpy(std))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.lo) / self.span - self.mean) / self.std


class DigestCache:
    """Values that are a pure function of a training set's bytes (and a setting or two), kept for the last `kept`
    sets by :func:`pixels_digest`: the restarts of one fit train on the same pixels k times, so each value is
    computed once per fit, not once per member. Fits in threads may race on it: harmless (the same value twice)."""

    def __init__(self, kept: int):
        self.kept = kept
        self._values: OrderedDict[tuple, Any] = OrderedDict()

    def key(self, X: np.ndarray, *settings: Any) -> tuple:
        return (pixels_digest(np.asarray(X)), *settings)

    def look(self, key: tuple) -> Any:
        """The value kept for `key`, or None."""
        return self._values.get(key)

    def keep(self, key: tuple, value: Any) -> Any:
        """Keep `value` for `key` (the oldest dropped beyond `kept`) and return it."""
        self._values[key] = value
        while len(self._values) > self.kept:
            try:
                self._values.popitem(last=False)
            except KeyError:
                break
        return value


#: the statistics of the last training sets (restarts fit the same scene k times)
_STATISTICS = DigestCache(kept=4)


def pixels_digest(X: np.ndarray) -> str:
    """A digest of an array's dtype, shape and bytes (BLAKE2b, 128 bits): equal digests, equal arrays."""
    X = np.ascontiguousarray(X)
    h = hashlib.blake2b(f"{X.dtype.str}{X.shape}".encode(), digest_size=16)
    h.update(X.view(np.uint8).reshape(-1) if X.size else b"")
    return h.hexdigest()


def standardize_statistics(X: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(lo, span, per-band mean, per-band std) of pixels `X` ``(N, B)`` in float64 (see :class:`MinMaxStandardize`),
    computed once per distinct `X` in this process and then looked up (the same numbers: a pure function of the
    bytes); the arrays returned are copies."""
    key = _STATISTICS.key(X)
    stats = _STATISTICS.look(key)
    if stats is None:
        X = np.asarray(X, dtype=np.float64)
        lo, hi = float(X.min()), float(X.max())
        span = hi - lo if hi > lo else 1.0
        scaled = (X - lo) / span
        mean = scaled.mean(axis=0)
        std = scaled.std(axis=0)
        # StandardScaler keeps scale 1 for a constant feature; the mean of a constant column can differ from its
        # value by rounding, leaving a std of ~1e-17 that would blow the feature up to ~1e16 (sklearn's
        # `_handle_zeros_in_scale` guards the same way)
        constant = (np.ptp(X, axis=0) == 0) | (std < 10 * np.finfo(np.float64).eps)
        if X.shape[0] < 2:
            raise InvalidInputError(f"LREN needs at least 2 training pixels, got {X.shape[0]}")
        if constant.all():  # nothing to model: the mixture's covariances would be the ridge alone
            raise InvalidInputError(f"the {X.shape[0]} training pixels are all equal (no band varies): LREN has "
                                    "nothing to learn; check the file (a blank scene, or one fill value?)")
        stats = _STATISTICS.keep(key, (lo, span, mean, np.where(constant, 1.0, std)))
    lo, span, mean, std = stats
    return lo, span, mean.copy(), std.copy()


def _glorot(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class LRENNet(nn.Module):
    """Spectral mapping autoencoder + density estimation network, and the out-of-sample scoring buffers."""

    def __init__(self, n_bands: int, hidden: int = 400, latent: int = 9, est_hidden: int = 60, clusters: int = 7,
                 lean_softmax: bool = False, raw_components: int = 0):
        super().__init__()
        #: memberships by :func:`lean_softmax` rather than torch.softmax (the stabilised LREN's `lean_mixture`)
        self.lean_softmax = lean_softmax
        self.enc1 = _glorot(nn.Linear(n_bands, hidden))
        self.enc2 = _glorot(nn.Linear(hidden, latent))
        self.dec1 = _glorot(nn.Linear(latent, hidden))
        self.dec2 = _glorot(nn.Linear(hidden, n_bands))
        self.est1 = _glorot(nn.Linear(latent, est_hidden))
        self.est2 = _glorot(nn.Linear(est_hidden, clusters))
        # out-of-sample scoring, set after the low-rank stage (had_lren.lrr.out_of_sample_rule)
        # the LRR's space: codes -> (z - oos_mean) @ oos_whiten (identity for the reference's latent space)
        self.register_buffer("oos_mean", torch.zeros(latent))
        self.register_buffer("oos_whiten", torch.eye(latent))
        self.register_buffer("oos_basis", torch.zeros(latent, latent))
        self.register_buffer("oos_delta", torch.zeros(latent))
        self.register_buffer("oos_lambda", torch.ones(()))
        # 1 when the low-rank part spans the whole latent space: the residual off it is then zero by construction
        self.register_buffer("oos_full_rank", torch.zeros(()))
        #: width of the raw branch's space (LREN's ``raw_weight`` > 0; 0: no branch, no raw_ buffers)
        self.raw_components = int(raw_components)
        if self.raw_components:
            k = self.raw_components
            # the raw branch: preprocessed pixels -> x @ raw_project + raw_offset (the raw spectra's leading principal
            # components, whitened; the preprocessing's inverse folded in), then the same closed form on its own rule
            self.register_buffer("raw_project", torch.zeros(n_bands, k))
            self.register_buffer("raw_offset", torch.zeros(k))
            self.register_buffer("raw_basis", torch.zeros(k, k))
            self.register_buffer("raw_delta", torch.zeros(k))
            self.register_buffer("raw_lambda", torch.ones(()))
            self.register_buffer("raw_full_rank", torch.zeros(()))
            # the score: raw_codes_weight * codes' score + raw_weight * raw score ((1 - w) / IQR_c and w / IQR_r)
            self.register_buffer("raw_codes_weight", torch.ones(()))
            self.register_buffer("raw_weight", torch.zeros(()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc2(torch.tanh(self.enc1(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec2(torch.tanh(self.dec1(z)))

    def memberships(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.est2(torch.tanh(self.est1(z)))
        return lean_softmax(logits) if self.lean_softmax else torch.softmax(logits, dim=-1)

    def forward(self, x: torch.Tensor):
        """(z, x_hat, gamma) of preprocessed pixels `x` ``(N, B)``."""
        z = self.encode(x)
        return z, self.decode(z), self.memberships(z)

    def training_forward(self, x: torch.Tensor, xt: torch.Tensor | None = None):
        """As :meth:`forward`, through :mod:`had_lren.fastops` (oneDNN GEMMs on CPU when available)."""
        if not fastops.usable(x):
            return self.forward(x)
        h = fastops.linear_tanh(x, self.enc1.weight, self.enc1.bias, xt)
        z = fastops.linear(h, self.enc2.weight, self.enc2.bias)
        xhat = fastops.linear(fastops.linear_tanh(z, self.dec1.weight, self.dec1.bias), self.dec2.weight,
                              self.dec2.bias)
        return z, xhat, self.memberships(z)

    def oos_score(self, x: torch.Tensor) -> torch.Tensor:
        """Out-of-sample LREN score of preprocessed pixels `x` ``(N, B)``: the closed form of the LRR optimum
        (:func:`closed_form_norm`) on the codes in the LRR's space and, with a raw branch, the weighted sum of that
        and the closed form on the raw spectra's space (:meth:`oos_branches`)."""
        codes, raw = self.oos_branches(x)
        if raw is None:
            return codes
        return codes * self.raw_codes_weight + raw * self.raw_weight

    def oos_branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the codes' closed-form error norms, the raw branch's or None without one) of preprocessed pixels."""
        codes = self.codes_score(self.encode(x))
        return codes, (self.raw_score(x) if self.raw_components else None)

    def codes_score(self, z: torch.Tensor) -> torch.Tensor:
        """The closed-form error norms of latent codes `z` ``(N, latent)``, in the LRR's space."""
        z = (z - self.oos_mean) @ self.oos_whiten
        return closed_form_norm(z, self.oos_basis, self.oos_delta, self.oos_lambda, self.oos_full_rank)

    def raw_score(self, x: torch.Tensor) -> torch.Tensor:
        """The raw branch's closed-form error norms of preprocessed pixels `x` ``(N, B)``.

        Unlike the codes (tanh bounds them), the whitened raw coordinates grow with the pixel: a finite value far
        outside the fitted pixels (float32's lowest, a fill value not declared, one outside a fit's sample) made
        the squared norms infinite, and the fit or ``had score`` stopped on an infinite score. So the input is
        saturated at :data:`RAW_INPUT_LIMIT` standardised units and the coordinates at :data:`RAW_COORD_LIMIT`
        (fitted pixels lie within ~sqrt(N) whitened units): such a pixel keeps the top rank, with a finite score.
        """
        x = torch.clamp(x, -RAW_INPUT_LIMIT, RAW_INPUT_LIMIT)
        s = torch.clamp(x @ self.raw_project + self.raw_offset, -RAW_COORD_LIMIT, RAW_COORD_LIMIT)
        return closed_form_norm(s, self.raw_basis, self.raw_delta, self.raw_lambda, self.raw_full_rank)


#: the raw branch's saturation (:meth:`LRENNet.raw_score`): standardised input, then whitened coordinates, whose
#: squares summed over the branch's components stay far inside float32 (3.4e38)
RAW_INPUT_LIMIT = 1e8
RAW_COORD_LIMIT = 1e15


def closed_form_norm(z: torch.Tensor, basis: torch.Tensor, delta: torch.Tensor, lam: torch.Tensor,
                     full_rank: torch.Tensor) -> torch.Tensor:
    """The LRR optimum's error norm of samples `z` ``(N, d)`` in the space of a rule (see
    :func:`had_lren.lrr.out_of_sample_rule`: `basis` ``K``, `delta`, `lam`; `full_rank` 1 when ``K`` spans the space).

    The error norm ``q`` solving ``q^2 = ||z - K K^T z||^2 + sum_j (q delta_j b_j / (lam + q delta_j))^2``
    with ``b = K^T z``, by :data:`OOS_ITERATIONS` safeguarded Newton steps (a fixed count: only elementwise
    ops, matmuls and reductions, so the graph exports to ONNX as it is). Run eagerly, the loop stops once a
    step leaves every ``q`` and its bracket unchanged: a fixed point, which the remaining steps would only
    repeat, so the result is the same bits as the exported graph's full count (on the scenes, 8 of 24 steps).
    """
    b = z @ basis
    perp = z - b @ basis.T
    p2 = torch.sum(perp * perp, dim=-1) * (1.0 - full_rank)  # full rank: exact 0, not rounding
    lo = torch.sqrt(p2)
    hi = torch.sqrt(p2 + torch.sum(b * b, dim=-1))
    q = hi
    db = delta * b
    eager = not (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export())
    for _ in range(OOS_ITERATIONS):
        state = (q, lo, hi)
        den = lam + q[:, None] * delta
        t = q[:, None] * db / den
        n = torch.sqrt(p2 + torch.sum(t * t, dim=-1))
        dn = torch.sum(t * db * lam / (den * den), dim=-1) / torch.clamp(n, min=1e-30)
        psi = q - n
        hi = torch.where(psi >= 0, q, hi)
        lo = torch.where(psi <= 0, q, lo)
        slope = 1.0 - dn
        newton = q - psi / torch.where(slope > 0, slope, torch.ones_like(slope))
        inside = (slope > 0) & (newton > lo) & (newton < hi)
        q = torch.where(inside, newton, 0.5 * (lo + hi))
        if eager and all(torch.equal(new, old) for new, old in zip((q, lo, hi), state)):
            break
    # exactly on the low-rank part and inside the subdifferential: the optimum's error is exactly 0 (the
    # iteration would only approach it), so such samples tie at 0 in every runtime
    inside_ball = torch.sum((db / lam) ** 2, dim=-1) <= 1.0
    return torch.where((p2 == 0) & inside_ball, torch.zeros_like(q), q)


def lean_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis as ``exp(l - max l) / sum exp(l - max l)`` in elementwise ops: torch.softmax's
    value to float32 rounding, at about half its CPU time forward and backward over a few clusters (its kernel
    vectorises along the softmax axis, which holds only the ~7 clusters)."""
    e = torch.exp(logits - logits.detach().amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


#: Newton steps of the out-of-sample score (converged to float32 precision well before; tested)
OOS_ITERATIONS = 24


def gmm_parameters(z: torch.Tensor, gamma: torch.Tensor):
    """(phi ``(K,)``, mu ``(K, d)``, sigma ``(K, d, d)``) of the mixture weighted by memberships `gamma`."""
    gamma_sum = gamma.sum(dim=0)
    phi = gamma_sum / gamma.shape[0]
    mu = (gamma.T @ z) / gamma_sum[:, None]
    centered = z[None, :, :] - mu[:, None, :]  # (K, N, d)
    weighted = centered * gamma.T[:, :, None]
    sigma = (weighted.transpose(1, 2) @ centered) / gamma_sum[:, None, None]
    return phi, mu, sigma


def gmm_energy(z: torch.Tensor, phi: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
               eps: float = 1e-6) -> torch.Tensor:
    """Sample energy ``-log sum_k phi_k N(z; mu_k, sigma_k + eps I)`` ``(N,)``, via ``L_k = chol(sigma_k + eps I)``.

    As the reference: the Mahalanobis term ``||L_k^-1 (z - mu_k)||^2`` and ``log det = 2 sum log diag L_k`` use
    the regularised factor. (``L_k^-1`` is formed once, a ``d x d`` triangular inverse, and applied by a batched
    product: the same numbers as a triangular solve per sample, in one GEMM.)
    """
    d = z.shape[-1]
    eye = torch.eye(d, dtype=z.dtype, device=z.device)
    L = torch.linalg.cholesky(sigma + eps * eye)
    L_inv = torch.linalg.solve_triangular(L, eye.expand_as(L), upper=False)
    centered = z[None, :, :] - mu[:, None, :]  # (K, N, d)
    v = centered @ L_inv.transpose(1, 2)
    log_det = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(dim=-1)
    logits = torch.log(phi)[:, None] - 0.5 * ((v * v).sum(dim=-1) + d * LOG_2PI + log_det[:, None])
    return -torch.logsumexp(logits, dim=0)


def cov_diag_penalty(sigma: torch.Tensor) -> torch.Tensor:
    """``sum_k sum_j 1 / sigma_k[j, j]`` (DAGMM's guard against singular components)."""
    return torch.sum(1.0 / torch.diagonal(sigma, dim1=-2, dim2=-1))


def lren_loss(x: torch.Tensor, z: torch.Tensor, xhat: torch.Tensor, gamma: torch.Tensor,
              lambda_energy: float, lambda_cov: float, eps: float = 1e-6,
              gmm_dtype: torch.dtype | None = None, cov_penalty: str = "diag",
              relative_ridge: bool = False, lean_ridge: bool = False) -> torch.Tensor:
    """``mean_i ||x_i - xhat_i||^2 + lambda_energy * mean_i E(z_i) + lambda_cov * sum 1/diag(sigma)``.

    `gmm_dtype`: the precision of the mixture estimate and its energy (None: that of `z`); float64 keeps the
    Cholesky factor of a nearly singular component well defined where float32 rounding exceeds the ridge.
    The same quantities as :func:`gmm_parameters` then :func:`gmm_energy` (tested against them), arranged for
    speed: the K weighted second moments come from one ``(d x N) @ (N x Kd)`` product and the K Mahalanobis
    terms from one ``(N x d) @ (d x Kd)`` product, instead of batched products over ``(K, N, d)`` tensors
    (float64 batched GEMMs with d = 9 cost a quarter of a training step on the CPU). In float64 the raw-moment
    form ``E[z z^T] - mu mu^T`` loses nothing that matters: its rounding (~1e-16 x |z|^2) is far below the
    ridge `eps`.

    The stabilised LREN's two changes (``"trace"``, ``relative_ridge``; the reference's are ``"diag"``, False):
    `cov_penalty="trace"` penalises ``sum_k tr((Sigma_k + eps I)^-1)`` (the squared Frobenius norm of the inverse
    Cholesky factor, already at hand), which sees a thin direction whatever its rotation, where ``sum 1/diag``
    only sees the axes; `relative_ridge` makes the ridge ``eps`` times the batch's mean latent variance
    (detached), scikit-learn's ``reg_covar`` on standardised codes, so that shrinking the codes as a whole cannot
    outrun it. `lean_ridge` takes that mean variance from the mixture's own moments (the batch's second moment is
    ``sum_k phi_k E_k[z z^T]`` and its mean ``sum_k phi_k mu_k``, as the memberships sum to 1) instead of a
    variance over the batch: the same value to float32 rounding, without a pass over the codes. With all three
    (the stabilised LREN's terms) the mixture terms are one autograd node with a hand-written backward
    (:mod:`had_lren.mixture_node`: the same value and gradients to float32 rounding, in a third of the passes).
    """
    zg, gg = (z, gamma) if gmm_dtype is None else (z.to(gmm_dtype), gamma.to(gmm_dtype))
    reconstruction = torch.sum((x - xhat) ** 2, dim=1).mean()
    if cov_penalty == "trace" and relative_ridge and lean_ridge:  # the stabilised terms: one autograd node
        return reconstruction + mixture_terms(zg, gg, eps, lambda_energy, lambda_cov).to(reconstruction.dtype)
    n, d = zg.shape
    k = gg.shape[1]
    _, phi, mu, _, second, sigma = moments(zg, gg)
    eye = torch.eye(d, dtype=zg.dtype, device=zg.device)
    if relative_ridge and lean_ridge:
        variance = mixture_variance(phi.detach(), mu.detach(), second.detach())
        eps = eps * variance.clamp_min(torch.finfo(zg.dtype).tiny)
    elif relative_ridge:
        eps = eps * zg.detach().var(dim=0, unbiased=False).mean().clamp_min(torch.finfo(zg.dtype).tiny)
    L = torch.linalg.cholesky(sigma + eps * eye)
    A = torch.linalg.solve_triangular(L, eye.expand_as(L), upper=False).transpose(1, 2)  # v_k = (z - mu_k) A_k
    v = (zg @ A.transpose(0, 1).reshape(d, k * d)).reshape(n, k, d) - (mu[:, None, :] @ A)[:, 0, :][None]
    log_det = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(dim=-1)
    logits = torch.log(phi)[None, :] - 0.5 * ((v * v).sum(dim=-1) + d * LOG_2PI + log_det[None, :])
    energy = -torch.logsumexp(logits, dim=1)
    penalty = cov_diag_penalty(sigma) if cov_penalty == "diag" else torch.sum(A * A)
    gmm_terms = lambda_energy * energy.mean() + lambda_cov * penalty
    return reconstruction + gmm_terms.to(reconstruction.dtype)
