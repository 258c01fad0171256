"""CXR Deep SVDD: joint Deep SVDD and L1 reconstruction on a ResNet-18-type autoencoder (one-class objective).

Loss per mini-batch: ``w_svdd * mean_i ||code_i - c||^2 + w_rec * mean_i sum_pixels |x_hat_i - x_i|``.
The centre ``c`` is the mean eval-mode code of the training images after the optional L1-only pre-training
(``pretrain_epochs``), with coordinates closer to 0 than ``eps`` pushed to +-eps (Deep SVDD's rule); it is then
fixed. Score: ``||code - c||^2``; only the encoder, its head and ``c`` are in the exported graph.

Model selection: the epoch with the lowest objective on a held-out share of the *normal training* images
(``validation_fraction``); the reference kept the epoch with the best *test* AUC, which `had` does not do.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from had.capabilities import Capabilities
from had_sdk.torch_detector import TorchDetector
from had_sdk.training import Batches, Phase

from .common import ONNX_DYNAMO, CXRLoopConfig, ImageInput, image_spec
from .resnet import ResNet18AE, load_imagenet_weights

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class CXRDeepSVDDConfig(CXRLoopConfig):
    w_svdd: float = Field(0.5, ge=0.0, description="weight of the distance to c (reference runs: .1-.9; default .5)")
    w_rec: float = Field(0.5, ge=0.0, description="weight of the summed-pixel L1 reconstruction (default .5)")
    rep_dim: int = Field(32, ge=2, le=2048, description="code size (reference: 100; experiments 200, 500)")
    width: int = Field(8, ge=1, le=128, description="ResNet base width (64 = ResNet-18, the reference)")
    head_bias: bool = Field(True, description="bias in the Linear head (the reference has one; Deep SVDD's paper "
                            "drops biases because they admit the collapse code = c for every input)")
    pretrain_epochs: int = Field(0, ge=0, description="L1-only autoencoder epochs before c is set")
    eps: float = Field(0.1, gt=0.0, description="centre coordinates with |c_j| < eps become +-eps")
    normalization: Literal["half", "imagenet"] = Field(
        "half", description="half: [0,1] -> [-1,1] (the tanh range); imagenet: the reference's ImageNet "
                            "mean/std (grey images use the RGB means' average)")
    pretrained_path: str | None = Field(None, description="local file of torchvision ResNet-18 ImageNet weights "
                                        "(.safetensors or .pth state dict), needs width 64; None: from scratch")
    validation_fraction: float = Field(0.1, ge=0.0, lt=0.5, description="share of the normal training images held "
                                       "out; the epoch with the lowest held-out objective is kept (0: last)")
    patience: int = Field(1000, ge=1, description="epochs without held-out improvement before stopping")


class SVDDNet(nn.Module):
    def __init__(self, ae: ResNet18AE, rep_dim: int):
        super().__init__()
        self.ae = ae
        self.register_buffer("c", torch.zeros(rep_dim))


class CXRDeepSVDD(TorchDetector):
    name = "cxr-deepsvdd"
    Config = CXRDeepSVDDConfig
    kinds = ("image",)
    onnx_unsupported = None
    capabilities = Capabilities(onnx_dynamo=ONNX_DYNAMO)

    def build_network(self, spec):
        c, _, _ = image_spec(spec, self.name)
        cfg = self.config
        ae = ResNet18AE(c, cfg.width, cfg.rep_dim, cfg.head_bias)
        if cfg.pretrained_path and not getattr(self, "_loading", False):
            self.pretrained_loaded_ = load_imagenet_weights(ae.encoder, cfg.pretrained_path)
        return SVDDNet(ae, cfg.rep_dim)

    def build_preprocessing(self, spec):
        n = int(spec["n_features"])
        if self.config.normalization == "imagenet":
            mean = IMAGENET_MEAN if n == 3 else [sum(IMAGENET_MEAN) / 3] * n
            std = IMAGENET_STD if n == 3 else [sum(IMAGENET_STD) / 3] * n
            return ImageInput(self.config.isize, mean, std)
        return ImageInput(self.config.isize, [0.5] * n, [0.5] * n)

    def _rec_loss(self, rec, x):
        return (rec - x).abs().flatten(1).sum(dim=1).mean()

    def loss(self, batch):
        code, rec = self.network_.ae(batch)
        dist = ((code - self.network_.c) ** 2).sum(dim=1).mean()
        return self.config.w_svdd * dist + self.config.w_rec * self._rec_loss(rec, batch)

    def score_batch(self, x):
        return ((self.network_.ae.encode(x) - self.network_.c) ** 2).sum(dim=1)

    def training_phases(self, data):
        """Optional L1-only pretraining (its own Adam and shuffle), the centre, then the SDK's default phase."""
        cfg = self.config
        if cfg.pretrain_epochs:
            optimizer = torch.optim.Adam(self.model_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
            generator = torch.Generator().manual_seed(cfg.seed + 1)
            yield Phase("pretrain", lambda b: self._rec_loss(self.network_.ae(b.x)[1], b.x),
                        Batches(data.x.shape[0], cfg.batch_size, generator), cfg.pretrain_epochs, optimizer,
                        data=data.x, loss_key="pretrain_loss")
        self._set_center(data.x)
        yield from super().training_phases(data)

    def _set_center(self, train):
        cfg = self.config
        self.model_.eval()
        with torch.no_grad():
            codes = torch.cat([self.network_.ae.encode(train[s:s + cfg.batch_size])
                               for s in range(0, train.shape[0], cfg.batch_size)])
        c = codes.mean(dim=0)
        c = torch.where(c.abs() < cfg.eps, torch.where(c < 0, -cfg.eps, cfg.eps), c)
        self.network_.c.copy_(c)

    def _set_state(self, state):
        self._loading = True  # the saved weights replace any pretrained ones: do not read the file again
        try:
            super()._set_state(state)
        finally:
            self._loading = False
