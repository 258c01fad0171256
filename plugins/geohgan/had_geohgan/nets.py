"""Geo-Hgan's networks as plain torch modules (methods.md section 5.2).

* :class:`ZEncoder` / :class:`ZDecoder`: the MLP autoencoder. Encoder ``flatten(C*h*w) -> first_width
  (LReLU 0.2) -> hidden_widths[i] (BN, LReLU 0.2) ... -> latent_dim -> LReLU 0.2`` (the code is not bounded,
  as in the reference); the decoder mirrors it ``latent -> reversed widths -> C*h*w -> Sigmoid``. The reference
  widths are ``first_width=1024, hidden_widths=(512, 256, 128)``.
* :class:`LatentGenerator` / :class:`LatentDiscriminator`: the latent least-squares GAN (``l_G``, ``l_D``),
  ``latent -> 512 -> 1024 -> 512 -> latent`` (BN + LReLU between) and the same trunk to one logit.
* :class:`SampleGenerator`: ``Linear(latent -> 64*(h/4)*(w/4))``, BN(64), two nearest x2 up-samplings with
  3x3 convolutions (64 -> 64 -> 48) each followed by BN with ``eps=bn_eps`` (the reference's
  ``BatchNorm2d(n, 0.8)`` passes 0.8 as eps, a PyTorch-GAN idiom; kept as a config field) and LReLU, then a
  3x3 convolution to C channels and tanh.
* :class:`Critic`: four spectral-normalised 3x3 stride-2 convolutions (C -> 48 -> 64 -> 96 -> 128) with LReLU,
  no BN; ``features(x) = flatten(LReLU(h + CBAM(h)))``; ``forward(x) = Linear(features)``.
* :class:`CBAM`: channel attention ``sigmoid(MLP(maxpool) + MLP(avgpool))`` (1x1 convolutions, reduction r,
  no bias) then spatial attention ``sigmoid(conv_k([max_c, mean_c]))``; returns ``x * attention``.

:func:`fold_spectral_norm` returns a copy of a module with every spectral-norm parametrisation replaced by its
eval-mode normalised weight ``W / sigma`` (the weight eval-mode forwards use), for export.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

SLOPE = 0.2


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(SLOPE)


class ZEncoder(nn.Module):
    """MLP encoder ``(n, C, h, w) -> (n, latent_dim)``."""

    def __init__(self, in_features: int, latent_dim: int = 100, first_width: int = 256,
                 hidden_widths: tuple[int, ...] = (256, 128, 128)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(in_features, first_width), _lrelu()]
        width = first_width
        for nxt in hidden_widths:
            layers += [nn.Linear(width, nxt), nn.BatchNorm1d(nxt), _lrelu()]
            width = nxt
        layers += [nn.Linear(width, latent_dim), _lrelu()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ZDecoder(nn.Module):
    """MLP decoder ``(n, latent_dim) -> (n, C, h, w)`` in [0, 1] (sigmoid)."""

    def __init__(self, shape: tuple[int, int, int], latent_dim: int = 100, first_width: int = 256,
                 hidden_widths: tuple[int, ...] = (256, 128, 128)):
        super().__init__()
        self.shape = tuple(shape)
        widths = list(reversed(hidden_widths)) + [first_width]
        layers: list[nn.Module] = [nn.Linear(latent_dim, widths[0]), _lrelu()]
        for prev, nxt in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(prev, nxt), nn.BatchNorm1d(nxt), _lrelu()]
        c, h, w = self.shape
        layers += [nn.Linear(widths[-1], c * h * w), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class Autoencoder(nn.Module):
    """Encoder + decoder; ``forward`` returns (code, reconstruction)."""

    def __init__(self, encoder: ZEncoder, decoder: ZDecoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        return z, self.decoder(z)


def _latent_trunk(latent_dim: int) -> list[nn.Module]:
    return [nn.Linear(latent_dim, 512), nn.BatchNorm1d(512), _lrelu(),
            nn.Linear(512, 1024), nn.BatchNorm1d(1024), _lrelu(),
            nn.Linear(1024, 512), nn.BatchNorm1d(512), _lrelu()]


class LatentGenerator(nn.Module):
    """``l_G``: noise ``(n, latent)`` -> code ``(n, latent)`` (linear output)."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        self.net = nn.Sequential(*_latent_trunk(latent_dim), nn.Linear(512, latent_dim))

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return self.net(n)


