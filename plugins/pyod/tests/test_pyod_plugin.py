"""The PyOD adapters, the label-free heuristics, SSAD's QP and the hybrids; the SDK conformance kit over all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.metrics import auroc
from had_pyod.heuristics import kde_bandwidth, rbf_gamma
from had_pyod.ssad import SSAD, rbf_kernel, solve_dual
from had_sdk import kit
from had_sdk.testing import DetectorSuite

torch.set_num_threads(1)
TINY_AE = {"ae_epochs": 2, "ae_batch_size": 32, "ae_lr": 1e-3, "device": "cpu"}
IMAGE_DATA = {"image": kit.make_data("image", 1, image_shape=(28, 28))}  # the LeNet's 1x28x28, 8 planted


def _blobs(seed=0, n=300, m=30):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, size=(n, 4)), rng.normal(3.0, 1.0, size=(m, 4))])
    y = np.r_[np.zeros(n), np.ones(m)].astype(np.int8)
    return X, y


def test_median_gamma_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])  # squared pair distances 1, 4, 5 -> median 4
    assert rbf_gamma(X, "median") == pytest.approx(0.25)
    assert rbf_gamma(X, "scale") == pytest.approx(1.0 / (2 * X.var()))
    assert rbf_gamma(X, 0.3) == 0.3
    assert rbf_gamma(X, "auto") == 0.5  # 1/d, PyOD's default spelling (was: refused)


def test_ocsvm_gamma_auto_is_pyods_default():
    from pyod.models.ocsvm import OCSVM

    X, _ = _blobs(2, n=150, m=10)
    ours = had.get_detector("pyod-ocsvm", gamma="auto", nu=0.5).fit(X)
    theirs = OCSVM(gamma="auto", nu=0.5).fit(X)  # PyOD's defaults: nu 0.5, gamma 'auto'
    np.testing.assert_allclose(ours.decision_scores_, theirs.decision_scores_, rtol=1e-9, atol=1e-12)


def test_kde_bandwidth_follows_the_spread():
    rng = np.random.default_rng(0)
    grid = [0.01, 0.1, 1.0, 10.0]
    assert kde_bandwidth(rng.normal(0, 0.05, size=(300, 1)), grid) == 0.01
    assert kde_bandwidth(rng.normal(0, 10.0, size=(300, 1)), grid) == 10.0


def test_ssad_without_labels_is_the_one_class_svm():
    from sklearn.svm import OneClassSVM

    X, _ = _blobs(1, n=120, m=10)
    nu = 0.2
    ours = SSAD({"gamma": 0.2, "C": 1.0 / (nu * X.shape[0])}).fit(X).decision_function(X)
    ref = -OneClassSVM(kernel="rbf", gamma=0.2, nu=nu, tol=1e-8).fit(X).decision_function(X)
    slope, intercept = np.polyfit(ref, ours, 1)
    assert slope > 0
    np.testing.assert_allclose(ours, slope * ref + intercept, atol=1e-3 * np.ptp(ours))


def test_ssad_dual_constraints_and_labels_help():
    X, y = _blobs(2)
    known = np.zeros_like(y)
    known[-10:] = 1  # ten known anomalies
    known[:10] = -1  # ten known normals
    K = rbf_kernel(X, X, 0.1)
    yy = np.where(known == 1, -1.0, 1.0)
    C = np.ones(X.shape[0])
    alpha = solve_dual(K, yy, known != 0, C, kappa=1.0)
    assert float(yy @ alpha) == pytest.approx(1.0, abs=1e-5)
    assert float(alpha[known != 0].sum()) >= 1.0 - 1e-5
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    test = slice(10, X.shape[0] - 10)
    plain = SSAD({"gamma": 0.1}).fit(X).decision_function(X)
    semi = SSAD({"gamma": 0.1}).fit(X, known).decision_function(X)
    # measured: 0.79 without labels, 0.94 with ten of each (on the rows whose labels were not given)
    assert auroc(y[test], semi[test]) > auroc(y[test], plain[test]) + 0.1
    assert np.median(semi[-10:]) > np.median(semi[:10])


def test_hybrid_is_the_shallow_detector_on_the_autoencoders_codes():
    X, y = _blobs(3)
    normal = X[y == 0]
    det = had.get_detector("hybrid-ocsvm", {**TINY_AE, "ae_epochs": 20}).fit(normal)
    # the same autoencoder through the registry on its own, then pyod-ocsvm on its codes
    ae = had.get_detector("deepsad-ae", {"epochs": 20, "lr": 1e-3, "weight_decay": 1e-6, "batch_size": 32,
                                         "lr_milestones": [], "device": "cpu", "progress": False}).fit(normal)
    codes = ae.encode(X)
    assert codes.shape == (X.shape[0], 4)  # [32, 16]-4 codes for 4 inputs (auto rule: d <= 8)
    np.testing.assert_allclose(det.ae_.encode(X), codes, rtol=1e-6)
    shallow = had.get_detector("pyod-ocsvm").fit(ae.encode(normal))
    scores = det.decision_function(X)
    np.testing.assert_allclose(scores, shallow.decision_function(codes), rtol=1e-6)
    assert auroc(y, scores) > 0.95  # measured 0.999


def test_bad_config_is_rejected():
    for name, bad in [("pyod-ocsvm", {"nu": 0.0}), ("pyod-ocsvm", {"gamma": "silverman"}), ("pyod-kde", {"bandwidth": -1}),
                      ("ssad", {"C": 0}), ("hybrid-kde", {"net": "resnet"})]:
        with pytest.raises(had.ConfigError):
            had.get_detector(name, bad)


class TestOCSVM(DetectorSuite):
    detector = "pyod-ocsvm"


class TestIForest(DetectorSuite):
    detector = "pyod-iforest"
    config = {"n_estimators": 20}


class TestKDE(DetectorSuite):
    detector = "pyod-kde"
    # a grid of bandwidths the float32 export resolves (test_fitted_state checks that 0.5 here is refused)
    config = {"bandwidth_grid": [2.0, 4.0]}


class TestKNN(DetectorSuite):
    detector = "pyod-knn"


class TestECOD(DetectorSuite):
    detector = "pyod-ecod"


class TestECODBatch(DetectorSuite):
    detector = "pyod-ecod"
    config = {"batch_scores": True}
    expected_failures = {"per_sample-tabular": "PyOD's ECOD.decision_function recomputes the ECDFs over the "
                         "training rows plus the scored batch, so a row's score depends on the rows scored with it",
                         "tiles-cube": "the same: a flight line scored tile by tile gets each tile's ECDFs"}


class TestPCA(DetectorSuite):
    detector = "pyod-pca"


class TestGMM(DetectorSuite):
    detector = "pyod-gmm"
    config = {"n_components": 2}


class TestAutoEncoder(DetectorSuite):
    detector = "pyod-autoencoder"
    config = {"epochs": 1, "hidden": [8, 4]}
    determinism_rtol = 1e-6


class TestPyODDeepSVDD(DetectorSuite):
    detector = "pyod-deepsvdd"
    config = {"epochs": 1, "hidden": [8, 4]}
    determinism_rtol = 1e-6


class TestSSAD(DetectorSuite):
    detector = "ssad"
    config = {"C": 0.04}  # 1 / (nu n) with nu = 0.1: the cube is fitted with its anomalies, which C = 1 keeps inside


class TestHybridOCSVM(DetectorSuite):
    detector = "hybrid-ocsvm"
    config = TINY_AE
    data = IMAGE_DATA


class TestHybridIForest(DetectorSuite):
    detector = "hybrid-iforest"
    config = {**TINY_AE, "n_estimators": 20}
    kinds = ("tabular",)


class TestHybridKDE(DetectorSuite):
    detector = "hybrid-kde"
    config = {**TINY_AE, "bandwidth": 1.0}
    kinds = ("tabular",)


class TestHybridSSAD(DetectorSuite):
    detector = "hybrid-ssad"
    config = TINY_AE
    kinds = ("tabular",)


def _scene(seed=0, h=60, w=50, bands=6):
    """A cube whose background is one Gaussian and whose 20 planted pixels sit far from it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(h, w, bands))
    truth = np.zeros((h, w), dtype=np.int8)
    flat = rng.choice(h * w, size=20, replace=False)
    truth.reshape(-1)[flat] = 1
    X.reshape(-1, bands)[flat] += 4.0
    return X, truth


