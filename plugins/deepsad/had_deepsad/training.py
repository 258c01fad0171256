"""The two training phases of Deep SVDD / Deep SAD, as the reference runs them, as phases of the SDK's loop.

* :func:`pretraining_phase`: the autoencoder on the mean squared reconstruction error;
* :func:`deepsad_phase`: the encoder on :func:`~had_deepsad.objective.deepsad_loss` around a fixed centre
  (the labels travel with the rows as ``batch.y``);
* :func:`soft_boundary_phase`: soft-boundary Deep SVDD, the radius ``R`` updated after every batch once
  ``warm_up_epochs`` have passed, on that batch's distances (the reference's trainer).

Both use Adam with L2 weight decay (``weight_decay`` of :class:`torch.optim.Adam`), a MultiStepLR schedule
(gamma 0.1 at the given epochs) and shuffled mini-batches with ``drop_last`` (the reference's training
loaders drop the last incomplete batch; when the training set is smaller than one batch the whole set is one
batch instead of none). Epoch losses are plain means over the batches, as the reference logs them.

Scheduler order. The reference (PyTorch 1.1 era) calls ``scheduler.step()`` at the *start* of each epoch, so
under modern PyTorch its decay lands one epoch early (milestone 50 takes effect from epoch index 49). We use
the modern order (``optimizer.step()`` in the epoch, ``scheduler.step()`` after it, as the SDK's loop does), so
a milestone ``m`` means "the first ``m`` epochs at the full rate" exactly.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from had_sdk.svdd import radius, soft_boundary_loss
from had_sdk.training import Batch, Batches, Phase
from torch import nn

from .objective import deepsad_loss, squared_distance

HINT = "lower the learning rate or check the input scaling ([0, 1] expected)"


def adam_phase(name: str, module: nn.Module, step: Callable[[Batch], torch.Tensor], X: torch.Tensor, *,
               epochs: int, lr: float, weight_decay: float, milestones: Sequence[int], batch_size: int,
               generator: torch.Generator, labels: torch.Tensor | None = None, loss_key: str = "loss",
               on_epoch_end: Callable[[int], None] | None = None) -> Phase:
    """Adam + MultiStepLR over shuffled ``drop_last`` batches of the rows of `X`, training `module`."""
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=sorted(milestones), gamma=0.1)
    return Phase(name, step, Batches(X.shape[0], batch_size, generator, drop_last=True), epochs, optimizer,
                 data=X, labels=labels, modules=(module,), schedulers=(scheduler,), loss_key=loss_key,
                 average="batches", hint=HINT, on_epoch_end=on_epoch_end)


def pretraining_phase(ae: nn.Module, X: torch.Tensor, *, loss_key: str = "loss", **loop) -> Phase:
    """Fit `ae` on the mean squared reconstruction error of `X` (`loop`: the fields of :func:`adam_phase`)."""
    return adam_phase("autoencoder pretraining", ae, lambda b: torch.mean((ae(b.x) - b.x) ** 2), X,
                      loss_key=loss_key, **loop)


def deepsad_phase(encoder: nn.Module, c: torch.Tensor, X: torch.Tensor, semi_target: torch.Tensor, *, eta: float,
                  loss_key: str = "loss", **loop) -> Phase:
    """Fit `encoder` on Deep SAD's loss around the fixed centre `c` (`semi_target` in the reference convention)."""
    return adam_phase("deep sad training", encoder, lambda b: deepsad_loss(encoder(b.x), c, b.y, eta=eta), X,
                      labels=semi_target, loss_key=loss_key, **loop)


def soft_boundary_phase(encoder: nn.Module, c: torch.Tensor, R: torch.Tensor, X: torch.Tensor, *, nu: float,
                        warm_up_epochs: int, loss_key: str = "loss", **loop) -> Phase:
    """Fit `encoder` on the soft-boundary loss around `c`; after `warm_up_epochs` epochs, every step then sets
    the buffer `R` to the (1-nu)-quantile of its batch's distances (computed before the step, as the reference)."""

    def step(batch: Batch) -> dict[str, torch.Tensor]:
        dist = squared_distance(encoder(batch.x), c)
        loss = batch.update(soft_boundary_loss(dist, R, nu))
        if batch.epoch >= warm_up_epochs:
            R.copy_(radius(dist, nu))
        return {loss_key: loss}

    return adam_phase("soft-boundary deep svdd training", encoder, step, X, loss_key=loss_key, **loop)
