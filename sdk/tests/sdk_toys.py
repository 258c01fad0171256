"""Tiny torch detectors for the SDK's own tests (rows/cubes and images), registered as an in-process plugin."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

import had
from had.capabilities import Capabilities
from had_sdk.nn import Standardize
from had_sdk.restarts import RestartsConfig
from had_sdk.torch_detector import TorchDetector, TorchDetectorConfig


class TinyConfig(TorchDetectorConfig):
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(32, ge=1)


class TinyAE(TorchDetector):
    name = "tiny-ae"
    Config = TinyConfig
    summary = "a 3-unit autoencoder for tests"

    def build_preprocessing(self, spec):
        return Standardize(spec["n_features"])

    def build_network(self, spec):
        d = spec["n_features"]
        return nn.Sequential(nn.Linear(d, 3), nn.Tanh(), nn.Linear(3, d))

    def loss(self, batch):
        return self.score_batch(batch).mean()

    def score_batch(self, x):
        return ((self.network_(x) - x) ** 2).mean(dim=-1)


class TinyRestartsConfig(TinyConfig, RestartsConfig):
    pass


class TinyAERestarts(TinyAE):
    name = "tiny-ae-restarts"
    Config = TinyRestartsConfig
    summary = "the 3-unit autoencoder with the restarts field"


class TinyImage(TorchDetector):
    name = "tiny-image"
    Config = TinyConfig
    kinds = ("image",)
    summary = "a two-convolution image autoencoder for tests"

    def build_network(self, spec):
        c = spec["n_features"]
        return nn.Sequential(nn.Conv2d(c, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, c, 3, padding=1))

    def loss(self, batch):
        return self.score_batch(batch).mean()

    def score_batch(self, x):
        return ((self.network_(x) - x) ** 2).mean(dim=(1, 2, 3))


class TinyScene(TorchDetector):
    """Whole-scene scorer: a reflection-padded 3x3 convolution reconstructs each pixel from its neighbourhood."""

    name = "tiny-scene"
    Config = TinyConfig
    kinds = ("cube",)
    pixelwise = False
    capabilities = Capabilities(onnx_min_extent=2)  # reflection padding of 1 needs two pixels
    context_rows = 1  # a 3x3 convolution: one row each side (scored tile by tile: had.tiling.score_tiles)

    def build_network(self, spec):
        b = spec["n_features"]
        return nn.Conv2d(b, b, 3, padding=1, padding_mode="reflect")

    def loss(self, batch):
        return self.score_batch(batch).mean()

    def score_batch(self, x):
        recon = self.network_(x.permute(2, 0, 1).unsqueeze(0)).squeeze(0).permute(1, 2, 0)
        return ((recon - x) ** 2).mean(dim=-1)


class ToyPlugin:
    @had.hookimpl
    def register_detectors(self, register):
        register("tiny-ae", TinyAE)
        register("tiny-ae-restarts", TinyAERestarts)
        register("tiny-image", TinyImage)
        register("tiny-scene", TinyScene)


class HashSeeded(TinyAE):
    """Reinitialises its network from a seed taken from ``hash()`` of a tuple holding a string, which Python
    salts per process (PYTHONHASHSEED): the same scores within a process, others in the next. Not registered;
    at a module's top level so that another process can import it (the kit's determinism check across processes)."""

    name = "hash-seeded"

    def on_train_start(self, train):
        torch.manual_seed(hash(("tiny", self.config.seed)) % 2**31)
        for module in self.network_.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