@pytest.mark.parametrize("name", ["pyod-iforest", "pyod-knn", "pyod-ecod", "ssad", "hybrid-iforest"])
def test_a_cube_above_max_fit_pixels_fits_the_seeded_sample_and_scores_every_pixel(name, tmp_path):
    """A flight line through a PyOD model: a cube above ``max_fit_pixels`` trains on the seeded sample (the same
    fit as on the sampled rows as a table), every pixel is scored for the threshold, the artifact records the
    sample, and a model that keeps its training rows keeps only the sample's; below the limit, unchanged."""
    from had.tiling import sample_pixels

    # 30 x 30 (900 pixels, a sample of 300): SSAD's QP on the whole scene, fitted twice below, took ~40 s at the
    # 60 x 50 this was (3,000 pixels), ~4 s here; the sampled and the unsampled paths are the same
    X, truth = _scene(h=30, w=30)
    extra = TINY_AE if name.startswith("hybrid") else {}
    det = had.get_detector(name, {**extra, "max_fit_pixels": 300}).fit(X)
    assert det.fit_sample_["pixels"] == 300 and det.fit_sample_["of"] == 900
    assert det.decision_scores_.shape == (900,)
    np.testing.assert_allclose(det.decision_function(X).reshape(-1), det.decision_scores_, rtol=1e-9)
    assert auroc(truth.reshape(-1), det.decision_scores_) > 0.9
    rows, picks = sample_pixels(X, 300, seed=0)
    on_rows = had.get_detector(name, extra).fit(rows)
    np.testing.assert_allclose(on_rows.decision_function(X).reshape(-1), det.decision_scores_, rtol=1e-9)
    if hasattr(det, "train_rows_"):  # kNN, ECOD: the artifact holds the training rows, here the sample's
        np.testing.assert_array_equal(det.train_rows_, rows)
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.fit_sample_ == det.fit_sample_
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X), rtol=1e-9)
    whole = had.get_detector(name, extra).fit(X)  # 900 pixels under the default limit: all of them
    assert whole.fit_sample_ is None
    unlimited = had.get_detector(name, {**extra, "max_fit_pixels": None}).fit(X)
    np.testing.assert_array_equal(whole.decision_scores_, unlimited.decision_scores_)
