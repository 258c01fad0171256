"""The one-class image protocol: fit on normal training images, select on a labelled validation part, report on test.

A dataset of this plugin loaded with ``split="all"`` holds every image with its 0/1 label and, in
``meta["split_index"]``, three disjoint index arrays ``train``, ``val``, ``test``. :func:`one_class_split` turns it
into three datasets:

* ``train``: the *normal* images of the training part only, with ``y=None`` (no label reaches ``fit``);
* ``val``: the validation part with its labels, the only labels any model selection may read;
* ``test``: the test part with its labels, for the final report only.

The split itself is the core's :func:`had.protocols.one_class` (registered as the ``one-class`` protocol, so
``had bench`` runs these sources); this module names its parts and adds the per-class index drawing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from had import Dataset, protocols
from had.errors import InvalidInputError

PROTOCOL = "one-class"
PARTS = ("train", "val", "test")


class OneClassSplit(NamedTuple):
    train: Dataset
    val: Dataset
    test: Dataset


def split_index(dataset: Dataset) -> dict[str, np.ndarray]:
    """The train/val/test index arrays of a dataset loaded with ``split="all"``."""
    index = dataset.meta.get("split_index")
    if not isinstance(index, dict) or set(index) != set(PARTS):
        raise InvalidInputError(
            f"{dataset.name} has no train/val/test index in meta['split_index']; load it with split='all'"
        )
    return {part: np.asarray(index[part], dtype=np.int64) for part in PARTS}


def one_class_split(dataset: Dataset) -> OneClassSplit:
    """Train on the normal training images (labels removed), validate and test on labelled parts
    (the core's :func:`had.protocols.one_class`, named three ways)."""
    split_index(dataset)  # this plugin's clearer error for a dataset loaded with a single part
    parts = protocols.one_class(dataset)
    return OneClassSplit(parts.train, parts.val, parts.test)


def select_part(dataset: Dataset, part: str) -> Dataset:
    """One part of a ``split="all"`` dataset, as a source's ``split`` field returns it."""
    if part == "all":
        return dataset
    parts = one_class_split(dataset)
    return getattr(parts, part)


def stratified_parts(labels: np.ndarray, fractions: tuple[float, float], seed: int) -> dict[str, np.ndarray]:
    """Per-class shuffled split into train/val/test with the given train and val fractions (seeded)."""
    train_fraction, val_fraction = fractions
    if train_fraction <= 0 or val_fraction <= 0 or train_fraction + val_fraction >= 1:
        raise InvalidInputError("train and val fractions must be positive and sum to less than 1")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {p: [] for p in PARTS}
    for value in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == value))
        n_train = int(round(train_fraction * idx.size))
        n_val = int(round(val_fraction * idx.size))
        parts["train"].append(idx[:n_train])
        parts["val"].append(idx[n_train:n_train + n_val])
        parts["test"].append(idx[n_train + n_val:])
    return {p: np.sort(np.concatenate(v)) for p, v in parts.items()}


def official_parts(train_labels: np.ndarray, n_test: int, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Parts over ``[official training images; official test images]``: test = the `n_test` last; val = a seeded
    `val_fraction` of each class of the training images; train = the other training images."""
    if not 0.0 < val_fraction < 1.0:
        raise InvalidInputError(f"val_fraction {val_fraction} must be in (0, 1)")
    rng = np.random.default_rng(seed)
    val = [rng.permutation(np.flatnonzero(train_labels == v))[:int(round(val_fraction * (train_labels == v).sum()))]
           for v in np.unique(train_labels)]
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(train_labels.size, dtype=np.int64), val_idx)
    test_idx = np.arange(train_labels.size, train_labels.size + n_test, dtype=np.int64)
    return {"train": train_idx, "val": val_idx, "test": test_idx}
