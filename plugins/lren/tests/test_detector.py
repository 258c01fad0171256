"""LREN as a had detector: transductive scores on a synthetic scene, the closed form against the solver,
scoring new pixels independently of their batch, state, config and registration."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError
from had.metrics import auroc
from had_lren.detector import LREN

from lren_testdata import TINY


def test_registered_lazily_by_string():
    from had import plugins

    entry = plugins.entry("detector", "lren")
    assert entry.plugin == "lren"
    assert isinstance(had.get_detector("lren"), LREN)
    assert LREN.transductive and LREN.onnx_unsupported is None


def test_lren_reference_defaults_are_the_references():
    c = had.get_detector("lren-reference").config
    assert (c.cov_penalty, c.relative_ridge, c.atom_exclusion, c.lrr_space) == ("diag", False, 0.0, "latent")
    assert (c.epochs, c.batch_size, c.lr, c.hidden, c.latent, c.est_hidden, c.clusters) == (1000, 4096, 1e-4, 400, 9,
                                                                                            60, 7)
    assert (c.lambda_energy, c.lambda_cov, c.cov_eps) == (0.1, 1e-4, 1e-6)
    assert (c.lrr_lambda, c.lrr_max_iter, c.lrr_tol, c.lrr_rho, c.lrr_mu, c.lrr_mu_max) == (0.01, 500, 1e-8, 1.2,
                                                                                            1e-3, 1e10)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="validation_fraction"):
        had.get_detector("lren", validation_fraction=0.1)
    with pytest.raises(ConfigError):
        had.get_detector("lren", lrr_lambda=0.0)


def test_finds_the_anomalies_of_a_synthetic_scene(scene, fitted):
    X, truth = scene
    assert fitted.decision_scores_.shape == (X.shape[0] * X.shape[1],)
    assert auroc(truth, fitted.decision_scores_) > 0.95  # measured 0.97-0.98 over seeds (RX: 1.0, an easy scene)
    assert fitted.decision_function(X).shape == X.shape[:2]
    assert len(fitted.history_["train_loss"]) == 60 and np.isfinite(fitted.history_["train_loss"]).all()
    assert set(fitted.timings_) >= {"network_s", "lrr_s", "lrr_iterations", "epoch_s", "fit_s"}


def test_scene_scores_are_the_solvers_up_to_its_convergence(scene, fitted):
    from had_lren.lrr import out_of_sample_scores

    import torch

    X, truth = scene
    z, _ = fitted.embed(X)
    with torch.no_grad():  # the codes' branch of the score (the default's raw branch: test_raw_branch.py)
        closed = fitted.network_.codes_score(torch.from_numpy(z)).numpy()
    admm = fitted.lrr_scores_
    assert abs(auroc(truth, closed) - auroc(truth, admm)) < 0.005
    assert np.corrcoef(closed, admm)[0, 1] > 0.99
    mean, matrix = fitted.whitening_
    float64 = out_of_sample_scores((z.astype(np.float64) - mean) @ matrix, fitted.oos_rule_)  # the rule in float64
    np.testing.assert_allclose(closed, float64, rtol=1e-3, atol=1e-4 * closed.max())


def test_dictionary_is_made_of_codes_chosen_by_memberships_away_from_the_tail(scene, fitted):
    """The stabilised default: atoms chosen by memberships among the pixels that are not in the farthest
    `atom_exclusion` share by latent Mahalanobis distance; the dictionary is in the LRR's (whitened) space."""
    from had_lren.lrr import select_atoms, whitening

    X, _ = scene
    z, gamma = fitted.embed(X.reshape(-1, X.shape[-1]).astype(np.float32))
    mean, matrix, distance = whitening(z)
    allowed = distance <= np.quantile(distance, 1.0 - fitted.config.atom_exclusion)
    np.testing.assert_array_equal(fitted.atoms_, select_atoms(gamma, allowed))
    assert allowed[fitted.atoms_].all() and not allowed.all()
    assert 2 <= len(fitted.atoms_) <= 2 * fitted.config.clusters
    expected = (z.astype(np.float64) - mean) @ matrix if fitted.config.lrr_space == "whitened" else z
    np.testing.assert_allclose(fitted.dictionary_, expected[fitted.atoms_], rtol=1e-6, atol=1e-9)


def test_new_pixels_are_scored_one_by_one(scene, fitted):
    """The out-of-sample score of a pixel does not depend on the other pixels of the batch."""
    X, _ = scene
    whole = fitted.decision_function(X)
    part = fitted.decision_function(X[3:7, 5:9])
    np.testing.assert_allclose(part, whole[3:7, 5:9], rtol=1e-5)
    rows = fitted.decision_function(X.reshape(-1, X.shape[-1])[::50])
    np.testing.assert_allclose(rows, whole.reshape(-1)[::50], rtol=1e-5)


