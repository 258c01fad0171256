"""Pieces shared by the four CXR detectors: the in-graph input transform, config fields, bank handling.

Inputs are images ``(N, C, H, W)`` in [0, 1] (the `had-plugin-images` sources; images in another range are
refused at fit and at scoring by :class:`UnitRangeImages`, through :func:`check_unit_range`). :class:`ImageInput` is the
preprocessing every detector puts inside its graph: a bilinear resize to ``isize`` when the images have another
side (the reference's ``Resize``), then ``(x - 0.5) / 0.5`` to [-1, 1], the range of the decoders' tanh
(MemDAE, RLAD and GAN-GP normalise this way; see the README for CXR Deep SVDD's ImageNet normalisation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from had import image_checks
from had.errors import InvalidInputError
from had_sdk.nn import span_outside_unit_range
from had_sdk.torch_detector import OptimizerConfig, TorchConfig, TorchDetectorConfig
from had_sdk.torch_runtime import float32_tensor

from .bank import AngleBank, MemoryNet, held_out_angle_scores
from .unet import UNetAE


#: export with the TorchScript exporter: on the 2-core development machine it takes 0.6-1 s per model against
#: 9-18 s for the dynamo exporter, with the same parity (max relative error 3e-5 or less on the test models)
ONNX_DYNAMO = False


class ImageInput(nn.Module):
    """Resize to ``isize`` x ``isize`` if needed, then normalise ``(x - mean) / std`` per channel."""

    def __init__(self, isize: int, mean: list[float], std: list[float]):
        super().__init__()
        self.isize = int(isize)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] != self.isize or x.shape[-1] != self.isize:
            x = F.interpolate(x, size=(self.isize, self.isize), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


def check_unit_range(X: np.ndarray, images: str) -> None:
    """Refuse `images` ("training images", "images to score") `X` whose values leave [0, 1], with one typed line:
    the transform and the decoders' tanh assume [0, 1], and images in another range (0-255, standardised) train a
    model of the brightness, or are scored against one trained on [0, 1], without a word."""
    if (span := span_outside_unit_range(X)) is not None:
        low, high = span
        hint = " (0-255 pixels: divide by 255)" if high > 1.5 and low >= 0 else ""
        raise InvalidInputError(
            f"the chest X-ray detectors take images with values in [0, 1] (the decoders' tanh range after "
            f"(x - 0.5) / 0.5); these {images} span [{low:.4g}, {high:.4g}]: scale them to [0, 1]{hint}")


class UnitRangeImages:
    """Mixin of every CXR detector (before :class:`~had_sdk.torch_detector.TorchDetector` in its bases): the
    images it fits on and those it scores pass :func:`check_unit_range`, every one of them (a validation part
    held out of training included). The fit records [0, 1] as the model's required range in its input spec
    (:func:`had.image_checks.require_range`), so the ONNX engine, without torch or this plugin, refuses the same
    images (was: it scored images in [-1, 1], which only values below -1 would have stopped)."""

    def _fit(self, X, y):
        check_unit_range(X, "training images")
        image_checks.require_range(self.input_spec_, 0.0, 1.0)  # was: known to this eager check alone (ONNX
        return super()._fit(X, y)  # scored [-1, 1] images); the artifact's spec now says it to a torch-free host

    def _score(self, X):
        check_unit_range(X, "images to score")
        return super()._score(X)


def half_range_input(isize: int, channels: int) -> ImageInput:
    """[0, 1] -> [-1, 1]: mean 0.5, std 0.5 on every channel."""
    return ImageInput(isize, [0.5] * channels, [0.5] * channels)


class CXRConfig(TorchConfig):
    """Fields of every CXR detector (the loop's fields come from the SDK's configs)."""

    isize: int = Field(28, ge=8, le=512, description="side the images are resized to inside the graph "
                                                     "(reference: 224/256 for CXR; 28 for MNIST-size data)")
    width: int = Field(8, ge=1, le=128, description="channel width multiplier (reference full size: see README)")
    rep_dim: int = Field(32, ge=2, le=2048, description="code size (reference: 100-200)")
    epochs: int = Field(50, ge=1, description="passes over the training data (reference: 50)")
    batch_size: int = Field(32, ge=1, description="mini-batch size (reference: 32)")
    lr: float = Field(1e-4, gt=0.0, description="Adam learning rate (reference: 1e-4)")
    score_batch_size: int = Field(65536, ge=1, description="pixels per scoring batch (images = this / H*W)")


class CXROptimizerConfig(CXRConfig, OptimizerConfig):
    """A CXR detector trained with the SDK's optimiser (RLAD)."""

    weight_decay: float = Field(1e-6, ge=0.0, description="Adam weight decay (reference: 1e-6)")


