"""GAN-GP's learning-rate decay: relative to the run's length by default, refused when longer than the run."""

from __future__ import annotations

import had
import numpy as np
import pytest

from had_cxr.gangp import decay_factor

TINY = {"isize": 16, "width": 2, "critic_width": 2, "rep_dim": 8, "batch_size": 8, "device": "cpu",
        "progress": False}


def test_reference_run_keeps_the_reference_schedule():
    cfg = had.get_detector("gan-gp").config
    assert cfg.epochs == 650 and cfg.lr_decay_epochs is None and cfg.decay_epochs == 100
    factors = [decay_factor(e, 650, 100) for e in range(650)]
    assert factors[:551] == [1.0] * 551          # epochs 0..550 at the full rate
    assert factors[551] == pytest.approx(0.99) and factors[-1] == pytest.approx(0.01)


@pytest.mark.parametrize("epochs,expected", [(15, 2), (20, 3), (100, 15), (3, 0)])
def test_default_decay_is_the_reference_share_of_the_run(epochs, expected):
    assert had.get_detector("gan-gp", epochs=epochs).config.decay_epochs == expected


def test_short_run_starts_at_the_full_rate(images):
    X, _ = images
    det = had.get_detector("gan-gp", {**TINY, "epochs": 7, "lr": 1e-3}).fit(X[:16])
    # round(7 * 100/650) = 1 decay epoch: full rate for 6 epochs, then lr * 1/1 at the last (the reference's formula)
    np.testing.assert_allclose(det.history_["lr"], [1e-3] * 7)
    det = had.get_detector("gan-gp", {**TINY, "epochs": 4, "lr": 1e-3, "lr_decay_epochs": 4}).fit(X[:16])
    np.testing.assert_allclose(det.history_["lr"], [1e-3, 1e-3 * 3 / 4, 1e-3 / 2, 1e-3 / 4])


def test_decay_longer_than_the_run_is_refused_when_the_fit_starts(images, monkeypatch):
    from had_cxr.gangp import GANGP

    X, _ = images
    trained = []
    monkeypatch.setattr(GANGP, "build_network", lambda self, spec: trained.append(1))
    with pytest.raises(had.ConfigError, match=r"lr_decay_epochs \(100\) exceeds epochs \(20\)"):
        had.get_detector("gan-gp", {**TINY, "epochs": 20, "lr_decay_epochs": 100}).fit(X[:16])
    assert trained == []  # before any work
    assert had.get_detector("gan-gp", epochs=20, lr_decay_epochs=20).config.decay_epochs == 20


def test_a_model_saved_with_a_decay_longer_than_its_run_loads(tmp_path, images):
    """Before the check (2 December 2026) a short run saved the old default lr_decay_epochs=100 and was then refused
    at load (an upgrade audit), and at set_threshold (a review): a saved model loads as it was trained."""
    import json

    X, _ = images
    det = had.get_detector("gan-gp", {**TINY, "epochs": 1, "lr_decay_epochs": 1}).fit(X[:16])
    path = had.save(det, tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["config"]["lr_decay_epochs"] = 100
    (path / "manifest.json").write_text(json.dumps(manifest))
    loaded = had.load(path)
    assert loaded.config.lr_decay_epochs == 100
    np.testing.assert_array_equal(loaded.decision_function(X[:8]), det.decision_function(X[:8]))
    loaded.set_threshold(float(np.median(loaded.decision_scores_)))  # the review: refused here too
    loaded.set_params(contamination=0.2)
