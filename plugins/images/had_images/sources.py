"""Image data sources: PneumoniaMNIST chest X-rays and MNIST (one digit normal), both ``(N, 1, 28, 28)`` in [0, 1].

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
from pydantic import Field

from . import files
from .idx import read_idx
from .oneclass import PROTOCOL, select_part, stratified_parts

Part = Literal["all", "train", "val", "test"]
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
    seed: int = Field(0, ge=0, description="seed of the per-digit train/val/test split")
    train_fraction: float = Field(0.6, gt=0.0, lt=1.0, description="share of each digit in the training part")
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of each digit in the validation part")
    split: Part = Field("all", description=_SPLIT_DOC)


class MNISTOneClass(DataSource):
    """The 10,000 MNIST test images, one digit normal, split per digit into train/val/test with a seed."""

    name = "mnist"
    Config = MNISTConfig
    kind = "image"
    default_protocol = PROTOCOL

    def known_files(self):
        return [files.MNIST_TEST_IMAGES, files.MNIST_TEST_LABELS]

    def load(self) -> Dataset:
        cfg = self.config
        images = read_idx(locate(files.MNIST_TEST_IMAGES))
        digits = read_idx(locate(files.MNIST_TEST_LABELS)).astype(np.int64)
        if digits.ndim != 1 or digits.size != images.shape[0]:
            raise DataFileError(f"MNIST labels ({digits.shape}) do not match the images ({images.shape})")
        index = stratified_parts(digits, (cfg.train_fraction, cfg.val_fraction), cfg.seed)
        y = (digits != cfg.normal_class).astype(np.int8)
        meta = _meta(files.MNIST_TEST_IMAGES, {
            "labels_url": files.MNIST_TEST_LABELS.url, "labels_sha256": files.MNIST_TEST_LABELS.sha256,
            "normal": f"digit {cfg.normal_class}", "anomaly": "the other nine digits",
            "split_index": index, "seed": cfg.seed,
        })
        dataset = Dataset(f"mnist-{cfg.normal_class}", _as_images(images, "MNIST images"), y, classes=digits,
                          meta=meta)
        return select_part(dataset, cfg.split)
