"""A seeded synthetic hyperspectral scene with sub-pixel targets: the generator and its data source.

The model (a linear mixing model, as in the unmixing literature):

* `n_endmembers` smooth random spectra (a baseline, a slope and a few Gaussian bumps over the band axis);
* spatially smooth abundance maps (Gaussian-filtered white noise, a softmax across endmembers, so they sum to 1),
  times a smooth illumination field (+-5 %);
* `n_targets` blobs of 1 to 4 connected pixels, kept apart, where a distinct target spectrum (at least 40 % of it
  outside the span of the endmembers) is mixed in: ``x = (1 - f) x_background + f t`` with ``f`` drawn per pixel
  uniformly in ``[0.35, 1] * abundance``;
* white Gaussian noise of standard deviation `noise`.

``y`` is the target map. With the defaults, global RX scores AUROC 0.92 to 1.0 over seeds 0-39 (median 0.99),
while the Euclidean distance to the scene mean is near chance: hard enough to rank methods, easy for the right one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.errors import ConfigError
from had.memory import check_fits
from pydantic import Field, model_validator

#: lowest fraction of `abundance` a target pixel gets (the weakest pixels are the hard ones)
MIN_FRACTION = 0.35
#: share of the target spectrum (by norm, relative to its distance to the mean endmember) outside the background span
MIN_DISTINCT = 0.4


#: the largest noise: 100 times the brightest spectrum, noise alone long before it (1e308 overflowed to infinities, and
#: the error then said the data held NaN or infinite values without naming noise)
MAX_NOISE = 100.0


class SyntheticSceneConfig(DataSourceConfig):
    height: int = Field(64, ge=8, description="rows H")
    width: int = Field(64, ge=8, description="columns W")
    bands: int = Field(50, ge=5, description="spectral bands B")
    n_targets: int = Field(12, ge=0, description="target blobs (1 to 4 pixels each)")
    abundance: float = Field(0.3, gt=0.0, le=1.0, description="largest sub-pixel fraction of the target spectrum")
    seed: int = Field(0, ge=0, description="random seed (numpy default_rng)")
    noise: float = Field(0.01, ge=0.0, le=MAX_NOISE, description="standard deviation of the additive white noise "
                         f"(the spectra lie in [0.02, 1]; at most {MAX_NOISE:g})")
    n_endmembers: int = Field(4, ge=1, description="background endmember spectra")

    @model_validator(mode="after")
    def _room_for_target(self):
        if self.n_endmembers >= self.bands - 1:
            raise ValueError(f"n_endmembers ({self.n_endmembers}) must be below bands - 1 ({self.bands - 1}) so the "
                             "target spectrum can differ from the background")
        room = (self.height - 6) * (self.width - 6) // 4  # blobs kept a pixel apart inside the 3-pixel margin
        if self.n_targets > room:  # was: 200 tries per target, a hang for n_targets=1e9
            raise ValueError(f"n_targets ({self.n_targets}) separate targets do not fit in a {self.height}x"
                             f"{self.width} scene (at most {room}); ask for fewer targets or a larger scene")
        return self


@dataclass(frozen=True)
class SyntheticScene:
    """The generated scene and everything it was made of."""

    X: np.ndarray            # (H, W, B) float64
    y: np.ndarray            # (H, W) int64, 1 = target pixel
    endmembers: np.ndarray   # (n_endmembers, B)
    abundances: np.ndarray   # (H, W, n_endmembers), rows sum to 1
    target: np.ndarray       # (B,)
    fractions: np.ndarray    # (H, W), target fraction per pixel (0 outside targets)


def smooth_spectrum(rng: np.random.Generator, axis: np.ndarray) -> np.ndarray:
    """A smooth positive spectrum over `axis` (0..1): baseline + slope + 3 to 6 Gaussian bumps, clipped to [0.02, 1]."""
    spectrum = rng.uniform(0.15, 0.45) + rng.uniform(-0.15, 0.15) * axis
    for _ in range(int(rng.integers(3, 7))):
        centre, width, height = rng.uniform(0, 1), rng.uniform(0.04, 0.25), rng.uniform(-0.2, 0.4)
        spectrum = spectrum + height * np.exp(-0.5 * ((axis - centre) / width) ** 2)
    return np.clip(spectrum, 0.02, 1.0)


def _distinct_target(rng: np.random.Generator, axis: np.ndarray, endmembers: np.ndarray) -> np.ndarray:
    """A smooth spectrum with at least MIN_DISTINCT of it outside the endmembers' span (best of 100 draws)."""
    basis, _ = np.linalg.qr(endmembers.T)
    best, best_share = None, -1.0
    for _ in range(100):
        candidate = smooth_spectrum(rng, axis)
        outside = candidate - basis @ (basis.T @ candidate)
        share = np.linalg.norm(outside) / max(np.linalg.norm(candidate - endmembers.mean(axis=0)), 1e-12)
        if share > best_share:
            best, best_share = candidate, share
        if share >= MIN_DISTINCT:
            break
    return best


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise, standardised to mean 0 and standard deviation 1."""
    from scipy.ndimage import gaussian_filter  # here: scipy.ndimage took 0.4 s of every `had list datasets`

    field = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (field - field.mean()) / field.std()


def _blob(rng: np.random.Generator, centre: tuple[int, int]) -> list[tuple[int, int]]:
    """1 to 4 4-connected pixels grown at random from `centre`."""
    pixels = [centre]
    size = int(rng.integers(1, 5))
    while len(pixels) < size:
        i, j = pixels[int(rng.integers(len(pixels)))]
        di, dj = ((0, 1), (1, 0), (0, -1), (-1, 0))[int(rng.integers(4))]
        if (i + di, j + dj) not in pixels:
            pixels.append((i + di, j + dj))
    return pixels


def _place_targets(rng: np.random.Generator, shape: tuple[int, int], n_targets: int) -> list[list[tuple[int, int]]]:
    """`n_targets` blobs inside the scene (3-pixel margin), none touching another."""
    h, w = shape
    taken = np.zeros(shape, dtype=bool)
    blobs: list[list[tuple[int, int]]] = []
    for _ in range(200 * max(n_targets, 1)):
        if len(blobs) == n_targets:
            break
        blob = _blob(rng, (int(rng.integers(3, h - 3)), int(rng.integers(3, w - 3))))
        rows, cols = zip(*blob)
        if taken[max(min(rows) - 1, 0):max(rows) + 2, max(min(cols) - 1, 0):max(cols) + 2].any():
            continue
        taken[rows, cols] = True
        blobs.append(blob)
    if len(blobs) < n_targets:
        raise ConfigError(f"could place only {len(blobs)} of {n_targets} separate targets in a {h}x{w} scene; "
                          "ask for fewer targets or a larger scene")
    return blobs


def make_scene(config: SyntheticSceneConfig | dict | None = None, **overrides) -> SyntheticScene:
    """Generate the scene described by `config` (a SyntheticSceneConfig, a dict or keyword overrides)."""
    from had.config import build_config

    c = build_config(SyntheticSceneConfig, "synthetic-scene", config, **overrides)
    # the cube, its abundances and their temporaries: about 4 float64 copies of (H, W, B) (n_endmembers < B)
    check_fits(f"a {c.height}x{c.width}x{c.bands} synthetic scene", 4 * 8 * c.height * c.width * c.bands,
               "ask for a smaller one (height, width, bands)")
    rng = np.random.default_rng(c.seed)
    axis = np.linspace(0.0, 1.0, c.bands)
    endmembers = np.stack([smooth_spectrum(rng, axis) for _ in range(c.n_endmembers)])
    target = _distinct_target(rng, axis, endmembers)

    shape = (c.height, c.width)
    sigma = max(shape) / 10.0
    logits = np.stack([_smooth_field(rng, shape, sigma) for _ in range(c.n_endmembers)], axis=-1)
    abundances = np.exp(2.0 * logits)
    abundances /= abundances.sum(axis=-1, keepdims=True)
    illumination = 1.0 + 0.05 * _smooth_field(rng, shape, sigma)
    X = illumination[..., None] * (abundances @ endmembers)

    y = np.zeros(shape, dtype=np.int64)
    fractions = np.zeros(shape)
    for blob in _place_targets(rng, shape, c.n_targets):
        for i, j in blob:
            y[i, j] = 1
            fractions[i, j] = c.abundance * rng.uniform(MIN_FRACTION, 1.0)
    X = (1.0 - fractions[..., None]) * X + fractions[..., None] * target
    X = X + c.noise * rng.standard_normal(X.shape)
    return SyntheticScene(X, y, endmembers, abundances, target, fractions)


class SyntheticHSIScene(DataSource):
    """A seeded synthetic hyperspectral scene with sub-pixel targets; no file needed."""

    name = "synthetic-scene"
    Config = SyntheticSceneConfig
    kind = "cube"
    default_protocol = "transductive"

    def load(self) -> Dataset:
        scene = make_scene(self.config)
        meta = {
            "citation": "synthetic (had-plugin-synthetic); no citation",
            "url": None,
            "generator": "had_synthetic.scene.make_scene",
            "config": self.config.model_dump(),
        }
        return Dataset(self.name, scene.X, scene.y, meta=meta)
