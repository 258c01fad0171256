"""The raw branch (``raw_weight``): a second low-rank score on the fitted pixels' raw spectra (leading principal
components, whitened), with the codes' atoms and solver settings, fused per fit as
``(1 - w) s_codes / IQR_c + w s_raw / IQR_r``; its numbers against a numpy statement of the same computation
(benchmarks/lren_round11_eval.py's ``raw_space`` and ``raw_scores``), its graph, artifact and export, and ``w = 0``
as the code before it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import had
from had.errors import ConfigError
from had.metrics import auroc
from had_lren import lrr as L
from had_sdk.restarts import member_seed, training_scale

from lren_testdata import TINY, synthetic_scene

HALF = {**TINY, "seed": 0, "raw_weight": 0.5}


def pixels_of(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float32).reshape(-1, X.shape[-1])


def raw_space(pixels: np.ndarray, k: int = 32) -> np.ndarray:
    """The study's raw space, written out again: the raw spectra on their k leading principal components, whitened
    (components with an eigenvalue at most 1e-12 of the largest dropped), float64."""
    X = np.asarray(pixels, dtype=np.float64)
    centred = X - X.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    order = np.argsort(values)[::-1][:min(k, X.shape[1])]
    values, vectors = values[order], vectors[:, order]
    keep = values > 1e-12 * values[0]
    return centred @ (vectors[:, keep] / np.sqrt(values[keep]))


def raw_reference_scores(S: np.ndarray, det) -> np.ndarray:
    """The LRR on `S` with the fit's atoms and solver settings, then the closed form's scores, in numpy."""
    cfg, atoms = det.config, np.asarray(det.atoms_)
    result = L.lrr(S.T, S[atoms].T, cfg.lrr_lambda, tol=cfg.lrr_tol, max_iter=cfg.lrr_max_iter, rho=cfg.lrr_rho,
                   mu=cfg.lrr_mu, mu_max=cfg.lrr_mu_max, svt_method=cfg.lrr_svt,
                   dtype=np.float32 if cfg.lrr_float32 else np.float64)
    rule = L.out_of_sample_rule(S[atoms].T, result.X, cfg.lrr_lambda)
    return L.out_of_sample_scores(S, rule)


def branches(det, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes' score, raw score) of `X`'s pixels through the fitted network, float64 copies of its float32."""
    with torch.no_grad():
        codes, raw = det.network_.oos_branches(det.preprocessing_(torch.from_numpy(pixels_of(X))))
    return codes.double().numpy(), raw.double().numpy()


@pytest.fixture(scope="module")
def half(scene):
    return had.get_detector("lren", **HALF).fit(scene[0])


@pytest.fixture(scope="module")
def pair(scene):
    return had.get_detector("lren", **{**HALF, "restarts": 2, "seed": 5}).fit(scene[0])


def test_raw_only_scores_equal_the_numpy_reference(scene):
    """raw_weight=1: the map is the raw branch alone, the numpy statement's scores over their IQR, to float32
    rounding; the folded projection of the preprocessed pixels is the raw space (all 24 bands kept here)."""
    X, y = scene
    det = had.get_detector("lren", **{**HALF, "raw_weight": 1.0}).fit(X)
    S = raw_space(pixels_of(X))
    assert S.shape[1] == det.network_.raw_components == 24
    with torch.no_grad():
        net = det.network_
        folded = (det.preprocessing_(torch.from_numpy(pixels_of(X))) @ net.raw_project + net.raw_offset).double()
    # float32 rounding of the preprocessing and the product (measured: 4.8e-6 of a column's largest value)
    assert np.max(np.abs(folded.numpy() - S) / np.abs(S).max(axis=0)) < 1e-4
    ref = raw_reference_scores(S, det)
    got = det.decision_scores_
    assert det.raw_scale_[1] == pytest.approx(training_scale(ref), rel=1e-4)
    expected = ref / det.raw_scale_[1]  # the codes' weight is 0
    assert np.max(np.abs(got - expected)) / np.max(expected) < 1e-4  # measured: 6e-7
    assert spearmanr(got, ref).correlation > 0.999
    assert auroc(y.reshape(-1).astype(bool), got) == pytest.approx(auroc(y.reshape(-1).astype(bool), ref), abs=1e-6)


