"""Networks, losses, spectral-norm folding and the three scores, on tiny shapes."""

import numpy as np
import pytest
import torch

from had_geohgan.losses import (critic_loss, geohgan_scores, gradient_penalty, izif_loss, lsgan_discriminator_loss,
                                lsgan_generator_loss, per_sample_mse)
from had_geohgan.nets import (CBAM, Autoencoder, Critic, LatentDiscriminator, LatentGenerator, SampleGenerator,
                              ZDecoder, ZEncoder, fold_spectral_norm)

SHAPE = (3, 16, 16)


def test_shapes():
    torch.manual_seed(0)
    x = torch.rand(5, *SHAPE)
    enc, dec = ZEncoder(3 * 256, 7, 32, (16, 8)), ZDecoder(SHAPE, 7, 32, (16, 8))
    z, rec = Autoencoder(enc, dec)(x)
    assert z.shape == (5, 7) and rec.shape == x.shape and (rec >= 0).all() and (rec <= 1).all()
    assert LatentGenerator(7)(torch.randn(5, 7)).shape == (5, 7)
    assert LatentDiscriminator(7)(torch.randn(5, 7)).shape == (5, 1)
    g = SampleGenerator(SHAPE, 7, bn_eps=0.8)
    out = g(torch.randn(5, 7))
    assert out.shape == x.shape and out.abs().max() <= 1
    assert [m.eps for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)] == [1e-5, 0.8, 0.8]
    d = Critic(SHAPE)
    assert d.n_features == 128 and d.features(x).shape == (5, 128) and d(x).shape == (5, 1)
    assert Critic((3, 64, 64)).n_features == 128 * 16  # 64 -> 4 after four stride-2 convolutions, as the reference
    with pytest.raises(ValueError):
        SampleGenerator((3, 10, 10))


def test_cbam_matches_formula():
    torch.manual_seed(1)
    cbam = CBAM(32, reduction=16, kernel=7)
    x = torch.randn(2, 32, 5, 5)
    mlp = cbam.mlp
    ch = torch.sigmoid(mlp(x.amax(dim=(2, 3), keepdim=True)) + mlp(x.mean(dim=(2, 3), keepdim=True)))
    y = x * ch
    sp = torch.sigmoid(cbam.spatial(torch.cat([y.max(1, keepdim=True).values, y.mean(1, keepdim=True)], 1)))
    torch.testing.assert_close(cbam(x), y * sp)
    assert cbam.mlp[0].weight.shape == (2, 32, 1, 1) and cbam.mlp[0].bias is None


def test_spectral_norm_is_applied_and_folds_exactly():
    torch.manual_seed(2)
    d = Critic(SHAPE)
    x = torch.rand(4, *SHAPE)
    for _ in range(20):  # power iterations in train mode
        d(x)
    d.eval()
    for conv in [m for m in d.convs if isinstance(m, torch.nn.Conv2d)]:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05  # W / sigma has spectral norm ~1
    with torch.no_grad():
        before = d(x)
    folded = fold_spectral_norm(d)
    assert not any(hasattr(m, "parametrizations") for m in folded.modules())
    with torch.no_grad():
        torch.testing.assert_close(d(x), before)  # the original is untouched
        torch.testing.assert_close(folded.features(x), d.features(x))
        torch.testing.assert_close(folded(x), d(x))


def test_lsgan_losses():
    real, fake = torch.tensor([[1.0], [1.0]]), torch.tensor([[0.0], [0.0]])
    assert float(lsgan_discriminator_loss(real, fake)) == 0.0
    assert float(lsgan_discriminator_loss(fake, real)) == pytest.approx(1.0)
    assert float(lsgan_generator_loss(torch.tensor([[0.0]]))) == pytest.approx(0.5)


def test_gradient_penalty_linear_critic():
    # D(x) = <w, x>: the gradient is w everywhere, so GP = (||w|| - 1)^2 whatever alpha
    w = torch.randn(1, *SHAPE)

    def critic(x):
        return (x * w).flatten(1).sum(1, keepdim=True)

    real, fake = torch.rand(6, *SHAPE), torch.rand(6, *SHAPE)
    expected = (w.norm() - 1) ** 2
    for per_channel in (False, True):
        gp = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0), per_channel)
        torch.testing.assert_close(gp, expected)


def test_gradient_penalty_alpha_shapes():
    seen = []

    def critic(x):
        seen.append(x.detach())
        return x.flatten(1).sum(1, keepdim=True)

    real, fake = torch.ones(4, 3, 4, 4), torch.zeros(4, 3, 4, 4)
    gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0), per_channel=False)
    gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0), per_channel=True)
    per_sample, per_channel = seen  # x~ = alpha on this data
    assert per_sample.flatten(1).std(1).max() == 0  # one alpha per sample
    assert per_channel.amax(dim=(2, 3)).std(1).min() > 0  # alphas differ across channels


def test_critic_loss_and_izif():
    r, f, a = torch.tensor([2.0, 4.0]), torch.tensor([1.0]), torch.tensor([10.0])
    assert float(critic_loss(r, f, a, torch.tensor(0.5), 10.0, 1e-3)) == pytest.approx(-3 + 1 + 0.01 + 5)
    x = torch.ones(2, 1, 2, 2)
    f_real = torch.tensor([[2.0, 4.0]])
    f_fake = torch.tensor([[1.0, 2.0]])  # the same after division by each tensor's max
    assert float(izif_loss(x, x, f_real, f_fake, kappa=1.0)) == 0.0
    assert float(izif_loss(x, x * 0, f_real, f_real * 0 + 1, kappa=2.0)) == pytest.approx(1.0 + 2 * 0.125)


def test_scores_are_per_sample_and_batch_invariant():
    torch.manual_seed(3)
    enc, g, d = ZEncoder(768, 8, 16, (16,)).eval(), SampleGenerator(SHAPE, 8).eval(), Critic(SHAPE).eval()
    x = torch.rand(6, *SHAPE)
    with torch.no_grad():
        batch = geohgan_scores(enc, g, d, x, kappa=0.5)
        single = [geohgan_scores(enc, g, d, x[i:i + 1], kappa=0.5) for i in range(6)]
        rec = g(enc(x))
        img = ((rec - x) ** 2).mean(dim=(1, 2, 3))
        feat = ((d.features(rec) - d.features(x)) ** 2).mean(1)
    for key in ("img_distance", "anomaly_score", "z_distance"):
        torch.testing.assert_close(batch[key], torch.cat([s[key] for s in single]))
    torch.testing.assert_close(batch["img_distance"], img)
    torch.testing.assert_close(batch["anomaly_score"], img + 0.5 * feat)
    assert float(per_sample_mse(torch.zeros(1, 2), torch.ones(1, 2))) == 1.0
