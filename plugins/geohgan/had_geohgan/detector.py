"""The ``geohgan`` detector: Geo-Hgan on image tiles ``(N, C, h, w)`` (methods.md section 5).

Fit: per-band min-max scaling to [0, 1] fitted on the training tiles (inside the graph), step 1 (AE + latent
LSGAN + sample WGAN-GP with the CBAM critic), step 2 (GAN-guided encoder), then the score type is chosen.

Scores (all three are computed; :meth:`GeoHgan.score_all` returns them, ``score_type`` picks the deployed one):
``img_distance = MSE(G(E(x)), x)``, ``anomaly_score = img_distance + kappa * MSE(f(G(E(x))), f(x))`` with
``f`` the critic's features, ``z_distance = MSE(E(G(E(x))), E(x))``, each a per-tile mean.

Score selection (``score_type="auto"``), on the training tiles only: for each score the quartile coefficient
of dispersion ``(Q3 - Q1) / (Q3 + Q1)`` of its training distribution is computed and the score with the
smallest one (the most stable, tightest distribution of the normal bulk relative to its level, so that
outliers stand out) is deployed. The reference instead keeps the score with the best *test* AUROC; that uses
test labels and is not done here. The three dispersions are kept in ``score_selection_``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import torch
from had.errors import InvalidInputError
from had.image_checks import TileFill
from had_sdk.torch_detector import TorchConfig, TorchDetector
from had_sdk.torch_runtime import float32_tensor
from had_sdk.training import Batches, Phase
from pydantic import Field, PositiveInt
from torch import nn

from .losses import geohgan_scores
from .nets import (Autoencoder, Critic, LatentDiscriminator, LatentGenerator, SampleGenerator, ZDecoder, ZEncoder,
                   fold_spectral_norm)
from .train import EncoderStep, LatentSpaceStep

SCORE_TYPES = ("img_distance", "anomaly_score", "z_distance")


class GeoHganConfig(TorchConfig):
    """Geo-Hgan's fields; reference values in brackets where our default differs (CPU-sized defaults). The GAN
    loop is Geo-Hgan's own: Adam (lr, encoder_lr, beta1), no weight decay, no early stopping, so the SDK's
    optimizer, weight_decay, validation_fraction and patience fields are not among them."""

    epochs: int = Field(20, ge=1, description="step-1 epochs (latent space learning module) [reference 100]")
    encoder_epochs: int = Field(20, ge=1, description="step-2 epochs (GAN-guided encoder) [reference 100]")
    batch_size: int = Field(64, ge=2, description="mini-batch size (a last batch of 1 tile is dropped: BatchNorm)")
    lr: float = Field(2e-4, gt=0.0, description="Adam learning rate of the five step-1 networks")
    encoder_lr: float = Field(1e-4, gt=0.0, description="Adam learning rate of the step-2 encoder")
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1 (beta2 = 0.999)")
    latent_dim: int = Field(100, ge=1, description="latent code size")
    first_width: int = Field(
        256, ge=1, description="width of the AE's first dense layer [reference 1024: C*h*w*1024 weights, "
                               "~650 MB at 39 channels of 64x64; 256 keeps it trainable on a small CPU machine]")
    hidden_widths: list[PositiveInt] = Field([256, 128, 128], min_length=1,
                                     description="widths of the next dense layers [reference 512, 256, 128]")
    bn_eps: float = Field(0.8, gt=0.0, description="eps of the generator's two inner BatchNorm2d (the reference "
                                                   "passes 0.8 positionally, i.e. as eps; 1e-5 is PyTorch's default)")
    n_critic: int = Field(5, ge=1, description="latent discriminator steps per batch; generator step every n_critic batches")
    lambda_gp: float = Field(10.0, ge=0.0, description="gradient penalty weight")
    gp_alpha: Literal["sample", "channel"] = Field(
        "sample", description="GP interpolation weight drawn per sample (WGAN-GP) or per sample and channel (reference)")
    recon_critic_weight: float = Field(1e-3, ge=0.0, description="weight of mean D(AE(x)) in the critic loss (reference 1e-3)")
    kappa: float = Field(1.0, ge=0.0, description="weight of the critic-feature term in the encoder loss and anomaly_score")
    scaling: Literal["minmax", "none"] = Field(
        "minmax", description="per-band scaling fitted on the training tiles: minmax to [0, 1] (the reference's "
                              "/255 double scaling is not reproduced), or none")
    score_type: Literal["auto", "img_distance", "anomaly_score", "z_distance"] = Field(
        "auto", description="deployed score; auto = smallest quartile dispersion on the training tiles (see docs)")
    score_batch_size: int = Field(1 << 22, ge=1, description="values (tiles x C x h x w) per scoring batch")


class BandMinMax(nn.Module):
    """``(x - min_c) / span_c`` per channel of ``(n, C, h, w)``; buffers set from training tiles by `fit`."""

    def __init__(self, channels: int, enabled: bool = True):
        super().__init__()
        self.enabled = enabled
        self.register_buffer("low", torch.zeros(1, channels, 1, 1))
        self.register_buffer("span", torch.ones(1, channels, 1, 1))

    def fit(self, X: np.ndarray) -> "BandMinMax":
        if self.enabled:
            lo, hi = X.min(axis=(0, 2, 3)).astype(np.float64), X.max(axis=(0, 2, 3)).astype(np.float64)
            span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
            self.low.copy_(torch.from_numpy(lo).view(1, -1, 1, 1))
            self.span.copy_(torch.from_numpy(span).view(1, -1, 1, 1))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.low) / self.span


class GeoHganNet(nn.Module):
    """The scoring network: encoder E, sample generator G, critic D (training-only nets are not kept)."""

    def __init__(self, encoder: ZEncoder, generator: SampleGenerator, critic: Critic):
        super().__init__()
        self.encoder, self.generator, self.critic = encoder, generator, critic


def quartile_dispersion(values: np.ndarray) -> float:
    """``(Q3 - Q1) / (Q3 + Q1)`` (scores are non-negative; a zero denominator gives inf)."""
    q1, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 75])
    return float((q3 - q1) / (q3 + q1)) if q3 + q1 > 0 else float("inf")


def select_score_type(train_scores: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The score with the smallest quartile dispersion on training data, and every dispersion."""
    dispersion = {k: quartile_dispersion(v) for k, v in train_scores.items()}
    return min(SCORE_TYPES, key=lambda k: (dispersion[k], SCORE_TYPES.index(k))), dispersion


