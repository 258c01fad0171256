"""`TorchDetector`: the one training loop, scoring loop, state format and ONNX export of every torch detector.

A plugin subclasses it and writes three methods (and, if it has fitted statistics, a fourth)::

    class MyDetector(TorchDetector):
        name = "mine"
        Config = MyConfig                      # a TorchDetectorConfig subclass

        def build_network(self, input_spec):   # -> nn.Module, from {"kind", "n_features", ...}
        def loss(self, batch):                 # -> scalar tensor; batch is preprocessed, on the device
        def score_batch(self, x):              # -> (n,) tensor, higher = more anomalous; uses self.network_
        def build_preprocessing(self, input_spec):  # optional: e.g. Standardize(n_features), fitted at fit

A method whose training is not one loss under one optimiser overrides the training hooks instead of the loop
(:mod:`had_sdk.training`): ``training_step(batch)`` (the loss of a batch, or several updates with
``batch.update(loss, optimizer)``), ``configure_optimizers()``, and ``training_phases(data)`` (a list or
generator of :class:`~had_sdk.training.Phase`: pretraining then the objective, GAN steps, rounds);
``on_fit_start(X, y)`` and ``on_fit_end(X)`` run before and after (input checks, statistics computed with the
trained network). Loop fields: :class:`TorchConfig` has what every loop reads (``epochs``, ``batch_size``,
``lr``, ``threads``, device, scoring), :class:`OptimizerConfig` adds the default optimiser's
(``optimizer``, ``weight_decay``), :class:`TorchDetectorConfig` the default loop's early stopping
(``validation_fraction``, ``patience``); a detector's config derives from the one whose fields it uses, so
``had describe`` shows no field that does nothing.

What the base does:

* data: rows are rows; a cube is trained and scored as pixel rows (``pixelwise = True``, the default) and
  scores come back as an ``(H, W)`` map; images ``(N, C, H, W)`` are passed as they are. With
  ``pixelwise = False`` the module scores a whole scene ``(H, W, B)`` into its ``(H, W)`` map (convolutions
  over the scene); such a detector draws its own batches in ``training_phases`` (BS3LNet's patches);
* large scenes: when the config has ``max_fit_pixels`` (:class:`~had.pixel_sample.PixelSampleConfig`,
  default 200000), a cube with more pixels is fitted on a seeded sample of that many (``fit_sample_`` and the
  artifact's ``state_meta`` say which), ``on_fit_end`` gets the sampled rows, and ``decision_scores_`` still
  scores every pixel;
* fit: sets torch's intra-op threads to ``config.threads`` (restored afterwards), seeds torch and numpy from
  ``config.seed``, turns on ``torch.use_deterministic_algorithms`` (CPU, warn-only, restored afterwards), picks
  the device (``device="auto"``: CUDA when available), fits the preprocessing on the training part, and runs
  the phases; the default is one phase of Adam (or AdamW/SGD) for ``epochs`` over shuffled mini-batches with a
  tqdm bar shown only on a terminal, and, with ``validation_fraction > 0``, early stopping on a validation
  split carved from the training data (restoring the best epoch's weights);
* scoring: eval mode, ``torch.no_grad``, batches of ``score_batch_size`` samples, so memory stays bounded
  (rows on the CPU: at most :data:`CPU_ROWS_PER_PASS`, :meth:`TorchDetector.rows_per_pass`);
  eager scoring calls the same module that is exported (preprocessing + network + score), so the two paths
  cannot drift apart;
* state: the module's ``state_dict`` as numpy arrays (safetensors through :mod:`had.artifact`; no pickle),
  loadable on CPU or GPU;
* :meth:`export_onnx`: see :mod:`had_sdk.export`.
"""

from __future__ import annotations

import copy
import functools
import math
import weakref
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn

from had import global_rng, nodata
from had.cubeview import CubeView, base_of, is_lazy
from had.detector import Detector, DetectorConfig, as_pixels, like_input
from had.errors import ConfigError, PluginError, shown
from had.memory import check_training_fits
from had.pixel_sample import PixelSampleConfig, fit_sample
from had.tiling import bytes_for_rows, score_tiles, tiles

