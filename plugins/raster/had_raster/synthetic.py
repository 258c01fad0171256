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

import math
from dataclasses import dataclass, field

import numpy as np
from had.errors import ConfigError
from had.memory import check_fits


#: radii from an anomaly's centre beyond which its bump exp(-d^2 / 2 radius^2) is exactly 0.0 in float64 (exp()
#: underflows below -745.2; 39 radii give -760.5)
BUMP_REACH = 39.0
#: exp() of a float64 at or below this is 0.0
EXP_UNDERFLOW = -745.2


@dataclass(frozen=True)
class GeochemRaster:
    """The generated raster ``(H, W, C)`` float64, its mask ``(H, W)`` int8, and the planted anomalies."""

    raster: np.ndarray
    mask: np.ndarray
    anomalies: list[dict] = field(default_factory=list)
    anomalous_elements: tuple[int, ...] = ()


def latent_fields(rng: np.random.Generator, shape: tuple[int, int], n: int, correlation_length: float) -> np.ndarray:
    """`n` standardised smooth Gaussian random fields ``(n, H, W)``."""
    from scipy.ndimage import gaussian_filter  # here: scipy.ndimage took 0.4 s of every `had list datasets`

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
    for key, values in (("sizes", sizes), ("strengths", strengths)):
        if not len(values):  # was: min() of an empty sequence, blamed on the plugin
            raise ConfigError(f"{key} is empty: give at least one value (--data {key}=[...])")
    if min(sizes) < 1 or 2 * max(sizes) >= min(height, width):
        raise ConfigError(f"sizes {tuple(sizes)}: each anomaly radius must be >= 1 and below half the raster's "
                          f"smaller side ({min(height, width)} / 2); give smaller sizes or a larger raster "
                          "(height, width)")
    # discs of the smallest radius covering at most half of the raster: n_anomalies=1e9 was a hang (a pass over the
    # raster each), and so was the earlier bound's 1024 discs of radius 1 on 64x64 (78% of it: 171 s, as random
    # placement jams at 55% and then fails its 200 tries for every anomaly, placing them overlapping)
    room = max(1, int(height * width / (2 * math.pi * min(sizes) ** 2)))  # one always fits (sizes checked above)
    if n_anomalies > room:
        raise ConfigError(f"n_anomalies={n_anomalies} separate anomalies of radius {min(sizes):g} do not fit in a "
                          f"{height}x{width} raster (at most {room}, half of its area); ask for fewer anomalies, "
                          "smaller sizes or a larger raster")
    # the fields, their bumps and the concentrations: about 6 float64 copies of (C, H, W)
    # (of n_latent fields where they outnumber the channels: n_latent=1e9 was blamed on height, width, channels)
    more_latent = n_latent > channels
    what = f"a {height}x{width}x{channels} synthetic raster" + (f" of {n_latent} latent fields" if more_latent else "")
    check_fits(what, 6 * 8 * height * width * max(channels, n_latent),
               f"ask for a smaller one (height, width, {'n_latent' if more_latent else 'channels'})")
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
    # the anomalies so far (row, col, radius) by cell of a grid wider than any two radii: a try is tested against
    # those of its cell and the 8 around it, the only ones it can be within reach of (the same test as against all
    # of them, which, a Python loop over every anomaly, took 171 s for 1024 anomalies of radius 1 on 64x64)
    placed = np.empty((n_anomalies, 3))
    cell = 2 * float(max(sizes)) + 1.0
    cells: dict[tuple[int, int], list[int]] = {}
    for i in range(n_anomalies):
        radius = float(rng.choice(sizes))
        strength = float(rng.choice(strengths))
        for _attempt in range(200):
            r = rng.uniform(radius, height - radius)
            c = rng.uniform(radius, width - radius)
            home = int(r // cell), int(c // cell)
            near = [j for dr in (-1, 0, 1) for dc in (-1, 0, 1) for j in cells.get((home[0] + dr, home[1] + dc), ())]
            if np.all(np.hypot(r - placed[near, 0], c - placed[near, 1]) > radius + placed[near, 2]):
                break
        placed[i] = r, c, radius
        cells.setdefault(home, []).append(i)
        k = int(rng.integers(1, elements_per_anomaly + 1))
        elements = sorted(int(e) for e in rng.choice(ore, k, replace=False))
        # the bump in a window of BUMP_REACH radii: beyond it exp() underflows to 0.0, so the raster is the same to
        # the bit as with a pass over all of it (which made many small anomalies on a large raster slow)
        reach = int(np.ceil(BUMP_REACH * radius)) + 1
        r0, r1 = max(int(r) - reach, 0), min(int(r) + reach + 1, height)
        c0, c1 = max(int(c) - reach, 0), min(int(c) + reach + 1, width)
        exponent = -0.5 * ((rows[r0:r1, c0:c1] - r) ** 2 + (cols[r0:r1, c0:c1] - c) ** 2) / radius**2
        profile = np.zeros_like(exponent)  # 0.0 where exp() underflows to it anyway (its slow path, 60x)
        np.exp(exponent, out=profile, where=exponent > EXP_UNDERFLOW)
        bump_total[elements, r0:r1, c0:c1] += strength * profile
        mask[r0:r1, c0:c1][profile >= 0.5] = 1
        anomalies.append({"row": float(r), "col": float(c), "radius": radius, "strength": strength,
                          "elements": elements})
    log_conc = mu[:, None, None] + sigma[:, None, None] * (fields + bump_total)
    raster = np.exp(log_conc).transpose(1, 2, 0)
    return GeochemRaster(np.ascontiguousarray(raster), mask, anomalies, ore)
