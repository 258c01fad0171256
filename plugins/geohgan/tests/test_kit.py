"""The conformance kit over ``geohgan`` with a tiny config (fit/score, determinism, save/load, ONNX parity, errors)."""

from had_sdk.testing import DetectorSuite

TINY = {"epochs": 1, "encoder_epochs": 1, "first_width": 16, "hidden_widths": [8], "latent_dim": 4,
        "batch_size": 8, "n_critic": 2}


class TestGeoHganConformance(DetectorSuite):
    detector = "geohgan"
    config = TINY