from . import restarts
from .config_fields import FLOAT32_MAX, Float32Fields  # noqa: F401 - FLOAT32_MAX: one of this module's names
from .torch_runtime import as_tensor, deterministic, float32_of, import_dynamo_aside, resolve_device, torch_threads
from .training import Batch, Batches, Phase, Progress, run_phases

#: rows (pixels) per forward pass on the CPU at most. A larger pass allocates intermediates above glibc's mmap
#: threshold (32 MiB at most), which are mapped fresh from the kernel and page-faulted on every pass: LREN (six
#: members) on a 131,072-pixel tile took 3.9 s at 65,536 rows a pass (1.75 s of it in the kernel) and 1.4 s at
#: 4096, the same scores; the autoencoder and Deep SVDD about 1.7x faster too. GPUs keep ``score_batch_size``.
CPU_ROWS_PER_PASS = 4096


class TorchConfig(DetectorConfig, Float32Fields):
    """Fields every torch training loop reads: its length, batch size and learning rate, device, threads, scoring.
    Every float field holds a value float32 can hold (:class:`Float32Fields`)."""

    epochs: int = Field(20, ge=1, description="passes over the training data")
    batch_size: int = Field(128, ge=1, description="training mini-batch size")
    lr: float = Field(1e-3, gt=0.0, description="learning rate")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$",
                        description="auto (CUDA if available), cpu, cuda, cuda:N, mps")
    threads: int = Field(1, ge=1, le=256, description="torch intra-op CPU threads during fit and scoring (restored "
                         "after); 1 because two were 18x slower beside a busy process on 2 cores (bench_threads.py)")
    score_batch_size: int = Field(65536, ge=1, description="samples (rows, pixels) per scoring batch (rows on the "
                                  "CPU: 4096 at most, which is faster: had_sdk.torch_detector.CPU_ROWS_PER_PASS)")
    progress: bool | None = Field(None, description="progress bar: None shows it only on a terminal")


class OptimizerConfig(TorchConfig):
    """The default optimiser's fields (``configure_optimizers``)."""

    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty of the optimizer (with optimizer=adamw: "
                                "decoupled weight decay); with adamw or sgd, lr * weight_decay below 1")
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="optimiser")

    @model_validator(mode="after")
    def _decay_below_one_per_step(self):
        """With ``adamw`` (``w -= lr * weight_decay * w``) or ``sgd`` (the L2 gradient ``weight_decay * w`` times
        ``lr``) a step takes ``lr * weight_decay`` of each weight away: from 1 on the decay alone carries every
        weight to zero or past it at each step, and from 2 on the weights grow (``weight_decay=1e10``: "training
        loss became nan; lower `lr`", which blamed lr for the decay typed).
        Adam's L2 gradient is divided by its own scale, so any decay keeps it finite."""
        decay = self.lr * self.weight_decay
        if self.optimizer in ("adamw", "sgd") and decay >= 1.0:
            raise ValueError(f"weight_decay={self.weight_decay:g} with lr={self.lr:g} takes lr * weight_decay = "
                             f"{decay:.3g} of every weight away at each {self.optimizer} step (from 1 on, the decay "
                             f"alone carries each weight to zero or past it); give weight_decay below 1/lr = "
                             f"{1 / self.lr:.3g}")
        return self


class TorchDetectorConfig(OptimizerConfig):
    """The default loop's fields: the optimiser and early stopping on a validation split."""

    validation_fraction: float = Field(
        0.0, ge=0.0, lt=0.5, description="share of the training data held out for early stopping (0: none)"
    )
    patience: int = Field(5, ge=1, description="epochs without validation improvement before stopping")


