"""Networks, objective and training loop as plain torch parts, checked against hand-computed numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from had.errors import InvalidInputError
from had_deepsad.networks import build_autoencoder, mlp_sizes
from had_deepsad.objective import deepsad_loss, init_center, squared_distance, to_reference_labels
from had_deepsad.training import adam_phase
from had_sdk.training import run_phases


@pytest.mark.parametrize("d, hidden, rep", [(274, [128, 64], 32), (21, [32, 16], 8), (36, [32, 16], 8),
                                            (9, [32, 16], 8), (6, [32, 16], 4), (200, [128, 64], 32),
                                            (50, [32, 16], 8), (3, [32, 16], 4)])
def test_mlp_sizes_reference_and_auto_rule(d, hidden, rep):
    assert mlp_sizes(d) == (hidden, rep)
    assert mlp_sizes(d, [10], 3) == ([10], 3)


def _layers(module: nn.Module):
    return [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm1d,
                                                          nn.BatchNorm2d))]


@pytest.mark.parametrize("spec, rep, recon", [
    ({"kind": "tabular", "n_features": 274}, 32, (5, 274)),
    ({"kind": "image", "n_features": 1, "sample_shape": [1, 28, 28]}, 32, (5, 1, 28, 28)),
    ({"kind": "image", "n_features": 3, "sample_shape": [3, 32, 32]}, 128, (5, 3, 32, 32)),
])
def test_networks_shapes_no_bias_and_fixed_batchnorm(spec, rep, recon):
    torch.manual_seed(0)
    ae = build_autoencoder(spec)
    x = torch.rand(recon)
    assert ae.encoder(x).shape == (5, rep)
    with torch.no_grad():
        out = ae(x)
    assert out.shape == recon and float(out.min()) >= 0.0 and float(out.max()) <= 1.0  # sigmoid output
    layers = _layers(ae)
    assert layers
    for layer in layers:
        if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            assert layer.affine is False and layer.eps == 1e-4
        else:
            assert layer.bias is None


def test_mnist_lenet_parameter_count():
    ae = build_autoencoder({"kind": "image", "n_features": 1, "sample_shape": [1, 28, 28]})
    # conv 1->8 (200) + conv 8->4 (800) + fc 196->32 (6272)
    assert sum(p.numel() for p in ae.encoder.parameters()) == 200 + 800 + 196 * 32


def test_bad_image_shape_is_a_typed_error():
    with pytest.raises(InvalidInputError, match="1x28x28"):
        build_autoencoder({"kind": "image", "n_features": 1, "sample_shape": [1, 16, 16]})
    with pytest.raises(InvalidInputError):
        build_autoencoder({"kind": "tabular", "n_features": 5}, net="mnist_lenet")


def test_label_conversion_flips_sign():
    known = np.array([1, -1, 0, 1], dtype=np.int8)  # had: 1 known anomaly, -1 known normal
    np.testing.assert_array_equal(to_reference_labels(known, 4), [-1, 1, 0, -1])
    np.testing.assert_array_equal(to_reference_labels(None, 3), [0, 0, 0])


def test_deepsad_loss_numbers():
    c = torch.tensor([1.0, 0.0])
    z = torch.tensor([[1.0, 2.0], [3.0, 0.0], [1.0, 1.0]])  # distances 4, 4, 1
    np.testing.assert_allclose(squared_distance(z, c).numpy(), [4.0, 4.0, 1.0])
    semi = torch.tensor([0, 1, -1])  # unlabeled, known normal, known anomaly (reference convention)
    eps = 1e-6
    expected = (4.0 + 2.0 * (4.0 + eps) + 2.0 / (1.0 + eps)) / 3.0
    assert float(deepsad_loss(z, c, semi, eta=2.0)) == pytest.approx(expected, rel=1e-6)
    # all unlabeled: Deep SVDD's mean squared distance
    assert float(deepsad_loss(z, c, torch.zeros(3, dtype=torch.long))) == pytest.approx(3.0)


def test_init_center_moves_small_coordinates():
    enc = nn.Identity()
    X = torch.tensor([[0.05, -0.02, 0.5, 0.0], [0.05, -0.04, 0.7, 0.0]])
    np.testing.assert_allclose(init_center(enc, X, batch_size=1).numpy(), [0.1, -0.1, 0.6, 0.1], rtol=1e-6)


def _run(phase):
    owner = SimpleNamespace(name="test", config=SimpleNamespace(progress=False), training_callback=None)
    return run_phases(owner, [phase], {})


def test_adam_phase_drop_last_and_modern_milestones():
    model = nn.Linear(2, 1, bias=False)
    seen, lrs = [], []

    def step(batch):
        seen.append(len(batch))
        lrs.append(optimizer.param_groups[0]["lr"])
        return (model(batch.x) ** 2).mean()

    phase = adam_phase("t", model, step, torch.ones(10, 2), epochs=4, lr=1.0, weight_decay=0.0, milestones=[2],
                       batch_size=4, generator=torch.Generator().manual_seed(0))
    optimizer = phase.optimizers
    history = _run(phase)
    assert seen == [4, 4] * 4  # 10 samples, batch 4: the last 2 are dropped each epoch
    # modern order: epochs 0 and 1 at the full rate, from epoch 2 on x0.1 (the reference decays one epoch early)
    np.testing.assert_allclose(lrs, [1.0] * 4 + [0.1] * 4)
    assert len(history["loss"]) == 4
    # a set smaller than one batch is one batch, not none
    seen.clear()
    _run(adam_phase("t", model, step, torch.ones(3, 2), epochs=1, lr=0.1, weight_decay=0.0, milestones=[],
                    batch_size=128, generator=torch.Generator().manual_seed(0)))
    assert seen == [3]
