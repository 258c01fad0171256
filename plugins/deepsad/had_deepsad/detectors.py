"""The detectors: ``deepsvdd`` (one-class), ``deepsad`` (semi-supervised) and ``deepsad-ae`` (the autoencoder).

They build on :class:`had_sdk.TorchDetector` for device choice, deterministic seeding, the training loop,
batched scoring, safetensors state and the verified ONNX export; their ``training_phases`` are the
reference's two (:mod:`had_deepsad.training`): autoencoder pretraining, the centre ``c`` from the pretrained
encoder (or, with ``pretrain_transfer="none"``, from a random network: the reference as coded), then Deep SAD's
loss with a MultiStepLR schedule and ``drop_last`` batches. The exported module is ``encoder -> ||z - c||^2``
(soft-boundary Deep SVDD: ``||z - c||^2 - R^2``) with ``c`` and ``R`` buffers, hence constants in the ONNX graph.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from had.errors import ConfigError, InvalidInputError, LabelError
from had.validation import n_samples
from had_sdk.restarts import combine, training_scale
from had_sdk.svdd import radius
from had_sdk.torch_detector import TorchDetector, TrainingData
from had_sdk.torch_runtime import float32_tensor

from .config import AutoencoderConfig, DeepSADConfig, DeepSVDDConfig
from .networks import build_autoencoder
from .objective import eval_distances, init_center, squared_distance, to_reference_labels
from .recipe import resolved
from .scaling import QuantileScale
from .whitening import WhitenScale
from .training import deepsad_phase, pretraining_phase, soft_boundary_phase


class CentredNetwork(nn.Module):
    """The encoder ``phi`` and the fixed centre ``c`` (a buffer: saved with the weights, constant in ONNX);
    with ``soft_boundary`` also the radius ``R`` (a scalar buffer), and the score is ``dist - R^2``.

    With ``n_snapshots`` > 0 (``snapshot_epochs``), ``snapshots`` holds copies of the encoder as it was after
    those epochs, and the score is ``mean_k dist_k / scale[k]`` over the snapshots and the final encoder, each
    distance divided by the IQR of its training distances (``scale``; :func:`had_sdk.restarts.combine`)."""

    def __init__(self, encoder: nn.Module, rep_dim: int, soft_boundary: bool = False, n_snapshots: int = 0):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("c", torch.zeros(rep_dim))
        self.soft_boundary = soft_boundary
        if soft_boundary:
            self.register_buffer("R", torch.zeros(()))
        if n_snapshots:
            self.snapshots = nn.ModuleList(copy.deepcopy(encoder) for _ in range(n_snapshots))
            self.register_buffer("scale", torch.ones(n_snapshots + 1))

    @property
    def encoders(self) -> list[nn.Module]:
        """The snapshots, oldest first, then the final encoder."""
        return [*getattr(self, "snapshots", ()), self.encoder]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "snapshots"):
            return combine((squared_distance(encoder(x), self.c) for encoder in self.encoders), self.scale)
        dist = squared_distance(self.encoder(x), self.c)
        return dist - self.R ** 2 if self.soft_boundary else dist


#: the median over features of ``|mean| / (max - min)`` above which rows are said to sit far from the origin: rows
#: min-max scaled to [0, 1] (the Deep SAD protocol's) are at most 1 from it whatever their tails (a review: by
#: ``|mean| / std``, shuttle scaled to [0, 1] sat 15.4 from it, and was told to scale to [0, 1]); the audit's rows
#: around -20 (a spread of 1, outliers at +8) sit 1.5 from it
FAR_FROM_ORIGIN = 1.0


def far_from_origin(name: str, X: Any, scaling: str | None) -> str | None:
    """A fit note for training rows whose features sit a median of more than :data:`FAR_FROM_ORIGIN` times their
    range from 0, fitted without scaling: the networks have no bias terms (as the papers' and the reference code's),
    so a shifted table is ranked poorly, even inverted (a numeric-edge audit: planted outliers ranked last, AUROC
    0.000 for deepsad-ae on rows around -20, 0.154 for deepsad around +1000, without a word). Rows only (a cube or
    images: None), from at most 10,000 of them, evenly spaced."""
    if scaling not in (None, "none") or getattr(X, "ndim", 0) != 2 or len(X) < 2:
        return None
    rows = np.asarray(X[:: -(-len(X) // 10_000)], dtype=np.float64)
    mean, span = rows.mean(axis=0), np.ptp(rows, axis=0)
    varies = span > 0
    if not varies.any():
        return None
    far = float(np.median(np.abs(mean[varies]) / span[varies]))
    if not far > FAR_FROM_ORIGIN:
        return None
    return (f"the training rows' features sit a median of {far:.3g} times their range from 0, and {name}'s network "
            "has no bias terms (as the paper's), so it separates data near the origin: it may rank these rows "
            "poorly, even inverted. Scale each feature first (to [0, 1], as the Deep SAD protocol does; had bench "
            "--protocol deepsad does it)")


class _TwoPhase(TorchDetector):
    """Shared pieces: the input check and the autoencoder of the configured network."""

    kinds = ("tabular", "cube", "image")
    #: fields of models saved before 1 December 2026 (ad71f81), which only shaped training
    removed_fields = frozenset({"optimizer", "validation_fraction", "patience"})

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        n = n_samples(X)  # pixels of a cube (these detectors are pixelwise), rows, images: no read of X
        if n < 2:
            raise InvalidInputError(f"{self.name} needs at least 2 training samples (BatchNorm), got {n}")
        if (note := far_from_origin(self.name, X, getattr(self.config, "scaling", "none"))) is not None:
            self.add_fit_note(note)

    def _loop_fields(self, prefix: str = "") -> dict[str, Any]:
        cfg = self.config
        fields = {"epochs": getattr(cfg, prefix + "epochs"), "lr": getattr(cfg, prefix + "lr"),
                  "weight_decay": getattr(cfg, prefix + "weight_decay"),
                  "milestones": getattr(cfg, prefix + "lr_milestones"),
                  "batch_size": getattr(cfg, prefix + "batch_size")}
        recipe = self.training_fields_
        return {**fields, **({"epochs": recipe[prefix + "epochs"]} if prefix + "epochs" in recipe else {})}

    @property
    def training_fields_(self) -> dict[str, Any]:
        """The values of the recipe's fields this fit trains with (config where set, else by the input's shape)."""
        return resolved(self.config, self.input_spec_["kind"])

    def _autoencoder(self) -> nn.Module:
        cfg = self.config
        return build_autoencoder(self.input_spec_, cfg.net, cfg.hidden, cfg.rep_dim)


class DeepSVDD(_TwoPhase):
    """Deep SVDD (Ruff et al., ICML 2018), labels ignored: one-class (minimise the mean ``||phi(x) - c||^2``) or
    soft-boundary (``objective="soft-boundary"``: radius ``R``, share ``nu`` allowed outside; score ``dist - R^2``).

    R is updated as the reference's trainer does (after ``warm_up_epochs``, to the (1-nu)-quantile of each
    batch's distances), then once more at the end on every training row in eval mode, so that at most a share
    nu of the training data scores above 0 (the reference keeps the last batch's train-mode R).
    """

    name = "deepsvdd"
    Config = DeepSVDDConfig
    uses_labels = False

    @property
    def soft_boundary(self) -> bool:
        return getattr(self.config, "objective", "one-class") == "soft-boundary"

    @property
    def onnx_rtol(self) -> float:
        """The SDK's 1e-4; soft-boundary: the same 1e-4 of ``R^2`` as an absolute error. Scores ``dist - R^2`` are ~0
        at the boundary, where the float32 rounding of ``dist`` (eager and onnxruntime kernels differ) is a large
        share of the score; the verifier divides by ``max(|score|, 1e-3 median|score|)``, so the bound is
        ``1e-4 R^2 / (1e-3 median|training score|)``. AUROC and label agreement are still checked as they are."""
        if not self.soft_boundary or not hasattr(self, "decision_scores_"):
            return 1e-4
        floor = 1e-3 * float(np.nanmedian(np.abs(self.decision_scores_)))  # NaN: no-data pixels
        return max(1e-4, 1e-4 * self.radius_ ** 2 / max(floor, 1e-30))

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
        # restarts, scaling and snapshots are read from the config (SDK restarts, state, export; the network's
        # snapshot slots when an artifact is loaded): the recipe's values for this input are filled into it, so
        # the fitted config (and its artifact) says what was trained, while get_params keeps what the user gave and
        # a refit (other epochs, another objective, cube pixels after rows) decides them again
        self._restore_given()
        fields = self.training_fields_
        unset = {k: fields[k] for k in ("restarts", "scaling", "snapshot_epochs")
                 if k in fields and getattr(self.config, k) is None}
        if unset:
            self._fill_params(**unset)
        return super()._fit(X, y)

    def _set_meta(self, meta: dict[str, Any]) -> None:
        # an artifact saved before restarts, scaling and snapshot_epochs were fields has none: one fit of one network
        unset = {k: v for k, v in (("restarts", 1), ("scaling", "none"), ("snapshot_epochs", []))
                 if k in type(self.config).model_fields and getattr(self.config, k) is None}
        if unset:
            self.config = self.config.model_copy(update=unset)
        super()._set_meta(meta)

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        super().on_fit_start(X, y)
        if getattr(self.config, "scaling", "none") != "none" and self.input_spec_["kind"] == "image":
            raise InvalidInputError(f"{self.name} scaling={self.config.scaling!r} is for rows and cube pixels, not "
                                    "images: use scaling='none'")
        fields = type(self.config).model_fields
        moved = [f"{k}={getattr(self.config, k)!r}" for k in ("shrinkage", "whiten_tail")
                 if k in fields and getattr(self.config, k) != fields[k].default]
        if moved and getattr(self.config, "scaling", "none") != "whiten":
            raise ConfigError(f"{self.name} {', '.join(moved)} only shape scaling='whiten', and this fit's scaling is "
                              f"{self.config.scaling!r}: set scaling=whiten (--set scaling=whiten) or leave them unset")
        snapshots, epochs = self.snapshot_epochs_, self.training_fields_["epochs"]
        if snapshots and self.soft_boundary:
            raise ConfigError(f"{self.name} snapshot_epochs is for the one-class objective: leave it unset with "
                              "objective='soft-boundary'")
        if snapshots and not (snapshots == sorted(set(snapshots)) and 1 <= snapshots[0] and snapshots[-1] < epochs):
            where = (f"lie in 1..{epochs - 1}" if epochs > 1 else
                     "lie before the last epoch, and with epochs=1 there is none")  # was "lie in 1..0"
            raise ConfigError(f"{self.name} snapshot_epochs={snapshots} must increase and {where} "
                              f"(epochs={epochs}): set epochs above the last snapshot")

    @property
    def snapshot_epochs_(self) -> list[int]:
        """The epochs after which the encoder is kept beside the final one (``snapshot_epochs``; [] for none)."""
        return list(self.training_fields_.get("snapshot_epochs") or [])

    def build_preprocessing(self, input_spec: dict[str, Any]) -> nn.Module:
        scaling = getattr(self.config, "scaling", "none")
        if scaling == "quantile":
            return QuantileScale(input_spec["n_features"])
        if scaling == "whiten":
            return WhitenScale(input_spec["n_features"], self.config.shrinkage, self.config.whiten_tail)
        return nn.Identity()

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        # the whole autoencoder is built (the same random draws as the reference's); its decoder is only
        # needed by the pretraining phase and is not part of the fitted network. The reference as coded
        # (pretrain_transfer="none") builds its network first and an autoencoder after it, whose weights it
        # then fails to copy: the fitted network is the first, random one.
        cfg = self.config
        fresh = None
        if cfg.pretrain and cfg.pretrain_transfer == "none":
            fresh = build_autoencoder(input_spec, cfg.net, cfg.hidden, cfg.rep_dim).encoder
        self._pretraining_ae = build_autoencoder(input_spec, cfg.net, cfg.hidden, cfg.rep_dim)
        encoder = fresh if fresh is not None else self._pretraining_ae.encoder
        return CentredNetwork(encoder, encoder.rep_dim, self.soft_boundary, len(self.snapshot_epochs_))

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x)

    def training_phases(self, data: TrainingData):
        """Autoencoder pretraining (optional), the centre from the pretrained encoder, then Deep SVDD/SAD."""
        cfg = self.config
        n, device = data.x.shape[0], data.x.device
        semi = torch.from_numpy(to_reference_labels(data.y if self.uses_labels else None, n)).to(device)
        generator = torch.Generator().manual_seed(cfg.seed)
        ae, network = self._pretraining_ae.to(device), self.network_
        if cfg.pretrain:
            yield pretraining_phase(ae, data.x, generator=generator, loss_key="ae_loss", **self._loop_fields("ae_"))
        network.c.copy_(init_center(network.encoder, data.x))
        del self._pretraining_ae
        if not self.soft_boundary:
            snapshots = self.snapshot_epochs_

            def keep(epoch: int) -> None:  # after 0-based `epoch`: a snapshot epoch's encoder is copied
                if epoch + 1 in snapshots:
                    network.snapshots[snapshots.index(epoch + 1)].load_state_dict(network.encoder.state_dict())

            yield deepsad_phase(network.encoder, network.c, data.x, semi, eta=getattr(cfg, "eta", 1.0),
                                generator=generator, on_epoch_end=keep if snapshots else None, **self._loop_fields())
            if snapshots:
                network.scale.copy_(torch.tensor([training_scale(eval_distances(e, network.c, data.x).cpu().numpy())
                                                  for e in network.encoders]))
                self.history_["snapshot_scale"] = network.scale.tolist()
            return
        yield soft_boundary_phase(network.encoder, network.c, network.R, data.x, nu=cfg.nu,
                                  warm_up_epochs=cfg.warm_up_epochs, generator=generator, **self._loop_fields())
        network.R.copy_(radius(eval_distances(network.encoder, network.c, data.x), cfg.nu))
        self.history_["radius"] = float(network.R)

    @property
    def radius_(self) -> float:
        """The soft-boundary radius ``R`` (0.0 for the one-class objective, which has none)."""
        self._require_fitted()
        return float(self.network_.R) if self.soft_boundary else 0.0

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

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        super().on_fit_start(X, y)
        if y is not None and np.size(y) and (np.asarray(y) == 1).all():  # as SSAD refuses it (was: a warning, then
            raise LabelError(  # a fit pushing every sample away from the centre, whose map means nothing)
                f"deepsad: every one of the {np.size(y)} samples is a known anomaly (1); it needs unlabeled (0) or "
                "known normal (-1) samples to describe the normal class: add them (had's known labels: 1 known "
                "anomaly, -1 known normal, 0 unlabeled; scikit-learn's +1 inlier is had's 0 or -1)")


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

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        return _Reconstruction(build_autoencoder(input_spec, self.config.net, self.config.hidden, self.config.rep_dim))

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x)

    def training_phases(self, data: TrainingData):
        generator = torch.Generator().manual_seed(self.config.seed)
        return [pretraining_phase(self.network_.ae, data.x, generator=generator, **self._loop_fields())]

    def encode(self, X) -> np.ndarray:
        """The encoder's codes ``(n, rep_dim)`` of rows or images (a cube is encoded per pixel)."""
        return self.codes(self._samples(self._check_scoring_input(X)))

    @property
    def encoder_(self) -> nn.Module:
        """The trained encoder, samples -> codes (what the hybrid baselines encode with and export)."""
        return self.network_.ae.encoder

    def codes(self, samples: np.ndarray) -> np.ndarray:
        """Codes of already validated samples (rows or images), in batches, without input checks."""
        encoder = self.encoder_.eval()
        out = []
        step = max(1, self.config.score_batch_size // int(np.prod(samples.shape[1:])))
        with torch.no_grad():
            for start in range(0, samples.shape[0], step):
                chunk = float32_tensor(samples[start:start + step], self.device_)
                out.append(encoder(chunk).double().cpu().numpy())
        return np.concatenate(out)
