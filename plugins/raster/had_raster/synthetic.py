"""A seeded synthetic geochemical-like raster with planted anomalies (``synthetic-geochem``).

The model, in log-concentration space (geochemical concentrations are close to log-normal):

* `n_latent` latent Gaussian random fields: white noise smoothed by a Gaussian of standard deviation
  `correlation_length` pixels (periodic boundary), each standardised;
* each of the `channels` elements mixes the latent fields with random weights (so elements are spatially
  smooth and correlated with each other, as element associations are), plus white noise of relative
  standard deviation `noise`, then is standardised; log-concentration = ``mu_c + sigma_c * field``;
* `n_anomalies` planted anomalies: Gaussian bumps of radius drawn from `sizes` (pixels) and amplitude drawn
  from `strengths` (in units of the element's log-standard deviation), each added to 1 to
  `elements_per_anomaly` elements drawn from a fixed subset of `anomalous_elements` elements (the
  "ore-related" association); anomaly centres keep at least one radius from the border and from each other;
* concentration = ``exp(log-concentration)``.

The mask is 1 where any planted bump is at least half its peak (within ~1.18 radii of its centre).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from had.errors import ConfigError
from had.memory import check_fits
from scipy.ndimage import gaussian_filter


@dataclass(frozen=True)
class GeochemRaster:
    """The generated raster ``(H, W, C)`` float64, its mask ``(H, W)`` int8, and the planted anomalies."""

    raster: np.ndarray
    mask: np.ndarray
    anomalies: list[dict] = field(default_factory=list)
    anomalous_elements: tuple[int, ...] = ()


def latent_fields(rng: np.random.Generator, shape: tuple[int, int], n: int, correlation_length: float) -> np.ndarray:
    """`n` standardised smooth Gaussian random fields ``(n, H, W)``."""
    fields = np.empty((n, *shape))
    for k in range(n):
        f = gaussian_filter(rng.standard_normal(shape), sigma=correlation_length, mode="wrap")
        fields[k] = (f - f.mean()) / max(f.std(), 1e-12)
    return fields


def synthetic_geochem(height: int = 512, width: int = 512, channels: int = 10, n_latent: int = 3,
                      n_anomalies: int = 8, sizes=(4, 8, 16), strengths=(1.5, 2.5, 4.0),
                      anomalous_elements: int = 4, elements_per_anomaly: int = 3, correlation_length: float = 24.0,
                      noise: float = 0.15, seed: int = 0) -> GeochemRaster:
    """Generate the raster (see the module docstring)."""
    if anomalous_elements > channels or elements_per_anomaly > anomalous_elements:
        raise ConfigError("need elements_per_anomaly <= anomalous_elements <= channels")
    if min(sizes) < 1 or 2 * max(sizes) >= min(height, width):
        raise ConfigError(f"anomaly sizes {tuple(sizes)} must be >= 1 and well below the raster size")
    room = height * width // int(4 * min(sizes) ** 2)  # discs of the smallest radius, about a disc apart
    if n_anomalies > room:  # each anomaly is a pass over the raster: n_anomalies=1e9 was a hang
        raise ConfigError(f"n_anomalies={n_anomalies} separate anomalies of radius {min(sizes):g} do not fit in a "
                          f"{height}x{width} raster (at most {room}); ask for fewer or a larger raster")
    # the fields, their bumps and the concentrations: about 6 float64 copies of (C, H, W)
    check_fits(f"a {height}x{width}x{channels} synthetic raster", 6 * 8 * height * width * max(channels, n_latent),
               "ask for a smaller one (height, width, channels)")
    rng = np.random.default_rng(seed)
    shape = (height, width)
    latent = latent_fields(rng, shape, n_latent, correlation_length)
    mixing = rng.normal(size=(channels, n_latent))
    fields = np.einsum("ck,khw->chw", mixing, latent) + noise * np.sqrt(n_latent) * rng.standard_normal((channels, *shape))
    fields = (fields - fields.mean(axis=(1, 2), keepdims=True)) / fields.std(axis=(1, 2), keepdims=True)
    mu = rng.uniform(0.0, 4.0, channels)          # log of typical concentration
    sigma = rng.uniform(0.3, 0.8, channels)       # log spread
    ore = tuple(sorted(int(i) for i in rng.choice(channels, anomalous_elements, replace=False)))
    rows, cols = np.mgrid[0:height, 0:width]
    bump_total = np.zeros((channels, *shape))
    mask = np.zeros(shape, dtype=np.int8)
    anomalies: list[dict] = []
    for _ in range(n_anomalies):
        radius = float(rng.choice(sizes))
        strength = float(rng.choice(strengths))
        for _attempt in range(200):
            r = rng.uniform(radius, height - radius)
            c = rng.uniform(radius, width - radius)
            if all(np.hypot(r - a["row"], c - a["col"]) > radius + a["radius"] for a in anomalies):
                break
        k = int(rng.integers(1, elements_per_anomaly + 1))
        elements = sorted(int(e) for e in rng.choice(ore, k, replace=False))
        profile = np.exp(-0.5 * ((rows - r) ** 2 + (cols - c) ** 2) / radius**2)
        bump_total[elements] += strength * profile
        mask[profile >= 0.5] = 1
        anomalies.append({"row": float(r), "col": float(c), "radius": radius, "strength": strength,
                          "elements": elements})
    log_conc = mu[:, None, None] + sigma[:, None, None] * (fields + bump_total)
    raster = np.exp(log_conc).transpose(1, 2, 0)
    return GeochemRaster(np.ascontiguousarray(raster), mask, anomalies, ore)
