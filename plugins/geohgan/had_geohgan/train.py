"""Geo-Hgan's two training steps on a preprocessed training tensor (methods.md sections 5.3 and 5.4).

Step 1, the latent space learning module, per mini-batch ``x``:

1. autoencoder step: ``MSE(AE(x), x)``;
2. `n_critic` latent discriminator steps (least-squares GAN, ``E(x)`` real, ``l_G(n)`` fake);
3. one latent generator step;
4. one sample critic step: ``-mean D(x) + mean D(G(l_G(n))) + 1e-3 mean D(AE(x)) + lambda_gp GP``;
5. every `n_critic`-th batch, one sample generator step ``-mean D(G(l_G(n)))``.

Step 2, the GAN-guided encoder: the encoder restarts from the step-1 AE encoder and is trained against the
frozen (eval-mode) ``G`` and ``D`` with :func:`had_geohgan.losses.izif_loss`.

All five step-1 optimisers are Adam(lr, betas=(beta1, 0.999)); step 2 uses Adam(encoder_lr, same betas).
Noise, shuffling and the GP interpolation are drawn from one seeded CPU ``torch.Generator``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

from .losses import critic_loss, gradient_penalty, izif_loss, lsgan_discriminator_loss, lsgan_generator_loss
from .nets import Autoencoder, Critic, LatentDiscriminator, LatentGenerator, SampleGenerator


def _batches(n: int, batch_size: int, generator: torch.Generator, shuffle: bool = True) -> list[torch.Tensor]:
    """Index batches; a last batch of fewer than 2 samples is dropped (BatchNorm needs two)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    out = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [b for b in out if b.numel() >= 2] or [order]


def _adam(module: torch.nn.Module, lr: float, beta1: float) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(beta1, 0.999))


def _noise(n: int, dim: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(n, dim, generator=generator).to(device)


def train_latent_space(x: torch.Tensor, ae: Autoencoder, l_g: LatentGenerator, l_d: LatentDiscriminator,
                       g: SampleGenerator, d: Critic, cfg: Any, generator: torch.Generator,
                       on_epoch: Callable[[int, dict], None] | None = None) -> dict[str, list[float]]:
    """Step 1 (see the module docstring). `cfg` has epochs, batch_size, lr, beta1, n_critic, lambda_gp,
    gp_alpha ("sample" or "channel"), recon_critic_weight, latent_dim. Returns per-epoch mean losses."""
    dev = x.device
    opt = {name: _adam(m, cfg.lr, cfg.beta1) for name, m in
           (("ae", ae), ("l_g", l_g), ("l_d", l_d), ("g", g), ("d", d))}
    history: dict[str, list[float]] = {k: [] for k in ("ae", "l_d", "l_g", "d", "g")}
    for module in (ae, l_g, l_d, g, d):
        module.train()
    for epoch in range(cfg.epochs):
        sums = {k: 0.0 for k in history}
        counts = {k: 0 for k in history}
        for i, idx in enumerate(_batches(x.shape[0], cfg.batch_size, generator)):
            real = x[idx.to(dev)]
            n = real.shape[0]
            # 1. autoencoder
            _, rec = ae(real)
            loss_ae = (rec - real).pow(2).mean()
            opt["ae"].zero_grad(set_to_none=True)
            loss_ae.backward()
            opt["ae"].step()
            # 2. latent discriminator (least squares), n_critic steps
            with torch.no_grad():
                z_real = ae.encoder(real)
            for _ in range(cfg.n_critic):
                with torch.no_grad():
                    z_fake = l_g(_noise(n, cfg.latent_dim, generator, dev))
                loss_ld = lsgan_discriminator_loss(l_d(z_real), l_d(z_fake))
                opt["l_d"].zero_grad(set_to_none=True)
                loss_ld.backward()
                opt["l_d"].step()
            # 3. latent generator
            loss_lg = lsgan_generator_loss(l_d(l_g(_noise(n, cfg.latent_dim, generator, dev))))
            opt["l_g"].zero_grad(set_to_none=True)
            loss_lg.backward()
            opt["l_g"].step()
            # 4. sample critic (WGAN-GP, plus the reference's 1e-3 term on AE reconstructions)
            with torch.no_grad():
                latent = l_g(_noise(n, cfg.latent_dim, generator, dev))
                fake = g(latent)
                _, rec = ae(real)
            gp = gradient_penalty(d, real, fake, generator, per_channel=cfg.gp_alpha == "channel")
            loss_d = critic_loss(d(real), d(fake), d(rec), gp, cfg.lambda_gp, cfg.recon_critic_weight)
            opt["d"].zero_grad(set_to_none=True)
            loss_d.backward()
            opt["d"].step()
            sums["ae"] += loss_ae.item(); sums["l_d"] += loss_ld.item(); sums["l_g"] += loss_lg.item()
            sums["d"] += loss_d.item()
            for k in ("ae", "l_d", "l_g", "d"):
                counts[k] += 1
            # 5. sample generator every n_critic-th batch
            if i % cfg.n_critic == 0:
                loss_g = -d(g(latent)).mean()
                opt["g"].zero_grad(set_to_none=True)
                loss_g.backward()
                opt["g"].step()
                sums["g"] += loss_g.item()
                counts["g"] += 1
        for k in history:
            history[k].append(sums[k] / max(counts[k], 1))
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history


def train_encoder(x: torch.Tensor, encoder: torch.nn.Module, g: SampleGenerator, d: Critic, cfg: Any,
                  generator: torch.Generator, on_epoch: Callable[[int, dict], None] | None = None):
    """Step 2: a copy of `encoder` trained with the izif loss against frozen `g` and `d`.

    `cfg` has encoder_epochs, batch_size, encoder_lr, beta1, kappa. Returns (encoder, per-epoch losses).
    """
    encoder = copy.deepcopy(encoder).train()
    g.eval()
    d.eval()
    for p in list(g.parameters()) + list(d.parameters()):
        p.requires_grad_(False)
    opt = _adam(encoder, cfg.encoder_lr, cfg.beta1)
    losses: list[float] = []
    for epoch in range(cfg.encoder_epochs):
        total, count = 0.0, 0
        for idx in _batches(x.shape[0], cfg.batch_size, generator):
            real = x[idx.to(x.device)]
            with torch.no_grad():
                f_real = d.features(real)
            fake = g(encoder(real))
            loss = izif_loss(real, fake, f_real, d.features(fake), cfg.kappa)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * real.shape[0]
            count += real.shape[0]
        losses.append(total / max(count, 1))
        if on_epoch is not None:
            on_epoch(epoch, {"encoder": losses})
    for p in list(g.parameters()) + list(d.parameters()):
        p.requires_grad_(True)
    return encoder.eval(), losses
