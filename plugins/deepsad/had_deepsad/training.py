"""The two training phases of Deep SVDD / Deep SAD, as the reference runs them.

* :func:`pretrain_autoencoder`: the autoencoder on the mean squared reconstruction error;
* :func:`train_deepsad`: the encoder on :func:`~had_deepsad.objective.deepsad_loss` around a fixed centre.

Both use Adam with L2 weight decay (``weight_decay`` of :class:`torch.optim.Adam`), a MultiStepLR schedule
(gamma 0.1 at the given epochs) and shuffled mini-batches with ``drop_last`` (the reference's training
loaders drop the last incomplete batch; when the training set is smaller than one batch the whole set is one
batch instead of none).

Scheduler order. The reference (PyTorch 1.1 era) calls ``scheduler.step()`` at the *start* of each epoch, so
under modern PyTorch its decay lands one epoch early (milestone 50 takes effect from epoch index 49). We use
the modern order (``optimizer.step()`` in the epoch, ``scheduler.step()`` after it), so a milestone ``m`` means
"the first ``m`` epochs at the full rate" exactly.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

import torch
from torch import nn

from had.errors import HadError


def run_epochs(module: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n: int, *, epochs: int,
               lr: float, weight_decay: float, milestones: Sequence[int], batch_size: int,
               generator: torch.Generator, desc: str = "train", progress: bool | None = None) -> list[float]:
    """Adam + MultiStepLR over shuffled index batches of ``range(n)`` (drop_last); returns the epoch losses.

    `batch_loss(idx)` computes the loss of the samples at the index tensor `idx` (so labels travel with rows).
    """
    from tqdm.auto import tqdm

    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=sorted(milestones), gamma=0.1)
    n_batches = max(1, n // batch_size)
    step = batch_size if n >= batch_size else n
    losses = []
    disable = None if progress is None else not progress
    for epoch in tqdm(range(epochs), desc=desc, disable=disable, leave=False, file=sys.stderr):
        module.train()
        perm = torch.randperm(n, generator=generator)
        total = 0.0
        for b in range(n_batches):
            loss = batch_loss(perm[b * step:(b + 1) * step])
            if not torch.isfinite(loss):
                raise HadError(f"{desc}: training loss became {float(loss)} at epoch {epoch + 1}; "
                               "lower the learning rate or check the input scaling ([0, 1] expected)")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        scheduler.step()
        losses.append(total / n_batches)
    return losses


def pretrain_autoencoder(ae: nn.Module, X: torch.Tensor, *, epochs: int, lr: float, weight_decay: float,
                         milestones: Sequence[int], batch_size: int, generator: torch.Generator,
                         progress: bool | None = None) -> list[float]:
    """Fit `ae` on the mean squared reconstruction error of `X`; returns the epoch losses."""

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        x = X[idx.to(X.device)]
        return torch.mean((ae(x) - x) ** 2)

    return run_epochs(ae, batch_loss, X.shape[0], epochs=epochs, lr=lr, weight_decay=weight_decay,
                      milestones=milestones, batch_size=batch_size, generator=generator,
                      desc="autoencoder pretraining", progress=progress)


def train_deepsad(encoder: nn.Module, c: torch.Tensor, X: torch.Tensor, semi_target: torch.Tensor, *, eta: float,
                  epochs: int, lr: float, weight_decay: float, milestones: Sequence[int], batch_size: int,
                  generator: torch.Generator, progress: bool | None = None) -> list[float]:
    """Fit `encoder` on Deep SAD's loss around the fixed centre `c` (`semi_target` in the reference convention)."""
    from .objective import deepsad_loss

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        idx = idx.to(X.device)
        return deepsad_loss(encoder(X[idx]), c, semi_target[idx], eta=eta)

    return run_epochs(encoder, batch_loss, X.shape[0], epochs=epochs, lr=lr, weight_decay=weight_decay,
                      milestones=milestones, batch_size=batch_size, generator=generator,
                      desc="deep sad training", progress=progress)
