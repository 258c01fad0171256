"""Per-band scaling of tiles ``(N, C, h, w)``, fitted on training tiles only.

``minmax`` maps each band's training range to [0, 1] (data outside the training range leaves [0, 1]; it is
not clipped, so a test anomaly stays visible); ``standard`` subtracts the band mean and divides by its
standard deviation; ``log-minmax`` applies ``log1p(max(x - min_band, 0))`` first (for skewed, positive
concentrations), then ``minmax``. A band with no spread keeps span 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from had.errors import ConfigError, InvalidInputError, NotFittedError

KINDS = ("none", "minmax", "standard", "log-minmax")


@dataclass
class BandScaler:
    """``(x - offset) / span`` per band (after the optional log); `fit` on training tiles, then `transform`."""

    kind: str = "minmax"
    offset: np.ndarray | None = None
    span: np.ndarray | None = None
    log_floor: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown scaling {self.kind!r}; use one of {', '.join(KINDS)}")

    @staticmethod
    def _check(tiles: np.ndarray) -> np.ndarray:
        tiles = np.asarray(tiles)
        if tiles.ndim != 4:
            raise InvalidInputError(f"tiles must be (N, C, h, w), got shape {tiles.shape}")
        return tiles

    def _log(self, tiles: np.ndarray) -> np.ndarray:
        if self.kind != "log-minmax":
            return tiles.astype(np.float64)
        return np.log1p(np.maximum(tiles - self.log_floor[None, :, None, None], 0.0))

    def fit(self, tiles: np.ndarray) -> "BandScaler":
        tiles = self._check(tiles)
        c = tiles.shape[1]
        if self.kind == "log-minmax":
            self.log_floor = tiles.min(axis=(0, 2, 3)).astype(np.float64)
        values = self._log(tiles)
        if self.kind == "none":
            self.offset, self.span = np.zeros(c), np.ones(c)
        elif self.kind == "standard":
            self.offset = values.mean(axis=(0, 2, 3))
            std = values.std(axis=(0, 2, 3))
            self.span = np.where(std > 1e-12, std, 1.0)
        else:
            lo, hi = values.min(axis=(0, 2, 3)), values.max(axis=(0, 2, 3))
            self.offset, self.span = lo, np.where(hi - lo > 1e-12, hi - lo, 1.0)
        return self

    def transform(self, tiles: np.ndarray, dtype=np.float32) -> np.ndarray:
        if self.offset is None:
            raise NotFittedError("BandScaler is not fitted; call fit(training_tiles) first")
        tiles = self._check(tiles)
        if tiles.shape[1] != self.offset.size:
            raise InvalidInputError(f"fitted on {self.offset.size} bands, got {tiles.shape[1]}")
        out = (self._log(tiles) - self.offset[None, :, None, None]) / self.span[None, :, None, None]
        return out.astype(dtype)

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "offset": self.offset.tolist(), "span": self.span.tolist()}
        if self.log_floor is not None:
            data["log_floor"] = self.log_floor.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "BandScaler":
        floor = data.get("log_floor")
        return cls(data["kind"], np.asarray(data["offset"]), np.asarray(data["span"]),
                   None if floor is None else np.asarray(floor))
