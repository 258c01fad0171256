"""Image batches stored channels-last (N, H, W, C): refused at fit, explained at scoring (had.image_checks); genuine
multichannel tiles (N, C, H, W) still fit and score."""

from __future__ import annotations

import numpy as np
import pytest

from had.detector import Detector
from had.errors import InvalidInputError
from had.image_checks import looks_channels_last


class MeanImageDistance(Detector):
    """Distance of an image to the mean training image: a real (if simple) image detector."""

    name = "mean-image-distance"
    kinds = ("image",)

    def _fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        return None

    def _score(self, X):
        return np.sqrt(((X - self.mean_) ** 2).reshape(X.shape[0], -1).sum(axis=1))


def images(shape, seed=0):
    """Images of `shape` in [0, 1], the last 3 of them anomalous (bright)."""
    rng = np.random.default_rng(seed)
    X = 0.3 + 0.05 * rng.normal(size=shape)
    X[-3:] += 0.5
    return X.astype(np.float32)


@pytest.mark.parametrize("shape,fix", [((20, 28, 28, 1), (20, 1, 28, 28)), ((20, 32, 32, 3), (20, 3, 32, 32)),
                                       ((20, 8, 8, 4), (20, 4, 8, 8))])
def test_channels_last_images_are_refused_at_fit_with_the_fix(shape, fix):
    X = images(shape)
    with pytest.raises(InvalidInputError) as caught:
        MeanImageDistance().fit(X)
    message = str(caught.value)
    assert "\n" not in message
    assert f"images of shape {shape} look channels-last" in message
    assert f"{shape[1]} channels of {shape[2]}x{shape[3]} pixels" in message
    assert f"numpy.moveaxis(x, -1, 1), to get {fix} (N, C, H, W)" in message
    assert np.moveaxis(X, -1, 1).shape == fix  # the fix it names gives the shape it names


@pytest.mark.parametrize("shape", [(20, 12, 16, 16), (20, 12, 3, 3), (20, 1, 28, 28), (20, 3, 32, 32),
                                   (20, 28, 28, 5), (20, 28, 27, 1)])
def test_channels_first_images_and_multichannel_tiles_fit_and_rank_the_anomalies(shape):
    assert not looks_channels_last(shape)
    det = MeanImageDistance(contamination=0.15).fit(images(shape))
    scores = det.decision_function(images(shape, seed=1))
    assert set(np.argsort(scores)[-3:]) == {17, 18, 19}  # the bright ones score highest: not a constant score


def test_channels_last_images_scored_on_a_channels_first_model_are_explained():
    det = MeanImageDistance().fit(images((20, 1, 28, 28)))
    with pytest.raises(InvalidInputError, match=r"^fitted on images \(1, 28, 28\); images of shape \(5, 28, 28, 1\) "
                                                r"look channels-last: .*numpy\.moveaxis\(x, -1, 1\), to get "
                                                r"\(5, 1, 28, 28\)"):
        det.decision_function(images((5, 28, 28, 1)))
    with pytest.raises(InvalidInputError, match=r"fitted on 1 channels, got 3"):  # not channels-last: as before
        det.decision_function(images((5, 3, 28, 28)))


def test_images_in_another_pixel_convention_than_the_training_images_are_refused():
    """Deep SVDD fitted on [0, 1] MNIST scored the same images as 0-255 at AUROC 0.51 (0.77), every image above
    the threshold, exit 0. The training range is recorded (input_spec value_range, which the artifact's manifest
    and the ONNX metadata carry) and images far outside it are refused, by the eager detector and by
    OnnxScorer (the same check_pixel_convention on its input spec); a little brighter images still score."""
    import json

    from had.image_checks import check_pixel_convention

    X = images((40, 1, 8, 8))
    det = MeanImageDistance().fit(X)
    low, high = det.input_spec_["value_range"]
    assert low == pytest.approx(float(X.min())) and high == pytest.approx(float(X.max()))
    brighter = np.clip(images((10, 1, 8, 8), seed=1) * 1.5, 0, 1)
    assert np.isfinite(det.decision_function(brighter)).all()
    with pytest.raises(InvalidInputError, match=r"span \[\d+(\.\d+)?, 2\d\d(\.\d+)?\], the model was fitted on "
                                                r"images in \[0, 1\] .*: divide by 255"):
        det.decision_function(X * 255)
    with pytest.raises(InvalidInputError, match="standardised images"):
        det.decision_function((X - X.mean()) / X.std())
    geochemical = MeanImageDistance().fit(X * 40.0)  # values that are not pixels: the anomalies may be far above
    assert np.isfinite(geochemical.decision_function(X * 400.0)).all()
    spec = json.loads(json.dumps(det.input_spec_))  # as a manifest or the ONNX metadata gives it back
    with pytest.raises(InvalidInputError, match="divide by 255"):
        check_pixel_convention(spec, X * 255)
    check_pixel_convention(spec, brighter)
    check_pixel_convention({k: v for k, v in spec.items() if k != "value_range"}, X * 255)  # saved before: no check
