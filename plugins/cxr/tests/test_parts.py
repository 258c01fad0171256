"""Unit tests of the building blocks: angle-bank scoring, SSIM, the autoencoder shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from had_cxr.bank import AngleBank, angle_scores
from had_cxr.ssim import gaussian_window, ssim, ssim_loss
from had_cxr.unet import UNetAE, down_sizes


def test_angle_scores_match_a_direct_computation():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(5, 4))
    bank = rng.normal(size=(9, 4))
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    expected = [np.mean(sorted(math.acos(float(np.clip(c @ b, -1, 1))) / math.pi for b in bank)[:3]) for c in codes]
    got = angle_scores(torch.tensor(codes, dtype=torch.float64), torch.tensor(bank, dtype=torch.float64), 3)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_angle_scores_are_finite_for_dot_products_past_one():
    v = torch.tensor([[1.0, 0.0]])
    bank = torch.tensor([[1.0000001, 0.0], [-1.0000001, 0.0]])  # rounding past +-1 made the reference NaN
    scores = angle_scores(v, bank, 2)
    assert torch.isfinite(scores).all() and scores.item() == pytest.approx(0.5)


def test_angle_bank_k_is_capped_by_its_rows():
    bank = AngleBank(3, 2, k=10)
    bank.set(torch.eye(2)[[0, 1, 0]])
    assert bank.effective_k == 3
    assert bank(torch.tensor([[1.0, 0.0]])).item() == pytest.approx((0 + 0 + 0.5) / 3)


def test_gaussian_window_is_normalised_with_sigma_1_5():
    w = gaussian_window(11, 1.5)[0, 0].double()
    assert w.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert (w[5, 5] / w[5, 6]).item() == pytest.approx(math.exp(1 / (2 * 1.5 ** 2)), rel=1e-5)


def _ssim_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Direct SSIM of two single-channel images: Gaussian window 11, sigma 1.5, zero padding."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    w = np.outer(g, g)
    h, wd = x.shape
    xp, yp = np.pad(x, 5), np.pad(y, 5)
    vals = []
    for i in range(h):
        for j in range(wd):
            a, b = xp[i:i + 11, j:j + 11], yp[i:i + 11, j:j + 11]
            mx, my = (w * a).sum(), (w * b).sum()
            vx, vy = (w * a * a).sum() - mx ** 2, (w * b * b).sum() - my ** 2
            cxy = (w * a * b).sum() - mx * my
            vals.append((2 * mx * my + 1e-4) * (2 * cxy + 9e-4) / ((mx ** 2 + my ** 2 + 1e-4) * (vx + vy + 9e-4)))
    return float(np.mean(vals))


def test_ssim_matches_the_direct_formula_and_its_properties():
    rng = np.random.default_rng(1)
    x = rng.random((12, 12))
    y = np.clip(x + 0.2 * rng.normal(size=x.shape), 0, 1)
    tx, ty = (torch.tensor(a, dtype=torch.float64)[None, None] for a in (x, y))
    assert ssim(tx, ty).item() == pytest.approx(_ssim_numpy(x, y), rel=1e-6)
    assert ssim(tx, tx).item() == pytest.approx(1.0)
    assert ssim(tx, ty).item() == pytest.approx(ssim(ty, tx).item())
    assert 0.0 < ssim_loss(tx, ty).item() < 0.5
    with pytest.raises(ValueError):
        ssim(tx, ty[..., :-1])


@pytest.mark.parametrize("isize, sizes", [(28, [28, 14, 7]), (256, [256, 128, 64, 32, 16, 8, 4])])
def test_unet_depth_follows_the_input_size(isize, sizes):
    assert down_sizes(isize) == sizes


def test_unet_reference_width_at_256_reaches_1024_channels():
    net = UNetAE(3, 256, width=16, rep_dim=100)
    assert net.feat.in_channels == 1024 and net.feat.kernel_size == (4, 4)


def test_unet_code_is_unit_norm_and_reconstruction_has_the_input_shape():
    net = UNetAE(1, 28, width=4, rep_dim=8).eval()
    code, rec = net(torch.randn(3, 1, 28, 28))
    assert code.shape == (3, 8) and rec.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(code.norm(dim=1).detach().numpy(), 1.0, rtol=1e-6)
    assert rec.abs().max() <= 1.0


def test_pretrained_weights_that_are_not_a_safe_state_dict_are_one_line(tmp_path):
    """``--set pretrained_path=/etc/hostname`` (or a corrupt .safetensors) ended in torch's UnpicklingError
    traceback, whose text suggests weights_only=False (running the file's code)."""
    import pytest

    from had.errors import ConfigError
    from had_cxr.resnet import ResNet18Encoder, load_imagenet_weights

    encoder = ResNet18Encoder(1, 64)
    (tmp_path / "notes.pth").write_text("not weights\n")
    (tmp_path / "junk.safetensors").write_bytes(bytes(range(256)) * 2)
    for name in ("notes.pth", "junk.safetensors"):
        with pytest.raises(ConfigError, match="is not a ResNet-18 state dict had can read safely") as caught:
            load_imagenet_weights(encoder, str(tmp_path / name))
        assert "weights_only=False" not in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_imagenet_weights(encoder, str(tmp_path / "none.pth"))
