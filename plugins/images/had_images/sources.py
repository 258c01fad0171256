"""Image data sources: PneumoniaMNIST chest X-rays and MNIST (one digit normal), both ``(N, 1, 28, 28)``, pixels in
[0, 1] (MNIST with ``preprocessing="gcn-l1-minmax"``: Deep SVDD's scaling, see :mod:`had_images.contrast`).

Both return every image with ``y`` (0 normal, 1 anomaly), ``classes`` (the original class) and a train/val/test
index in ``meta["split_index"]`` (``split="all"``, the default), or one part of the one-class protocol
(``split="train"``: normal training images without labels; ``"val"``, ``"test"``: labelled); see
:mod:`had_images.oneclass`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from had import DataSource, DataSourceConfig, Dataset
from had.datadir import locate
from had.errors import DataFileError
from pydantic import Field, model_validator

from . import files
from .idx import read_idx
from .contrast import gcn_minmax
from .oneclass import PROTOCOL, official_parts, select_part, stratified_parts

Part = Literal["all", "train", "val", "test"]
OFFICIAL_VAL_FRACTION = 0.05
_SPLIT_DOC = ("all: every image with a train/val/test index in meta['split_index']; train: the normal training "
              "images only, without labels; val, test: that part with labels")


def _as_images(raw: np.ndarray, what: str) -> np.ndarray:
    if raw.ndim != 3 or raw.dtype != np.uint8:
        raise DataFileError(f"{what}: expected uint8 images (N, H, W), got {raw.dtype} {raw.shape}")
    return (raw.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def _meta(known, extra: dict) -> dict:
    return {**known.provenance(), **extra}


class PneumoniaMNISTConfig(DataSourceConfig):
    split: Part = Field("all", description=_SPLIT_DOC)


class PneumoniaMNIST(DataSource):
    """PneumoniaMNIST (MedMNIST v2): normal = label 0, anomaly = pneumonia (label 1); the file's own splits."""

    name = "pneumoniamnist"
    Config = PneumoniaMNISTConfig
    kind = "image"
    default_protocol = PROTOCOL

    def known_files(self):
        return [files.PNEUMONIA]

    def load(self) -> Dataset:
        path = locate(files.PNEUMONIA)
        try:
            with np.load(path, allow_pickle=False) as npz:
                parts = {p: (npz[f"{p}_images"], npz[f"{p}_labels"]) for p in ("train", "val", "test")}
        except KeyError as exc:
            raise DataFileError(f"{path} lacks the key {exc}; expected train/val/test _images and _labels") from None
        images, labels, index, start = [], [], {}, 0
        for part, (imgs, labs) in parts.items():
            images.append(_as_images(imgs, f"{path}:{part}_images"))
            labs = np.asarray(labs).reshape(-1).astype(np.int64)
            if labs.size != imgs.shape[0] or not np.isin(labs, (0, 1)).all():
                raise DataFileError(f"{path}: {part}_labels must hold one 0/1 label per image")
            labels.append(labs)
            index[part] = np.arange(start, start + labs.size)
            start += labs.size
        y = np.concatenate(labels)
        meta = _meta(files.PNEUMONIA, {
            "official_url": files.PNEUMONIA_OFFICIAL_URL,
            "normal": "label 0 (normal)", "anomaly": "label 1 (pneumonia)",
            "split_index": index,
            "note": "train holds 388 normal images (the official MedMNIST train has 1214); val and test are official",
        })
        dataset = Dataset("pneumoniamnist", np.concatenate(images), y.astype(np.int8), classes=y, meta=meta)
        return select_part(dataset, self.config.split)


