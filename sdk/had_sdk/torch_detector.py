"""`TorchDetector`: the one training loop, scoring loop, state format and ONNX export of every torch detector.

A plugin subclasses it and writes three methods (and, if it has fitted statistics, a fourth)::

    class MyDetector(TorchDetector):
        name = "mine"
        Config = MyConfig                      # a TorchDetectorConfig subclass

        def build_network(self, input_spec):   # -> nn.Module, from {"kind", "n_features", ...}
        def loss(self, batch):                 # -> scalar tensor; batch is preprocessed, on the device
        def score_batch(self, x):              # -> (n,) tensor, higher = more anomalous; uses self.network_
        def build_preprocessing(self, input_spec):  # optional: e.g. Standardize(n_features), fitted at fit

What the base does:

* data: rows are rows; a cube is trained and scored as pixel rows (``pixelwise = True``, the default) and
  scores come back as an ``(H, W)`` map; images ``(N, C, H, W)`` are passed as they are. With
  ``pixelwise = False`` the module scores a whole scene ``(H, W, B)`` into its ``(H, W)`` map (convolutions
  over the scene); the default loop then draws mini-batches of image rows, so such a detector usually
  overrides ``_train`` (or sets ``batch_size`` to the scene height);
* fit: seeds torch and numpy from ``config.seed``, turns on ``torch.use_deterministic_algorithms`` (CPU,
  warn-only, restored afterwards), picks the device (``device="auto"``: CUDA when available), fits the
  preprocessing on the training part, runs Adam (or AdamW/SGD) for ``epochs`` over shuffled mini-batches
  with a tqdm bar shown only on a terminal, and, with ``validation_fraction > 0``, early-stops on a
  validation split carved from the training data (restoring the best epoch's weights);
* scoring: eval mode, ``torch.no_grad``, batches of ``score_batch_size`` samples, so memory stays bounded;
  eager scoring calls the same module that is exported (preprocessing + network + score), so the two paths
  cannot drift apart;
* state: the module's ``state_dict`` as numpy arrays (safetensors through :mod:`had.artifact`; no pickle),
  loadable on CPU or GPU;
* :meth:`export_onnx`: see :mod:`had_sdk.export`.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from had.detector import Detector, DetectorConfig, as_pixels, like_input
from had.errors import HadError


class TorchDetectorConfig(DetectorConfig):
    """Training-loop fields shared by every torch detector."""

    epochs: int = Field(20, ge=1, description="passes over the training data")
    batch_size: int = Field(128, ge=1, description="training mini-batch size")
    lr: float = Field(1e-3, gt=0.0, description="learning rate")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty (AdamW: decoupled weight decay)")
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="optimiser")
    validation_fraction: float = Field(
        0.0, ge=0.0, lt=0.5, description="share of the training data held out for early stopping (0: none)"
    )
    patience: int = Field(5, ge=1, description="epochs without validation improvement before stopping")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$",
                        description="auto (CUDA if available), cpu, cuda, cuda:N, mps")
    score_batch_size: int = Field(65536, ge=1, description="samples (rows, pixels) per scoring batch")
    progress: bool | None = Field(None, description="progress bar: None shows it only on a terminal")


class ScoringModule(nn.Module):
    """preprocessing -> network -> score: the exported unit, and the module eager scoring calls."""

    def __init__(self, detector: "TorchDetector", preprocessing: nn.Module, network: nn.Module):
        super().__init__()
        self.preprocessing = preprocessing
        self.network = network
        self._score_batch = detector.score_batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._score_batch(self.preprocessing(x))


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda if available else cpu; anything else as given (a clear error if unavailable)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise HadError(f"device {name!r} requested but CUDA is not available; use device='auto' or 'cpu'")
    return torch.device(name)


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Deterministic algorithms on CPU (warn-only), restoring the caller's setting afterwards."""
    if device.type != "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)


