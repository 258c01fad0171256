"""Deep SAD's objective, centre and label conversion (Ruff et al., ICLR 2020, eq. 4; the reference trainer).

* :func:`to_reference_labels`: `had`'s known labels (1 known anomaly, -1 known normal, 0 unlabeled) to the
  reference's ``semi_target`` (+1 known normal, -1 known anomaly, 0 unlabeled): a sign flip.
* :func:`deepsad_loss`: per sample ``dist`` when unlabeled, else ``eta * (dist + eps) ** semi_target``, so known
  normals are pulled towards the centre and known anomalies pushed away (inverse distance); batch mean.
  With every label 0 this is Deep SVDD's one-class objective (mean squared distance).
* :func:`init_center`: the mean network output over the training data (eval mode); coordinates with
  ``|c_j| < eps`` are moved to ``±eps`` by sign (exact zeros to ``+eps``), so a zero unit cannot be matched
  trivially by zero weights.
* :func:`squared_distance`: the score, ``||phi(x) - c||^2``.
* :func:`soft_boundary_loss` and :func:`radius`: soft-boundary Deep SVDD (Ruff et al., ICML 2018, eq. 3):
  ``R^2 + (1/nu) mean max(0, dist - R^2)`` with R fixed in the step, and R set to the (1-nu)-quantile of
  ``sqrt(dist)`` (the reference's ``get_radius``; linear interpolation, as ``numpy.quantile``).
"""

from __future__ import annotations

import numpy as np
import torch
from had_sdk.svdd import away_from_zero
from torch import nn

EPS_DIST = 1e-6
EPS_CENTER = 0.1


def to_reference_labels(known: np.ndarray | None, n: int) -> np.ndarray:
    """had's known labels -> the reference's semi_target (+1 normal, -1 anomaly, 0 unlabeled); zeros if None."""
    if known is None:
        return np.zeros(n, dtype=np.int8)
    return (-np.asarray(known, dtype=np.int8)).reshape(-1)


def squared_distance(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``sum_j (z_ij - c_j)^2`` per row."""
    return torch.sum((z - c) ** 2, dim=1)


def deepsad_loss(z: torch.Tensor, c: torch.Tensor, semi_target: torch.Tensor, eta: float = 1.0,
                 eps: float = EPS_DIST) -> torch.Tensor:
    """Mean Deep SAD loss of a batch of representations `z` (reference label convention in `semi_target`)."""
    dist = squared_distance(z, c)
    labelled = eta * (dist + eps) ** semi_target.to(dist.dtype)
    return torch.mean(torch.where(semi_target == 0, dist, labelled))


@torch.no_grad()
def eval_distances(encoder: nn.Module, c: torch.Tensor, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """``||phi(x) - c||^2`` of every row of `X` with `encoder` in eval mode (as scoring sees them)."""
    was_training = encoder.training
    encoder.eval()
    out = torch.cat([squared_distance(encoder(X[s:s + batch_size]), c) for s in range(0, X.shape[0], batch_size)])
    encoder.train(was_training)
    return out


@torch.no_grad()
def init_center(encoder: nn.Module, X: torch.Tensor, batch_size: int = 1024, eps: float = EPS_CENTER) -> torch.Tensor:
    """Centre ``c``: mean encoder output over `X` in eval mode, small coordinates pushed to ``±eps``."""
    was_training = encoder.training
    encoder.eval()
    total = None
    for start in range(0, X.shape[0], batch_size):
        out = encoder(X[start:start + batch_size]).double().sum(dim=0)
        total = out if total is None else total + out
    encoder.train(was_training)
    return away_from_zero((total / X.shape[0]).float(), eps)
