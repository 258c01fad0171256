"""MemDAE/RLAD's encoder-decoder ("UNET" without skip connections) with an L2-normalised code.

Reference (isize 256, width 16): DoubleConv(C->16) = [Conv3 (no bias) - BN - LeakyReLU(0.1)] x 2, then Down
blocks (MaxPool2 + DoubleConv, channels doubling) to a 4x4 map, a Conv with the map's size as kernel (no bias)
to a ``rep_dim`` x 1 x 1 feature, L2-normalised over channels: the code. Decoder: ConvTranspose (no bias) back
to the smallest map, Up blocks [bilinear x2 -> Conv1 (c -> c/2, no bias) -> BN -> DoubleConv], Conv1 to C, tanh.

Here the number of Down blocks follows the input size (halve while the side is even and above 4: 256 -> 4x4
after 6 Downs as in the reference; 28 -> 7x7 after 2), and ``width`` scales every channel count (16 = the
reference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def down_sizes(isize: int, floor: int = 4) -> list[int]:
    """Spatial sides after each halving: halve while even and above `floor` (28 -> [28, 14, 7])."""
    sizes = [isize]
    while sizes[-1] % 2 == 0 and sizes[-1] > floor:
        sizes.append(sizes[-1] // 2)
    return sizes


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1),
        )


class Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(cin, cin // 2, 1, bias=False), nn.BatchNorm2d(cin // 2))
        self.conv = DoubleConv(cin // 2, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        return self.conv(self.reduce(x))


class UNetAE(nn.Module):
    """``encode(x) -> code (n, rep_dim)`` (unit norm); ``forward(x) -> (code, reconstruction)``."""

    def __init__(self, channels: int, isize: int, width: int = 16, rep_dim: int = 100):
        super().__init__()
        sizes = down_sizes(isize)
        widths = [width * 2 ** i for i in range(len(sizes))]
        self.inc = DoubleConv(channels, widths[0])
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), DoubleConv(a, b)) for a, b in zip(widths[:-1], widths[1:]))
        self.feat = nn.Conv2d(widths[-1], rep_dim, sizes[-1], bias=False)
        self.defeat = nn.ConvTranspose2d(rep_dim, widths[-1], sizes[-1], bias=False)
        self.ups = nn.ModuleList(Up(a, b) for a, b in zip(widths[:0:-1], widths[-2::-1]))
        self.out = nn.Conv2d(widths[0], channels, 1, bias=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inc(x)
        for down in self.downs:
            h = down(h)
        return F.normalize(self.feat(h).flatten(1), dim=1)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        h = self.defeat(code[:, :, None, None])
        for up in self.ups:
            h = up(h)
        return torch.tanh(self.out(h))

    def forward(self, x: torch.Tensor):
        code = self.encode(x)
        return code, self.decode(code)
