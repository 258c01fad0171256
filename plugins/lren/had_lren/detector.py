"""LREN, the Low-Rank Embedded Network (Jiang et al., AAAI 2021), on had-sdk's TorchDetector.

Fit (transductive: one scene, methods.md section 1):

1. pixels ``(H*W, B)`` -> one global min-max -> per-band standardisation (:class:`~had_lren.network.MinMaxStandardize`);
2. the autoencoder and the density estimation net are trained jointly on the reconstruction error plus the
   DAGMM energy of a GMM estimated per mini-batch (Adam, 1000 epochs, batches of 4096; the pixel order is
   shuffled once and reused every epoch, as the reference does);
3. the dictionary: the latent codes of at most ``2 * clusters`` pixels chosen from the memberships
   (:func:`~had_lren.lrr.select_atoms`);
4. the low-rank representation of every latent code on that dictionary with an l2,1 error
   (:func:`~had_lren.lrr.lrr`); the score of a pixel is the norm of its error column.

Restarts. The stabilised ``lren`` fits ``restarts`` (6) such runs of ``epochs`` (10) with seeds derived from
``seed`` and averages their scores, each divided by the interquartile range of its training scores
(:mod:`had_sdk.restarts`; one module for scoring, the artifact and ONNX); ``lren-reference`` is one run.

Scores. LRR couples all pixels through the nuclear norm, and a per-input iterative solve would make a pixel's
score depend on the rest of the batch (and on how a runtime streams it). So the fit also derives, from the
solver's low-rank structure, the closed form of the LRR optimum for one pixel
(:func:`~had_lren.lrr.out_of_sample_rule`); the network's ``oos_score`` evaluates it in float32, and that module
is what ``decision_function`` runs and what ONNX exports. With ``scene_scores="closed_form"`` (default)
``decision_scores_`` (what `had bench` reports on scenes) is that graph on the fitted scene: equal to the
solver's error norms up to the solver's convergence, a lower LRR objective, and reproduced exactly by
``decision_function`` and ONNX; ``scene_scores="admm"`` keeps the solver's own norms (always in
``lrr_scores_``). The stabilised ``lren`` stops the solver after 15 iterations (``lrr_max_iter``) with the
penalty growing by 1.44 per step (``lrr_rho``, the reference's 1.2 squared: the penalty that 1.2 reaches in 30
steps), long before its tolerance (~115 steps at 1.2): the closed form needs only the solution's low-rank
structure, and from that iterate it gives the development AUROCs of the converged solve to 0.0005 (choice_log.md,
fourth and fifth rounds); ``lrr_scores_`` are then those of an unconverged solve. Scores
are raw: the reference's min-max to [0, 1] changes no ranking metric.

Raw branch. With ``raw_weight`` w > 0 (``lren-reference``: 0) each fit, after the codes' low-rank stage, solves
the same LRR (its atoms, lambda and solver settings) on the fitted pixels' raw spectra projected on their
``raw_components`` leading principal components and whitened (:func:`~had_lren.lrr.principal_space`), derives
that solve's closed form as well, and its score fuses the two branches (the formula: the field's description;
``raw_lrr_scores_`` are the raw solve's error norms). The branch is part of the scoring graph, and so of the
artifact and the ONNX export: the network scores standardised pixels, so the inverse of the standardisation is
folded into the projection (one float32 affine map), followed by the closed form of the second rule and the two
branches' weights. With w = 0 the network holds no raw buffers: the graph, the artifact and the scores are those
of an LREN without the branch, and a model saved before the field existed loads as one (``saved_before``).
"""

from __future__ import annotations

import contextvars
import sys
import time
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn

from had.capabilities import Capabilities
from had.detector import like_input
from had.errors import HadError
from had.pixel_sample import PixelSampleConfig
from had_sdk.restarts import RestartsConfig, restarts_field, training_scale
from had_sdk.torch_detector import OptimizerConfig, TorchDetector
from had_sdk.torch_runtime import float32_tensor
from had_sdk.training import Batch, Batches, Phase, TrainingDivergedError

from . import lrr as lrr_mod
from . import fastops
from .network import DigestCache, LRENNet, MinMaxStandardize, gmm_parameters, lren_loss


#: the ADMM penalty's bounds (``lrr_mu``; ``lrr_mu_max`` up to MU_MAX_LIMIT): the solver takes 1/mu and lam/mu as
#: thresholds and adds mu times the residuals to its multipliers, in float32 with ``lrr_float32``; lrr_mu=1e-320
#: (1/mu infinite) and 1e308 failed the low-rank stage with "the network's training diverged; lower lr". The
#: reference's 1e-3 and 1e10 and LibADMM's 1e-4 to 1e-6 lie well inside
MU_RANGE = (1e-12, 1e12)
MU_MAX_LIMIT = 1e20
#: the raw branch's principal components at most (``raw_components``; more than any scene's bands)
MAX_RAW_COMPONENTS = 4096