def _sizes_overflow(exc: BaseException) -> bool:
    """Whether `exc`, from building a network, says that a size overflowed torch's 64-bit integers: "Overflow when
    unpacking long long" (TypeError, a size of 2**63 or more), "Storage size calculation overflowed" (RuntimeError,
    a tensor's bytes), Python's OverflowError."""
    return isinstance(exc, OverflowError) or (isinstance(exc, (TypeError, RuntimeError, ValueError))
                                              and "overflow" in str(exc).split("\n", 1)[0].lower())


def _exact_in_float32(X: Any) -> bool:
    """Whether `X` is a lazily read view (:class:`had.cubeview.CubeView`) of a file whose every value is a float32
    exactly: integers of 16 bits or fewer (float32 has 24 bits)."""
    if not isinstance(X, CubeView):
        return False
    dtype = np.dtype(base_of(X).dtype)
    return bool(np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2)


@dataclass
class TrainingData:
    """What ``training_phases`` trains on: preprocessed tensors on the device, the labels of the training rows."""

    x: torch.Tensor
    y: np.ndarray | None
    val: torch.Tensor | None


class ScoringModule(nn.Module):
    """preprocessing -> network -> score: the exported unit, and the module eager scoring calls."""

    def __init__(self, detector: "TorchDetector", preprocessing: nn.Module, network: nn.Module):
        super().__init__()
        self.preprocessing = preprocessing
        self.network = network
        self._score_batch = detector.score_batch
        #: the fill value whose pixels score NaN (the config's ``nodata``, :mod:`had.nodata`), read at each call
        self._fill_value = functools.partial(nodata.fill_value_of, detector)  # picklable, as scikit-learn asks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self._score_batch(self.preprocessing(x))
        fill = self._fill_value()
        if fill is None or x.ndim not in (2, 3):  # pixel rows (N, B) or a scene (H, W, B); images have no pixels
            return scores
        same = torch.isnan(x) if math.isnan(fill) else x == fill
        return torch.where(same.all(dim=-1), torch.full_like(scores, math.nan), scores)


