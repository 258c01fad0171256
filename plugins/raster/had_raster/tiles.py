"""The tile grid, tile extraction, tile labels, and the inverse mapping from tile scores to a heat map.

A tile is identified by the (row, col) of its top-left pixel; all tiles of a grid have the same size
``(h, w)``. Positions along each axis are ``0, stride, 2*stride, ...`` up to ``H - h``; with
``cover_edges`` (the default) the last position ``H - h`` is added when the stride does not land on it, so
every pixel is covered by at least one tile when the stride is at most the tile size (a larger stride leaves
gaps between the tiles: :func:`uncovered_share`; the raster sources refuse it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from had.errors import ConfigError, InvalidInputError, LabelError


@dataclass(frozen=True)
class TileGrid:
    """Tile positions over a raster: `coords` ``(N, 2)`` top-left (row, col), tile `size` (h, w), raster `shape` (H, W)."""

    coords: np.ndarray
    size: tuple[int, int]
    shape: tuple[int, int]

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    def to_meta(self) -> dict:
        """JSON-friendly form for ``Dataset.meta``."""
        return {"tile_coords": self.coords.tolist(), "tile_size": list(self.size), "raster_shape": list(self.shape)}

    @classmethod
    def from_meta(cls, meta: dict) -> "TileGrid":
        """The grid stored by :meth:`to_meta` (KeyError naming the missing entry otherwise)."""
        try:
            coords = np.asarray(meta["tile_coords"], dtype=np.int64).reshape(-1, 2)
            return cls(coords, tuple(int(v) for v in meta["tile_size"]), tuple(int(v) for v in meta["raster_shape"]))
        except KeyError as exc:
            raise InvalidInputError(f"dataset meta lacks {exc.args[0]!r}; it was not made by a raster source") from None


def _positions(length: int, size: int, stride: int, cover_edges: bool) -> np.ndarray:
    last = length - size
    steps = np.arange(0, last + 1, stride, dtype=np.int64)
    if cover_edges and steps[-1] != last:
        steps = np.append(steps, last)
    return steps


def tile_grid(shape: tuple[int, int], size: int | tuple[int, int] = 64, stride: int | tuple[int, int] | None = None,
              cover_edges: bool = True) -> TileGrid:
    """Tiles of `size` every `stride` pixels (default: `size`, no overlap) over a raster of `shape` (H, W)."""
    h, w = (size, size) if np.isscalar(size) else size
    sh, sw = (h, w) if stride is None else ((stride, stride) if np.isscalar(stride) else stride)
    H, W = int(shape[0]), int(shape[1])
    if min(h, w, sh, sw) < 1:
        raise ConfigError(f"tile size {(h, w)} and stride {(sh, sw)} must be positive")
    if h > H or w > W:
        raise InvalidInputError(f"tile size {(h, w)} is larger than the raster {(H, W)}; use smaller tiles (to fit; a "
                                "model scores tiles of the size it was fitted on: score a raster at least that large)")
    rows = _positions(H, h, sh, cover_edges)
    cols = _positions(W, w, sw, cover_edges)
    coords = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return TileGrid(coords, (int(h), int(w)), (H, W))


def uncovered_share(grid: TileGrid) -> float:
    """The share of the raster's pixels that no tile of `grid` covers (0 for a stride at most the tile size with
    ``cover_edges``): what a heat map leaves NaN. For a grid as :func:`tile_grid` makes it (every row position with
    every column position: not one with tiles left out), so rows and columns are covered independently and it is
    one minus the product of the two covered shares."""
    (h, w), (H, W) = grid.size, grid.shape

    def covered(starts: np.ndarray, size: int, length: int) -> float:
        hit = np.zeros(length, dtype=bool)
        for start in np.unique(starts):
            hit[start:start + size] = True
        return float(hit.mean())

    if not len(grid):
        return 1.0
    return 1.0 - covered(grid.coords[:, 0], h, H) * covered(grid.coords[:, 1], w, W)


def extract_tiles(raster: np.ndarray, grid: TileGrid, dtype=np.float32) -> np.ndarray:
    """Tiles of a raster ``(H, W, C)`` as images ``(N, C, h, w)`` in `dtype`."""
    raster = np.asarray(raster)
    if raster.ndim != 3 or tuple(raster.shape[:2]) != tuple(grid.shape):
        raise InvalidInputError(f"raster of shape {raster.shape} does not match the grid over {grid.shape}")
    h, w = grid.size
    windows = np.lib.stride_tricks.sliding_window_view(raster, (h, w), axis=(0, 1))  # (H-h+1, W-w+1, C, h, w)
    return np.ascontiguousarray(windows[grid.coords[:, 0], grid.coords[:, 1]], dtype=dtype)


def labels_from_mask(mask: np.ndarray, grid: TileGrid, rule: str = "any", fraction: float = 0.0) -> np.ndarray:
    """Tile labels (int8 0/1) from a pixel mask ``(H, W)`` (anomaly where > 0).

    ``rule="any"``: a tile is anomalous if any of its pixels is; ``rule="fraction"``: if more than
    `fraction` of its pixels are (``fraction=0`` equals ``any``).
    """
    mask = np.asarray(mask)
    if mask.shape != tuple(grid.shape):
        raise LabelError(f"mask of shape {mask.shape} does not match the raster {grid.shape}")
    if rule not in ("any", "fraction"):
        raise ConfigError(f"unknown tile label rule {rule!r}; use 'any' or 'fraction'")
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"fraction {fraction} must be in [0, 1)")
    h, w = grid.size
    binary = (mask > 0).astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(binary, (h, w))
    share = windows[grid.coords[:, 0], grid.coords[:, 1]].mean(axis=(1, 2))
    limit = 0.0 if rule == "any" else fraction
    return (share > limit).astype(np.int8)


def labels_from_points(points, grid: TileGrid) -> np.ndarray:
    """Tile labels (int8 0/1): a tile is anomalous if it contains any known-occurrence point (row, col)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    H, W = grid.shape
    if pts.size and ((pts < 0).any() or (pts[:, 0] >= H).any() or (pts[:, 1] >= W).any()):
        raise LabelError(f"occurrence points must lie inside the raster (0 <= row < {H}, 0 <= col < {W})")
    pts = np.floor(pts).astype(np.int64)
    h, w = grid.size
    r0, c0 = grid.coords[:, 0:1], grid.coords[:, 1:2]
    inside = (pts[None, :, 0] >= r0) & (pts[None, :, 0] < r0 + h) & (pts[None, :, 1] >= c0) & (pts[None, :, 1] < c0 + w)
    return inside.any(axis=1).astype(np.int8)


def heatmap(scores, grid: TileGrid, fill: float = np.nan) -> np.ndarray:
    """Tile scores back onto the raster: each pixel gets the mean score of the tiles covering it.

    Returns float64 ``(H, W)``; pixels no tile covers (with ``cover_edges=False``, a stride larger than the tile,
    or tiles left out for no-data) get `fill`.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size != len(grid):
        raise InvalidInputError(f"{scores.size} scores for {len(grid)} tiles; pass one score per tile")
    total = np.zeros(grid.shape, dtype=np.float64)
    count = np.zeros(grid.shape, dtype=np.float64)
    h, w = grid.size
    for (r, c), s in zip(grid.coords, scores):
        total[r:r + h, c:c + w] += s
        count[r:r + h, c:c + w] += 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    out[count == 0] = fill
    return out
