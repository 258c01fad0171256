"""The detectors: ``deepsvdd`` (one-class), ``deepsad`` (semi-supervised) and ``deepsad-ae`` (the autoencoder).

They build on :class:`had_sdk.TorchDetector` for device choice, deterministic seeding, batched scoring,
safetensors state and the verified ONNX export, and replace its single-phase loop with the reference's two
phases (:mod:`had_deepsad.training`): autoencoder pretraining, the centre ``c`` from the pretrained encoder,
then Deep SAD's loss with a MultiStepLR schedule and ``drop_last`` batches. The exported module is
``encoder -> ||z - c||^2`` with ``c`` a buffer, hence a constant in the ONNX graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from had.errors import InvalidInputError
from had_sdk.torch_detector import ScoringModule, TorchDetector, deterministic, resolve_device

from .config import AutoencoderConfig, DeepSADConfig, DeepSVDDConfig
from .networks import build_autoencoder
from .objective import init_center, squared_distance, to_reference_labels
from .training import pretrain_autoencoder, train_deepsad


class CentredNetwork(nn.Module):
    """The encoder ``phi`` and the fixed centre ``c`` (a buffer: saved with the weights, constant in ONNX)."""

    def __init__(self, encoder: nn.Module, rep_dim: int):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("c", torch.zeros(rep_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return squared_distance(self.encoder(x), self.c)


class _TwoPhase(TorchDetector):
    """Shared fit scaffolding: validated samples as one float32 tensor on the device, seeded generators."""

    kinds = ("tabular", "cube", "image")

    def _prepare(self, X: np.ndarray):
        samples = np.asarray(self._samples(X), dtype=np.float32)
        if samples.shape[0] < 2:
            raise InvalidInputError(f"{self.name} needs at least 2 training samples (BatchNorm), got {samples.shape[0]}")
        device = resolve_device(self.config.device)
        return samples, device

    def _autoencoder(self) -> nn.Module:
        cfg = self.config
        return build_autoencoder(self.input_spec_, cfg.net, cfg.hidden, cfg.rep_dim)


class DeepSVDD(_TwoPhase):
    """One-class Deep SVDD (Ruff et al., ICML 2018): minimise the mean ``||phi(x) - c||^2`` (labels ignored)."""

    name = "deepsvdd"
    Config = DeepSVDDConfig
    uses_labels = False
    summary = "Deep SVDD (one-class): bias-free encoder pulled to a fixed centre after AE pretraining"

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        encoder = build_autoencoder(input_spec, self.config.net, self.config.hidden, self.config.rep_dim).encoder
        return CentredNetwork(encoder, encoder.rep_dim)

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x)

    def _fit(self, X: np.ndarray, known: np.ndarray | None) -> None:
        cfg = self.config
        samples, device = self._prepare(X)
        semi = to_reference_labels(known if self.uses_labels else None, samples.shape[0])
        history: dict[str, Any] = {}
        with deterministic(device):
            torch.manual_seed(cfg.seed)
            np.random.seed(cfg.seed % 2**32)
            generator = torch.Generator().manual_seed(cfg.seed)
            ae = self._autoencoder().to(device)
            data = torch.from_numpy(samples).to(device)
            if cfg.pretrain:
                history["ae_loss"] = pretrain_autoencoder(
                    ae, data, epochs=cfg.ae_epochs, lr=cfg.ae_lr, weight_decay=cfg.ae_weight_decay,
                    milestones=cfg.ae_lr_milestones, batch_size=cfg.ae_batch_size, generator=generator,
                    progress=cfg.progress)
            network = CentredNetwork(ae.encoder, ae.encoder.rep_dim).to(device)
            network.c.copy_(init_center(ae.encoder, data))
            self.model_ = ScoringModule(self, nn.Identity(), network).to(device)
            self.device_ = device
            history["loss"] = train_deepsad(
                ae.encoder, network.c, data, torch.from_numpy(semi).to(device), eta=getattr(cfg, "eta", 1.0),
                epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay, milestones=cfg.lr_milestones,
                batch_size=cfg.batch_size, generator=generator, progress=cfg.progress)
            self.model_.eval()
        self.history_ = history
        return None

    @property
    def center_(self) -> np.ndarray:
        """The hypersphere centre ``c``."""
        self._require_fitted()
        return self.network_.c.detach().cpu().numpy().copy()


class DeepSAD(DeepSVDD):
    """Deep SAD (Ruff et al., ICLR 2020): Deep SVDD plus ``eta (d + eps)^(+-1)`` terms for known samples.

    Known labels follow `had` (1 known anomaly, -1 known normal, 0 unlabeled) and are converted to the
    reference's ``semi_target`` (+1 normal, -1 anomaly) internally. Without labels it is Deep SVDD.
    """

    name = "deepsad"
    Config = DeepSADConfig
    uses_labels = True
    summary = "Deep SAD (semi-supervised): known normals pulled to the centre, known anomalies pushed away"


class _Reconstruction(nn.Module):
    """The autoencoder as a scorer: per-sample mean squared reconstruction error."""

    def __init__(self, ae: nn.Module):
        super().__init__()
        self.ae = ae

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mean((self.ae(x) - x) ** 2, dim=tuple(range(1, x.dim())))


class DeepSADAutoencoder(_TwoPhase):
    """Deep SAD's pretraining autoencoder on its own: score = mean squared reconstruction error.

    :meth:`encode` gives the encoder's codes (the features of the hybrid shallow baselines).
    """

    name = "deepsad-ae"
    Config = AutoencoderConfig
    uses_labels = False
    summary = "Deep SAD's bias-free autoencoder (its pretraining); score = reconstruction MSE"

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        return _Reconstruction(build_autoencoder(input_spec, self.config.net, self.config.hidden, self.config.rep_dim))

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x)

    def _fit(self, X: np.ndarray, known: np.ndarray | None) -> None:
        cfg = self.config
        samples, device = self._prepare(X)
        with deterministic(device):
            torch.manual_seed(cfg.seed)
            np.random.seed(cfg.seed % 2**32)
            generator = torch.Generator().manual_seed(cfg.seed)
            network = _Reconstruction(self._autoencoder()).to(device)
            self.history_ = {"loss": pretrain_autoencoder(
                network.ae, torch.from_numpy(samples).to(device), epochs=cfg.epochs, lr=cfg.lr,
                weight_decay=cfg.weight_decay, milestones=cfg.lr_milestones, batch_size=cfg.batch_size,
                generator=generator, progress=cfg.progress)}
            self.model_ = ScoringModule(self, nn.Identity(), network).to(device).eval()
            self.device_ = device
        return None

    def encode(self, X) -> np.ndarray:
        """The encoder's codes ``(n, rep_dim)`` of rows or images (a cube is encoded per pixel)."""
        return self.codes(self._samples(self._check_scoring_input(X)))

    def codes(self, samples: np.ndarray) -> np.ndarray:
        """Codes of already validated samples (rows or images), in batches, without input checks."""
        encoder = self.network_.ae.encoder.eval()
        out = []
        step = max(1, self.config.score_batch_size // int(np.prod(samples.shape[1:])))
        with torch.no_grad():
            for start in range(0, samples.shape[0], step):
                chunk = torch.from_numpy(np.ascontiguousarray(samples[start:start + step], dtype=np.float32))
                out.append(encoder(chunk.to(self.device_)).double().cpu().numpy())
        return np.concatenate(out)
