"""The one training loop of every torch detector: phases of epochs over mini-batches, one optimiser update.

The shape is the one PyOD's ``BaseDeepLearningDetector`` (``training_forward``, ``epoch_update``) and Lightning
(``training_step``, ``configure_optimizers``, manual optimisation) made familiar:

* a detector describes its training as a list of :class:`Phase` (``TorchDetector.training_phases``):
  autoencoder pretraining then the objective (Deep SAD), two GAN steps (Geo-Hgan), one round per phase
  (RLAD). A phase runs ``epochs`` passes of its ``step`` over the batches a :class:`Batches` plan draws;
  fractional epochs stop after ``round(epochs * batches_per_epoch)`` steps (BS3LNet);
* ``step(batch)`` gets a :class:`Batch` (``x`` the rows, ``y`` their labels or None, ``idx`` their indices,
  ``epoch``, ``index``) and either returns a scalar loss (the loop updates the phase's one optimiser) or calls
  ``batch.update(loss, optimizer)`` as often as it needs (critics, generators: several optimisers) and returns
  the values to log (a dict) or None;
* schedulers (``schedulers``, stepped after each epoch: milestones), ``on_epoch_start`` (an lr ramp, a
  per-epoch setting) and ``on_epoch_end`` (per-epoch logging) run around each epoch, ``on_start``/``on_end`` around the phase (a centre computed from
  the pretrained encoder, frozen networks);
* one callback interface: ``detector.training_callback(detector, progress)`` after every step
  (``progress.event == "step"``) and every epoch (``"epoch"``), with a :class:`Progress`;
* early stopping: ``validate`` (a callable returning a loss) with ``patience``; the best epoch's weights are
  restored at the end of the phase.

`zero_grad`/`backward`/`step` appear once, in :meth:`Batch.update`, which also stops on a non-finite loss.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from had.errors import ConfigError, InvalidInputError


class TrainingDivergedError(InvalidInputError):
    """A training loss became NaN or infinite (learning rate too high, or badly scaled input)."""


@dataclass
class Progress:
    """Where training is, given to ``training_callback`` after each step and each epoch."""

    phase: str
    event: Literal["step", "epoch"]
    epoch: int          # epochs begun in this phase (1-based); after an "epoch" event, the epochs completed
    step: int           # optimiser steps (batches) done in this phase
    epochs_done: float  # step / batches_per_epoch: fractions inside an epoch
    history: dict[str, Any]


class Batches:
    """Mini-batch index plan over ``n`` items, drawn at the start of each epoch.

    ``generator``: a ``torch.Generator`` (``torch.randperm``) or a ``numpy.random.Generator``
    (``permutation``); None keeps the natural order and gives ``slice`` batches, so ``batch.x`` is a view of
    the phase's data (shuffle the data once yourself for a fixed shuffle without copies). ``once``: shuffle
    once and reuse that order every epoch (LREN's loader). ``drop_last``: drop the last incomplete batch (a set smaller than one batch is one batch).
    ``min_size``: drop a last batch smaller than this (BatchNorm and covariances need 2) unless it is the only one.
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator | np.random.Generator | None = None, *,
                 once: bool = False, drop_last: bool = False, min_size: int = 1):
        self.n, self.generator, self.once = int(n), generator, once
        self.batch_size = min(int(batch_size), self.n) if drop_last else int(batch_size)
        self.drop_last, self.min_size = drop_last, min_size
        self._fixed: list | None = None

    def _order(self):
        if self.generator is None:
            return None
        if isinstance(self.generator, np.random.Generator):
            return self.generator.permutation(self.n)
        return torch.randperm(self.n, generator=self.generator)

    def _split(self, order) -> list:
        size = self.batch_size
        stop = self.n - size + 1 if self.drop_last else self.n
        starts = range(0, max(stop, 1), size)
        if order is None:
            out: list = [slice(i, min(i + size, self.n)) for i in starts]
        else:
            out = [order[i:i + size] for i in starts]
        if len(out) > 1 and _size(out[-1]) < self.min_size:
            out = out[:-1]
        return out

    def __len__(self) -> int:
        if self.drop_last:
            return max(1, self.n // self.batch_size)
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and (rest >= self.min_size or full == 0) else 0)

    def epoch(self) -> list:
        """The index batches of the next epoch (CPU long tensors, numpy arrays, or slices without a generator)."""
        if not self.once:
            return self._split(self._order())
        if self._fixed is None:
            self._fixed = self._split(self._order())
        return self._fixed