def test_half_weight_is_the_fused_score_of_the_two_branches(scene, half):
    X, _ = scene
    codes, raw = branches(half, X)
    assert half.raw_scale_ == (training_scale(codes), training_scale(raw))
    expected = 0.5 * codes / training_scale(codes) + 0.5 * raw / training_scale(raw)
    np.testing.assert_allclose(half.decision_scores_, expected, rtol=1e-6)
    np.testing.assert_array_equal(half.decision_function(X).reshape(-1), half.decision_scores_)
    assert half.raw_lrr_scores_.shape == half.lrr_scores_.shape
    assert "raw_s" in half.timings_


def test_restarts_fuse_per_member_and_the_ensemble_is_unchanged(scene, pair):
    X, _ = scene
    assert [m.config.seed for m in pair.restart_members_] == [5, member_seed(5, 1)]
    scaled = []
    for member in pair.restart_members_:
        assert member.config.raw_weight == 0.5 and member.network_.raw_components == 24
        codes, raw = branches(member, X)
        np.testing.assert_allclose(member.decision_scores_, 0.5 * codes / training_scale(codes)
                                   + 0.5 * raw / training_scale(raw), rtol=1e-6)
        scaled.append(member.decision_scores_ / training_scale(member.decision_scores_))
    np.testing.assert_allclose(pair.decision_scores_, np.mean(scaled, axis=0), rtol=1e-5)
    np.testing.assert_array_equal(pair.decision_function(X).reshape(-1), pair.decision_scores_)


def test_admm_scene_scores_fuse_the_two_solves(scene):
    X, _ = scene
    det = had.get_detector("lren", **{**HALF, "scene_scores": "admm"}).fit(X)
    c, r = det.lrr_scores_, det.raw_lrr_scores_
    np.testing.assert_allclose(det.decision_scores_, 0.5 * c / training_scale(c) + 0.5 * r / training_scale(r),
                               rtol=1e-12)
    # the raw solve is the numpy statement's (its error norms of the same LRR)
    S = raw_space(pixels_of(X))
    atoms, cfg = np.asarray(det.atoms_), det.config
    solve = L.lrr(S.T, S[atoms].T, cfg.lrr_lambda, tol=cfg.lrr_tol, max_iter=cfg.lrr_max_iter, rho=cfg.lrr_rho,
                  mu=cfg.lrr_mu, mu_max=cfg.lrr_mu_max, svt_method=cfg.lrr_svt, dtype=np.float32)
    np.testing.assert_allclose(r, L.column_scores(solve.E), rtol=1e-4, atol=1e-6 * r.max())


