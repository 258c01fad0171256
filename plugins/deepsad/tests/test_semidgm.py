"""SemiDGM (Kingma et al. 2014, M2 and M1+M2): the conformance kit, planted anomalies found from a few known
ones, the label convention, the reference's sizes, the bound's pieces, the frozen M1 of M1+M2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.metrics import auroc
from had_sdk import kit
from had_sdk.testing import DetectorSuite

from had_deepsad.dgm import M2, m2_loss
from had_deepsad.semidgm import dgm_sizes, known_classes

TINY = {"epochs": 2, "vae_epochs": 2, "batch_size": 32, "vae_batch_size": 32}
IMAGES = np.random.default_rng(0).random((24, 1, 28, 28))


def _planted(seed=0, n=400, d=8):
    """Normals in one corner of [0, 1]^d, 5 % anomalies in another; 8 anomalies and 20 normals are known."""
    rng = np.random.default_rng(seed)
    X = np.clip(rng.normal(0.3, 0.08, size=(n, d)), 0, 1)
    X[-20:] = np.clip(rng.normal(0.7, 0.08, size=(20, d)), 0, 1)
    y = np.r_[np.zeros(n - 20), np.ones(20)].astype(np.int8)
    known = np.zeros(n, dtype=np.int8)
    known[-8:] = 1
    known[:20] = -1
    return X, y, known


class TestSemiDGMConformance(DetectorSuite):
    detector = "semidgm"
    config = {**TINY, "scaling": "minmax"}  # the kit's data is not in [0, 1]
    data = {"image": kit.make_data("image", 1, image_shape=(28, 28))}  # the LeNet's 1x28x28, 8 planted


class TestM1M2Conformance(DetectorSuite):
    detector = "semidgm"
    config = {**TINY, "model": "m1+m2", "scaling": "minmax"}
    data = {"image": kit.make_data("image", 1, image_shape=(28, 28))}  # the LeNet's 1x28x28, 8 planted


@pytest.mark.parametrize("model", ["m2", "m1+m2"])
def test_planted_anomalies_are_found_from_a_few_known_ones(model):
    X, y, known = _planted()
    det = had.get_detector("semidgm", model=model, epochs=30, vae_epochs=30, batch_size=64, vae_batch_size=64,
                           device="cpu", progress=False).fit(X, known)
    scores = det.decision_function(X)
    assert scores.min() >= 0.0 and scores.max() <= 1.0  # q(anomaly | x)
    unlabelled = known == 0
    assert auroc(y[unlabelled], scores[unlabelled]) > 0.95
    assert np.median(scores[-12:]) > np.median(scores[20:-20])
    if model == "m2":  # M2 classifies the unlabelled anomalies as anomalies (M1+M2 ranks them, closer to 0.5)
        assert np.median(scores[-12:]) > 0.5 > np.median(scores[20:-20])


def test_known_labels_follow_had_convention():
    np.testing.assert_array_equal(known_classes(np.array([1, -1, 0, 1]), 4), [1, 0, -1, 1])
    np.testing.assert_array_equal(known_classes(None, 3), [-1, -1, -1])
    X, y, known = _planted(1)
    flipped = had.get_detector("semidgm", epochs=30, batch_size=64, device="cpu", progress=False).fit(X, -known)
    unlabelled = known == 0
    assert auroc(y[unlabelled], flipped.decision_function(X)[unlabelled]) < 0.1  # swapped labels invert the score


def test_reference_sizes():
    assert dgm_sizes({"kind": "tabular", "n_features": 21}, None, None) == (21, [32, 16], 8, None)   # cardio
    assert dgm_sizes({"kind": "tabular", "n_features": 274}, None, None) == (274, [128, 64], 32, None)
    assert dgm_sizes({"kind": "tabular", "n_features": 6}, None, None) == (6, [32, 16], 4, None)    # thyroid
    mnist = {"kind": "image", "n_features": 1, "sample_shape": (1, 28, 28)}
    assert dgm_sizes(mnist, None, None) == (784, [128, 64], 32, "mnist_lenet")


def test_bound_skips_labelled_terms_below_two_and_weighs_classes_by_q():
    torch.manual_seed(0)
    model = M2(5, [8], 3)
    x = torch.rand(6, 5)
    unlabelled = torch.full((6,), -1)
    one_known = unlabelled.clone()
    one_known[0] = 1
    torch.manual_seed(1)
    a = m2_loss(model, x[1:], unlabelled[1:], alpha=0.1)
    torch.manual_seed(1)
    b = m2_loss(model, x, one_known, alpha=0.1)  # one labelled row: skipped (the reference), the rest unlabelled
    assert torch.isfinite(a) and a.item() == pytest.approx(b.item(), rel=1e-6)
    # the unlabelled bound is the q-weighted bound over both classes plus the entropy of q
    torch.manual_seed(2)
    u = m2_loss(model, x, unlabelled, alpha=0.0)
    torch.manual_seed(2)
    bounds = model.elbo(x.repeat(2, 1), torch.eye(2).repeat_interleave(6, dim=0)).view(2, 6).t()
    q = model.classify(x)
    expected = -torch.mean((q * bounds).sum(1) - (q * torch.log(q + 1e-8)).sum(1))
    assert u.item() == pytest.approx(expected.item(), rel=1e-5)


def test_m1_is_trained_first_then_frozen():
    X, _, known = _planted(2, n=200)
    det = had.get_detector("semidgm", model="m1+m2", epochs=2, vae_epochs=3, batch_size=64, vae_batch_size=64,
                           device="cpu", progress=False)
    snapshots = []
    det.training_callback = lambda d, p: snapshots.append(
        (p.phase, p.event, d.network_.features.encoder.mu.weight.detach().clone()))
    det.fit(X, known)
    assert len(det.history_["vae_loss"]) == 3 and len(det.history_["loss"]) == 2
    vae_end = [w for phase, event, w in snapshots if phase == "vae pretraining"][-1]
    m2 = [w for phase, event, w in snapshots if phase == "semidgm training"]
    assert m2 and all(torch.equal(w, vae_end) for w in m2)  # M1 does not move while M2 trains
    assert not any(p.requires_grad for p in det.network_.features.parameters())


def test_inputs_outside_0_1_are_refused_and_minmax_scaling_lets_the_labels_work():
    X, y = kit.make_data("tabular")  # Gaussian rows: a Bernoulli likelihood cannot model them
    known = kit.known_labels(y)
    with pytest.raises(had.errors.InvalidInputError, match=r"Bernoulli likelihood, which needs values in \[0, 1\]"):
        had.get_detector("semidgm", **TINY, progress=False).fit(X, known)
    config = dict(scaling="minmax", epochs=30, vae_epochs=30, batch_size=32, vae_batch_size=32, progress=False)
    unlabelled = known == 0
    for model in ("m2", "m1+m2"):
        told = had.get_detector("semidgm", model=model, **config).fit(X, known)
        blind = had.get_detector("semidgm", model=model, **config).fit(X)
        with_labels = auroc(y[unlabelled], told.decision_function(X)[unlabelled])
        without = auroc(y[unlabelled], blind.decision_function(X)[unlabelled])
        assert with_labels > 0.98 and without < 0.8, (model, with_labels, without)  # measured 0.999 / 0.65
        assert told.decision_function(X * 1.0).min() >= 0.0  # q(anomaly | x)
    # data already in [0, 1] (the protocol's scaling) trains as before, unscaled
    had.get_detector("semidgm", **TINY, progress=False).fit((X - X.min(0)) / (X.max(0) - X.min(0)), known)
