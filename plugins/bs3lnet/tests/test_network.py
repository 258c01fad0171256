"""The BS3LNet network: architecture of methods.md 2.3, parameter count, init, receptive field, any H x W."""

from __future__ import annotations

import torch
from had_bs3lnet.network import BS3LNetwork, init_weights, reconstruction_error
from torch import nn


def test_parameter_count_matches_the_reference_for_189_bands():
    net = BS3LNetwork(189)
    # enc 189*64*9+64, 5 bias-free 64x64 convs, 5 BN (64 weights + 64 biases), out 64*189*9+189
    expected = (189 * 64 * 9 + 64) + 5 * 64 * 64 * 9 + 5 * 128 + (64 * 189 * 9 + 189)
    assert sum(p.numel() for p in net.parameters()) == expected == 402_941
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 7 and all(m.kernel_size == (3, 3) and m.padding == (0, 0) for m in convs)
    assert [m.bias is not None for m in convs] == [True, False, False, False, False, False, True]
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in net.modules()) == 7
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 5


def test_init_is_normal_with_gain_002():
    torch.manual_seed(0)
    net = BS3LNetwork(100)
    init_weights(net)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 5e-4
    assert all(m.bias is None or torch.count_nonzero(m.bias) == 0 for m in convs)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight for m in bns])
    assert abs(gammas.mean().item() - 1) < 5e-3 and abs(gammas.std().item() - 0.02) < 5e-3
    assert all(torch.count_nonzero(m.bias) == 0 for m in bns)


def test_any_height_and_width_and_a_15x15_receptive_field():
    torch.manual_seed(0)
    net = BS3LNetwork(5, channels=8).eval()
    init_weights(net, gain=0.3)
    for h, w in [(2, 2), (5, 9), (23, 17)]:
        assert net(torch.randn(1, 5, h, w)).shape == (1, 5, h, w)
    x = torch.randn(1, 5, 31, 31, requires_grad=True)
    net(x)[0, :, 15, 15].sum().backward()
    reach = (x.grad.abs().sum(dim=(0, 1)) > 0).nonzero()
    assert reach.min().item() == 15 - 7 and reach.max().item() == 15 + 7  # 7 convs of 3x3: 15x15


def test_reconstruction_error_is_mean_square_over_bands():
    x, r = torch.zeros(1, 4, 2, 3), torch.zeros(1, 4, 2, 3)
    r[0, :, 1, 2] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    err = reconstruction_error(x, r)
    assert err.shape == (1, 2, 3)
    assert err[0, 1, 2].item() == (1 + 4 + 9 + 16) / 4
    assert err.sum().item() == err[0, 1, 2].item()
