"""LREN on data the hyperspectral defaults were not made for: what it does instead of stopping."""

from __future__ import annotations

import numpy as np


def test_one_band_collapses_in_float32_and_is_fitted_again_in_float64(tmp_path):
    """A single-band raster (one geochemical element, a panchromatic band): the latent codes lie on a curve, the
    float32 mixture collapses at the first epoch; before, the fit stopped with "use gmm_float64=True". Now the
    fit runs again in float64, the saved config says so, ``fit_notes_`` tells the user (had fit prints it), and
    the model scores and round-trips; five bands keep float32 and no note."""
    import had

    rng = np.random.default_rng(0)
    X = rng.gamma(2.0, 1.0, size=(60, 60, 1)).astype(np.float32)
    X[20:23, 30:33] += 15.0
    det = had.get_detector("lren", epochs=3)
    config = det.config
    det.fit(X)
    assert det.config.gmm_float64 is True
    # filled into the detector's own config object, not a new one (scikit-learn's check_dont_overwrite_parameters:
    # a fit changes no public attribute), while get_params keeps what was given
    assert det.config is config and det.get_params()["gmm_float64"] is False
    det.fit(X)  # a refit decides again from the value given, and fills the same object
    assert det.config is config and det.config.gmm_float64 is True and det.get_params()["gmm_float64"] is False
    assert det.fit_notes_ == ["the Cholesky factor of a mixture covariance failed at epoch 1 (float32); fitted "
                              "again with gmm_float64=True (saved in the model's config)"]
    scores = det.decision_function(X)
    assert np.isfinite(scores).all() and np.unravel_index(np.argmax(scores), scores.shape)[0] in (20, 21, 22)
    had.save(det, tmp_path / "m")
    loaded = had.load(tmp_path / "m")
    assert loaded.config.gmm_float64 is True
    np.testing.assert_allclose(loaded.decision_function(X), scores, rtol=1e-6)
    five = had.get_detector("lren", epochs=3).fit(rng.gamma(2.0, 1.0, size=(40, 40, 5)).astype(np.float32))
    assert five.config.gmm_float64 is False and five.fit_notes_ == []
    import pytest
    from had_lren.detector import MixtureCollapseError

    with pytest.raises(MixtureCollapseError, match=r"failed at epoch 1 \(float32\).*use gmm_float64=True"):
        had.get_detector("lren", epochs=3, gmm_float64=False).fit(X)  # float32 asked for: the failure stands


def test_a_diverged_training_is_said_as_such_not_as_a_singular_matrix():
    """``lren-reference`` at ``lr=1e9``: the codes reach 1e10 and the LRR's ``inv(B^T B + I)`` failed with numpy's
    "LinAlgError: Singular matrix", a traceback; it is the network's training that diverged, said with the lr."""
    import had
    import pytest
    from had_sdk.training import TrainingDivergedError

    X = np.random.default_rng(0).random((20, 20, 6))
    with pytest.raises(TrainingDivergedError, match=r"low-rank stage failed \(Singular matrix\) on latent codes as "
                                                    r"large as .*training diverged; lower lr \(now 1e\+09\)"):
        had.get_detector("lren-reference", lr=1e9, epochs=1, progress=False).fit(X)


def test_a_scene_of_too_few_pixels_for_the_dictionary_is_noted():
    """Was: a 5 x 5 scene gave a map of two values ranking an implanted target 24th of 25, without a word."""
    import had

    rng = np.random.default_rng(0)
    small, large = rng.normal(size=(5, 5, 8)), rng.normal(size=(8, 8, 8))
    noted = had.get_detector("lren", restarts=1, epochs=1, device="cpu", progress=False).fit(small).fit_notes_
    assert any("lren fitted on 25 pixels, fewer than 5 per dictionary atom (up to 10" in n for n in noted), noted
    quiet = had.get_detector("lren", restarts=1, epochs=1, device="cpu", progress=False).fit(large).fit_notes_
    assert not any("dictionary atom" in n for n in quiet), quiet


def test_the_float64_fallback_survives_a_set_params():
    """``had fit lren`` on a file whose header declares a fill value sets ``nodata`` with ``set_params``; that made
    every field count as given, ``gmm_float64`` too, so a float32 collapse stopped the fit instead of fitting again
    in float64 (the fallback is for a ``gmm_float64`` nobody set)."""
    import had

    rng = np.random.default_rng(0)
    X = rng.gamma(2.0, 1.0, size=(60, 60, 1)).astype(np.float32)
    X[20:23, 30:33] += 15.0
    det = had.get_detector("lren", epochs=3)
    det.set_params(nodata=-9999.0)
    det.fit(X)
    assert det.config.gmm_float64 is True and "gmm_float64=True" in det.fit_notes_[0]
    # scikit-learn's clone (GridSearchCV, cross_val_score) rebuilt it from every field, all counted as given:
    # the clone of the fitted detector, and of a fresh one, fall back too
    from sklearn.base import clone

    for original in (det, had.get_detector("lren", epochs=3)):
        twin = clone(original)
        assert twin.config.model_fields_set == original.config.model_fields_set - {"gmm_float64"}
        twin.fit(X)
        assert twin.config.gmm_float64 is True and twin.get_params()["gmm_float64"] is False


def test_the_float64_fallback_survives_a_save_and_load(tmp_path):
    """``had.load`` rebuilt the config from every saved field, all counted as given, ``gmm_float64`` too: a loaded
    lren (fitted in float32) refitted on data where float32 collapses stopped with "use gmm_float64=True" instead
    of fitting again in float64, and the autoencoder said "patience has no effect" unasked. The manifest's
    ``config_set`` keeps which fields were set."""
    import json

    import had

    rng = np.random.default_rng(0)
    one_band = rng.gamma(2.0, 1.0, size=(60, 60, 1)).astype(np.float32)
    one_band[20:23, 30:33] += 15.0
    five = rng.gamma(2.0, 1.0, size=(40, 40, 5)).astype(np.float32)
    det = had.get_detector("lren", epochs=3, restarts=2).fit(five)
    assert det.config.gmm_float64 is False
    loaded = had.load(had.save(det, tmp_path / "m"))
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["config_set"] == ["epochs", "restarts"]
    assert loaded.config.model_fields_set == {"epochs", "restarts"}
    loaded.fit(one_band)  # was MixtureCollapseError: "... use gmm_float64=True"
    assert loaded.config.gmm_float64 is True and "gmm_float64=True" in loaded.fit_notes_[0]
