"""Soft-boundary Deep SVDD (Ruff et al., ICML 2018): R is the (1-nu)-quantile of the training distances after
training, at most ~nu of the training rows score above 0, R follows the batches after the warm-up, and the
score dist - R^2 is saved and exported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.onnx_export import export_verified
from had_sdk import kit
from had_sdk.testing import DetectorSuite

SOFT = {"epochs": 4, "ae_epochs": 2, "batch_size": 32, "ae_batch_size": 32, "objective": "soft-boundary",
        "nu": 0.1, "warm_up_epochs": 1}


def _rows(seed=0, n=300, d=6):
    rng = np.random.default_rng(seed)
    X = np.clip(rng.normal(0.4, 0.1, size=(n, d)), 0, 1)
    X[-15:] = np.clip(rng.normal(0.8, 0.05, size=(15, d)), 0, 1)  # 5 % planted anomalies
    y = np.r_[np.zeros(n - 15), np.ones(15)].astype(np.int8)
    return X, y


class TestSoftBoundaryConformance(DetectorSuite):
    detector = "deepsvdd"
    config = SOFT
    data = {"image": kit.make_data("image", 1, image_shape=(28, 28))}  # the LeNet's 1x28x28, 8 planted


def _fit(X, **extra):
    return had.get_detector("deepsvdd", {**SOFT, "device": "cpu", "progress": False, **extra}).fit(X)


def test_radius_is_the_quantile_and_at_most_nu_lie_outside():
    X, _ = _rows()
    det = _fit(X)
    with torch.no_grad():
        dist = det.network_.encoder.eval()(torch.from_numpy(X).float())
        dist = ((dist - det.network_.c) ** 2).sum(dim=1).double().numpy()
    R = det.radius_
    assert R > 0 and det.history_["radius"] == pytest.approx(R)
    assert R == pytest.approx(np.quantile(np.sqrt(dist), 0.9), rel=1e-5)
    scores = det.decision_function(X)
    np.testing.assert_allclose(scores, dist - R ** 2, rtol=1e-4, atol=1e-6)
    outside = np.mean(scores > 1e-6)
    assert 0.1 - 2 / len(X) <= outside <= 0.1  # the (1-nu)-quantile: about nu outside, never more


@pytest.mark.parametrize("nu", [0.05, 0.3])
def test_nu_sets_the_share_outside(nu):
    X, _ = _rows(2)
    scores = _fit(X, nu=nu).decision_function(X)
    assert nu - 2 / len(X) <= np.mean(scores > 1e-6) <= nu


def test_radius_follows_the_batches_only_after_the_warm_up():
    X, _ = _rows(3)
    seen = []
    det = had.get_detector("deepsvdd", {**SOFT, "warm_up_epochs": 2, "device": "cpu", "progress": False})
    det.training_callback = lambda d, p: seen.append((p.phase, p.event, p.epoch, float(d.network_.R)))
    det.fit(X)
    steps = [(epoch, r) for phase, event, epoch, r in seen if event == "step" and phase.startswith("soft")]
    assert all(r == 0.0 for epoch, r in steps if epoch <= 2)
    assert all(r > 0.0 for epoch, r in steps if epoch > 2) and any(epoch > 2 for epoch, _ in steps)


def test_one_class_is_unchanged_and_has_no_radius():
    X, _ = _rows(4)
    det = _fit(X, objective="one-class", restarts=1, snapshot_epochs=[], scaling="none")  # one network on the input
    # as given, as soft-boundary's (the one-class recipe on rows whitens)
    assert det.radius_ == 0.0 and "network.R" not in det._get_state()
    with torch.no_grad():
        z = det.network_.encoder.eval()(torch.from_numpy(X).float())
    np.testing.assert_allclose(det.decision_function(X), ((z - det.network_.c) ** 2).sum(1).double().numpy(),
                               rtol=1e-5)


def test_radius_is_saved_and_exported(tmp_path):
    X, _ = _rows(5)
    det = _fit(X)
    had.save(det, tmp_path / "soft")
    loaded = had.load(tmp_path / "soft")
    assert loaded.radius_ == pytest.approx(det.radius_) and loaded.config.objective == "soft-boundary"
    np.testing.assert_allclose(loaded.decision_function(X), det.decision_function(X), rtol=1e-6)
    assert export_verified(det, X)  # ExportParityError if the graph's scores differ from dist - R^2


def test_deepsad_has_no_soft_boundary():
    with pytest.raises(had.ConfigError, match="objective"):
        had.get_detector("deepsad", objective="soft-boundary")