#: where the stabilised default departs from the reference (frozen in benchmarks/results/lren/choice_log.md)
STABILISED: dict[str, Any] = {"epochs": 10, "restarts": 6, "latent": 32, "clusters": 5, "cov_penalty": "trace",
                              "relative_ridge": True, "atom_exclusion": 0.05, "lrr_space": "whitened",
                              "lrr_svt": "gram", "lrr_max_iter": 15, "lrr_rho": 1.44, "gmm_float64": False,
                              "lean_mixture": True, "lrr_float32": True, "raw_weight": 0.25}


class LRENReferenceConfig(OptimizerConfig, PixelSampleConfig):
    """LREN's hyper-parameters; the defaults are the reference's (``run_main_LREN.py``, ``lren.py``, ``lrr.py``)."""

    epochs: int = Field(1000, ge=1, description="training epochs")
    batch_size: int = Field(4096, ge=2, description="mini-batch size (the GMM is estimated per batch)")
    lr: float = Field(1e-4, gt=0.0, description="Adam learning rate")
    hidden: int = Field(400, ge=1, description="autoencoder hidden width (tanh)")
    latent: int = Field(9, ge=1, description="latent code width: the space of the GMM and of the LRR")
    est_hidden: int = Field(60, ge=1, description="estimation net hidden width (tanh)")
    clusters: int = Field(7, ge=1, description="GMM components (estimation net outputs); dictionary <= 2x this")
    lambda_energy: float = Field(0.1, ge=0.0, description="weight of the mean GMM energy in the loss")
    lambda_cov: float = Field(1e-4, ge=0.0, description="weight of the covariance penalty in the loss")
    cov_penalty: Literal["diag", "trace"] = Field(
        "diag", description="covariance penalty: 'diag' sum_k sum_j 1/Sigma_k[j,j] (reference), 'trace' "
        "sum_k tr((Sigma_k + eps I)^-1), which sees thin directions whatever their rotation")
    cov_eps: float = Field(1e-6, gt=0.0, description="ridge added to each Sigma before its Cholesky factor")
    relative_ridge: bool = Field(False, description="the ridge is cov_eps times the batch's mean latent variance "
                                                    "(scikit-learn's reg_covar on standardised codes)")
    atom_exclusion: float = Field(
        0.0, ge=0.0, lt=0.5, description="share of pixels, the farthest from the scene's latent mean by "
        "Mahalanobis distance, that may not become dictionary atoms (0: the reference's choice)")
    lrr_space: Literal["latent", "whitened"] = Field(
        "latent", description="space of the low-rank representation: the latent codes (reference) or the codes "
        "whitened by the scene's latent covariance (a thin latent direction then weighs as much as a wide one)")
    gmm_float64: bool = Field(True, description="estimate the per-batch GMM and its energy in float64 (the "
                                                "reference's float32 Cholesky fails once a component collapses)")
    lean_mixture: bool = Field(False, description="the memberships' softmax in elementwise ops and the relative "
                               "ridge's batch variance from the mixture's moments (with the trace penalty and the "
                               "relative ridge, the mixture terms as one node with a hand-written backward): the same "
                               "values to float32 rounding, less CPU per step (had_lren.network.lean_softmax, "
                               "lren_loss, had_lren.mixture_node)")
    lrr_lambda: float = Field(0.01, gt=0.0, le=1e12, description="LRR weight of ||E||_2,1 (reference: 1e-4 on "
                              "abu-beach-4; at most 1e12: the closed form squares lam + q delta in float32, and 1e36 "
                              "overflowed it)")
    lrr_max_iter: int = Field(500, ge=1, description="LRR ADMM iterations at most")
    lrr_tol: float = Field(1e-8, gt=0.0, description="LRR stopping tolerance (max abs change and residual); with "
                           "lrr_float32 a tolerance below the float32 rounding of the iterates (~1e-7 of their "
                           "size) is never met, and the solver runs lrr_max_iter iterations")
    lrr_float32: bool = Field(False, description="the LRR ADMM's iterates in float32 instead of float64 (half the "
                              "memory traffic of its passes; the closed form's rule is still computed in float64)")
    lrr_rho: float = Field(1.2, ge=1.0, description="LRR growth factor of the ADMM penalty mu")
    lrr_mu: float = Field(1e-3, ge=MU_RANGE[0], le=MU_RANGE[1], description="LRR initial ADMM penalty mu (at most "
                          f"lrr_mu_max; {MU_RANGE[0]:g} to {MU_RANGE[1]:g}: the ADMM divides by mu and multiplies by "
                          "it, in float32 with lrr_float32)")
    lrr_mu_max: float = Field(1e10, ge=MU_RANGE[0], le=MU_MAX_LIMIT, description="LRR largest ADMM penalty mu (at "
                              f"most {MU_MAX_LIMIT:g})")
    lrr_svt: Literal["svd", "gram"] = Field("svd", description="singular value thresholding: SVD of the "
                                            "n_atoms x N matrix (reference) or eigh of its Gram matrix")
    raw_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="weight w of a second low-rank score computed on the fitted pixels' raw "
        "spectra (their leading raw_components principal components, whitened) with the same atoms, lrr_lambda and "
        "solver settings: each fit's score is (1 - w) s_codes / IQR_c + w s_raw / IQR_r, each IQR that of its "
        "branch's scores of the fitted pixels (with scene_scores='admm', of the two solves' error norms); 0 (the "
        "reference): none")
    raw_components: int = Field(32, ge=1, le=MAX_RAW_COMPONENTS, description="principal components of the raw "
                                "branch (raw_weight > 0): min(raw_components, bands)")
    scene_scores: Literal["closed_form", "admm"] = Field(
        "closed_form", description="scores of the fitted scene: 'closed_form' solves LRR's optimality conditions "
        "per pixel on the solver's low-rank structure (what decision_function and the ONNX graph compute); "
        "'admm' keeps the solver's last error columns (the reference's output; a slightly less converged point)")
    fast_ops: bool = Field(True, description="oneDNN GEMMs for training on the CPU when available (same "
                                             "arithmetic up to float32 rounding; see had_lren.fastops)")
    log_every: int = Field(100, ge=0, description="record the full-scene loss every n epochs (0: never)")

    @model_validator(mode="after")
    def _mu_within_its_largest(self):
        """The penalty starts at ``lrr_mu`` and grows to ``lrr_mu_max`` (``mu = min(rho mu, mu_max)``): a start
        above the largest was cut to it after the first step without a word."""
        if self.lrr_mu > self.lrr_mu_max:
            raise ValueError(f"lrr_mu={self.lrr_mu:g} is above lrr_mu_max={self.lrr_mu_max:g}: the ADMM penalty "
                             "starts at lrr_mu and grows to lrr_mu_max; lower lrr_mu or raise lrr_mu_max")
        return self


