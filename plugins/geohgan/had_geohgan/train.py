"""Geo-Hgan's two training steps (methods.md sections 5.3 and 5.4) as steps of the SDK's loop.

Step 1, the latent space learning module (:class:`LatentSpaceStep`), per mini-batch ``x``:

1. autoencoder step: ``MSE(AE(x), x)``;
2. `n_critic` latent discriminator steps (least-squares GAN, ``E(x)`` real, ``l_G(n)`` fake);
3. one latent generator step;
4. one sample critic step: ``-mean D(x) + mean D(G(l_G(n))) + 1e-3 mean D(AE(x)) + lambda_gp GP``;
5. every `n_critic`-th batch of an epoch (the first, then every n_critic), one sample generator step
   ``-mean D(G(l_G(n)))``.

Step 2, the GAN-guided encoder (:class:`EncoderStep`): the encoder restarts from the step-1 AE encoder and is
trained against the frozen (eval-mode) ``G`` and ``D`` with :func:`had_geohgan.losses.izif_loss`.

All five step-1 optimisers are Adam(lr, betas=(beta1, 0.999)); step 2 uses Adam(encoder_lr, same betas).
Noise, shuffling and the GP interpolation are drawn from one seeded CPU ``torch.Generator``. The SDK's loop
(:mod:`had_sdk.training`) runs the epochs, the batches (a last batch of one tile is dropped: BatchNorm) and
every optimiser update.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from had_sdk.training import Batch

from .losses import critic_loss, gradient_penalty, izif_loss, lsgan_discriminator_loss, lsgan_generator_loss
from .nets import Autoencoder, Critic, LatentDiscriminator, LatentGenerator, SampleGenerator


def _adam(module: torch.nn.Module, lr: float, beta1: float) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(beta1, 0.999))


def _noise(n: int, dim: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(n, dim, generator=generator).to(device)


class LatentSpaceStep:
    """Step 1 on one batch. `cfg` has lr, beta1, n_critic, lambda_gp, gp_alpha ("sample" or "channel"),
    recon_critic_weight, latent_dim; the five optimisers are created here (order: ae, l_g, l_d, g, d)."""

    def __init__(self, ae: Autoencoder, l_g: LatentGenerator, l_d: LatentDiscriminator, g: SampleGenerator,
                 d: Critic, cfg: Any, generator: torch.Generator):
        self.ae, self.l_g, self.l_d, self.g, self.d = ae, l_g, l_d, g, d
        self.cfg, self.generator = cfg, generator
        self.opt = {name: _adam(m, cfg.lr, cfg.beta1) for name, m in
                    (("ae", ae), ("l_g", l_g), ("l_d", l_d), ("g", g), ("d", d))}

    @property
    def modules(self) -> tuple[torch.nn.Module, ...]:
        return self.ae, self.l_g, self.l_d, self.g, self.d

    def __call__(self, batch: Batch) -> dict[str, torch.Tensor]:
        cfg, opt, real = self.cfg, self.opt, batch.x
        n, dev = real.shape[0], real.device
        # 1. autoencoder
        _, rec = self.ae(real)
        out = {"ae": batch.update((rec - real).pow(2).mean(), opt["ae"])}
        # 2. latent discriminator (least squares), n_critic steps
        with torch.no_grad():
            z_real = self.ae.encoder(real)
        for _ in range(cfg.n_critic):
            with torch.no_grad():
                z_fake = self.l_g(_noise(n, cfg.latent_dim, self.generator, dev))
            out["l_d"] = batch.update(lsgan_discriminator_loss(self.l_d(z_real), self.l_d(z_fake)), opt["l_d"])
        # 3. latent generator
        fake_z = self.l_g(_noise(n, cfg.latent_dim, self.generator, dev))
        out["l_g"] = batch.update(lsgan_generator_loss(self.l_d(fake_z)), opt["l_g"])
        # 4. sample critic (WGAN-GP, plus the reference's 1e-3 term on AE reconstructions)
        with torch.no_grad():
            latent = self.l_g(_noise(n, cfg.latent_dim, self.generator, dev))
            fake = self.g(latent)
            _, rec = self.ae(real)
        gp = gradient_penalty(self.d, real, fake, self.generator, per_channel=cfg.gp_alpha == "channel")
        out["d"] = batch.update(critic_loss(self.d(real), self.d(fake), self.d(rec), gp, cfg.lambda_gp,
                                            cfg.recon_critic_weight), opt["d"])
        # 5. sample generator every n_critic-th batch of the epoch
        if batch.position % cfg.n_critic == 0:
            out["g"] = batch.update(-self.d(self.g(latent)).mean(), opt["g"])
        return out


class EncoderStep:
    """Step 2 on one batch: a copy of `encoder` trained with the izif loss against frozen `g` and `d`.
    `cfg` has encoder_lr, beta1, kappa. :meth:`freeze` and :meth:`release` bracket the phase."""

    def __init__(self, encoder: torch.nn.Module, g: SampleGenerator, d: Critic, cfg: Any):
        self.encoder = copy.deepcopy(encoder).train()
        self.g, self.d, self.cfg = g, d, cfg
        self.optimizer = _adam(self.encoder, cfg.encoder_lr, cfg.beta1)

    def freeze(self) -> None:
        self.g.eval()
        self.d.eval()
        for p in list(self.g.parameters()) + list(self.d.parameters()):
            p.requires_grad_(False)

    def release(self) -> None:
        for p in list(self.g.parameters()) + list(self.d.parameters()):
            p.requires_grad_(True)
        self.encoder.eval()

    def __call__(self, batch: Batch) -> torch.Tensor:
        real = batch.x
        with torch.no_grad():
            f_real = self.d.features(real)
        fake = self.g(self.encoder(real))
        return izif_loss(real, fake, f_real, self.d.features(fake), self.cfg.kappa)