def _size(idx) -> int:
    return idx.stop - idx.start if isinstance(idx, slice) else len(idx)


def _on(idx, device: torch.device):
    """`idx` ready to index a tensor on `device` (slices and numpy arrays as they are)."""
    return idx if isinstance(idx, (slice, np.ndarray)) else idx.to(device)


@dataclass
class Phase:
    """One stage of training (see the module docstring). ``data``/``labels`` are indexed by the batch indices
    (``data=None``: the step builds its inputs from ``batch.idx``, e.g. BS3LNet's patches)."""

    name: str
    step: Callable[["Batch"], torch.Tensor | Mapping[str, Any] | None]
    batches: Batches
    epochs: float
    optimizers: torch.optim.Optimizer | Sequence[torch.optim.Optimizer] = ()
    data: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    #: put in train mode at each epoch start and after a callback (None: the detector's whole module)
    modules: Sequence[nn.Module] | None = None
    schedulers: Sequence[Any] = ()
    on_start: Callable[[], None] | None = None
    on_epoch_start: Callable[[int], None] | None = None
    #: after each epoch's schedulers, before the callback and validation (per-epoch logging, PyOD's epoch_update)
    on_epoch_end: Callable[[int], None] | None = None
    on_end: Callable[[], None] | None = None
    #: history key of a returned scalar loss; ``group``: log under ``history[group]`` instead of at the top
    loss_key: str = "train_loss"
    group: str | None = None
    #: epoch means weighted by batch size ("samples") or plain means over batches ("batches")
    average: Literal["samples", "batches"] = "samples"
    #: early stopping: ``validate()`` -> loss after each epoch, ``patience`` epochs without improvement
    validate: Callable[[], float] | None = None
    patience: int = 5
    #: checked every step ("step") or on the epoch's mean loss ("epoch": no device sync per step)
    finite_check: Literal["step", "epoch"] = "step"
    hint: str = "lower `lr` or check the input scaling"
    #: the tqdm bar counts epochs, or steps (fractional epochs)
    bar_unit: Literal["epoch", "step"] = "epoch"

    @property
    def total_steps(self) -> int:
        return total_steps(self.epochs, len(self.batches))


def total_steps(epochs: float, per_epoch: int) -> int:
    """Steps of `epochs` passes of `per_epoch` batches: ``round(epochs * per_epoch)``, at least 1. A count past
    float64 (``epochs=1e308``: OverflowError from ``round``) is a ConfigError naming ``epochs``."""
    steps = epochs * per_epoch
    if isinstance(steps, int):  # whole epochs: an exact count, however long it runs (math.isfinite overflowed)
        return max(1, steps)
    if not math.isfinite(steps):
        raise ConfigError(f"epochs={epochs:g} of {per_epoch:,} step(s) each is more optimiser steps than can be "
                          "counted; give fewer epochs")
    return max(1, round(steps))


class Batch:
    """A mini-batch given to a phase's step; :meth:`update` is the one optimiser update of the package."""

    def __init__(self, loop: "_Loop", idx, epoch: int, index: int, position: int):
        #: ``epoch``: 0-based epoch of the phase; ``index``: steps before this one in the phase; ``position``:
        #: batches before this one in the epoch
        self._loop, self.idx, self.epoch, self.index, self.position = loop, idx, epoch, index, position
        phase = loop.phase
        self.x = phase.data[_on(idx, phase.data.device)] if phase.data is not None else None
        self.y = phase.labels[_on(idx, phase.labels.device)] if phase.labels is not None else None

    def __len__(self) -> int:
        return _size(self.idx)

    def update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer | None = None) -> torch.Tensor:
        """``zero_grad``, ``backward``, ``step`` of `optimizer` (default: the phase's only one); returns `loss`."""
        phase = self._loop.phase
        if phase.finite_check == "step" and not torch.isfinite(loss):
            self._loop.diverged(float(loss.detach()), f"step {self._loop.step + 1}")
        if optimizer is None:
            optimizer = self._loop.single_optimizer()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss


