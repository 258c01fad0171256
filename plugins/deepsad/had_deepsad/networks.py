"""Deep SVDD / Deep SAD networks (Ruff et al.): bias-free encoders and their autoencoders.

Every layer is bias-free and every BatchNorm has ``affine=False`` and ``eps=1e-4``, activations are LeakyReLU
(slope 0.01): a bias or an affine BatchNorm would let the encoder map everything onto the centre (the trivial
"hypersphere collapse" solution the papers rule out).

* :class:`MLPEncoder` / :class:`MLPDecoder`: the ODDS networks, ``d-[h1, h2]-rep``; hidden layers are
  Linear-BN1d-LeakyReLU, the code layer a plain Linear; the decoder mirrors the hidden sizes and ends in a
  Linear followed by a sigmoid (the inputs are min-max scaled to [0, 1] by the protocol).
* :class:`MNISTLeNetEncoder` / :class:`MNISTLeNetDecoder`: 1x28x28 images, representation 32.
* :class:`CIFAR10LeNetEncoder` / :class:`CIFAR10LeNetDecoder`: 3x32x32 images, representation 128.
* :func:`mlp_sizes`: the reference's per-dataset sizes and the ``net="auto"`` rule for other inputs.
* :func:`build_autoencoder`: an :class:`Autoencoder` (``.encoder``, ``.decoder``) for an input spec.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from had.errors import InvalidInputError

BN_EPS = 1e-4
SLOPE = 0.01

#: reference MLP sizes (hidden, rep_dim) of Deep SAD's ODDS experiments, by input dimension
REFERENCE_MLP = {
    274: ([128, 64], 32),  # arrhythmia
    21: ([32, 16], 8),  # cardio
    36: ([32, 16], 8),  # satellite, satimage-2
    9: ([32, 16], 8),  # shuttle
    6: ([32, 16], 4),  # thyroid
}


def mlp_sizes(n_features: int, hidden: list[int] | None = None, rep_dim: int | None = None) -> tuple[list[int], int]:
    """Hidden sizes and representation size for an MLP on `n_features` inputs.

    Rule of ``net="auto"``: the reference's sizes for the six ODDS input dimensions (274, 21, 36, 9, 6);
    otherwise ``[128, 64]-32`` when ``d > 100`` (arrhythmia-like, e.g. hyperspectral bands), ``[32, 16]-4``
    when ``d <= 8`` (thyroid-like), and ``[32, 16]-8`` in between. Explicit `hidden` / `rep_dim` override.
    """
    if n_features in REFERENCE_MLP:
        auto_hidden, auto_rep = REFERENCE_MLP[n_features]
    elif n_features > 100:
        auto_hidden, auto_rep = [128, 64], 32
    elif n_features <= 8:
        auto_hidden, auto_rep = [32, 16], 4
    else:
        auto_hidden, auto_rep = [32, 16], 8
    return (list(hidden) if hidden else list(auto_hidden)), (rep_dim or auto_rep)


def _linear_block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out, eps=BN_EPS, affine=False),
                         nn.LeakyReLU(SLOPE))


class MLPEncoder(nn.Module):
    """``d -> hidden... -> rep_dim``: bias-free Linear-BN-LeakyReLU blocks, then a bias-free code layer."""

    def __init__(self, n_features: int, hidden: list[int], rep_dim: int):
        super().__init__()
        sizes = [n_features, *hidden]
        self.hidden = nn.Sequential(*[_linear_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.code = nn.Linear(sizes[-1], rep_dim, bias=False)
        self.rep_dim = rep_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.code(self.hidden(x.reshape(x.shape[0], -1)))


class MLPDecoder(nn.Module):
    """``rep_dim -> reversed(hidden)... -> d``, then a sigmoid."""

    def __init__(self, n_features: int, hidden: list[int], rep_dim: int):
        super().__init__()
        sizes = [rep_dim, *reversed(hidden)]
        self.hidden = nn.Sequential(*[_linear_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.reconstruction = nn.Linear(sizes[-1], n_features, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.reconstruction(self.hidden(z)))


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, affine=False)


class MNISTLeNetEncoder(nn.Module):
    """1x28x28 -> Conv5(8)-BN-LReLU-pool -> Conv5(4)-BN-LReLU-pool -> Linear(196 -> 32)."""

    rep_dim = 32

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 8, 5, bias=False, padding=2), _bn2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 4, 5, bias=False, padding=2), _bn2d(4)
        self.fc1 = nn.Linear(4 * 7 * 7, self.rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.leaky_relu(self.bn1(self.conv1(x)), SLOPE), 2)
        x = F.max_pool2d(F.leaky_relu(self.bn2(self.conv2(x)), SLOPE), 2)
        return self.fc1(x.flatten(1))


class MNISTLeNetDecoder(nn.Module):
    """32 -> (2, 4, 4) -> upsample/ConvT5 to 8x8, 14x14, 28x28 -> sigmoid."""

    def __init__(self):
        super().__init__()
        self.deconv1, self.bn1 = nn.ConvTranspose2d(2, 4, 5, bias=False, padding=2), _bn2d(4)
        self.deconv2, self.bn2 = nn.ConvTranspose2d(4, 8, 5, bias=False, padding=3), _bn2d(8)
        self.deconv3 = nn.ConvTranspose2d(8, 1, 5, bias=False, padding=2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(F.leaky_relu(z.reshape(z.shape[0], 2, 4, 4), SLOPE), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn1(self.deconv1(x)), SLOPE), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn2(self.deconv2(x)), SLOPE), scale_factor=2)
        return torch.sigmoid(self.deconv3(x))


class CIFAR10LeNetEncoder(nn.Module):
    """3x32x32 -> three Conv5-BN-LReLU-pool blocks (32, 64, 128) -> Linear(2048 -> 128)."""

    rep_dim = 128

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 5, bias=False, padding=2), _bn2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 5, bias=False, padding=2), _bn2d(64)
        self.conv3, self.bn3 = nn.Conv2d(64, 128, 5, bias=False, padding=2), _bn2d(128)
        self.fc1 = nn.Linear(128 * 4 * 4, self.rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = F.max_pool2d(F.leaky_relu(bn(conv(x)), SLOPE), 2)
        return self.fc1(x.flatten(1))


class CIFAR10LeNetDecoder(nn.Module):
    """128 -> (8, 4, 4) -> ConvT5 128, 64, 32, 3 with x2 upsampling to 32x32 -> sigmoid (Xavier init)."""

    def __init__(self):
        super().__init__()
        self.deconv1, self.bn1 = nn.ConvTranspose2d(8, 128, 5, bias=False, padding=2), _bn2d(128)
        self.deconv2, self.bn2 = nn.ConvTranspose2d(128, 64, 5, bias=False, padding=2), _bn2d(64)
        self.deconv3, self.bn3 = nn.ConvTranspose2d(64, 32, 5, bias=False, padding=2), _bn2d(32)
        self.deconv4 = nn.ConvTranspose2d(32, 3, 5, bias=False, padding=2)
        gain = nn.init.calculate_gain("leaky_relu")
        for layer in (self.deconv1, self.deconv2, self.deconv3, self.deconv4):
            nn.init.xavier_uniform_(layer.weight, gain=gain)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(z.reshape(z.shape[0], 8, 4, 4), SLOPE)
        for deconv, bn in ((self.deconv1, self.bn1), (self.deconv2, self.bn2), (self.deconv3, self.bn3)):
            x = F.interpolate(F.leaky_relu(bn(deconv(x)), SLOPE), scale_factor=2)
        return torch.sigmoid(self.deconv4(x))


class Autoencoder(nn.Module):
    """Encoder + decoder; the encoder is the Deep SVDD/SAD network after pretraining."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x)).reshape(x.shape)