class LRENConfig(LRENReferenceConfig, RestartsConfig):
    """The stabilised LREN's defaults: the reference's, but for the fields below (chosen on the development scenes
    only; benchmarks/results/lren/choice_log.md)."""

    epochs: int = Field(STABILISED["epochs"], ge=1, description="training epochs (of each restart)")
    latent: int = Field(STABILISED["latent"], ge=1, description="latent code width: the space of the GMM and of the "
                        "LRR (the reference's 9; 16 since the third design round, 32 since the seventh)")
    clusters: int = Field(STABILISED["clusters"], ge=1, description="GMM components (estimation net outputs); "
                          "dictionary <= 2x this (the reference's 7; 5 since the eighth design round)")
    restarts: int = restarts_field(STABILISED["restarts"], "1: one fit")
    cov_penalty: Literal["diag", "trace"] = Field(
        STABILISED["cov_penalty"], description="covariance penalty: 'diag' sum_k sum_j 1/Sigma_k[j,j] (reference), "
        "'trace' sum_k tr((Sigma_k + eps I)^-1), which sees thin directions whatever their rotation")
    relative_ridge: bool = Field(STABILISED["relative_ridge"], description="the ridge is cov_eps times the batch's "
                                 "mean latent variance (scikit-learn's reg_covar on standardised codes)")
    atom_exclusion: float = Field(
        STABILISED["atom_exclusion"], ge=0.0, lt=0.5, description="share of pixels, the farthest from the scene's "
        "latent mean by Mahalanobis distance, that may not become dictionary atoms (0: the reference's choice)")
    lrr_space: Literal["latent", "whitened"] = Field(
        STABILISED["lrr_space"], description="space of the low-rank representation: the latent codes (reference) or "
        "the codes whitened by the scene's latent covariance (a thin latent direction then weighs as a wide one)")
    lrr_svt: Literal["svd", "gram"] = Field(
        STABILISED["lrr_svt"], description="singular value thresholding: SVD of the n_atoms x N matrix (reference) or "
        "eigh of its Gram matrix (the same scores to float32 rounding, 2x faster ADMM; benchmarks/results/lren/speed.md)")
    lrr_float32: bool = Field(STABILISED["lrr_float32"], description="the LRR ADMM's iterates in float32 (half the "
                              "memory traffic of its passes; the ninth, speed, design round; the closed form's rule "
                              "is still computed in float64)")
    lrr_max_iter: int = Field(STABILISED["lrr_max_iter"], ge=1, description="LRR ADMM iterations at most (the "
                              "reference's 500 converge to lrr_tol in ~115; the closed form needs only the solver's "
                              "low-rank structure: 40 since the fourth design round, 15 with lrr_rho 1.44 since the "
                              "fifth)")
    lrr_rho: float = Field(STABILISED["lrr_rho"], ge=1.0, description="LRR growth factor of the ADMM penalty mu (the "
                           "reference's 1.2; 1.44 since the fifth, speed, design round)")
    lean_mixture: bool = Field(STABILISED["lean_mixture"], description="the memberships' softmax in elementwise ops "
                               "and the relative ridge's batch variance from the mixture's moments: the same values to "
                               "float32 rounding, less CPU per step (the fifth design round; the mixture terms as "
                               "one node with a hand-written backward since 4 December 2026)")
    raw_weight: float = Field(STABILISED["raw_weight"], ge=0.0, le=1.0,
                              description=LRENReferenceConfig.model_fields["raw_weight"].description)
    gmm_float64: bool = Field(STABILISED["gmm_float64"], description="estimate the per-batch GMM and its energy in "
                              "float64 (the reference's float32 Cholesky fails once a component collapses; the "
                              "stabilised loss keeps components away from collapse, so `lren` trains in float32)")