class GeoHgan(TorchDetector):
    """Geo-Hgan (autoencoder + latent LSGAN + sample WGAN-GP with CBAM critic, GAN-guided encoder) on tiles."""

    name = "geohgan"
    Config = GeoHganConfig
    #: fields of models saved before 1 December 2026 (9544e63), which only shaped training
    removed_fields = frozenset({"weight_decay", "optimizer", "validation_fraction", "patience"})
    kinds = ("image",)
    uses_labels = False
    onnx_unsupported = None
    onnx_rtol: ClassVar[float] = 1e-3

    # ---- networks ----------------------------------------------------------------------------------
    def _shape(self, spec: dict[str, Any]) -> tuple[int, int, int]:
        c, h, w = (int(v) for v in spec["sample_shape"])
        if h % 4 or w % 4:
            raise InvalidInputError(f"geohgan needs tile height and width divisible by 4, got {h}x{w}")
        return c, h, w

    def build_preprocessing(self, spec):
        return BandMinMax(int(spec["n_features"]), enabled=self.config.scaling == "minmax")

    def _encoder(self, shape) -> ZEncoder:
        cfg = self.config
        return ZEncoder(int(np.prod(shape)), cfg.latent_dim, cfg.first_width, tuple(cfg.hidden_widths))

    def build_network(self, spec):
        shape = self._shape(spec)
        return GeoHganNet(self._encoder(shape), SampleGenerator(shape, self.config.latent_dim, self.config.bn_eps),
                          Critic(shape))

    # ---- training ----------------------------------------------------------------------------------
    def training_phases(self, data):
        """Step 1 (five networks, five optimisers), then step 2 (the encoder against frozen G and D)."""
        cfg = self.config
        shape = self._shape(self.input_spec_)
        net = self.network_
        generator = torch.Generator().manual_seed(cfg.seed)
        x, dev = data.x, data.x.device
        self._note_constant_bands(x)
        ae = Autoencoder(self._encoder(shape),
                         ZDecoder(shape, cfg.latent_dim, cfg.first_width, tuple(cfg.hidden_widths))).to(dev)
        l_g, l_d = LatentGenerator(cfg.latent_dim).to(dev), LatentDiscriminator(cfg.latent_dim).to(dev)
        step1 = LatentSpaceStep(ae, l_g, l_d, net.generator, net.critic, cfg, generator)
        batches = Batches(x.shape[0], cfg.batch_size, generator, min_size=2)  # BatchNorm needs two tiles
        yield Phase("step 1", step1, batches, cfg.epochs, list(step1.opt.values()), data=x, modules=step1.modules,
                    group="step1", average="batches")
        step2 = EncoderStep(ae.encoder, net.generator, net.critic, cfg)

        def finish() -> None:
            step2.release()
            net.encoder.load_state_dict(step2.encoder.state_dict())
            self._select_score_type(x)

        yield Phase("step 2", step2, batches, cfg.encoder_epochs, step2.optimizer, data=x, modules=(step2.encoder,),
                    on_start=step2.freeze, on_end=finish, loss_key="step2")

    def _note_constant_bands(self, x: torch.Tensor) -> None:
        """A fit note naming the bands constant over every training tile (scaled: the same value everywhere): min-max
        scaling leaves them at their span of 1, so on data where they vary the scores follow them (a read-only
        probe of 7 December 2026: a band constant at 7 in training, varying on new data, flagged 36 of 36 tiles,
        scores 6.4-8.1 against 0.002-0.004; was: no word at fit)."""
        if self.config.scaling != "minmax":
            return
        flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1)
        constant = (flat.amax(dim=1) - flat.amin(dim=1) <= 0).nonzero().flatten().tolist()
        if constant:
            said = ", ".join(str(c + 1) for c in constant[:8]) + (", ..." if len(constant) > 8 else "")
            self.add_fit_note(
                f"band(s) {said} hold one value in every training tile: min-max scaling cannot scale them, so where "
                "they vary in the data scored the scores follow them; leave them out (--data bands=...) unless a "
                "change in them is the anomaly you look for")

    def _select_score_type(self, train: torch.Tensor) -> None:
        cfg = self.config
        self.model_.eval()
        all_scores = self._all_scores_tensor(train)
        if cfg.score_type == "auto":
            chosen, dispersion = select_score_type(all_scores)
        else:
            chosen, dispersion = cfg.score_type, {k: quartile_dispersion(v) for k, v in all_scores.items()}
        self.score_type_ = chosen
        self.score_selection_ = {"rule": "min quartile dispersion on training tiles" if cfg.score_type == "auto"
                                 else "fixed by config", "dispersion": dispersion, "chosen": chosen}
        self.history_["score_selection"] = self.score_selection_

    def _all_scores_tensor(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        net = self.network_
        per = int(np.prod(x.shape[1:]))
        step = max(1, self.config.score_batch_size // per)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in SCORE_TYPES}
        with torch.no_grad():
            for start in range(0, x.shape[0], step):
                s = geohgan_scores(net.encoder, net.generator, net.critic, x[start:start + step], self.config.kappa)
                for k in SCORE_TYPES:
                    parts[k].append(s[k].double().cpu().numpy())
        return {k: np.concatenate(v) for k, v in parts.items()}

    # ---- scoring -----------------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Tile scores ``(N,)``; a model fitted on the tiles of a raster declaring a no-data value scores NaN the
        tiles holding more no-data pixels than the share they were tiled with (:class:`had.image_checks.TileFill`):
        those ``had score`` leaves out, as the ONNX runtime (and ``had serve``) scores them. Was: scored, the
        no-data value read as a measurement."""
        self._require_fitted()
        rule = TileFill.of_spec(self.input_spec_)
        if rule is None or np.ndim(X) != 4 or list(np.shape(X)[1:]) != list(self.input_spec_.get("sample_shape") or ()):
            return super().decision_function(X)  # its own checks say what is wrong
        X = np.asarray(X)
        left_out = rule.left_out(X)
        if not left_out.any():
            return super().decision_function(X)
        scores = np.full(X.shape[0], np.nan)
        if not left_out.all():
            scores[~left_out] = super().decision_function(X[~left_out])
        return scores

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        net = self.network_
        return geohgan_scores(net.encoder, net.generator, net.critic, x, self.config.kappa)[self.score_type_]

    def score_all(self, X) -> dict[str, np.ndarray]:
        """All three scores ``(N,)`` of tiles `X` (float64), whatever `score_type` deploys."""
        X = self._check_scoring_input(X)
        self.model_.eval()
        with torch.no_grad():
            x = self.preprocessing_(float32_tensor(X, self.device_))
        return self._all_scores_tensor(x)

    # ---- state and export --------------------------------------------------------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        state = super()._get_state()
        state["score_type_index"] = np.array([SCORE_TYPES.index(self.score_type_)], dtype=np.int64)
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        state = dict(state)
        self.score_type_ = SCORE_TYPES[int(np.asarray(state.pop("score_type_index")).reshape(-1)[0])]
        super()._set_state(state)

    def _get_meta(self) -> dict:
        meta = super()._get_meta()
        if getattr(self, "score_selection_", None) is not None:  # which score was deployed, and why
            meta["score_selection"] = self.score_selection_
        return meta

    def _set_meta(self, meta: dict) -> None:
        super()._set_meta(meta)
        if "score_selection" in meta:
            self.score_selection_ = meta["score_selection"]

    def export_onnx(self) -> bytes:
        """Preprocessing + E + G + D.features + E as ONNX, with the critic's spectral norm folded.

        The graph is exported from a copy whose spectral-norm parametrisations are replaced by the eval-mode
        normalised weights (:func:`had_geohgan.nets.fold_spectral_norm`), so it holds plain convolutions.
        """
        self._require_fitted()
        original = self.model_
        folded = type(original)(self, original.preprocessing, fold_spectral_norm(original.network))
        self.model_ = folded
        try:
            return super().export_onnx()
        finally:
            self.model_ = original
