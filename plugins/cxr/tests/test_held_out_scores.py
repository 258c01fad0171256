"""Audit fixes: MemDAE's and RLAD's training scores are leave-one-out (the threshold flagged several times the
contamination of unseen normal images: each training image found itself in the bank); the [0, 1] range the CXR
networks take is recorded in the model's input spec, so the ONNX engine refuses [-1, 1] images as eager does;
a (N, H, W) grayscale stack is told how to become (N, 1, H, W)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import had
from cxr_toy import tiny_images

TINY = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 2, "batch_size": 8, "progress": False, "device": "cpu"}
CONFIGS = {"memdae": {**TINY, "lr": 1e-3},  # RLAD: 10 momentum updates of each row towards its image's code
           "rlad": {**TINY, "epochs": 5, "n_rounds": 1, "ans_select_rate": 0.5, "ans_size": 3, "w_contrast": 0.25}}


def _angles(det, X: np.ndarray) -> np.ndarray:
    """Normalised angles (n, m) of the images' eval codes to the bank rows, by hand in float64."""
    det.model_.eval()
    with torch.no_grad():
        codes = det.network_.ae.encode(det.preprocessing_(torch.from_numpy(X))).double().numpy()
    bank = det.network_.bank.bank.double().numpy()
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    return np.arccos(np.clip(codes @ bank.T, -1.0, 1.0)) / np.pi


def _k_nearest(angles: np.ndarray, k: int) -> np.ndarray:
    return np.sort(angles, axis=1)[:, :k].mean(axis=1)


def _normals(n: int, seed: int) -> np.ndarray:
    X, y = tiny_images(n=n + 4, seed=seed)
    return X[y == 0]


