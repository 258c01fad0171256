"""Hybrid baselines: a shallow detector on the codes of a pretrained Deep SAD autoencoder (Deep SAD's ``--hybrid``).

The reference loads the autoencoder of a trained Deep SAD run; here each hybrid pretrains the same autoencoder
itself (``deepsad-ae`` of had-plugin-deepsad, fields ``ae_*`` and ``net``/``hidden``/``rep_dim``), encodes the
data, and fits the shallow detector on the codes. Rows, cube pixels and images (LeNet codes) are accepted.
The autoencoder comes from the registry (``had.get_detector("deepsad-ae", ...)``) and is used through its public
``codes`` and ``encoder_``. A hybrid is a detector made of two detectors, so its state is theirs under the prefixes
``ae.`` and ``inner.``, through each one's own state hooks (``_get_state``/``_set_state``: what ``had.artifact``
calls on any detector).
The hybrids are the extra ``had-plugin-pyod[hybrids]`` (had-plugin-deepsad, hence torch); without it, fitting
one is a PluginError naming that extra.

ONNX (``hybrid-ocsvm`` with the RBF kernel, ``hybrid-iforest``): the encoder, exported by torch.onnx, and the
inner model's graph (skl2onnx's, or the forest's built from its arrays) composed into one graph (:func:`had_pyod.export.compose`), so a deployment scores
raw rows, pixels or images with onnxruntime alone.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, PositiveInt, field_validator

from had import nodata, validation
from had.detector import Detector, DetectorConfig, as_pixels
from had.errors import InvalidInputError

from .adapter import RowModelDetector, SampledFit, require, sampled_for_fit, score_by_tiles
from .models import FLOAT32_MAX, IForestConfig, KDEConfig, OCSVMConfig, PyODIForest, PyODKDE, PyODOCSVM
from .ssad import SSAD, SSADConfig


class AutoencoderFields(DetectorConfig):
    """The pretraining autoencoder (the reference's command-line defaults, as `deepsad`)."""

    net: Literal["auto", "mlp", "mnist_lenet", "cifar10_lenet"] = Field("auto", description="deepsad-ae network: auto, mlp, mnist_lenet, cifar10_lenet")
    hidden: list[PositiveInt] | None = Field(None, min_length=1, description="MLP hidden sizes (None: Deep SAD's rule)")
    rep_dim: int | None = Field(None, ge=1, description="code size (None: Deep SAD's rule)")
    ae_epochs: int = Field(100, ge=1, description="autoencoder epochs")
    # float32 (the autoencoder's precision) bounds both: 1e308 was refused only at the fit, as deepsad-ae's own
    # weight_decay (had_sdk's Float32Fields, which this config does not import: the hybrids are an extra)
    ae_lr: float = Field(1e-3, gt=0.0, le=FLOAT32_MAX, description="autoencoder Adam learning rate")
    ae_weight_decay: float = Field(1e-6, ge=0.0, le=FLOAT32_MAX, description="autoencoder Adam weight decay")
    ae_batch_size: int = Field(128, ge=1, description="autoencoder mini-batch size")
    ae_lr_milestones: list[PositiveInt] = Field(default_factory=list, description="autoencoder lr milestones")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$", description="autoencoder device: auto, cpu, cuda, cuda:N")

    @field_validator("ae_lr")
    @classmethod
    def _ae_lr_not_zero_in_float32(cls, value: float) -> float:
        """ae_lr=1e-50 was taken here and refused at the fit as deepsad-ae's lr, a name the user never gave."""
        return validation.refuse_float32_zero(value)


class HybridOCSVMConfig(OCSVMConfig, AutoencoderFields):
    """OC-SVM fields plus the autoencoder's."""


class HybridIForestConfig(IForestConfig, AutoencoderFields):
    """Isolation Forest fields plus the autoencoder's."""


class HybridKDEConfig(KDEConfig, AutoencoderFields):
    """KDE fields plus the autoencoder's."""


class HybridSSADConfig(SSADConfig, AutoencoderFields):
    """SSAD fields plus the autoencoder's."""


class Hybrid(SampledFit):
    """Base: ``inner`` is the shallow row detector class fitted on the codes."""

    inner: ClassVar[type[RowModelDetector]]
    kinds = ("tabular", "cube", "image")
    onnx_unsupported = ("the inner model has no ONNX graph (KDE's is built from its rows, SSAD has none); "
                        "score with the Python detector")

    def _autoencoder(self) -> Detector:
        """An unfitted ``deepsad-ae`` from the registry with this hybrid's ``ae_*`` and network fields."""
        require("had_deepsad", "hybrids", self.name)
        import had

        cfg = self.config
        return had.get_detector("deepsad-ae", {
            "net": cfg.net, "hidden": cfg.hidden, "rep_dim": cfg.rep_dim, "epochs": cfg.ae_epochs, "lr": cfg.ae_lr,
            "weight_decay": cfg.ae_weight_decay, "batch_size": cfg.ae_batch_size,
            "lr_milestones": cfg.ae_lr_milestones, "device": cfg.device, "seed": cfg.seed, "progress": False,
            "max_fit_pixels": cfg.max_fit_pixels,
        })

    def _inner(self) -> RowModelDetector:
        fields = self.inner.Config.model_fields
        settings = {k: getattr(self.config, k) for k in fields}
        settings["nodata"] = None  # the inner model fits codes: the fill pixels were left out before the encoder
        return self.inner(settings)

    def _fit(self, X: np.ndarray, known: np.ndarray | None) -> np.ndarray | None:
        # a cube above max_fit_pixels: the autoencoder and the inner model fit the sample, every pixel is scored
        self._restore_given()  # the values as given: what the last fit lowered is decided again
        X, known, self.fit_sample_ = sampled_for_fit(self, X, known)
        # the inner model's checks on the codes' count, before the autoencoder trains (it checks again at its fit)
        try:
            self._inner().check_fit_memory(validation.n_samples(X))
        except (MemoryError, InvalidInputError) as exc:
            raise type(exc)(f"{self.name}: {exc}") from None
        self.ae_ = self._autoencoder().fit(X)
        codes = self.ae_.codes(as_pixels(X))
        self.inner_ = self._inner().fit(codes, known if self.uses_labels else None)
        for note in getattr(self.inner_, "fit_notes_", None) or ():  # had fit prints them
            self.add_fit_note(f"{self.inner.name} on the autoencoder's codes: {note}")
        lowered = getattr(self.inner_, "given_params_", None) or {}  # its fields lowered to fit the codes
        if lowered:
            self._fill_params(**{name: getattr(self.inner_.config, name) for name in lowered})
        return None if self.fit_sample_ else self.inner_.decision_scores_

    def _score(self, X: np.ndarray) -> np.ndarray:
        # X is validated: the autoencoder's unchecked public path
        return score_by_tiles(lambda rows: self.inner_._score_rows(self.ae_.codes(rows)), X,
                              nodata.fill_value_of(self), self._scene_progress(X))

    def _references(self) -> tuple[int, str] | None:
        """The inner model's (it scores each pixel's code against its training codes or support vectors)."""
        return self.inner_._references()

    def _get_state(self) -> dict[str, np.ndarray]:
        state = {f"ae.{k}": v for k, v in self.ae_._get_state().items()}
        state.update({f"inner.{k}": v for k, v in self.inner_._get_state().items()})
        return state

    def export_onnx(self) -> bytes:
        """The encoder then the inner model's graph, in one ONNX graph (see the module docstring)."""
        from had.errors import ArtifactError, ExportNotSupported

        from .export import compose, contract_model, stored_graph

        if self.onnx_unsupported:
            raise ExportNotSupported(f"{self.name}: {self.onnx_unsupported}")
        self._require_fitted()
        # the inner graph: built on first need, as the artifact holds it, or (a model saved before 6 December 2026
        # with max_features < 1, whose artifact holds none) built from the inner forest's arrays for the codes
        try:  # the inner model's checks say its name alone, which the user never gave
            core = self.inner_.export_core(self._code_width())
            if core is None:
                raise ExportNotSupported(f"{self.name}: the inner {self.inner.name} has no ONNX graph in this "
                                         "configuration (e.g. a linear kernel); refit with the default to export")
            built = stored_graph(self.inner_, core).producer_name == "had"  # one saved before holds skl2onnx's
        except ArtifactError as exc:
            raise ArtifactError(f"{self.name}: the inner {exc}") from None
        encoder, exporter = self._encoder_onnx()
        return contract_model(self, compose(encoder, core), sign=-1.0,
                              exporter=f"{exporter} + " + ("onnx.helper" if built else "skl2onnx"))

    def _code_width(self) -> int:
        """The width of the codes the inner model fits and scores (its rows' columns): its input spec's after a fit;
        a loaded hybrid's inner model has none (an artifact holds the hybrid's spec alone), so the encoder's codes
        of one zero sample of the hybrid's input say it, whatever the network (``rep_dim`` None is Deep SAD's
        rule, and LeNet's code sizes are fixed)."""
        spec = getattr(self.inner_, "input_spec_", None)
        if spec:
            return int(spec["n_features"])
        outer = self.input_spec_
        shape = tuple(outer["sample_shape"]) if outer["kind"] == "image" else (int(outer["n_features"]),)
        return int(self.ae_.codes(np.zeros((1, *shape), dtype=np.float32)).shape[1])

    def _encoder_onnx(self) -> tuple[bytes, str]:
        """The autoencoder's encoder as ONNX (samples, rows or images of a dynamic batch -> codes) and the exporter
        that made it (``torch.onnx(dynamo)``, or TorchScript's label where dynamo failed)."""
        import torch

        from had.onnx_export import OPSET
        from had.torch_onnx import export_module

        spec = self.input_spec_
        shape = (3, *spec["sample_shape"]) if spec["kind"] == "image" else (8, spec["n_features"])
        encoder = self.ae_.encoder_
        device = next(encoder.parameters()).device
        # wrapped: the MLP encoder's submodule `code` would clash with torch.fx's GraphModule.code at top level
        wrapped = torch.nn.Sequential(encoder).to("cpu").eval()
        names = {"input_names": ["samples"], "output_names": ["codes"], "opset_version": OPSET}
        try:  # quiet (was: four "torchvision is not installed" log lines per export); TorchScript where dynamo fails
            model, exporter = export_module(wrapped, torch.zeros(shape), who=self.name, names=names,
                                     dynamic_shapes=({0: torch.export.Dim("n")},),
                                     dynamic_axes={"samples": {0: "n"}, "codes": {0: "n"}})
        finally:
            encoder.to(device)
        return model.SerializeToString(), exporter

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        ae = self._autoencoder()
        ae.input_spec_ = self.input_spec_  # the autoencoder sees this hybrid's input, as had.artifact.load sets it
        ae._set_state(_part(state, "ae."))
        inner = self._inner()
        inner._set_state(_part(state, "inner."))
        self.ae_, self.inner_ = ae, inner


def _part(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """One component's arrays of a hybrid's state, without the prefix."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


class HybridOCSVM(Hybrid):
    name = "hybrid-ocsvm"
    Config = HybridOCSVMConfig
    inner = PyODOCSVM
    onnx_unsupported = None
    #: as pyod-ocsvm (scores cross 0 at the boundary), plus ORT-vs-torch encoder rounding through the RBF
    onnx_rtol = 3e-2
    #: the threshold sits near the boundary's 0, among many scores: that rounding moves a few check samples across
    #: it (the kit's tabular and cube checks: 99.58 % and 99.11 % on one CPU, 100 % on another, same wheels)
    onnx_min_agreement = 0.99


class HybridIForest(Hybrid):
    name = "hybrid-iforest"
    Config = HybridIForestConfig
    inner = PyODIForest
    onnx_unsupported = None
    onnx_rtol = 1e-3  # as pyod-iforest
    onnx_atol = PyODIForest.onnx_atol


class HybridKDE(Hybrid):
    name = "hybrid-kde"
    Config = HybridKDEConfig
    inner = PyODKDE


class HybridSSAD(Hybrid):
    name = "hybrid-ssad"
    Config = HybridSSADConfig
    inner = SSAD
    uses_labels = True
