"""GAN-GP (CXR benchmark): GANomaly-style generator trained against a WGAN-GP critic.

Per mini-batch (the reference's order): (1) a critic step on ``-mean D(x) + mean D(x_hat)``; (2) a separate
critic step on ``lambda_gp * mean (||grad D(x_tilde)||_2 - 1)^2`` with ``x_tilde = a x + (1 - a) x_hat``,
``a ~ U(0, 1)`` per sample; (3) every ``n_critic``-th iteration a generator step on
``-w_adv mean D(x_hat) + w_lat mean (z_i - z_o)^2 + w_l1 mean |x - x_hat| + w_ssim clamp((1 - SSIM(x, x_hat))/2, 0, 1)``.
Adam (lr 1e-4, betas 0.5/0.999, no weight decay: the SDK's ``optimizer`` and ``weight_decay`` fields are not
used) for both, lr decayed linearly to 0 over the last ``lr_decay_epochs``.

Score: ``mean (z_i - z_o)^2 + mean |x - x_hat|`` on the [-1, 1] input (the reference's test-set min-max is
dropped: it is not per sample). The exported graph is E1 -> Dec -> E2 and the score; the critic is training-only.
Model selection: none (the final epoch, as the reference's fixed test checkpoint); ``validation_fraction``
must stay 0.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from had.errors import HadError
from had_sdk import TorchDetector

from .common import ONNX_DYNAMO, CXRConfig, image_spec, half_range_input
from .ganomaly import GANGPNet
from .ssim import ssim_loss


class GANGPConfig(CXRConfig):
    epochs: int = Field(650, ge=1, description="passes over the training data (reference: 650)")
    batch_size: int = Field(16, ge=2, description="mini-batch size (reference: 16; the last short batch is dropped)")
    width: int = Field(8, ge=1, le=128, description="generator base width (reference: 64)")
    critic_width: int = Field(8, ge=1, le=128, description="critic base width (reference: 64)")
    rep_dim: int = Field(32, ge=2, le=2048, description="latent size nz (reference: 128)")
    n_critic: int = Field(5, ge=1, description="critic steps per generator step")
    lambda_gp: float = Field(10.0, ge=0.0, description="gradient penalty weight")
    w_adv: float = Field(1.0, ge=0.0, description="adversarial weight")
    w_lat: float = Field(1.0, ge=0.0, description="latent (z_i - z_o)^2 weight")
    w_l1: float = Field(10.0, ge=0.0, description="L1 reconstruction weight")
    w_ssim: float = Field(20.0, ge=0.0, description="SSIM loss weight")
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam beta2")
    lr_decay_epochs: int = Field(100, ge=0, description="final epochs over which lr decays linearly to 0 (ref 100)")
    validation_fraction: float = Field(0.0, ge=0.0, le=0.0, description="unused by gan-gp (must be 0)")


class GANGP(TorchDetector):
    name = "gan-gp"
    Config = GANGPConfig
    kinds = ("image",)
    summary = "GAN-GP: GANomaly-style E1-Dec-E2 generator with a WGAN-GP critic; score latent + L1 error"
    onnx_unsupported = None
    onnx_dynamo = ONNX_DYNAMO

    def build_network(self, spec):
        c, _, _ = image_spec(spec, self.name)
        cfg = self.config
        return GANGPNet(c, cfg.isize, cfg.width, cfg.rep_dim, cfg.critic_width)

    def build_preprocessing(self, spec):
        return half_range_input(self.config.isize, int(spec["n_features"]))

    def score_batch(self, x):
        z_i, x_hat, z_o = self.network_.generator(x)
        return ((z_i - z_o) ** 2).flatten(1).mean(dim=1) + (x - x_hat).abs().flatten(1).mean(dim=1)

    def loss(self, batch):  # the generator objective without the critic term (used for reporting only)
        z_i, x_hat, z_o = self.network_.generator(batch)
        cfg = self.config
        return (cfg.w_lat * ((z_i - z_o) ** 2).mean() + cfg.w_l1 * (batch - x_hat).abs().mean()
                + cfg.w_ssim * ssim_loss(batch, x_hat))

    # ---- the adversarial loop replaces the SDK's single-loss loop ------------------------------------------
    def _penalty(self, x: torch.Tensor, x_hat: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        alpha = torch.rand(x.shape[0], 1, 1, 1, generator=generator).to(x.device)
        mixed = (alpha * x + (1 - alpha) * x_hat).requires_grad_(True)
        out = self.network_.critic(mixed)
        grad, = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()

    def _train(self, train: torch.Tensor, val: torch.Tensor | None) -> dict[str, Any]:
        cfg = self.config
        net = self.network_
        betas = (cfg.beta1, cfg.beta2)
        opt_g = torch.optim.Adam(net.generator.parameters(), lr=cfg.lr, betas=betas)
        opt_d = torch.optim.Adam(net.critic.parameters(), lr=cfg.lr, betas=betas)
        generator = torch.Generator().manual_seed(cfg.seed)
        n = train.shape[0]
        batch_size = min(cfg.batch_size, n)
        history: dict[str, Any] = {"d_loss": [], "g_loss": [], "gp": [], "best_epoch": None}
        step = 0
        for epoch in range(cfg.epochs):
            lr = cfg.lr * min(1.0, (cfg.epochs - epoch) / cfg.lr_decay_epochs) if cfg.lr_decay_epochs else cfg.lr
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = lr
            net.train()
            perm = torch.randperm(n, generator=generator).to(train.device)
            sums = {"d_loss": 0.0, "g_loss": 0.0, "gp": 0.0}
            counts = {"d_loss": 0, "g_loss": 0, "gp": 0}
            for start in range(0, n - batch_size + 1, batch_size):  # drop_last, as the reference
                x = train[perm[start:start + batch_size]]
                with torch.no_grad():
                    x_hat = net.generator(x)[1]
                d_loss = -net.critic(x).mean() + net.critic(x_hat).mean()
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                gp = cfg.lambda_gp * self._penalty(x, x_hat, generator)
                opt_d.zero_grad(set_to_none=True)
                gp.backward()
                opt_d.step()
                sums["d_loss"] += float(d_loss.detach())
                sums["gp"] += float(gp.detach())
                counts["d_loss"] += 1
                counts["gp"] += 1
                step += 1
                if step % cfg.n_critic == 0:
                    z_i, x_hat, z_o = net.generator(x)
                    g_loss = (-cfg.w_adv * net.critic(x_hat).mean() + cfg.w_lat * ((z_i - z_o) ** 2).mean()
                              + cfg.w_l1 * (x - x_hat).abs().mean() + cfg.w_ssim * ssim_loss(x, x_hat))
                    opt_g.zero_grad(set_to_none=True)
                    g_loss.backward()
                    opt_g.step()
                    sums["g_loss"] += float(g_loss.detach())
                    counts["g_loss"] += 1
                if not (torch.isfinite(d_loss) and torch.isfinite(gp)):
                    raise HadError(f"{self.name}: critic loss became non-finite at epoch {epoch + 1}; lower `lr`")
            for key in sums:
                history[key].append(sums[key] / counts[key] if counts[key] else float("nan"))
        return history
