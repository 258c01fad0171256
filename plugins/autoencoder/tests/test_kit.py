"""The conformance kit over the autoencoder: rows and cube pixels, with ONNX export parity."""

from had_sdk.testing import DetectorSuite


class TestAutoEncoderConformance(DetectorSuite):
    detector = "autoencoder"
    config = {"epochs": 3, "hidden": [16], "latent": 4, "batch_size": 32}
