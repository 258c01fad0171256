"""The on-the-fly blind-spot sampler reproduces the reference's masking rules, in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from had_bs3lnet.masking import BlindSpotSampler, blind_spot_l1, n_blind_spots, offset_table, reflect_pad

P, K = 19, 37


def _scene(h=12, w=10, b=3, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((h, w, b)).astype(np.float32))


def test_counts_and_offset_table():
    assert n_blind_spots(19, 0.9) == 37  # ceil(36.1)
    assert n_blind_spots(10, 0.9) == 10  # exactly 10.0 stays 10 despite float rounding
    assert n_blind_spots(5, 0.5) == 13
    table = offset_table(5)
    assert table.shape == (24, 2)
    assert np.abs(table).max() == 2
    assert not np.any((table == 0).all(axis=1))
    assert len({tuple(t) for t in table}) == 24


def test_mask_statistics_match_the_reference_rules():
    sampler = BlindSpotSampler(_scene(60, 50), redraw=False, rng=np.random.default_rng(1))
    spots, codes = sampler.spots.astype(np.int64), sampler.codes.astype(np.int64)
    assert spots.shape == codes.shape == (3000, K)
    centre = (P * P) // 2
    assert (spots[:, 0] == centre).all()                       # the centre is always blind
    others = spots[:, 1:].ravel()
    assert not (others == centre).any()                        # other spots avoid the centre
    counts = np.bincount(others, minlength=P * P)
    assert counts[centre] == 0
    expected = others.size / (P * P - 1)                       # 300 per position
    assert counts[np.arange(P * P) != centre].min() > 0.7 * expected
    assert counts.max() < 1.3 * expected
    code_counts = np.bincount(codes.ravel(), minlength=24)     # offsets uniform over the 24 non-zero ones
    assert code_counts.size == 24
    assert np.abs(code_counts / code_counts.mean() - 1).max() < 0.08
    # duplicates are allowed (sampling with replacement): about 36*35/2/360 = 1.75 per patch
    dup = np.mean([K - len(np.unique(row)) for row in spots])
    assert 1.2 < dup < 2.3


def test_apply_fills_spots_from_wrapped_neighbours():
    scene = _scene(9, 7, 4)
    sampler = BlindSpotSampler(scene, redraw=True, rng=np.random.default_rng(3))
    pixels = np.arange(63)
    spots, codes = sampler.masks_for(pixels)
    target = sampler.patches(pixels)
    masked, target_out, weight = sampler.apply(target, spots, codes)
    assert torch.equal(target_out, target)
    offsets = offset_table(5)
    for n in range(0, 63, 7):
        rows, cols = spots[n] // P, spots[n] % P
        src_r = (rows + offsets[codes[n], 0]) % P
        src_c = (cols + offsets[codes[n], 1]) % P
        seen = {}
        for k in range(K):
            seen[(rows[k], cols[k])] = (src_r[k], src_c[k])  # later draws overwrite earlier ones
        for (r, c), (sr, sc) in seen.items():
            assert torch.equal(masked[n, :, r, c], target[n, :, sr, sc])
        blind = np.zeros((P, P), bool)
        blind[rows, cols] = True
        assert torch.equal(weight[n, 0], torch.from_numpy(blind.astype(np.float32)))
        assert weight[n, 0, P // 2, P // 2] == 1
        assert torch.equal(masked[n][:, ~torch.from_numpy(blind)], target[n][:, ~torch.from_numpy(blind)])


def test_duplicate_spot_takes_the_last_draw():
    sampler = BlindSpotSampler(_scene(5, 5, 2), redraw=True, rng=np.random.default_rng(0))
    target = sampler.patches(np.array([12]))
    table = [tuple(t) for t in offset_table(5)]
    spots = np.array([[180, 100, 100]])
    codes = np.array([[0, table.index((0, 1)), table.index((1, 0))]])
    masked, _, weight = sampler.apply(target, spots, codes)
    r, c = divmod(100, P)
    assert torch.equal(masked[0, :, r, c], target[0, :, r + 1, c])
    assert weight.sum() == 2


def test_patches_are_reflect_padded_windows_of_non_square_scenes():
    scene = _scene(7, 11, 3)
    sampler = BlindSpotSampler(scene, rng=np.random.default_rng(0))
    padded = reflect_pad(scene.numpy(), P // 2)
    for pixel in (0, 10, 33, 76):
        i, j = divmod(pixel, 11)
        want = padded[i:i + P, j:j + P].transpose(2, 0, 1)
        assert np.array_equal(sampler.patches(np.array([pixel]))[0].numpy(), want)
    # np.pad's reflect does not repeat the edge: row -1 mirrors row 1
    assert np.array_equal(padded[P // 2 - 1, P // 2:-(P // 2)], scene.numpy()[1])


def test_draw_once_is_reproducible_and_redraw_changes():
    a = BlindSpotSampler(_scene(), rng=np.random.default_rng(5))
    b = BlindSpotSampler(_scene(), rng=np.random.default_rng(5))
    assert np.array_equal(a.spots, b.spots) and np.array_equal(a.codes, b.codes)
    px = np.arange(20)
    assert all(torch.equal(x, y) for x, y in zip(a.batch(px), a.batch(px)))  # fixed for all epochs
    r = BlindSpotSampler(_scene(), redraw=True, rng=np.random.default_rng(5))
    assert r.spots is None
    assert not torch.equal(r.batch(px)[2], r.batch(px)[2])


def test_loss_is_the_reference_masked_l1():
    g = torch.Generator().manual_seed(0)
    out, target = torch.randn(4, 3, P, P, generator=g), torch.randn(4, 3, P, P, generator=g)
    weight = (torch.rand(4, 1, P, P, generator=g) < 0.1).float()
    mask = 1 - weight.expand_as(out)
    want = torch.nn.L1Loss()(out * (1 - mask), target * (1 - mask))
    assert torch.allclose(blind_spot_l1(out, target, weight), want, rtol=1e-6)


def test_sampler_memory_is_bounded_for_a_100x100x189_scene():
    h, w, b = 100, 100, 189
    scene = torch.zeros(h, w, b)
    sampler = BlindSpotSampler(scene, rng=np.random.default_rng(0))
    stored = sampler.stored_nbytes()
    padded = (h + 18) * (w + 18) * b * 4
    masks = h * w * K * 3  # int16 positions + uint8 offset codes
    assert stored == padded + masks  # about 11.6 MB
    assert stored < 15 * 2**20
    reference = 3 * h * w * P * P * b * 8  # target, input and mask as float64 patches: 16.4 GB
    assert reference / stored > 1000
    for value in vars(sampler).values():  # nothing kept per patch element
        size = value.nbytes if isinstance(value, np.ndarray) else (
            value.nelement() * value.element_size() if isinstance(value, torch.Tensor) else 0)
        assert size <= padded
    inputs, target, weight = sampler.batch(np.arange(100))
    per_batch = sum(t.nelement() * t.element_size() for t in (inputs, target, weight))
    assert per_batch == 2 * 100 * b * P * P * 4 + 100 * P * P * 4  # about 55 MB, whatever H and W are


@pytest.mark.parametrize("patch,window", [(4, 5), (19, 4)])
def test_even_sizes_are_rejected(patch, window):
    with pytest.raises(ValueError, match="odd"):
        BlindSpotSampler(_scene(), patch=patch, window=window)