#: the raw branch's principal axes (mean, projection) by (the fitted pixels, components)
_RAW_AXES = DigestCache(kept=2)

#: whether an LREN fit is running in this context (its restart members are fitted inside it)
_FITTING: contextvars.ContextVar[bool] = contextvars.ContextVar("had_lren_fitting", default=False)


class MixtureCollapseError(HadError):
    """The Cholesky factor of a mixture covariance failed in training (at 1-based `epoch`): a component collapsed
    below the ridge."""

    def __init__(self, message: str, epoch: int):
        super().__init__(message)
        self.epoch = epoch


class LREN(TorchDetector):
    """Low-Rank Embedded Network, stabilised (see the module docstring); :class:`LRENReference` is the faithful port."""

    name = "lren"
    Config = LRENConfig
    kinds = ("tabular", "cube")
    transductive = True
    #: the eager and exported out-of-sample scores are the same float32 graph
    onnx_rtol = 1e-4
    #: the SDK's ``training_callback(detector, progress)`` (``progress.event == "epoch"``) is how diagnostics such
    #: as benchmarks/lren_diagnostics.py watch training; ``detector.embed`` works inside it
    #: TorchScript exporter: the graph unrolls 24 Newton steps, which the dynamo exporter takes ~50 s to trace
    #: (TorchScript: ~2 s) for the same ops and the same parity
    capabilities = Capabilities(onnx_dynamo=False)
    #: models saved before the raw branch (6 December 2026) had none; before ``restarts`` (1 December 2026, 21:15
    #: UTC) a model was one run (was missing: such a model failed to load, "KeyError: 'restart0.'")
    saved_before = {"raw_weight": 0.0, "raw_components": 32, "restarts": 1}

    # ---- SDK hooks ----------------------------------------------------------------------------------
    def build_preprocessing(self, input_spec: dict[str, Any]) -> nn.Module:
        return MinMaxStandardize(input_spec["n_features"])

    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        cfg = self.config
        return LRENNet(input_spec["n_features"], cfg.hidden, cfg.latent, cfg.est_hidden, cfg.clusters,
                       lean_softmax=cfg.lean_mixture, raw_components=self._raw_width(input_spec["n_features"]))

    def _raw_width(self, n_features: int) -> int:
        """The raw branch's width, ``min(raw_components, n_features)``; 0 without the branch (``raw_weight`` 0)."""
        cfg = self.config
        return min(cfg.raw_components, int(n_features)) if cfg.raw_weight > 0 else 0

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam (the reference's), one fused step for all parameters when the torch build has it."""
        cfg = self.config
        if cfg.optimizer == "adam":
            try:
                return torch.optim.Adam(self.model_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                        foreach=True)
            except (RuntimeError, TypeError):  # pragma: no cover - very old torch
                pass
        return super().configure_optimizers()

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        return self._loss_of(batch, *self.network_(batch))

    def _loss_of(self, x: torch.Tensor, z: torch.Tensor, xhat: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        """:func:`~had_lren.network.lren_loss` of pixels `x` and their network outputs, with this config's terms."""
        cfg = self.config
        return lren_loss(x, z, xhat, gamma, cfg.lambda_energy, cfg.lambda_cov, cfg.cov_eps, self._gmm_dtype,
                         cfg.cov_penalty, cfg.relative_ridge, cfg.lean_mixture)

    def fit(self, X, y=None) -> "LREN":
        """:meth:`TorchDetector.fit`; when the float32 mixture of the default config collapses (data of one or two
        bands: their latent codes lie on a curve or a surface of the latent space), the fit is run again with
        ``gmm_float64=True``, which the saved config then says, and :attr:`fit_notes_` tells ``had fit``'s user.
        Not when ``gmm_float64=False`` was set (``lren-reference``'s default is float64, so never for it)."""
        if _FITTING.get():  # a restart member (had_sdk.restarts): the ensemble's fit decides
            return super().fit(X, y)
        self._restore_given()  # gmm_float64 as given: a refit decides the fallback again
        token = _FITTING.set(True)
        try:
            try:
                super().fit(X, y)
                self._note_few_pixels(X)
                return self
            except MixtureCollapseError as exc:
                if self.config.gmm_float64 or "gmm_float64" in self.config.model_fields_set:
                    raise  # float64 already, or float32 asked for (lren-reference's float32 is always asked for)
                first = exc.epoch
            self._fill_params(gmm_float64=True)
            try:
                super().fit(X, y)
            except MixtureCollapseError as again:
                raise MixtureCollapseError(
                    f"{self.name}: the Cholesky factor of a mixture covariance failed at epoch {first} in float32 "
                    f"and, fitted again, at epoch {again.epoch} in float64: a component has collapsed below the "
                    f"ridge cov_eps={self.config.cov_eps}; use a larger cov_eps", again.epoch) from None
        finally:
            _FITTING.reset(token)
        self._note_few_pixels(X)
        self.add_fit_note(f"the Cholesky factor of a mixture covariance failed at epoch {first} (float32); fitted "
                          "again with gmm_float64=True (saved in the model's config)")
        return self

    #: pixels per dictionary atom below which the low-rank stage has too little to work with
    PIXELS_PER_ATOM = 5

    def _note_few_pixels(self, X) -> None:
        """A note when the scene has fewer than :data:`PIXELS_PER_ATOM` pixels per dictionary atom (up to
        2 x ``clusters``): the low-rank representation then rebuilds most pixels from atoms, and the map is nearly
        flat (a 5 x 5 scene: two distinct scores, an implanted target ranked 24th of 25, where RX ranks it first;
        from 8 x 8 LREN ranked it first)."""
        shape = getattr(X, "shape", None)  # an array or a view: nothing read; an array-like without a shape
        shape = tuple(shape) if shape is not None else np.shape(np.asarray(X))  # (was np.shape(X): a TypeError)
        pixels = int(np.prod(shape[:-1])) if len(shape) >= 2 else 0
        atoms = 2 * self.config.clusters
        if pixels and pixels < self.PIXELS_PER_ATOM * atoms:
            self.add_fit_note(f"lren fitted on {pixels} pixels, fewer than {self.PIXELS_PER_ATOM} per dictionary "
                              f"atom (up to {atoms}: 2 x clusters): its map may be nearly flat; for so small a scene "
                              "use rx")

    @property
    def _gmm_dtype(self) -> torch.dtype | None:
        return torch.float64 if self.config.gmm_float64 else None

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_.oos_score(x)

    # ---- training: the reference's loop (one shuffle, fixed batches) on the SDK's hooks ---------------
    def training_phases(self, data) -> list[Phase]:
        """One phase over the pixels shuffled once (the reference's loader): fixed batches every epoch, a last
        one-pixel batch dropped (it has no covariance), per-epoch wall/CPU seconds and, every ``log_every``
        epochs, the whole scene's loss in ``history_``."""
        cfg, x = self.config, data.x
        generator = torch.Generator().manual_seed(cfg.seed)
        shuffled = x[torch.randperm(x.shape[0], generator=generator).to(x.device)]
        batches = Batches(x.shape[0], cfg.batch_size, min_size=2)  # no generator: slice views of `shuffled`
        self._fast = cfg.fast_ops and fastops.usable(x)
        self._transposed = [shuffled[b].t().contiguous() for b in batches.epoch()] if self._fast else None
        self.history_.update(full_loss=[], epoch_seconds=[], epoch_cpu_seconds=[])
        clock: dict[str, float] = {}
        # the scene's loss every log_every epochs needs the preprocessed pixels kept beside their shuffled copy;
        # a fit that never reaches log_every (the stabilised default: 10 epochs) lets them go
        logged = x if cfg.log_every and cfg.epochs >= cfg.log_every else None
        del x, data

        def start(epoch: int) -> None:
            clock["wall"], clock["cpu"] = time.perf_counter(), time.process_time()

        def end(epoch: int) -> None:
            self.history_["epoch_seconds"].append(time.perf_counter() - clock["wall"])
            self.history_["epoch_cpu_seconds"].append(time.process_time() - clock["cpu"])
            if logged is not None and (epoch + 1) % cfg.log_every == 0:
                self.history_["full_loss"].append((epoch + 1, self._full_loss(logged)))

        return [Phase("fit", self.training_step, batches, cfg.epochs, self.configure_optimizers(), data=shuffled,
                      finite_check="epoch", on_epoch_start=start, on_epoch_end=end)]

    def training_step(self, batch: Batch) -> torch.Tensor:
        cfg, net = self.config, self.network_
        z, xhat, gamma = (net.training_forward(batch.x, self._transposed[batch.position]) if self._fast
                          else net(batch.x))
        try:
            return self._loss_of(batch.x, z, xhat, gamma)
        except torch.linalg.LinAlgError as exc:
            raise MixtureCollapseError(
                f"{self.name}: the Cholesky factor of a mixture covariance failed at epoch {batch.epoch + 1} "
                f"({'float64' if cfg.gmm_float64 else 'float32'}): a component has collapsed below the "
                f"ridge cov_eps={cfg.cov_eps}; use "
                f"{'a larger cov_eps' if cfg.gmm_float64 else 'gmm_float64=True or a larger cov_eps'}",
                batch.epoch + 1) from exc

    def _full_loss(self, data: torch.Tensor) -> float:
        with torch.no_grad():
            return float(self.loss(data))

    # ---- after training (SDK's on_fit_end): dictionary + LRR, then the closed form ----------------------
    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self._clock = (time.perf_counter(), time.process_time())

    def on_fit_end(self, X: np.ndarray) -> np.ndarray | None:
        cfg = self.config
        self._transposed = None  # the training batches' transposed copies (fast_ops): as large as the pixels fitted
        t0, c0 = self._clock
        t_net = time.perf_counter() - t0
        pixels = np.asarray(self._samples(X), dtype=np.float32)
        c_lrr = time.process_time()
        codes = self.embed(pixels)
        with lrr_mod.single_threaded_blas():  # thin float64 products: a second BLAS thread only spins
            try:
                S, result = self.low_rank_stage(*codes)
            except np.linalg.LinAlgError as exc:  # codes so large that (B^T B + I) is singular (lr=1e9: a traceback)
                finite = np.abs(codes[0][np.isfinite(codes[0])])
                raise TrainingDivergedError(
                    f"{self.name}: the low-rank stage failed ({exc}) on latent codes as large as "
                    f"{float(finite.max()) if finite.size else float('inf'):.3g}: the network's training diverged; "
                    f"lower lr (now {cfg.lr:g})") from None
            lrr_cpu = time.process_time() - c_lrr
            t1 = time.perf_counter()
            self._out_of_sample(S, result)
            lrr_s, lrr_iterations = result.seconds, result.n_iter
            del S, result  # a column per fitted pixel: freed before the raw branch's own
            t2 = time.perf_counter()
            self.raw_lrr_scores_ = self._raw_branch(pixels, codes[0]) if cfg.raw_weight > 0 else None
            if cfg.raw_weight == 0:  # a refit without the branch: nothing of an earlier fit's is left
                self.raw_rule_ = self.raw_space_ = self.raw_scale_ = None
        self.timings_ = {"network_s": t_net, "lrr_s": lrr_s, "lrr_iterations": lrr_iterations,
                         "closed_form_s": t2 - t1,
                         "epoch_s": float(np.mean(self.history_["epoch_seconds"])),
                         "epoch_cpu_s": float(np.mean(self.history_["epoch_cpu_seconds"])),
                         "lrr_cpu_s": lrr_cpu,
                         "fit_s": time.perf_counter() - t0, "fit_cpu_s": time.process_time() - c0}
        if cfg.raw_weight > 0:
            self.timings_["raw_s"] = time.perf_counter() - t2
        if cfg.scene_scores == "admm":
            if cfg.raw_weight == 0:
                return like_input(self.lrr_scores_, X)
            w = cfg.raw_weight
            fused = ((1.0 - w) * self.lrr_scores_ / training_scale(self.lrr_scores_)
                     + w * self.raw_lrr_scores_ / training_scale(self.raw_lrr_scores_))
            return like_input(fused, X)
        # the scene's scores through the same float32 graph as decision_function (and ONNX), so that scoring the
        # training data reproduces decision_scores_ exactly (lrr.out_of_sample_scores(S, oos_rule_) is the float64
        # value of the same rule, S the codes in the LRR's space)
        return None

    def low_rank_stage(self, z: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, "lrr_mod.LRRResult"]:
        """Mixture, dictionary and LRR on the scene's latent codes `z` and memberships `gamma`; sets ``gmm_``,
        ``whitening_``, ``atoms_``, ``dictionary_``, ``lrr_scores_`` and returns (the codes in the LRR's space
        ``(N, latent)`` float64, the solver's result: the caller keeps what it needs of it, since its ``X`` and
        ``E`` hold a column per training pixel, about 50 MB per member on a 200,000-pixel sample)."""
        cfg = self.config
        with torch.no_grad():  # the reference's fix_operator: the mixture on the whole scene (diagnostics)
            zt, gt = torch.from_numpy(z), torch.from_numpy(gamma)
            phi, mu, sigma = gmm_parameters(zt, gt)
            self.gmm_ = {"phi": phi.numpy(), "mu": mu.numpy(), "sigma": sigma.numpy()}
        mean, matrix, distance = lrr_mod.whitening(z)
        self.whitening_ = (mean, matrix) if cfg.lrr_space == "whitened" else None
        S = (z.astype(np.float64) - mean) @ matrix if cfg.lrr_space == "whitened" else z.astype(np.float64)
        allowed = None
        if cfg.atom_exclusion > 0:
            allowed = distance <= np.quantile(distance, 1.0 - cfg.atom_exclusion)
        self.atoms_ = lrr_mod.select_atoms(gamma, allowed)
        self.dictionary_ = S[self.atoms_]
        result = self._solve(S)
        self.lrr_scores_ = lrr_mod.column_scores(result.E)
        return S, result

    def _solve(self, S: np.ndarray) -> "lrr_mod.LRRResult":
        """:func:`~had_lren.lrr.lrr` of the rows of `S` ``(N, d)`` on the rows of the atoms (``atoms_``), with this
        config's lambda and solver settings: the codes' solve and the raw branch's."""
        cfg = self.config
        return lrr_mod.lrr(S.T, S[self.atoms_].T, cfg.lrr_lambda, tol=cfg.lrr_tol, max_iter=cfg.lrr_max_iter,
                           rho=cfg.lrr_rho, mu=cfg.lrr_mu, mu_max=cfg.lrr_mu_max, svt_method=cfg.lrr_svt,
                           dtype=np.float32 if cfg.lrr_float32 else np.float64)

    # ---- state: the SDK's state_dict plus the dictionary and the scene's mixture -------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        state = super()._get_state()
        if getattr(self.config, "restarts", 1) > 1:  # had_sdk.restarts: each member saved its own extras
            return state
        state["lren.atoms"] = np.asarray(self.atoms_, dtype=np.int64)
        state["lren.dictionary"] = np.asarray(self.dictionary_, dtype=np.float64)
        for key, value in self.gmm_.items():
            state[f"lren.gmm_{key}"] = np.asarray(value)
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if getattr(self.config, "restarts", 1) > 1:
            return super()._set_state(state)
        extras = {k: state[k] for k in state if k.startswith("lren.")}
        super()._set_state({k: v for k, v in state.items() if not k.startswith("lren.")})
        self.atoms_ = extras.get("lren.atoms")
        self.dictionary_ = extras.get("lren.dictionary")
        self.gmm_ = {k[len("lren.gmm_"):]: v for k, v in extras.items() if k.startswith("lren.gmm_")}

    def embed(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(latent codes ``(N, latent)``, memberships ``(N, clusters)``) of raw pixels (rows or a cube), float32."""
        pixels = np.asarray(pixels)
        pixels = pixels.reshape(-1, pixels.shape[-1])
        model = self.model_.eval()
        zs, gs = [], []
        step = self.rows_per_pass()
        with torch.no_grad():
            for start in range(0, pixels.shape[0], step):
                x = float32_tensor(pixels[start:start + step], self.device_)
                z = model.network.encode(model.preprocessing(x))
                zs.append(z.cpu().numpy())
                gs.append(model.network.memberships(z).cpu().numpy())
        return np.concatenate(zs), np.concatenate(gs)

    def _out_of_sample(self, S: np.ndarray, result: lrr_mod.LRRResult) -> None:
        """Set the network's out-of-sample buffers from the fitted scene's LRR solution."""
        net = self.network_
        rule = lrr_mod.out_of_sample_rule(S[self.atoms_].T, result.X, self.config.lrr_lambda)
        self.oos_rule_ = rule
        self._set_rule("oos", rule)
        d = net.oos_basis.shape[0]
        mean, matrix = self.whitening_ if self.whitening_ is not None else (np.zeros(d), np.eye(d))
        device = net.oos_basis.device
        net.oos_mean.copy_(torch.from_numpy(mean.astype(np.float32)).to(device))
        net.oos_whiten.copy_(torch.from_numpy(matrix.astype(np.float32)).to(device))

    def _set_rule(self, prefix: str, rule: lrr_mod.OutOfSampleRule) -> None:
        """The network's closed-form buffers ``<prefix>_basis``, ``_delta``, ``_lambda`` and ``_full_rank`` from
        `rule`, whose space may be narrower than the buffers' (the raw branch's components left out: zero rows)."""
        net = self.network_
        basis, delta = getattr(net, f"{prefix}_basis"), getattr(net, f"{prefix}_delta")
        d = rule.basis.shape[0]
        basis.zero_()[:d, :d].copy_(torch.from_numpy(rule.basis.astype(np.float32)))
        delta.zero_()[:d].copy_(torch.from_numpy(rule.delta.astype(np.float32)))
        getattr(net, f"{prefix}_lambda").fill_(float(rule.lam))
        getattr(net, f"{prefix}_full_rank").fill_(1.0 if rule.rank == d else 0.0)

    def _raw_branch(self, pixels: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The raw branch (``raw_weight`` > 0): the LRR of the fitted `pixels`' raw spectra on their leading
        principal components, whitened (:func:`~had_lren.lrr.principal_space`), with this fit's atoms and solver
        settings; sets the network's raw buffers (the projection with the preprocessing's inverse folded in, the
        closed form's rule, the two branches' weights ``(1 - w) / IQR_c`` and ``w / IQR_r`` from the scores of the
        fitted pixels, `z` their latent codes, through the network) and ``raw_rule_``, ``raw_space_`` (mean,
        projection) and ``raw_scale_`` (IQR_c, IQR_r); returns the solver's error norms of the raw space."""
        cfg, net, pre = self.config, self.network_, self.preprocessing_
        key = _RAW_AXES.key(pixels, net.raw_components)
        S, mean, projection = lrr_mod.principal_space(pixels, net.raw_components, axes=_RAW_AXES.look(key))
        _RAW_AXES.keep(key, (mean, projection))
        self.raw_space_ = (mean, projection)
        result = self._solve(S)
        self.raw_rule_ = lrr_mod.out_of_sample_rule(S[self.atoms_].T, result.X, cfg.lrr_lambda)
        admm = lrr_mod.column_scores(result.E)
        del S, result
        self._set_rule("raw", self.raw_rule_)
        # the network sees x = ((p - lo) / span - m) / s of raw pixels p: p = x (s span) + (m span + lo), so
        # (p - mean) P = x A + c with A = diag(s span) P and c = (m span + lo - mean) P (components left out: zero)
        full = np.zeros((projection.shape[0], net.raw_components))
        full[:, :projection.shape[1]] = projection
        lo, span = float(pre.lo), float(pre.span)
        m, s = (pre.mean.detach().cpu().double().numpy(), pre.std.detach().cpu().double().numpy())
        device = net.raw_project.device
        net.raw_project.copy_(torch.from_numpy(((s * span)[:, None] * full).astype(np.float32)).to(device))
        net.raw_offset.copy_(torch.from_numpy(((m * span + lo - mean) @ full).astype(np.float32)).to(device))
        codes, raw = [], []
        step = self.rows_per_pass()
        with torch.no_grad():
            for start in range(0, pixels.shape[0], step):
                x = pre(float32_tensor(pixels[start:start + step], self.device_))
                codes.append(net.codes_score(float32_tensor(z[start:start + step], self.device_)).cpu().numpy())
                raw.append(net.raw_score(x).cpu().numpy())
        self.raw_scale_ = (training_scale(np.concatenate(codes)), training_scale(np.concatenate(raw)))
        w = cfg.raw_weight
        net.raw_codes_weight.fill_((1.0 - w) / self.raw_scale_[0])
        net.raw_weight.fill_(w / self.raw_scale_[1])
        return admm


class LRENReference(LREN):
    """LREN as its paper and reference code define it: the faithful port, kept to reproduce the published method
    (``reference_check.md``: from the same initial weights it lands where LREN's own TensorFlow graph lands)."""

    name = "lren-reference"
    Config = LRENReferenceConfig


def tabular_settings(n_rows: int, n_features: int) -> dict[str, Any]:
    """LREN's configuration for a table (rather than a scene's pixels), by a rule fixed before any table was run:
    a latent space below the feature count (half of it, between 2 and the scenes' 9), an autoencoder hidden width
    of twice the features (between 32 and the scenes' 400), and one batch per table up to the scenes' 4096 rows,
    so that the mixture is estimated from the whole table as it is from large parts of a scene."""
    return {"latent": int(max(2, min(9, n_features // 2))), "hidden": int(max(32, min(400, 2 * n_features))),
            "batch_size": int(max(2, min(4096, n_rows)))}
