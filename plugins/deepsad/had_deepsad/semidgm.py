"""``semidgm``: the semi-supervised deep generative model (Kingma et al., NIPS 2014), Deep SAD's baseline.

M2 (``model="m2"``) or M1+M2 (``model="m1+m2"``: a VAE trained first on every training row, frozen, and M2 on
its codes) with the networks and bound of :mod:`had_deepsad.dgm`, trained as the Deep SAD reference's
``SemiDeepGenerativeTrainer`` does: Adam with weight decay, MultiStepLR, shuffled ``drop_last`` batches, the loss
``J_alpha`` on each batch. Known labels follow `had` (1 known anomaly, -1 known normal, 0 unlabeled): a known
anomaly is class 1, a known normal class 0, the rest enter the unlabelled bound. Score: ``q(y = 1 | x)``, the
classifier's anomaly probability; the exported graph is the classifier (M1+M2: M1's mean code, then the
classifier). Images and cube pixels are flattened to rows for the bound, as the reference does; inputs are
expected in [0, 1] (Bernoulli likelihood; the Deep SAD protocol min-max scales them): training data outside it is
refused, unless ``scaling="minmax"`` scales each feature by its training range inside the model (not in the paper).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from had.capabilities import Capabilities
from torch import nn

from had.errors import InvalidInputError
from had.validation import n_samples
from had_sdk.nn import MinMaxScale, span_outside_unit_range
from had_sdk.torch_detector import TorchDetector, TrainingData

from .config import SemiDGMConfig
from .dgm import M2, VAE, m2_loss
from .networks import IMAGE_NETS, mlp_sizes
from .training import adam_phase

#: the reference's DGM sizes (hidden, z_dim) for its image networks (``networks/main.py``)
IMAGE_SIZES = {"mnist_lenet": ([128, 64], 32), "cifar10_lenet": ([512, 256], 128)}


def dgm_sizes(input_spec: dict[str, Any], hidden: list[int] | None,
              z_dim: int | None) -> tuple[int, list[int], int, str | None]:
    """(flattened input size, hidden sizes, z_dim, LeNet name or None) for `input_spec`."""
    shape = tuple(input_spec.get("sample_shape") or (input_spec["n_features"],))
    n_in = int(np.prod(shape)) if input_spec["kind"] == "image" else int(input_spec["n_features"])
    lenet = next((name for name, (s, _, _) in IMAGE_NETS.items() if s == shape), None)
    if input_spec["kind"] == "image" and lenet is not None:
        auto_hidden, auto_z = IMAGE_SIZES[lenet]
        return n_in, list(hidden or auto_hidden), z_dim or auto_z, lenet
    h, z = mlp_sizes(n_in, hidden, z_dim)
    return n_in, h, z, None


def known_classes(known: np.ndarray | None, n: int) -> np.ndarray:
    """had's known labels (1 anomaly, -1 normal, 0 unlabeled) -> classes 1 / 0 / -1 (unlabelled)."""
    if known is None:
        return np.full(n, -1, dtype=np.int64)
    known = np.asarray(known).reshape(-1)
    return np.where(known == 1, 1, np.where(known == -1, 0, -1)).astype(np.int64)


class SemiDGM(TorchDetector):
    """Kingma et al.'s M2 / M1+M2 as a semi-supervised anomaly detector; see the module docstring."""

    name = "semidgm"
    Config = SemiDGMConfig
    kinds = ("tabular", "cube", "image")
    uses_labels = True
    #: the kit plants anomalies without telling the detector any: a semi-supervised classifier then has no anomaly
    #: class to learn (test_semidgm.py shows it finding planted anomalies from a few known ones)
    capabilities = Capabilities(blind_to_planted={kind: "a semi-supervised classifier needs known anomalies in fit"
                                                  for kind in ("tabular", "cube", "image")})

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        n = n_samples(X)  # pixels of a cube (these detectors are pixelwise), rows, images: no read of X
        if n < 2:
            raise InvalidInputError(f"{self.name} needs at least 2 training samples, got {n}")

    def build_preprocessing(self, input_spec: dict[str, Any]) -> nn.Module:
        if self.config.scaling == "minmax":
            return MinMaxScale(tuple(input_spec.get("sample_shape") or (input_spec["n_features"],)))
        return nn.Identity()

    def fit_preprocessing(self, module: nn.Module, X: np.ndarray) -> None:
        """Fit the scaling, or (``scaling="none"``) refuse training samples outside [0, 1], which the Bernoulli
        likelihood cannot model: the bound would train on them without a word and rank at random."""
        super().fit_preprocessing(module, X)
        if self.config.scaling == "none" and (span := span_outside_unit_range(X)) is not None:
            low, high = span
            raise InvalidInputError(
                f"{self.name} models its inputs with a Bernoulli likelihood, which needs values in [0, 1] (the "
                f"Deep SAD protocol min-max scales the data); these training samples span [{low:.4g}, "
                f"{high:.4g}]: scale them to [0, 1] first, or fit with scaling=minmax (--set scaling=minmax), "
                "which scales each feature by its training range inside the model")

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        cfg = self.config
        n_in, hidden, z_dim, lenet = dgm_sizes(input_spec, cfg.hidden, cfg.z_dim)
        features = VAE(n_in, hidden, z_dim) if cfg.model == "m1+m2" else None
        return M2(n_in, hidden, z_dim, lenet, features)

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_.classify(x.flatten(1))[:, 1]

    def training_phases(self, data: TrainingData):
        """m1+m2: the VAE on every training row first (then frozen); then M2 on ``J_alpha``."""
        cfg, net = self.config, self.network_
        x = data.x.flatten(1)
        classes = torch.from_numpy(known_classes(data.y, x.shape[0])).to(x.device)
        generator = torch.Generator().manual_seed(cfg.seed)
        if net.features is not None:
            vae = net.features.requires_grad_(True)
            yield adam_phase("vae pretraining", vae, lambda b: -vae.elbo(b.x).mean(), x, epochs=cfg.vae_epochs,
                             lr=cfg.vae_lr, weight_decay=cfg.vae_weight_decay, milestones=cfg.vae_lr_milestones,
                             batch_size=cfg.vae_batch_size, generator=generator, loss_key="vae_loss")
            vae.requires_grad_(False).eval()
        trained = nn.ModuleList([net.encoder, net.decoder, net.classifier])
        yield adam_phase("semidgm training", trained, lambda b: m2_loss(net, b.x, b.y, cfg.alpha), x,
                         epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay, milestones=cfg.lr_milestones,
                         batch_size=cfg.batch_size, generator=generator, labels=classes)
