"""MemDAE: the conformance kit with a tiny config, the bank's content, K selection, separation of a toy set."""

from __future__ import annotations

import had
import numpy as np
import torch
from had.metrics import auroc
from had_sdk import kit
from had_sdk.testing import DetectorSuite

from cxr_toy import tiny_images

TINY = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 2, "batch_size": 8, "k": 3}


class TestMemDAEConformance(DetectorSuite):
    detector = "memdae"
    config = {**TINY, "epochs": 10, "lr": 1e-3}  # on the kit's images in [0, 1]: 4 epochs at lr 1e-4 ranked the
    # planted images at AUROC 0.77, 10 at 0.89, 10 at lr 1e-3 at 0.96
    data = {"image": kit.make_data("image", 1, image_shape=(16, 16), unit_range=True)}


def test_bank_holds_the_eval_codes_of_every_training_image(images):
    X, _ = images
    det = had.get_detector("memdae", {**TINY, "device": "cpu", "progress": False}).fit(X[:20])
    bank = det.network_.bank.bank
    assert bank.shape == (20, 8)
    # the codes computed here, in one batch through the autoencoder's forward pass in eval mode (not `codes`,
    # the call that built the bank)
    det.model_.eval()
    with torch.no_grad():
        code, _ = det.network_.ae(det.preprocessing_(torch.from_numpy(X[:20])))
    torch.testing.assert_close(bank, code, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bank.norm(dim=1).numpy(), 1.0, rtol=1e-5)
    # by hand: each training image's nearest bank row is its own, at angle ~0
    angles = np.arccos(np.clip(code.numpy() @ bank.numpy().T, -1.0, 1.0))
    np.testing.assert_array_equal(angles.argmin(axis=1), np.arange(20))
    assert det.network_.bank(bank[:1]).item() < det.decision_function(X[-1:]).item()


def test_set_k_rescores_without_refit(images):
    X, _ = images
    det = had.get_detector("memdae", {**TINY, "device": "cpu", "progress": False}).fit(X[:20])
    before = det.decision_function(X)
    det.set_k(1, X[:20])
    after = det.decision_function(X)
    assert det.config.k == 1 and not np.allclose(before, after)
    assert np.all(after[:20] < 1e-3)  # k=1: a training image scored again finds itself in the bank
    assert np.all(det.decision_scores_ > 1e-3)  # its training score leaves its own row out (test_held_out_scores)


def test_memdae_separates_the_toy_anomalies():
    X, y = tiny_images(n=64, seed=3)
    det = had.get_detector("memdae", {**TINY, "epochs": 15, "lr": 3e-3, "device": "cpu", "progress": False})
    det.fit(X[y == 0][:40])
    assert auroc(y, det.decision_function(X)) > 0.9


def test_other_image_sizes_and_channel_counts_are_resized_in_the_graph(check_detector):
    """The kit's default images (6 channels, 8x8) go through the resize to isize inside the exported graph."""
    images = {"image": kit.make_data("image", 6, unit_range=True)}  # 6 channels, 8x8, in [0, 1]
    reports = check_detector("memdae", {**TINY, "epochs": 20, "lr": 1e-3}, images)  # 10 epochs: AUROC 0.88
    assert reports["image"]["passed"] and reports["image"]["shapes"][0][1:] == [6, 8, 8]


def test_a_k_above_the_bank_is_said(images):
    """``--set k=100000`` was capped at the bank's size without a word (every score the mean over the bank)."""
    X, _ = images
    det = had.get_detector("memdae", {**TINY, "k": 50, "device": "cpu", "progress": False}).fit(X[:20])
    assert det.fit_notes_ == ["k=50 is above the 20 training codes in the bank: each score is the mean angle to "
                              "all 20 (k=20 in effect)"]
    assert not getattr(had.get_detector("memdae", {**TINY, "device": "cpu", "progress": False}).fit(X[:20]),
                       "fit_notes_", None)
