"""`snapshot_epochs`: the encoder kept after an early epoch beside the final one, distances IQR-standardised and
averaged (deepsvdd_tabular_choice.md, third round)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.errors import ConfigError
from had.onnx_export import export_and_verify
from had_deepsad.objective import eval_distances
from had_sdk.restarts import training_scale

FAST = {"batch_size": 32, "ae_batch_size": 32, "device": "cpu", "progress": False, "recipe": "reference",
        "ae_epochs": 2, "seed": 3}


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    X = np.clip(rng.normal(0.4, 0.1, size=(160, 6)), 0, 1)
    X[:8] = np.clip(X[:8] + 0.35, 0, 1)
    return X


def _distances(encoder, c, X):
    return eval_distances(encoder, c, torch.as_tensor(X, dtype=torch.float32)).double().numpy()


def test_snapshot_is_the_network_of_the_shorter_run_and_the_score_their_scaled_mean():
    X = _rows()
    hedged = had.get_detector("deepsvdd", {**FAST, "epochs": 3, "snapshot_epochs": [1]}).fit(X)
    short = had.get_detector("deepsvdd", {**FAST, "epochs": 1}).fit(X)
    long = had.get_detector("deepsvdd", {**FAST, "epochs": 3}).fit(X)
    net = hedged.network_
    c = net.c
    # same seed, same pretraining, same batches: the snapshot after epoch 1 is the 1-epoch run's encoder, the
    # final encoder the 3-epoch run's
    early, final = _distances(net.snapshots[0], c, X), _distances(net.encoder, c, X)
    np.testing.assert_allclose(early, short.decision_function(X), rtol=1e-5)
    np.testing.assert_allclose(final, long.decision_function(X), rtol=1e-5)
    assert not np.allclose(early, final, rtol=1e-3)  # two different networks
    scale = np.array([training_scale(early), training_scale(final)])
    np.testing.assert_allclose(net.scale.numpy(), scale, rtol=1e-5)
    np.testing.assert_allclose(hedged.decision_function(X), (early / scale[0] + final / scale[1]) / 2, rtol=1e-5)


def test_snapshots_save_load_and_export(tmp_path):
    X = _rows()
    det = had.get_detector("deepsvdd", {**FAST, "epochs": 3, "snapshot_epochs": [1], "restarts": 2}).fit(X)
    scores = det.decision_function(X)
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.config.snapshot_epochs == [1]
    np.testing.assert_array_equal(back.decision_function(X), scores)
    _, report = export_and_verify(det, X)
    assert report["passed"] and report["max_rel_err"] < 1e-4


@pytest.mark.parametrize("extra, says", [
    ({"epochs": 3, "snapshot_epochs": [3]}, "1..2"),                      # not before the last epoch
    ({"epochs": 5, "snapshot_epochs": [3, 1]}, "must increase"),
    ({"epochs": 5, "snapshot_epochs": [1], "objective": "soft-boundary"}, "one-class objective"),
])
def test_bad_snapshot_settings_are_refused_with_the_fix(extra, says):
    with pytest.raises(ConfigError, match=says):
        had.get_detector("deepsvdd", {**FAST, **extra}).fit(_rows())
