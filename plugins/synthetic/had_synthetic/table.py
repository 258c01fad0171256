"""A seeded synthetic table with planted outliers: the generator and its data source.

Inliers come from `n_clusters` correlated Gaussians (random centres, random full covariances). Outliers are of two
kinds, half each:

* *global*: uniform in the inliers' bounding box widened by half its size on every side (a few may land inside
  the inlier cloud, as real outliers do);
* *local*: drawn around a cluster centre at Mahalanobis radius 1.5x to 2.5x the typical inlier radius
  ``sqrt(n_features)``, i.e. shifted off the cluster along its own correlations.

Rows are shuffled; ``y`` is 1 for outliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.memory import check_fits
from pydantic import Field, ValidationInfo, field_validator


class SyntheticTableConfig(DataSourceConfig):
    n_samples: int = Field(1000, ge=10, description="rows")
    n_features: int = Field(10, ge=1, description="columns")
    contamination: float = Field(0.05, gt=0.0, le=0.5, description="share of outliers (at least one is planted)")
    seed: int = Field(0, ge=0, description="random seed (numpy default_rng)")
    n_clusters: int = Field(2, ge=1, description="Gaussian clusters of inliers, at most n_samples")

    @field_validator("n_clusters")
    @classmethod
    def _clusters_within_the_rows(cls, value: int, info: ValidationInfo) -> int:
        """More clusters than rows leaves clusters without a row, each still a d x d covariance made and held: was
        unbounded (2,000,000 on 1000 rows ran 60 s at 4.1 GB, 10**30 was an out-of-memory error that named
        n_samples and n_features). The default 2 is within any n_samples (at least 10)."""
        rows = info.data.get("n_samples")
        if rows is not None and value > rows:
            raise ValueError(f"n_clusters={value} is more than the n_samples={rows} rows to share among them; give "
                             f"at most {rows} (or more rows: n_samples)")
        return value


@dataclass(frozen=True)
class SyntheticTable:
    """The generated rows and how they were made."""

    X: np.ndarray        # (n_samples, n_features) float64
    y: np.ndarray        # (n_samples,) int64, 1 = outlier
    kind: np.ndarray     # (n_samples,) str: "inlier", "global" or "local"
    centres: np.ndarray  # (n_clusters, n_features)


def _cluster_factors(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    """`k` lower-triangular factors L of random correlated covariances ``L L^T`` (unit average variance)."""
    factors = []
    for _ in range(k):
        a = rng.standard_normal((d, d)) / np.sqrt(d)
        cov = a @ a.T + 0.2 * np.eye(d)
        cov *= d / np.trace(cov)
        factors.append(np.linalg.cholesky(cov))
    return np.stack(factors)


def make_table(config: SyntheticTableConfig | dict | None = None, **overrides) -> SyntheticTable:
    """Generate the table described by `config` (a SyntheticTableConfig, a dict or keyword overrides)."""
    from had.config import build_config

    c = build_config(SyntheticTableConfig, "synthetic-table", config, **overrides)
    n, d, k = c.n_samples, c.n_features, c.n_clusters
    # each inlier's cluster factor (d, d) is gathered for the einsum below: n x d x d float64 at once
    # (and of clusters, where they hold a fifth of it or more: each has its d x d factor)
    many = 4 * k >= n
    check_fits(f"a {n}x{d} synthetic table" + (f" of {k} clusters" if many else ""), 8 * ((n + k) * d * d + 4 * n * d),
               "ask for fewer rows or columns (n_samples, n_features" + (", n_clusters)" if many else ")"))
    rng = np.random.default_rng(c.seed)
    n_out = min(max(int(round(c.contamination * n)), 1), n - 1)
    n_in = n - n_out

    centres = rng.normal(0.0, 4.0, size=(k, d))
    factors = _cluster_factors(rng, k, d)
    cluster = rng.integers(0, k, size=n_in)
    inliers = centres[cluster] + np.einsum("nij,nj->ni", factors[cluster], rng.standard_normal((n_in, d)))

    n_global = n_out // 2
    low, high = inliers.min(axis=0), inliers.max(axis=0)
    span = high - low
    global_out = rng.uniform(low - 0.5 * span, high + 0.5 * span, size=(n_global, d))

    n_local = n_out - n_global
    home = rng.integers(0, k, size=n_local)
    direction = rng.standard_normal((n_local, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = np.sqrt(d) * rng.uniform(1.5, 2.5, size=(n_local, 1))
    local_out = centres[home] + np.einsum("nij,nj->ni", factors[home], direction * radius)

    X = np.concatenate([inliers, global_out, local_out])
    kind = np.array(["inlier"] * n_in + ["global"] * n_global + ["local"] * n_local)
    order = rng.permutation(n)
    y = (kind != "inlier").astype(np.int64)
    return SyntheticTable(X[order], y[order], kind[order], centres)


class SyntheticTabular(DataSource):
    """Seeded rows with planted outliers; no file needed."""

    name = "synthetic-table"
    Config = SyntheticTableConfig
    kind = "tabular"
    default_protocol = "adbench"

    def load(self) -> Dataset:
        table = make_table(self.config)
        meta = {
            "citation": "synthetic (had-plugin-synthetic); no citation",
            "url": None,
            "generator": "had_synthetic.table.make_table",
            "config": self.config.model_dump(),
        }
        return Dataset(self.name, table.X, table.y, meta=meta)
