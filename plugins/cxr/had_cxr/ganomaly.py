"""GAN-GP's networks: a GANomaly-style generator (E1 -> Dec -> E2) and a Wasserstein critic.

Reference (3 x 128 x 128, width 64, nz 128; IN = InstanceNorm2d(affine=True)):

* encoder: Conv7(C->w, no bias)-IN-ReLU; Down blocks Conv4(stride 2, no bias)-IN-ReLU doubling the channels
  (64 -> 1024); a last Conv4 to a ``nz`` x 1 x 1 code;
* decoder: ConvT(nz -> 16w) to the smallest map -IN-ReLU; ConvT4(stride 2) blocks halving the channels
  -IN-ReLU; an output layer to C channels and tanh;
* critic: Conv4(stride 2, pad 1)-LeakyReLU(0.01) blocks doubling the channels, then Conv3(pad 1, no bias) to a
  one-channel patch map.

Here the depth follows the input size so any side works exactly: the encoder halves (Conv4, stride 2, pad 1)
while the side is even and above 8 (128 -> 8 after 4 Downs, 64 -> 1024 channels as in the reference;
28 -> 7 after 2), the code layer's kernel is the last side, the decoder mirrors the encoder with
``output_padding`` chosen to hit each encoder size, and ends with Conv3(w -> C) + tanh. The critic halves while
the side is above 2 (128 -> 2 with 2048 channels, as the reference; 28 -> 1). Paddings differ from the
reference's (its Conv7 has pad 1, its Downs pad 0: 128 -> 124 -> 61 -> 29 -> 13 -> 5 -> 1); see the README.
"""

from __future__ import annotations

import torch
from torch import nn


def encoder_sizes(isize: int) -> list[int]:
    sizes = [isize]
    while sizes[-1] % 2 == 0 and sizes[-1] > 8:
        sizes.append(sizes[-1] // 2)
    return sizes


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=True)


class Encoder(nn.Sequential):
    def __init__(self, channels: int, isize: int, width: int, nz: int):
        sizes = encoder_sizes(isize)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 7, 1, 3, bias=False), _norm(width), nn.ReLU()]
        c = width
        for _ in sizes[1:]:
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), _norm(2 * c), nn.ReLU()]
            c *= 2
        layers.append(nn.Conv2d(c, nz, sizes[-1], bias=False))
        super().__init__(*layers)


class Decoder(nn.Sequential):
    def __init__(self, channels: int, isize: int, width: int, nz: int):
        sizes = encoder_sizes(isize)
        c = width * 2 ** (len(sizes) - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, c, sizes[-1], bias=False), _norm(c), nn.ReLU()]
        for small, big in zip(sizes[:0:-1], sizes[-2::-1]):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, output_padding=big - 2 * small, bias=False),
                       _norm(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.Conv2d(c, channels, 3, 1, 1, bias=False), nn.Tanh()]
        super().__init__(*layers)


class Generator(nn.Module):
    """``forward(x) -> (z_i, x_hat, z_o)`` with ``z_i = E1(x)``, ``x_hat = Dec(z_i)``, ``z_o = E2(x_hat)``."""

    def __init__(self, channels: int, isize: int, width: int, nz: int):
        super().__init__()
        self.e1 = Encoder(channels, isize, width, nz)
        self.dec = Decoder(channels, isize, width, nz)
        self.e2 = Encoder(channels, isize, width, nz)

    def forward(self, x: torch.Tensor):
        z_i = self.e1(x)
        x_hat = self.dec(z_i)
        return z_i, x_hat, self.e2(x_hat)


class Critic(nn.Sequential):
    def __init__(self, channels: int, isize: int, width: int):
        layers: list[nn.Module] = []
        c_in, c, side = channels, width, isize
        while side > 2:
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.LeakyReLU(0.01)]
            c_in, c, side = c, 2 * c, side // 2
        layers.append(nn.Conv2d(c_in, 1, 3, 1, 1, bias=False))
        super().__init__(*layers)


class GANGPNet(nn.Module):
    def __init__(self, channels: int, isize: int, width: int, nz: int, critic_width: int):
        super().__init__()
        self.generator = Generator(channels, isize, width, nz)
        self.critic = Critic(channels, isize, critic_width)
