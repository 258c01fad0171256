"""The stabilised LREN's mixture terms as one autograd node with a hand-written backward (issue 12's speed target).

:func:`mixture_terms` is ``lambda_energy * mean_i E(z_i) + lambda_cov * sum_k tr((Sigma_k + eps I)^-1)`` with the
ridge ``eps`` relative to the mixture's mean latent variance (detached), the same value as
:func:`had_lren.network.lren_loss` computes for those terms (``cov_penalty="trace"``, ``relative_ridge``,
``lean_ridge``). Autograd differentiates that form through about twenty passes over ``(pixels, components, latent)``
tensors; the gradient written out below needs six: the weighted codes and the Mahalanobis vectors of the forward,
kept, and in the backward one weighting of those vectors and four GEMMs (the products with a stacked ``(latent,
components x latent)`` matrix), the rest on ``K x d x d`` matrices. Same numbers to float32 rounding (tested
against autograd in float64).

The derivation, with ``r`` the responsibilities (softmax of the logits), ``w = g lambda_E r / (2n)`` (the gradient
of the value with respect to the squared distances ``q``), ``R_k = sum_i r_ik``, ``v_ik = (z_i - mu_k) A_k`` with
``A_k = L_k^-T`` (so ``q_ik = |v_ik|^2`` and ``P_k = A_k A_k^T`` is the regularised inverse covariance) and
``u = w v``:

* through ``q``: ``dz_i = 2 sum_k u_ik A_k^T``, ``dmu_k = -2 (sum_i u_ik) A_k^T``, and towards ``Sigma_k``
  ``-P_k C_k P_k`` with ``C_k A_k = sum_i (z_i - mu_k)^T u_ik`` (one ``[z, 1]^T u`` product);
* the log-determinant gives ``Sigma_k`` ``g lambda_E R_k / (2n) P_k``, the trace penalty ``-g lambda_cov P_k P_k``,
  the weights ``phi_k = Gamma_k / n`` give ``Gamma_k`` ``-g lambda_E R_k / (n Gamma_k)``;
* ``Sigma_k = S2_k / Gamma_k - mu_k mu_k^T``, ``mu_k = S1_k / Gamma_k``, ``S1 = gamma^T z``,
  ``S2_k = sum_i gamma_ik z_i^T z_i``, ``Gamma_k = sum_i gamma_ik``: with ``H_k`` the gradient of ``S2_k``,
  ``dz_i += 2 sum_k gamma_ik z_i H_k + sum_k gamma_ik dS1_k`` and
  ``dgamma_ik = z_i H_k z_i^T + z_i . dS1_k + dGamma_k``.
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def moments(z: torch.Tensor, gamma: torch.Tensor):
    """(gamma_sum ``(K,)``, phi ``(K,)``, mu ``(K, d)``, weighted codes ``(n, K d)``, second moments ``(K, d, d)``,
    sigma ``(K, d, d)``) of the mixture of codes `z` ``(n, d)`` weighted by memberships `gamma` ``(n, K)``: the K
    weighted second moments from one ``(d x n) @ (n x K d)`` product (column block k of the weighted codes is
    ``gamma_k * z``), ``sigma = E_k[z z^T] - mu mu^T``."""
    n, d = z.shape
    k = gamma.shape[1]
    gamma_sum = gamma.sum(dim=0)
    phi = gamma_sum / n
    mu = (gamma.T @ z) / gamma_sum[:, None]
    weighted = (gamma[:, :, None] * z[:, None, :]).reshape(n, k * d)
    second = (z.T @ weighted).reshape(d, k, d).transpose(0, 1) / gamma_sum[:, None, None]
    return gamma_sum, phi, mu, weighted, second, second - mu[:, :, None] * mu[:, None, :]


def mixture_variance(phi: torch.Tensor, mu: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The batch's mean latent variance from the mixture's own moments (the relative ridge's scale, lean form):
    ``sum_k phi_k E_k[z z^T]`` and ``sum_k phi_k mu_k`` are the batch's second moment and mean."""
    return (torch.einsum("k,kii->", phi, second) - (phi @ mu).square().sum()) / mu.shape[1]


