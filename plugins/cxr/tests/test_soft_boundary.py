"""Soft-boundary CXR Deep SVDD: R is the (1-nu)-quantile of the training distances, at most ~nu lie outside,
the score is dist - R^2 in eager, saved and ONNX form, and R follows the batches after the warm-up."""

from __future__ import annotations

import had
import numpy as np
import pytest
import torch
from had_sdk import kit
from had_sdk.testing import DetectorSuite

from cxr_toy import tiny_images

SOFT = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 3, "batch_size": 8, "objective": "soft-boundary",
        "nu": 0.25, "warm_up_epochs": 1, "validation_fraction": 0.0, "score": "distance"}


class TestSoftBoundaryConformance(DetectorSuite):
    detector = "cxr-deepsvdd"
    config = {**SOFT, "epochs": 8}  # as the one-class suite: 3 epochs ranked the planted images at 0.78
    data = {"image": kit.make_data("image", 1, image_shape=(16, 16), unit_range=True)}


def _fit(X, **extra):
    return had.get_detector("cxr-deepsvdd", {**SOFT, "device": "cpu", "progress": False, **extra}).fit(X)


def _distances(det, X):
    with torch.no_grad():
        code = det.network_.ae.encode(det.preprocessing_(torch.from_numpy(X)))
        return ((code - det.network_.c) ** 2).sum(dim=1).double().numpy()


def test_radius_is_the_quantile_and_at_most_nu_lie_outside(images):
    X, _ = images
    train = X[:20]
    det = _fit(train)
    dist = _distances(det, train)
    R = det.radius_
    assert R > 0 and det.history_["radius"] == pytest.approx(R)
    assert R == pytest.approx(np.quantile(np.sqrt(dist), 1 - 0.25), rel=1e-5)
    scores = det.decision_function(train)
    np.testing.assert_allclose(scores, dist - R ** 2, rtol=1e-4, atol=1e-6)
    assert np.mean(scores > 1e-6) <= 0.25            # at most nu of the training images outside the sphere
    assert np.mean(scores > -1e-6) >= 0.25 - 1 / 20  # and about nu on the boundary or outside


def test_radius_stays_zero_during_warm_up_and_one_class_has_none(images):
    X, _ = images
    seen = []
    det = had.get_detector("cxr-deepsvdd", {**SOFT, "warm_up_epochs": 2, "device": "cpu", "progress": False})
    det.training_callback = lambda d, p: seen.append((p.event, p.epoch, float(d.network_.R)))
    det.fit(X[:16])
    during = [r for event, epoch, r in seen if event == "step" and epoch <= 2]
    after = [r for event, epoch, r in seen if event == "step" and epoch == 3]
    assert during and all(r == 0.0 for r in during) and all(r > 0 for r in after)
    one_class = had.get_detector("cxr-deepsvdd", {**SOFT, "objective": "one-class", "device": "cpu",
                                                  "progress": False}).fit(X[:16])
    assert one_class.radius_ == 0.0 and "network.R" not in one_class._get_state()


def test_radius_is_saved_and_exported(images, tmp_path):
    X, _ = images
    det = _fit(X[:20])
    assert float(det._get_state()["network.R"]) == pytest.approx(det.radius_)
    had.save(det, tmp_path / "soft")
    loaded = had.load(tmp_path / "soft")
    assert loaded.radius_ == pytest.approx(det.radius_)
    np.testing.assert_allclose(loaded.decision_function(X), det.decision_function(X), rtol=1e-6)
    from had.onnx_export import export_verified
    assert export_verified(det, X)  # raises ExportParityError when the graph's scores differ from dist - R^2
