"""A seeded train/test split of a tile dataset with per-band scaling fitted on the training tiles only.

``split_tiles(ds, test_fraction=0.3, seed=0, train_normal_only=False, scaling="minmax")``: tiles are drawn
at random (stratified by label when labels exist); ``train_normal_only=True`` drops anomalous tiles from the
training part (Geo-Hgan trains on normal tiles only, which needs labels). The scaler
(:class:`had_raster.scaling.BandScaler`) is fitted on the training tiles and applied to both parts; its
statistics go to ``meta["scaling"]``, and ``meta["tile_coords"]`` of each part lists that part's tiles, so
heat maps can be rebuilt from either part.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from had import Dataset
from had.errors import InvalidInputError
from had.protocols import Split

from .scaling import BandScaler


def split_tiles(dataset: Dataset, test_fraction: float = 0.3, seed: int = 0, *, train_normal_only: bool = False,
                scaling: str = "minmax") -> Split:
    if dataset.kind != "image":
        raise InvalidInputError(f"split_tiles needs tiles (N, C, h, w); {dataset.describe()}")
    if not 0.0 < test_fraction < 1.0:
        raise InvalidInputError(f"test_fraction {test_fraction} must be in (0, 1)")
    if train_normal_only and dataset.y is None:
        raise InvalidInputError("train_normal_only needs tile labels")
    rng = np.random.default_rng(seed)
    groups = [np.arange(dataset.n_samples)] if dataset.y is None else [np.flatnonzero(dataset.y == v) for v in (0, 1)]
    train, test = [], []
    for idx in groups:
        idx = rng.permutation(idx)
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    tr, te = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    if train_normal_only:
        tr = tr[dataset.y[tr] == 0]
    if tr.size == 0 or te.size == 0:
        raise InvalidInputError(f"split leaves an empty part ({tr.size} train, {te.size} test tiles)")
    scaler = BandScaler(scaling).fit(dataset.X[tr])
    coords = np.asarray(dataset.meta.get("tile_coords", np.zeros((dataset.n_samples, 2))))
    parts = []
    for part, idx in (("train", tr), ("test", te)):
        meta = {**dataset.meta, "protocol": "tile-split", "seed": seed, "scaling": scaler.to_dict(),
                "tile_coords": coords[idx].tolist(), "tile_index": idx.tolist()}
        sub = dataset.subset(idx, name=f"{dataset.name}/{part}", meta=meta)
        parts.append(replace(sub, X=scaler.transform(sub.X)))
    return Split(*parts)
