"""GAN-GP (CXR benchmark): GANomaly-style generator trained against a WGAN-GP critic.

Per mini-batch (the reference's order): (1) a critic step on ``-mean D(x) + mean D(x_hat)``; (2) a separate
critic step on ``lambda_gp * mean (||grad D(x_tilde)||_2 - 1)^2`` with ``x_tilde = a x + (1 - a) x_hat``,
``a ~ U(0, 1)`` per sample; (3) every ``n_critic``-th iteration a generator step on
``-w_adv mean D(x_hat) + w_lat mean (z_i - z_o)^2 + w_l1 mean |x - x_hat| + w_ssim clamp((1 - SSIM(x, x_hat))/2, 0, 1)``.
Adam (lr 1e-4, betas 0.5/0.999, no weight decay) for both, lr decayed linearly to 0 over the last
``lr_decay_epochs`` (:func:`decay_factor`); one phase of the SDK's loop with a two-optimiser ``training_step``.

Learning-rate decay relative to the run's length. The reference trains 650 epochs at the full rate for the first
550 and decays linearly over the last 100 (``lr * min(1, (epochs - epoch) / 100)``): a run of fewer than 100
epochs with that fixed length would train at a reduced rate from its first epoch (20 epochs: 20 % of ``lr`` at
the start). ``lr_decay_epochs=None`` (the default) decays over the reference's share of the run instead,
``round(epochs * 100 / 650)`` epochs (100 at 650, 2 at 15), so every run starts at the full rate; an explicit
``lr_decay_epochs`` larger than ``epochs`` is refused with a ``ConfigError`` when a fit starts (not when the
config is built: a saved model of a short run holding the old default, 100, loads).

Score: ``mean (z_i - z_o)^2 + mean |x - x_hat|`` on the [-1, 1] input (the reference's test-set min-max is
dropped: it is not per sample). The exported graph is E1 -> Dec -> E2 and the score; the critic is training-only.
Model selection: none (the final epoch, as the reference's fixed test checkpoint), so the config has no
validation or optimiser fields.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import Field

from had.capabilities import Capabilities
from had.errors import ConfigError
from had_sdk.torch_detector import TorchDetector
from had_sdk.training import Batches, Phase

from .common import ONNX_DYNAMO, CXRConfig, UnitRangeImages, image_spec, half_range_input
from .ganomaly import GANGPNet
from .ssim import ssim_loss


#: the reference's run: 650 epochs, the last 100 with a linearly decaying learning rate
REFERENCE_EPOCHS, REFERENCE_DECAY_EPOCHS = 650, 100


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
    ssim_range: Literal["signed", "unit"] = Field(
        "signed", description="signed: SSIM of the [-1, 1] input, as the reference (its constants assume a data "
        "range of 1, and on signed data SSIM does not change when an image is negated); unit: SSIM of (x + 1) / 2 "
        "in [0, 1] (not in the reference)")
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam beta2")
    lr_decay_epochs: int | None = Field(
        None, ge=0, description="final epochs over which lr decays linearly to 0 (0: none; None: the reference's "
                                "share, round(epochs * 100/650), i.e. 100 of 650; at most epochs)")

    def check_decay_within_run(self) -> None:
        """A ConfigError where the decay is longer than the run (it would start below lr). Checked when a fit
        starts, not when the config is built: a short run saved before the check (2 December 2026) holds the old
        default, 100, and was refused at load, then at set_threshold (a review), though it only shapes training."""
        if self.lr_decay_epochs is not None and self.lr_decay_epochs > self.epochs:
            raise ConfigError(f"gan-gp: lr_decay_epochs ({self.lr_decay_epochs}) exceeds epochs ({self.epochs}): the "
                              "run would start below lr; lower it, or leave it unset (None) to decay over the "
                              "reference's share of the run (100 of 650 epochs)")

    @property
    def decay_epochs(self) -> int:
        """Epochs of linear decay: ``lr_decay_epochs``, or the reference's share of the run when None."""
        if self.lr_decay_epochs is not None:
            return self.lr_decay_epochs
        return round(self.epochs * REFERENCE_DECAY_EPOCHS / REFERENCE_EPOCHS)