def low_variance_anomalies(seed: int = 0, h: int = 30, w: int = 30, bands: int = 24):
    """Three endmembers mixed, little noise; 12 pixels moved by 8 noise sigmas along a direction orthogonal to the
    endmembers: invisible next to the mixing's spread, plain on the raw spectra's whitened components."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, bands)
    endmembers = np.stack([np.sin(3 * grid + p) + 1.5 for p in (0.0, 1.0, 2.0)])
    pixels = rng.dirichlet(np.ones(3) * 0.7, size=h * w) @ endmembers + 0.002 * rng.normal(size=(h * w, bands))
    q, _ = np.linalg.qr(endmembers.T)
    d = rng.normal(size=bands)
    d -= q @ (q.T @ d)
    truth = np.zeros(h * w, dtype=bool)
    truth[rng.choice(h * w, 12, replace=False)] = True
    pixels[truth] += 8 * 0.002 * d / np.linalg.norm(d)
    return (pixels.reshape(h, w, bands) * 1000).astype(np.float32), truth


def test_an_anomaly_the_codes_miss_is_found_by_the_raw_branch():
    """Measured (4 cubes x 2 seeds): the codes' AUROC 0.40-0.59, the raw branch's 0.967-0.999, w=0.5 0.91-0.98."""
    X, truth = low_variance_anomalies()
    scores = {w: had.get_detector("lren", **{**HALF, "raw_weight": w}).fit(X).decision_scores_
              for w in (0.0, 0.5, 1.0)}
    got = {w: auroc(truth, s) for w, s in scores.items()}
    assert got[0.0] < 0.7 and got[1.0] > 0.95 and got[0.5] > got[0.0] + 0.2, got


#: decision_scores_ (pixels 0, 1, 100, 450, 899) of ``lren`` with TINY and seed 0 on the synthetic scene, printed
#: by the code before the raw branch existed (commit 2156cca, this machine's wheels)
BEFORE = {0: 1.4636989831924438, 1: 1.224439263343811, 100: 2.4030511379241943, 450: 0.9750279188156128,
          899: 1.7970751523971558}


def test_zero_weight_is_the_model_before_the_branch(scene):
    X, _ = scene
    from had_lren.detector import STABILISED

    given = had.get_detector("lren", **{**TINY, "seed": 0, "raw_weight": 0.0}).fit(X)
    assert had.get_detector("lren").config.raw_weight == STABILISED["raw_weight"] == 0.25  # the eleventh round's
    assert had.get_detector("lren-reference").config.raw_weight == 0.0
    assert given.network_.raw_components == 0 and given.raw_lrr_scores_ is None
    assert not [k for k in given.model_.state_dict() if "raw" in k]
    before = np.array(list(BEFORE.values()))
    got = given.decision_scores_[list(BEFORE)]
    assert np.max(np.abs(got - before) / before) < 1e-5, got  # float32 rounding of another CPU; 0 where saved


def test_artifact_round_trip_keeps_the_branch(tmp_path, scene, half, pair):
    X, _ = scene
    for det, name in ((half, "one"), (pair, "two")):
        back = had.load(had.save(det, tmp_path / name))
        assert back.config.raw_weight == 0.5
        np.testing.assert_array_equal(back.decision_function(X), det.decision_function(X))
    state = had.load(tmp_path / "one").model_.state_dict()
    np.testing.assert_array_equal(state["network.raw_project"].numpy(), half.network_.raw_project.numpy())


def test_a_model_saved_before_the_branch_loads_without_it(tmp_path, scene):
    """A manifest written before ``raw_weight`` and ``raw_components`` existed lacks them: loaded as trained, without
    the branch (LREN.saved_before), whatever the default is now."""
    from had_lren.detector import LREN

    assert LREN.saved_before == {"raw_weight": 0.0, "raw_components": 32, "restarts": 1}
    X, _ = scene
    det = had.get_detector("lren", **{**TINY, "seed": 0, "raw_weight": 0.0}).fit(X)  # as such a model was fitted
    for keep_set in (False, True):
        path = had.save(det, tmp_path / f"m{keep_set}")
        manifest = json.loads((path / "manifest.json").read_text())
        del manifest["config"]["raw_weight"], manifest["config"]["raw_components"]
        if keep_set:  # saved between config_set (6 December 2026) and the branch: neither field in it
            manifest["config_set"] = [k for k in manifest["config_set"] if not k.startswith("raw_")]
        else:
            del manifest["config_set"]
        (path / "manifest.json").write_text(json.dumps(manifest))
        loaded = had.load(path)
        assert (loaded.config.raw_weight, loaded.config.raw_components) == (0.0, 32)
        assert loaded.network_.raw_components == 0
        np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))


def test_export_of_the_branch_matches_eager_scores(scene, half, pair):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from had.onnx_export import verify_export

    X, y = scene
    for det in (half, pair):
        report = verify_export(det.export_onnx(), det, X, y=y)
        assert report["max_rel_err"] <= det.onnx_rtol and report["n_checked"] >= X.shape[0] * X.shape[1]
        assert report["auroc_onnx"] == pytest.approx(report["auroc_eager"], abs=1e-6)


@pytest.mark.parametrize("detector", ["lren", "lren-reference"])
@pytest.mark.parametrize("settings, said", [
    ({"raw_weight": 1.5}, r"raw_weight: Input should be less than or equal to 1"),
    ({"raw_weight": -0.1}, r"raw_weight: Input should be greater than or equal to 0"),
    ({"raw_weight": float("nan")}, r"raw_weight: Input should be a finite number"),
    ({"raw_weight": float("inf")}, r"raw_weight: Input should be a finite number"),
    ({"raw_components": 0}, r"raw_components: Input should be greater than or equal to 1"),
    ({"raw_components": 5000}, r"raw_components: Input should be less than or equal to 4096"),
])
def test_bad_raw_settings_are_one_line_naming_them(detector, settings, said):
    with pytest.raises(ConfigError, match=rf"^invalid config for detector {detector}: {said}$"):
        had.get_detector(detector, **settings)


def test_fewer_bands_than_components_and_a_flat_band(scene):
    """k = min(raw_components, bands); a constant band (a zero eigenvalue) gets a zero column and the map is still
    the numpy statement's."""
    X = np.array(scene[0][:, :, :6])
    X[:, :, 2] = 500.0
    det = had.get_detector("lren", **{**HALF, "raw_weight": 1.0, "raw_components": 8}).fit(X)
    net = det.network_
    assert net.raw_components == 6 and net.raw_project.shape == (6, 6)
    S = raw_space(pixels_of(X), 8)
    assert S.shape[1] == 5 and not net.raw_project[:, 5].any() and net.raw_offset[5] == 0
    ref = raw_reference_scores(S, det)
    np.testing.assert_allclose(det.decision_scores_ * det.raw_scale_[1], ref, rtol=1e-3, atol=1e-4 * ref.max())
    np.testing.assert_array_equal(det.decision_function(X).reshape(-1), det.decision_scores_)


