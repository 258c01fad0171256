"""CXR Deep SVDD: conformance kit, centre rule, score formula, loss weights, ImageNet weights from a local file."""

from __future__ import annotations

import had
import numpy as np
import pytest
import torch
from had_sdk import kit
from had_sdk.testing import DetectorSuite

from had_cxr.resnet import ResNet18AE, ResNet18Encoder, load_imagenet_weights

TINY = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 2, "batch_size": 8}


class TestCXRDeepSVDDConformance(DetectorSuite):
    detector = "cxr-deepsvdd"
    config = {**TINY, "epochs": 8}  # 2 epochs ranked the planted images at AUROC 0.68, 8 at 0.97
    data = {"image": kit.make_data("image", 1, image_shape=(16, 16), unit_range=True)}


def _fit(X, **extra):
    return had.get_detector("cxr-deepsvdd", {**TINY, "device": "cpu", "progress": False, **extra}).fit(X)


def test_centre_rule_and_distance_score_formula(images):
    X, _ = images
    det = _fit(X[:20], eps=0.05, score="distance")
    c = det.network_.c
    assert c.shape == (8,) and bool((c.abs() >= 0.05 - 1e-7).all())
    with torch.no_grad():
        x = det.preprocessing_(torch.from_numpy(X))
        expected = ((det.network_.ae.encode(x) - c) ** 2).sum(dim=1).double().numpy()
    np.testing.assert_allclose(det.decision_function(X), expected, rtol=1e-5)


def test_loss_weights_select_the_terms(images):
    X, _ = images
    det = _fit(X[:20], epochs=1)
    batch = det.preprocessing_(torch.from_numpy(X[:8]))
    det.model_.eval()
    with torch.no_grad():
        code, rec = det.network_.ae(batch)
        dist = ((code - det.network_.c) ** 2).sum(1).mean()
        rec_l1 = (rec - batch).abs().flatten(1).sum(1).mean()
        det.config.w_svdd, det.config.w_rec = 1.0, 0.0
        assert det.loss(batch).item() == pytest.approx(dist.item(), rel=1e-5)
        det.config.w_svdd, det.config.w_rec = 0.25, 0.75
        assert det.loss(batch).item() == pytest.approx(0.25 * dist.item() + 0.75 * rec_l1.item(), rel=1e-5)


def test_full_size_architecture_is_selectable():
    with torch.device("meta"):  # shapes and parameter counts only, no compute
        net = ResNet18AE(3, width=64, rep_dim=200).eval()
        sizes = [m.shape[-1] for m in net.encoder(torch.zeros(1, 3, 224, 224))]
        assert net(torch.zeros(1, 3, 224, 224))[1].shape == (1, 3, 224, 224)
    assert sizes == [112, 112, 56, 28, 14]  # no max-pool: 512 x 14 x 14 at 224
    assert sum(p.numel() for p in net.encoder.parameters()) == 11_176_512  # ResNet-18 trunk


def test_imagenet_weights_load_from_a_local_file_only(tmp_path):
    from safetensors.torch import save_file

    rgb = ResNet18Encoder(3, 64)
    state = {k: v.contiguous() for k, v in rgb.state_dict().items()}
    state["fc.weight"] = torch.zeros(1000, 512)  # a torchvision file also holds the classifier: ignored
    path = tmp_path / "resnet18.safetensors"
    save_file(state, str(path))
    grey = ResNet18Encoder(1, 64)
    loaded = load_imagenet_weights(grey, str(path))
    assert "conv1.weight" in loaded and "fc.weight" not in loaded
    torch.testing.assert_close(grey.conv1.weight, rgb.conv1.weight.sum(dim=1, keepdim=True))
    torch.testing.assert_close(grey.layer4[1].conv2.weight, rgb.layer4[1].conv2.weight)
    with pytest.raises(ValueError, match="width 64"):
        load_imagenet_weights(ResNet18Encoder(1, 8), str(path))


@pytest.mark.parametrize("objective", ["one-class", "soft-boundary"])
def test_default_score_is_each_images_loss(images, objective):
    """score="objective" (the default): w_svdd * (distance - R^2) + w_rec * summed L1, image by image; the
    reference's distance alone stays one field away and ranks differently."""
    X, _ = images
    det = _fit(X[:20], objective=objective, w_svdd=0.3, w_rec=0.7, warm_up_epochs=0)
    assert det.config.score == "objective"
    with torch.no_grad():
        x = det.preprocessing_(torch.from_numpy(X))
        code, rec = det.network_.ae(x)
        dist = ((code - det.network_.c) ** 2).sum(dim=1) - det.radius_ ** 2
        l1 = (rec - x).abs().flatten(1).sum(dim=1)
    expected = (0.3 * dist + 0.7 * l1).double().numpy()
    np.testing.assert_allclose(det.decision_function(X), expected, rtol=1e-5)
    assert np.corrcoef(l1.numpy(), expected)[0, 1] > 0.5  # the reconstruction term is not negligible
    det.config.score = "distance"  # the same network scored as the reference does
    np.testing.assert_allclose(det.decision_function(X), dist.double().numpy(), rtol=1e-5, atol=1e-6)


def test_a_model_saved_before_the_score_field_loads_scoring_the_distance(tmp_path, images):
    """A manifest written before ``score`` existed (1 December 2026) lacks it: the model scored the distance term
    alone, and loads so (CXRDeepSVDD.saved_before). Was: loaded with today's default "objective", every image above
    the model's threshold without a word, and ``had export`` wrote the objective's graph over its model.onnx."""
    import json

    X, _ = images
    det = _fit(X[:20], epochs=1, score="distance")
    path = had.save(det, tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["config"]["score"], manifest["config_set"]  # as such a manifest was written
    (path / "manifest.json").write_text(json.dumps(manifest))
    loaded = had.load(path)
    assert loaded.config.score == "distance"
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
