"""The BS3LNet network (Gao et al., TGRS 2023): a fully convolutional residual encoder-decoder.

Every convolution is 3x3, stride 1, preceded by an explicit reflection pad of 1 (so the output keeps the
input's height and width, and any H, W >= 2 works):

* encoder: pad, conv(B -> C, bias), ReLU; its output ``x0`` is kept for the skip;
* ``n_blocks`` residual blocks: ``x + [pad, conv(C -> C, no bias), BN, ReLU, pad, conv(C -> C, no bias), BN]``;
* decoder: pad, conv(C -> C, no bias), BN, then ``+ x0``;
* output: pad, conv(C -> B, bias).

The network is not blind by construction: blindness comes from the training masks (:mod:`.masking`); at
test time the unmasked scene goes through it once. Initialisation as the reference's ``normal`` init with
gain 0.02: conv weights N(0, 0.02), biases 0, BatchNorm weights N(1, 0.02), BatchNorm biases 0.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(c_in: int, c_out: int, bias: bool) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, kernel_size=3, padding=0, bias=bias))


class ResidualBlock(nn.Module):
    """``x + BN(conv(ReLU(BN(conv(x)))))`` with reflection-padded, bias-free convolutions."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            _conv(channels, channels, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class BS3LNetwork(nn.Module):
    """``(N, B, H, W) -> (N, B, H, W)`` reconstruction network of BS3LNet (see the module docstring)."""

    def __init__(self, n_bands: int, channels: int = 64, n_blocks: int = 2):
        super().__init__()
        self.encoder = nn.Sequential(_conv(n_bands, channels, bias=True), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(n_blocks)])
        self.decoder = nn.Sequential(_conv(channels, channels, bias=False), nn.BatchNorm2d(channels))
        self.output = _conv(channels, n_bands, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.encoder(x)
        x = self.decoder(self.blocks(x0)) + x0
        return self.output(x)


def init_weights(network: nn.Module, gain: float = 0.02, generator: torch.Generator | None = None) -> None:
    """The reference's ``normal`` init: conv N(0, gain), conv bias 0, BN weight N(1, gain), BN bias 0."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.normal_(0.0, gain, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.normal_(1.0, gain, generator=generator)
                module.bias.zero_()


def reconstruction_error(x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean squared error over bands: ``(N, B, H, W)`` pair -> ``(N, H, W)``."""
    return (x - reconstruction).pow(2).mean(dim=1)
