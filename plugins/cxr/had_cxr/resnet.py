"""CXR Deep SVDD's network: a ResNet-18 encoder without the max-pool and a residual upsampling decoder.

Encoder (torchvision's ResNet-18 layout and parameter names, so ImageNet weights load by name): conv1 7x7
stride 2 - bn1 - ReLU, **no max-pool**, layer1..layer4 of two BasicBlocks each (widths w, 2w, 4w, 8w; strides
1, 2, 2, 2), giving an 8w x H/16 x W/16 map (512 x 14 x 14 at 224 with w = 64, the reference); head = global
average pool -> Linear(8w -> rep_dim, with bias, as the reference).

Decoder from the 8w map: eight residual blocks [8w->8w, 8w->8w, 8w->4w up, 4w->4w, 4w->2w up, 2w->2w, 2w->w up,
w->w]. A plain block is conv3-BN-ReLU-conv3-BN plus identity, ReLU after the add; an *up* block upsamples
(bilinear, align_corners) to the size of the matching encoder stage, projects with conv1x1-BN (the identity
path) and adds one conv3-BN on it (the block's first conv is skipped, as in the reference). Then a bilinear
resize to the input size (x2 at 224), conv1x1 (w -> C, no bias) and tanh. Sizes follow the encoder's stages
instead of fixed x2 steps, so odd sides (28 -> 14 -> 7 -> 4 -> 2) come back exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (names conv1, bn1, conv2, bn2, downsample.0/1)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18Encoder(nn.Module):
    """ResNet-18 trunk without max-pool; returns the feature maps of conv1 and layer1..4."""

    def __init__(self, channels: int, width: int = 64):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = nn.Conv2d(channels, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.layer1 = nn.Sequential(BasicBlock(w[0], w[0]), BasicBlock(w[0], w[0]))
        self.layer2 = nn.Sequential(BasicBlock(w[0], w[1], 2), BasicBlock(w[1], w[1]))
        self.layer3 = nn.Sequential(BasicBlock(w[1], w[2], 2), BasicBlock(w[2], w[2]))
        self.layer4 = nn.Sequential(BasicBlock(w[2], w[3], 2), BasicBlock(w[3], w[3]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h0 = F.relu(self.bn1(self.conv1(x)))
        h1 = self.layer1(h0)
        h2 = self.layer2(h1)
        h3 = self.layer3(h2)
        return [h0, h1, h2, h3, self.layer4(h3)]


class UpBlock(nn.Module):
    """Residual block; with `up`, upsample to a given size and project (conv1x1-BN) first."""

    def __init__(self, cin: int, cout: int, up: bool):
        super().__init__()
        self.up = up
        if up:
            self.project = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.conv = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        else:
            self.conv = nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if self.up:
            x = self.project(F.interpolate(x, size=size, mode="bilinear", align_corners=True))
        return F.relu(x + self.conv(x))


class ResNet18AE(nn.Module):
    """``encode(x) -> code``; ``forward(x) -> (code, reconstruction)``."""

    def __init__(self, channels: int, width: int = 64, rep_dim: int = 100, head_bias: bool = True):
        super().__init__()
        self.encoder = ResNet18Encoder(channels, width)
        self.fc = nn.Linear(8 * width, rep_dim, bias=head_bias)
        w = [8 * width, 4 * width, 2 * width, width]
        plan = [(w[0], w[0], False), (w[0], w[0], False), (w[0], w[1], True), (w[1], w[1], False),
                (w[1], w[2], True), (w[2], w[2], False), (w[2], w[3], True), (w[3], w[3], False)]
        self.decoder = nn.ModuleList(UpBlock(a, b, up) for a, b, up in plan)
        self.out = nn.Conv2d(width, channels, 1, bias=False)

    def head(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.fc(feature_map.mean(dim=(2, 3)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x)[-1])

    def forward(self, x: torch.Tensor):
        maps = self.encoder(x)
        sizes = [tuple(m.shape[-2:]) for m in (maps[3], maps[2], maps[0])]  # layer3, layer2, conv1 sizes
        h, ups = maps[-1], iter(sizes)
        for block in self.decoder:
            h = block(h, next(ups) if block.up else None)
        h = F.interpolate(h, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=True)
        return self.head(maps[-1]), torch.tanh(self.out(h))


def load_imagenet_weights(encoder: ResNet18Encoder, path: str) -> list[str]:
    """Load torchvision ResNet-18 ImageNet weights from a *local* file (``.safetensors``, or a ``.pth`` state
    dict read with ``weights_only=True``) into the encoder (width 64). A 1-channel encoder gets conv1's RGB
    filters summed. Returns the names loaded. Nothing is downloaded."""
    from had.errors import ConfigError

    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"pretrained_path {path} does not exist; give the local file of ResNet-18 weights") from None
    except Exception as exc:  # unpickling refused, a corrupt header: the file is not weights had reads safely
        # (torch's own message suggests weights_only=False, which would run code from the file: not repeated)
        raise ConfigError(f"pretrained_path {path} is not a ResNet-18 state dict had can read safely "
                          f"({type(exc).__name__}); give torchvision's weights as .safetensors, or a .pth holding "
                          "tensors only") from None
    if not isinstance(state, dict):
        raise ConfigError(f"pretrained_path {path} holds a {type(state).__name__}, not a state dict of tensors")
    own = encoder.state_dict()
    picked = {}
    for name, value in state.items():
        if name not in own:
            continue
        if name == "conv1.weight" and value.shape[1] != own[name].shape[1]:
            if own[name].shape[1] != 1:
                raise ValueError(f"conv1 takes {own[name].shape[1]} channels; ImageNet weights have {value.shape[1]}")
            value = value.sum(dim=1, keepdim=True)
        if value.shape != own[name].shape:
            raise ValueError(f"{name}: file has {tuple(value.shape)}, encoder {tuple(own[name].shape)}; "
                             "ImageNet weights need width 64")
        picked[name] = value
    encoder.load_state_dict(picked, strict=False)
    return sorted(picked)