@pytest.mark.parametrize("name", ["memdae", "rlad"])
@pytest.mark.parametrize("k", [1, 3])
def test_training_scores_are_leave_one_out_and_new_images_score_against_the_whole_bank(name, k):
    X = _normals(20, seed=0)
    new = _normals(12, seed=1)
    det = had.get_detector(name, {**CONFIGS[name], "k": k}).fit(X)
    own = _angles(det, X)
    self_angle = own.diagonal().copy()
    np.fill_diagonal(own, np.inf)
    others = own.min(axis=1)
    if name == "memdae":  # each training image's nearest row is its own code: why it is left out (RLAD's rows,
        assert np.all(self_angle < others / 3)  # momentum averages, are that near after longer training only)
    np.testing.assert_allclose(det.decision_scores_, _k_nearest(own, k), rtol=1e-4, atol=1e-7)
    assert np.all(det.decision_scores_ >= others * (1 - 1e-4)) and det.labels_.mean() == pytest.approx(0.1)
    # new images: as before, the k nearest of the whole bank (test AUROC figures unchanged)
    np.testing.assert_allclose(det.decision_function(new), _k_nearest(_angles(det, new), k), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", ["memdae", "rlad"])
def test_held_out_normals_are_flagged_near_the_contamination(name):
    """k=1: the threshold was ~1e-8 (every training image's nearest code its own), and every unseen normal image
    was above it (RLAD: 0.053, 99% of them); leave-one-out, about the contamination's share is (0.06-0.08)."""
    X, held_out = _normals(60, seed=0), _normals(120, seed=1)
    det = had.get_detector(name, {**CONFIGS[name], "k": 1}).fit(X)
    flagged = float(det.predict(held_out).mean())
    assert det.threshold_ > 1e-3 and flagged <= 0.25, (det.threshold_, flagged)  # contamination 0.1; was 1.0


def test_set_k_recomputes_leave_one_out_scores_on_the_training_images():
    X = _normals(20, seed=0)
    det = had.get_detector("memdae", {**CONFIGS["memdae"], "k": 3}).fit(X)
    det.set_k(1, X)
    own = _angles(det, X)
    np.fill_diagonal(own, np.inf)
    np.testing.assert_allclose(det.decision_scores_, own.min(axis=1), rtol=1e-4, atol=1e-7)
    assert det.threshold_ > 1e-3  # was 7e-9: every image found itself
    with pytest.raises(had.errors.InvalidInputError, match=r"need the 20 images given to fit, in their order .*got "
                                                           r"12; pass the same images"):
        det.set_k(2, X[:12])


def _exported(tmp_path, X):
    from had.onnx_export import export_verified

    det = had.get_detector("memdae", {**CONFIGS["memdae"], "epochs": 1}).fit(X)
    path = had.save(det, tmp_path / "m", onnx_model=export_verified(det, X))
    return det, path


def test_onnx_refuses_images_in_minus_1_1_as_eager_does_without_torch(tmp_path):
    """Was: the ONNX engine scored (x - 0.5) / 0.5 images against a [0, 1] model (59 of 60 above the
    threshold, exit 0), eager refused them; the artifact's input spec now holds the range, read torch-free."""
    from had.runtime import OnnxScorer

    X = _normals(20, seed=0)
    det, path = _exported(tmp_path, X)
    assert det.input_spec_["required_range"] == [0.0, 1.0]
    minus_one_one = (X - 0.5) / 0.5
    message = (r"^the model takes images with values in \[0, 1\] .*these images to score span \[-0\.\d+, 0\.\d+\]: "
               r"scale them to \[0, 1\]$")
    with pytest.raises(had.errors.InvalidInputError, match=message):
        det.decision_function(minus_one_one)
    with pytest.raises(had.errors.InvalidInputError, match=message):
        OnnxScorer(path).score(minus_one_one)
    np.testing.assert_allclose(OnnxScorer(path).score(X), det.decision_function(X), rtol=1e-3, atol=1e-6)
    np.save(tmp_path / "pm1.npy", minus_one_one)
    code = ("import sys; sys.modules['had_cxr'] = None\n"  # the plugin not importable; torch never imported
            "import numpy as np; from had.runtime import OnnxScorer\n"
            "try:\n    OnnxScorer(sys.argv[1]).score(np.load(sys.argv[2]))\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "pm1.npy")], capture_output=True,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert out.stdout.startswith("InvalidInputError the model takes images with values in [0, 1]"), out.stderr
    assert "these images to score span [-0." in out.stdout and out.stdout.endswith("False\n")


def test_a_model_saved_before_the_required_range_scores_as_before(tmp_path):
    from had.image_checks import check_pixel_convention

    X = _normals(20, seed=0)
    det = had.get_detector("memdae", {**CONFIGS["memdae"], "epochs": 1}).fit(X)
    before = {k: v for k, v in det.input_spec_.items() if k != "required_range"}
    check_pixel_convention(before, (X - 0.5) / 0.5)  # as before: values below -1 only are refused
    with pytest.raises(had.errors.InvalidInputError, match="span"):
        check_pixel_convention(det.input_spec_, (X - 0.5) / 0.5)


def test_rgb_images_for_a_grayscale_model_are_said_in_channels_by_onnx(tmp_path):
    from had.runtime import OnnxScorer

    X = _normals(20, seed=0)
    _, path = _exported(tmp_path, X)
    with pytest.raises(had.errors.BandMismatchError, match=r"^fitted on 1 channels, got 3; score data with "
                                                           r"the same channels"):
        OnnxScorer(path).score(np.repeat(X, 3, axis=1))  # was: "1 features/bands"


def test_a_grayscale_stack_without_the_channel_axis_is_told_to_add_it(tmp_path):
    from had.runtime import OnnxScorer

    X = _normals(20, seed=0)
    det, path = _exported(tmp_path, X)
    fix = (r"if these are 20 grayscale images of 16x16 \(N, H, W\), add the channel axis: x\[:, None\] gives "
           r"\(20, 1, 16, 16\) \(N, 1, H, W\) \(numpy: np\.save\('x1\.npy', np\.load\('x\.npy'\)\[:, None\]\)\)")
    with pytest.raises(had.errors.InvalidInputError, match=r"^data is cube .* of shape \(20, 16, 16\); this accepts "
                                                           r"image \(N, C, H, W\); .*raster-file.*; " + fix):
        had.get_detector("memdae", CONFIGS["memdae"]).fit(X[:, 0])  # was: the raster hint alone
    with pytest.raises(had.errors.InvalidInputError, match=r"got cube data of shape \(20, 16, 16\).*; " + fix):
        det.decision_function(X[:, 0])
    with pytest.raises(had.errors.InvalidInputError, match=r"^this model scores image data, got an array of shape "
                                                           r"\(20, 16, 16\); " + fix):
        OnnxScorer(path).score(X[:, 0])  # was: no fix at all