class TorchDetector(Detector):
    """Base class of torch detectors; see the module docstring for what a subclass writes."""

    Config: ClassVar[type[TorchDetectorConfig]] = TorchDetectorConfig
    kinds = ("tabular", "cube")
    onnx_unsupported: ClassVar[str | None] = None
    #: relative tolerance of the ONNX parity check (float32 graph against float32 eager)
    onnx_rtol: ClassVar[float] = 1e-4
    #: a cube is a bag of pixel rows (trained, scored and exported per pixel)
    pixelwise: ClassVar[bool] = True
    # dynamic image size, the lower bound of exported spatial axes, the exporter: `capabilities` (had.capabilities)

    # ---- what a subclass writes ---------------------------------------------------------------------
    def build_network(self, input_spec: dict[str, Any]) -> nn.Module:
        """The network, from the input spec (``n_features``, ``kind``, ``sample_shape``)."""
        raise NotImplementedError

    def build_preprocessing(self, input_spec: dict[str, Any]) -> nn.Module:
        """Preprocessing applied inside the graph; its statistics are buffers (default: none)."""
        return nn.Identity()

    def fit_preprocessing(self, module: nn.Module, X: np.ndarray) -> None:
        """Fit the preprocessing on the training samples (default: call ``module.fit(X)`` if it has one)."""
        if hasattr(module, "fit"):
            module.fit(X)

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Training loss of a preprocessed mini-batch (a scalar)."""
        raise NotImplementedError

    def score_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``(n,)`` of a preprocessed batch, higher = more anomalous. Use ``self.network_``."""
        raise NotImplementedError

    def on_train_start(self, train: torch.Tensor) -> None:
        """Called once before the first phase with the preprocessed training tensor (e.g. to set a centre)."""

    # ---- training hooks (see had_sdk.training); the defaults are one loss under one optimiser ---------
    #: ``training_callback(detector, progress)`` after every step and every epoch (:class:`~had_sdk.training.
    #: Progress`); set it on an instance (benchmarks, diagnostics). Scoring inside it is fine.
    training_callback: Callable[["TorchDetector", Progress], None] | None = None

    def on_fit_start(self, X: np.ndarray, y: np.ndarray | None) -> None:
        """Called first in fit with the validated input (checks a method needs, sizes known only from data)."""

    def on_fit_end(self, X: np.ndarray) -> np.ndarray | None:
        """Called after training (eval mode); may return the training scores (default: the base scores `X`)."""
        return None

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """The default loop's optimiser: ``config.optimizer`` over every parameter, with ``lr`` and ``weight_decay``."""
        cfg, params = self.config, self.model_.parameters()
        name, decay = getattr(cfg, "optimizer", "adam"), getattr(cfg, "weight_decay", 0.0)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=decay)
        if name == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, weight_decay=decay, momentum=0.9)
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=decay)

    def training_step(self, batch: Batch) -> torch.Tensor | dict[str, Any] | None:
        """The default step: ``loss(batch.x)``, which the loop minimises with the phase's optimiser."""
        return self.loss(batch.x)

    def training_phases(self, data: TrainingData) -> Iterable[Phase]:
        """The default: one phase of ``training_step`` over shuffled batches, with early stopping on ``data.val``."""
        cfg = self.config
        validate = None
        if data.val is not None:
            self.history_.update(best_epoch=None, stopped_early=False)
            validate = lambda: self._mean_loss(data.val)  # noqa: E731
        else:
            self.history_.update(val_loss=[], best_epoch=None, stopped_early=False)
            if "patience" in cfg.model_fields_set and "validation_fraction" in type(cfg).model_fields:
                # set by the user, and without a held-out share there is nothing to be patient about
                self.add_fit_note(f"patience={cfg.patience} has no effect with validation_fraction=0 (no held-out "
                                  "data to stop early on): every epoch ran; set validation_fraction=0.1 for early "
                                  "stopping")
        generator = torch.Generator().manual_seed(cfg.seed)
        return [Phase("fit", self.training_step, Batches(data.x.shape[0], cfg.batch_size, generator), cfg.epochs,
                      self.configure_optimizers(), data=data.x, validate=validate,
                      patience=getattr(cfg, "patience", 1))]

    # ---- the shared fit ------------------------------------------------------------------------------
    @property
    def network_(self) -> nn.Module:
        return self.model_.network

    @property
    def preprocessing_(self) -> nn.Module:
        return self.model_.preprocessing

    def to(self, device: str | torch.device) -> "TorchDetector":
        """Move the fitted module to `device` (scores are returned as numpy either way)."""
        self.device_ = torch.device(device) if not isinstance(device, torch.device) else device
        if hasattr(self, "model_"):
            self.model_.to(self.device_)
        return self

    def _samples(self, X: np.ndarray) -> np.ndarray:
        return as_pixels(X) if (self.pixelwise and X.ndim == 3) else X

    def reads_views(self) -> bool:
        """A pixel-trained detector samples and scores a lazily read cube tile by tile (:mod:`had.cubeview`)."""
        return self.pixelwise

    def __getstate__(self) -> dict[str, Any]:
        """The detector's state for copy and pickle, without the weak reference :meth:`_viewed` keeps (a review:
        ``pickle.dumps`` of a detector that had scored an int16 line raised "cannot pickle 'weakref'")."""
        state = dict(self.__dict__)
        state.pop("_read_here", None)
        return state

    def _viewed(self, X: Any) -> Any:
        """A whole scene from an integer file of 16 bits or fewer (a lazily read cube) read as float32, which holds
        its values exactly and is what the network takes: was read as float64 (4x an int16 line's size, 2.5 GiB
        for a 677 MB line) beside the network's float32 copy. The fit's fingerprint is still of the float64 values
        (``Detector.fit``), so a model fitted here matches the data it was fitted on wherever it is read."""
        if not self.reads_views() and _exact_in_float32(X):
            whole = np.asarray(X, dtype=np.float32)
            self._read_here = weakref.ref(whole)  # this fit's own array: trained without a copy (_fit)
            return whole
        return super()._viewed(X)

    #: the training pixels' float32 copies a pixel-trained fit holds at once: the sample, its preprocessed tensor
    PIXEL_COPIES = 2

    def _check_pixels_fit(self, X: Any, limit: int | None) -> None:
        """MemoryError (one line, with the fix) when the training pixels of the lazily read scene `X` (all of them,
        or `limit`) would not fit in the memory available, said before they are gathered (was: numpy's "Unable to
        allocate" part way, or the kernel's killer)."""
        from had.memory import check_fits

        pixels = X.shape[0] * X.shape[1] if limit is None else min(int(limit), X.shape[0] * X.shape[1])
        sample = ("fit it on a sample of them (--set max_fit_pixels=N; Python: max_fit_pixels=N) or on a machine with "
                  "more memory" if "max_fit_pixels" in type(self.config).model_fields else
                  "fit it on a window of the scene (--data rows=...,cols=...) or on a machine with more memory")
        check_fits(f"{self.name}'s training pixels ({pixels:,} of {X.shape[-1]} bands, float32)",
                   self.PIXEL_COPIES * 4 * pixels * int(X.shape[-1]), sample)

    def _check_network_fits(self, spec: dict[str, Any], memory: bool = True) -> None:
        """:func:`had.memory.check_training_fits` for the network (with `memory`: on the CPU, whose memory it
        knows), built on torch's ``meta`` device (shapes only, nothing allocated); a network that cannot be built
        there is not checked, but one whose sizes overflow torch's 64-bit sizes is refused (:meth:`_oversized`)."""
        try:
            with torch.device("meta"):
                model = self._build_model(spec)
        except Exception as exc:  # a build that needs real tensors (a plugin's own): the allocation will tell
            if _sizes_overflow(exc):
                raise ConfigError(self._oversized()) from None
            return
        if not memory:
            return
        tensors = [*model.parameters(), *model.buffers()]
        check_training_fits(self.name, sum(t.numel() for t in tensors),
                            max((t.element_size() for t in tensors), default=4))

    def _network_settings(self) -> dict[str, Any]:
        """The config's fields that are the detector's own (its network's sizes and the like), without the SDK's
        training loop, pixel sampling and restarts fields: what a message about the network's size names."""
        loop = {*TorchDetectorConfig.model_fields, *PixelSampleConfig.model_fields, "restarts"}
        return {key: value for key, value in self.config if key not in loop}

    def _oversized(self) -> str:
        """The line for a network whose sizes overflow torch's 64-bit sizes (``rep_dim=10**19``: a tensor's size
        past 2**63 - 1, or its bytes): was a C++ traceback from the build, where 1e9 got the memory check's line.
        Names the detector's own integer settings of 2**31 or more (else its largest), the sizes of networks."""
        sizes = {}
        for key, value in self._network_settings().items():
            values = value if isinstance(value, list) else [value]
            numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
            if numbers:
                sizes[key] = (max(numbers), value)
        named = ([key for key, (top, _) in sizes.items() if top >= 2**31]
                 or sorted(sizes, key=lambda key: -sizes[key][0])[:1])
        given = ", ".join(f"{key}={sizes[key][1]}" for key in named)
        return (f"invalid config for detector {self.name}: the network's sizes{f' ({given})' if given else ''} make a "
                "tensor of more than 2**63 - 1 values or bytes, torch's largest size, far beyond any memory; lower "
                f"{'them' if len(named) > 1 else 'it' if named else 'its sizes'} (--set)")

    def _build_model(self, spec: dict[str, Any]) -> ScoringModule:
        return ScoringModule(self, self.build_preprocessing(spec), self.build_network(spec))

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
        import_dynamo_aside()  # else imported in this stack, whose locals it would keep alive (torch_runtime)
        if restarts.restarts_of(self) > 1:  # several members, scores combined (had_sdk.restarts)
            return restarts.fit_restarts(self, X, y)
        cfg = self.config
        self.on_fit_start(X, y)
        device = resolve_device(cfg.device)
        limit = getattr(cfg, "max_fit_pixels", None) if self.pixelwise else None
        fill = nodata.fill_value_of(self)
        partial = nodata.PartialFill()  # pixels holding the fill value in some bands only: said by had fit
        given = X
        if self.pixelwise and np.ndim(X) == 3 and (isinstance(X, CubeView) or is_lazy(X)):  # a file's scene
            if _exact_in_float32(X):
                # an int16/uint16 line's pixels sampled (or read whole) straight into float32, exact for them and
                # what the network trains on (was: float64 first, then a float32 copy: 12 bytes a value, an
                # all-pixel LREN fit of a 144 MB int16 line stopped by numpy for 502 MiB of float64 under 2 GB)
                X = X.converted(np.float32)
            self._check_pixels_fit(X, limit)
        X, y, self.fit_sample_ = fit_sample(X, y, limit, cfg.seed, fill if self.pixelwise else None, partial,
                                            keep_labelled=self.uses_labels)
        self.fill_pixels_ = ((self.fit_sample_ or {}).get("fill_pixels", 0) if self.pixelwise or fill is None
                             else int(nodata.fill_pixels(X, fill, partial).sum()))  # a whole scene: its module masks
        self.partial_fill_ = partial.record()
        if self.fit_sample_:  # the sampled pixels (float64 from a converted view) are trained in float32 anyway
            X = X.astype(np.float32, copy=False)
        samples = float32_of(self._samples(X))
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(samples.shape[0])
        fraction = getattr(cfg, "validation_fraction", 0.0)
        n_val = int(round(fraction * samples.shape[0])) if fraction else 0
        n_val = min(max(n_val, 1 if fraction else 0), samples.shape[0] - 1)
        train_idx, val_idx = np.sort(order[n_val:]), np.sort(order[:n_val])
        labels = None if y is None else np.asarray(y).reshape(-1)
        if labels is not None and labels.size == samples.shape[0]:
            labels = labels[train_idx]
        self._check_network_fits(self.input_spec_, memory=device.type == "cpu")
        # the global generators seeded for this fit alone and given back after it, one torch fit at a time (it
        # holds the determinism flag and the thread count, the process's too): had.global_rng
        with global_rng.seeded(cfg.seed, device.type), torch_threads(cfg.threads), deterministic(device):
            model = self._build_model(self.input_spec_)
            # every sample in order, as a copy only when they are the caller's own memory (training must never
            # write into a user's array): a sampled fit's pixels (float32 from the float64 sample) are not copied
            read_here = self.__dict__.pop("_read_here", None)  # the scene read by _viewed for this fit: no copy
            fresh = ((read_here is not None and read_here() is given)
                     or not (isinstance(given, np.ndarray) and np.may_share_memory(samples, given)))
            training = samples if n_val == 0 and fresh else samples[train_idx]
            self.fit_preprocessing(model.preprocessing, training)
            self.model_ = model.to(device)
            self.device_ = device
            with torch.no_grad():
                train = self.model_.preprocessing(torch.from_numpy(training).to(device))
                val = self.model_.preprocessing(torch.from_numpy(samples[val_idx]).to(device)) if n_val else None
            self.on_train_start(train)
            self.history_ = {}
            # the phases hold what they train on; dropping this frame's references lets a detector that trains
            # on its own copy (LREN's shuffled pixels) free the preprocessed tensor, and every phase's data go
            # before on_fit_end
            phases = self.training_phases(TrainingData(train, labels, val))
            del train, val
            run_phases(self, phases, self.history_)
            del phases
            self.model_.eval()
            scores = self.on_fit_end(X)  # None: the base scores the training data with the final (best) weights
            if scores is not None and self.fit_sample_:
                scores = self._around_fill(scores, given, fill)  # fitted on a sample: the base scores every pixel
            self.scored_by_module_ = scores is None  # decision_scores_ are model_'s scores (had_sdk.restarts)
            return scores

    def _around_fill(self, scores, given, fill: float | None) -> np.ndarray | None:
        """A fit's own training scores of every input pixel where only fill was left out (no sample drawn): them
        at the other pixels and NaN at the fill (LREN's ``scene_scores="admm"``, the solver's scores; was: a
        closed form in their place once rows or a scene held fill); None, for the base to score every pixel,
        where a sample was drawn (the fit has no scores of the pixels it did not see)."""
        record = self.fit_sample_
        if record["pixels"] + record.get("fill_pixels", 0) != record["of"] or fill is None:
            return None
        keep = ~nodata.fill_pixels(np.asarray(given), fill)  # (N,) for rows, (H, W) for a scene
        full = np.full(keep.shape, np.nan)
        full[keep] = np.asarray(scores, dtype=np.float64).reshape(-1)
        return full

    def _mean_loss(self, data: torch.Tensor) -> float:
        self.model_.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, data.shape[0], self.config.batch_size):
                batch = data[start:start + self.config.batch_size]
                total += float(self.loss(batch)) * batch.shape[0]
        return total / data.shape[0]

    def _score(self, X: np.ndarray) -> np.ndarray:
        with torch_threads(self.config.threads):
            return self._score_samples(X)

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        self.model_.eval()
        if self.pixelwise and X.ndim == 3:  # a scene's pixels, row tile by row tile: a memory-mapped BIL/BSQ
            width, out = X.shape[1], np.empty(X.shape[0] * X.shape[1], dtype=np.float64)  # file is never copied whole
            for start, stop, block in tiles(X):
                out[start * width:stop * width] = self._score_rows(as_pixels(block))
            return like_input(out, X)
        samples = self._samples(X)
        if samples.ndim == 3:  # a whole scene (pixelwise = False): the network sees it at once, or, when it holds
            height, width = samples.shape[:2]  # more than score_batch_size pixels and the network declares its
            if self.context_rows and height * width > self.config.score_batch_size:  # receptive radius, in bands
                rows = max(1, self.config.score_batch_size // width)  # with that many rows of context (cropped)
                return score_tiles(self._scene_scores, samples, tile_bytes=bytes_for_rows(samples.shape, rows),
                                   context=self.context_rows)
            return self._scene_scores(samples)
        return like_input(self._score_rows(samples), X)

    def rows_per_pass(self) -> int:
        """Rows (pixels) per forward pass: ``score_batch_size``, at most :data:`CPU_ROWS_PER_PASS` on the CPU."""
        step = int(self.config.score_batch_size)
        return min(step, CPU_ROWS_PER_PASS) if self.device_.type == "cpu" else step

    def _score_rows(self, samples: np.ndarray) -> np.ndarray:
        """Scores of `samples` (rows or images), ``score_batch_size`` values per forward pass (rows:
        :meth:`rows_per_pass`)."""
        step = (max(1, self.config.score_batch_size // int(np.prod(samples.shape[2:]))) if samples.ndim == 4
                else self.rows_per_pass())
        out = np.empty(samples.shape[0], dtype=np.float64)
        for start in range(0, samples.shape[0], step):
            chunk = samples[start:start + step]
            scores = self._forward(chunk)
            if scores.shape != (chunk.shape[0],):  # was numpy's broadcast error, or a 0-d mean copied to every row
                self._wrong_scores(scores.shape, f"a batch of {chunk.shape[0]} {'images' if chunk.ndim == 4 else 'rows'}",
                                   f"one score per {'image' if chunk.ndim == 4 else 'row'}, shape ({chunk.shape[0]},)")
            out[start:start + step] = scores
        return out

    def _scene_scores(self, scene: np.ndarray) -> np.ndarray:
        """The ``(H, W)`` map of a whole scene (``pixelwise = False``), checked as :meth:`_score_rows` checks rows."""
        scores = self._forward(scene)
        height, width = scene.shape[:2]
        if scores.shape not in ((height, width), (height * width,)):
            self._wrong_scores(scores.shape, f"a scene of {height} x {width} pixels",
                               f"its map, shape ({height}, {width})")
        return scores.reshape(height, width)

    def _wrong_scores(self, shape: tuple[int, ...], given: str, wanted: str) -> None:
        name = self.name or type(self).__name__
        raise PluginError(f"{name}.score_batch returned shape {shape} for {given}; return {wanted} (a scalar such as "
                          "a mean loss, a column per score or scores of the batch twice are not): a defect of the "
                          f"plugin that provides {name} (`had describe {name}` names it), not of the data")

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model_(as_tensor(chunk, self.device_, self._score_dtype)).double().cpu().numpy()

    # ---- state and export ---------------------------------------------------------------------------
    def _get_meta(self) -> dict[str, Any]:
        if restarts.restarts_of(self) > 1:
            return restarts.get_meta(self)
        sample = getattr(self, "fit_sample_", None)
        if sample:
            return {"fit_sample": sample}  # fill_pixels_ is the sample's "fill_pixels"
        return {"fill_pixels": self.fill_pixels_} if getattr(self, "fill_pixels_", 0) else {}

    def _set_meta(self, meta: dict[str, Any]) -> None:
        if restarts.restarts_of(self) > 1:
            restarts.set_meta(self, meta)
        self.fit_sample_ = meta.get("fit_sample")
        self.fill_pixels_ = (self.fit_sample_ or {}).get("fill_pixels", meta.get("fill_pixels", 0))

    def _get_state(self) -> dict[str, np.ndarray]:
        if restarts.restarts_of(self) > 1:
            return restarts.get_state(self)
        return {k: v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if restarts.restarts_of(self) > 1:
            return restarts.set_state(self, state)
        self._check_state_shapes(state)
        model = self._build_model(self.input_spec_)
        expected = set(model.state_dict())
        missing = sorted(expected - set(state))
        if missing:
            raise KeyError(missing[0])
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items() if k in expected})
        self.device_ = resolve_device(self.config.device)
        self.model_ = model.to(self.device_).eval()

    def _check_state_shapes(self, state: dict[str, np.ndarray]) -> None:
        """ArtifactError when a saved array's shape is not the one the config's network has, found on torch's
        ``meta`` device (shapes only) before the network is built: was built first, so a manifest whose ``hidden``
        was edited to ``[10**7]`` allocated 3.6 GB over 97 s before torch's "size mismatch", blamed on the plugin.
        Parameters only: a module may resize its buffers when fitted (BS3LNet's preprocessing range); a network
        that cannot be built on ``meta`` (a plugin's own, a lazy module) is left to ``load_state_dict``."""
        try:
            with torch.device("meta"):
                shapes = {key: tuple(value.shape)
                          for key, value in self._build_model(self.input_spec_).named_parameters()}
        except Exception:  # noqa: BLE001 - real tensors needed to build it: torch's own check then
            return
        from had.artifact import check_saved_shapes

        check_saved_shapes(self.name, shapes, {key: tuple(np.shape(value)) for key, value in state.items()},
                           settings=shown(str(self._network_settings()))[:200])

    #: the dtype scoring feeds the model (float32; float64 in the twin of :meth:`scores_in_float64`)
    _score_dtype: ClassVar[torch.dtype] = torch.float32

    def scores_in_float64(self, X) -> np.ndarray | None:
        """:meth:`decision_function` of `X` by a float64 copy of the fitted model (the detector itself is left as
        it is); None where the model cannot run in float64 (an op or a tensor fixed to float32). Only the modules
        are copied: the copy shares every other fitted attribute (training scores, LREN's LRR solution) with this
        detector and its restart members, which scoring only reads."""
        self._require_fitted()
        detectors = [self, *getattr(self, "restart_members_", ())]
        shared = {id(value): value for d in detectors for name, value in vars(d).items() if name != "model_"}
        try:
            twin = copy.deepcopy(self, shared)
            twin.model_.double()
            twin._score_dtype = torch.float64
            return twin.decision_function(X)
        except Exception:  # noqa: BLE001 - any failure means no float64 twin: the parity check goes on without it
            return None

    def export_onnx(self) -> bytes:
        """preprocessing + network + score as ONNX (contract in :mod:`had.onnx_export`)."""
        from .export import export_torch_detector

        return export_torch_detector(self)
