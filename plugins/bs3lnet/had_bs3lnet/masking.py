"""BS3LNet's training pairs, built on the fly per mini-batch: patch around a pixel, blind spots, neighbour fill.

The reference (``BS3L:dataset.py``) materialises all H*W patches three times in float64 (target, masked input,
mask: about 16 GB for a 100x100x189 scene) and crashes on non-square scenes. Here the scene is reflect-padded
once by ``patch // 2`` (``np.pad(mode="reflect")``: edge not repeated, as the reference's mirror) and each
mini-batch of patches is gathered from the padded scene with index arithmetic; nothing of size H*W*patch^2*B
is ever allocated. The masking rules are the reference's:

* ``n_spots = ceil(patch^2 * (1 - ratio))`` blind spots per patch (37 for 19x19, ratio 0.9); spot 0 is the
  patch centre, the others are uniform over the non-centre positions (duplicates allowed);
* each spot gets an offset ``(dy, dx)`` uniform over the ``window x window`` square without ``(0, 0)``
  (window 5: offsets in [-2, 2]); its source is ``spot + offset`` wrapped periodically inside the patch;
* the input patch has every band of each spot replaced by its source's spectrum, read from the unmasked patch;
  where a position is drawn twice, the later draw wins (as numpy's fancy assignment does in the reference);
* the loss weight is 1 at the spots, 0 elsewhere.

Masks are drawn once for the whole scene (the reference; only the per-pixel spot positions and offset codes
are stored, ``H*W*n_spots*3`` bytes, so the draw is reproducible from the seed) or redrawn for every batch
(``redraw=True``, as Noise2Void does).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def n_blind_spots(patch: int, ratio: float) -> int:
    """``ceil(patch^2 * (1 - ratio))``, rounded first to 9 decimals so 361 * 0.1 is 36.1, not 36.100000000000001."""
    return max(1, math.ceil(round(patch * patch * (1.0 - ratio), 9)))


def offset_table(window: int) -> np.ndarray:
    """All ``(dy, dx)`` in the ``window x window`` square centred on 0, without ``(0, 0)``: ``(window^2 - 1, 2)``."""
    half = window // 2
    grid = [(dy, dx) for dy in range(-half, half + 1) for dx in range(-half, half + 1) if (dy, dx) != (0, 0)]
    return np.asarray(grid, dtype=np.int64)


def reflect_pad(scene: np.ndarray, pad: int) -> np.ndarray:
    """``(H, W, B)`` -> ``(H + 2 pad, W + 2 pad, B)`` mirrored without repeating the edge (``np.pad`` reflect)."""
    return np.pad(scene, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")


class BlindSpotSampler:
    """Mini-batches of (masked input, target, blind-spot weight) for pixels of one scene.

    `scene`: ``(H, W, B)`` float32 tensor (already preprocessed). `rng`: the numpy generator that draws the
    masks. With ``redraw=False`` the masks of all H*W patches are drawn here, once, in pixel order.
    """

    def __init__(self, scene: torch.Tensor, patch: int = 19, ratio: float = 0.9, window: int = 5,
                 redraw: bool = False, rng: np.random.Generator | None = None):
        if patch < 3 or patch % 2 == 0:
            raise ValueError(f"patch must be odd and >= 3, got {patch}")
        if window < 3 or window % 2 == 0:
            raise ValueError(f"window must be odd and >= 3, got {window}")
        self.height, self.width, self.bands = (int(s) for s in scene.shape)
        self.patch, self.redraw = patch, redraw
        self.n_spots = n_blind_spots(patch, ratio)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.device = scene.device
        padded = reflect_pad(scene.detach().cpu().numpy().astype(np.float32, copy=False), patch // 2)
        self.padded = torch.from_numpy(np.ascontiguousarray(padded)).to(self.device)
        self.offsets = torch.from_numpy(offset_table(window))
        self._arange = torch.arange(patch)
        self.spots: np.ndarray | None = None
        self.codes: np.ndarray | None = None
        if not redraw:
            self.spots, self.codes = self.draw(self.height * self.width)

    @property
    def n_pixels(self) -> int:
        return self.height * self.width

    def draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Blind spots of `n` patches: flat positions ``(n, n_spots)`` int16 and offset codes ``(n, n_spots)`` uint8."""
        area, centre = self.patch * self.patch, (self.patch * self.patch) // 2
        spots = self.rng.integers(0, area - 1, size=(n, self.n_spots), dtype=np.int64)
        spots += spots >= centre  # uniform over the positions other than the centre
        spots[:, 0] = centre
        codes = self.rng.integers(0, len(self.offsets), size=(n, self.n_spots), dtype=np.int64)
        return spots.astype(np.int16), codes.astype(np.uint8)

    def masks_for(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(spots, codes) of the patches centred on flat pixel indices `pixels` (stored or freshly drawn)."""
        if self.redraw:
            return self.draw(len(pixels))
        return self.spots[pixels], self.codes[pixels]

    def patches(self, pixels: np.ndarray) -> torch.Tensor:
        """Unmasked patches ``(n, B, patch, patch)`` centred on flat pixel indices `pixels`."""
        index = torch.as_tensor(np.asarray(pixels, dtype=np.int64))
        rows = (index // self.width)[:, None] + self._arange
        cols = (index % self.width)[:, None] + self._arange
        gathered = self.padded[rows[:, :, None].to(self.device), cols[:, None, :].to(self.device)]
        return gathered.permute(0, 3, 1, 2).contiguous()

    def batch(self, pixels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(masked input, target, weight) for flat pixel indices `pixels`.

        input and target: ``(n, B, patch, patch)``; weight: ``(n, 1, patch, patch)``, 1 at the blind spots.
        """
        spots_np, codes_np = self.masks_for(np.asarray(pixels))
        return self.apply(self.patches(pixels), spots_np, codes_np)

    def apply(self, target: torch.Tensor, spots_np: np.ndarray, codes_np: np.ndarray):
        """Mask `target` patches with the given spots and offset codes (see :meth:`batch`)."""
        n, bands, p, _ = target.shape
        spots = torch.from_numpy(spots_np.astype(np.int64))
        offsets = self.offsets[torch.from_numpy(codes_np.astype(np.int64))]  # (n, K, 2)
        src_y = torch.remainder(spots // p + offsets[..., 0], p)
        src_x = torch.remainder(spots % p + offsets[..., 1], p)
        sources = src_y * p + src_x
        # where a position is drawn twice the later draw wins: every duplicate writes the last one's source
        same = spots[:, :, None] == spots[:, None, :]
        order = torch.arange(spots.shape[1]).expand_as(same)
        last = torch.where(same, order, torch.full_like(order, -1)).amax(dim=2)
        sources = torch.gather(sources, 1, last)
        spots, sources = spots.to(target.device), sources.to(target.device)
        flat = target.reshape(n, bands, p * p)
        values = torch.gather(flat, 2, sources[:, None, :].expand(n, bands, -1))
        masked = flat.clone()
        masked.scatter_(2, spots[:, None, :].expand(n, bands, -1), values)
        weight = torch.zeros(n, p * p, dtype=target.dtype, device=target.device)
        weight.scatter_(1, spots, 1.0)
        return masked.reshape(n, bands, p, p), target, weight.reshape(n, 1, p, p)

    def stored_nbytes(self) -> int:
        """Bytes the sampler keeps between batches (padded scene, stored spots and codes)."""
        stored = self.padded.element_size() * self.padded.nelement()
        if self.spots is not None:
            stored += self.spots.nbytes + self.codes.nbytes
        return int(stored)


def blind_spot_l1(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The reference's loss: ``L1Loss(out * (1 - mask), target * (1 - mask))``, i.e. the sum of absolute errors
    at the blind spots over *all* ``n * B * patch^2`` elements (masked-pixel L1 scaled by n_spots / patch^2)."""
    return ((output - target).abs() * weight).sum() / output.numel()
