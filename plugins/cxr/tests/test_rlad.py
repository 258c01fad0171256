"""RLAD: conformance kit, anchor neighbourhoods, memory after training, anchor schedule."""

from __future__ import annotations

import had
import numpy as np
import torch
from had_sdk import kit
from had_sdk.testing import DetectorSuite

from had_cxr.rlad import neighbourhoods

TINY = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 1, "batch_size": 8, "k": 3, "ans_select_rate": 0.5,
        "ans_size": 3}


class TestRLADConformance(DetectorSuite):
    detector = "rlad"
    config = {**TINY, "width": 4, "epochs": 10}  # images in [0, 1]: width 2, 1 epoch ranked the planted images
    # at AUROC 0.79, width 2, 10 epochs at 1.0
    data = {"image": kit.make_data("image", 1, image_shape=(16, 16), unit_range=True)}


def test_neighbourhoods_pick_low_entropy_rows_and_exclude_themselves():
    # two tight clusters of 3 and one distinct row: the distinct row's softmax peaks on itself (lowest entropy)
    memory = torch.nn.functional.normalize(torch.tensor(
        [[1, 0, 0], [0.99, 0.1, 0], [0.98, 0, 0.1], [0, 1, 0], [0.1, 0.99, 0], [0, 0.98, 0.1], [0.6, 0.6, 0.5]]),
        dim=1)
    p = torch.softmax(memory @ memory.t() / 0.1, dim=1)
    entropy = -(p * p.log()).sum(dim=1)
    anchors, hoods = neighbourhoods(memory, 0.1, 4, 2)
    assert anchors.tolist() == torch.argsort(entropy)[:4].tolist() and anchors[0].item() == 6
    for a, hood in zip(anchors.tolist(), hoods.tolist()):
        assert a not in hood and len(hood) == 2
        if a != 6:
            assert set(hood) <= {a // 3 * 3 + i for i in range(3)}  # its own cluster


def test_memory_is_unit_norm_and_anchor_rounds_follow_the_rate(images):
    X, _ = images
    det = had.get_detector("rlad", {**TINY, "device": "cpu", "progress": False}).fit(X[:20])
    memory = det.network_.bank.bank
    assert memory.shape == (20, 8)
    np.testing.assert_allclose(memory.norm(dim=1).numpy(), 1.0, rtol=1e-5)
    assert det.history_["n_anchors"] == [0, 10, 20]  # int(N * 0.5 * r), r = 0, 1, 2
    assert len(det.history_["train_loss"]) == 3
