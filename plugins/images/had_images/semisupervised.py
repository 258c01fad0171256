"""Deep SAD's (Ruff et al., ICLR 2020) semi-supervised image setting: one class normal, a few labelled anomalies of
ONE known anomaly class, optionally unlabelled anomalies of every anomaly class polluting the training set.

:func:`semisupervised_split` takes a dataset of this plugin loaded with ``split="all"`` (MNIST with
``train_set="official"``: the official training set less the 5 % validation hold-out, and the 10,000 official test
images) and returns

* ``train``: every normal image of the training part, plus ``ratio_known_outlier`` (gamma_l) of the training set as
  labelled anomalies of the known class, plus unlabelled anomalies of any anomaly class so that they are
  ``ratio_pollution`` (gamma_p) of the unlabelled images; ``known`` holds `had`'s convention (1 known anomaly,
  0 unlabelled), ``y`` the ground truth (for counting; detectors get ``known`` only);
* ``test``: the test part with its labels, untouched.

The counts and draws are the core's :func:`had.protocols.semisupervised_setting` (the reference's
``create_semisupervised_setting``; all normal images used, counts truncated to integers, the known anomalies drawn
first and the polluting ones from the anomalies left). The known anomaly class is, unless given, a seeded draw
among the anomaly classes (:func:`known_anomaly_class`): the reference takes it as an argument
(``--known_outlier_class``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from had import Dataset, protocols
from had.errors import InvalidInputError

from .oneclass import split_index


class SemiSupervisedSplit(NamedTuple):
    train: Dataset
    test: Dataset
    known_anomaly_class: int


def normal_class_of(dataset: Dataset) -> int:
    """The one class whose images are labelled normal (y = 0)."""
    if dataset.classes is None or dataset.y is None:
        raise InvalidInputError(f"{dataset.name} needs per-image classes and labels for a semi-supervised split; "
                                "load an image source of had-plugin-images with split='all'")
    normal = np.unique(dataset.classes[dataset.y == 0])
    if normal.size != 1:
        raise InvalidInputError(f"{dataset.name} has {normal.size} normal classes ({normal.tolist()}); "
                                "the semi-supervised split needs exactly one")
    return int(normal[0])


def known_anomaly_class(normal_class: int, anomaly_classes, seed: int) -> int:
    """The anomaly class whose images may be labelled: a draw among `anomaly_classes` seeded by ``(seed,
    normal_class)``, so each normal class gets its own draw and the same one for every ratio."""
    choices = sorted(int(c) for c in anomaly_classes if int(c) != int(normal_class))
    if not choices:
        raise InvalidInputError(f"no anomaly class besides the normal class {normal_class} to draw from")
    return choices[int(np.random.default_rng([seed, normal_class]).integers(len(choices)))]


def semisupervised_split(dataset: Dataset, ratio_known_outlier: float, ratio_pollution: float = 0.0, seed: int = 0,
                         known_class: int | None = None) -> SemiSupervisedSplit:
    """Deep SAD's training set (gamma_l = `ratio_known_outlier` labelled anomalies of one class, gamma_p =
    `ratio_pollution` unlabelled anomalies of all classes) from the training part, and the test part; seeded."""
    index = split_index(dataset)
    normal = normal_class_of(dataset)
    anomaly_classes = sorted(int(c) for c in np.unique(dataset.classes) if int(c) != normal)
    known = known_anomaly_class(normal, anomaly_classes, seed) if known_class is None else int(known_class)
    if known not in anomaly_classes:
        raise InvalidInputError(f"known_class {known} is not an anomaly class of {dataset.name}; "
                                f"use one of {anomaly_classes}")
    pool = index["train"]
    idx, labels = protocols.semisupervised_setting(
        dataset.classes[pool], (normal,), anomaly_classes, (known,), 0.0, ratio_known_outlier, ratio_pollution,
        np.random.default_rng(seed))
    meta = {k: v for k, v in dataset.meta.items() if k != "split_index"}
    meta.update({"protocol": "deepsad", "seed": seed, "normal_class": normal, "known_anomaly_class": known,
                 "ratio_known_outlier": ratio_known_outlier, "ratio_pollution": ratio_pollution})
    train = replace(dataset.subset(pool[idx], name=f"{dataset.name}/train", meta={**meta, "part": "train"}),
                    known=labels)
    test = dataset.subset(index["test"], name=f"{dataset.name}/test", meta={**meta, "part": "test"})
    return SemiSupervisedSplit(train, test, known)