class MNISTConfig(DataSourceConfig):
    normal_class: int = Field(0, ge=0, le=9, description="the digit taken as normal; the nine others are anomalies")
    train_set: Literal["test-split", "official"] = Field(
        "test-split", description="test-split: the 10,000 official test images split per digit into train/val/test "
        "(train_fraction, val_fraction); official: train on the official 60,000-image training set (about 6,000 "
        "images of the normal digit), test on the 10,000 official test images, as the papers do")
    seed: int = Field(0, ge=0, description="seed of the per-digit split (test-split) or of the validation hold-out")
    train_fraction: float = Field(0.6, gt=0.0, lt=1.0, description="test-split: share of each digit in the training part")
    val_fraction: float | None = Field(
        None, gt=0.0, lt=1.0, description="share of each digit in the validation part (None: 0.2 with test-split; "
        "0.05 with official, held out of the official training set per digit: the papers validate nothing, so "
        "the share is small)")
    preprocessing: Literal["none", "gcn-l1-minmax"] = Field(
        "none", description="none: pixels / 255; gcn-l1-minmax: Deep SVDD 2018's global contrast normalisation "
        "(l1) and min-max scaling by the normal digit's training images (had_images.contrast)")
    split: Part = Field("all", description=_SPLIT_DOC)

    @model_validator(mode="after")
    def _train_fraction_is_for_the_test_split(self):
        # the official split has no training share to set: a train_fraction given with it was ignored unsaid
        if self.train_set == "official" and "train_fraction" in self.model_fields_set:
            raise ValueError("train_fraction is for train_set='test-split'; the official split trains on the official "
                             "training set: leave train_fraction unset (val_fraction sets its hold-out)")
        return self


class MNISTOneClass(DataSource):
    """MNIST, one digit normal: the 10,000 test images split per digit with a seed (``train_set="test-split"``),
    or the official training set for training and the official test set for testing (``"official"``)."""

    name = "mnist"
    Config = MNISTConfig
    kind = "image"
    default_protocol = PROTOCOL

    def known_files(self):
        test = [files.MNIST_TEST_IMAGES, files.MNIST_TEST_LABELS]
        return test + [files.MNIST_TRAIN_IMAGES, files.MNIST_TRAIN_LABELS] if self.config.train_set == "official" else test

    def load(self) -> Dataset:
        cfg = self.config
        images, digits = _read_mnist(files.MNIST_TEST_IMAGES, files.MNIST_TEST_LABELS)
        if cfg.train_set == "official":
            train_images, train_digits = _read_mnist(files.MNIST_TRAIN_IMAGES, files.MNIST_TRAIN_LABELS)
            index = official_parts(train_digits, digits.size, cfg.val_fraction or OFFICIAL_VAL_FRACTION, cfg.seed)
            range_pool = np.arange(train_digits.size)  # GCN range: the whole official training set, as the reference
            images, digits = np.concatenate([train_images, images]), np.concatenate([train_digits, digits])
        else:
            val = 0.2 if cfg.val_fraction is None else cfg.val_fraction
            index = stratified_parts(digits, (cfg.train_fraction, val), cfg.seed)
            range_pool = index["train"]
        y = (digits != cfg.normal_class).astype(np.int8)
        X = _as_images(images, "MNIST images")
        extra = {}
        if cfg.preprocessing == "gcn-l1-minmax":
            X, (lo, hi) = gcn_minmax(X, range_pool[digits[range_pool] == cfg.normal_class])
            extra["gcn_min_max"] = [lo, hi]
        meta = _meta(files.MNIST_TEST_IMAGES, {
            "labels_url": files.MNIST_TEST_LABELS.url, "labels_sha256": files.MNIST_TEST_LABELS.sha256,
            "normal": f"digit {cfg.normal_class}", "anomaly": "the other nine digits",
            "split_index": index, "seed": cfg.seed, "train_set": cfg.train_set,
            "preprocessing": cfg.preprocessing, **extra,
        })
        if cfg.train_set == "official":
            meta["train_url"], meta["train_sha256"] = files.MNIST_TRAIN_IMAGES.url, files.MNIST_TRAIN_IMAGES.sha256
        name = "mnist" + ("-official" if cfg.train_set == "official" else "") + f"-{cfg.normal_class}"
        return select_part(Dataset(name, X, y, classes=digits, meta=meta), cfg.split)


def _read_mnist(images_file, labels_file) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(locate(images_file))
    digits = read_idx(locate(labels_file)).astype(np.int64)
    if digits.ndim != 1 or digits.size != images.shape[0]:
        raise DataFileError(f"MNIST labels {labels_file.relpath} ({digits.shape}) do not match the images "
                            f"{images_file.relpath} ({images.shape})")
    return images, digits