class LatentDiscriminator(nn.Module):
    """``l_D``: code ``(n, latent)`` -> logit ``(n, 1)`` (least-squares GAN target 1 real / 0 fake)."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        self.net = nn.Sequential(*_latent_trunk(latent_dim), nn.Linear(512, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class SampleGenerator(nn.Module):
    """``G``: code ``(n, latent)`` -> tile ``(n, C, h, w)`` in [-1, 1] (tanh); h and w divisible by 4."""

    def __init__(self, shape: tuple[int, int, int], latent_dim: int = 100, bn_eps: float = 0.8):
        super().__init__()
        c, h, w = shape
        if h % 4 or w % 4:
            raise ValueError(f"tile size {(h, w)} must be divisible by 4 for the sample generator")
        self.init = (h // 4, w // 4)
        self.fc = nn.Linear(latent_dim, 64 * self.init[0] * self.init[1])
        self.blocks = nn.Sequential(
            nn.BatchNorm2d(64),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64, eps=bn_eps), _lrelu(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(64, 48, 3, padding=1), nn.BatchNorm2d(48, eps=bn_eps), _lrelu(),
            nn.Conv2d(48, c, 3, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.fc(z).view(z.shape[0], 64, *self.init))


class CBAM(nn.Module):
    """Convolutional block attention: channel then spatial attention (Woo et al., ECCV 2018)."""

    def __init__(self, channels: int, reduction: int = 16, kernel: int = 7):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mx = torch.amax(x, dim=(2, 3), keepdim=True)
        avg = torch.mean(x, dim=(2, 3), keepdim=True)
        x = x * torch.sigmoid(self.mlp(mx) + self.mlp(avg))
        pooled = torch.cat([torch.amax(x, dim=1, keepdim=True), torch.mean(x, dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


def _down_size(n: int, times: int = 4) -> int:
    for _ in range(times):
        n = (n - 1) // 2 + 1  # 3x3 convolution, stride 2, padding 1
    return n


class Critic(nn.Module):
    """``D``: the spectral-normalised WGAN critic with CBAM; ``features`` is ``forward_features`` of the reference."""

    widths = (48, 64, 96, 128)

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = shape
        layers: list[nn.Module] = []
        prev = c
        for width in self.widths:
            layers += [spectral_norm(nn.Conv2d(prev, width, 3, stride=2, padding=1)), _lrelu()]
            prev = width
        self.convs = nn.Sequential(*layers)
        self.cbam = CBAM(prev)
        self.n_features = prev * _down_size(h) * _down_size(w)
        self.head = nn.Linear(self.n_features, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x)
        return torch.flatten(nn.functional.leaky_relu(h + self.cbam(h), SLOPE), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """A deep copy of `module` in eval mode with each spectral-norm parametrisation folded into a plain weight.

    In eval mode the parametrisation computes ``W / sigma`` from its stored power-iteration vectors without
    updating them; that exact tensor becomes the copy's ``weight``, so the copy's outputs equal the
    original's eval-mode outputs and the graph needs no power iteration.
    """
    folded = copy.deepcopy(module).eval()
    # replace each parametrised convolution by a new plain one; `remove_parametrizations` is not used because
    # it deletes the property from the parametrised class, which a deep copy shares with the original
    for parent in list(folded.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and parametrize.is_parametrized(child, "weight"):
                plain = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                  child.padding, child.dilation, child.groups, child.bias is not None,
                                  child.padding_mode)
                with torch.no_grad():
                    plain.weight.copy_(child.weight)
                    if child.bias is not None:
                        plain.bias.copy_(child.bias)
                setattr(parent, name, plain.eval())
    return folded