class TorchDetector(Detector):
    """Base class of torch detectors; see the module docstring for what a subclass writes."""

    Config: ClassVar[type[TorchDetectorConfig]] = TorchDetectorConfig
    kinds = ("tabular", "cube")
    onnx_unsupported: ClassVar[str | None] = None
    #: relative tolerance of the ONNX parity check (float32 graph against float32 eager)
    onnx_rtol: ClassVar[float] = 1e-4
    #: a cube is a bag of pixel rows (trained, scored and exported per pixel)
    pixelwise: ClassVar[bool] = True
    #: images of any height/width can be scored (the export makes H and W dynamic)
    dynamic_image_size: ClassVar[bool] = False
    #: lower bound of the exported dynamic spatial axes (None: none; 2 for reflection padding of 1)
    onnx_min_extent: ClassVar[int | None] = None

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
        """Called once before the first epoch with the preprocessed training tensor (e.g. to set a centre)."""

    # ---- the shared loop ----------------------------------------------------------------------------
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

    def _build_model(self, spec: dict[str, Any]) -> ScoringModule:
        return ScoringModule(self, self.build_preprocessing(spec), self.build_network(spec))

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
        cfg = self.config
        device = resolve_device(cfg.device)
        samples = np.asarray(self._samples(X), dtype=np.float32)
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(samples.shape[0])
        n_val = int(round(cfg.validation_fraction * samples.shape[0])) if cfg.validation_fraction else 0
        n_val = min(max(n_val, 1 if cfg.validation_fraction else 0), samples.shape[0] - 1)
        train_idx, val_idx = np.sort(order[n_val:]), np.sort(order[:n_val])
        with deterministic(device):
            torch.manual_seed(cfg.seed)
            np.random.seed(cfg.seed % 2**32)
            model = self._build_model(self.input_spec_)
            self.fit_preprocessing(model.preprocessing, samples[train_idx])
            self.model_ = model.to(device)
            self.device_ = device
            with torch.no_grad():
                train = self.model_.preprocessing(torch.from_numpy(samples[train_idx]).to(device))
                val = self.model_.preprocessing(torch.from_numpy(samples[val_idx]).to(device)) if n_val else None
            self.on_train_start(train)
            self.history_ = self._train(train, val)
            self.model_.eval()
        return None  # the base scores the training data with the final (best) weights

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg, params = self.config, self.model_.parameters()
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=0.9)
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _train(self, train: torch.Tensor, val: torch.Tensor | None) -> dict[str, Any]:
        from tqdm.auto import tqdm

        cfg = self.config
        optimizer = self._optimizer()
        generator = torch.Generator().manual_seed(cfg.seed)
        history: dict[str, Any] = {"train_loss": [], "val_loss": [], "best_epoch": None, "stopped_early": False}
        best, best_state, waited = float("inf"), None, 0
        disable = None if cfg.progress is None else not cfg.progress
        bar = tqdm(range(cfg.epochs), desc=f"{self.name} fit", disable=disable, leave=False, file=sys.stderr)
        for epoch in bar:
            self.model_.train()
            perm = torch.randperm(train.shape[0], generator=generator).to(train.device)
            total = 0.0
            for start in range(0, train.shape[0], cfg.batch_size):
                batch = train[perm[start:start + cfg.batch_size]]
                loss = self.loss(batch)
                if not torch.isfinite(loss):
                    raise HadError(f"{self.name}: training loss became {loss.item()} at epoch {epoch + 1}; "
                                   "lower `lr` or check the input scaling")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.shape[0]
            history["train_loss"].append(total / train.shape[0])
            if val is None:
                continue
            val_loss = self._mean_loss(val)
            history["val_loss"].append(val_loss)
            bar.set_postfix(val_loss=f"{val_loss:.4g}")
            if val_loss < best:
                best, waited, history["best_epoch"] = val_loss, 0, epoch + 1
                best_state = copy.deepcopy(self.model_.state_dict())
            else:
                waited += 1
                if waited >= cfg.patience:
                    history["stopped_early"] = True
                    break
        bar.close()
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        return history

    def _mean_loss(self, data: torch.Tensor) -> float:
        self.model_.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, data.shape[0], self.config.batch_size):
                batch = data[start:start + self.config.batch_size]
                total += float(self.loss(batch)) * batch.shape[0]
        return total / data.shape[0]

    def _score(self, X: np.ndarray) -> np.ndarray:
        samples = self._samples(X)
        self.model_.eval()
        if samples.ndim == 3:  # a whole scene (pixelwise = False): the network sees it at once
            return self._forward(samples).reshape(samples.shape[:2])
        per_sample = int(np.prod(samples.shape[2:])) if samples.ndim == 4 else 1
        step = max(1, self.config.score_batch_size // per_sample)
        out = np.empty(samples.shape[0], dtype=np.float64)
        for start in range(0, samples.shape[0], step):
            out[start:start + step] = self._forward(samples[start:start + step])
        return like_input(out, X)

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32)).to(self.device_)
            return self.model_(x).double().cpu().numpy()

    # ---- state and export ---------------------------------------------------------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        model = self._build_model(self.input_spec_)
        expected = set(model.state_dict())
        missing = sorted(expected - set(state))
        if missing:
            raise KeyError(missing[0])
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items() if k in expected})
        self.device_ = resolve_device(self.config.device)
        self.model_ = model.to(self.device_).eval()

    def export_onnx(self) -> bytes:
        """preprocessing + network + score as ONNX (contract in :mod:`had.onnx_export`)."""
        from .export import export_torch_detector

        return export_torch_detector(self)