def test_admm_scene_scores_option(scene):
    X, _ = scene
    det = had.get_detector("lren", **{**TINY, "scene_scores": "admm", "raw_weight": 0.0}).fit(X)  # raw: test_raw_branch
    np.testing.assert_array_equal(det.decision_scores_, det.lrr_scores_)


def test_admm_scene_scores_with_fill_are_the_solvers_at_the_other_pixels():
    """Rows or a scene holding fill: the fill stays out of the fit, and `scene_scores="admm"` still gives the
    solver's scores at the other pixels (NaN at the fill), not the closed form (was, once fill was left out)."""
    rng = np.random.default_rng(0)
    config = {**TINY, "scene_scores": "admm", "raw_weight": 0.0}
    for X in (rng.normal(size=(300, 5)), rng.normal(size=(15, 20, 5))):
        filled = X.copy()
        filled.reshape(-1, 5)[:20] = -9999.0
        det = had.get_detector("lren", **config, nodata=-9999.0).fit(filled)
        clean = had.get_detector("lren", **config).fit(X.reshape(-1, 5)[20:])
        scores = det.decision_scores_.reshape(-1)
        assert np.isnan(scores[:20]).all() and det.fill_pixels_ == 20
        np.testing.assert_array_equal(scores[20:], clean.lrr_scores_)


def test_save_load_keeps_the_dictionary_and_mixture(tmp_path, fitted, scene):
    X, _ = scene
    had.save(fitted, tmp_path / "m")
    back = had.load(tmp_path / "m")
    np.testing.assert_array_equal(back.atoms_, fitted.atoms_)
    np.testing.assert_allclose(back.dictionary_, fitted.dictionary_)
    for key in ("phi", "mu", "sigma"):
        np.testing.assert_allclose(back.gmm_[key], fitted.gmm_[key])
    np.testing.assert_array_equal(back.decision_function(X), fitted.decision_function(X))


def test_rows_work_like_pixels():
    """Rows (N, D) are the pixels of a cube: fitting the rows and fitting the same data as a (20, 15, D) cube give
    the same scores, and new rows are scored as the same pixels would be."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 12))
    rows = had.get_detector("lren", **TINY).fit(X)
    cube = had.get_detector("lren", **TINY).fit(X.reshape(20, 15, 12))
    assert rows.decision_scores_.shape == (300,)
    np.testing.assert_allclose(rows.decision_scores_, np.ravel(cube.decision_scores_), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rows.decision_function(X[:10]), np.ravel(cube.decision_function(X[:10].reshape(2, 5, 12))),
                               rtol=1e-6, atol=1e-9)
    assert np.ptp(rows.decision_scores_) > 0  # not a constant


def test_a_failed_cholesky_factor_is_a_typed_error(monkeypatch):
    """A collapsed mixture component (the float32 path's failure on real scenes) surfaces as a HadError."""
    import torch

    from had_lren import detector as module

    real = module.lren_loss
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:  # epoch 3 of 2-batch epochs
            raise torch.linalg.LinAlgError("linalg.cholesky: not positive-definite")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "lren_loss", failing)
    X = np.random.default_rng(0).normal(size=(300, 6))
    det = had.get_detector("lren", **{**TINY, "batch_size": 150, "gmm_float64": False})
    with pytest.raises(had.HadError, match="Cholesky .* failed at epoch 3 .*float32"):
        det.fit(X)


@pytest.mark.parametrize("name", ["lren", "lren-reference"])
def test_a_scene_with_no_variation_is_refused_with_its_cause(name):
    """Every pixel equal (a blank or fill-value scene): an InvalidInputError saying so, before training, instead
    of a failed Cholesky factor whose hint (float64, a larger ridge) cannot help; one varying band is enough."""
    from had.errors import InvalidInputError

    settings = {**{k: v for k, v in TINY.items() if name == "lren" or k != "restarts"}, "epochs": 1}
    blank = np.full((10, 10, 4), 7.0, dtype=np.float32)
    with pytest.raises(InvalidInputError, match="100 training pixels are all equal"):
        had.get_detector(name, **settings).fit(blank)
    blank[..., 2] = np.random.default_rng(0).normal(size=(10, 10))
    had.get_detector(name, **settings, gmm_float64=True).fit(blank)
    with pytest.raises(InvalidInputError, match="LREN needs at least 2 training pixels, got 1"):
        had.get_detector(name, **settings).fit(blank[:1, :1])  # was: "the 1 training pixels are all equal"


def test_training_callback_sees_every_epoch_and_can_embed(scene):
    X, _ = scene
    seen = []
    det = had.get_detector("lren", **TINY)
    det.training_callback = lambda d, p: (seen.append((p.epoch, d.embed(X[:2, :2].reshape(4, -1))[0].shape))
                                          if p.event == "epoch" else None)
    det.fit(X)
    assert seen == [(e, (4, TINY["latent"])) for e in range(1, TINY["epochs"] + 1)]