def test_an_extreme_pixel_outside_the_fit_scores_finite_and_first():
    """The raw coordinates grow with the pixel (the codes' tanh does not): float32's lowest value in one band of a
    pixel the fit did not see made its score infinite, and the fit (sampled: every pixel scored) or ``had score``
    stopped. Saturated now: finite, and that pixel first."""
    from had_lren.detector import LREN  # noqa: F401  (registered)

    X = synthetic_scene(0, 20, 20, 24)[0].astype(np.float32)
    extreme = X.copy()
    extreme.reshape(-1, 24)[3, 3] = np.finfo(np.float32).min
    sampled = had.get_detector("lren", **{**TINY, "seed": 0, "raw_weight": 0.25, "max_fit_pixels": 150}).fit(extreme)
    assert sampled.fit_sample_["pixels"] == 150
    scores = sampled.decision_scores_
    assert np.isfinite(scores).all() and np.argmax(scores) == 3
    clean = had.get_detector("lren", **{**TINY, "seed": 0, "raw_weight": 0.25}).fit(X)
    new = clean.decision_function(extreme).reshape(-1)
    assert np.isfinite(new).all() and np.argmax(new) == 3
    np.testing.assert_array_equal(np.delete(new, 3), np.delete(clean.decision_scores_, 3))  # the rest unchanged


def test_a_refit_without_the_branch_keeps_nothing_of_it(scene):
    X, _ = scene
    det = had.get_detector("lren", **HALF).fit(X)
    assert det.raw_scale_ is not None and det.raw_rule_ is not None
    det.set_params(raw_weight=0.0).fit(X)
    assert (det.raw_scale_, det.raw_rule_, det.raw_space_, det.raw_lrr_scores_) == (None, None, None, None)
    assert det.network_.raw_components == 0


def test_a_model_saved_before_restarts_loads_as_one_run(tmp_path, scene):
    """A manifest written before ``restarts`` (1 December 2026) lacks it, and the model is one run: loaded as one
    (LREN.saved_before). Was: today's default of 6 runs, and "KeyError: 'restart0.'" from _set_state, the model
    unloadable (an audit saved one with that revision's code)."""
    X, _ = scene
    det = had.get_detector("lren", **{**TINY, "seed": 0, "raw_weight": 0.0, "restarts": 1}).fit(X)
    path = had.save(det, tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    for key in ("restarts", "raw_weight", "raw_components"):
        del manifest["config"][key]
    del manifest["config_set"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    loaded = had.load(path)
    assert loaded.config.restarts == 1
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