def decay_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """lr multiplier at 0-based `epoch`: 1 until the last `decay_epochs` epochs, then linear down to 1/decay_epochs
    (the reference's ``min(1, (epochs - epoch) / decay_epochs)``)."""
    return min(1.0, (epochs - epoch) / decay_epochs) if decay_epochs else 1.0


class GANGP(UnitRangeImages, TorchDetector):
    name = "gan-gp"
    Config = GANGPConfig
    #: fields of models saved before 1 December 2026 (9646ca8), which only shaped training
    removed_fields = frozenset({"weight_decay", "optimizer", "validation_fraction", "patience"})
    kinds = ("image",)
    onnx_unsupported = None
    capabilities = Capabilities(onnx_dynamo=ONNX_DYNAMO)

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.config.check_decay_within_run()

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
                + cfg.w_ssim * self._ssim_loss(batch, x_hat))

    def _ssim_loss(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """The SSIM term on the [-1, 1] input (the reference's), or on it mapped to [0, 1] (``ssim_range``)."""
        if self.config.ssim_range == "unit":
            return ssim_loss((x + 1) / 2, (x_hat + 1) / 2)
        return ssim_loss(x, x_hat)

    # ---- training: a critic/generator step in the SDK's loop ------------------------------------------------
    def _penalty(self, x: torch.Tensor, x_hat: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        alpha = torch.rand(x.shape[0], 1, 1, 1, generator=generator).to(x.device)
        mixed = (alpha * x + (1 - alpha) * x_hat).requires_grad_(True)
        out = self.network_.critic(mixed)
        grad, = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()

    def configure_optimizers(self):
        """Adam for the generator and for the critic (betas from the config, no weight decay)."""
        cfg, net = self.config, self.network_
        betas = (cfg.beta1, cfg.beta2)
        return (torch.optim.Adam(net.generator.parameters(), lr=cfg.lr, betas=betas),
                torch.optim.Adam(net.critic.parameters(), lr=cfg.lr, betas=betas))

    def training_phases(self, data):
        cfg = self.config
        self._opt_g, self._opt_d = optimizers = self.configure_optimizers()
        self._generator = torch.Generator().manual_seed(cfg.seed)

        def decay(epoch: int) -> None:  # linear over the last decay_epochs
            lr = cfg.lr * decay_factor(epoch, cfg.epochs, cfg.decay_epochs)
            self.history_.setdefault("lr", []).append(lr)
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] = lr

        self.history_["best_epoch"] = None
        batches = Batches(data.x.shape[0], cfg.batch_size, self._generator, drop_last=True)  # as the reference
        return [Phase("fit", self.training_step, batches, cfg.epochs, optimizers, data=data.x,
                      on_epoch_start=decay, average="batches")]

    def training_step(self, batch):
        """Two critic updates (Wasserstein loss, then the gradient penalty); a generator update every n_critic."""
        cfg, net, x = self.config, self.network_, batch.x
        with torch.no_grad():
            x_hat = net.generator(x)[1]
        d_loss = batch.update(-net.critic(x).mean() + net.critic(x_hat).mean(), self._opt_d)
        gp = batch.update(cfg.lambda_gp * self._penalty(x, x_hat, self._generator), self._opt_d)
        out = {"d_loss": d_loss, "gp": gp}
        if (batch.index + 1) % cfg.n_critic == 0:
            z_i, x_hat, z_o = net.generator(x)
            out["g_loss"] = batch.update(
                -cfg.w_adv * net.critic(x_hat).mean() + cfg.w_lat * ((z_i - z_o) ** 2).mean()
                + cfg.w_l1 * (x - x_hat).abs().mean() + cfg.w_ssim * self._ssim_loss(x, x_hat), self._opt_g)
        return out