class _Loop:
    """Runs the phases of one fit; the detector's ``history_`` is filled as it goes."""

    def __init__(self, detector: Any, history: dict[str, Any]):
        self.detector, self.history = detector, history
        self.phase: Phase
        self.step = 0

    def single_optimizer(self) -> torch.optim.Optimizer:
        opts = self.phase.optimizers
        if isinstance(opts, torch.optim.Optimizer):
            return opts
        if len(opts) != 1:
            raise TypeError(f"phase {self.phase.name!r} has {len(opts)} optimisers: pass one to batch.update")
        return opts[0]

    def diverged(self, value: float, where: str) -> None:
        raise TrainingDivergedError(f"{self.detector.name}: training loss became {value} at {where} of "
                                    f"{self.phase.name}; {self.phase.hint}")

    def log(self) -> dict[str, Any]:
        group = self.phase.group
        return self.history if group is None else self.history.setdefault(group, {})

    def train_mode(self) -> None:
        for module in self.phase.modules if self.phase.modules is not None else [self.detector.model_]:
            module.train()

    def callback(self, event: str, epoch: int) -> None:
        callback = getattr(self.detector, "training_callback", None)
        if callback is None:
            return
        per_epoch = len(self.phase.batches)
        callback(self.detector, Progress(self.phase.name, event, epoch, self.step, self.step / per_epoch,
                                         self.history))
        self.train_mode()

    def run(self, phase: Phase) -> None:
        from tqdm.auto import tqdm

        self.phase, self.step = phase, 0
        cfg = self.detector.config
        total = phase.total_steps
        disable = None if cfg.progress is None else not cfg.progress
        steps_bar = phase.bar_unit == "step"
        bar = tqdm(total=total if steps_bar else int(np.ceil(phase.epochs)), leave=False, file=sys.stderr,
                   desc=f"{self.detector.name} {phase.name}", disable=disable, unit=phase.bar_unit)
        if phase.on_start is not None:
            phase.on_start()
        log = self.log()
        if phase.validate is not None:
            log.setdefault("val_loss", [])
        best, best_state, waited, epoch = float("inf"), None, 0, 0
        seen: set[str] = set()
        while self.step < total:
            if phase.on_epoch_start is not None:
                phase.on_epoch_start(epoch)
            self.train_mode()
            sums: dict[str, Any] = {}
            weights: dict[str, int] = {}
            for position, idx in enumerate(phase.batches.epoch()):
                batch = Batch(self, idx, epoch, self.step, position)
                out = phase.step(batch)
                if isinstance(out, torch.Tensor):
                    batch.update(out)
                    out = {phase.loss_key: out}
                w = len(batch) if phase.average == "samples" else 1
                for key, value in (out or {}).items():
                    value = value.detach() if isinstance(value, torch.Tensor) else value
                    if phase.finite_check == "step":
                        value = float(value)
                    sums[key] = sums.get(key, 0.0) + value * w
                    weights[key] = weights.get(key, 0) + w
                self.step += 1
                if steps_bar:
                    bar.update(1)
                self.callback("step", epoch + 1)
                if self.step >= total:
                    break
            seen.update(sums)
            for key in seen:  # a key no batch of this epoch logged (a generator step skipped) gets NaN
                mean = float(sums[key]) / weights[key] if key in sums else float("nan")
                if key in sums and phase.finite_check == "epoch" and not np.isfinite(mean):
                    self.diverged(mean, f"epoch {epoch + 1}")
                log.setdefault(key, []).append(mean)
            for scheduler in phase.schedulers:
                scheduler.step()
            if phase.on_epoch_end is not None:
                phase.on_epoch_end(epoch)
            epoch += 1
            if not steps_bar:
                bar.update(1)
            self.callback("epoch", epoch)
            if phase.validate is None:
                continue
            val_loss = phase.validate()
            log["val_loss"].append(val_loss)
            bar.set_postfix(val_loss=f"{val_loss:.4g}")
            if val_loss < best:
                best, waited, log["best_epoch"] = val_loss, 0, epoch
                best_state = copy.deepcopy(self.detector.model_.state_dict())
            else:
                waited += 1
                if waited >= phase.patience:
                    log["stopped_early"] = True
                    break
        bar.close()
        if best_state is not None:
            self.detector.model_.load_state_dict(best_state)
        if phase.on_end is not None:
            phase.on_end()


def run_phases(detector: Any, phases: Iterable[Phase], history: dict[str, Any]) -> dict[str, Any]:
    """Run `phases` in order (each is built lazily when `phases` is a generator); returns `history`."""
    loop = _Loop(detector, history)
    for phase in phases:
        loop.run(phase)
    return history


__all__ = ["Batch", "Batches", "Phase", "Progress", "TrainingDivergedError", "run_phases", "total_steps"]