IMAGE_NETS = {"mnist_lenet": ((1, 28, 28), MNISTLeNetEncoder, MNISTLeNetDecoder),
              "cifar10_lenet": ((3, 32, 32), CIFAR10LeNetEncoder, CIFAR10LeNetDecoder)}


def resolve_net(input_spec: dict[str, Any], net: str) -> str:
    """The concrete network name for `net` ("auto", "mlp", "mnist_lenet", "cifar10_lenet") and the input."""
    kind = input_spec["kind"]
    if kind != "image":
        if net not in ("auto", "mlp"):
            raise InvalidInputError(f"net={net!r} takes images (N, C, H, W); {kind} data needs net='mlp' or 'auto'")
        return "mlp"
    shape = tuple(input_spec["sample_shape"])
    if net == "auto":
        for name, (expected, _, _) in IMAGE_NETS.items():
            if shape == expected:
                return name
        raise InvalidInputError(
            f"no Deep SAD network for images of shape {shape}: the reference networks take 1x28x28 "
            "(mnist_lenet) or 3x32x32 (cifar10_lenet); resize the images, or flatten them to rows for net='mlp'"
        )
    if net == "mlp":
        raise InvalidInputError("net='mlp' takes rows (N, D); flatten the images first or use a LeNet")
    expected = IMAGE_NETS[net][0]
    if shape != expected:
        raise InvalidInputError(f"net={net!r} takes images of shape {expected}, got {shape}")
    return net


def build_autoencoder(input_spec: dict[str, Any], net: str = "auto", hidden: list[int] | None = None,
                      rep_dim: int | None = None) -> Autoencoder:
    """The autoencoder whose encoder is the Deep SVDD/SAD network for `input_spec`."""
    name = resolve_net(input_spec, net)
    if name == "mlp":
        d = int(input_spec["n_features"])
        h, r = mlp_sizes(d, hidden, rep_dim)
        return Autoencoder(MLPEncoder(d, h, r), MLPDecoder(d, h, r))
    _, encoder, decoder = IMAGE_NETS[name]
    return Autoencoder(encoder(), decoder())
