"""Geo-Hgan's losses and scores as plain functions (methods.md sections 5.3 to 5.5).

Every reduction that defines a score is per sample (mean over all non-batch axes), so a batched call equals
the reference's batch-of-one MSE.
"""

from __future__ import annotations

import torch


def per_sample_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``mean((a - b)^2)`` over every axis but the first: ``(n,)``."""
    return (a - b).pow(2).flatten(1).mean(dim=1)


def lsgan_discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN, discriminator: ``1/2 mean(D(real) - 1)^2 + 1/2 mean(D(fake))^2``."""
    return 0.5 * (real_logit - 1).pow(2).mean() + 0.5 * fake_logit.pow(2).mean()


def lsgan_generator_loss(fake_logit: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN, generator: ``1/2 mean(D(fake) - 1)^2``."""
    return 0.5 * (fake_logit - 1).pow(2).mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                     per_channel: bool = False) -> torch.Tensor:
    """WGAN-GP penalty ``mean((||grad D(x~)||_2 - 1)^2)`` on ``x~ = a real + (1 - a) fake``.

    ``a ~ U(0, 1)`` per sample (shape ``(n, 1, 1, 1)``, Gulrajani et al.); ``per_channel=True`` draws it per
    sample *and channel* (``(n, C, 1, 1)``) as the Geo-Hgan reference does.
    """
    shape = (real.shape[0], real.shape[1] if per_channel else 1) + (1,) * (real.dim() - 2)
    alpha = torch.rand(shape, generator=generator, device="cpu").to(real.device, real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(mixed)
    grad, = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def critic_loss(real_validity: torch.Tensor, fake_validity: torch.Tensor, recon_validity: torch.Tensor,
                penalty: torch.Tensor, lambda_gp: float = 10.0, recon_weight: float = 1e-3) -> torch.Tensor:
    """Sample critic: ``-mean D(x) + mean D(G(l_G(n))) + 1e-3 mean D(AE(x)) + lambda_gp * GP`` (reference)."""
    return -real_validity.mean() + fake_validity.mean() + recon_weight * recon_validity.mean() + lambda_gp * penalty


def izif_loss(x: torch.Tensor, x_rec: torch.Tensor, f_real: torch.Tensor, f_fake: torch.Tensor,
              kappa: float = 1.0) -> torch.Tensor:
    """Step-2 encoder loss: ``MSE(G(E(x)), x) + kappa * MSE(f~(G(E(x))), f~(x))``, ``f~ = f / max(f)``.

    As in the reference the maximum is one scalar over the whole batch tensor, taken separately for real and
    fake features (a small floor guards against an all-zero batch).
    """
    def normalise(f: torch.Tensor) -> torch.Tensor:
        return f / f.max().clamp_min(1e-12)

    return (x_rec - x).pow(2).mean() + kappa * (normalise(f_fake) - normalise(f_real)).pow(2).mean()


def geohgan_scores(encoder, generator, critic, x: torch.Tensor, kappa: float = 1.0) -> dict[str, torch.Tensor]:
    """The three scores of a batch ``(n,)``: img_distance, anomaly_score (= img + kappa * feature), z_distance.

    No max-normalisation of features at test time (as in the reference).
    """
    z = encoder(x)
    x_rec = generator(z)
    img = per_sample_mse(x_rec, x)
    feature = per_sample_mse(critic.features(x_rec), critic.features(x))
    z_rec = encoder(x_rec)
    return {"img_distance": img, "anomaly_score": img + kappa * feature, "z_distance": per_sample_mse(z_rec, z)}
