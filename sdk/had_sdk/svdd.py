"""Deep SVDD's hypersphere rules (Ruff et al., ICML 2018; the reference's ``deepSVDD_trainer.py``), one copy for
every plugin that trains one (``had-plugin-deepsad``'s ``deepsvdd``/``deepsad``, ``had-plugin-cxr``'s
``cxr-deepsvdd``): the soft-boundary loss, its radius, and the centre's rule for coordinates near zero."""

from __future__ import annotations

import torch


def soft_boundary_loss(dist: torch.Tensor, R: torch.Tensor, nu: float) -> torch.Tensor:
    """Soft-boundary Deep SVDD loss of a batch of squared distances (R is a constant of the step)."""
    return R ** 2 + torch.mean(torch.clamp(dist - R ** 2, min=0.0)) / nu


@torch.no_grad()
def radius(dist: torch.Tensor, nu: float) -> torch.Tensor:
    """The (1-nu)-quantile of the distances ``sqrt(dist)`` (the reference's ``get_radius``; linear, as
    ``numpy.quantile``): at most a share nu of them lie outside."""
    return torch.quantile(torch.sqrt(dist.detach().double().clamp(min=0.0)), 1.0 - nu).to(dist.dtype)


def away_from_zero(c: torch.Tensor, eps: float) -> torch.Tensor:
    """The centre `c` with coordinates nearer zero than `eps` moved to ``-eps`` (negative ones) or ``+eps`` (the
    rest): a zero coordinate is one a network with biases maps every input onto trivially."""
    return torch.where(c.abs() < eps, torch.where(c < 0, -eps, eps), c)
