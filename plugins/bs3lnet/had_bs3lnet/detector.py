"""The `bs3lnet` detector: BS3LNet (Gao et al., IEEE TGRS 61, 2023, 5504218) on one hyperspectral scene.

Transductive: `fit(cube)` trains the network on blind-spot patches of that scene (:mod:`.masking`) and the
training scores are its anomaly map; `score(cube)` runs the trained network once over any cube with the same
bands. The score of a pixel is the mean squared reconstruction error over bands from one full-image pass with
BatchNorm in eval mode (the reference then min-max scales the map to [0, 1]; that per-scene rescaling does not
change AUROC and is left out, so scores keep one scale across scenes and the threshold stays meaningful).

Built on :class:`had_sdk.TorchDetector` (seeding, device, determinism, preprocessing, the training loop,
safetensors state) with ``pixelwise = False``: the whole scene is one sample. Its one training phase draws
mini-batches of pixel indices (a fresh permutation per epoch, from the same numpy generator as the masks) and
its step builds their blind-spot patches; ``epochs`` may be fractional (the SDK's loop stops after
``total_steps`` steps). Its scene-level ONNX export is the SDK's ``SceneGraph``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np
import torch
from had.capabilities import Capabilities
from had.errors import InvalidInputError
from had.nodata import FillValue, fill_pixels, fill_value_of
from had_sdk.torch_detector import TorchConfig, TorchDetector, TrainingData
from had_sdk.training import Batch, Batches, Phase, total_steps
from pydantic import Field, field_validator, model_validator
from torch import nn

from .masking import BlindSpotSampler, blind_spot_l1
from .network import BS3LNetwork, init_weights, reconstruction_error

#: default epochs, chosen on the development scenes only (benchmarks/results/bs3lnet/choice_log.md, README)
DEFAULT_EPOCHS = 1.0
#: the largest patch side: a blind spot's flat position in its patch is stored as int16 (masking.BlindSpotSampler),
#: and 181 x 181 = 32,761 positions fit (183 gave torch's "index -32309 is out of bounds"; 10**40 numpy's "pad_width
#: must be of integral type")
MAX_PATCH = 181
#: the largest std of the weight init (the reference's 0.02 is 50 times smaller): the unnormalised encoder output
#: and the skip it feeds scale as the std, the output convolution once more (init_gain=1e9: NaN loss at step 1,
#: blamed on the scene)
MAX_INIT_GAIN = 1.0
#: the most residual blocks: 500 times the reference's 2 (a deeper net is built block by block, so 2**63 of them
#: looped for ever before any size check could say so)
MAX_BLOCKS = 1000


class BS3LNetConfig(TorchConfig):
    """BS3LNet's fields; defaults are the reference's (``BS3L:main.py``) except `epochs` (see the README)."""

    epochs: float = Field(
        DEFAULT_EPOCHS, gt=0.0,
        description="passes over the H*W patches (fractions allowed: training stops after "
                    "round(epochs * ceil(H*W / batch_size)) steps, at least 1); the reference uses 1000 on a GPU")
    batch_size: int = Field(100, ge=1, description="patches per mini-batch")
    lr: float = Field(1e-4, gt=0.0, description="Adam learning rate")
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1 (beta2 is 0.999)")
    weight_decay: float = Field(1e-5, ge=0.0, description="Adam (L2) weight decay")
    patch: int = Field(19, ge=3, le=MAX_PATCH, description=f"training patch side (odd; at most {MAX_PATCH}: the "
                       "blind spots' positions in a patch are stored as int16, and a patch of 183 wrapped them)")
    ratio: float = Field(0.9, gt=0.0, lt=1.0,
                         description="share of unmasked pixels: ceil(patch^2 * (1 - ratio)) blind spots per patch")
    window: int = Field(5, ge=3, description="neighbour window (odd): a spot's source is within +-window//2")
    redraw_masks: bool = Field(False, description="draw new masks for every batch (False: once, as the reference)")
    channels: int = Field(64, ge=1, description="feature channels (nch_ker)")
    n_blocks: int = Field(2, ge=0, le=MAX_BLOCKS, description=f"residual blocks (nblk; the reference's 2, at most "
                          f"{MAX_BLOCKS}: n_blocks=2**63 looped building the network)")
    init_gain: float = Field(0.02, gt=0.0, le=MAX_INIT_GAIN, description="std of the normal weight init (the "
                             f"reference's 0.02; at most {MAX_INIT_GAIN:g}, 50 times it: the untrained network's "
                             "output grows as its square, and init_gain=1e9 overflowed float32 at the first step)")
    scale: Literal["none", "minmax", "standard"] = Field(
        "none", description="none: raw values, as the reference; minmax: (x - min) / (max - min) over the scene; "
        "standard: (x - mean) / std over the scene (one mean and one std of all its values)")
    nodata: FillValue = Field(
        None, description="fill value: pixels holding it in every band (\"nan\": NaN) take their band's median "
        "over the other pixels (the network needs a full grid), are no patch centre in training, are left out of "
        "the threshold and score NaN; had fit sets it from the file's declared no-data value")

    @field_validator("patch", "window")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"must be odd (a centre pixel), got {value}")
        return value

    @model_validator(mode="after")
    def _window_within_patch(self):
        """A spot's source lies within +-window//2, wrapped inside the patch: a window wider than the patch wraps
        around it (was accepted without a word)."""
        if self.window > self.patch:
            raise ValueError(f"window ({self.window}) must be at most patch ({self.patch}): a spot's source lies "
                             "inside its patch; lower window or raise patch")
        return self


def scene_mean_std(X: np.ndarray, chunk: int = 65536) -> tuple[float, float]:
    """The mean and the (population) standard deviation of all of `X`'s values, in float64, two passes over chunks
    of `chunk` pixels (a memory-mapped flight line is never copied whole)."""
    rows = np.asarray(X).reshape(-1, np.shape(X)[-1])
    total = sum(float(rows[i:i + chunk].sum(dtype=np.float64)) for i in range(0, rows.shape[0], chunk))
    mean = total / rows.size
    squares = sum(float(np.square(rows[i:i + chunk].astype(np.float64) - mean).sum())
                  for i in range(0, rows.shape[0], chunk))
    return mean, float(np.sqrt(squares / rows.size))


class SceneScale(nn.Module):
    """``(x - low) / span`` with two scene-wide scalars fitted at fit: `kind` ``"minmax"`` (the minimum, the range),
    ``"standard"`` (the mean and the standard deviation of all the scene's values) or ``"none"`` (the identity).
    Either scaling makes the network's input, and so its scores, independent of the data's units.

    With a `fill` value (:mod:`had.nodata`), the pixels holding it in every band first take their band's median
    over the other pixels (``medians``, fitted with ``low`` and ``high`` on the other pixels alone), so the
    network sees a full grid of real values; the SDK's scoring module then scores those pixels NaN."""

    def __init__(self, kind: str = "none", n_bands: int = 1, fill: float | None = None):
        super().__init__()
        self.kind, self.enabled, self.fill = kind, kind != "none", fill
        self.register_buffer("low", torch.zeros(()))
        self.register_buffer("span", torch.ones(()))
        if fill is not None:
            self.register_buffer("medians", torch.zeros(n_bands))

    def fit(self, X: np.ndarray) -> "SceneScale":
        if self.fill is not None:
            X = np.asarray(X)[~fill_pixels(X, self.fill)]  # the other pixels' rows
            self.medians.copy_(torch.from_numpy(np.median(X, axis=0).astype(np.float32)))
        if self.kind == "minmax":
            low, high = float(np.min(X)), float(np.max(X))
            self.low.fill_(low)
            self.span.fill_(high - low if high > low else 1.0)
        elif self.kind == "standard":
            mean, std = scene_mean_std(X)
            self.low.fill_(mean)
            self.span.fill_(std if std > 0 else 1.0)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fill is not None:
            same = torch.isnan(x) if math.isnan(self.fill) else x == self.fill
            x = torch.where(same.all(dim=-1, keepdim=True), self.medians, x)
        return (x - self.low) / self.span if self.enabled else x


class BS3LNet(TorchDetector):
    """Blind-spot self-supervised network for hyperspectral anomaly detection (transductive)."""

    name = "bs3lnet"
    Config = BS3LNetConfig
    #: fields of models saved before 1 December 2026 (bba0a97), which only shaped training
    removed_fields = frozenset({"optimizer", "validation_fraction", "patience"})
    kinds = ("cube",)
    transductive = True
    pixelwise = False  # exported by the SDK as a SceneGraph: x (H, W, B) -> anomaly_map, score
    onnx_unsupported = None
    capabilities = Capabilities(onnx_min_extent=2)  # reflection padding of 1 needs two pixels in H and W

    # ---- network, preprocessing, score ---------------------------------------------------------------
    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        cfg = self.config
        network = BS3LNetwork(int(input_spec["n_features"]), cfg.channels, cfg.n_blocks)
        init_weights(network, cfg.init_gain)
        return network

    def build_preprocessing(self, input_spec: dict[str, Any]) -> nn.Module:
        return SceneScale(self.config.scale, int(input_spec["n_features"]), fill_value_of(self))

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        """``(H, W, B)`` preprocessed scene -> ``(H, W)`` mean squared reconstruction error over bands."""
        image = x.permute(2, 0, 1).unsqueeze(0)
        return reconstruction_error(image, self.network_(image))[0]

    # ---- input checks --------------------------------------------------------------------------------
    def _check_scene(self, X: np.ndarray) -> None:
        if X.shape[0] < 2 or X.shape[1] < 2:
            raise InvalidInputError(
                f"bs3lnet needs a scene of at least 2 x 2 pixels (reflection padding), got {X.shape[0]} x {X.shape[1]}")

    #: the fit's peak beyond the interpreter and torch, in float32 copies of the scene (the scene, its padded and
    #: preprocessed forms and the sampler's store): a 1024 x 1024 x 64 line (0.25 GiB) peaked at 1.87 GB
    FIT_COPIES = 6

    def fit(self, X, y=None) -> "BS3LNet":
        shape = np.shape(X)  # a file's scene (a memory map, a lazy view): its shape, nothing read
        if len(shape) == 3:
            from had.memory import check_fits

            # bs3lnet trains on the whole scene at once (transductive): said before the work, not by the OOM killer,
            # and before the scene is read whole (was: in on_fit_start, after the float32 scene was read, so under
            # a limit numpy's "Unable to allocate 275 MiB" came first)
            check_fits(f"bs3lnet's fit on a {shape[0]} x {shape[1]} x {shape[2]} scene",
                       self.FIT_COPIES * 4 * math.prod(shape),
                       "fit it on a window of the scene (--data rows=...,cols=...) or on a machine with more memory")
        return super().fit(X, y)

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self._check_scene(X)
        fill = fill_value_of(self)
        self._fill_mask = None if fill is None else fill_pixels(X, fill).reshape(-1)
        if self._fill_mask is not None and (~self._fill_mask).sum() < 2:
            raise InvalidInputError(f"bs3lnet: {int(self._fill_mask.sum()):,} pixels hold the no-data value {fill:g} "
                                    "in every band, which leaves fewer than 2 to train on")
        if note := self._units_note(X):
            self.add_fit_note(note)

    #: with ``scale="none"``, the scenes whose values the network takes as they are: a standard deviation within
    #: these bounds and a mean within OFFSET standard deviations of zero. The twelve benchmark scenes span std
    #: 0.06 (abu-beach-4, reflectance) to 1,220 (sandiego_plane, radiance counts), means within 6 stds
    UNIT_STD, OFFSET = (1e-3, 1e5), 1e3

    #: optimiser steps below which a fit is noted: the default epoch (chosen on 100 x 100 scenes, 100 steps) on a
    #: 30 x 30 scene is 9 steps, whose map still ranked by the pixels' norm (an implanted target's AUROC 0.00;
    #: 27 steps gave 0.96, 36 steps on 60 x 60 1.00)
    FEW_STEPS = 25

    def _few_steps_note(self, pixels: int) -> str:
        steps = self.history_["steps"]
        return (f"bs3lnet trained {steps} optimiser step{'s' if steps != 1 else ''} ({self.config.epochs:g} epoch(s) "
                f"of {pixels:,} pixels, batch {self.config.batch_size}): too few for its map to be trusted; "
                f"raise epochs (--set epochs={math.ceil(self.FEW_STEPS / max(1, steps) * self.config.epochs)})")

    def _units_note(self, X: np.ndarray) -> str | None:
        """A note when the raw values fed to the network (``scale="none"``, the reference's) are at a scale its
        initial weights and learning rate do not fit, or so far from zero that float32 loses their variation: a
        scene in units of 1e-6 gave a map ranking an implanted target below chance (AUROC 0.40), one offset by 1e6
        six distinct scores (0.08), where ``scale="standard"`` gave 1.00 for both."""
        if self.config.scale != "none":
            return None
        fill = getattr(self, "_fill_mask", None)
        pixels = np.asarray(X).reshape(-1, X.shape[-1])
        mean, std = scene_mean_std(pixels if fill is None else pixels[~fill])
        low, high = self.UNIT_STD
        if low <= std <= high and abs(mean) <= self.OFFSET * std:
            return None
        return (f"bs3lnet trained on the scene's raw values (scale='none', as the reference), whose mean is {mean:.3g} "
                f"and standard deviation {std:.3g}: a scale the network is not made for, so its map may be flat or "
                "inverted; fit it again with --set scale=standard (or scale='standard')")

    def _score(self, X: np.ndarray) -> np.ndarray:
        self._check_scene(X)
        return super()._score(X)

    @property
    def context_rows(self) -> int:  # type: ignore[override]
        """The network's receptive radius: one row per 3x3 convolution (encoder, two per residual block, decoder,
        output), so a scene scored tile by tile reads that many rows around each tile and equals the whole scene."""
        return 3 + 2 * int(self.config.n_blocks)

    # ---- training: one phase of Adam over blind-spot patches ----------------------------------------
    def total_steps(self, n_pixels: int) -> int:
        """Optimiser steps of a fit on `n_pixels` patches: ``round(epochs * ceil(n_pixels / batch_size))``, >= 1."""
        return total_steps(self.config.epochs, math.ceil(n_pixels / self.config.batch_size))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        cfg = self.config
        return torch.optim.Adam(self.model_.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999),
                                weight_decay=cfg.weight_decay)

    def training_phases(self, data: TrainingData) -> list[Phase]:
        """Adam over mini-batches of blind-spot patches of the scene ``data.x`` ``(H, W, B)``."""
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        self._sampler = BlindSpotSampler(data.x, cfg.patch, cfg.ratio, cfg.window, cfg.redraw_masks, rng)
        optimizer = self.configure_optimizers()
        self._centres = self._patch_centres()  # None: every pixel
        n_centres = self._sampler.n_pixels if self._centres is None else self._centres.size
        batches = Batches(n_centres, cfg.batch_size, rng)
        self.history_.update(steps=self.total_steps(n_centres), steps_per_epoch=len(batches),
                             sampler_bytes=self._sampler.stored_nbytes(), best_epoch=None, stopped_early=False)
        if self.history_["steps"] < self.FEW_STEPS:
            self.add_fit_note(self._few_steps_note(n_centres))
        started = time.perf_counter()

        def done() -> None:
            self.history_["train_seconds"] = time.perf_counter() - started
            del self._sampler

        return [Phase("fit", self.training_step, batches, cfg.epochs, optimizer, on_end=done, bar_unit="step",
                      hint="check the scene for extreme values or use scale='minmax'")]

    def _patch_centres(self) -> np.ndarray | None:
        """The flat indices of the pixels that are no fill (:mod:`had.nodata`), or None when every pixel is a
        patch centre (no fill value, or none in the scene): the training scene's fill took its band medians, whose
        blind-spot reconstruction would teach the network nothing about the scene."""
        fill = getattr(self, "_fill_mask", None)
        return None if fill is None or not fill.any() else np.flatnonzero(~fill)

    def training_step(self, batch: Batch) -> torch.Tensor:
        pixels = batch.idx if self._centres is None else self._centres[batch.idx]
        inputs, target, weight = self._sampler.batch(pixels)
        return blind_spot_l1(self.network_(inputs), target, weight)