class MixtureTerms(torch.autograd.Function):
    """``(z (n, d), gamma (n, K)) -> scalar``: see the module docstring; ``eps``, ``lambda_energy`` and
    ``lambda_cov`` are numbers (no gradient)."""

    @staticmethod
    def forward(ctx, z, gamma, eps: float, lambda_energy: float, lambda_cov: float):
        n, d = z.shape
        k = gamma.shape[1]
        gamma_sum, phi, mu, weighted, second, sigma = moments(z, gamma)
        eye = torch.eye(d, dtype=z.dtype, device=z.device)
        ridge = eps * mixture_variance(phi, mu, second).clamp_min(torch.finfo(z.dtype).tiny)
        L = torch.linalg.cholesky(sigma + ridge * eye)
        A = torch.linalg.solve_triangular(L, eye.expand_as(L), upper=False).transpose(1, 2)  # v_k = (z - mu_k) A_k
        z1 = torch.cat([z, torch.ones(n, 1, dtype=z.dtype, device=z.device)], dim=1)  # (n, d + 1)
        stacked = torch.cat([A.transpose(0, 1).reshape(d, k * d), -(mu[:, None, :] @ A).reshape(1, k * d)])
        v = z1 @ stacked  # (n, K d): block k is (z - mu_k) A_k
        q = torch.linalg.vector_norm(v.view(n, k, d), dim=-1).square()
        log_det = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(dim=-1)
        logits = torch.log(phi)[None, :] - 0.5 * (q + d * LOG_2PI + log_det[None, :])
        log_norm = torch.logsumexp(logits, dim=1)  # -E_i
        value = -lambda_energy * log_norm.mean() + lambda_cov * torch.sum(A * A)
        ctx.save_for_backward(z1, gamma, weighted, v, torch.exp(logits - log_norm[:, None]), gamma_sum, mu,
                              second, A)
        ctx.lambdas = (lambda_energy, lambda_cov)
        return value

    @staticmethod
    def backward(ctx, grad):
        z1, gamma, weighted, v, r, gamma_sum, mu, second, A = ctx.saved_tensors
        lambda_energy, lambda_cov = ctx.lambdas
        n, k = r.shape
        d = z1.shape[1] - 1
        z = z1[:, :d]
        g_energy = grad * lambda_energy / n
        R = r.sum(dim=0)  # (K,)
        u = (v.view(n, k, d) * (0.5 * g_energy * r)[:, :, None]).view(n, k * d)  # w_ik v_ik
        zu = z1.T @ u  # (d + 1, K d): rows < d: sum_i z_i^T u_ik; row d: sum_i u_ik
        u_sum = zu[d].view(k, 1, d)
        zu = zu[:d].view(d, k, d).transpose(0, 1)  # (K, d, d)
        At = A.transpose(1, 2)
        P = A @ At
        CA = zu - mu[:, :, None] * u_sum  # C_k A_k
        g_sigma = -(P @ CA @ At) + (0.5 * g_energy * R)[:, None, None] * P - (grad * lambda_cov) * (P @ P)
        g_sigma = 0.5 * (g_sigma + g_sigma.transpose(1, 2))
        g_mu = -2.0 * (u_sum @ At)[:, 0, :] - 2.0 * (g_sigma @ mu[:, :, None])[:, :, 0]  # (K, d)
        H = g_sigma / gamma_sum[:, None, None]  # gradient of S2_k
        g_s1 = g_mu / gamma_sum[:, None]
        g_gamma_sum = (-(g_sigma * second).sum(dim=(1, 2)) - (g_mu * mu).sum(dim=1) - g_energy * R) / gamma_sum
        dz = dgamma = None
        if ctx.needs_input_grad[0]:
            dz = 2.0 * (u @ At.reshape(k * d, d))  # 2 sum_k u_ik A_k^T: row block k of the stack is A_k^T
            dz.addmm_(weighted, H.reshape(k * d, d), alpha=2.0)  # 2 sum_k gamma_ik z_i H_k
            dz.addmm_(gamma, g_s1)
        if ctx.needs_input_grad[1]:
            zH = (z @ H.transpose(0, 1).reshape(d, k * d)).view(n, k, d)  # block k: z_i H_k
            dgamma = torch.linalg.vecdot(zH, z[:, None, :]) + z @ g_s1.T + g_gamma_sum[None, :]
        return dz, dgamma, None, None, None


def mixture_terms(z: torch.Tensor, gamma: torch.Tensor, eps: float, lambda_energy: float,
                  lambda_cov: float) -> torch.Tensor:
    """The stabilised mixture terms of a batch (see the module docstring); a 0-d tensor of `z`'s dtype."""
    return MixtureTerms.apply(z, gamma, float(eps), float(lambda_energy), float(lambda_cov))
