"""Structural similarity (Wang et al., 2004) with a Gaussian window, as GAN-GP's loss uses it.

Window 11x11, sigma 1.5, zero padding of 5 (same-size maps), per-channel (depthwise) filtering, constants
``C1 = 0.01**2`` and ``C2 = 0.03**2`` (a data range of 1, as the reference's ``pytorch_ssim`` assumes even for
inputs in [-1, 1]); the result is the mean of the SSIM map over channels, pixels and the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

C1 = 0.01 ** 2
C2 = 0.03 ** 2


def gaussian_window(size: int = 11, sigma: float = 1.5, channels: int = 1) -> torch.Tensor:
    """The normalised 2-D Gaussian window as a depthwise conv weight ``(channels, 1, size, size)``."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords ** 2) / (2.0 * sigma ** 2))
    g = g / g.sum()
    window = torch.outer(g, g).to(torch.float32)
    return window.expand(channels, 1, size, size).contiguous()


def ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of two image batches ``(N, C, H, W)`` (a scalar tensor, differentiable)."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ssim needs two (N, C, H, W) batches of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    channels = x.shape[1]
    w = gaussian_window(window_size, sigma, channels).to(device=x.device, dtype=x.dtype)
    pad = window_size // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, padding=pad, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = blur(x * x) - mu_xx
    var_y = blur(y * y) - mu_yy
    cov = blur(x * y) - mu_xy
    num = (2 * mu_xy + C1) * (2 * cov + C2)
    den = (mu_xx + mu_yy + C1) * (var_x + var_y + C2)
    return (num / den).mean()


def ssim_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """GAN-GP's SSIM term: ``clamp((1 - SSIM) / 2, 0, 1)``."""
    return torch.clamp(0.5 * (1.0 - ssim(x, y)), 0.0, 1.0)