class CXRLoopConfig(CXROptimizerConfig, TorchDetectorConfig):
    """A CXR detector trained by the SDK's default loop, with early stopping (MemDAE, CXR Deep SVDD)."""


class BankMixin:
    """A detector whose network is a :class:`~had_cxr.bank.MemoryNet`: the CXR autoencoder at ``network_.ae`` and
    an :class:`~had_cxr.bank.AngleBank` at ``network_.bank``; it scores by the angle of a code to the bank.

    The bank's row count is known only after fit, so it is kept in ``_bank_rows`` before the network is built
    (from the training set at fit, from the saved array at load).
    """

    _bank_rows: int = 1

    def build_network(self, spec):
        c, _, _ = image_spec(spec, self.name)
        cfg = self.config
        return MemoryNet(UNetAE(c, cfg.isize, cfg.width, cfg.rep_dim), AngleBank(self._bank_rows, cfg.rep_dim, cfg.k))

    def build_preprocessing(self, spec):
        return half_range_input(self.config.isize, int(spec["n_features"]))

    def score_batch(self, x):
        return self.network_.bank(self.network_.ae.encode(x))

    def on_fit_start(self, X, y):
        self._bank_rows = X.shape[0]

    def on_fit_end(self, X):
        """The training scores, leave-one-out (:meth:`held_out_scores`): bank row i is training image i's."""
        self.note_k_cap()
        return self.held_out_scores(X)

    def note_k_cap(self) -> None:
        """A fit note when ``k`` is above the bank's rows, one per training image: every score is then the mean
        angle to the whole bank (was said by MemDAE alone; RLAD's ``k=1000000000``, or its default 100 on fewer
        training images, was capped without a word)."""
        bank = self.network_.bank
        if bank.effective_k < bank.k:
            self.add_fit_note(f"k={bank.k} is above the {bank.effective_k} training codes in the bank: each score is "
                              f"the mean angle to all {bank.effective_k} (k={bank.effective_k} in effect)")

    def codes(self, X: np.ndarray) -> torch.Tensor:
        """Eval-mode codes ``(n, rep_dim)`` of images `X` (batched)."""
        self.model_.eval()
        step = max(1, self.config.score_batch_size // int(np.prod(X.shape[1:])))
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], step):
                x = float32_tensor(X[start:start + step], self.device_)
                out.append(self.network_.ae.encode(self.preprocessing_(x)))
        return torch.cat(out)

    def held_out_scores(self, X: np.ndarray, codes: torch.Tensor | None = None) -> np.ndarray:
        """Scores of the training images `X` (those whose codes fill the bank, in its row order), each against
        the bank without its own row (:func:`~had_cxr.bank.held_out_angle_scores`; `codes`: theirs, if known).
        Was: scored against the whole bank, each found itself, and the threshold flagged several times the
        contamination of unseen normal images. New images are scored against the whole bank, as before."""
        bank = self.network_.bank
        if X.shape[0] != bank.bank.shape[0]:
            raise InvalidInputError(f"{self.name}'s training scores need the {bank.bank.shape[0]} images given to fit, "
                                    f"in their order (one bank row each), got {X.shape[0]}; pass the same images")
        codes = self.codes(X) if codes is None else codes
        with torch.no_grad():
            scores = held_out_angle_scores(codes, bank.bank, bank.effective_k)
        return scores.double().cpu().numpy()

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        key = next((k for k in state if k.endswith("bank.bank")), None)
        if key is None:
            raise KeyError("network.bank.bank")
        self._bank_rows = int(np.asarray(state[key]).shape[0])
        super()._set_state(state)

    def set_k(self, k: int, X_train: Any) -> "BankMixin":
        """Score with the `k` nearest bank codes from now on; training scores and threshold are recomputed on
        `X_train` (the data given to fit, leave-one-out as at fit: :meth:`held_out_scores`; was: each image
        against the whole bank, itself included). Lets a benchmark choose K on validation data without refitting."""
        if k < 1:
            raise InvalidInputError(f"k must be >= 1, got {k}")
        self._require_fitted()
        self.config.k = int(k)
        self.network_.bank.k = int(k)
        self.decision_scores_ = self.held_out_scores(self._check_scoring_input(X_train))
        self._set_threshold()
        self._record_fitted_params()
        return self


def image_spec(spec: dict[str, Any], name: str) -> tuple[int, int, int]:
    """(channels, height, width) of an image input spec; images are resized to isize, any H, W is accepted."""
    if spec.get("kind") != "image":
        raise InvalidInputError(f"{name} scores images (N, C, H, W), got {spec.get('kind')} data")
    c = int(spec["n_features"])
    h, w = spec["sample_shape"][1:]
    return c, int(h), int(w)
