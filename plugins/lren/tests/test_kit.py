"""The SDK's conformance kit over LREN (rows and cube pixels, ONNX parity included), with a tiny network."""

from had_sdk.testing import DetectorSuite


class TestLRENConformance(DetectorSuite):
    detector = "lren"
    config = {"epochs": 3, "hidden": 16, "latent": 4, "est_hidden": 8, "clusters": 3}
