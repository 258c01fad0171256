"""The chest X-ray detectors take images in [0, 1] (their transform and tanh decoders assume it): training images
in another range are refused with one typed line before any training, instead of a model of the brightness."""

from __future__ import annotations

import numpy as np
import pytest

import had

TINY = {"epochs": 1, "isize": 16, "width": 2, "rep_dim": 4, "batch_size": 8, "progress": False}


@pytest.mark.parametrize("name", ["memdae", "rlad", "gan-gp", "cxr-deepsvdd"])
def test_images_outside_0_1_are_refused_and_unit_images_fit(name):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(16, 1, 16, 16)).astype(np.float64)  # 0-255, as a PNG stack
    with pytest.raises(had.errors.InvalidInputError,
                       match=r"values in \[0, 1\].*span \[0, 255\]: scale them to \[0, 1\] \(0-255 pixels: "
                             r"divide by 255\)"):
        had.get_detector(name, **TINY).fit(pixels)
    with pytest.raises(had.errors.InvalidInputError, match=r"span \[-\d"):  # standardised images
        had.get_detector(name, **TINY).fit((pixels - pixels.mean()) / pixels.std())
    det = had.get_detector(name, **TINY).fit(pixels / 255)
    assert np.isfinite(det.decision_function(pixels / 255)).all()
